"""Every write re-checks who is writing (issue 13).

A user switched off, or whose role or dealership changed, while they were signed in writes nothing
more: :meth:`db.engine.Database.run` reads their row in the write's own transaction
(:func:`db.users.recheck`) and refuses with :class:`db.errors.ActorChanged`.  On PostgreSQL that
read is a ``FOR SHARE`` lock, so a deactivation cannot commit while a write that saw the user
active is still open.  The TUI is told (``Store.on_signed_out``), and notices by itself when the
change feed moves: either way the session goes back to the sign-in screen with the reason.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select
from test_app import SIZE, settle

from db import capacity, cars, clock, contacts, events, ledger, users
from db.access import Actor
from db.engine import Database
from db.errors import ActorChanged, NotAllowed
from db.models import Car, CustomerCommunication, Event, ResourceCapacity, User
from db.store import Store
from world import T0, World, build_world, rows

SWITCHED_OFF = (
    "Your account was switched off while you were signed in; nothing was saved. Ask an admin."
)
DEMOTED = (
    "Your role changed from coordinator to mechanic while you were signed in; nothing was saved. "
    "Sign in again."
)
# what a session that noticed on its own (the change feed) says: it was not saving anything
NOTICED_DEMOTED = (
    "Your role changed from coordinator to mechanic while you were signed in. Sign in again."
)
NOTICED_SWITCHED_OFF = "Your account was switched off while you were signed in. Ask an admin."


def change_user(w: World, login: str, **change: Any) -> None:
    """What an admin does in the users screen (another session)."""
    user = w.db.query(users.by_login, login)
    fields = {
        "display_name": user.display_name,
        "role": user.role,
        "dealership_id": user.dealership_id,
        "active": user.active,
        "email": user.email,
    }
    fields.update(change)
    w.db.run(users.update_user, w["admin"], user.id, **fields)


def tech_hours(w: World, offset: int, user: str | None = None) -> float:
    (row,) = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(offset),
        user_id=w[user].user_id if user else None,
    )
    return float(row["allocated_hours"])


def set_tech(w: World, login: str, offset: int, hours: float) -> Any:
    return w.db.run(
        capacity.set_capacity,
        w[login],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(offset),
        allocated_hours=hours,
    )


# ------------------------------------------------------------------------------------------------
# the rules, on both engines
# ------------------------------------------------------------------------------------------------
def test_a_seller_switched_off_while_signed_in_saves_nothing(world: World) -> None:
    w = world
    car_id = w.register("seller495")
    before = rows(w, Car, id=car_id)
    change_user(w, "seller495", active=False)
    seller = w["seller495"]  # the session still holds the actor it signed in with
    with pytest.raises(ActorChanged) as refused:
        w.db.run(cars.update_car, seller, car_id, customer_phone="+47 900 00 000")
    assert str(refused.value) == SWITCHED_OFF
    assert refused.value.user_id == seller.user_id
    with pytest.raises(ActorChanged, match="switched off"):
        w.db.run(contacts.log_contact, seller, car_id, type="call", message="Car is ready soon")
    assert rows(w, Car, id=car_id) == before
    assert rows(w, CustomerCommunication) == []
    # switched on again: the same session may write again
    change_user(w, "seller495", active=True)
    w.db.run(contacts.log_contact, seller, car_id, type="call", message="Car is ready soon")
    assert len(rows(w, CustomerCommunication)) == 1


def test_a_coordinator_demoted_while_signed_in_sets_no_capacity(world: World) -> None:
    w = world
    change_user(w, "coordinator499", role="mechanic")
    with pytest.raises(ActorChanged) as refused:
        set_tech(w, "coordinator499", 1, 20)
    assert str(refused.value) == DEMOTED
    assert tech_hours(w, 1) == 16
    # signed in again, the new role is what the permission matrix sees
    again = w.db.query(users.trusted_actor, "coordinator499")
    with pytest.raises(NotAllowed, match="Only a coordinator or admin can set capacity"):
        w.db.run(
            capacity.set_capacity,
            again,
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            allocated_hours=20,
        )
    assert tech_hours(w, 1) == 16


def test_a_user_moved_to_another_dealership_writes_nothing_there(world: World) -> None:
    w = world
    car_id = w.register("seller495")
    change_user(w, "seller495", dealership_id=w.d["497"])
    with pytest.raises(ActorChanged) as refused:
        w.db.run(contacts.log_contact, w["seller495"], car_id, type="sms", message="Hello")
    assert str(refused.value) == (
        "Your dealership changed from 495 Kristiansand Vest to 497 Skien while you were signed "
        "in; nothing was saved. Sign in again."
    )
    change_user(w, "coordinator499", role="mechanic", dealership_id=w.d["400"])
    with pytest.raises(ActorChanged) as refused:
        set_tech(w, "coordinator499", 1, 20)
    assert str(refused.value) == (
        "Your role changed from coordinator to mechanic and your dealership changed from "
        "499 Porsgrunn to 400 Vest HQ while you were signed in; nothing was saved. Sign in again."
    )
    assert rows(w, CustomerCommunication) == []


def test_an_admin_demoted_by_another_admin_manages_no_more_users(world: World) -> None:
    w = world
    w.db.run(
        users.create_user, None, login="admin2", display_name="Bo Admin", role="admin",
        dealership_id=None,
    )  # fmt: skip
    other = w.db.query(users.trusted_actor, "admin2")
    ada = w.db.query(users.by_login, "admin")
    w.db.run(
        users.update_user, other, ada.id, display_name=ada.display_name, role="manager",
        dealership_id=w.d["400"], active=True,
    )  # fmt: skip
    with pytest.raises(ActorChanged, match="from admin to manager"):
        change_user(w, "seller495", active=False)  # change_user acts as the old admin actor
    assert w.db.query(users.by_login, "seller495").active


def test_system_writes_are_not_checked(world: World) -> None:
    """``None`` is the system or the command line's administrator: nothing to re-check."""
    w = world
    user = w.db.run(
        users.create_user, None, login="newbie", display_name="New Bie", role="mechanic",
        dealership_id=w.d["499"],
    )  # fmt: skip
    w.db.run(users.recheck, None)  # a no-op
    assert user.active


def test_a_write_that_captures_the_actor_calls_recheck_itself(world: World) -> None:
    """A function passed to ``run`` that holds the actor itself (an import of many rows) is not
    seen by ``Database.run``: it calls :func:`db.users.recheck` first, in its transaction."""
    w = world
    change_user(w, "coordinator499", role="mechanic")
    coordinator = w["coordinator499"]

    def import_rows(session: Any) -> None:
        users.recheck(session, coordinator)
        capacity.set_capacity(
            session,
            coordinator,
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            allocated_hours=20,
        )

    with pytest.raises(ActorChanged) as refused:
        w.db.run(import_rows)
    assert str(refused.value) == DEMOTED
    # ``actor=`` as a keyword is checked as well as the first argument
    with pytest.raises(ActorChanged):
        w.db.run(lambda session, actor: None, actor=coordinator)
    assert tech_hours(w, 1) == 16


def test_the_store_tells_the_session_before_it_raises(store: Store, world: World) -> None:
    w = world
    told: list[Exception] = []
    store.on_signed_out = told.append
    set_tech(w, "coordinator499", 1, 18)  # fine: nothing told
    assert told == []
    change_user(w, "coordinator499", role="mechanic")
    with pytest.raises(ActorChanged) as refused:
        store.run(
            capacity.set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            allocated_hours=20,
        )
    assert told == [refused.value]
    with pytest.raises(NotAllowed):  # other refusals are the screen's business
        store.run(ledger.confirm, w["mechanic499"], 1)
    assert told == [refused.value]
    assert tech_hours(w, 1) == 18


def test_the_light_reader_says_the_same(store: Store, world: World) -> None:
    w = world
    fast = store.fast
    assert fast.actor_change(w["coordinator499"]) is None
    change_user(w, "coordinator499", role="mechanic")
    assert fast.actor_change(w["coordinator499"]) == NOTICED_DEMOTED
    change_user(w, "seller495", active=False)
    assert fast.actor_change(w["seller495"]) == NOTICED_SWITCHED_OFF
    gone = Actor(
        user_id=uuid.uuid4(), login="x", display_name="X", role="seller",
        dealership_id=w.d["495"],
    )  # fmt: skip
    assert fast.actor_change(gone) == NOTICED_SWITCHED_OFF


# ------------------------------------------------------------------------------------------------
# a deactivation and a write at the same moment
# ------------------------------------------------------------------------------------------------
def _waiting_on_a_lock(url: str) -> int:
    from db.fast import FastReader

    fast = FastReader(url)
    try:
        return int(
            fast.rows(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )[0][0]
        )
    finally:
        fast.close()


def test_a_deactivation_waits_for_a_write_that_saw_the_user_active(db_url: str) -> None:
    """PostgreSQL: the write's ``FOR SHARE`` on the user's row makes the deactivation wait until
    the write has committed; the next write then sees it.  (SQLite: one writer at a time.)"""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time")
    db = Database(db_url)
    w = build_world(db, days=2)
    seller = w["seller495"]
    car_id = w.register("seller495")
    inside, go = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def slow_write(session: Any, actor: Actor) -> None:
        events.record(
            session, actor, "cars", car_id, "note", {"by": "the slow write"}, car_id=car_id
        )
        session.flush()
        inside.set()
        assert go.wait(30), "the test never let the write finish"

    def write() -> None:
        try:
            db.run(slow_write, seller)
            outcome["write"] = "saved"
        except Exception as error:  # reported below
            outcome["write"] = error

    def deactivate() -> None:
        other = Database(db_url)  # another session
        try:
            user = other.query(users.by_login, "seller495")
            other.run(
                users.update_user, w["admin"], user.id, display_name=user.display_name,
                role=user.role, dealership_id=user.dealership_id, active=False,
            )  # fmt: skip
            outcome["deactivation"] = "saved"
        except Exception as error:
            outcome["deactivation"] = error
        finally:
            other.dispose()

    writer = threading.Thread(target=write)
    writer.start()
    assert inside.wait(30)
    admin = threading.Thread(target=deactivate)
    admin.start()
    deadline = time.monotonic() + 30
    waiting = 0
    while admin.is_alive() and time.monotonic() < deadline and not waiting:
        waiting = _waiting_on_a_lock(db_url)
        time.sleep(0.02)
    still_open = admin.is_alive()
    go.set()
    writer.join(30)
    admin.join(30)
    assert still_open and waiting, f"the deactivation did not wait for the write: {outcome}"
    assert outcome == {"write": "saved", "deactivation": "saved"}
    with pytest.raises(ActorChanged, match="switched off"):
        db.run(slow_write, seller)
    notes = w.db.query(lambda s: s.exec(select(Event.action).where(Event.entity == "cars")).all())
    assert notes.count("note") == 1
    db.dispose()


# ------------------------------------------------------------------------------------------------
# the TUI: the session is told and signs out
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def monday_world(ui_store):  # type: ignore[no-untyped-def]
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield build_world(ui_store.db, days=14)
    finally:
        clock.freeze(None)
        clock.set_zone(None)


async def _open_grid_on(app: Any, pilot: Any, w: World) -> None:
    from screens.capacity import CapacityGridView, CapacityScreen

    await settle(pilot, app)
    await pilot.press("f4")
    await settle(pilot, app)
    assert isinstance(app.screen, CapacityScreen)
    view = app.screen.query_one(CapacityGridView)
    for index, row in enumerate(view.grid.rows):
        if row.resource_type_id == w.rt["TECH_PREP"] and row.user_id is None:
            view.row = index
            break
    view.col = view.days.index(T0.date() + timedelta(days=1))


async def _until_signed_out(app: Any, pilot: Any) -> str:
    """Wait (bounded) for the sign-in screen; returns its message."""
    from screens.login import LoginScreen

    for _ in range(100):
        await settle(pilot, app)
        if isinstance(app.screen, LoginScreen):
            return str(app.screen.query_one("#message").render())
        await pilot.pause(0.05)
    raise AssertionError(f"still on {type(app.screen).__name__}")


async def test_a_demoted_coordinator_setting_a_cell_is_signed_out(ui_store, monday_world) -> None:  # type: ignore[no-untyped-def]
    """The write path: the demotion is written by another program (no event in the feed), so it
    is the refused write that signs the session out."""
    from prepfloor.app import make_app

    w = monday_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await _open_grid_on(app, pilot, w)
        w.db.run(
            lambda s: s.execute(
                update(User).where(User.login == "coordinator499").values(role="mechanic")  # type: ignore[arg-type]
            )
        )
        await pilot.press("2", "0", "enter")
        message = await _until_signed_out(app, pilot)
        assert app.session_ctx is None
    assert message == DEMOTED
    assert capacity_of(w, 1) == 16


async def test_the_session_notices_a_demotion_from_the_feed(ui_store, monday_world) -> None:  # type: ignore[no-untyped-def]
    """The feed path: an admin's change moves the feed; the session checks who is signed in and
    signs out before anyone types."""
    from prepfloor.app import make_app

    w = monday_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await _open_grid_on(app, pilot, w)
        change_user(w, "coordinator499", role="mechanic")
        message = await _until_signed_out(app, pilot)
    assert message == NOTICED_DEMOTED


async def test_a_change_to_someone_else_keeps_the_session(ui_store, monday_world) -> None:  # type: ignore[no-untyped-def]
    from prepfloor.app import make_app
    from screens.capacity import CapacityScreen

    w = monday_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await _open_grid_on(app, pilot, w)
        change_user(w, "mechanic499", display_name="Per Mekaniker Jr")
        seen = w.db.query(lambda s: s.exec(select(Event.id)).all())
        for _ in range(40):  # the feed has moved past the change and been checked
            await settle(pilot, app)
            if app._last_event_id == max(seen):
                break
            await pilot.pause(0.05)
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
        await pilot.press("2", "0", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    assert capacity_of(w, 1) == 20


def capacity_of(w: World, offset: int) -> float:
    (row,) = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=T0.date() + timedelta(days=offset),
        user_id=None,
    )
    return float(row["allocated_hours"])
