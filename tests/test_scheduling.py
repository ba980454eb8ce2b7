"""Scheduling on SQLite and PostgreSQL: the grid and its reads (db/grid.py) and the writes on top of
the ledger (db/scheduling.py): decline, weekly capacity patterns, cutting a day's capacity by
moving bookings away first, and the booking-request notification of ledger.book."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, time
from typing import Any

import pytest

from db import admin, capacity, clock, grid, ledger, scheduling
from db.errors import CapacityCut, DoesNotFit, Invalid, NotAllowed, Stale
from db.grid import GridCell
from db.models import (
    Event,
    Notification,
    ResourceBooking,
    ResourceCapacity,
    ResourceSharing,
)
from world import T0, World, at, book, booking, build_world, ledger_errors, rows


@pytest.fixture
def w(store) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """tests/world.py with the clock frozen: day(0) is Monday 7 Jan 2030; capacity to day(8)."""
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        world = build_world(store.db, days=9)
        yield world
    finally:
        clock.freeze(None)
        clock.set_zone(None)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def uid(w: World, login: str) -> str:
    return str(w[login].user_id)


def book_for(w: World, consumer: str, day: int, hours: float, person: str = "mechanic499") -> int:
    """A booking of ``consumer`` at 499, made by that dealership's coordinator when it has one."""
    login = "coordinator495" if consumer == "495" else "coordinator499"
    return book(
        w,
        day,
        hours,
        person,
        login=login,
        consumer_dealership_id=w.d[consumer],
        provider_dealership_id=w.d["499"],
    )


def set_cap(w: World, day: int, hours: float, person: str | None = None, **kw: Any) -> None:
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt[kw.pop("code", "TECH_PREP")],
        date=w.day(day),
        allocated_hours=hours,
        user_id=w[person].user_id if person else None,
        **kw,
    )


def cap(w: World, day: int, person: str | None = None, code: str = "TECH_PREP") -> dict[str, Any]:
    found = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt[code],
        date=w.day(day),
        user_id=w[person].user_id if person else None,
    )
    assert len(found) == 1
    return found[0]


def used(w: World, day: int, person: str | None = None) -> float:
    return cap(w, day, person)["used_hours"]


def notes_of(w: World, login: str) -> list[dict[str, Any]]:
    return rows(w, Notification, user_id=w[login].user_id)


def snapshot(w: World) -> dict[str, list[dict[str, Any]]]:
    return {
        m.__name__: rows(w, m) for m in (ResourceBooking, ResourceCapacity, Event, Notification)
    }


def set_status(w: World, booking_id: int, status: str) -> None:
    """Put a booking in a status no rule here writes (in progress: a timer started it)."""

    def write(s: Any) -> None:
        found = s.get(ResourceBooking, booking_id)
        found.status = status
        s.add(found)

    w.db.run(write)


def agreement(w: World, provider: str, consumer: str, code: str = "TECH_PREP") -> int:
    found = rows(
        w,
        ResourceSharing,
        provider_dealership_id=w.d[provider],
        consumer_dealership_id=w.d[consumer],
        resource_type_id=w.rt[code],
    )
    return found[0]["id"]


# ------------------------------------------------------------------------------------------------
# the grid
# ------------------------------------------------------------------------------------------------
def test_grid_cell_loads() -> None:
    assert GridCell(8, 0).load == "free"
    assert GridCell(8, 3).load == "filling"
    assert GridCell(8, 8).load == "full"
    assert GridCell(4, 6).load == "over"
    assert GridCell(0, 0).load == "closed"
    assert GridCell(0, 2).load == "over"
    assert GridCell(8, 2.5).available == 5.5


def test_week_grid_shape_order_and_cells(w: World) -> None:
    w.db.run(admin.save_resource_type, None, code="LUNCH", name="Lunch", bookable=False)
    w.db.run(admin.save_resource_type, None, code="OLD", name="Old work", active=False)
    fitting = w.db.run(admin.save_resource_type, None, code="FIT", name="Accessory fit").id
    book(w, 1, 3)  # Per: filling; team: filling
    book(w, 1, 8, "mechanic2_499")  # Pål: full
    set_cap(w, 2, 0, "mechanic499")  # Per's vacation day: closed
    book(w, 3, 6)
    set_cap(w, 3, 4, "mechanic499", allow_overbook=True)  # cut below what is booked: over

    g = grid.week_grid(w.fast, w.d["499"], w.day(0), 7)
    assert g.dealership_id == w.d["499"]
    assert g.days == [w.day(n) for n in range(7)]
    assert [(r.code, r.label) for r in g.rows] == [
        ("FIT", "Accessory fit"),
        ("COSMETIC", "Cosmetic Preparation"),
        ("COSMETIC", "Dina Klargjør"),
        ("TECH_PREP", "Technical Preparation"),
        ("TECH_PREP", "Per Mekaniker"),
        ("TECH_PREP", "Pål Mekaniker"),
        ("WASH", "Vehicle Washing"),
    ]
    fit, _, dina, team, per, pal, wash = g.rows
    assert fit.resource_type_id == fitting and fit.user_id is None
    assert all(cell is None for cell in fit.cells.values())  # no capacity set for it
    assert (team.user_id, per.user_id, pal.user_id) == (
        None,
        uid(w, "mechanic499"),
        uid(w, "mechanic2_499"),
    )
    assert team.requires_assignment and team.prep_stage == "technical"
    assert not wash.requires_assignment and wash.prep_stage is None
    assert dina.user_id == uid(w, "detailer499") and dina.name == "Cosmetic Preparation"
    assert list(team.cells) == g.days
    assert team.cells[w.day(0)] == GridCell(16, 0) and team.cells[w.day(0)].load == "free"
    assert team.cells[w.day(1)] == GridCell(16, 11) and team.cells[w.day(1)].load == "filling"
    assert per.cells[w.day(1)] == GridCell(8, 3)
    assert pal.cells[w.day(1)] == GridCell(8, 8) and pal.cells[w.day(1)].load == "full"
    assert per.cells[w.day(2)] == GridCell(0, 0) and per.cells[w.day(2)].load == "closed"
    assert per.cells[w.day(3)] == GridCell(4, 6) and per.cells[w.day(3)].load == "over"
    assert per.cells[w.day(3)].available == -2
    assert wash.cells[w.day(6)] == GridCell(8, 0)

    # past the last day with capacity: no rows, so no cells
    later = grid.week_grid(w.fast, w.d["499"], w.day(7), 7)
    tech = next(r for r in later.rows if r.code == "TECH_PREP" and r.user_id is None)
    assert [tech.cells[d] is not None for d in later.days] == [True, True] + [False] * 5
    # a dealership without capacity: the team rows only, every cell empty
    other = grid.week_grid(w.fast, w.d["400"], w.day(0), 28)
    assert [r.user_id for r in other.rows] == [None, None, None, None]
    assert len(other.days) == 28
    assert all(c is None for r in other.rows for c in r.cells.values())


def test_cell_bookings_holding_first_then_by_time(w: World) -> None:
    car = w.register("seller495", license_plate="EL 12345")
    ten = book(w, 1, 2, start_time=time(10, 0))
    eight = book(w, 1, 3, "mechanic2_499", start_time=time(8, 0), car_id=car)
    untimed = book(w, 1, 1)
    cancelled = book(w, 1, 1, start_time=time(7, 0))
    w.db.run(ledger.cancel, w["coordinator499"], cancelled, reason="Customer called")
    shared = book_for(w, "495", 1, 1.5)
    book(w, 2, 1)  # another day
    book(w, 1, 1, None, code="WASH")  # other work

    fast = w.fast
    team = grid.cell_bookings(fast, w.d["499"], w.rt["TECH_PREP"], w.day(1), None)
    assert [b.id for b in team] == [eight, ten, untimed, shared, cancelled]
    first = team[0]
    assert first.car_id == car and first.car_label == "BMW X5 EL 12345"
    assert first.order_number and first.order_number.startswith("ORD-")
    assert (first.date, first.start_time, first.estimated_hours) == (w.day(1), time(8, 0), 3)
    assert (first.work, first.person, first.user_id) == (
        "Technical Preparation",
        "Pål Mekaniker",
        uid(w, "mechanic2_499"),
    )
    # the car belongs to 495 but is prepared at its prep center 499, under their agreement
    assert (first.consumer, first.priority) == ("495 Kristiansand Vest", 50)
    assert first.status == "scheduled" and first.created_at == T0 and first.actual_hours is None
    assert team[1].consumer == "499 Porsgrunn" and team[1].priority is None
    assert team[1].car_label == "No car"
    assert team[-1].status == "cancelled" and "Customer called" in (team[-1].notes or "")
    by_shared = next(b for b in team if b.id == shared)
    assert (by_shared.consumer_dealership_id, by_shared.priority) == (w.d["495"], 50)

    per = grid.cell_bookings(fast, w.d["499"], w.rt["TECH_PREP"], w.day(1), uid(w, "mechanic499"))
    assert [b.id for b in per] == [ten, untimed, shared, cancelled]
    assert grid.cell_bookings(fast, w.d["400"], w.rt["TECH_PREP"], w.day(1), None) == []


def test_people_with_room_and_people_for_type(w: World) -> None:
    fast = w.fast
    tech, cosmetic = w.rt["TECH_PREP"], w.rt["COSMETIC"]
    book(w, 1, 5)  # Per has 3 h left
    per, pal = uid(w, "mechanic499"), uid(w, "mechanic2_499")
    assert grid.people_with_room(fast, w.d["499"], tech, w.day(1), 4) == [
        (pal, "Pål Mekaniker", 8.0)
    ]
    assert grid.people_with_room(fast, w.d["499"], tech, w.day(1), 2) == [
        (pal, "Pål Mekaniker", 8.0),
        (per, "Per Mekaniker", 3.0),
    ]
    # a person kept (the one a form has chosen) is there with their free hours, room or not
    assert grid.people_with_room(fast, w.d["499"], tech, w.day(1), 4, keep=per) == [
        (pal, "Pål Mekaniker", 8.0),
        (per, "Per Mekaniker", 3.0),
    ]
    assert grid.people_with_room(fast, w.d["499"], tech, w.day(20), 1) == []  # no rows that day
    assert grid.people_with_room(fast, w.d["499"], cosmetic, w.day(1), 8) == [
        (uid(w, "detailer499"), "Dina Klargjør", 8.0)
    ]
    assert grid.people_for_type(fast, w.d["499"], tech) == [
        (per, "Per Mekaniker"),
        (pal, "Pål Mekaniker"),
    ]
    assert grid.people_for_type(fast, w.d["499"], cosmetic) == [
        (uid(w, "detailer499"), "Dina Klargjør")
    ]
    # work without a prep stage is done by either
    assert len(grid.people_for_type(fast, w.d["499"], w.rt["WASH"])) == 3
    assert grid.people_for_type(fast, w.d["495"], tech) == []


def test_providers_for(w: World) -> None:
    fast = w.fast
    tech, cosmetic = w.rt["TECH_PREP"], w.rt["COSMETIC"]
    assert grid.providers_for(fast, w.d["499"], tech) == [
        (w.d["499"], "499 Porsgrunn", "own prep center")
    ]
    assert grid.providers_for(fast, w.d["495"], tech) == [
        (w.d["499"], "499 Porsgrunn", "prep center; sharing: 40 h/week, priority 50")
    ]
    assert grid.providers_for(fast, w.d["495"], cosmetic) == []  # no agreement for that work
    w.db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=w.d["400"],
        consumer_dealership_id=w.d["495"],
        resource_type_id=tech,
        max_hours_per_week=10,
        priority=30,
    )
    assert grid.providers_for(fast, w.d["495"], tech) == [
        (w.d["499"], "499 Porsgrunn", "prep center; sharing: 40 h/week, priority 50"),
        (w.d["400"], "400 Vest HQ", "sharing: 10 h/week, priority 30"),
    ]
    w.db.run(admin.save_sharing, None, agreement(w, "499", "495"), enabled=False)
    assert grid.providers_for(fast, w.d["495"], tech) == [
        (w.d["400"], "400 Vest HQ", "sharing: 10 h/week, priority 30")
    ]
    # a dealership that does its own prep: itself first, then its agreements
    w.db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=w.d["499"],
        consumer_dealership_id=w.d["400"],
        resource_type_id=tech,
        max_hours_per_week=8,
        priority=70,
    )
    assert grid.providers_for(fast, w.d["400"], tech) == [
        (w.d["400"], "400 Vest HQ", "own prep center"),
        (w.d["499"], "499 Porsgrunn", "sharing: 8 h/week, priority 70"),
    ]


# ------------------------------------------------------------------------------------------------
# sharing reads
# ------------------------------------------------------------------------------------------------
def test_sharing_queue_by_priority_then_age(w: World) -> None:
    fast = w.fast
    old_495 = book_for(w, "495", 2, 2)
    at(minutes=5)
    new_495 = book_for(w, "495", 1, 2)
    at(minutes=10)
    from_497 = book_for(w, "497", 3, 1)  # newest, but priority 80 beats 50
    at(minutes=15)
    book(w, 1, 2)  # 499's own work is not a request
    confirmed = book_for(w, "495", 1, 1)
    w.db.run(ledger.confirm, w["coordinator499"], confirmed)  # answered already
    declined = book_for(w, "497", 1, 1)
    w.db.run(scheduling.decline, w["coordinator499"], declined, reason="Full")

    queue = grid.sharing_queue(fast, w["coordinator499"], w.d["499"])
    assert [b.id for b in queue] == [from_497, old_495, new_495]
    assert [b.priority for b in queue] == [80, 50, 50]
    assert queue[0].consumer == "497 Skien" and queue[0].provider == "499 Porsgrunn"
    assert grid.sharing_queue(fast, w["admin"], w.d["499"]) == queue
    assert grid.sharing_queue(fast, w["coordinator495"], w.d["499"]) == []  # not their queue
    assert grid.sharing_queue(fast, w["coordinator499"], w.d["499"], since=w.day(2)) == [
        next(b for b in queue if b.id == from_497),
        next(b for b in queue if b.id == old_495),
    ]


def test_sharing_usage_per_agreement_and_week(w: World) -> None:
    fast = w.fast
    book_for(w, "495", 1, 3)
    book_for(w, "495", 2, 2, "mechanic2_499")
    book_for(w, "495", 7, 4)  # next ISO week
    gone = book_for(w, "495", 3, 1)
    w.db.run(ledger.cancel, w["coordinator499"], gone, reason="Sold elsewhere")
    done = book_for(w, "497", 3, 5)
    set_status(w, done, "completed")  # completed work still counts against the cap
    book(w, 1, 6, "mechanic2_499")  # own work never does
    week1, week2 = w.day(0), w.day(7)

    usage = grid.sharing_usage(fast, w["coordinator499"], week1, 2)
    assert [(u.consumer, u.week_monday, u.booked) for u in usage] == [
        ("495 Kristiansand Vest", week1, 5),
        ("495 Kristiansand Vest", week2, 4),
        ("497 Skien", week1, 5),
        ("497 Skien", week2, 0),
    ]
    first = usage[0]
    assert (first.provider_id, first.provider, first.consumer_id) == (
        w.d["499"],
        "499 Porsgrunn",
        w.d["495"],
    )
    assert (first.resource_type_id, first.work) == (w.rt["TECH_PREP"], "Technical Preparation")
    assert (first.max_hours_per_week, first.priority, first.enabled) == (40, 50, True)
    assert (usage[2].max_hours_per_week, usage[2].priority) == (20, 80)
    assert usage[0].left == 35
    # any day of the first week gives the same weeks
    assert grid.sharing_usage(fast, w["coordinator499"], w.day(3), 2) == usage
    # scope: 495 sees its own agreement only; the HQ manager both branches'; admin everything
    mine = grid.sharing_usage(fast, w["coordinator495"], week1, 2)
    assert [(u.consumer_id, u.booked) for u in mine] == [(w.d["495"], 5), (w.d["495"], 4)]
    assert grid.sharing_usage(fast, w["manager400"], week1, 2) == usage
    assert grid.sharing_usage(fast, w["admin"], week1, 2) == usage
    assert grid.sharing_usage(fast, w["seller499"], week1, 1) == usage[0::2]
    w.db.run(admin.save_sharing, None, agreement(w, "499", "497"), enabled=False)
    assert [u.enabled for u in grid.sharing_usage(fast, w["admin"], week1, 1)] == [True, False]

    cross = grid.cross_bookings(fast, w["coordinator495"], w.day(0), w.day(8))
    assert [(b.date, b.estimated_hours, b.status) for b in cross] == [
        (w.day(1), 3, "scheduled"),
        (w.day(2), 2, "scheduled"),
        (w.day(3), 1, "cancelled"),
        (w.day(7), 4, "scheduled"),
    ]
    everything = grid.cross_bookings(fast, w["coordinator499"], w.day(0), w.day(8))
    assert len(everything) == 5 and done in {b.id for b in everything}
    assert grid.cross_bookings(fast, w["admin"], w.day(0), w.day(8)) == everything
    assert grid.cross_bookings(fast, w["admin"], w.day(0), w.day(8), limit=2) == everything[:2]
    assert grid.cross_bookings(fast, w["seller495"], w.day(4), w.day(6)) == []
    assert grid.cross_bookings(fast, w["coordinator499"], w.day(2), w.day(2)) == [
        b for b in everything if b.date == w.day(2)
    ]


# ------------------------------------------------------------------------------------------------
# decline
# ------------------------------------------------------------------------------------------------
def test_decline_releases_hours_notes_and_notifies_the_consumer(w: World) -> None:
    booking_id = book_for(w, "495", 1, 3)
    assert (used(w, 1), used(w, 1, "mechanic499")) == (3, 3)
    w.db.run(scheduling.decline, w["coordinator499"], booking_id, reason="  No lift free  ")
    b = booking(w, booking_id)
    assert b["status"] == "cancelled"
    assert b["notes"] == "Declined: No lift free"
    assert (used(w, 1), used(w, 1, "mechanic499")) == (0, 0)
    actions = [
        e["action"] for e in rows(w, Event, entity="resource_bookings", entity_id=str(booking_id))
    ]
    assert actions == ["book", "decline"]
    notes = [n for n in notes_of(w, "coordinator495") if n["type"] == "booking_changed"]
    assert len(notes) == 1
    assert notes[0]["priority"] == "high"
    assert "Porsgrunn declined Technical Preparation" in notes[0]["message"]
    assert "No lift free" in notes[0]["message"]
    assert [n for n in notes_of(w, "coordinator499") if n["type"] == "booking_changed"] == []
    # Skien has no coordinator: its managers (the headquarters above it) hear of it instead
    skien = book_for(w, "497", 2, 1)
    w.db.run(scheduling.decline, w["coordinator499"], skien, reason="No room")
    mona = [n for n in notes_of(w, "manager400") if n["type"] == "booking_changed"]
    assert len(mona) == 1 and "No room" in mona[0]["message"]
    assert ledger_errors(w) == []


def test_decline_refusals_change_nothing(w: World) -> None:
    booking_id = book_for(w, "495", 1, 3)
    before = snapshot(w)
    with pytest.raises(NotAllowed) as refused:
        w.db.run(scheduling.decline, w["coordinator495"], booking_id, reason="Changed my mind")
    assert str(refused.value) == "Only the dealership that does the work can decline it."
    with pytest.raises(Invalid) as refused:
        w.db.run(scheduling.decline, w["coordinator499"], booking_id, reason="  ")
    assert refused.value.field == "reason"
    with pytest.raises(NotAllowed):
        w.db.run(scheduling.decline, w["mechanic499"], booking_id, reason="No")
    assert snapshot(w) == before

    w.db.run(ledger.confirm, w["coordinator499"], booking_id)
    before = snapshot(w)
    with pytest.raises(Stale):
        w.db.run(scheduling.decline, w["coordinator499"], booking_id, reason="Too late")
    with pytest.raises(Invalid) as refused:
        w.db.run(
            scheduling.decline,
            w["coordinator499"],
            booking_id,
            reason="Too late",
            expected_status=None,
        )
    assert "Only a scheduled booking can be declined" in str(refused.value)
    assert snapshot(w) == before
    assert used(w, 1) == 3


# ------------------------------------------------------------------------------------------------
# weekly patterns
# ------------------------------------------------------------------------------------------------
def test_apply_pattern_sets_weekdays_and_skips_overbooked_days(w: World) -> None:
    set_cap(w, 5, 4)  # Saturday: left alone by a Monday-Friday pattern
    book(w, 2, 6)
    book(w, 2, 5, "mechanic2_499")  # Wednesday: 11 h booked, more than the pattern's 8
    result = w.db.run(
        scheduling.apply_pattern,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        weekdays={0: 16, 1: "16", 2: 8, 3: 12.5, 4: 10},
        first=w.day(0),
        weeks=2,
    )
    workdays = [w.day(n) for n in range(14) if w.day(n).weekday() < 5]
    assert result.skipped == [(w.day(2), 11)]
    assert result.days_set == [d for d in workdays if d != w.day(2)]
    expected = {0: 16, 1: 16, 2: 8, 3: 12.5, 4: 10}
    for n in range(14):
        day = w.day(n)
        found = rows(
            w,
            ResourceCapacity,
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=day,
            user_id=None,
        )
        if n == 2:
            assert found[0]["allocated_hours"] == 16 and found[0]["used_hours"] == 11
            assert found[0]["recurrence_pattern"] is None
        elif day.weekday() < 5:
            assert found[0]["allocated_hours"] == expected[day.weekday()], day
            assert found[0]["recurrence_pattern"] == {
                "weekdays": {"mon": 16, "tue": 16, "wed": 8, "thu": 12.5, "fri": 10},
                "from": "2030-01-07",
                "weeks": 2,
            }
        elif n < 9:  # the world's weekend rows stay as they were
            assert found[0]["allocated_hours"] == (4 if n == 5 else 16)
            assert found[0]["recurrence_pattern"] is None
        else:  # no weekend rows were made
            assert found == []
    # the persons' rows were not touched
    assert cap(w, 1, "mechanic499")["allocated_hours"] == 8
    sets = [e for e in rows(w, Event, entity="resource_capacities", action="set")]
    assert len(sets) >= len(result.days_set)
    assert ledger_errors(w) == []


def test_apply_pattern_for_a_person_from_today_and_its_refusals(w: World) -> None:
    result = w.db.run(
        scheduling.apply_pattern,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        user_id=uid(w, "mechanic499"),
        weekdays={6: 0},
        first=w.day(-10),  # in the past: starts today
        weeks=1,
    )
    assert result.days_set == [w.day(6)] and result.skipped == []
    row = cap(w, 6, "mechanic499")
    assert row["allocated_hours"] == 0
    assert row["recurrence_pattern"] == {"weekdays": {"sun": 0}, "from": "2030-01-07", "weeks": 1}

    before = snapshot(w)

    def pattern(login: str = "coordinator499", **kw: Any) -> Any:
        args: dict[str, Any] = {
            "dealership_id": w.d["499"],
            "resource_type_id": w.rt["TECH_PREP"],
            "weekdays": {0: 8},
            "first": w.day(0),
            "weeks": 1,
        }
        args.update(kw)
        return w.db.run(scheduling.apply_pattern, w[login], **args)

    for bad, field in (
        ({0: 8, 1: 0.3}, "tue"),  # quarter hours only, and nothing is set before the refusal
        ({0: -1}, "mon"),
        ({2: "lots"}, "wed"),
        ({7: 8}, "weekdays"),
        ({}, "weekdays"),
    ):
        with pytest.raises(Invalid) as refused:
            pattern(weekdays=bad)
        assert refused.value.field == field, bad
    with pytest.raises(Invalid) as refused:
        pattern(weekdays={0: 25}, user_id=uid(w, "mechanic499"))  # a person's day is 24 h at most
    assert refused.value.field == "mon"
    for weeks in (0, 53):
        with pytest.raises(Invalid) as refused:
            pattern(weeks=weeks)
        assert refused.value.field == "weeks"
    with pytest.raises(NotAllowed):
        pattern(login="mechanic499")
    with pytest.raises(NotAllowed):
        pattern(login="coordinator495")
    assert snapshot(w) == before


# ------------------------------------------------------------------------------------------------
# cutting capacity
# ------------------------------------------------------------------------------------------------
def cut_world(w: World) -> dict[str, int]:
    """Day 1, Technical Preparation at 499: 14 h on the team row, oldest first."""
    ids = {}
    ids["own"] = book(w, 1, 4)  # 499's own work
    at(minutes=1)
    ids["495_old"] = book_for(w, "495", 1, 3, "mechanic2_499")
    at(minutes=2)
    ids["497"] = book_for(w, "497", 1, 2)
    at(minutes=3)
    ids["495_new"] = book_for(w, "495", 1, 3, "mechanic2_499")
    at(minutes=4)
    ids["started"] = book(w, 1, 2, "mechanic2_499")
    set_status(w, ids["started"], "in_progress")
    ids["confirmed_own"] = book(w, 1, 1, start_time=time(9, 0))
    w.db.run(ledger.confirm, w["coordinator499"], ids["confirmed_own"])
    gone = book_for(w, "495", 1, 1)
    w.db.run(ledger.cancel, w["coordinator499"], gone, reason="No")
    assert used(w, 1) == 15
    return ids


def proposal(w: World, hours: float, person: str | None = None) -> list[scheduling.CutLine]:
    return w.db.query(
        scheduling.cut_proposal,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        day=w.day(1),
        user_id=uid(w, person) if person else None,
        allocated_hours=hours,
    )


def test_cut_proposal_orders_lowest_priority_newest_first(w: World) -> None:
    ids = cut_world(w)
    lines = proposal(w, 9)
    assert [line.id for line in lines] == [
        ids["495_new"],
        ids["495_old"],
        ids["497"],
        ids["confirmed_own"],  # own work last, the newest of it first
        ids["own"],
        ids["started"],  # cannot be moved: listed after everything that can
    ]
    # 15 h booked, 9 h wanted: the two 495 bookings (6 h) are enough
    assert [line.proposed for line in lines] == [True, True, False, False, False, False]
    first = lines[0]
    assert (first.consumer, first.priority, first.hours) == ("495 Kristiansand Vest", 50, 3)
    assert first.car_label == "No car" and first.person == "Pål Mekaniker"
    assert lines[2].priority == 80 and lines[3].priority is None
    assert lines[3].start_time == time(9, 0)
    assert lines[-1].status == "in_progress" and not lines[-1].movable
    # one hour more to cut: the 497 booking too
    assert [line.proposed for line in proposal(w, 8)] == [True, True, True, False, False, False]
    assert [line.proposed for line in proposal(w, 15)] == [False] * 6
    # to zero: every booking that can move, never the started one
    assert [line.proposed for line in proposal(w, 0)] == [True] * 5 + [False]
    # a person's row: only that person's bookings, and their own hours (Pål: 8 h booked of 8)
    pal = proposal(w, 4, "mechanic2_499")
    assert [line.id for line in pal] == [ids["495_new"], ids["495_old"], ids["started"]]
    assert [line.proposed for line in pal] == [True, True, False]
    with pytest.raises(NotAllowed):
        w.db.query(
            scheduling.cut_proposal,
            w["coordinator495"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            day=w.day(1),
            allocated_hours=4,
        )


def cut(w: World, hours: float, move: list[int], person: str | None = None) -> Any:
    return w.db.run(
        scheduling.cut_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        day=w.day(1),
        user_id=uid(w, person) if person else None,
        allocated_hours=hours,
        move=move,
    )


def test_cut_capacity_moves_the_chosen_bookings_and_sets_the_hours(w: World) -> None:
    ids = cut_world(w)
    moves = [line.id for line in proposal(w, 9) if line.proposed]
    before_day2, before_day2_pal = used(w, 2), used(w, 2, "mechanic2_499")
    moved = cut(w, 9, moves)
    # day 0 (today) and day 2 are equally near: the later day wins
    assert moved == [(ids["495_new"], w.day(2)), (ids["495_old"], w.day(2))]
    for booking_id in moves:
        b = booking(w, booking_id)
        assert (b["date"], b["status"], b["user_id"]) == (
            w.day(2),
            "scheduled",
            w["mechanic2_499"].user_id,
        )
    team = cap(w, 1)
    assert (team["allocated_hours"], team["used_hours"]) == (9, 9)
    assert used(w, 1, "mechanic2_499") == 2
    assert used(w, 2) == before_day2 + 6
    assert used(w, 2, "mechanic2_499") == before_day2_pal + 6
    assert ledger_errors(w) == []
    # the assigned person and the consumer's coordinators hear of it
    pal_notes = [n for n in notes_of(w, "mechanic2_499") if n["type"] == "booking_changed"]
    assert len(pal_notes) == 2
    assert "moved from Tue 8 Jan to Wed 9 Jan (capacity cut)" in pal_notes[0]["message"]
    kim = [n for n in notes_of(w, "coordinator495") if n["type"] == "booking_changed"]
    assert len(kim) == 2
    for booking_id in moves:
        actions = [
            e["action"]
            for e in rows(w, Event, entity="resource_bookings", entity_id=str(booking_id))
        ]
        assert actions[-1] == "move"


def test_cut_capacity_of_a_person_keeps_the_time_unless_busy(w: World) -> None:
    timed = book(w, 1, 2, start_time=time(8, 0))
    clash = book(w, 2, 2, start_time=time(8, 0))  # Per is busy at 08:00 on day 2
    set_cap(w, 0, 0, "mechanic499")  # and away today: day 2 is the nearest day for him
    moved = cut(w, 0, [timed], "mechanic499")
    assert moved == [(timed, w.day(2))]
    b = booking(w, timed)
    assert (b["date"], b["start_time"]) == (w.day(2), None)  # time to be set again
    assert booking(w, clash)["start_time"] == time(8, 0)
    assert cap(w, 1, "mechanic499")["allocated_hours"] == 0
    assert used(w, 1, "mechanic499") == 0 and used(w, 2, "mechanic499") == 4
    free = book(w, 3, 1, start_time=time(13, 0))
    set_cap(w, 2, 4, "mechanic499")
    set_cap(w, 4, 0, "mechanic499")
    moved = w.db.run(
        scheduling.cut_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        day=w.day(3),
        user_id=w["mechanic499"].user_id,
        allocated_hours=0,
        move=[free],
    )
    assert moved == [(free, w.day(5))]  # day 2 full, day 4 a day off
    assert booking(w, free)["start_time"] == time(13, 0)
    assert ledger_errors(w) == []


def test_cut_capacity_refuses_when_a_booking_cannot_move_and_changes_nothing(w: World) -> None:
    car = w.register("seller499", license_plate="EK 77777")
    movable = book(w, 1, 2, "mechanic2_499")
    stuck = book(w, 1, 3, car_id=car)
    for day in (0, 2, 3, 4, 5, 6, 7, 8):  # Per has no other day with room
        set_cap(w, day, 0, "mechanic499")
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        cut(w, 10, [movable, stuck])
    message = str(refused.value)
    assert message.startswith("Nothing was changed: BMW X5 EK 77777 (3 h with Per Mekaniker)")
    assert "choose other bookings to move, or cut less" in message
    assert refused.value.nearest_day is None
    assert snapshot(w) == before  # the first booking's move was rolled back too
    assert booking(w, movable)["date"] == w.day(1)
    assert (used(w, 1), used(w, 1, "mechanic2_499")) == (5, 2)
    assert cap(w, 1)["allocated_hours"] == 16


def test_cut_capacity_refuses_when_not_enough_is_moved(w: World) -> None:
    ids = cut_world(w)
    before = snapshot(w)
    with pytest.raises(CapacityCut) as refused:
        cut(w, 8, [ids["495_new"], ids["495_old"]])
    assert str(refused.value) == "Still 9 h booked over 8 h: choose more bookings to move."
    assert refused.value.booked == 9
    assert snapshot(w) == before
    # a booking that is not on that row any more (moved meanwhile), or already started
    w.db.run(ledger.move, w["coordinator499"], ids["497"], date=w.day(3))
    before = snapshot(w)
    with pytest.raises(Stale):
        cut(w, 12, [ids["497"]])
    with pytest.raises(Invalid) as refused:
        cut(w, 12, [ids["started"]])
    assert "in progress and cannot be moved" in str(refused.value)
    with pytest.raises(NotAllowed):
        w.db.run(
            scheduling.cut_capacity,
            w["mechanic499"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            day=w.day(1),
            allocated_hours=0,
            move=[],
        )
    assert snapshot(w) == before
    # nothing to move when the cut fits what is booked
    assert cut(w, 13, []) == []
    assert cap(w, 1)["allocated_hours"] == 13


# ------------------------------------------------------------------------------------------------
# booking requests
# ------------------------------------------------------------------------------------------------
def test_a_booking_at_another_dealership_notifies_its_coordinators(w: World) -> None:
    car = w.register("seller495", license_plate="EL 55555")
    booking_id = book(w, 2, 3, car_id=car, login="coordinator495")
    notes = notes_of(w, "coordinator499")
    requests = [n for n in notes if n["type"] == "booking_request"]
    assert len(requests) == 1
    assert requests[0]["priority"] == "medium" and requests[0]["car_id"] == car
    assert requests[0]["message"] == (
        "Booking request from 495 Kristiansand Vest: Technical Preparation for BMW X5 EL 55555 "
        f"(order {_order(w, car)}), 3 h on Wed 9 Jan "
        f"(booking #{booking_id})."
    )
    # the one who booked is not told; own work is no request
    assert [n for n in notes_of(w, "coordinator495") if n["type"] == "booking_request"] == []
    book(w, 2, 1)
    assert len([n for n in notes_of(w, "coordinator499") if n["type"] == "booking_request"]) == 1
    # the request rolls back with a refused booking
    with pytest.raises(DoesNotFit):
        book(w, 2, 20, login="coordinator495", provider_dealership_id=w.d["499"])
    assert len([n for n in notes_of(w, "coordinator499") if n["type"] == "booking_request"]) == 1


def _order(w: World, car_id: int) -> str:
    from db.models import Car

    return w.db.query(lambda s: s.get(Car, car_id).order_number)


def test_everything_stays_exact_after_a_day_of_scheduling(w: World) -> None:
    """decline, pattern and cut together keep every capacity row equal to its bookings."""
    ids = cut_world(w)
    w.db.run(scheduling.decline, w["coordinator499"], ids["497"], reason="Full")
    cut(w, 10, [ids["495_new"]])
    w.db.run(
        scheduling.apply_pattern,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        weekdays={0: 12, 1: 4, 2: 12},
        first=w.day(0),
        weeks=2,
    )
    assert ledger_errors(w) == []
    held: dict[Any, float] = {}
    for b in rows(w, ResourceBooking):
        if b["status"] in ("scheduled", "confirmed", "in_progress", "completed"):
            for who in {None, b["user_id"]}:
                key = (b["date"], who)
                held[key] = held.get(key, 0.0) + b["estimated_hours"]
    for row in rows(w, ResourceCapacity, resource_type_id=w.rt["TECH_PREP"]):
        assert row["used_hours"] == held.get((row["date"], row["user_id"]), 0.0), row
    assert cap(w, 1)["allocated_hours"] == 10  # Tuesday's 4 h would overbook: skipped
    assert cap(w, 0)["allocated_hours"] == 12
