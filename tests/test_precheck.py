"""On SQLite a booking that does not fit is refused before the write lock is taken (db.ledger.fits,
run by db.engine.Database.run as book's precheck): it does not wait behind another terminal's
write, it writes nothing, and a booking that passes the precheck is still checked under the lock,
so the ledger stays exact when another booking takes the hours in between.  (PostgreSQL runs no
precheck: a refusal there holds only the day's rows; tests/test_ledger.py covers both engines.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import text
from test_who_writes import SWITCHED_OFF, change_user

from db import capacity, clock, ledger
from db.engine import Database
from db.errors import ActorChanged, DoesNotFit, HeldUp, Invalid
from db.models import Event, ResourceBooking, ResourceCapacity
from db.store import Store
from world import T0, World, build_world, ledger_errors, rows


@pytest.fixture
def w(sqlite_url: str) -> Iterator[World]:
    """tests/world.py on SQLite with the clock frozen (day(0) is Monday 7 Jan 2030)."""
    store = Store(sqlite_url)
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield build_world(store.db, days=9)
    finally:
        clock.freeze(None)
        clock.set_zone(None)
        store.close()


def full_day(w: World, day: int) -> int:
    """Day ``day`` with 8 h of TECH_PREP for the team, all booked; the team row's id."""
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(day),
        allocated_hours=8,
    )
    booking(w.db, w, day, 8)
    (team,) = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(day),
        user_id=None,
    )
    return int(team["id"])


def booking(db: Database, w: World, day: int, hours: float, person: str = "mechanic499") -> Any:
    return db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(day),
        estimated_hours=hours,
        user_id=w[person].user_id,
    )


@contextmanager
def another_terminal_writing(url: str, dealership_id: int) -> Iterator[None]:
    """Another session in the middle of a write (it holds the database's write lock)."""
    other = Database(url)
    try:
        with other.write() as session:
            session.execute(
                text(
                    "UPDATE resource_capacities SET updated_at = updated_at WHERE dealership_id = :d"
                ),
                {"d": dealership_id},
            )
            yield
    finally:
        other.dispose()


def saved(w: World) -> dict[str, list[dict[str, Any]]]:
    return {m.__name__: rows(w, m) for m in (ResourceBooking, ResourceCapacity, Event)}


def test_a_booking_that_does_not_fit_is_refused_without_waiting_for_another_write(
    w: World, sqlite_url: str
) -> None:
    full_day(w, 2)
    before = saved(w)
    impatient = Database(sqlite_url, write_wait=1.0)
    try:
        with another_terminal_writing(sqlite_url, w.d["499"]):
            # it does not fit: refused at once, with the nearest day, the other write still open
            with pytest.raises(DoesNotFit) as refused:
                booking(impatient, w, 2, 2)
            assert refused.value.nearest_day == w.day(3)
            assert str(refused.value).startswith("Technical Preparation at Porsgrunn on ")
            # one that fits has to wait for the lock, and is given up after write_wait
            with pytest.raises(HeldUp):
                booking(impatient, w, 3, 2)
    finally:
        impatient.dispose()
    assert saved(w) == before
    assert ledger_errors(w) == []


def test_a_booking_that_passed_the_precheck_is_checked_again_under_the_lock(
    w: World, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the precheck and the write another terminal books the last hours: the write is
    refused under the lock, and the day is not overbooked."""
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(2),
        allocated_hours=8,
    )
    booking(w.db, w, 2, 6)
    original = w.db._precheck
    other = Database(sqlite_url)

    def then_another_books(check: Any, *args: Any, **kwargs: Any) -> None:
        original(check, *args, **kwargs)  # 2 h free: it passes
        booking(other, w, 2, 2, "mechanic2_499")  # ... and now they are taken

    monkeypatch.setattr(w.db, "_precheck", then_another_books)
    try:
        with pytest.raises(DoesNotFit) as refused:
            booking(w.db, w, 2, 2)
    finally:
        monkeypatch.undo()
        other.dispose()
    assert "has 0 h free; the booking needs 2 h" in str(refused.value)
    (team,) = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(2),
        user_id=None,
    )
    assert team["used_hours"] == 8 and team["allocated_hours"] == 8
    assert len(rows(w, ResourceBooking, date=w.day(2))) == 2
    assert ledger_errors(w) == []


def test_a_switched_off_user_hears_that_before_that_the_day_is_full(w: World) -> None:
    full_day(w, 2)
    coordinator = w["coordinator499"]  # the session still holds the actor it signed in with
    change_user(w, "coordinator499", active=False)
    with pytest.raises(ActorChanged) as refused:
        w.db.run(
            ledger.book,
            coordinator,
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(2),
            estimated_hours=2,
            user_id=w["mechanic499"].user_id,
        )
    assert str(refused.value) == SWITCHED_OFF


def test_other_problems_are_said_by_the_write_itself(w: World) -> None:
    """The precheck only refuses what does not fit; a wrong input is said by book, as before."""
    full_day(w, 2)
    with pytest.raises(Invalid, match="That day is in the past"):
        booking(w.db, w, -3, 2)
    with pytest.raises(Invalid, match="is done by a mechanic; Dina Klargjør is a detailer"):
        booking(w.db, w, 2, 2, "detailer499")
