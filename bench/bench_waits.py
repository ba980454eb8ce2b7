"""Waits behind another terminal: how long a user waits before being told, and how long a booking
waits during a large import.

For each engine it builds the tests' small world (``tests/world.py``) in a fresh database and:

* **frozen writer**: another OS process opens a write transaction (SQLite: the write gate and
  ``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT ... FOR UPDATE`` on the capacity rows) and stops
  itself (``SIGSTOP``).  A booking from this process is timed: when ``Database.on_wait`` said
  "waiting" and when the refusal (``db.errors.HeldUp``) came, with ``write_wait`` = ``--wait``
  seconds (the setting's default: 10).  Then the writer is continued and one more booking timed.
* **import**: another OS process books 0.25 h (and cancels it again) every ``--every`` seconds
  through ``Database.run`` while this process imports ``--rows`` cars with
  ``db.transfer.import_csv``; the bookings' waits that started during the import are printed
  (median, 90th percentile, maximum).

Usage::

    python bench/bench_waits.py [--engine sqlite|postgresql|both] [--wait 10] [--rows 5000]

PostgreSQL comes from a throwaway cluster (``tests/pgcluster.py``).  Figures only: nothing here
asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from _common import (  # noqa: E402
    code_version,
    create_pg_database,
    load_note,
    percentile,
    throwaway_cluster,
    with_database,
)
from bench_import import write_file  # noqa: E402


# ------------------------------------------------------------------------------------------------
# the frozen writer
# ------------------------------------------------------------------------------------------------
def frozen_writer(url: str, ready: Any) -> None:
    from sqlalchemy import text

    from db.engine import Database

    db = Database(url)
    with db.write() as session:
        if db.dialect == "postgresql":
            session.execute(text("SELECT id FROM resource_capacities FOR UPDATE"))
        ready.set()
        os.kill(os.getpid(), signal.SIGSTOP)
    db.dispose()


def book(db: Any, w: Any, hours: float = 0.25) -> Any:
    from db import ledger

    return db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(1),
        estimated_hours=hours,
        user_id=w["mechanic499"].user_id,
    )


def measure_frozen(url: str, label: str, args: argparse.Namespace) -> None:
    from db.engine import Database
    from db.errors import PrepfloorError

    database = Database(url, write_wait=args.wait)
    w = build(database)
    book(database, w)  # connected and warm
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    writer = ctx.Process(target=frozen_writer, args=(url, ready), daemon=True)
    writer.start()
    ready.wait(60)
    time.sleep(0.3)  # it has stopped itself
    told: list[tuple[bool, float]] = []
    t0 = time.perf_counter()
    database.on_wait = lambda waiting: told.append((waiting, time.perf_counter() - t0))
    try:
        book(database, w)
        outcome = "saved (!)"
    except PrepfloorError as refusal:
        outcome = f"{type(refusal).__name__}: {refusal}"
    refused = time.perf_counter() - t0
    database.on_wait = None
    os.kill(writer.pid, signal.SIGCONT)  # type: ignore[arg-type]
    writer.join(60)
    t1 = time.perf_counter()
    book(database, w)
    after = time.perf_counter() - t1
    database.dispose()
    said = next((t for waiting, t in told if waiting), None)
    print(f"\n{label}: a booking behind a frozen writer (write_wait {args.wait:g} s)")
    print(f"  told 'waiting for another terminal'   {_s(said)}")
    print(f"  refused after                         {refused:8.2f} s   {outcome[:90]}")
    print(f"  next booking, writer continued        {after * 1000:8.1f} ms")


def _s(seconds: float | None) -> str:
    return "   never" if seconds is None else f"{seconds:8.2f} s"


# ------------------------------------------------------------------------------------------------
# a booking during an import
# ------------------------------------------------------------------------------------------------
def booker(url: str, every: float, stop: Any, out: Any) -> None:
    """Book 0.25 h and cancel it every ``every`` seconds until ``stop``; put ``[(started,
    seconds, outcome), ...]`` on ``out`` (the booking's wait only)."""
    from db import ledger
    from db.engine import Database
    from db.errors import PrepfloorError
    from world import World

    db = Database(url)
    w = World(db)
    w.actors["coordinator499"] = db.query(_actor, "coordinator499")
    w.actors["mechanic499"] = db.query(_actor, "mechanic499")
    w.rt["TECH_PREP"] = db.query(_type_id, "TECH_PREP")
    waits: list[tuple[float, float, str]] = []
    while not stop.is_set():
        started = time.time()
        t0 = time.perf_counter()
        try:
            booking = book(db, w)
            outcome = "ok"
        except PrepfloorError as refusal:
            booking, outcome = None, type(refusal).__name__
        waits.append((started, time.perf_counter() - t0, outcome))
        if booking is not None:
            db.run(ledger.cancel, w["coordinator499"], booking.id, reason="bench")
        time.sleep(every)
    db.dispose()
    out.put(waits)


def _actor(session: Any, login: str) -> Any:
    from db import users

    return users.trusted_actor(session, login)


def _type_id(session: Any, code: str) -> int:
    from sqlalchemy import text

    return int(
        session.execute(text("SELECT id FROM resource_types WHERE code = :c"), {"c": code}).scalar()
    )


def measure_import(url: str, label: str, args: argparse.Namespace) -> None:
    from db import transfer
    from db.engine import Database

    database = Database(url)
    w = build(database)
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="prepfloor-waits-") as folder:
        path = Path(folder) / "cars.csv"
        write_file(path, args.rows)
        stop, out = ctx.Event(), ctx.Queue()
        process = ctx.Process(target=booker, args=(url, args.every, stop, out))
        process.start()
        time.sleep(3.0)  # up and booking before the import starts
        started = time.time()
        t0 = time.perf_counter()
        try:
            count = transfer.import_csv(database, w["seller495"], "cars", path)
            outcome = "ok"
        except Exception as error:  # a figure, not a test
            count, outcome = 0, f"{type(error).__name__}: {str(error)[:160]}"
        took = time.perf_counter() - t0
        ended = time.time()
        time.sleep(1.0)
        stop.set()
        waits = out.get()
        process.join()
    database.dispose()
    before = [s for t, s, _o in waits if t < started]
    during = [s for t, s, _o in waits if started <= t <= ended]
    refused = sum(1 for t, _s, o in waits if started <= t <= ended and o != "ok")
    print(f"\n{label}: a booking every {args.every:g} s during a {args.rows:,}-car import")
    print(f"  import                                {took:8.2f} s   ({outcome}; {count:,} rows)")
    if before:
        print(
            f"  booking, nothing else running         median {statistics.median(before) * 1000:7.1f}"
            f" ms   max {max(before) * 1000:7.1f} ms   (n={len(before)})"
        )
    if during:
        print(
            f"  booking during the import             median {statistics.median(during) * 1000:7.1f}"
            f" ms   p90 {percentile(during, 90) * 1000:7.1f} ms   max {max(during) * 1000:7.1f} ms"
            f"   (n={len(during)}, refused {refused})"
        )


def build(database: Any) -> Any:
    from world import build_world

    return build_world(database, days=3)


def fresh(engine: str, server: str | None, folder: str, name: str) -> str:
    from db.migrate import upgrade

    if engine == "sqlite":
        url = f"sqlite:///{folder}/{name}.db"
    else:
        assert server is not None
        url = with_database(server, name)
        create_pg_database(url, drop=True)
    upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--wait", type=float, default=10.0, help="write_wait, seconds")
    parser.add_argument("--rows", type=int, default=5000, help="cars in the import")
    parser.add_argument("--every", type=float, default=0.05, help="seconds between bookings")
    args = parser.parse_args()
    print(f"prepfloor waits bench · code {code_version()} · {load_note()}")
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    with tempfile.TemporaryDirectory(prefix="prepfloor-waits-db-") as folder:
        for engine in engines:
            label = "SQLite" if engine == "sqlite" else "PostgreSQL"
            if engine == "sqlite":
                measure_frozen(fresh(engine, None, folder, "frozen"), label, args)
                measure_import(fresh(engine, None, folder, "imports"), label, args)
                continue
            with throwaway_cluster() as server:
                measure_frozen(fresh(engine, server, folder, "bench_frozen"), label, args)
                measure_import(fresh(engine, server, folder, "bench_imports"), label, args)
    print(f"\n{load_note()}")


if __name__ == "__main__":
    main()
