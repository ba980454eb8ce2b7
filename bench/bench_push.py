"""How fast a change reaches another session's screen, and what an untouched list costs.

Two real sessions: session B is a ``prepfloor`` process in a pty, signed in as the admin (the OS
user) on the list of every car; "terminal A" is this process writing through prepfloor's rules
(``db.cars.update_car``) and, on PostgreSQL, a plain ``psql``-like client (psycopg, no prepfloor)
writing SQL.  Each round renames the customer of the car on B's first line to a new word and
times, from the moment the write has committed, until that word is drawn in B's terminal.

Then the list's own cost: B's CPU time for a change it does not show (a capacity row set by a
coordinator, the rows that change a hundred times a day) against one it shows (a car renamed).
With 100,000 cars, a reload of the list's ids is tens of milliseconds of CPU; a change that does
not touch the list must cost next to nothing.

Targets: on screen within 0.25 s p99; an untouched list does not reload.
Usage: python bench/bench_push.py --db /tmp/large.db [--rounds 60]
       python bench/bench_push.py --db postgresql://postgres@127.0.0.1:5432/large
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import getpass
import random
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import code_version, current_database, load_note, percentile  # noqa: E402
from bench_idle import cpu_seconds  # noqa: E402
from bench_tui import Session, ensure_os_user  # noqa: E402


def first_car(url: str, login: str) -> int:
    """The car on the first line of the list the admin opens on."""
    from db.fast import CarQuery, FastReader
    from db.store import Store

    store = Store(url)
    try:
        actor = store.fast.actor(login)
        fast: FastReader = store.fast
        rows = fast.car_page(actor, CarQuery(), 0, 1)
        return int(rows[0].id)
    finally:
        store.close()


def watch(session: Session, stop: threading.Event, seen: dict[bytes, float]) -> None:
    """Read B's terminal; note when each awaited word first appears."""
    import os
    import select

    from bench_tui import ANSI

    tail = b""
    while not stop.is_set():
        ready, _, _ = select.select([session.fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(session.fd, 65536)
        except OSError:
            return
        now = time.perf_counter()
        tail = (tail + ANSI.sub(b"", chunk))[-4096:]
        for word in list(seen):
            if seen[word] == 0.0 and word in tail:
                seen[word] = now


def rounds(url: str, login: str, car_id: int, count: int, writer: str, session: Session) -> None:
    from db import cars, users
    from db.engine import Database

    db = Database(url)
    actor = db.query(users.trusted_actor, login)
    raw = None
    if writer == "psql":
        import psycopg
        from _common import libpq

        raw = psycopg.connect(libpq(url), autocommit=True, application_name="bench-psql")
    stop = threading.Event()
    seen: dict[bytes, float] = {}
    reader = threading.Thread(target=watch, args=(session, stop, seen), daemon=True)
    reader.start()
    times: list[float] = []
    missed = 0
    try:
        for n in range(count):
            word = f"Push{writer[:1].upper()}{n:03d}x{random.randrange(10**6):06d}"
            key = word.encode()
            seen[key] = 0.0
            if raw is not None:
                raw.execute("UPDATE cars SET customer_name = %s WHERE id = %s", (word, car_id))
            else:
                db.run(cars.update_car, actor, car_id, customer_name=word)
            committed = time.perf_counter()
            deadline = committed + 5.0
            while seen[key] == 0.0 and time.perf_counter() < deadline:
                time.sleep(0.002)
            if seen[key]:
                times.append(seen[key] - committed)
            else:
                missed += 1
            time.sleep(random.uniform(0.15, 0.35))
    finally:
        stop.set()
        reader.join(1)
        if raw is not None:
            raw.close()
        db.dispose()
    ms = [t * 1000 for t in times]
    print(
        f"  {writer:>8}: {len(ms)} changes on screen, {missed} not within 5 s; "
        f"p50 {percentile(ms, 50):.0f} ms, p90 {percentile(ms, 90):.0f} ms, "
        f"p99 {percentile(ms, 99):.0f} ms, max {max(ms, default=0):.0f} ms"
    )


def untouched(url: str, login: str, car_id: int, count: int, session: Session) -> None:
    """B's CPU for changes it does not show against changes it shows."""
    from db import capacity, cars, users
    from db.clock import local_today
    from db.engine import Database
    from db.fast import FastReader

    db = Database(url)
    actor = db.query(users.trusted_actor, login)
    fast = FastReader(url)
    dealership, resource_type = fast.rows(
        "SELECT dealership_id, resource_type_id FROM resource_capacities "
        "WHERE user_id IS NULL ORDER BY id LIMIT 1"
    )[0]
    fast.close()
    stop = threading.Event()
    reader = threading.Thread(target=watch, args=(session, stop, {}), daemon=True)
    reader.start()

    def cost(write: object) -> float:
        spent = []
        for n in range(count):
            before = cpu_seconds([session.pid])
            write(n)  # type: ignore[operator]
            time.sleep(0.6)
            spent.append(cpu_seconds([session.pid]) - before)
        return sum(spent) / len(spent) * 1000

    far = local_today() + timedelta(days=400)
    try:
        quiet = cost(
            lambda n: db.run(
                capacity.set_capacity,
                actor,
                dealership_id=int(dealership),
                resource_type_id=int(resource_type),
                date=far,
                allocated_hours=8 + n % 2,
            )
        )
        shown = cost(
            lambda n: db.run(cars.update_car, actor, car_id, customer_name=f"Shown{n:04d}")
        )
    finally:
        stop.set()
        reader.join(1)
        db.dispose()
    print(
        f"  B's CPU per change: {quiet:.1f} ms for a capacity row (not on the list), "
        f"{shown:.1f} ms for a car renamed (on the list); {count} of each"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--cost-rounds", type=int, default=15)
    args = parser.parse_args()
    url = current_database(args.db)
    ensure_os_user(url)
    login = getpass.getuser()
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    from db.fast import FastReader

    fast = FastReader(url)
    n_cars = fast.rows("SELECT count(*) FROM cars")[0][0]
    fast.close()
    print(f"=== {dialect}, {n_cars:,} cars: code {code_version()} ({load_note()}) ===")
    car_id = first_car(url, login)
    session = Session(url)
    try:
        session.read_until(b"Cars", timeout=60)
        session.drain(1.0)
        rounds(url, login, car_id, args.rounds, "terminal", session)
        if dialect == "postgresql":
            rounds(url, login, car_id, args.rounds, "psql", session)
        untouched(url, login, car_id, args.cost_rounds, session)
    finally:
        session.close()
    print(f"  ({load_note()})")


if __name__ == "__main__":
    main()
