"""The change feed sees every committed change, whatever the order of the commits.

On PostgreSQL an event id is taken when a transaction writes its event, and that transaction may
commit after another that took a higher id: a feed that only watches the newest id would never
show the first one (until some later write).  :meth:`db.fast.FastReader.feed_poll`, the function
the session's poll loop calls, must report it.  On SQLite commits are serial, and the newest id
is enough.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db import events, timers
from db.engine import Database
from db.fast import FEED_HOLE_SECONDS, FastReader
from db.models import Event


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    from conftest import new_database

    yield from new_database(request, "postgresql", tmp_path)


@pytest.fixture
def pg(pg_url: str) -> Iterator[tuple[Database, Database, FastReader]]:
    """Two terminals that write (each with its own connection) and a session's feed reader."""
    a, b, fast = Database(pg_url), Database(pg_url), FastReader(pg_url)
    yield a, b, fast
    fast.close()
    a.dispose()
    b.dispose()


def _open_event(db: Database, what: str) -> tuple[Session, int]:
    """A write transaction that has written one event (and so taken its id) and stays open."""
    session = Session(db.engine)
    session.begin()
    events.record(session, None, "feed_test", what, "write")
    newest = session.scalar(select(func.max(Event.id)))
    return session, int(newest or 0)


def _event(db: Database, what: str) -> int:
    session, event_id = _open_event(db, what)
    session.commit()
    session.close()
    return event_id


def test_a_lower_id_committed_after_a_higher_one_is_still_reported(
    pg: tuple[Database, Database, FastReader],
) -> None:
    db_a, db_b, fast = pg
    mark = fast.feed_mark()
    assert fast.feed_poll(mark) is False  # nothing happened
    a, n = _open_event(db_a, "A")  # A takes id n and stays open
    b = _event(db_b, "B")  # B takes n + 1 and commits first
    assert b > n
    assert fast.feed_poll(mark) is True and mark.newest == b  # the poller sees n + 1
    assert fast.feed_poll(mark) is False  # A is still open: nothing new is visible
    a.commit()  # now A commits
    a.close()
    # the newest id did not move: a feed that watches it alone misses A for good
    assert fast.latest_event_id() == b
    assert fast.feed_poll(mark) is True  # A's change is reported
    assert mark.holes == {} and mark.newest == b
    assert fast.feed_poll(mark) is False  # once


def test_a_session_that_starts_while_a_lower_id_is_open_sees_it_commit(
    pg: tuple[Database, Database, FastReader],
) -> None:
    db_a, db_b, fast = pg
    a, n = _open_event(db_a, "A")
    assert _event(db_b, "B") > n
    mark = fast.feed_mark()  # the session starts between the two commits
    assert fast.feed_poll(mark) is False
    a.commit()
    a.close()
    assert fast.feed_poll(mark) is True


def test_a_rolled_back_id_is_let_go(pg: tuple[Database, Database, FastReader]) -> None:
    db_a, db_b, fast = pg
    mark = fast.feed_mark()
    a, n = _open_event(db_a, "A")
    _event(db_b, "B")
    assert fast.feed_poll(mark, now=0.0) is True
    assert n in mark.holes  # looked up again at every poll while A may still commit
    a.rollback()
    a.close()
    assert fast.feed_poll(mark, now=0.0) is False
    assert n in mark.holes  # kept a while whatever the snapshot says
    # the snapshot's xmin is the whole server's: a transaction of another test on the shared
    # server may hold it back a moment (the gap is then kept, and looked up, a little longer)
    deadline = time.monotonic() + 120
    while True:
        assert fast.feed_poll(mark, now=FEED_HOLE_SECONDS + 1) is False
        if not mark.holes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert mark.holes == {}  # A has ended and its id never showed: not looked up any more


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_every_commit_moves_the_feed_once(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from conftest import new_database

    for url in new_database(request, engine, tmp_path):
        db, fast = Database(url), FastReader(url)
        try:
            mark = fast.feed_mark()
            assert fast.feed_poll(mark) is False
            first = _event(db, "one")
            assert fast.feed_poll(mark) is True and mark.newest == first
            assert fast.feed_poll(mark) is False
            _event(db, "two")
            _event(db, "three")
            assert fast.feed_poll(mark) is True
            assert fast.feed_poll(mark) is False
            assert mark.changes == 2
        finally:
            fast.close()
            db.dispose()


async def test_a_screen_shows_a_change_that_committed_out_of_order(pg_url: str) -> None:
    """A mechanic's job list is open; another terminal of theirs starts a clock in a transaction
    that commits after a later, unrelated change: the list shows the clock within a few polls."""
    from test_app import SIZE, settle

    from db.store import Store
    from prepfloor.app import make_app
    from screens.workshop import MyJobsScreen
    from world import book, build_world

    store = Store(pg_url)
    other, third = Database(pg_url), Database(pg_url)  # two more terminals
    try:
        w = build_world(store.db, days=2)
        me = w["mechanic499"]
        job = book(w, 0, 1)
        app = make_app(store, actor=me)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, app)
            screen = app.screen
            assert isinstance(screen, MyJobsScreen) and screen.timer is None
            with other.write() as a:  # A: the clock starts, its events take the lower ids
                timers.start(a, me, job)
                later = _event(third, "B")  # B: commits first, with a higher id
                for _ in range(60):  # the session has seen B
                    await pilot.pause(0.1)
                    if app._last_event_id == later:
                        break
                assert app._last_event_id == later
                assert screen.timer is None
            for _ in range(60):  # A committed: within a few polls the clock is on the screen
                await pilot.pause(0.1)
                await settle(pilot, app)
                if screen.timer is not None:
                    break
            assert screen.timer is not None and screen.timer.booking_id == job
    finally:
        other.dispose()
        third.dispose()
        store.close()
