"""Workshop mode at the large database's size: start and stop a clock, and the job list.

Prints, for the mechanic with the most open jobs in the coming week:

* the job list's data (``db.jobs.my_jobs``) for a day and for the week, and the running clock's
  poll (``db.jobs.running_timer``);
* start and stop through ``db.timers`` (one process);
* the screen (a headless app, 120x40, in this process): Space on a job until the clock shows it
  running (saved and read back), Space again until it shows stopped; the job list of the week
  drawn after a reload.

A SQLite database is copied first (the bench clocks); a PostgreSQL one is written to as it is.
Usage: python bench/bench_workshop.py --db /tmp/large.db [--runs 20]
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


def busiest_mechanic(store: Any) -> tuple[Any, int]:
    from db.clock import local_today

    today = local_today()
    rows = store.fast.rows(
        "SELECT u.login, count(*) FROM resource_bookings b JOIN users u ON u.id = b.user_id "
        "WHERE u.role = 'mechanic' AND u.active AND b.date >= :first AND b.date < :last "
        "AND b.status IN ('scheduled', 'confirmed') GROUP BY u.login ORDER BY 2 DESC LIMIT 1",
        {"first": today.isoformat(), "last": (today + timedelta(days=7)).isoformat()},
    )
    login, count = rows[0]
    return store.fast.actor(login), int(count)


def data(store: Any, actor: Any, runs: int) -> list[Any]:
    from db import jobs
    from db.clock import local_today

    print("\n(a) the job list's data")
    today = local_today()
    week: list[Any] = []
    for days in (1, 7):
        times, week = timed(lambda d=days: jobs.my_jobs(store.fast, actor, today, d), runs)
        print(f"  my_jobs, {days} day(s): {len(week):>3} jobs      {summary_ms(times)}")
    times, _ = timed(lambda: jobs.running_timer(store.fast, actor.user_id), runs * 5)
    print(f"  running_timer (polled)            {summary_ms(times)}")
    return [
        j
        for j in week
        if j.mine and j.status in ("scheduled", "confirmed", "in_progress") and not j.parts_waiting
    ]


def rules(store: Any, actor: Any, jobs_: list[Any], runs: int) -> None:
    from db import timers

    print("\n(b) start and stop (db.timers, one process)")
    starts, stops = [], []
    for n in range(runs):
        job = jobs_[n % len(jobs_)]
        t0 = time.perf_counter()
        store.run(timers.start, actor, job.booking_id)
        t1 = time.perf_counter()
        store.run(timers.stop, actor)
        t2 = time.perf_counter()
        starts.append((t1 - t0) * 1000)
        stops.append((t2 - t1) * 1000)
    print(f"  start                             {summary_ms(starts)}")
    print(f"  stop                              {summary_ms(stops)}")


async def screens(store: Any, actor: Any, startable_day: Any, runs: int) -> None:
    from prepfloor.app import make_app
    from screens.workshop import JobsTable, MyJobsScreen

    print("\n(c) the screen (headless app, 120x40, in this process)")
    app = make_app(store, actor=actor)

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.6)
        await until(lambda: isinstance(app.screen, MyJobsScreen))
        screen = app.screen
        assert isinstance(screen, MyJobsScreen)
        await app.workers.wait_for_complete()
        # the week's jobs, so that the list holds the person's many jobs
        table = screen.query_one(JobsTable)
        from db import jobs

        listed: list[float] = []
        for _ in range(runs):
            t0 = time.perf_counter()
            rows = jobs.my_jobs(store.fast, actor, screen.day, 7)
            screen._show(rows, screen.timer)
            await pilot.pause()
            listed.append((time.perf_counter() - t0) * 1000)
        print(f"  the week's {len(table.rows)} jobs listed and drawn     {summary_ms(listed)}")
        screen.day = startable_day  # a day of the person's own jobs that can start
        screen.load()
        await app.workers.wait_for_complete()
        await pilot.pause()
        startable = [
            i
            for i, j in enumerate(table.rows)
            if j.mine
            and j.status in ("scheduled", "confirmed", "in_progress")
            and not j.parts_waiting
        ]
        started: list[float] = []
        stopped: list[float] = []
        saved_start: list[float] = []
        saved_stop: list[float] = []

        def saved_running(booking: int | None) -> bool:
            timer = jobs.running_timer(store.fast, actor.user_id)
            return (timer.booking_id if timer else None) == booking

        for n in range(runs):
            table.cursor = startable[n % len(startable)]
            booking_id = table.rows[table.cursor].booking_id
            t0 = time.perf_counter()
            table.action_select()  # what Space does
            await until(lambda b=booking_id: saved_running(b))
            saved_start.append((time.perf_counter() - t0) * 1000)
            await until(
                lambda b=booking_id: screen.timer is not None and screen.timer.booking_id == b
            )
            started.append((time.perf_counter() - t0) * 1000)
            await pilot.pause()
            t1 = time.perf_counter()
            table.cursor = [j.booking_id for j in table.rows].index(booking_id)
            table.action_select()
            await until(lambda: saved_running(None))
            saved_stop.append((time.perf_counter() - t1) * 1000)
            await until(lambda: screen.timer is None)
            stopped.append((time.perf_counter() - t1) * 1000)
            await pilot.pause()
        print(f"  key to start saved                {summary_ms(saved_start)}")
        print(f"  key to the clock shown running    {summary_ms(started)}")
        print(f"  key to stop saved                 {summary_ms(saved_stop)}")
        print(f"  key to the clock shown stopped    {summary_ms(stopped)}")


def run(url: str, runs: int) -> None:
    from db.store import Store

    store = Store(url)
    print(f"=== {store.dialect}: code {code_version()} ({load_note()}) ===")
    store.warm()
    actor, count = busiest_mechanic(store)
    print(f"mechanic {actor.login}: {count} open jobs in the coming 7 days")
    jobs_ = data(store, actor, runs)
    rules(store, actor, jobs_, runs)
    asyncio.run(screens(store, actor, jobs_[0].date, runs))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="a database built by bench/build_large.py")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with writable_copy(current_database(args.db)) as url:
        run(url, args.runs)


if __name__ == "__main__":
    main()
