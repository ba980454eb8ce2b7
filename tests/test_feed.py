"""The change feed is pushed (db/feed.py): a session hears each committed change through the
database itself, learns which tables and cars it touched, and asks nothing while nothing changes.

On PostgreSQL the events trigger announces each row at commit (LISTEN/NOTIFY), so a transaction
that took a lower event id and commits after one with a higher id is heard when it commits.  On
SQLite the session waits on the kernel for a write to the database's files, then checks
``PRAGMA data_version`` before it reads the new events.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlmodel import Session

from conftest import new_database
from db import cars, events, timers
from db.engine import Database
from db.feed import Change, Watcher, parse, summarize
from db.models import Event

ENGINES = ["sqlite", "postgresql"]


def _open_event(db: Database, what: str, entity: str = "feed_test") -> tuple[Session, int]:
    """A write transaction that has written one event (and so taken its id) and stays open."""
    session = Session(db.engine)
    session.begin()
    events.record(session, None, entity, what, "write")
    newest = session.scalar(select(func.max(Event.id)))
    return session, int(newest or 0)


def _event(db: Database, what: str, entity: str = "feed_test") -> int:
    session, event_id = _open_event(db, what, entity)
    session.commit()
    session.close()
    return event_id


class Heard:
    """A watcher and what it heard."""

    def __init__(self, url: str) -> None:
        self.changes: queue.Queue[Change] = queue.Queue()
        self.watcher = Watcher(url, self.changes.put).start()
        time.sleep(0.3)  # listening before the test writes

    def next(self, timeout: float = 5.0) -> Change:
        return self.changes.get(timeout=timeout)

    def nothing(self, wait: float = 0.5) -> bool:
        try:
            self.changes.get(timeout=wait)
        except queue.Empty:
            return True
        return False


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from new_database(request, request.param, tmp_path)


def test_payloads_and_rows_become_what_a_screen_needs() -> None:
    assert parse("12 cars 7 status") == (12, "cars", 7, "status")
    assert parse("13 users - sign_in") == (13, "users", None, "sign_in")
    assert parse("nonsense") is None
    change = summarize([(3, "cars", 7, "update"), (4, "users", None, "sign_in")])
    assert change == Change(4, frozenset({"cars"}), frozenset({7}))
    assert change.touches("cars", "car_access") and not change.touches("resource_bookings")
    assert change.touches_car(7) and not change.touches_car(8)
    quiet = summarize([(5, "users", None, "sign_in")])
    assert quiet is not None and quiet.quiet and quiet.newest == 5
    assert summarize([]) is None


def test_every_commit_is_heard_once_with_what_it_touched(url: str) -> None:
    db = Database(url)
    heard = Heard(url)
    try:
        first = _event(db, "one", "cars")
        change = heard.next()
        assert change.newest == first and change.entities == frozenset({"cars"})
        assert heard.nothing()
        _event(db, "two", "resource_bookings")
        change = heard.next()
        assert "resource_bookings" in (change.entities or ())
        assert heard.nothing()
        # a sign-in is heard, and is quiet: no screen reloads for it
        db.run(lambda s: events.record(s, None, "users", "x", "sign_in"))
        assert heard.next().quiet
    finally:
        heard.watcher.stop()
        db.dispose()


def test_a_watcher_started_from_a_seen_event_hears_what_came_after_it_at_once(url: str) -> None:
    """A session's first screen read the database before its feed began (the start reads while
    Textual loads): a change committed in between is heard as soon as the feed runs, without
    waiting for the next change."""
    db = Database(url)
    seen = _event(db, "before the first reads", "dealership")
    later = _event(db, "between the reads and the feed", "cars")
    changes: queue.Queue[Change] = queue.Queue()
    watcher = Watcher(url, changes.put, newest=seen).start()
    try:
        change = changes.get(timeout=5.0)
        assert change.newest == later and change.entities == frozenset({"cars"})
        with pytest.raises(queue.Empty):
            changes.get(timeout=0.5)  # heard once
    finally:
        watcher.stop()
        db.dispose()


def test_nothing_is_asked_while_nothing_changes(url: str) -> None:
    db = Database(url)
    heard = Heard(url)
    try:
        _event(db, "one")
        heard.next()
        time.sleep(1.0)  # the write's own tail (SQLite: a checkpoint of the log) has passed
        waits = heard.watcher.waits
        time.sleep(1.5)
        assert heard.watcher.waits == waits  # asleep on the socket / the kernel, not polling
    finally:
        heard.watcher.stop()
        db.dispose()


def test_a_lower_id_committed_after_a_higher_one_is_heard_when_it_commits(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for pg_url in new_database(request, "postgresql", tmp_path):
        db_a, db_b = Database(pg_url), Database(pg_url)
        heard = Heard(pg_url)
        try:
            a, n = _open_event(db_a, "A", "cars")  # A takes id n and stays open
            b = _event(db_b, "B", "resource_bookings")  # B takes n + 1 and commits first
            assert b > n
            assert heard.next().entities == frozenset({"resource_bookings"})
            assert heard.nothing()  # A is still open
            a.commit()
            a.close()
            change = heard.next()
            assert change.entities == frozenset({"cars"})  # heard, though its id is lower
        finally:
            heard.watcher.stop()
            db_a.dispose()
            db_b.dispose()


def _count_queries(store: Any) -> list[str]:
    """Every statement the session sends from now on (its reader and its ORM engine)."""
    seen: list[str] = []
    fast = store.fast
    original = fast._run

    def counted(sql: str, params: Any, consume: Any) -> Any:
        seen.append(sql)
        return original(sql, params, consume)

    fast._run = counted

    if store._db is not None:  # the ORM layer, once loaded

        @event.listens_for(store._db.engine, "before_cursor_execute")
        def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

    return seen


async def _wait_for(pilot: Any, app: Any, newest: int) -> None:
    from test_app import settle

    for _ in range(100):
        await pilot.pause(0.05)
        if (app._last_event_id or 0) >= newest:
            break
    assert (app._last_event_id or 0) >= newest
    await settle(pilot, app)


async def test_the_car_list_reloads_for_a_car_and_not_for_a_booking(url: str) -> None:
    """An admin's car list reloads its ids when a car changes, not when a booking does; and a
    session that is left alone asks the database nothing."""
    from test_app import SIZE, settle

    from db.store import Store
    from prepfloor.app import WARM_AFTER_SECONDS, make_app
    from screens.cars import CarListScreen
    from world import book, build_world

    store = Store(url)
    other = Database(url)  # another terminal
    try:
        w = build_world(store.db, days=2)
        car = w.register("seller495")
        app = make_app(store, actor=w["admin"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            await pilot.pause(WARM_AFTER_SECONDS * 3 + 0.5)  # the day's digest, once
            await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, CarListScreen)
            seen = _count_queries(store)
            await pilot.pause(1.5)
            assert seen == []  # nothing changed: nothing asked
            loads = screen.table._generation
            # another terminal books an hour of work: not what the list shows
            book(w, 0, 1)
            await _wait_for(pilot, app, other.query(events.latest_id))
            assert screen.table._generation == loads
            # another terminal renames the car's customer: the list reloads and shows it
            other.run(cars.update_car, w["seller495"], car, customer_name="Ny [b]Kunde")
            await _wait_for(pilot, app, other.query(events.latest_id))
            assert screen.table._generation > loads
            for _ in range(40):
                await pilot.pause(0.05)
                row = screen.table.row_at(0)
                if row is not None and row.customer_name == "Ny [b]Kunde":
                    break
            assert row is not None and row.customer_name == "Ny [b]Kunde"
    finally:
        other.dispose()
        store.close()


async def test_a_screen_shows_a_change_that_committed_out_of_order(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A mechanic's job list is open; another terminal of theirs starts a clock in a transaction
    that commits after a later, unrelated change: the list shows the clock when it commits."""
    from test_app import SIZE, settle

    from db.store import Store
    from prepfloor.app import make_app
    from screens.workshop import MyJobsScreen
    from world import book, build_world

    for pg_url in new_database(request, "postgresql", tmp_path):
        store = Store(pg_url)
        other, third = Database(pg_url), Database(pg_url)  # two more terminals
        try:
            w = build_world(store.db, days=2)
            me = w["mechanic499"]
            job = book(w, 0, 1)
            app = make_app(store, actor=me)
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot, app)
                await pilot.pause(0.3)
                screen = app.screen
                assert isinstance(screen, MyJobsScreen) and screen.timer is None
                with other.write() as a:  # A: the clock starts, its events take the lower ids
                    timers.start(a, me, job)
                    later = _event(third, "B")  # B: commits first, with a higher id
                    await _wait_for(pilot, app, later)
                    assert screen.timer is None
                for _ in range(60):  # A committed: the clock is on the screen
                    await pilot.pause(0.05)
                    await settle(pilot, app)
                    if screen.timer is not None:
                        break
                assert screen.timer is not None and screen.timer.booking_id == job
        finally:
            other.dispose()
            third.dispose()
            store.close()


def test_a_lost_listening_connection_listens_again_and_reloads_everything(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import psycopg

    from db.urls import libpq_conninfo, normalize_url

    for pg_url in new_database(request, "postgresql", tmp_path):
        db = Database(pg_url)
        heard = Heard(pg_url)
        try:
            with psycopg.connect(libpq_conninfo(normalize_url(pg_url)), autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                ).fetchone()
            assert killed == (1,)
            assert heard.next().entities is None  # it cannot know what it missed: everything
            time.sleep(0.5)
            _event(db, "after", "cars")
            assert heard.next().entities == frozenset({"cars"})
        finally:
            heard.watcher.stop()
            db.dispose()
