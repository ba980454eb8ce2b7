"""Property tests (hypothesis) on SQLite and PostgreSQL.

* The ledger: random sequences of book / cancel / no-show / move / confirm / complete / set
  capacity (with cuts, some allowed to overbook) — after every step each capacity row holds exactly
  the hours of its bookings, a refused step changed nothing, and ``prepfloor doctor`` stays clean.
  Every example starts from the same fresh world: the world is built once per test and copied per
  example (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
* The workflow: random moves by random users on a fresh car per example — the outcome is the one
  the transition table of DESIGN.md gives, a refused move changes nothing, and an allowed one keeps
  the doctor's car checks clean.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from db import capacity, clock, doctor, ledger, ledger_rows, scheduling, timers, workflow
from db.engine import Database
from db.errors import (
    CapacityCut,
    DoesNotFit,
    NotAllowed,
    NotFound,
    PrepfloorError,
    Stale,
    WorkflowRefused,
)
from db.models import Car, Event, Notification, ResourceBooking, ResourceCapacity
from db.urls import dialect_of, libpq_conninfo, normalize_url, sqlite_path
from db.vocab import BOOKING_HOLDING_STATUSES, CAR_STATUSES
from world import T0, World, build_world

DAYS = 5


def examples(world: World, sqlite: int, postgresql: int) -> Any:
    """Settings for an inner ``@given``: fewer examples on PostgreSQL (each costs a database)."""
    return settings(
        max_examples=sqlite if world.db.dialect == "sqlite" else postgresql,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        print_blob=True,
    )


@pytest.fixture
def frozen() -> Iterator[None]:
    clock.set_zone(UTC)
    clock.freeze(T0)
    yield
    clock.freeze(None)
    clock.set_zone(None)


# ------------------------------------------------------------------------------------------------
# one fresh world per example
# ------------------------------------------------------------------------------------------------
class Worlds:
    """The world of tests/world.py (plus two cars) built once, handed out as fresh copies."""

    def __init__(self, request: pytest.FixtureRequest, url: str, tmp_path: Path) -> None:
        self.url = normalize_url(url)
        self.tmp_path = tmp_path
        self.server = (
            request.getfixturevalue("pg_server") if dialect_of(self.url) == "postgresql" else None
        )
        db = Database(self.url)
        base = build_world(db, days=DAYS)
        self.cars = {
            "car499": base.register("seller499"),
            "car495": base.register("seller495"),
        }
        if db.dialect == "sqlite":
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        self.base = base
        self.count = 0

    def _admin(self, statement: str) -> None:
        import psycopg

        assert self.server is not None
        with psycopg.connect(libpq_conninfo(normalize_url(self.server)), autocommit=True) as c:
            c.execute(statement)

    def new(self) -> World:
        self.count += 1
        if self.server is None:
            path = self.tmp_path / f"example{self.count}.db"
            shutil.copy(sqlite_path(self.url), path)
            url = f"sqlite:///{path}"
        else:
            base, _, template = self.url.rpartition("/")
            name = f"hx_{uuid.uuid4().hex[:12]}"
            self._admin(f"CREATE DATABASE {name} TEMPLATE {template}")
            url = f"{base}/{name}"
        return dataclasses.replace(self.base, db=Database(url))

    def drop(self, world: World) -> None:
        world.db.dispose()
        if self.server is None:
            Path(sqlite_path(world.db.url)).unlink(missing_ok=True)
        else:
            name = world.db.url.rpartition("/")[2]
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def worlds(request: pytest.FixtureRequest, db_url: str, tmp_path: Path, frozen: None) -> Worlds:
    return Worlds(request, db_url, tmp_path)


# ------------------------------------------------------------------------------------------------
# the ledger
# ------------------------------------------------------------------------------------------------
DAY = st.integers(0, DAYS - 1)
HOURS = st.integers(1, 40).map(lambda quarters: quarters / 4)  # 0.25 .. 10 h
PERSON = st.sampled_from(["mechanic499", "mechanic2_499", None])
TYPE = st.sampled_from(["TECH_PREP", "WASH"])
PICK = st.integers(0, 63)  # which of the bookings made so far

BOOK_HOURS = st.integers(1, 24).map(lambda quarters: quarters / 4)  # 0.25 .. 6 h
WHOSE = st.sampled_from(["own", "own", "495", "497", "car499", "car495"])
START = st.one_of(st.none(), st.integers(7, 16))
BOOK = st.one_of(
    # mostly the bookings a coordinator makes: technical work for a mechanic, a wash for nobody
    st.tuples(
        st.just("book"),
        st.just("TECH_PREP"),
        DAY,
        BOOK_HOURS,
        st.sampled_from(["mechanic499", "mechanic2_499"]),
        WHOSE,
        START,
    ),
    st.tuples(st.just("book"), st.just("WASH"), DAY, BOOK_HOURS, st.none(), WHOSE, START),
    # and any combination, refusals included
    st.tuples(st.just("book"), TYPE, DAY, HOURS, PERSON, WHOSE, START),
)
LEDGER_OPS = st.one_of(
    BOOK,
    BOOK,  # bookings twice as often: the other steps need bookings to work on
    st.tuples(st.just("cancel"), PICK, st.booleans()),
    st.tuples(
        st.just("move"),
        PICK,
        st.one_of(st.none(), DAY),
        st.sampled_from(["keep", "mechanic499", "mechanic2_499", None]),
        st.one_of(st.none(), HOURS),
    ),
    st.tuples(st.just("confirm"), PICK),
    st.tuples(st.just("complete"), PICK),
    st.tuples(
        st.just("capacity"),
        TYPE,
        DAY,
        PERSON,
        st.integers(0, 80).map(lambda quarters: quarters / 4),
        st.booleans(),
    ),
)


def ledger_state(w: World) -> dict[str, list[dict[str, Any]]]:
    def read(s: Any) -> dict[str, list[dict[str, Any]]]:
        return {
            m.__tablename__: [r.model_dump() for r in s.exec(select(m).order_by(m.id))]
            for m in (ResourceBooking, ResourceCapacity, Car)
        }

    return w.db.query(read)


def holding_hours(bookings: list[dict[str, Any]]) -> dict[tuple[Any, ...], float]:
    held: dict[tuple[Any, ...], float] = defaultdict(float)
    for b in bookings:
        if b["status"] in BOOKING_HOLDING_STATUSES:
            key = (b["provider_dealership_id"], b["resource_type_id"], b["date"])
            held[(*key, None)] += b["estimated_hours"]
            if b["user_id"] is not None:
                held[(*key, b["user_id"])] += b["estimated_hours"]
    return held


def assert_ledger(w: World, state: dict[str, list[dict[str, Any]]], overbooked: set[Any]) -> None:
    held = holding_hours(state["resource_bookings"])
    for row in state["resource_capacities"]:
        key = (row["dealership_id"], row["resource_type_id"], row["date"], row["user_id"])
        assert row["used_hours"] == held.pop(key, 0.0), row
        assert row["available_hours"] == row["allocated_hours"] - row["used_hours"], row
        if key not in overbooked:
            assert row["used_hours"] <= row["allocated_hours"], row
    assert not [k for k, v in held.items() if v], f"bookings hold hours without a row: {held}"
    problems = [f.message for f in w.db.query(lambda s: list(doctor.check_ledger(s)))]
    errors = [m for m in problems if "overbooked" not in m]
    assert errors == []


def assert_car_schedules(w: World, state: dict[str, list[dict[str, Any]]]) -> None:
    """Each car's technical schedule is its first open technical booking (timed before untimed on
    the same day), its hours the sum of them."""
    tech = w.rt["TECH_PREP"]
    for car in state["cars"]:
        mine = [
            b
            for b in state["resource_bookings"]
            if b["car_id"] == car["id"]
            and b["resource_type_id"] == tech
            and b["status"] in BOOKING_HOLDING_STATUSES
        ]
        if not mine:
            assert car["scheduled_technical_date"] is None
            assert car["estimated_technical_hours"] is None
            assert car["assigned_mechanic_id"] is None
            continue
        first = min(
            mine,
            key=lambda b: (b["date"], b["start_time"] is None, b["start_time"] or time(0), b["id"]),
        )
        assert car["scheduled_technical_date"] == first["date"]
        assert car["scheduled_technical_time"] == first["start_time"]
        assert car["assigned_mechanic_id"] == first["user_id"]
        assert car["estimated_technical_hours"] == sum(b["estimated_hours"] for b in mine)


def apply_ledger_op(w: World, cars: dict[str, int], op: tuple[Any, ...], booked: list[int]) -> bool:
    """Run one step; ``True`` when it was an ``allow_overbook`` capacity cut that went through."""
    kind = op[0]
    coordinator = w["coordinator499"]
    person_id = lambda login: w[login].user_id if login else None  # noqa: E731
    if kind == "book":
        _, code, day, hours, person, whose, hour = op
        kwargs: dict[str, Any] = {}
        if whose.startswith("car"):
            kwargs["car_id"] = cars[whose]
        elif whose != "own":
            kwargs["consumer_dealership_id"] = w.d[whose]
        booking = w.db.run(
            ledger.book,
            coordinator,
            resource_type_id=w.rt[code],
            date=w.day(day),
            estimated_hours=hours,
            user_id=person_id(person),
            start_time=time(hour, 0) if hour is not None else None,
            **kwargs,
        )
        booked.append(booking.id)
        return False
    if kind == "capacity":
        _, code, day, person, hours, overbook = op
        w.db.run(
            capacity.set_capacity,
            coordinator,
            dealership_id=w.d["499"],
            resource_type_id=w.rt[code],
            date=w.day(day),
            allocated_hours=hours,
            user_id=person_id(person),
            allow_overbook=overbook,
        )
        return overbook
    if not booked:
        return False
    booking_id = booked[op[1] % len(booked)]
    if kind == "cancel":
        w.db.run(ledger.cancel, coordinator, booking_id, reason="property", no_show=op[2])
    elif kind == "move":
        _, _, day, person, hours = op
        w.db.run(
            ledger.move,
            coordinator,
            booking_id,
            date=w.day(day) if day is not None else None,
            user_id="keep" if person == "keep" else person_id(person),
            estimated_hours=hours,
        )
    elif kind == "confirm":
        w.db.run(ledger.confirm, coordinator, booking_id)
    elif kind == "complete":
        user_id = w.db.query(lambda s: s.get(ResourceBooking, booking_id).user_id)
        login = next((k for k, a in w.actors.items() if a.user_id == user_id), "mechanic499")
        w.db.run(timers.complete, w[login], booking_id)
    return False


# The scheduling rules on top of the ledger: declines, weekly patterns and capacity cuts that move
# bookings away first (the proposal's bookings, too few of them, or any bookings at all).
PATTERN_HOURS = st.integers(0, 64).map(lambda quarters: quarters / 4)  # 0 .. 16 h
# Cut the row a booking holds (the team's or its person's) to some hours below what it has, moving
# the proposal's bookings, one fewer than that, or any bookings at all.
CUT = st.tuples(
    st.just("cut"),
    PICK,
    st.booleans(),
    st.integers(0, 32).map(lambda quarters: quarters / 4),
    st.sampled_from(["proposed", "proposed", "fewer", "picks"]),
    st.lists(PICK, max_size=3),
)
SCHEDULING_OPS = st.one_of(
    BOOK,
    BOOK,
    st.tuples(st.just("cancel"), PICK, st.booleans()),
    st.tuples(
        st.just("move"),
        PICK,
        st.one_of(st.none(), DAY),
        st.sampled_from(["keep", "mechanic499", "mechanic2_499"]),
        st.one_of(st.none(), HOURS),
    ),
    st.tuples(st.just("confirm"), PICK),
    st.tuples(st.just("decline"), PICK),
    CUT,
    CUT,  # twice: cuts are what this test is about
    st.tuples(
        st.just("pattern"),
        TYPE,
        PERSON,
        st.dictionaries(st.integers(0, 6), PATTERN_HOURS, min_size=1, max_size=3),
        st.integers(1, 2),
    ),
    st.tuples(
        st.just("capacity"),
        TYPE,
        DAY,
        PERSON,
        st.integers(0, 80).map(lambda quarters: quarters / 4),
        st.booleans(),
    ),
)


def apply_scheduling_op(
    w: World, cars: dict[str, int], op: tuple[Any, ...], booked: list[int], overbooked: set[Any]
) -> None:
    """Run one step of :data:`SCHEDULING_OPS` and check what it promises; ``overbooked`` holds the
    capacity rows a cut with ``allow_overbook`` left above their hours (a cut or a pattern that
    goes through brings a row back within them)."""
    kind = op[0]
    coordinator = w["coordinator499"]
    d499 = w.d["499"]
    person_id = lambda login: w[login].user_id if login else None  # noqa: E731
    if kind == "decline":
        if booked:
            booking_id = booked[op[1] % len(booked)]
            w.db.run(scheduling.decline, coordinator, booking_id, reason="property")
            found = w.db.query(lambda s: s.get(ResourceBooking, booking_id))
            assert found.status == "cancelled" and found.notes.endswith("Declined: property")
        return
    if kind == "cut":
        if not booked:
            return
        _, pick, on_person, below, how, picks = op
        held = w.db.query(lambda s: s.get(ResourceBooking, booked[pick % len(booked)]))
        where = {
            "dealership_id": d499,
            "resource_type_id": held.resource_type_id,
            "day": held.date,
            "user_id": held.user_id if on_person else None,
        }

        def row() -> Any:
            return w.db.query(
                lambda s: ledger_rows.capacity_row(
                    s, d499, held.resource_type_id, held.date, where["user_id"]
                )
            )

        hours = max(0.0, row().used_hours - below)
        lines = w.db.query(scheduling.cut_proposal, coordinator, allocated_hours=hours, **where)
        proposed = [line.id for line in lines if line.proposed]
        move = {
            "proposed": proposed,
            "fewer": proposed[:-1],
            "picks": [booked[p % len(booked)] for p in picks],
        }[how]
        try:
            moved = w.db.run(
                scheduling.cut_capacity, coordinator, allocated_hours=hours, move=move, **where
            )
        except PrepfloorError as refusal:
            # the proposal's bookings are enough: only a booking with nowhere to go stops it
            if how == "proposed":
                assert isinstance(refusal, DoesNotFit), refusal
            if how == "fewer" and proposed:
                assert isinstance(refusal, DoesNotFit | CapacityCut), refusal
            raise
        assert how != "fewer" or not proposed, "one booking fewer than proposed was enough"
        assert [booking_id for booking_id, _ in moved] == list(dict.fromkeys(move))
        event("cut moved bookings" if moved else "cut moved nothing")
        for booking_id, new_day in moved:
            found = w.db.query(lambda s, i=booking_id: s.get(ResourceBooking, i))
            assert found.date == new_day != held.date
        after = row()
        assert after.allocated_hours == hours >= after.used_hours
        overbooked.discard((d499, held.resource_type_id, held.date, where["user_id"]))
        return
    if kind == "pattern":
        _, code, person, weekdays, weeks = op
        result = w.db.run(
            scheduling.apply_pattern,
            coordinator,
            dealership_id=d499,
            resource_type_id=w.rt[code],
            user_id=person_id(person),
            weekdays=weekdays,
            first=w.day(0),
            weeks=weeks,
        )
        assert len(result.days_set) + len(result.skipped) == sum(
            1 for n in range(7 * weeks) if w.day(n).weekday() in weekdays
        )
        if result.skipped:
            event("pattern skipped a day")
        for day, booked_hours in result.skipped:
            assert booked_hours > weekdays[day.weekday()]
        for day in result.days_set:
            overbooked.discard((d499, w.rt[code], day, person_id(person)))
        return
    if apply_ledger_op(w, cars, op, booked):
        _, code, day, person, _, _ = op
        overbooked.add((d499, w.rt[code], w.day(day), person_id(person)))


def test_ledger_invariant_under_scheduling_operations(worlds: Worlds) -> None:
    """Moves, cancellations, declines, patterns and capacity cuts (moving bookings away first):
    after every step each capacity row holds exactly its bookings' hours and is not over its
    hours unless a cut allowed it; a refused step (a booking that cannot move, a cut that moves
    too little) changed nothing."""

    @examples(worlds.base, sqlite=25, postgresql=8)
    @given(ops=st.lists(SCHEDULING_OPS, min_size=8, max_size=30))
    def run(ops: list[tuple[Any, ...]]) -> None:
        w = worlds.new()
        try:
            booked: list[int] = []
            overbooked: set[Any] = set()
            state = ledger_state(w)
            for op in ops:
                try:
                    apply_scheduling_op(w, worlds.cars, op, booked, overbooked)
                except PrepfloorError as refusal:
                    event(f"refused {op[0]}: {type(refusal).__name__}")
                    assert ledger_state(w) == state, f"refused {op} changed the database"
                    continue
                event(f"done {op[0]}")
                state = ledger_state(w)
                assert_ledger(w, state, overbooked)
                assert_car_schedules(w, state)
            findings = w.db.query(doctor.run_checks)
            assert [f.message for f in findings if f.level == "error"] == []
        finally:
            worlds.drop(w)

    run()


def test_ledger_invariant_under_random_operations(worlds: Worlds) -> None:
    @examples(worlds.base, sqlite=20, postgresql=8)
    @given(ops=st.lists(LEDGER_OPS, min_size=8, max_size=30))
    def run(ops: list[tuple[Any, ...]]) -> None:
        w = worlds.new()
        try:
            booked: list[int] = []
            overbooked: set[Any] = set()
            state = ledger_state(w)
            for op in ops:
                try:
                    cut = apply_ledger_op(w, worlds.cars, op, booked)
                except PrepfloorError:
                    after = ledger_state(w)
                    assert after == state, f"refused {op} changed the database"
                    continue
                if cut:
                    _, code, day, person, _, _ = op
                    who = w[person].user_id if person else None
                    overbooked.add((w.d["499"], w.rt[code], w.day(day), who))
                state = ledger_state(w)
                assert_ledger(w, state, overbooked)
                assert_car_schedules(w, state)
            findings = w.db.query(doctor.run_checks)
            assert [f.message for f in findings if f.level == "error"] == []
            assert {f.check for f in findings} <= {"overbooked"}
        finally:
            worlds.drop(w)

    run()


# ------------------------------------------------------------------------------------------------
# the workflow
# ------------------------------------------------------------------------------------------------
LOGINS = (
    "seller495",
    "seller499",
    "coordinator499",
    "coordinator495",
    "mechanic499",
    "mechanic2_499",
    "detailer499",
    "manager400",
    "manager499",
    "admin",
)
AT_499 = {
    "seller499",
    "coordinator499",
    "mechanic499",
    "mechanic2_499",
    "detailer499",
    "manager499",
    "admin",
}
# owner side, prep side, for a car sold by 495 (prepared by 499) and one sold by 499
SIDES = {
    "495": ({"seller495", "coordinator495", "manager400", "admin"}, AT_499),
    "499": (AT_499, AT_499),
}
PAIRS = {(m.source, m.target): m for m in workflow.TRANSITIONS}
PARTS = (
    "parts_ordered_prep_at",
    "parts_arrived_prep_at",
    "parts_ordered_seller_at",
    "parts_arrived_seller_at",
)

WORKFLOW_STEPS = st.one_of(
    st.tuples(
        st.just("any"), st.sampled_from(LOGINS), st.sampled_from(CAR_STATUSES), st.booleans()
    ),
    st.tuples(st.just("next"), st.sampled_from(LOGINS), st.integers(0, 5), st.just(False)),
    st.tuples(st.just("next"), st.just("admin"), st.integers(0, 5), st.just(False)),
    st.tuples(st.just("inspect"), st.booleans()),
    st.tuples(st.just("parts"), st.sampled_from(PARTS)),
    st.tuples(st.just("back"), st.just(True)),
)


def expected_outcome(
    car: dict[str, Any], owner: str, login: str, role: str, target: str, stale: bool
) -> Any:
    """What DESIGN.md's workflow says should happen (``None``: the move is made)."""
    owner_side, prep_side = SIDES[owner]
    if login not in owner_side | prep_side:
        return NotFound
    if stale:
        return Stale
    move = PAIRS.get((car["status"], target))
    if move is None:
        return WorkflowRefused
    if role != "admin" and role not in move.roles:
        return NotAllowed
    side_ok = {
        workflow.OWNER: login in owner_side,
        workflow.PREP: login in prep_side,
        workflow.ANY: True,
    }[move.side]
    if not side_ok:
        return NotAllowed
    inspected = car["inspection_completed_at"] is not None
    waiting = (car["parts_ordered_seller_at"] and not car["parts_arrived_seller_at"]) or (
        car["parts_ordered_prep_at"] and not car["parts_arrived_prep_at"]
    )
    if car["status"] == "inspection":
        if not inspected:
            return WorkflowRefused
        if target != "parts_ordered" and not car["inspection_approved"]:
            return WorkflowRefused
    if (car["status"], target) == ("parts_ordered", "technical_prep") and waiting:
        return WorkflowRefused
    handover = (car["status"], target) == ("ready_for_delivery", "delivered")
    if handover and owner != "499" and car["delivered_to_dealership_at"] is None:
        return WorkflowRefused  # prepared elsewhere and not back at the dealership yet
    return None


def workflow_state(w: World, car_id: int) -> dict[str, Any]:
    def read(s: Any) -> dict[str, Any]:
        return {
            "car": s.get(Car, car_id).model_dump(),
            "events": [
                e.model_dump()
                for e in s.exec(select(Event).where(Event.car_id == car_id).order_by(Event.id))
            ],
            "notes": [
                n.model_dump() for n in s.exec(select(Notification).order_by(Notification.id))
            ],
        }

    return w.db.query(read)


def set_car(w: World, car_id: int, **fields: Any) -> None:
    def write(s: Any) -> None:
        car = s.get(Car, car_id)
        for name, value in fields.items():
            setattr(car, name, value)
        s.add(car)

    w.db.run(write)


@pytest.fixture
def wf_world(db: Database, frozen: None) -> World:
    return build_world(db, days=1)


def test_workflow_moves_follow_the_table(wf_world: World) -> None:
    w = wf_world
    minutes = iter(range(1, 10**6))

    @examples(w, sqlite=40, postgresql=15)
    @given(
        owner=st.sampled_from(["495", "499"]),
        steps=st.lists(WORKFLOW_STEPS, min_size=1, max_size=25),
    )
    def run(owner: str, steps: list[tuple[Any, ...]]) -> None:
        car_id = w.register(f"seller{owner}")
        state = workflow_state(w, car_id)
        for step in steps:
            now = T0 + timedelta(minutes=next(minutes))
            clock.freeze(now)
            car = state["car"]
            if step[0] == "inspect":
                if car["status"] == "inspection":
                    set_car(w, car_id, inspection_completed_at=now, inspection_approved=step[1])
                    state = workflow_state(w, car_id)
                continue
            if step[0] == "back":  # the car is recorded back at its dealership
                if car["status"] == "ready_for_delivery" and not car["delivered_to_dealership_at"]:
                    set_car(w, car_id, delivered_to_dealership_at=now)
                    state = workflow_state(w, car_id)
                continue
            if step[0] == "parts":
                if car[step[1]] is None:
                    set_car(w, car_id, **{step[1]: now})
                    state = workflow_state(w, car_id)
                continue
            kind, login, choice, stale = step
            if kind == "next":
                nexts = workflow.moves_from(car["status"])
                if not nexts:
                    continue
                target = nexts[choice % len(nexts)].target
            else:
                target = choice
            expected_status = next(s for s in CAR_STATUSES if s != car["status"]) if stale else None
            expected = expected_outcome(car, owner, login, w[login].role, target, stale)
            try:
                w.db.run(
                    workflow.move_car,
                    w[login],
                    car_id,
                    target,
                    expected_status=expected_status,
                )
            except PrepfloorError as refusal:
                assert expected is not None, f"{login} {car['status']}→{target}: {refusal}"
                assert type(refusal) is expected, (login, car["status"], target, refusal)
                assert str(refusal)  # a message for the floor worker
                assert workflow_state(w, car_id) == state, "a refused move changed something"
                continue
            assert expected is None, f"{login} {car['status']}→{target} should be {expected}"
            after = workflow_state(w, car_id)
            assert after["car"]["status"] == target
            assert after["car"]["status_changed_at"] == now
            new_events = after["events"][len(state["events"]) :]
            assert [e["changes"]["status"] for e in new_events] == [[car["status"], target]]
            new_notes = after["notes"][len(state["notes"]) :]
            assert all(n["user_id"] != w[login].user_id for n in new_notes)
            assert all(n["car_id"] == car_id for n in new_notes)
            state = after
            found = w.db.query(lambda s: list(doctor.check_cars(s)))
            assert found == [], found

    run()
