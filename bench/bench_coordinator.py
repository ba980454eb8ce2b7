"""Coordinator mode at the large database's size: the capacity grid and booking.

Prints, at the prep center with the most grid rows:

* the grid's data (``db.grid.week_grid``) for one week and for four weeks;
* the grid on screen (a headless app, 120x40, in this process): ``]`` / ``[`` to another week
  until its cells are drawn, for the week view and the four-week view;
* a booking save through ``db.ledger.book`` (one process), and the booking form's ``ctrl+s`` until
  the grid shows the booking.

Bookings per second from 8 concurrent processes are measured by ``bench_db.py`` (part c).
A SQLite database is copied first (the bench books); a PostgreSQL one is written to as it is.
Usage: python bench/bench_coordinator.py --db /tmp/large.db [--runs 20]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import (  # noqa: E402
    code_version,
    current_database,
    load_note,
    summary_ms,
    timed,
    until,
    writable_copy,
)


def busiest_prep_center(store: Any) -> tuple[int, int, int]:
    """The prep center with the most grid rows: (dealership id, resource rows, people)."""
    rows = store.fast.rows(
        "SELECT c.dealership_id, count(DISTINCT c.resource_type_id), "
        "count(DISTINCT c.user_id) FROM resource_capacities c "
        "JOIN resource_types t ON t.id = c.resource_type_id AND t.bookable AND t.active "
        "GROUP BY c.dealership_id ORDER BY 2 + 3 DESC"
    )
    best = max(rows, key=lambda r: r[1] + r[2])
    return int(best[0]), int(best[1]), int(best[2])


def coordinator_of(store: Any, dealership_id: int) -> Any:
    login = store.fast.rows(
        "SELECT login FROM users WHERE role = 'coordinator' AND active AND dealership_id = :d "
        "ORDER BY login",
        {"d": dealership_id},
    )[0][0]
    return store.fast.actor(login)


def data(store: Any, dealership_id: int, runs: int) -> None:
    from db import grid
    from db.clock import iso_week_bounds, local_today

    monday = iso_week_bounds(local_today())[0]
    print("\n(a) the grid's data (db.grid.week_grid)")
    for days in (7, 28):
        times, result = timed(
            lambda d=days: grid.week_grid(store.fast, dealership_id, monday, d), runs
        )
        cells = sum(len(r.cells) for r in result.rows)
        print(
            f"  {days:>2} days: {len(result.rows):>3} rows, {cells:>5} cells   {summary_ms(times)}"
        )


def book_once(store: Any, actor: Any, dealership_id: int, n: int) -> Any:
    """Book an hour of team work (no person needed) on a day that has room."""
    from db import ledger
    from db.clock import local_today

    rows = store.fast.rows(
        "SELECT t.id FROM resource_types t WHERE t.bookable AND t.active "
        "AND NOT t.requires_assignment ORDER BY t.id"
    )
    type_id = int(rows[0][0])
    day = local_today() + timedelta(days=1 + n % 20)
    car = store.fast.rows(
        "SELECT id FROM cars WHERE prep_center_id = :d AND status = 'registered' "
        "ORDER BY id LIMIT 1 OFFSET :n",
        {"d": dealership_id, "n": n % 50},
    )
    car_id = int(car[0][0]) if car else None
    try:
        return store.run(
            ledger.book,
            actor,
            resource_type_id=type_id,
            date=day,
            estimated_hours=0.25,
            car_id=car_id,
            provider_dealership_id=dealership_id,
        )
    except Exception as refusal:  # a full day: the refusal is timed too
        return refusal


def rules(store: Any, actor: Any, dealership_id: int, runs: int) -> None:
    print("\n(b) booking save (db.ledger.book, one process)")
    counter = iter(range(1_000_000))
    book_once(store, actor, dealership_id, next(counter))
    times, _ = timed(lambda: book_once(store, actor, dealership_id, next(counter)), runs)
    print(f"  book 0.25 h of team work             {summary_ms(times)}")


async def screens(store: Any, actor: Any, dealership_id: int, runs: int) -> None:
    from prepfloor.app import make_app
    from screens.capacity import CapacityScreen

    print("\n(c) the grid on screen (headless app, 120x40, in this process)")
    app = make_app(store, actor=actor)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.6)
        app.switch_mode("coordinator")
        await until(lambda: isinstance(app.screen, CapacityScreen) and app.screen.grid is not None)
        screen = app.screen
        assert isinstance(screen, CapacityScreen)
        if screen.dealership_id != dealership_id:
            screen.dealership_id = dealership_id
            screen.load()
            await until(
                lambda: screen.grid is not None and screen.grid.dealership_id == dealership_id
            )
        for month in (False, True):
            if screen.month != month:
                screen.action_toggle_month()
                await until(
                    lambda m=month: (
                        screen.grid is not None and len(screen.grid.days) == (28 if m else 7)
                    )
                )
            await pilot.pause()
            times = []
            for n in range(runs):
                step = 1 if n % 2 == 0 else -1  # back and forth: the weeks that hold data
                target = screen.monday + timedelta(weeks=step * (4 if month else 1))
                t0 = time.perf_counter()
                screen.action_week(step)
                await until(lambda t=target: screen.grid is not None and screen.grid.days[0] == t)
                await pilot.pause()  # the frame with the new cells
                times.append((time.perf_counter() - t0) * 1000)
            rows = len(screen.grid.rows) if screen.grid else 0
            label = "4 weeks" if month else "1 week "
            print(f"  ] or [ to another {label} drawn ({rows} rows)  {summary_ms(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="a database built by bench/build_large.py")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with writable_copy(current_database(args.db)) as url:
        run(url, args.runs)


def run(url: str, runs: int) -> None:
    from db.store import Store

    store = Store(url)
    print(f"=== {store.dialect}: code {code_version()} ({load_note()}) ===")
    store.warm()
    dealership_id, types, people = busiest_prep_center(store)
    actor = coordinator_of(store, dealership_id)
    print(
        f"prep center #{dealership_id}: {types} bookable resource types, {people} people with "
        f"their own capacity; coordinator {actor.login}"
    )
    data(store, dealership_id, runs)
    rules(store, actor, dealership_id, runs)
    asyncio.run(screens(store, actor, dealership_id, runs))
    store.close()


if __name__ == "__main__":
    main()
