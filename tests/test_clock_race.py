"""One person, two terminals, two jobs started at the same instant, on SQLite and on PostgreSQL.

Two OS processes (``spawn`` context, started once for the module) each open their own
:class:`db.engine.Database`, wait at a barrier and call :func:`db.timers.start` through
``Database.run`` for two different jobs of the same mechanic at the same moment.  Every round,
from no clock and from a clock running on a third job: nothing but a :class:`db.errors.PrepfloorError`
may reach the caller (never the raw ``IntegrityError`` of the one-running-clock index), exactly one
clock runs afterwards, and the person's time entries do not overlap.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest

from db import timers
from db.models import TimebankEntry
from world import book, build_world, rows

pytestmark = pytest.mark.slow

ROUNDS = 24
RACE_TIMEOUT = 60  # seconds; a hung race fails instead of blocking the run


def _worker(index: int, tasks: Any, barrier: Any, results: Any) -> None:
    """One terminal: per task, open the database (once per URL) and start one job at the
    barrier."""
    from db import timers
    from db.engine import Database
    from db.errors import PrepfloorError

    db: Database | None = None
    while True:
        task = tasks.get()
        if task is None:
            break
        url, actor, booking_id = task
        if db is None or db.url != url:
            if db is not None:
                db.dispose()
            db = Database(url)
            with db.read() as session:  # connect before the race, not during it
                session.connection()
        barrier.wait(timeout=RACE_TIMEOUT)
        try:
            db.run(timers.start, actor, booking_id)
            outcome = ("ok", None, None)
        except PrepfloorError as refusal:
            outcome = ("refused", type(refusal).__name__, str(refusal))
        except Exception as error:  # what must never happen
            outcome = ("error", type(error).__name__, str(error)[:300])
        results.put((index, booking_id, *outcome))
    if db is not None:
        db.dispose()


class Terminals:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(2)
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(2)]
        self.processes = [
            ctx.Process(
                target=_worker, args=(i, self.tasks[i], self.barrier, self.results), daemon=True
            )
            for i in range(2)
        ]
        for p in self.processes:
            p.start()

    def race(self, url: str, actor: Any, jobs: tuple[int, int]) -> list[tuple[Any, ...]]:
        for tasks, job in zip(self.tasks, jobs, strict=True):
            tasks.put((url, actor, job))
        found: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + RACE_TIMEOUT
        while len(found) < 2:
            try:
                found.append(self.results.get(timeout=1))
            except queue.Empty:
                codes = [p.exitcode for p in self.processes]
                if any(c is not None for c in codes) or time.monotonic() > deadline:
                    pytest.fail(f"race did not finish: {found}, exit codes {codes}")
        return sorted(found)

    def stop(self) -> None:
        for tasks in self.tasks:
            tasks.put(None)
        for p in self.processes:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()


@pytest.fixture(scope="module")
def terminals() -> Iterator[Terminals]:
    pool = Terminals()
    yield pool
    pool.stop()


def _overlaps(entries: list[dict[str, Any]]) -> list[str]:
    """Entries of one person that run at the same time (or end before they start)."""
    problems = []
    ordered = sorted(entries, key=lambda e: (e["started_at"], e["id"]))
    for e in ordered:
        if e["ended_at"] is not None and e["ended_at"] < e["started_at"]:
            problems.append(f"entry {e['id']} ends before it starts")
    for a, b in itertools.pairwise(ordered):
        if a["ended_at"] is None or a["ended_at"] > b["started_at"]:
            problems.append(f"entries {a['id']} and {b['id']} overlap")
    return problems


def test_two_terminals_of_one_person_start_two_jobs_at_once(
    db_url: str, db: Any, terminals: Terminals
) -> None:
    w = build_world(db, days=2)
    me = w["mechanic499"]
    first, second, third = (book(w, 0, 1) for _ in range(3))
    for number in range(ROUNDS):
        if number % 2:  # a clock already runs on a third job: both terminals switch from it
            w.db.run(timers.start, me, third)
        outcomes = terminals.race(db_url, me, (first, second))
        explain = f"round {number}: {outcomes}"
        assert all(kind in ("ok", "refused") for _, _, kind, *_ in outcomes), explain
        clocks = rows(w, TimebankEntry, user_id=me.user_id, ended_at=None)
        assert len(clocks) == 1, explain
        assert clocks[0]["booking_id"] in (first, second), explain
        started = [job for _, job, kind, *_ in outcomes if kind == "ok"]
        assert clocks[0]["booking_id"] in started, explain
        assert _overlaps(rows(w, TimebankEntry, user_id=me.user_id)) == [], explain
        w.db.run(timers.stop, me)
    entries = rows(w, TimebankEntry, user_id=me.user_id)
    assert all(e["ended_at"] is not None for e in entries)
    assert _overlaps(entries) == []


def test_the_one_clock_index_is_said_in_words_if_it_ever_refuses(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a start ever reach the one-running-clock index (a path around the lock), the person
    reads what happened, not a driver's ``IntegrityError``."""
    from db.errors import TimerError

    w = build_world(db, days=2)
    me = w["mechanic499"]
    first, second = book(w, 0, 1), book(w, 0, 1)
    w.db.run(timers.start, me, first)
    monkeypatch.setattr(timers, "running", lambda *a, **k: None)  # blind to the running clock
    with pytest.raises(TimerError, match="another job at the same moment"):
        w.db.run(timers.start, me, second)
    monkeypatch.undo()
    assert [e["booking_id"] for e in rows(w, TimebankEntry, user_id=me.user_id, ended_at=None)] == [
        first
    ]


@pytest.fixture
def two_jobs(ui_store: Any) -> Iterator[Any]:
    """The fixed world on a Monday morning (UTC); Per (mechanic499) has two jobs today."""
    from datetime import UTC

    from db import clock
    from world import T0

    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        w = build_world(ui_store.db, days=2)
        w.jobs = [book(w, 0, 2), book(w, 0, 2)]  # type: ignore[attr-defined]
        yield w
    finally:
        clock.freeze(None)
        clock.set_zone(None)


async def test_the_terminal_whose_press_lost_says_which_clock_runs(
    ui_store: Any, two_jobs: Any
) -> None:
    """The other terminal of the same person pressed start on another job right after this one's
    start committed: this terminal says which clock runs now, not only "Started"."""
    from test_app import SIZE, settle
    from test_workshop_ui import jobs_screen, running

    from prepfloor.app import make_app

    w = two_jobs
    _, second = w.jobs
    me = w["mechanic499"]
    real_run = ui_store.run

    def run_then_the_other_terminal(fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_run(fn, *args, **kwargs)
        if fn is timers.start:
            real_run(timers.start, me, second)  # the other terminal's press, a moment later
        return result

    app = make_app(ui_store, actor=me)
    async with app.run_test(size=SIZE) as pilot:
        await jobs_screen(app, pilot)
        ui_store.run = run_then_the_other_terminal
        try:
            await pilot.press("space")  # start the first job
            await settle(pilot, app)
        finally:
            ui_store.run = real_run
        assert [e["booking_id"] for e in running(w)] == [second]
        toasts = [(str(n.message), n.severity) for n in app._notifications]
        said = [t for t in toasts if "Another terminal" in t[0]]
        assert said and said[-1][1] == "warning", toasts
        assert "now runs on" in said[-1][0]
        assert app.screen.timer is not None and app.screen.timer.booking_id == second
