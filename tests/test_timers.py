"""Clocking (db/timers.py) on SQLite and PostgreSQL: one running timer per person, start/stop/
complete with the hours they compute, the car stamps and moves that follow, forgotten timers and
their corrections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db import clock, doctor, ledger, ledger_rows, timers, workflow
from db.errors import Invalid, NotAllowed, NotFound, TimerError
from db.models import Car, Event, Notification, ResourceBooking, TimebankEntry
from world import T0, World, at, frozen_world, rows, set_fields


@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    with frozen_world(db, days=2) as world:
        yield world


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def one(w: World, model: type, id_: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(model, id_).model_dump())


def running_of(w: World, login: str) -> list[dict[str, Any]]:
    return rows(w, TimebankEntry, user_id=w[login].user_id, ended_at=None)


def inspected_car(w: World) -> int:
    """A car of 499 at inspection, inspected and approved."""
    car_id = w.register("seller499")
    for step in ("in_transit", "at_prep_center", "inspection"):
        w.db.run(workflow.move_car, w["admin"], car_id, step)
    set_fields(w, car_id, inspection_completed_at=clock.utcnow(), inspection_approved=True)
    return car_id


def book(
    w: World,
    person: str | None = "mechanic499",
    *,
    code: str = "TECH_PREP",
    hours: float = 4,
    car_id: int | None = None,
) -> int:
    return w.db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt[code],
        date=w.day(0),
        estimated_hours=hours,
        user_id=w[person].user_id if person else None,
        car_id=car_id,
    ).id


def tech_job(w: World, person: str = "mechanic499") -> tuple[int, int]:
    """A car in technical prep and its technical booking for ``person``."""
    car_id = inspected_car(w)
    booking_id = book(w, person, car_id=car_id)
    assert one(w, Car, car_id)["status"] == "technical_prep"
    return car_id, booking_id


def errors(w: World) -> list[str]:
    return [f.message for f in w.db.query(doctor.run_checks) if f.level == "error"]


# ------------------------------------------------------------------------------------------------
# start and stop
# ------------------------------------------------------------------------------------------------
def test_start_sets_the_booking_in_progress_and_stamps_the_car(w: World) -> None:
    car_id, booking_id = tech_job(w)
    moment = at(minutes=5)
    entry = w.db.run(timers.start, w["mechanic499"], booking_id)
    e = one(w, TimebankEntry, entry.id)
    assert (e["started_at"], e["ended_at"], e["hours"]) == (moment, None, None)
    assert (e["booking_id"], e["resource_type_id"], e["date"]) == (
        booking_id,
        w.rt["TECH_PREP"],
        w.day(0),
    )
    assert e["user_id"] == w["mechanic499"].user_id
    assert one(w, ResourceBooking, booking_id)["status"] == "in_progress"
    car = one(w, Car, car_id)
    assert car["technical_started_at"] == moment
    assert car["cosmetic_started_at"] is None
    actions = {(e["entity"], e["action"]) for e in rows(w, Event, car_id=car_id)}
    assert {("timebank_entries", "start"), ("resource_bookings", "start")} <= actions
    # a second start later keeps the first start of the car's technical work
    at(hours=1)
    w.db.run(timers.stop, w["mechanic499"])
    at(hours=2)
    w.db.run(timers.start, w["mechanic499"], booking_id)
    assert one(w, Car, car_id)["technical_started_at"] == moment
    assert len(rows(w, TimebankEntry, booking_id=booking_id)) == 2


def test_starting_another_job_stops_the_running_one(w: World) -> None:
    _, first = tech_job(w)
    wash = book(w, None, code="WASH", hours=1)
    at(minutes=0)
    a = w.db.run(timers.start, w["mechanic499"], first).id
    switched = at(hours=1, minutes=15)
    b = w.db.run(timers.start, w["mechanic499"], wash).id
    entry_a, entry_b = one(w, TimebankEntry, a), one(w, TimebankEntry, b)
    assert (entry_a["ended_at"], entry_a["hours"]) == (switched, 1.25)
    assert (entry_b["started_at"], entry_b["ended_at"]) == (switched, None)
    assert [r["id"] for r in running_of(w, "mechanic499")] == [b]
    stop = rows(w, Event, entity="timebank_entries", entity_id=str(a), action="stop")
    assert stop and stop[0]["changes"]["hours"] == [None, 1.25]
    # the first job stays in progress: the mechanic will come back to it
    assert one(w, ResourceBooking, first)["status"] == "in_progress"
    with pytest.raises(TimerError, match="already running"):
        w.db.run(timers.start, w["mechanic499"], wash)
    # another person runs their own clock at the same time
    w.db.run(timers.start, w["mechanic2_499"], wash)
    assert len(running_of(w, "mechanic2_499")) == 1
    assert len(running_of(w, "mechanic499")) == 1


def test_a_refused_start_leaves_the_running_timer_alone(w: World) -> None:
    _, mine = tech_job(w)
    _, theirs = tech_job(w, "mechanic2_499")
    entry = w.db.run(timers.start, w["mechanic499"], mine).id
    at(hours=1)
    with pytest.raises(NotAllowed, match="assigned to someone else"):
        w.db.run(timers.start, w["mechanic499"], theirs)
    assert [r["id"] for r in running_of(w, "mechanic499")] == [entry]
    assert one(w, ResourceBooking, theirs)["status"] == "scheduled"


def test_stop_computes_the_hours(w: World) -> None:
    _, booking_id = tech_job(w)
    w.db.run(timers.start, w["mechanic499"], booking_id)
    end = at(hours=2, minutes=30)
    entry = w.db.run(timers.stop, w["mechanic499"])
    e = one(w, TimebankEntry, entry.id)
    assert (e["ended_at"], e["hours"]) == (end, 2.5)
    assert running_of(w, "mechanic499") == []
    with pytest.raises(TimerError, match="No clock is running"):
        w.db.run(timers.stop, w["mechanic499"])


# ------------------------------------------------------------------------------------------------
# complete
# ------------------------------------------------------------------------------------------------
def test_complete_sums_the_entries_and_moves_the_car_to_delivery(w: World) -> None:
    car_id, tech = tech_job(w)
    cosmetic = book(w, "detailer499", code="COSMETIC", hours=2, car_id=car_id)
    at(hours=0)
    w.db.run(timers.start, w["mechanic499"], tech)
    at(hours=1)
    w.db.run(timers.stop, w["mechanic499"])
    at(hours=2)
    w.db.run(timers.start, w["mechanic499"], tech)
    done = at(hours=3, minutes=30)
    w.db.run(timers.complete, w["mechanic499"], tech, notes="Replaced wiper blades")
    b = one(w, ResourceBooking, tech)
    assert (b["status"], b["actual_hours"], b["completed_at"]) == ("completed", 2.5, done)
    assert b["notes"] == "Replaced wiper blades"
    assert running_of(w, "mechanic499") == []
    car = one(w, Car, car_id)
    assert car["status"] == "cosmetic_prep"
    assert car["technical_completed_at"] == done
    assert car["technical_notes"] == "Replaced wiper blades"
    # the ledger keeps holding the estimated hours of completed work
    assert w.db.query(
        lambda s: ledger_rows.capacity_row(s, w.d["499"], w.rt["TECH_PREP"], w.day(0))
    )
    started = at(hours=4)
    w.db.run(timers.start, w["detailer499"], cosmetic)
    finished = at(hours=5, minutes=45)
    w.db.run(timers.complete, w["detailer499"], cosmetic)
    car = one(w, Car, car_id)
    assert car["status"] == "ready_for_delivery"
    assert car["cosmetic_started_at"] == started
    assert car["cosmetic_completed_at"] == finished
    assert car["ready_for_delivery_at"] == finished
    assert one(w, ResourceBooking, cosmetic)["actual_hours"] == 1.75
    ready = rows(w, Notification, car_id=car_id, type="ready_for_delivery")
    assert [(n["user_id"], n["priority"]) for n in ready] == [(w["seller499"].user_id, "high")]
    assert errors(w) == []


def test_the_car_waits_for_all_technical_jobs(w: World) -> None:
    car_id, first = tech_job(w)
    second = book(w, "mechanic2_499", car_id=car_id, hours=2)
    w.db.run(timers.start, w["mechanic499"], first)
    at(hours=1)
    w.db.run(timers.complete, w["mechanic499"], first)
    car = one(w, Car, car_id)
    assert (car["status"], car["technical_completed_at"]) == ("technical_prep", None)
    w.db.run(timers.start, w["mechanic2_499"], second)
    done = at(hours=2)
    w.db.run(timers.complete, w["mechanic2_499"], second)
    car = one(w, Car, car_id)
    assert (car["status"], car["technical_completed_at"]) == ("cosmetic_prep", done)


def test_complete_without_a_clock_gives_zero_hours(w: World) -> None:
    _, booking_id = tech_job(w)
    w.db.run(timers.complete, w["mechanic499"], booking_id)
    b = one(w, ResourceBooking, booking_id)
    assert (b["status"], b["actual_hours"]) == ("completed", 0)
    with pytest.raises(TimerError, match="completed cannot be started"):
        w.db.run(timers.start, w["mechanic499"], booking_id)
    with pytest.raises(TimerError, match="completed cannot be started"):
        w.db.run(timers.complete, w["mechanic499"], booking_id)


def test_completing_a_shared_job_stops_every_clock_on_it(w: World) -> None:
    """Two people wash one car; when one completes the job, the other's clock stops with it and
    the job's actual hours are the sum of both."""
    wash = book(w, None, code="WASH", hours=2)
    w.db.run(timers.start, w["mechanic499"], wash)
    at(minutes=30)
    w.db.run(timers.start, w["mechanic2_499"], wash)
    done = at(hours=1)
    w.db.run(timers.complete, w["mechanic499"], wash)
    assert running_of(w, "mechanic2_499") == []
    other = rows(w, TimebankEntry, user_id=w["mechanic2_499"].user_id)[0]
    assert (other["ended_at"], other["hours"]) == (done, 0.5)
    assert one(w, ResourceBooking, wash)["actual_hours"] == 1.5
    at(hours=2)
    with pytest.raises(TimerError):
        w.db.run(timers.stop, w["mechanic2_499"])
    assert errors(w) == []


# ------------------------------------------------------------------------------------------------
# who may clock what
# ------------------------------------------------------------------------------------------------
def test_someone_elses_job_is_refused(w: World) -> None:
    _, booking_id = tech_job(w)
    for login in ("mechanic2_499", "coordinator499", "detailer499"):
        with pytest.raises(NotAllowed, match="assigned to someone else"):
            w.db.run(timers.start, w[login], booking_id)
        with pytest.raises(NotAllowed, match="assigned to someone else"):
            w.db.run(timers.complete, w[login], booking_id)
    with pytest.raises(NotAllowed) as refused:
        w.db.run(timers.start, w["seller499"], booking_id)
    assert str(refused.value) == (
        "Only a coordinator, mechanic, detailer or admin can clock work; "
        "you are signed in as seller."
    )
    with pytest.raises(NotFound, match="Job #9999 does not exist"):
        w.db.run(timers.start, w["mechanic499"], 9999)
    assert rows(w, TimebankEntry) == []
    assert one(w, ResourceBooking, booking_id)["status"] == "scheduled"


def test_a_job_at_another_dealership_is_refused(w: World) -> None:
    wash = book(w, None, code="WASH", hours=1)
    with pytest.raises(NotAllowed, match="another dealership"):
        w.db.run(timers.start, w["coordinator495"], wash)
    assert rows(w, TimebankEntry) == []


def test_a_cancelled_job_cannot_be_started(w: World) -> None:
    _, booking_id = tech_job(w)
    w.db.run(ledger.cancel, w["coordinator499"], booking_id, reason="Customer cancelled")
    with pytest.raises(TimerError, match="cancelled cannot be started"):
        w.db.run(timers.start, w["mechanic499"], booking_id)


def test_waiting_on_parts_blocks_technical_work_only(w: World) -> None:
    car_id, tech = tech_job(w)
    wash = book(w, None, code="WASH", hours=1, car_id=car_id)
    set_fields(w, car_id, parts_ordered_prep_at=T0)
    with pytest.raises(TimerError) as refused:
        w.db.run(timers.start, w["mechanic499"], tech)
    assert str(refused.value) == (
        "The car is still waiting for parts ordered by the prep center. "
        "Start when the parts are in."
    )
    assert rows(w, TimebankEntry) == []
    assert one(w, Car, car_id)["technical_started_at"] is None
    w.db.run(timers.start, w["mechanic499"], wash)  # washing does not wait for parts
    set_fields(w, car_id, parts_arrived_prep_at=at(hours=1))
    w.db.run(timers.start, w["mechanic499"], tech)
    assert one(w, ResourceBooking, tech)["status"] == "in_progress"


# ------------------------------------------------------------------------------------------------
# forgotten timers and corrections
# ------------------------------------------------------------------------------------------------
def test_forgotten_after_the_shift(w: World) -> None:
    _, booking_id = tech_job(w)
    entry = w.db.run(timers.start, w["mechanic499"], booking_id).id
    user = w["mechanic499"].user_id
    at(hours=10)
    assert w.db.query(timers.forgotten, user) is None  # exactly a shift is not yet forgotten
    at(hours=10, minutes=1)
    assert w.db.query(timers.forgotten, user).id == entry
    at(hours=9)
    assert w.db.query(timers.forgotten, user, shift_hours=8).id == entry
    assert w.db.query(timers.forgotten, w["mechanic2_499"].user_id) is None
    w.db.run(timers.stop, w["mechanic499"])
    at(hours=30)
    assert w.db.query(timers.forgotten, user) is None


def test_correct_a_forgotten_timer_needs_a_reason_and_writes_an_event(w: World) -> None:
    _, booking_id = tech_job(w)
    entry = w.db.run(timers.start, w["mechanic499"], booking_id).id
    at(hours=14)
    for reason in ("", "  "):
        with pytest.raises(Invalid, match="Say why") as refused:
            w.db.run(
                timers.correct,
                w["coordinator499"],
                entry,
                ended_at=T0 + timedelta(hours=8),
                reason=reason,
            )
        assert refused.value.field == "reason"
    with pytest.raises(Invalid, match="cannot be in the future") as refused:
        w.db.run(
            timers.correct,
            w["coordinator499"],
            entry,
            ended_at=T0 + timedelta(hours=15),
            reason="Forgot to stop",
        )
    assert refused.value.field == "ended_at"
    with pytest.raises(Invalid, match="cannot be before the start"):
        w.db.run(
            timers.correct,
            w["coordinator499"],
            entry,
            ended_at=T0 - timedelta(minutes=1),
            reason="Forgot to stop",
        )
    assert len(running_of(w, "mechanic499")) == 1
    w.db.run(
        timers.correct,
        w["coordinator499"],
        entry,
        ended_at=T0 + timedelta(hours=8),
        reason="Forgot to stop",
    )
    e = one(w, TimebankEntry, entry)
    assert (e["ended_at"], e["hours"]) == (T0 + timedelta(hours=8), 8)
    assert running_of(w, "mechanic499") == []
    event = rows(w, Event, entity="timebank_entries", entity_id=str(entry), action="correct")
    assert len(event) == 1
    assert event[0]["changes"]["reason"] == "Forgot to stop"
    assert event[0]["changes"]["hours"] == [None, 8]
    assert event[0]["user_id"] == w["coordinator499"].user_id


def test_correct_recomputes_a_completed_jobs_actual_hours(w: World) -> None:
    _, booking_id = tech_job(w)
    entry = w.db.run(timers.start, w["mechanic499"], booking_id).id
    at(hours=3)
    w.db.run(timers.complete, w["mechanic499"], booking_id)
    assert one(w, ResourceBooking, booking_id)["actual_hours"] == 3
    with pytest.raises(Invalid, match="cannot be before the start"):
        w.db.run(
            timers.correct,
            w["manager499"],
            entry,
            ended_at=T0 - timedelta(hours=1),
            reason="typo",
        )
    w.db.run(
        timers.correct,
        w["manager499"],
        entry,
        ended_at=T0 + timedelta(hours=2, minutes=15),
        reason="Stopped late",
    )
    assert one(w, TimebankEntry, entry)["hours"] == 2.25
    assert one(w, ResourceBooking, booking_id)["actual_hours"] == 2.25
    event = rows(w, Event, entity="timebank_entries", entity_id=str(entry), action="correct")[-1]
    assert event["changes"]["hours"] == [3, 2.25]
    assert errors(w) == []


def test_who_may_correct(w: World) -> None:
    _, booking_id = tech_job(w)
    entry = w.db.run(timers.start, w["mechanic499"], booking_id).id
    at(hours=2)
    # a person may end their own running clock
    w.db.run(
        timers.correct,
        w["mechanic499"],
        entry,
        ended_at=T0 + timedelta(hours=1),
        reason="Went to lunch",
    )
    assert one(w, TimebankEntry, entry)["hours"] == 1
    # but not change it once it is closed
    with pytest.raises(NotAllowed) as refused:
        w.db.run(
            timers.correct,
            w["mechanic499"],
            entry,
            ended_at=T0 + timedelta(hours=2),
            reason="More",
        )
    assert "Only a coordinator, manager or admin can correct clocked hours" in str(refused.value)
    with pytest.raises(NotAllowed, match="another dealership"):
        w.db.run(
            timers.correct,
            w["manager400"],
            entry,
            ended_at=T0 + timedelta(hours=2),
            reason="More",
        )
    with pytest.raises(NotAllowed):
        w.db.run(
            timers.correct,
            w["mechanic2_499"],
            entry,
            ended_at=T0 + timedelta(hours=2),
            reason="More",
        )
    assert one(w, TimebankEntry, entry)["hours"] == 1
    with pytest.raises(NotFound):
        w.db.run(timers.correct, w["coordinator499"], 9999, ended_at=T0, reason="x")


# ------------------------------------------------------------------------------------------------
# a session killed: the clock lives in the database, not in the process
# ------------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def _session_process(w: World, body: str) -> subprocess.Popen[str]:
    """Another prepfloor session as an OS process: the clock frozen at T0 + 5 minutes, signed in
    as mechanic499; it runs ``body`` (``store``, ``me`` and ``timers`` at hand)."""
    code = "\n".join(
        [
            "import time",
            "from datetime import UTC, datetime",
            "from db import clock, timers, users",
            "from db.store import Store",
            "clock.set_zone(UTC)",
            f"clock.freeze(datetime.fromisoformat({(T0 + timedelta(minutes=5)).isoformat()!r}))",
            f"store = Store({w.db.url!r})",
            "me = store.query(users.trusted_actor, 'mechanic499')",
            body,
        ]
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after_line(process: subprocess.Popen[str]) -> str:
    """Wait for the process's first line, then SIGKILL it (no clean-up of any kind runs)."""
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line, process.stderr.read() if process.stderr else "no output"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        return line
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_a_killed_session_leaves_its_clock_running_and_it_stops_with_the_right_hours(
    w: World,
) -> None:
    car_id, booking_id = tech_job(w)
    process = _session_process(
        w,
        f"entry = store.run(timers.start, me, {booking_id})\n"
        "print(entry.id, flush=True)\n"
        "time.sleep(120)",
    )
    entry = int(_kill_after_line(process))
    started = T0 + timedelta(minutes=5)
    running = running_of(w, "mechanic499")
    assert [(r["id"], r["started_at"], r["ended_at"]) for r in running] == [(entry, started, None)]
    assert one(w, ResourceBooking, booking_id)["status"] == "in_progress"
    assert one(w, Car, car_id)["technical_started_at"] == started
    # back at a terminal: the same clock, stopped with the hours since it started
    assert w.db.query(timers.running, w["mechanic499"].user_id).id == entry
    stopped = at(hours=2, minutes=50)
    w.db.run(timers.stop, w["mechanic499"])
    e = one(w, TimebankEntry, entry)
    assert (e["ended_at"], e["hours"]) == (stopped, 2.75)
    assert running_of(w, "mechanic499") == []
    at(hours=3)
    w.db.run(timers.complete, w["mechanic499"], booking_id)
    assert one(w, ResourceBooking, booking_id)["actual_hours"] == 2.75
    assert errors(w) == []


def test_a_session_killed_inside_its_write_leaves_nothing_half_done(w: World) -> None:
    _, booking_id = tech_job(w)
    process = _session_process(
        w,
        "with store.db.write() as session:\n"
        f"    timers.start(session, me, {booking_id})\n"
        "    session.flush()\n"
        "    print('inside', flush=True)\n"
        "    time.sleep(120)",
    )
    assert _kill_after_line(process) == "inside"
    assert running_of(w, "mechanic499") == []
    assert one(w, ResourceBooking, booking_id)["status"] == "scheduled"
    # the killed writer's locks are gone: the next start goes through at once
    entry = w.db.run(timers.start, w["mechanic499"], booking_id).id
    assert [r["id"] for r in running_of(w, "mechanic499")] == [entry]
