"""Notifications: the triggers of the ledger on both engines, the inbox by keys, the header's count
and the toast across two app instances on one database, and a snapshot with mixed priorities."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from test_app import SIZE, settle, text_of

from db import cars, inbox, ledger, notify, workflow
from db.models import Notification
from prepfloor.app import make_app
from screens.car_detail import CarDetailScreen
from screens.inbox import InboxScreen
from world import book, ordered_car, rows


def notes_of(w: Any, login: str, **where: Any) -> list[dict[str, Any]]:
    return rows(w, Notification, user_id=w[login].user_id, **where)


# -- triggers (SQLite and PostgreSQL) ------------------------------------------------------------
def test_cancelling_tells_the_assigned_person_not_the_coordinator(world) -> None:  # type: ignore[no-untyped-def]
    car = world.register(seller="seller499")
    job = book(world, 1, 2, car_id=car)
    world.db.run(ledger.cancel, world["coordinator499"], job, reason="customer postponed")
    told = notes_of(world, "mechanic499", type="booking_changed")
    assert len(told) == 1 and "customer postponed" in told[0]["message"]
    assert notes_of(world, "coordinator499", type="booking_changed") == []  # their own act


def test_moving_to_another_person_tells_both(world) -> None:  # type: ignore[no-untyped-def]
    car = world.register(seller="seller499")
    job = book(world, 1, 2, car_id=car)
    world.db.run(ledger.move, world["coordinator499"], job, user_id=world["mechanic2_499"].user_id)
    for login in ("mechanic499", "mechanic2_499"):
        (note,) = notes_of(world, login, type="booking_changed")
        assert "Pål Mekaniker" in note["message"]
    world.db.run(ledger.move, world["coordinator499"], job, estimated_hours=3)  # same day, person
    assert len(notes_of(world, "mechanic2_499", type="booking_changed")) == 1  # nothing new


def test_status_changes_tell_the_seller_once_and_ready_is_high(world) -> None:  # type: ignore[no-untyped-def]
    car = world.register(seller="seller495")
    world.db.run(workflow.move_car, world["coordinator499"], car, "at_prep_center")
    (update,) = notes_of(world, "seller495", type="status_update")
    assert update["priority"] == "low" and "At prep center" in update["message"]
    assert notes_of(world, "seller495", type="new_order") == []  # the coordinators hear of that
    assert len(notes_of(world, "coordinator499", type="new_order")) == 1


def test_a_booking_request_from_another_dealership_tells_the_provider(world) -> None:  # type: ignore[no-untyped-def]
    car = world.register(seller="seller495")
    book(world, 1, 2, car_id=car, login="coordinator495")
    (request,) = notes_of(world, "coordinator499", type="booking_request")
    assert request["message"].startswith("Booking request from 495 Kristiansand Vest: "), request


def test_a_role_hears_in_one_statement_as_each_member_chose(world) -> None:  # type: ignore[no-untyped-def]
    """Recipients found by role (the provider's coordinators) in the statement that writes the
    notifications: one who muted the type hears nothing, the others do, and a switched-off
    coordinator is not among them."""
    from db import users

    def coordinator(login: str, name: str, active: bool = True) -> Any:
        made = world.db.run(
            users.create_user,
            None,
            login=login,
            display_name=name,
            role="coordinator",
            dealership_id=world.d["499"],
        )
        if not active:
            world.db.run(
                users.update_user,
                None,
                made.id,
                display_name=name,
                role="coordinator",
                dealership_id=world.d["499"],
                active=False,
            )
        return made

    second = coordinator("coordinator2_499", "Kim Koordinator")
    gone = coordinator("coordinator3_499", "Gro Gammel", active=False)
    world.db.run(inbox.set_preference, world["coordinator499"], "booking_request", "mute")
    car = world.register(seller="seller495")
    book(world, 1, 2, car_id=car, login="coordinator495")
    assert notes_of(world, "coordinator499", type="booking_request") == []
    (told,) = rows(world, Notification, user_id=second.id, type="booking_request")
    assert "Kristiansand Vest" in told["message"] and told["car_id"] == car
    assert "BMW X5" in told["message"]
    assert rows(world, Notification, user_id=gone.id) == []
    assert notes_of(world, "coordinator495", type="booking_request") == []  # not the booker


def test_nobody_is_told_of_their_own_act(world) -> None:  # type: ignore[no-untyped-def]
    sent = world.db.run(
        lambda s: notify.send(
            s,
            world["seller495"],
            [world["seller495"].user_id, world["manager400"].user_id, world["manager400"].user_id],
            "status_update",
            "x",
        )
    )
    assert sent == 1  # the manager once; not the seller who acted
    written = world.db.query(
        lambda s: s.exec(select(Notification.user_id).where(Notification.message == "x")).all()
    )
    assert written == [world["manager400"].user_id]


def test_unread_count_alerts_and_mark_read(world) -> None:  # type: ignore[no-untyped-def]
    from db.store import Store

    store = Store(world.db.url)
    try:
        me = world["seller495"]
        before = inbox.newest_id(store.fast, me.user_id)
        world.db.run(
            lambda s: notify.send(s, None, [me.user_id], "status_update", "low one", priority="low")
        )
        world.db.run(
            lambda s: notify.send(
                s, None, [me.user_id], "delivered", "urgent one", priority="urgent"
            )
        )
        assert inbox.unread_count(store.fast, me.user_id) == 2
        alerts = inbox.alerts_since(store.fast, me.user_id, before)
        assert [a.message for a in alerts] == ["urgent one"]
        assert [n.message for n in inbox.notes(store.fast, me.user_id)] == ["urgent one", "low one"]
        assert world.db.run(inbox.mark_read, me, [alerts[0].id]) == 1
        assert inbox.unread_count(store.fast, me.user_id) == 1
        assert world.db.run(inbox.mark_read, me, None) == 1
        assert inbox.unread_count(store.fast, me.user_id) == 0
    finally:
        store.close()


# -- screens ---------------------------------------------------------------------------------------
async def test_a_car_registered_in_one_session_reaches_the_other_sessions_inbox(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    coordinator = make_app(ui_store, actor=w["coordinator499"])
    async with coordinator.run_test(size=SIZE) as pilot:
        await settle(pilot, coordinator)
        await pilot.press("f2")  # the car list (a coordinator opens on the grid)
        await settle(pilot, coordinator)
        assert coordinator.unread == 0
        # another session (the seller's) registers a car and sends it on
        car = w.db.run(
            cars.register_car,
            w["seller495"],
            vin="WBA99900011122233",
            brand="BMW",
            model="iX1",
            order_number="495-900",
            customer_name="Nora Berg",
        ).id
        await pilot.pause(1.3)  # the change feed: about a second
        await settle(pilot, coordinator)
        assert coordinator.unread == 1
        assert "✉ 1 unread" in text_of(coordinator)
        assert "495-900" in str(coordinator.screen.query_one("CarTable").current)  # the list too
        await pilot.press("f8")
        await settle(pilot, coordinator)
        assert isinstance(coordinator.screen, InboxScreen)
        (note,) = coordinator.screen.table.rows
        assert note.type == "new_order" and note.car_id == car and not note.read
        await pilot.press("enter")  # opens the car, marks it read
        await settle(pilot, coordinator)
        assert isinstance(coordinator.screen, CarDetailScreen)
        assert coordinator.unread == 0
    assert [n["read"] for n in notes_of(w, "coordinator499")] == [True]


async def test_an_urgent_notification_arrives_as_a_toast(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    app = make_app(ui_store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.pause(1.2)
        await settle(pilot, app)
        w.db.run(
            lambda s: notify.send(
                s,
                None,
                [w["seller495"].user_id],
                "delivered",
                "Call the customer now",
                priority="urgent",
            )
        )
        w.db.run(
            lambda s: notify.send(
                s, None, [w["seller495"].user_id], "status_update", "quiet one", priority="low"
            )
        )
        w.db.run(cars.save_draft, w["manager400"], None, brand="Volvo")  # any change moves the feed
        await pilot.pause(1.3)
        await settle(pilot, app)
        toasts = [n.message for n in app._notifications]
        assert any("Call the customer now" in t for t in toasts)
        assert not any("quiet one" in t for t in toasts)
        assert app.unread == 2


async def test_inbox_filters_and_mark_all(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    me = w["seller495"].user_id
    for priority, kind in (
        ("low", "status_update"),
        ("high", "ready_for_delivery"),
        ("medium", "parts_changed"),
    ):
        w.db.run(
            lambda s, p=priority, k=kind: notify.send(s, None, [me], k, f"{k} note", priority=p)
        )
    app = make_app(ui_store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f8")
        await settle(pilot, app)
        screen = app.screen
        assert len(screen.table.rows) == 3
        await pilot.press("p")
        await settle(pilot, app)
        await pilot.press("down", "down", "enter")  # every, urgent, high
        await settle(pilot, app)
        assert [r.priority for r in screen.table.rows] == ["high"]
        await pilot.press("p", "enter")  # every priority again
        await settle(pilot, app)
        await pilot.press("r")  # mark the first read
        await settle(pilot, app)
        await pilot.press("u")  # unread only
        await settle(pilot, app)
        assert len(screen.table.rows) == 2
        await pilot.press("a")
        await settle(pilot, app)
        assert screen.table.rows == []
    assert all(n["read"] for n in rows(w, Notification, user_id=me))


def test_inbox_snapshot_with_mixed_priorities(snap_compare, ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from db import clock

    w = ui_world
    me = w["seller495"].user_id
    car = w.register(seller="seller495", license_plate="EL 12345", order_number="495-100")
    t0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    for minutes, priority, kind, text in (
        (0, "low", "status_update", "BMW X5 EL 12345: Registered → In transit."),
        (20, "medium", "parts_changed", "Parts arrived for BMW X5 EL 12345: Brake pads x 2."),
        (45, "high", "ready_for_delivery", "BMW X5 EL 12345 is ready for delivery."),
        (60, "urgent", "delivered", "Customer waiting at the desk for BMW X5 EL 12345."),
    ):
        clock.freeze(t0 + timedelta(minutes=minutes))
        w.db.run(
            lambda s, p=priority, k=kind, m=text: notify.send(
                s, None, [me], k, m, car_id=car, priority=p
            )
        )
    clock.freeze(t0 + timedelta(hours=2))
    app = make_app(ui_store, actor=w["seller495"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("f8")
        await settle(pilot, pilot.app)
        await pilot.press("r")
        await settle(pilot, pilot.app)

    try:
        assert snap_compare(app, terminal_size=(120, 20), run_before=ready)
    finally:
        clock.freeze(None)


# -- preferences ---------------------------------------------------------------------------------
def test_a_muted_type_is_not_sent_and_a_digest_type_gathers_its_low_ones(world) -> None:  # type: ignore[no-untyped-def]
    from db.store import Store

    me = world["seller495"]
    world.db.run(inbox.set_preference, me, "status_update", "mute")
    world.db.run(inbox.set_preference, me, "parts_changed", "digest")
    send = notify.send
    world.db.run(
        lambda s: send(s, None, [me.user_id], "status_update", "muted one", priority="low")
    )
    world.db.run(lambda s: send(s, None, [me.user_id], "parts_changed", "low part", priority="low"))
    world.db.run(
        lambda s: send(s, None, [me.user_id], "parts_changed", "high part", priority="high")
    )
    mine = notes_of(world, "seller495")
    assert [(n["message"], n["digest"]) for n in mine] == [("low part", True), ("high part", False)]
    store = Store(world.db.url)
    try:
        assert inbox.unread_count(store.fast, me.user_id) == 1  # the digest's are not counted
        assert [n.message for n in inbox.notes(store.fast, me.user_id)] == ["high part"]
        assert [n.message for n in inbox.notes(store.fast, me.user_id, digest=True)] == ["low part"]
        assert inbox.preferences(store.fast, me.user_id) == {
            "status_update": "mute",
            "parts_changed": "digest",
        }
    finally:
        store.close()
    assert world.db.run(inbox.deliver_digest, me) == 1
    assert world.db.run(inbox.deliver_digest, me) == 0  # once a day
    (digest,) = notes_of(world, "seller495", type="digest")
    assert "1 low-priority update" in digest["message"] and not digest["digest"]
    world.db.run(inbox.set_preference, me, "status_update", None)  # hear every one again
    world.db.run(lambda s: send(s, None, [me.user_id], "status_update", "heard", priority="low"))
    assert notes_of(world, "seller495", type="status_update")[0]["message"] == "heard"


async def test_preferences_by_keys(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from db.models import NotificationPreference
    from screens.inbox import PreferencesDialog

    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f8", "s")
        await settle(pilot, app)
        assert isinstance(app.screen, PreferencesDialog)
        await pilot.press("enter")  # new order: every one → digest
        await settle(pilot, app)
        await pilot.press("down", "enter", "enter")  # parts changed: → digest → muted
        await settle(pilot, app)
    found = {
        (p["type"], p["mode"])
        for p in rows(ui_world, NotificationPreference, user_id=ui_world["seller495"].user_id)
    }
    assert found == {("new_order", "digest"), ("parts_changed", "mute")}


async def test_a_closed_car_view_leaves_no_header_behind_and_open_ones_count_on(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    """Every screen's header shows the unread count.  A header that watched the app's count
    stayed alive, with its screen's closed, until the count next changed: a session that opened
    car after car with nothing new kept every header (about 0.45 MB each in a served session).
    The app now tells the headers it holds weakly; the one shown still counts."""
    import gc

    from screens.widgets import AppHeader

    w = ui_world
    car = ordered_car(w, "WBA99900011122244", "495-901")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.pause(1.3)  # the registration's notification, counted
        await settle(pilot, app)
        assert app.unread == 1
        for _ in range(12):
            app.open_car(car)
            await settle(pilot, app)
            await pilot.press("escape")
            await settle(pilot, app)
        gc.collect()
        closed = [h for h in gc.get_objects() if isinstance(h, AppHeader) and not h.is_attached]
        assert len(closed) <= 1, len(closed)  # at most the last one, while its screen goes
        app.open_car(car)
        await settle(pilot, app)
        assert "✉ 1 unread" in text_of(app)
        app.unread = 2  # as the feed sets it: the header shown follows
        await settle(pilot, app)
        assert "✉ 2 unread" in text_of(app)
