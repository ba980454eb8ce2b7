#!/usr/bin/env python
"""Figures for a large prepfloor database (made by ``bench/build_large.py``).  Prints, never asserts.

    python bench/bench_db.py --db /tmp/large.db                      # SQLite file
    python bench/bench_db.py --db postgresql://postgres@host/large   # an existing PostgreSQL db
    python bench/bench_db.py --engine postgresql [--scale 1]         # throwaway cluster: build,
                                                                     # measure, stop
(a) car counts per status (``FastReader.status_counts``) for an admin, a headquarters manager, a
    prep-center coordinator and a seller: p50/p99 of ``--runs`` calls;
(b) the car list (``FastReader.car_page`` + ``car_count``): first page, the page at offset 50,000,
    the last page, and searches by VIN tail, plate, order number and customer surname;
(c) bookings through ``db.ledger.book`` via ``Database.run`` from 8 and 32 OS processes for
    ``--seconds`` each, on days whose capacity is cut to a few free hours first: bookings/s, refusals,
    p50/p99 latency, "database is locked" seen (retried inside ``Database.run`` or escaped), and
    afterwards overbooked rows, ledger mismatches and weekly sharing caps on those days, then the
    whole ``db.doctor``;
(d) peak RSS of this process after loading ``db`` and running (a) and (b), and of the largest worker.

(c) adds bookings to the database and sets capacity on days 4-8 weeks ahead (the same days on every
run, so a second run starts from the same free hours).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import queue
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import _common
from _common import percentile, summary_ms, timed

# Each booking run uses 10 working days: on 2 "tight" days the team rows keep only a few free
# hours (everybody races for them: refusals, overbooking checks); on 8 "roomy" days there is room
# for far more than a run books (and each mechanic has 24 h), so bookings/s measures throughput.
DAYS = 10
TIGHT_DAYS = 2
TIGHT_FREE = {"TECH_PREP": 6.0, "WASH": 3.0}
ROOMY_FREE = {"TECH_PREP": 600.0, "WASH": 300.0}
PAGE = 50


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------
# (a), (b): reads through the light reader
# ------------------------------------------------------------------------------------------------
def pick_actors(fast: Any) -> dict[str, Any]:
    """An admin, a headquarters manager (with branches), a prep-center coordinator, a seller."""
    picks = {
        "admin": "SELECT login FROM users WHERE role = 'admin' ORDER BY login LIMIT 1",
        "manager (HQ + branches)": (
            "SELECT u.login FROM users u JOIN dealership d ON d.id = u.dealership_id "
            "WHERE u.role = 'manager' AND EXISTS (SELECT 1 FROM dealership b "
            "WHERE b.parent_dealership_id = d.id) ORDER BY u.login LIMIT 1"
        ),
        "coordinator (prep center)": (
            "SELECT u.login FROM users u JOIN dealership d ON d.id = u.dealership_id "
            "WHERE u.role = 'coordinator' AND d.dealership_type = 'prep_center_only' "
            "ORDER BY u.login LIMIT 1"
        ),
        "seller (sales only)": (
            "SELECT u.login FROM users u JOIN dealership d ON d.id = u.dealership_id "
            "WHERE u.role = 'seller' AND d.dealership_type = 'sales_only' ORDER BY u.login LIMIT 1"
        ),
    }
    actors = {}
    for label, sql in picks.items():
        found = fast.rows(sql)
        if found:
            actors[label] = fast.actor(found[0][0])
    return actors


def measure(
    fast: Any, fn: Callable[[], Any], runs: int, limit: float
) -> tuple[list[float] | None, Any]:
    """Time ``fn`` ``runs`` times.  The first call is stopped after ``limit`` seconds (then
    ``None``); a call slower than a second is repeated only twice more."""
    fast.rows("SELECT 1")  # connected, so the watchdog has a connection to interrupt
    with _common.watchdog(fast._conn, limit) as fired:
        try:
            first, result = timed(fn, 1)
        except Exception:
            if fired.is_set():
                fast.close()
                return None, None
            raise
    more = runs - 1 if first[0] < 1000 else min(2, runs - 1)
    times, _ = timed(fn, more)
    return first + times, result


def show(label: str, times: list[float] | None, note: str, limit: float) -> None:
    if times is None:
        print(f"  {label:<40} ABORTED: still running after {limit:g} s   {note}")
    else:
        print(f"  {label:<40} {summary_ms(times)}   {note}")


def bench_status_counts(fast: Any, actors: dict[str, Any], runs: int, limit: float) -> None:
    print(f"\n(a) status counts (FastReader.status_counts), {runs} runs each")
    for label, actor in actors.items():
        times, counts = measure(fast, lambda a=actor: fast.status_counts(a), runs, limit)
        note = f"{sum(counts.values()):,} cars in scope" if counts else ""
        show(label, times, note, limit)


def bench_car_list(fast: Any, actors: dict[str, Any], runs: int, limit: float) -> None:
    from db.fast import CarQuery

    sample = fast.rows(
        "SELECT vin, license_plate, order_number, customer_name FROM cars "
        "WHERE status NOT IN ('draft', 'archived') AND license_plate IS NOT NULL "
        "AND vin IS NOT NULL ORDER BY id LIMIT 1 OFFSET "
        "(SELECT count(*) / 2 FROM cars WHERE status NOT IN ('draft', 'archived'))"
    )[0]
    vin, plate, order_number, customer = sample
    searches = {
        f"search VIN tail {vin[-6:]}": vin[-6:],
        f"search plate {plate}": plate,
        f"search order {order_number}": order_number,
        f"search surname {customer.split()[-1]}": customer.split()[-1],
    }
    print(f"\n(b) car list (FastReader.car_page {PAGE} rows + car_count), {runs} runs each")
    for who in ("admin", "manager (HQ + branches)", "coordinator (prep center)"):
        actor = actors.get(who)
        if actor is None:
            continue
        times, total = measure(fast, lambda a=actor: fast.car_count(a, CarQuery()), 1, limit)
        if times is None:
            print(f"  {who}: car_count ABORTED after {limit:g} s; skipping this actor's list")
            continue
        offset_50k = min(50_000, max(0, total - PAGE))
        last = max(0, (total - 1) // PAGE * PAGE)
        print(f"  {who}: {total:,} cars in the default list (archived hidden)")
        cases: list[tuple[str, CarQuery, int]] = [
            ("first page", CarQuery(), 0),
            (f"page at offset {offset_50k:,}", CarQuery(), offset_50k),
            (f"last page (offset {last:,})", CarQuery(), last),
        ]
        cases += [(label, CarQuery(search=text), 0) for label, text in searches.items()]
        for label, query, offset in cases:
            page_times, rows = measure(
                fast,
                lambda q=query, o=offset, a=actor: fast.car_page(a, q, o, PAGE),
                runs,
                limit,
            )
            show(f"  {label} - page", page_times, f"({len(rows or [])} rows)", limit)
            count_times, count = measure(
                fast, lambda q=query, a=actor: fast.car_count(a, q), runs, limit
            )
            show(f"  {label} - count", count_times, f"({count or 0:,})", limit)
        palette, found = measure(fast, lambda a=actor: fast.find_cars(a, vin[-6:]), runs, limit)
        show("  palette find_cars VIN tail", palette, f"({len(found or [])} rows)", limit)
        if hasattr(fast, "car_ids"):  # the list's id-then-rows paging (db/fast.py, newer)
            ids_times, ids = measure(fast, lambda a=actor: fast.car_ids(a, CarQuery()), runs, limit)
            show("  car_ids (every match, once)", ids_times, f"({len(ids or []):,} ids)", limit)
            for label, offset in ((f"offset {offset_50k:,}", offset_50k), ("last page", last)):
                chunk = (ids or [])[offset : offset + PAGE]
                times, rows = measure(fast, lambda c=chunk: fast.cars_by_id(c), runs, limit)
                show(f"  cars_by_id {label}", times, f"({len(rows or [])} rows)", limit)


# ------------------------------------------------------------------------------------------------
# (c) booking from many processes
# ------------------------------------------------------------------------------------------------
def _booker(
    url: str, plan: dict[str, Any], seconds: float, seed: int, barrier: Any, results: Any
) -> None:
    """One OS process: book as fast as it can for ``seconds`` after the barrier and a warm-up of
    ``plan["warmup"]`` seconds (its bookings are counted apart), then wait at the barrier again
    before letting go of anything (a worker's teardown is not in another's measured seconds)."""
    from sqlalchemy import event

    from db import ledger
    from db.engine import Database
    from db.errors import DoesNotFit, PrepfloorError

    rng = random.Random(seed)
    db = Database(url)
    if plan.get("synchronous") and db.dialect == "sqlite":

        @event.listens_for(db.engine, "connect")
        def _synchronous(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA synchronous = {plan['synchronous']}")

    retried: Counter[str] = Counter()

    @event.listens_for(db.engine, "handle_error")
    def _seen(context: Any) -> None:
        retried[f"{type(context.original_exception).__name__}: {context.original_exception}"] += 1

    holds: list[tuple[float, float, float]] = []  # --lock-log: (taken, let go, its commit)
    if plan.get("lock_log") and db._gate is not None:
        _log_the_lock(db._gate, holds)
    with db.read() as session:
        session.connection()
    _warm()
    db.prepare_writes()  # as a session's first write does, before the runs start together
    # and as a session that has written once: what it loaded, the ORM with it, is out of the
    # collector's sight (PrepfloorApp.freeze_loaded), so no collection walks it between writes
    gc.collect()
    gc.freeze()
    actor = plan["actor"]
    kind = plan.get("kind", "book")
    rule = {"book": ledger.book, "floor": _plain_book, "commit": _commit_only}[kind]
    ok: list[float] = []
    refused: list[float] = []
    warm: Counter[str] = Counter()  # outcomes of the attempts started in the warm-up
    reasons: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    barrier.wait(timeout=600)
    start = time.perf_counter() + plan.get("warmup", 0.0)
    cpu_start = None
    deadline = start + seconds
    while time.perf_counter() < deadline:
        job: dict[str, Any] = {
            "car_id": rng.choice(plan["cars"]),
            "date": rng.choice(plan["days"]),
        }
        if rng.random() < 0.6:
            job.update(
                resource_type_id=plan["rt"]["TECH_PREP"],
                estimated_hours=rng.choice((0.5, 1.0, 1.5, 2.0)),
                user_id=rng.choice(plan["mechanics"]),
            )
        else:
            job.update(resource_type_id=plan["rt"]["WASH"], estimated_hours=rng.choice((0.5, 1)))
        t0 = time.perf_counter()
        if t0 >= start and cpu_start is None:
            cpu_start = time.process_time()
        try:
            if kind == "commit":
                db.run(rule)
            else:
                db.run(rule, actor, **job)
            if t0 < start:
                warm["booked"] += 1
                continue
            ok.append((time.perf_counter() - t0) * 1000)
        except DoesNotFit as refusal:
            if t0 < start:
                warm["refused"] += 1
                continue
            refused.append((time.perf_counter() - t0) * 1000)
            text = str(refusal)
            why = "weekly cap" if "a week at" in text else "capacity"
            reasons[f"{why}, {'tight' if job['date'] in plan['tight'] else 'roomy'} day"] += 1
        except PrepfloorError as error:
            errors[f"{type(error).__name__}: {error}"] += 1
        except Exception as error:
            errors[f"{type(error).__name__}: {str(error)[:200]}"] += 1
    end = time.perf_counter()
    cpu = time.process_time() - (cpu_start if cpu_start is not None else time.process_time())
    with suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=seconds + 600)
    db.dispose()
    results.put(
        {
            "ok": ok,
            "refused": refused,
            "warm": warm,
            "holds": [h for h in holds if start <= h[0] and h[1] <= end],
            "reasons": reasons,
            "errors": errors,
            "retried": retried,
            "start": start,
            "end": end,
            "cpu": cpu,
            "rss_mb": rss_mb(),
        }
    )


def _log_the_lock(gate: Any, holds: list[tuple[float, float, float]]) -> None:
    """``--lock-log``: every hold of the SQLite write gate by this worker, from the gate's own take
    and let-go: when it was taken, when it was let go, and how long the commit inside took.
    (``time.perf_counter`` is the system's monotonic clock: the workers' times compare.)"""
    from sqlalchemy.orm import Session

    marks = threading.local()
    take, let_go, commit = gate._take, gate._let_go, Session.commit

    def taking(fd: int, deadline: float) -> bool:
        got = take(fd, deadline)
        if got:
            marks.taken, marks.commit = time.perf_counter(), 0.0
        return bool(got)

    def letting_go(fd: int) -> None:
        now = time.perf_counter()
        taken = getattr(marks, "taken", None)  # None: the gate's helper thread letting a turn go
        if taken is not None:
            holds.append((taken, now, marks.commit))
            marks.taken = None
        let_go(fd)

    def committing(session: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return commit(session, *args, **kwargs)
        finally:
            marks.commit = getattr(marks, "commit", 0.0) + time.perf_counter() - began

    gate._take, gate._let_go = taking, letting_go
    Session.commit = committing  # type: ignore[method-assign]


def _lock_summary(holds: list[tuple[float, float, float]]) -> str:
    """The write lock over a run (``--lock-log``): how much of the time it was held, how long a
    write held it and its commit took, and the time from one writer letting go to the next
    taking it."""
    holds = sorted(holds)
    if len(holds) < 2:
        return "no holds logged"
    span = holds[-1][1] - holds[0][0]
    held = [go - taken for taken, go, _ in holds]
    gaps = [max(0.0, b[0] - a[1]) for a, b in pairwise(holds)]
    return (
        f"held {sum(held) / span * 100:.0f} % of the time; a write holds it p50 "
        f"{percentile([h * 1000 for h in held], 50):.2f} ms (its commit p50 "
        f"{percentile([c * 1000 for _, _, c in holds], 50):.2f} ms); from one writer to the "
        f"next p50 {percentile([g * 1000 for g in gaps], 50):.2f} ms, mean "
        f"{sum(gaps) / len(gaps) * 1000:.2f} ms (n={len(holds)})"
    )


def _warm() -> None:
    """What a session has loaded long before it books: the language's dates and numbers (Babel's
    locale data, ~2 s of CPU the first time), which a booking's event, notification and refusal
    words use.  Without it every worker would pay it inside the measured seconds."""
    from db import formats, said
    from db.said import Said

    today = date.today()
    Said("{day} {hours}", day=said.day(today), hours=said.hours(1.5)).render("en")
    formats.day(today), formats.hours(1.5), formats.week(today)


def _commit_only(session: Any) -> None:
    """The floor of any write: one small row inserted and committed through the same
    ``Database.run`` (on SQLite: the write gate, ``BEGIN IMMEDIATE`` and the commit's sync to disk,
    which every saved change pays while it holds the write lock)."""
    session.connection().exec_driver_sql("INSERT INTO bench_commits (n) VALUES (1)")


def _plain_book(
    session: Any,
    actor: Any,
    *,
    car_id: int,
    date: date,
    resource_type_id: int,
    estimated_hours: float,
    user_id: Any = None,
) -> None:
    """The floor: a booking as a plain ORM program writes it, in the same ``Database.run``
    transaction (SQLite ``BEGIN IMMEDIATE`` behind the write gate; PostgreSQL ``FOR UPDATE``):
    lock the team row (and the person's), check the hours, add them, insert the booking.  No
    actor check, car, type, sharing, person's day, events, notifications or car schedule."""
    from sqlmodel import select

    from db.errors import DoesNotFit
    from db.models import Car, ResourceBooking, ResourceCapacity

    car = session.get(Car, car_id)
    rows = []
    for person in (None, user_id) if user_id is not None else (None,):
        row = session.exec(
            select(ResourceCapacity)
            .where(
                ResourceCapacity.dealership_id == car.prep_center_id,
                ResourceCapacity.resource_type_id == resource_type_id,
                ResourceCapacity.date == date,
                ResourceCapacity.user_id == person
                if person is not None
                else ResourceCapacity.user_id.is_(None),  # type: ignore[union-attr]
            )
            .with_for_update()
        ).first()
        if row is None or row.allocated_hours - row.used_hours < estimated_hours:
            raise DoesNotFit("no room")
        rows.append(row)
    for row in rows:
        row.used_hours += estimated_hours
    session.add(
        ResourceBooking(
            car_id=car_id,
            resource_type_id=resource_type_id,
            date=date,
            estimated_hours=estimated_hours,
            provider_dealership_id=car.prep_center_id,
            consumer_dealership_id=car.dealership_id,
            user_id=user_id,
            status="scheduled",
        )
    )
    session.flush()


def _contention_plan(url: str, run: int) -> dict[str, Any]:
    """A sales-and-prep center with a sales-only consumer, and ``DAYS`` working days 4+ weeks
    ahead whose team capacity is set to what is booked plus ``TIGHT_FREE`` or ``ROOMY_FREE``."""
    from db import capacity, holding, ledger_rows
    from db.clock import local_today
    from db.engine import Database
    from db.fast import FastReader
    from db.grid import PERSON_DAY_HOURS

    fast = FastReader(url)
    center = fast.rows(
        "SELECT d.id FROM dealership d WHERE d.dealership_type = 'sales_and_prep' "
        "AND d.parent_dealership_id IS NOT NULL AND EXISTS (SELECT 1 FROM dealership c "
        "WHERE c.prep_center_id = d.id) ORDER BY d.id LIMIT 1"
    )[0][0]
    coordinator = fast.rows(
        "SELECT login FROM users WHERE role = 'coordinator' AND dealership_id = :d "
        "ORDER BY login LIMIT 1",
        {"d": center},
    )[0][0]
    actor = fast.actor(coordinator)
    mechanics = [
        r[0]
        for r in fast.rows(
            "SELECT id FROM users WHERE role = 'mechanic' AND dealership_id = :d", {"d": center}
        )
    ]
    cars = [
        r[0]
        for r in fast.rows(
            "SELECT id FROM cars WHERE prep_center_id = :d AND status NOT IN "
            "('draft', 'delivered', 'archived') ORDER BY id DESC LIMIT 3000",
            {"d": center},
        )
    ]
    rt = {code: i for code, i in fast.rows("SELECT code, id FROM resource_types")}
    fast.close()
    import uuid

    mechanics = [m if isinstance(m, uuid.UUID) else uuid.UUID(str(m)) for m in mechanics]
    first = local_today() + timedelta(days=28 + 14 * run)
    days: list[date] = []
    day = first
    while len(days) < DAYS:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    db = Database(url)

    def free(session: Any, day: date, code: str, hours: float, user_id: Any = None) -> None:
        row = ledger_rows.capacity_row(session, center, rt[code], day, user_id, lock=True)
        used = row.used_hours if row is not None else 0.0
        if user_id is not None:  # a person's day holds PERSON_DAY_HOURS over every kind of work
            holding.lock_person_days(session, [(user_id, day)])
            others = sum(
                float(r.allocated_hours)
                for r in holding.person_day(session, center, user_id, day)
                if r.resource_type_id != rt[code]
            )
            allocated = min(PERSON_DAY_HOURS - others, used + hours)
        else:
            allocated = used + hours
        capacity.set_capacity(
            session,
            actor,
            dealership_id=center,
            resource_type_id=rt[code],
            date=day,
            allocated_hours=allocated,
            user_id=user_id,
        )

    for i, day in enumerate(days):
        room = TIGHT_FREE if i < TIGHT_DAYS else ROOMY_FREE
        for code, hours in room.items():
            db.run(free, day, code, hours)
        if i >= TIGHT_DAYS:
            for mechanic in mechanics:
                db.run(free, day, "TECH_PREP", 24.0, mechanic)
    db.dispose()
    return {
        "center": center,
        "actor": actor,
        "mechanics": mechanics,
        "cars": cars,
        "rt": rt,
        "days": days,
        "tight": set(days[:TIGHT_DAYS]),
    }


def _overbooked(fast: Any) -> set[int]:
    return {
        int(r[0])
        for r in fast.rows(
            "SELECT id FROM resource_capacities WHERE used_hours > allocated_hours + 1e-6"
        )
    }


def _ledger_on(fast: Any, center: int, days: list[date]) -> list[str]:
    """``check_ledger``'s comparison, restricted to one center and a few days (fast)."""
    from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

    holding = sql_in(BOOKING_HOLDING_STATUSES)
    params = {"c": center, "d0": min(days), "d1": max(days)}
    problems = []
    for label, person in (("team", "c.user_id IS NULL"), ("person", "c.user_id IS NOT NULL")):
        join_user = "AND b.user_id = c.user_id" if label == "person" else ""
        rows = fast.rows(
            f"SELECT c.id, c.date, c.used_hours, c.allocated_hours, "
            f"coalesce(sum(b.estimated_hours), 0) FROM resource_capacities c "
            f"LEFT JOIN resource_bookings b ON b.provider_dealership_id = c.dealership_id "
            f"AND b.resource_type_id = c.resource_type_id AND b.date = c.date {join_user} "
            f"AND b.status IN {holding} "
            f"WHERE c.dealership_id = :c AND c.date BETWEEN :d0 AND :d1 AND {person} "
            f"GROUP BY c.id, c.date, c.used_hours, c.allocated_hours",
            params,
        )
        for row_id, day, used, allocated, held in rows:
            if abs(float(used) - float(held)) > 1e-6:
                problems.append(f"{label} row #{row_id} {day}: used {used} but bookings {held}")
            if float(used) > float(allocated) + 1e-6:
                problems.append(f"{label} row #{row_id} {day}: used {used} > allocated {allocated}")
    return problems


def _sharing_on(fast: Any, center: int, days: list[date]) -> list[str]:
    """Weekly sharing caps of the center's consumers in the weeks of ``days``."""
    from db.clock import iso_week_bounds
    from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

    holding = sql_in(BOOKING_HOLDING_STATUSES)
    problems = []
    for monday in sorted({iso_week_bounds(d)[0] for d in days}):
        rows = fast.rows(
            f"SELECT b.consumer_dealership_id, b.resource_type_id, sum(b.estimated_hours), "
            f"s.max_hours_per_week FROM resource_bookings b JOIN resource_sharing s "
            f"ON s.provider_dealership_id = b.provider_dealership_id "
            f"AND s.consumer_dealership_id = b.consumer_dealership_id "
            f"AND s.resource_type_id = b.resource_type_id "
            f"WHERE b.provider_dealership_id = :c AND b.status IN {holding} "
            f"AND b.date BETWEEN :d0 AND :d1 "
            f"GROUP BY b.consumer_dealership_id, b.resource_type_id, s.max_hours_per_week",
            {"c": center, "d0": monday, "d1": monday + timedelta(days=6)},
        )
        for consumer, rt, hours, cap in rows:
            if float(hours) > float(cap) + 1e-6:
                problems.append(
                    f"week of {monday}: dealership {consumer} type {rt}: {hours} > {cap}"
                )
    return problems


KINDS = {
    "book": "db.ledger.book",
    "floor": "FLOOR: plain ORM booking",
    "commit": "FLOOR: one-row commit",
}


def bench_booking(
    url: str,
    processes: int,
    seconds: float,
    run: int,
    *,
    kind: str = "book",
    synchronous: str | None = None,
    warmup: float = 1.0,
    lock_log: bool = False,
) -> float:
    from db.engine import Database
    from db.fast import FastReader

    plan = _contention_plan(url, run)
    plan["kind"] = kind
    plan["synchronous"] = synchronous
    plan["warmup"] = warmup
    plan["lock_log"] = lock_log
    if kind == "commit":
        database = Database(url)
        database.run(
            lambda s: s.connection().exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS bench_commits (n integer)"
            )
        )
        database.dispose()
    fast = FastReader(url)
    before = _overbooked(fast)
    booked_before = int(fast.rows("SELECT count(*) FROM resource_bookings")[0][0])
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_booker,
            args=(url, plan, seconds, 1000 * run + i, barrier, results),
            daemon=True,
        )
        for i in range(processes)
    ]
    spawn_started = time.perf_counter()
    for w in workers:
        w.start()
    barrier.wait(timeout=600)
    ready_after = time.perf_counter() - spawn_started
    with suppress(threading.BrokenBarrierError):  # the workers' end: they let go after this
        barrier.wait(timeout=warmup + seconds + 600)
    outs = []
    while len(outs) < processes:
        try:
            outs.append(results.get(timeout=seconds + 120))
        except queue.Empty:
            print(f"  workers stopped answering ({len(outs)}/{processes} reported)")
            break
    for w in workers:
        w.join(timeout=30)
    ok = [t for o in outs for t in o["ok"]]
    warm = sum((o["warm"] for o in outs), Counter())
    refused = [t for o in outs for t in o["refused"]]
    reasons = sum((o["reasons"] for o in outs), Counter())
    errors = sum((o["errors"] for o in outs), Counter())
    retried = sum((o["retried"] for o in outs), Counter())
    wall = max(o["end"] for o in outs) - min(o["start"] for o in outs)
    locked_retried = sum(n for e, n in retried.items() if "locked" in e.lower())
    locked_escaped = sum(n for e, n in errors.items() if "locked" in e.lower() or "busy" in e)
    booked_after = int(fast.rows("SELECT count(*) FROM resource_bookings")[0][0])
    after = _overbooked(fast)
    ledger_problems = _ledger_on(fast, plan["center"], plan["days"])
    sharing_problems = _sharing_on(fast, plan["center"], plan["days"])
    fast.close()
    attempts = len(ok) + len(refused) + sum(errors.values())
    what = KINDS[kind]
    if synchronous and url.startswith("sqlite"):
        what += f" (SQLite synchronous = {synchronous})"
    if url.startswith("postgresql"):
        from db.engine import WRITE_LANES

        what += f" (this machine's writes {WRITE_LANES} at a time)"
    print(
        f"\n  {what}: {processes} processes x {seconds:g} s on {len(plan['days'])} days "
        f"({TIGHT_DAYS} tight) at dealership "
        f"#{plan['center']} ({len(plan['cars'])} cars, {len(plan['mechanics'])} mechanics; "
        f"workers ready {ready_after:.1f} s after spawn; {_common.load_note()})"
    )
    print(
        f"    bookings/s {len(ok) / wall:8.1f}   attempts/s {attempts / wall:8.1f}   "
        f"({len(ok):,} booked, {len(refused):,} refused "
        f"{dict(reasons) if reasons else ''}, {sum(errors.values())} other errors, "
        f"wall {wall:.1f} s; in the {warmup:g} s warm-up before it, not counted: "
        f"{warm['booked']:,} booked, {warm['refused']:,} refused)"
    )
    cpu = sum(o["cpu"] for o in outs)
    print(
        f"    CPU of the booking processes: {cpu:.1f} s, {cpu / max(attempts, 1) * 1000:.2f} ms "
        "per attempt (the database's too on SQLite, which runs in them)"
    )
    if lock_log and url.startswith("sqlite"):
        print(f"    the write lock: {_lock_summary([h for o in outs for h in o['holds']])}")
    if ok:
        print(f"    latency booked   {summary_ms(ok)}")
    if refused:
        print(f"    latency refused  {summary_ms(refused)}")
    both = ok + refused
    if both:
        print(
            f"    latency all      p50 {percentile(both, 50):8.2f} ms   "
            f"p99 {percentile(both, 99):8.2f} ms"
        )
    print(
        f"    'database is locked': {locked_retried} retried inside Database.run, "
        f"{locked_escaped} reached the caller; other driver errors retried: "
        f"{sum(retried.values()) - locked_retried}"
    )
    for message, n in errors.most_common(5):
        print(f"    error x{n}: {message}")
    print(
        f"    rows added {booked_after - booked_before:,} (booked {len(ok) + warm['booked']:,});  "
        f"overbooked rows new: {len(after - before)} (before {len(before)}, after {len(after)});  "
        f"ledger mismatches on those days: {len(ledger_problems)};  "
        f"weekly caps exceeded: {len(sharing_problems)}"
    )
    for problem in (ledger_problems + sharing_problems)[:10]:
        print(f"    ! {problem}")
    print(f"    largest worker peak RSS {max(o['rss_mb'] for o in outs):.0f} MB")
    return max(o["rss_mb"] for o in outs)


def run_doctor(url: str) -> None:
    from db.doctor import run_checks
    from db.engine import Database

    db = Database(url)
    started = time.perf_counter()
    with db.read() as session:
        findings = run_checks(session)
    took = time.perf_counter() - started
    counts = Counter((f.level, f.check) for f in findings)
    print(f"\n  db.doctor.run_checks on the whole database: {took:.1f} s, findings {dict(counts)}")
    for f in findings[:5]:
        print(f"    {f.level}: {f.message}")
    db.dispose()


# ------------------------------------------------------------------------------------------------
def bench(url: str, args: argparse.Namespace) -> None:
    print(f"\n=== {url.split('://')[0]}: {_common.database_name(url)} ({_common.load_note()}) ===")
    print(f"code: {_common.code_version()}")
    print(f"peak RSS at start (interpreter + bench helpers): {rss_mb():.0f} MB")
    t0 = time.perf_counter()
    from db.fast import FastReader

    fast = FastReader(url)
    fast.rows("SELECT 1")
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    import db.ledger  # noqa: F401  (the ORM layer: SQLAlchemy, SQLModel, the rules)
    from db.engine import Database

    database = Database(url)
    with database.read() as session:
        session.connection()
    t_orm = time.perf_counter() - t0
    print(
        f"load: FastReader + connect {t_fast * 1000:.0f} ms; ORM layer + engine {t_orm * 1000:.0f} ms"
    )
    counts = {
        t: int(fast.rows(f"SELECT count(*) FROM {t}")[0][0])
        for t in ("cars", "resource_bookings", "resource_capacities", "users", "dealership")
    }
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    if not args.skip_reads:
        actors = pick_actors(fast)
        bench_status_counts(fast, actors, args.runs, args.query_limit)
        bench_car_list(fast, actors, max(5, args.runs // 2), args.query_limit)
    main_rss = rss_mb()
    print(f"\n(d) peak RSS after loading db and running (a) and (b): {main_rss:.0f} MB")
    fast.close()
    database.dispose()
    if args.processes:
        print(f"\n(c) booking through db.ledger.book via Database.run ({url.split('://')[0]})")
        kinds = ["book"] + ["floor"] * args.floor + ["commit"] * args.commit_floor
        syncs = [None] + ([args.sqlite_synchronous] if args.sqlite_synchronous else [])
        if not url.startswith("sqlite"):
            syncs = [None]
        for run, n in enumerate(args.processes):
            for synchronous in syncs:
                for kind in kinds:
                    with _common.writable_copy(url) as copy:  # each run from the same rows
                        bench_booking(
                            copy,
                            n,
                            args.seconds,
                            run,
                            kind=kind,
                            synchronous=synchronous,
                            warmup=args.warmup,
                            lock_log=args.lock_log,
                        )
    if not args.no_doctor:
        run_doctor(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="SQLite file or postgresql:// URL built by build_large.py")
    parser.add_argument(
        "--engine",
        choices=("sqlite", "postgresql"),
        help="without --db: build a database first (postgresql: in a throwaway cluster)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="size of a database built here")
    parser.add_argument("--runs", type=int, default=50, help="runs per read figure")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each booking run")
    parser.add_argument(
        "--lock-log",
        action="store_true",
        help="SQLite: log every hold of the write lock and print how it was used (held %%, a "
        "write's hold and its commit, the hand-over from one writer to the next)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        help="seconds of booking before each run's measured seconds, counted apart (the line of "
        "32 sessions forming, each one's first write)",
    )
    parser.add_argument(
        "--processes",
        default="8,32",
        help="booking runs, comma-separated process counts ('' for none)",
    )
    parser.add_argument("--no-doctor", action="store_true", help="skip the full db.doctor")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="after each booking run, the same run with a plain ORM booking (the floor)",
    )
    parser.add_argument(
        "--commit-floor",
        action="store_true",
        help="after each booking run, the same processes each committing one small row (the "
        "floor of any write: on SQLite, the commit's sync to disk under the write lock)",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("normal", "off"),
        help="SQLite: also run each booking run with this PRAGMA synchronous in the workers (what "
        "the code costs without the sync to disk; prepfloor itself keeps the durable FULL)",
    )
    parser.add_argument(
        "--skip-reads", action="store_true", help="skip (a) and (b): only the booking runs"
    )
    parser.add_argument(
        "--query-limit",
        type=float,
        default=60.0,
        help="stop a read that runs longer than this many seconds (reported as ABORTED)",
    )
    args = parser.parse_args(argv)
    args.processes = [int(p) for p in args.processes.split(",") if p.strip()]
    # On SIGTERM, exit normally: the booking workers (daemons) and a throwaway cluster are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.db:
        bench(_common.current_database(args.db), args)
        return 0
    if args.engine == "postgresql":
        with _common.throwaway_cluster() as server:
            url = _common.database_url(_common.with_database(server, "prepfloor_large"))
            build_in_subprocess(url, args.scale)
            bench(url, args)
        return 0
    path = os.path.join("/tmp", f"prepfloor-bench-{args.scale:g}.db")
    if not os.path.exists(path):
        build_in_subprocess(path, args.scale)
    bench(_common.database_url(path), args)
    return 0


def build_in_subprocess(db: str, scale: float) -> None:
    """Build with ``build_large.py`` in its own process, so this one's RSS stays its own."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "build_large.py")
    subprocess.run(
        [sys.executable, script, "--db", db, "--scale", str(scale), "--force"], check=True
    )


if __name__ == "__main__":
    sys.exit(main())
