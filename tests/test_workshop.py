"""The workshop on SQLite and PostgreSQL: a worker's jobs and running clock (db/jobs.py), taking an
open job and answering for a forgotten clock (db/timers.py), the inspection checklist and its
findings (db/inspection.py), and the time bank with its totals and payroll CSV (db/timebank.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest

from db import admin, clock, inspection, jobs, ledger, parts, timebank, timers, users, workflow
from db.capacity import set_capacity
from db.errors import DoesNotFit, Invalid, NotAllowed, NotFound, TimerError, WorkflowRefused
from db.models import (
    Car,
    Event,
    InspectionChecklistItem,
    Notification,
    PartsOrder,
    ResourceCapacity,
    TimebankEntry,
)
from world import T0, World, at, book, booking, frozen_world, ledger_errors, rows, set_fields


@pytest.fixture
def w(store) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """tests/world.py frozen at T0 (Monday 7 Jan 2030, 07:00 UTC), capacity for day(0)..day(2)."""
    with frozen_world(store.db, days=3) as world:
        yield world


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def one(w: World, model: type, id_: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(model, id_).model_dump())


def fast(w: World) -> Any:
    return w.fast


def car_at(
    w: World, status: str = "at_prep_center", seller: str = "seller499", **fields: Any
) -> int:
    """A car of ``seller``'s dealership, prepared at 499, moved on to ``status``."""
    car_id = w.register(seller, **fields)
    for step in ("in_transit", "at_prep_center", "inspection"):
        if one(w, Car, car_id)["status"] == status:
            break
        w.db.run(workflow.move_car, w["admin"], car_id, step)
    assert one(w, Car, car_id)["status"] == status
    return car_id


def inspected_car(w: World, **fields: Any) -> int:
    """A car at inspection, inspected and approved (technical work moves it on)."""
    car_id = car_at(w, "inspection", **fields)
    set_fields(w, car_id, inspection_completed_at=clock.utcnow(), inspection_approved=True)
    return car_id


def tire_type(w: World, mechanic2_day0: float = 8) -> int:
    """Technical work that needs no person (so it can be booked open): team 16 h on day(0) and
    day(1), mechanic499 8 h a day, mechanic2_499 ``mechanic2_day0`` h on day(0) and 8 h on day(1)."""
    rt = w.db.run(
        admin.save_resource_type,
        None,
        code="TIRES",
        name="Tire change",
        requires_assignment=False,
        default_duration_hours=1,
        prep_stage="technical",
    ).id
    w.rt["TIRES"] = rt
    for offset in (0, 1):
        cap = {"dealership_id": w.d["499"], "resource_type_id": rt, "date": w.day(offset)}
        w.db.run(set_capacity, w["coordinator499"], **cap, allocated_hours=16)
        for login, hours in (
            ("mechanic499", 8),
            ("mechanic2_499", mechanic2_day0 if offset == 0 else 8),
        ):
            w.db.run(
                set_capacity,
                w["coordinator499"],
                **cap,
                allocated_hours=hours,
                user_id=w[login].user_id,
            )
    return rt


def capacity(w: World, code: str, day: int, login: str | None) -> float:
    """used_hours of a capacity row at 499."""
    user = w[login].user_id if login else None
    found = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt[code],
        date=w.day(day),
        user_id=user,
    )
    return found[0]["used_hours"]


def ids(found: list[jobs.JobRow]) -> list[int]:
    return [j.booking_id for j in found]


def notes_of(w: World, type_: str, **where: Any) -> list[tuple[Any, str, str]]:
    return [
        (n["user_id"], n["priority"], n["message"])
        for n in rows(w, Notification, type=type_, **where)
    ]


# ------------------------------------------------------------------------------------------------
# my jobs
# ------------------------------------------------------------------------------------------------
def test_my_jobs_lists_mine_then_the_open_ones_then_the_done_ones(w: World) -> None:
    tire_type(w)
    me = w["mechanic499"]
    car_a, car_b = inspected_car(w), inspected_car(w)
    untimed = book(w, 0, 1, car_id=car_a)
    late = book(w, 0, 2, car_id=car_b, start_time=time(13, 0))
    early = book(w, 0, 1, start_time=time(8, 0))
    tomorrow = book(w, 1, 1, start_time=time(7, 0))
    after = book(w, 2, 1)  # outside the two days asked for
    done = book(w, 0, 1)
    w.db.run(timers.complete, me, done)
    cancelled = book(w, 0, 1)
    w.db.run(ledger.cancel, w["coordinator499"], cancelled, reason="Customer cancelled")
    theirs = book(w, 0, 1, "mechanic2_499")
    open_wash = book(w, 0, 1, None, code="WASH")
    open_tires = book(w, 1, 1, None, code="TIRES", start_time=time(9, 0))
    taken_tires = book(w, 0, 1, "mechanic2_499", code="TIRES")
    # washing at another dealership is not 499's mechanics' to take
    w.db.run(
        set_capacity,
        w["admin"],
        dealership_id=w.d["400"],
        resource_type_id=w.rt["WASH"],
        date=w.day(0),
        allocated_hours=8,
    )
    elsewhere = book(
        w,
        0,
        1,
        None,
        code="WASH",
        login="admin",
        provider_dealership_id=w.d["400"],
        consumer_dealership_id=w.d["400"],
    )

    found = jobs.my_jobs(fast(w), me, w.day(0), days=2)
    assert ids(found) == [early, late, untimed, tomorrow, open_wash, open_tires, done]
    assert [j.mine for j in found] == [True] * 4 + [False, False, True]
    assert [j.status for j in found][-1] == "completed"
    assert {after, cancelled, theirs, taken_tires, elsewhere}.isdisjoint(ids(found))
    # one day: only today's
    assert ids(jobs.my_jobs(fast(w), me, w.day(0))) == [early, late, untimed, open_wash, done]
    assert jobs.my_jobs(fast(w), me, w.day(0), days=0) == []
    # a detailer may take the washing (work without a stage) but not the tire change
    assert ids(jobs.my_jobs(fast(w), w["detailer499"], w.day(0), days=2)) == [open_wash]
    # a coordinator takes no jobs and has none of their own
    assert jobs.my_jobs(fast(w), w["coordinator499"], w.day(0), days=2) == []


def test_a_job_row_carries_the_car_the_notes_the_parts_and_the_hours(w: World) -> None:
    me = w["mechanic499"]
    car_id = inspected_car(w, license_plate="EL 12345", seller_notes="Customer wants winter tires")
    set_fields(w, car_id, technical_notes="Check the rattle", cosmetic_notes="Polish")
    job = w.db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(0),
        estimated_hours=4,
        user_id=me.user_id,
        car_id=car_id,
        start_time=time(9, 30),
        notes="Bring the torque wrench",
    ).id
    wash = book(w, 0, 1, None, code="WASH")
    w.db.run(timers.start, me, job)
    at(hours=1, minutes=30)
    w.db.run(timers.stop, me)
    restarted = at(hours=2)
    w.db.run(timers.start, me, job)

    row = jobs.my_jobs(fast(w), me, w.day(0))[0]
    assert row.booking_id == job and row.mine
    assert (row.date, row.start_time, row.estimated_hours) == (w.day(0), time(9, 30), 4)
    assert (row.clocked_hours, row.running_since, row.running) == (1.5, restarted, True)
    assert (row.status, row.work, row.resource_type_id, row.prep_stage) == (
        "in_progress",
        "Technical Preparation",
        w.rt["TECH_PREP"],
        "technical",
    )
    car = one(w, Car, car_id)
    assert (row.car_id, row.plate, row.brand, row.model) == (car_id, "EL 12345", "BMW", "X5")
    assert row.vin_tail == car["vin"][-6:]
    assert row.car_label == "BMW X5 EL 12345"
    assert row.car_status == "technical_prep"
    assert (row.parts_waiting, row.parts_reason) == (False, None)
    assert row.seller_notes == "Customer wants winter tires"
    assert row.booking_notes == "Bring the torque wrench"
    assert (row.technical_notes, row.cosmetic_notes) == ("Check the rattle", "Polish")
    assert row.work_notes == "Check the rattle"
    assert (row.user_id, row.person) == (str(me.user_id), "Per Mekaniker")

    # parts ordered by the seller, not arrived: the reason is the workflow's own words
    set_fields(w, car_id, parts_ordered_seller_at=T0, parts_ordered_prep_at=T0)
    row = jobs.my_jobs(fast(w), me, w.day(0))[0]
    expected = w.db.query(lambda s: workflow.waiting_on_parts(s.get(Car, car_id)))
    assert row.parts_waiting and row.parts_reason == expected
    assert "seller and parts ordered by the prep center" in (row.parts_reason or "")
    set_fields(w, car_id, parts_arrived_seller_at=T0, parts_arrived_prep_at=T0)
    assert jobs.my_jobs(fast(w), me, w.day(0))[0].parts_waiting is False

    # a shared job someone else clocks: their hours count, their clock is not mine
    w.db.run(timers.start, w["mechanic2_499"], wash)
    at(hours=3)
    w.db.run(timers.stop, w["mechanic2_499"])
    w.db.run(timers.start, w["mechanic2_499"], wash)
    open_row = next(j for j in jobs.my_jobs(fast(w), me, w.day(0)) if j.booking_id == wash)
    assert (open_row.mine, open_row.user_id, open_row.person) == (False, None, None)
    assert (open_row.clocked_hours, open_row.running_since) == (1.0, None)
    assert (open_row.car_id, open_row.car_label, open_row.car_status) == (None, "No car", None)
    assert open_row.work_notes is None


def test_running_timer(w: World) -> None:
    me = w["mechanic499"]
    car_id = inspected_car(w, license_plate="EK 99999")
    job = book(w, 0, 4, car_id=car_id)
    wash = book(w, 0, 1, None, code="WASH")
    assert jobs.running_timer(fast(w), me.user_id) is None
    started = at(minutes=10)
    entry = w.db.run(timers.start, me, job).id
    found = jobs.running_timer(fast(w), str(me.user_id))  # a str id works as well
    assert found == jobs.RunningTimer(
        entry, job, started, "Technical Preparation", "BMW X5 EK 99999", car_id
    )
    assert found is not None and found.hours(started + timedelta(minutes=90)) == 1.5
    assert jobs.running_timer(fast(w), w["mechanic2_499"].user_id) is None
    switched = at(hours=1)
    second = w.db.run(timers.start, me, wash).id
    found = jobs.running_timer(fast(w), me.user_id)
    assert found is not None
    assert (found.entry_id, found.booking_id, found.started_at) == (second, wash, switched)
    assert (found.work, found.car_label, found.car_id) == ("Vehicle Washing", "No car", None)
    w.db.run(timers.stop, me)
    assert jobs.running_timer(fast(w), me.user_id) is None


def test_open_jobs_are_those_i_can_take_or_clock_as_the_team(w: World) -> None:
    """Every job marked takeable is one timers.take gives me; the others listed are the team's
    work (no person needed), which Space clocks without taking; nothing else is listed."""
    tire_type(w)
    me = w["mechanic499"]
    fits = book(w, 0, 3, None, code="TIRES", start_time=time(12, 0))
    too_long = book(w, 0, 8.5, None, code="TIRES")  # more than my own 8 h of tire work
    w.db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(0),
        estimated_hours=2,
        user_id=me.user_id,
        start_time=time(8, 0),
    )
    overlaps = book(w, 0, 1, None, code="TIRES", start_time=time(9, 0))  # I am busy 8-10
    started = book(w, 0, 1, None, code="TIRES")
    w.db.run(timers.start, w["mechanic2_499"], started)  # someone is on it: join, not take
    wash = book(w, 0, 1, None, code="WASH")  # no washing hours of my own
    listed = {j.booking_id: j for j in jobs.my_jobs(fast(w), me, w.day(0)) if not j.mine}
    assert set(listed) == {fits, too_long, overlaps, started, wash}
    assert all(j.team for j in listed.values())
    assert {b for b, j in listed.items() if j.takeable} == {fits}
    for job in (too_long, overlaps, started, wash):
        with pytest.raises((DoesNotFit, Invalid, TimerError)):
            w.db.run(timers.take, me, job)
    w.db.run(timers.take, me, fits)
    # my tire hours are taken now: nothing more of them is offered to take
    after = {j.booking_id: j for j in jobs.my_jobs(fast(w), me, w.day(0)) if not j.mine}
    assert not any(j.takeable for j in after.values())
    assert ledger_errors(w) == []


def test_the_running_job_is_on_top_whatever_day_is_shown(w: World) -> None:
    me = w["mechanic499"]
    today = book(w, 0, 1)
    later = book(w, 2, 1)
    w.db.run(timers.start, me, later)
    found = jobs.my_jobs(fast(w), me, w.day(0))
    assert ids(found) == [later, today]
    assert found[0].running and found[0].mine and found[0].date == w.day(2)
    assert ids(jobs.my_jobs(fast(w), me, w.day(2))) == [later]  # listed once on its own day
    w.db.run(timers.stop, me)
    assert ids(jobs.my_jobs(fast(w), me, w.day(0))) == [today]
    # the team's work I clock without taking it: on top too, not mine
    wash = book(w, 1, 1, None, code="WASH")
    w.db.run(timers.start, me, wash)
    top = jobs.my_jobs(fast(w), me, w.day(0))[0]
    assert (top.booking_id, top.mine, top.team, top.running) == (wash, False, True, True)


def test_the_work_a_cars_stage_calls_for() -> None:
    from db.fast import TypeRow

    types = [
        TypeRow(1, "COSMETIC", "Cosmetic Preparation", 2, True, "cosmetic"),
        TypeRow(2, "TECH_PREP", "Technical Preparation", 4, True, "technical"),
        TypeRow(3, "WASH", "Vehicle Washing", 0.5, False, None),
    ]
    assert jobs.work_stage("cosmetic_prep") == "cosmetic"
    assert [jobs.work_stage(s) for s in ("at_prep_center", "technical_prep", None)] == [
        "technical"
    ] * 3
    assert jobs.work_type_for(types, "cosmetic_prep") == 1
    assert jobs.work_type_for(types, "parts_ordered") == 2
    assert jobs.work_type_for(types[2:], "cosmetic_prep") is None


# ------------------------------------------------------------------------------------------------
# taking an open job
# ------------------------------------------------------------------------------------------------
def test_take_an_open_job(w: World) -> None:
    tire_type(w)
    car_id = inspected_car(w)
    job = book(w, 0, 3, None, code="TIRES", car_id=car_id)
    assert one(w, Car, car_id)["assigned_mechanic_id"] is None
    assert (capacity(w, "TIRES", 0, None), capacity(w, "TIRES", 0, "mechanic499")) == (3, 0)
    me = w["mechanic499"]
    taken = w.db.run(timers.take, me, job)
    assert taken.user_id == me.user_id
    b = booking(w, job)
    assert (b["user_id"], b["status"], b["estimated_hours"]) == (me.user_id, "scheduled", 3)
    assert (capacity(w, "TIRES", 0, None), capacity(w, "TIRES", 0, "mechanic499")) == (3, 3)
    car = one(w, Car, car_id)
    assert car["assigned_mechanic_id"] == me.user_id
    assert car["scheduled_technical_date"] == w.day(0)
    event = rows(w, Event, entity="resource_bookings", entity_id=str(job), action="take")
    assert len(event) == 1 and event[0]["user_id"] == me.user_id
    assert event[0]["changes"] == {"user_id": [None, str(me.user_id)]}
    found = [j for j in jobs.my_jobs(fast(w), me, w.day(0)) if j.booking_id == job]
    assert found[0].mine
    assert ledger_errors(w) == []
    # taken twice: it is mine already; by someone else: it is taken
    with pytest.raises(TimerError, match="already yours"):
        w.db.run(timers.take, me, job)
    with pytest.raises(NotAllowed, match="already assigned to Per Mekaniker"):
        w.db.run(timers.take, w["mechanic2_499"], job)


def test_take_without_room_names_the_nearest_day(w: World) -> None:
    tire_type(w, mechanic2_day0=2)
    job = book(w, 0, 4, None, code="TIRES")
    with pytest.raises(DoesNotFit) as refused:
        w.db.run(timers.take, w["mechanic2_499"], job)
    assert refused.value.nearest_day == w.day(1)
    assert "Pål Mekaniker has 2 h free on Mon 7 Jan; the booking needs 4 h." in str(refused.value)
    assert "Nearest day with room: Tue, 8 Jan 2030." in str(refused.value)
    assert booking(w, job)["user_id"] is None
    assert (capacity(w, "TIRES", 0, None), capacity(w, "TIRES", 0, "mechanic2_499")) == (4, 0)
    assert rows(w, Event, entity="resource_bookings", action="take") == []


def test_take_is_refused_for_the_wrong_kind_dealership_role_or_state(w: World) -> None:
    tire_type(w)
    job = book(w, 0, 1, None, code="TIRES")
    with pytest.raises(NotAllowed, match="Tire change is done by a mechanic; you are signed in"):
        w.db.run(timers.take, w["detailer499"], job)
    for login in ("coordinator499", "seller499"):
        with pytest.raises(NotAllowed, match="can take open jobs"):
            w.db.run(timers.take, w[login], job)
    w.db.run(
        users.create_user,
        None,
        login="mechanic400",
        display_name="Martin Mek",
        role="mechanic",
        dealership_id=w.d["400"],
    )
    stranger = w.db.query(users.trusted_actor, "mechanic400")
    with pytest.raises(NotAllowed, match="another dealership"):
        w.db.run(timers.take, stranger, job)
    with pytest.raises(NotFound):
        w.db.run(timers.take, w["mechanic499"], 9999)
    assert booking(w, job)["user_id"] is None
    # a cancelled job, and one somebody is already working on
    w.db.run(ledger.cancel, w["coordinator499"], job, reason="Not needed")
    with pytest.raises(TimerError, match="cancelled cannot be taken"):
        w.db.run(timers.take, w["mechanic499"], job)
    wash = book(w, 0, 1, None, code="WASH")
    w.db.run(timers.start, w["mechanic2_499"], wash)
    with pytest.raises(TimerError, match="start its clock to join in"):
        w.db.run(timers.take, w["mechanic499"], wash)
    # a detailer may take washing (no stage), but needs hours of their own for it
    other_wash = book(w, 0, 1, None, code="WASH")
    with pytest.raises(DoesNotFit, match="Dina Klargjør has no Vehicle Washing hours"):
        w.db.run(timers.take, w["detailer499"], other_wash)
    assert ledger_errors(w) == []


# ------------------------------------------------------------------------------------------------
# forgotten clocks
# ------------------------------------------------------------------------------------------------
def forgotten_clock(w: World, login: str = "mechanic499") -> int:
    job = book(w, 0, 4, login)
    return w.db.run(timers.start, w[login], job).id


def test_resolve_forgotten_at_the_end_of_the_shift(w: World) -> None:
    entry = forgotten_clock(w)
    at(hours=13)
    done = w.db.run(timers.resolve_forgotten, w["mechanic499"], entry, "shift_end")
    assert done.id == entry
    e = one(w, TimebankEntry, entry)
    assert (e["ended_at"], e["hours"]) == (T0 + timedelta(hours=10), 10)
    event = rows(w, Event, entity="timebank_entries", entity_id=str(entry), action="correct")
    assert len(event) == 1
    assert event[0]["changes"]["reason"] == "stopped at the end of the shift"
    assert event[0]["user_id"] == w["mechanic499"].user_id
    assert jobs.running_timer(fast(w), w["mechanic499"].user_id) is None
    # a shorter shift
    entry = w.db.run(timers.start, w["mechanic499"], one(w, TimebankEntry, entry)["booking_id"]).id
    at(hours=23)
    w.db.run(timers.resolve_forgotten, w["mechanic499"], entry, "shift_end", shift_hours=8)
    assert one(w, TimebankEntry, entry)["hours"] == 8


def test_resolve_forgotten_at_a_typed_time(w: World) -> None:
    entry = forgotten_clock(w)
    at(hours=12)
    me = w["mechanic499"]
    cases = [
        (None, Invalid, "Type the time you stopped"),
        (T0 - timedelta(minutes=5), Invalid, r"must be after the start \(Mon 7 Jan 07:00\)"),
        (T0, Invalid, "must be after the start"),
        (T0 + timedelta(hours=12, minutes=1), Invalid, "cannot be in the future"),
    ]
    for typed, error, message in cases:
        with pytest.raises(error, match=message) as refused:
            w.db.run(timers.resolve_forgotten, me, entry, "at", ended_at=typed)
        assert refused.value.field == "ended_at"
    assert one(w, TimebankEntry, entry)["ended_at"] is None
    # a naive time is the site's local time (UTC in these tests)
    typed = (T0 + timedelta(hours=9, minutes=30)).replace(tzinfo=None)
    w.db.run(timers.resolve_forgotten, me, entry, "at", ended_at=typed)
    e = one(w, TimebankEntry, entry)
    assert (e["ended_at"], e["hours"]) == (T0 + timedelta(hours=9, minutes=30), 9.5)
    event = rows(w, Event, entity="timebank_entries", entity_id=str(entry), action="correct")
    assert event[0]["changes"]["reason"] == "end time typed by Per Mekaniker"
    with pytest.raises(TimerError, match="already stopped"):
        w.db.run(timers.resolve_forgotten, me, entry, "shift_end")


def test_resolve_forgotten_keep_running(w: World) -> None:
    entry = forgotten_clock(w)
    me = w["mechanic499"]
    at(hours=5)
    with pytest.raises(TimerError, match="not past the shift"):
        w.db.run(timers.resolve_forgotten, me, entry, "keep")
    at(hours=11)
    running = jobs.running_timer(fast(w), me.user_id)
    assert running is not None and not running.kept
    w.db.run(timers.resolve_forgotten, me, entry, "keep")
    e = one(w, TimebankEntry, entry)
    assert (e["ended_at"], e["hours"]) == (None, None)
    event = rows(w, Event, entity="timebank_entries", entity_id=str(entry), action="keep")
    assert len(event) == 1 and event[0]["changes"]["running_hours"] == 11
    running = jobs.running_timer(fast(w), me.user_id)
    assert running is not None and running.kept
    with pytest.raises(Invalid, match="Choose") as refused:
        w.db.run(timers.resolve_forgotten, me, entry, "later")
    assert refused.value.field == "choice"
    with pytest.raises(NotAllowed, match="someone else's clock"):
        w.db.run(timers.resolve_forgotten, w["mechanic2_499"], entry, "shift_end")
    with pytest.raises(NotFound):
        w.db.run(timers.resolve_forgotten, me, 9999, "keep")
    assert one(w, TimebankEntry, entry)["ended_at"] is None


def test_flag_forgotten_notifies_once(w: World) -> None:
    car_id = inspected_car(w, license_plate="EL 55555")
    job = book(w, 0, 4, car_id=car_id)
    me = w["mechanic499"]
    entry = w.db.run(timers.start, me, job).id
    at(hours=9)
    assert w.db.run(timers.flag_forgotten, None, me.user_id, 10) is None
    assert notes_of(w, "timer_forgotten") == []
    at(hours=10, minutes=30)
    # the person's own screen notices: they are told too (it is no action of theirs)
    assert w.db.run(timers.flag_forgotten, me, me.user_id, 10).id == entry
    sent = notes_of(w, "timer_forgotten")
    assert {(u, p) for u, p, _ in sent} == {
        (me.user_id, "high"),
        (w["coordinator499"].user_id, "high"),
    }
    message = sent[0][2]
    assert message.startswith("Per Mekaniker's clock on Technical Preparation on BMW X5 EL 55555")
    assert "since Mon 7 Jan 07:00 (10.5 h)" in message and f"time entry #{entry}" in message
    assert all(n["car_id"] == car_id for n in rows(w, Notification, type="timer_forgotten"))
    # later looks, by anyone, flag it no more
    at(hours=12)
    assert w.db.run(timers.flag_forgotten, w["coordinator499"], me.user_id, 10).id == entry
    assert w.db.run(timers.flag_forgotten, None, me.user_id, 10).id == entry
    assert len(notes_of(w, "timer_forgotten")) == 2
    assert len(rows(w, Event, entity="timebank_entries", entity_id=str(entry), action="flag")) == 1
    running = jobs.running_timer(fast(w), me.user_id)
    assert running is not None and running.flagged
    # a new forgotten clock is flagged again
    w.db.run(timers.resolve_forgotten, me, entry, "shift_end")
    assert w.db.run(timers.flag_forgotten, None, me.user_id, 10) is None
    second = w.db.run(timers.start, me, job).id
    at(days=1, hours=2)
    assert w.db.run(timers.flag_forgotten, None, me.user_id, 10).id == second
    assert len(notes_of(w, "timer_forgotten")) == 4


# ------------------------------------------------------------------------------------------------
# the inspection checklist
# ------------------------------------------------------------------------------------------------
def record_all(w: World, car_id: int, login: str = "mechanic499", **findings: Any) -> None:
    """Every default item OK, except ``findings`` ({item name: (status, note)}) by index name."""
    for name in inspection.DEFAULT_CHECKLIST:
        status, note = findings.get(name, ("ok", None))
        w.db.run(inspection.record_item, w[login], car_id, name, status, note)


def test_the_checklist_lists_every_default_item_then_the_extra_ones(w: World) -> None:
    car_id = car_at(w)
    lines = w.db.query(inspection.checklist, w["mechanic499"], car_id)
    assert [line.item_name for line in lines] == list(inspection.DEFAULT_CHECKLIST)
    assert len(lines) >= 10 and all(line.status is None for line in lines)
    checked = at(minutes=5)
    me = w["mechanic499"]
    w.db.run(inspection.record_item, me, car_id, "Towbar", "ok")
    w.db.run(inspection.record_item, me, car_id, "  brake PADS and discs ", "issue", "Discs worn")
    lines = w.db.query(inspection.checklist, w["seller499"], car_id)  # the seller sees it too
    assert [line.item_name for line in lines] == [*inspection.DEFAULT_CHECKLIST, "Towbar"]
    brakes = lines[inspection.DEFAULT_CHECKLIST.index("Brake pads and discs")]
    assert (brakes.status, brakes.notes, brakes.checked_by, brakes.checked_at) == (
        "issue",
        "Discs worn",
        "Per Mekaniker",
        checked,
    )
    assert brakes.item_id is not None and brakes.finding
    assert lines[-1].status == "ok" and not lines[-1].finding
    with pytest.raises(NotFound):
        w.db.query(inspection.checklist, w["seller495"], car_id)


def test_record_item_moves_the_car_into_inspection_and_replaces_a_result(w: World) -> None:
    car_id = car_at(w)
    me = w["mechanic499"]
    item = w.db.run(inspection.record_item, me, car_id, "tire tread depth", "ok")
    assert one(w, Car, car_id)["status"] == "inspection"
    stored = one(w, InspectionChecklistItem, item.id)
    assert (stored["item_name"], stored["status"], stored["checked_by_id"]) == (
        "Tire tread depth",
        "ok",
        me.user_id,
    )
    moved = rows(w, Event, entity="cars", entity_id=str(car_id), action="status")
    assert moved[-1]["changes"]["status"] == ["at_prep_center", "inspection"]
    at(minutes=20)
    again = w.db.run(
        inspection.record_item, w["coordinator499"], car_id, "Tire tread depth", "critical", "2 mm"
    )
    assert again.id == item.id
    assert len(rows(w, InspectionChecklistItem, car_id=car_id)) == 1
    stored = one(w, InspectionChecklistItem, item.id)
    assert (stored["status"], stored["notes"], stored["checked_by_id"]) == (
        "critical",
        "2 mm",
        w["coordinator499"].user_id,
    )
    recorded = rows(w, Event, entity="inspection_checklist_items", entity_id=str(item.id))
    assert [e["action"] for e in recorded] == ["record", "recheck"]
    assert recorded[1]["changes"]["status"] == ["ok", "critical"]
    assert recorded[1]["changes"]["notes"] == [None, "2 mm"]


def test_record_item_refusals(w: World) -> None:
    car_id = car_at(w, "inspection")
    me = w["mechanic499"]
    for status in ("issue", "critical"):
        with pytest.raises(Invalid, match="Say what is wrong") as refused:
            w.db.run(inspection.record_item, me, car_id, "Oil level", status, "  ")
        assert refused.value.field == "notes"
    with pytest.raises(Invalid) as refused:
        w.db.run(inspection.record_item, me, car_id, "Oil level", "fine")
    assert refused.value.field == "status"
    with pytest.raises(Invalid) as refused:
        w.db.run(inspection.record_item, me, car_id, " ", "ok")
    assert refused.value.field == "item_name"
    for login in ("detailer499", "seller499"):
        with pytest.raises(NotAllowed, match="can record inspections"):
            w.db.run(inspection.record_item, w[login], car_id, "Oil level", "ok")
    # the selling side does not record the prep center's inspection
    own = car_at(w, "inspection", seller="seller495")
    with pytest.raises(NotAllowed, match="Only the prep center of this car"):
        w.db.run(inspection.record_item, w["coordinator495"], own, "Oil level", "ok")
    registered = w.register("seller499")
    with pytest.raises(WorkflowRefused, match="“Registered”; the checklist is filled in"):
        w.db.run(inspection.record_item, me, registered, "Oil level", "ok")
    assert rows(w, InspectionChecklistItem) == []


def test_finish_needs_every_item_and_a_critical_one_dealt_with(w: World) -> None:
    car_id = car_at(w)
    me = w["mechanic499"]
    with pytest.raises(WorkflowRefused, match="finished while the car is in inspection"):
        w.db.run(inspection.finish_inspection, me, car_id, approved=True)
    w.db.run(inspection.record_item, me, car_id, "Tire tread depth", "ok")
    with pytest.raises(Invalid) as refused:
        w.db.run(inspection.finish_inspection, me, car_id, approved=True)
    left = inspection.DEFAULT_CHECKLIST[1:]
    assert str(refused.value) == "Check these items first: " + ", ".join(left) + "."
    record_all(
        w,
        car_id,
        **{
            "Brake pads and discs": ("critical", "Front discs below the limit"),
            "Wipers and washer fluid": ("issue", "Streaks"),
        },
    )
    with pytest.raises(Invalid, match=r"Critical: Brake pads and discs\. Fix it"):
        w.db.run(inspection.finish_inspection, me, car_id, approved=True)
    assert one(w, Car, car_id)["inspection_completed_at"] is None

    # failed: the seller hears (medium), the prep center's coordinators too (high)
    failed_at = at(minutes=40)
    w.db.run(inspection.finish_inspection, me, car_id, approved=False)
    car = one(w, Car, car_id)
    assert (car["inspection_approved"], car["inspection_completed_at"]) == (False, failed_at)
    assert car["inspection_notes"] == (
        "Critical: Brake pads and discs — Front discs below the limit\n"
        "Issue: Wipers and washer fluid — Streaks"
    )
    assert car["status"] == "inspection"
    sent = notes_of(w, "inspection_done", car_id=car_id)
    assert [(u, p) for u, p, _ in sent] == [
        (w["seller499"].user_id, "medium"),
        (w["coordinator499"].user_id, "high"),
    ]
    assert all("critical: Brake pads and discs" in m for _, _, m in sent)
    assert sent[0][2].startswith("Inspection failed: BMW X5")
    event = rows(w, Event, entity="cars", entity_id=str(car_id), action="inspection")
    assert event[-1]["changes"]["inspection_approved"] == [None, False]

    # the discs replaced: checked again as OK, the inspection passes
    w.db.run(inspection.record_item, me, car_id, "Brake pads and discs", "ok")
    passed_at = at(hours=2)
    w.db.run(inspection.finish_inspection, me, car_id, approved=True, notes="  All good now ")
    car = one(w, Car, car_id)
    assert (car["inspection_approved"], car["inspection_completed_at"]) == (True, passed_at)
    assert car["inspection_notes"] == "All good now"
    sent = notes_of(w, "inspection_done", car_id=car_id)
    assert len(sent) == 3
    assert sent[-1][:2] == (w["seller499"].user_id, "medium")
    assert sent[-1][2].startswith("Inspection passed") and "Wipers and washer fluid" in sent[-1][2]
    # who may finish
    with pytest.raises(NotAllowed):
        w.db.run(inspection.finish_inspection, w["seller499"], car_id, approved=True)


def test_approved_with_technical_work_booked_moves_the_car_on(w: World) -> None:
    car_id = car_at(w, "inspection")
    job = book(w, 0, 4, car_id=car_id)  # booked before the result: the car waits in inspection
    assert one(w, Car, car_id)["status"] == "inspection"
    record_all(w, car_id)
    w.db.run(inspection.finish_inspection, w["mechanic499"], car_id, approved=True)
    assert one(w, Car, car_id)["status"] == "technical_prep"
    assert booking(w, job)["status"] == "scheduled"
    # a car without technical work stays in inspection
    other = car_at(w, "inspection")
    record_all(w, other)
    w.db.run(inspection.finish_inspection, w["mechanic499"], other, approved=True)
    assert one(w, Car, other)["status"] == "inspection"


def test_rest_ok_records_only_what_is_left(w: World) -> None:
    car_id = car_at(w)
    me = w["mechanic499"]
    names = inspection.DEFAULT_CHECKLIST
    w.db.run(inspection.record_item, me, car_id, names[2], "issue", "Discs worn")
    done = w.db.run(inspection.record_rest_ok, me, car_id)
    assert sorted(i.item_name for i in done) == sorted(n for n in names if n != names[2])
    lines = w.db.query(inspection.checklist, me, car_id)
    assert [line.status for line in lines].count("ok") == len(names) - 1
    assert lines[2].status == "issue"
    assert w.db.run(inspection.record_rest_ok, me, car_id) == []  # nothing left
    assert one(w, Car, car_id)["status"] == "inspection"
    with pytest.raises(NotAllowed):
        w.db.run(inspection.record_rest_ok, w["seller499"], car_id)


def inspection_type(w: World) -> int:
    """The demo's arrival inspection: work without a stage, no person needed, 8 h a day."""
    rt = w.db.run(
        admin.save_resource_type,
        None,
        code="INSPECTION",
        name="Arrival Inspection",
        requires_assignment=False,
        default_duration_hours=1,
    ).id
    w.rt["INSPECTION"] = rt
    for offset in (0, 1):
        w.db.run(
            set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            resource_type_id=rt,
            date=w.day(offset),
            allocated_hours=8,
        )
    return rt


@pytest.mark.parametrize("approved", [True, False])
def test_finishing_the_inspection_completes_its_booked_inspection_work(
    w: World, approved: bool
) -> None:
    inspection_type(w)
    me = w["mechanic499"]
    car_id = car_at(w)
    other = car_at(w)
    job = book(w, 0, 1, None, code="INSPECTION", car_id=car_id)
    second = book(w, 1, 1, None, code="INSPECTION", car_id=car_id)  # booked twice: both done
    elsewhere = book(w, 0, 1, None, code="INSPECTION", car_id=other)
    technical = book(w, 1, 2, car_id=car_id)
    w.db.run(timers.start, me, job)
    at(minutes=45)
    record_all(w, car_id)
    w.db.run(inspection.finish_inspection, me, car_id, approved=approved)
    for done in (job, second):
        b = booking(w, done)
        assert (b["status"], b["completed_at"] is not None) == ("completed", True)
    assert booking(w, job)["actual_hours"] == 0.75
    assert booking(w, second)["actual_hours"] == 0
    assert jobs.running_timer(fast(w), me.user_id) is None
    assert booking(w, elsewhere)["status"] == "scheduled"
    assert booking(w, technical)["status"] in ("scheduled", "confirmed")
    assert {j.booking_id for j in jobs.my_jobs(fast(w), me, w.day(0), days=2)}.isdisjoint(
        {job, second}
    )
    events = rows(w, Event, entity="resource_bookings", entity_id=str(job), action="complete")
    assert events and events[0]["changes"]["reason"] == "inspection finished"
    assert ledger_errors(w) == []


def test_which_work_is_the_inspection() -> None:
    assert inspection.is_inspection_work("INSPECTION", "Arrival Inspection", None)
    assert inspection.is_inspection_work("ARRIVAL", "Arrival inspection", None)
    assert not inspection.is_inspection_work("WASH", "Vehicle Washing", None)
    assert not inspection.is_inspection_work("PDI", "Pre-delivery inspection", "technical")


def test_issue_to_parts(w: World) -> None:
    car_id = car_at(w)
    me = w["mechanic499"]
    record_all(w, car_id, **{"Battery / 12 V": ("critical", "Does not hold charge")})
    items = {i["item_name"]: i for i in rows(w, InspectionChecklistItem, car_id=car_id)}
    battery = items["Battery / 12 V"]["id"]
    with pytest.raises(Invalid, match="Oil level is OK"):
        w.db.run(inspection.issue_to_parts, me, items["Oil level"]["id"])
    with pytest.raises(Invalid, match="Critical: Battery / 12 V"):
        w.db.run(inspection.finish_inspection, me, car_id, approved=True)
    order = w.db.run(inspection.issue_to_parts, me, battery)
    o = one(w, PartsOrder, order.id)
    assert (o["car_id"], o["part_name"], o["notes"], o["ordered_by"], o["status"]) == (
        car_id,
        "Battery / 12 V",
        "Does not hold charge",
        "prep_center",
        "ordered",
    )
    assert one(w, Car, car_id)["parts_ordered_prep_at"] == T0
    event = rows(w, Event, entity="inspection_checklist_items", entity_id=str(battery))[-1]
    assert (event["action"], event["changes"]["parts_order_id"]) == ("to_parts", order.id)
    named = w.db.run(inspection.issue_to_parts, me, battery, part_name="AGM battery 70 Ah")
    assert one(w, PartsOrder, named.id)["part_name"] == "AGM battery 70 Ah"
    # with parts on order the critical finding is dealt with: the inspection can pass
    w.db.run(inspection.finish_inspection, me, car_id, approved=True)
    assert one(w, Car, car_id)["inspection_approved"] is True
    # cancelled orders do not count
    other = car_at(w)
    record_all(w, other, **{"Coolant level": ("critical", "Leak at the pump")})
    coolant = rows(w, InspectionChecklistItem, car_id=other, item_name="Coolant level")[0]["id"]
    cancelled = w.db.run(inspection.issue_to_parts, w["coordinator499"], coolant)
    w.db.run(parts.set_part_status, me, cancelled.id, "cancelled")
    with pytest.raises(Invalid, match="Critical: Coolant level"):
        w.db.run(inspection.finish_inspection, me, other, approved=True)
    with pytest.raises(NotAllowed):
        w.db.run(inspection.issue_to_parts, w["detailer499"], coolant)
    with pytest.raises(NotFound, match="Checklist item #9999"):
        w.db.run(inspection.issue_to_parts, me, 9999)


def test_issue_to_booking(w: World) -> None:
    car_id = car_at(w)
    me = w["mechanic499"]
    record_all(w, car_id, **{"Lights and indicators": ("critical", "Left indicator dead")})
    item = rows(w, InspectionChecklistItem, car_id=car_id, item_name="Lights and indicators")
    lights = item[0]["id"]
    book(w, 0, 7)  # Per has 1 h left today
    extra = w.db.run(inspection.issue_to_booking, me, lights, hours="1.5")
    b = booking(w, extra.id)
    assert (b["car_id"], b["resource_type_id"], b["user_id"], b["date"]) == (
        car_id,
        w.rt["TECH_PREP"],
        me.user_id,
        w.day(1),
    )
    assert (b["estimated_hours"], b["status"], b["provider_dealership_id"]) == (
        1.5,
        "scheduled",
        w.d["499"],
    )
    assert b["notes"] == (
        "Extra work from the inspection: Lights and indicators (critical): Left indicator dead"
    )
    assert capacity(w, "TECH_PREP", 1, "mechanic499") == 1.5
    assert (
        rows(w, Event, entity="resource_bookings", entity_id=str(extra.id))[0]["action"] == "book"
    )
    event = rows(w, Event, entity="inspection_checklist_items", entity_id=str(lights))[-1]
    assert (event["action"], event["changes"]["booking_id"]) == ("to_booking", extra.id)
    # with the repair booked the critical finding is dealt with
    w.db.run(inspection.finish_inspection, me, car_id, approved=True)
    assert one(w, Car, car_id)["status"] == "technical_prep"  # the booked work moves it on
    # an hour fits today
    today = w.db.run(inspection.issue_to_booking, me, lights, hours=1)
    assert booking(w, today.id)["date"] == w.day(0)
    assert ledger_errors(w) == []


def test_issue_to_booking_refusals(w: World) -> None:
    car_id = car_at(w)
    record_all(w, car_id, **{"Oil level": ("issue", "Low")})
    oil = rows(w, InspectionChecklistItem, car_id=car_id, item_name="Oil level")[0]["id"]
    fine = rows(w, InspectionChecklistItem, car_id=car_id, item_name="Coolant level")[0]["id"]
    coordinator = w["coordinator499"]
    with pytest.raises(Invalid, match="needs a person") as refused:
        w.db.run(inspection.issue_to_booking, coordinator, oil, hours=1)
    assert refused.value.field == "user_id"
    done = w.db.run(
        inspection.issue_to_booking, coordinator, oil, hours=1, user_id=w["mechanic2_499"].user_id
    )
    assert booking(w, done.id)["user_id"] == w["mechanic2_499"].user_id
    with pytest.raises(NotAllowed, match="can book extra work from an inspection"):
        w.db.run(inspection.issue_to_booking, w["seller499"], oil, hours=1)
    with pytest.raises(Invalid, match="Coolant level is OK"):
        w.db.run(inspection.issue_to_booking, w["mechanic499"], fine, hours=1)
    with pytest.raises(Invalid, match="quarter hours") as refused:
        w.db.run(inspection.issue_to_booking, w["mechanic499"], oil, hours="1.1")
    assert refused.value.field == "hours"
    # no room on any day: the ledger's refusal
    for day in range(3):
        book(w, day, 8)
    with pytest.raises(DoesNotFit, match="Per Mekaniker has 0 h free on Mon 7 Jan"):
        w.db.run(inspection.issue_to_booking, w["mechanic499"], oil, hours=1)
    # a detailer books cosmetic work for themselves
    polish = w.db.run(inspection.issue_to_booking, w["detailer499"], oil, hours=2)
    b = booking(w, polish.id)
    assert (b["resource_type_id"], b["user_id"]) == (w.rt["COSMETIC"], w["detailer499"].user_id)
    assert ledger_errors(w) == []


# ------------------------------------------------------------------------------------------------
# the time bank
# ------------------------------------------------------------------------------------------------
def clocked_week(w: World) -> dict[str, int]:
    """Per (mechanic499): Technical 2.5 h clocked of 4 h booked on day 0, washing 0.75 h (not
    productive, an open job), Technical 1.25 h of 3 h on day 1; a cancelled 2 h booking.
    Pål (mechanic2_499): Technical 1.5 h of 2 h on day 0, and a running wash (not counted)."""
    per, pal = w["mechanic499"], w["mechanic2_499"]
    tech0 = book(w, 0, 4)
    tech1 = book(w, 1, 3)
    cancelled = book(w, 0, 2)
    w.db.run(ledger.cancel, w["coordinator499"], cancelled, reason="Not needed")
    pal_tech = book(w, 0, 2, "mechanic2_499")
    wash = book(w, 0, 1, None, code="WASH")
    w.db.run(timers.start, per, tech0)
    at(hours=2, minutes=30)
    w.db.run(timers.start, per, wash)
    at(hours=3, minutes=15)
    w.db.run(timers.stop, per)
    w.db.run(timers.start, pal, pal_tech)
    at(hours=4, minutes=45)
    w.db.run(timers.start, pal, wash)  # stops the 1.5 h, the wash keeps running
    at(days=1, hours=1)
    w.db.run(timers.start, per, tech1)
    at(days=1, hours=2, minutes=15)
    w.db.run(timers.stop, per)
    return {"tech0": tech0, "tech1": tech1, "wash": wash}


def test_hours_per_person_day_and_work(w: World) -> None:
    clocked_week(w)
    per, pal = str(w["mechanic499"].user_id), str(w["mechanic2_499"].user_id)
    tech, wash = w.rt["TECH_PREP"], w.rt["WASH"]
    found = timebank.hours(fast(w), w["coordinator499"], w.day(0), w.day(6))
    assert found == [
        timebank.HoursRow(
            per, "Per Mekaniker", w.day(0), tech, "Technical Preparation", True, 2.5, 4
        ),
        timebank.HoursRow(per, "Per Mekaniker", w.day(0), wash, "Vehicle Washing", False, 0.75, 0),
        timebank.HoursRow(
            per, "Per Mekaniker", w.day(1), tech, "Technical Preparation", True, 1.25, 3
        ),
        timebank.HoursRow(
            pal, "Pål Mekaniker", w.day(0), tech, "Technical Preparation", True, 1.5, 2
        ),
    ]
    # the period: day 1 only
    assert [
        (r.person, r.day) for r in timebank.hours(fast(w), w["manager499"], w.day(1), w.day(1))
    ] == [("Per Mekaniker", w.day(1))]
    # a mechanic sees themselves only, whatever they ask for
    mine = timebank.hours(fast(w), w["mechanic2_499"], w.day(0), w.day(6))
    assert [(r.user_id, r.clocked) for r in mine] == [(pal, 1.5)]
    assert timebank.hours(fast(w), w["mechanic2_499"], w.day(0), w.day(6), [per]) == []
    # a coordinator may pick people
    picked = timebank.hours(fast(w), w["coordinator499"], w.day(0), w.day(6), [pal])
    assert [r.user_id for r in picked] == [pal]
    # another group's manager sees none of 499's people; an admin sees all
    assert timebank.hours(fast(w), w["manager400"], w.day(0), w.day(6)) == []
    assert timebank.hours(fast(w), w["admin"], w.day(0), w.day(6)) == found
    assert timebank.hours(fast(w), w["coordinator499"], w.day(6), w.day(0)) == []


def test_summary_and_the_payroll_csv(w: World, tmp_path: Any) -> None:
    clocked_week(w)
    found = timebank.hours(fast(w), w["coordinator499"], w.day(0), w.day(6))
    totals = timebank.summary(found)
    per, pal = str(w["mechanic499"].user_id), str(w["mechanic2_499"].user_id)
    assert totals == {
        "Per Mekaniker": {
            "user_id": per,
            "clocked": 4.5,
            "productive": 3.75,
            "estimated": 7,
            "productivity": 0.8333,
        },
        "Pål Mekaniker": {
            "user_id": pal,
            "clocked": 1.5,
            "productive": 1.5,
            "estimated": 2,
            "productivity": 1.0,
        },
    }
    assert list(totals) == ["Per Mekaniker", "Pål Mekaniker"]
    assert timebank.summary([]) == {}
    # nothing clocked: no productivity; two people of one name are both there
    planned = timebank.HoursRow(
        "a", "Per Mekaniker", w.day(0), 1, "Technical Preparation", True, 0, 3
    )
    twin = timebank.HoursRow("b", "Per Mekaniker", w.day(0), 1, "Technical Preparation", True, 2, 2)
    assert timebank.summary([planned, twin]) == {
        "Per Mekaniker": {
            "user_id": "a",
            "clocked": 0,
            "productive": 0,
            "estimated": 3,
            "productivity": None,
        },
        "Per Mekaniker (2)": {
            "user_id": "b",
            "clocked": 2,
            "productive": 2,
            "estimated": 2,
            "productivity": 1.0,
        },
    }

    buffer = io.StringIO()
    assert timebank.write_csv(found, buffer) == 4
    lines = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert lines == [
        ["person", "date", "work", "productive", "clocked_hours", "estimated_hours"],
        ["Per Mekaniker", "2030-01-07", "Technical Preparation", "yes", "2.50", "4.00"],
        ["Per Mekaniker", "2030-01-07", "Vehicle Washing", "no", "0.75", "0.00"],
        ["Per Mekaniker", "2030-01-08", "Technical Preparation", "yes", "1.25", "3.00"],
        ["Pål Mekaniker", "2030-01-07", "Technical Preparation", "yes", "1.50", "2.00"],
    ]
    path = tmp_path / "payroll.csv"
    assert timebank.write_csv(found, path) == 4
    assert path.read_bytes().decode("utf-8") == buffer.getvalue()
    assert timebank.write_csv([], str(tmp_path / "empty.csv")) == 0
    assert (tmp_path / "empty.csv").read_text().strip() == ",".join(timebank.CSV_COLUMNS)
