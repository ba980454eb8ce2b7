"""What a write does around its transaction so that the write lock (SQLite's gate, PostgreSQL's
rows) is held only for the write itself: no garbage collection inside it, a process's first write
prepared before the lock is taken, and SQLite's checkpoints run after it, in a thread of their own.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from db.hot import Hot


def _note(session: Any, n: int = 1) -> None:
    session.execute(text("CREATE TABLE IF NOT EXISTS notes_t (n integer)"))
    session.execute(text("INSERT INTO notes_t (n) VALUES (:n)"), {"n": n})


def test_no_garbage_collection_while_a_write_holds_its_locks(db_url: str) -> None:
    db = Database(db_url)
    seen: list[bool] = []
    try:
        assert gc.isenabled()
        db.run(lambda s: seen.append(gc.isenabled()))
        assert seen == [False] and gc.isenabled()  # paused inside, on again after
        gc.disable()  # a start that keeps it off (prepfloor.launch) keeps it off
        try:
            db.run(lambda s: seen.append(gc.isenabled()))
            assert not gc.isenabled()
        finally:
            gc.enable()
        with pytest.raises(ZeroDivisionError):  # a failed write turns it back on as well
            db.run(lambda s: 1 / 0)
        assert gc.isenabled()
    finally:
        db.dispose()


def test_a_processes_first_write_is_prepared_before_the_lock_is_taken(sqlite_url: str) -> None:
    import db.ledger

    db = Database(sqlite_url)
    dialect = db.engine.dialect.name
    for hot in list(Hot._every):  # as a new process has them: not compiled yet
        hot._plans.pop(dialect, None)
    compiled_when_locked: list[bool] = []
    held = db._gate.held

    @contextmanager
    def watched(deadline: float | None = None) -> Iterator[None]:
        with held(deadline):
            compiled_when_locked.append(all(dialect in h._plans for h in list(Hot._every)))
            yield

    db._gate.held = watched  # type: ignore[method-assign]
    try:
        db.run(_note)
        db.run(_note)
        assert compiled_when_locked == [True, True]
    finally:
        db.dispose()


def test_sqlite_checkpoints_after_writes_not_in_them(sqlite_url: str, monkeypatch: Any) -> None:
    from db.checkpoint import Checkpointer

    db = Database(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    blob = "x" * 4000  # about a page of the log each
    db.run(lambda s: s.execute(text("CREATE TABLE events_blob (b text)")))
    try:
        with db.read() as session:
            backstop = session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert backstop == 10_000  # a commit checkpoints only a log nobody else checkpoints
        nudge = Checkpointer.nudge
        monkeypatch.setattr(Checkpointer, "nudge", lambda self: None)
        for _ in range(1_200):  # past SQLite's own 1,000 pages: no commit checkpointed
            db.run(lambda s: s.execute(text("INSERT INTO events_blob VALUES (:b)"), {"b": blob}))
        assert os.path.getsize(path + "-wal") > 1_100 * 4096
        monkeypatch.setattr(Checkpointer, "nudge", nudge)
        db.run(lambda s: s.execute(text("INSERT INTO events_blob VALUES ('')")))
        assert db._checkpoints is not None
        for _ in range(100):  # the session's own thread copies the log back, soon after
            if db._checkpoints.done:
                break
            time.sleep(0.05)
        assert db._checkpoints.done == 1
        probe = sqlite3.connect(path)
        for _ in range(40):  # PASSIVE gives up at once while another checkpoint runs
            busy, frames, copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy:
                break
            time.sleep(0.05)
        probe.close()
        assert (busy, frames > 1_100, copied == frames) == (0, True, True), (busy, frames, copied)
    finally:
        db.dispose()


def _wait_for(check: Any, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


def test_sqlite_statistics_follow_a_database_that_outgrew_them(
    sqlite_url: str, monkeypatch: Any
) -> None:
    """A database migrated while empty, then grown: after a write the session's thread takes
    the planner's statistics afresh, in its turn at the write gate; once they are fresh it
    leaves them."""
    from db import checkpoint

    path = sqlite_url.removeprefix("sqlite:///")
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("CREATE TABLE grown_t (n integer, k integer)")
    raw.execute("CREATE INDEX ix_grown_t_k ON grown_t (k)")
    raw.executemany("INSERT INTO grown_t VALUES (?, ?)", [(i, i % 7) for i in range(3_000)])
    assert "grown_t" in checkpoint.stale_statistics(raw)
    db = Database(sqlite_url)
    taken: list[str] = []
    held = db._gate.held

    @contextmanager
    def watched(deadline: float | None = None) -> Iterator[None]:
        with held(deadline):
            taken.append(threading.current_thread().name)
            yield

    db._gate.held = watched  # type: ignore[method-assign]
    try:
        db.run(_note)
        assert db._checkpoints is not None
        assert _wait_for(lambda: db._checkpoints.analyzed == 1)
        stat = raw.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_grown_t_k'").fetchone()
        assert int(stat[0].split()[0]) > 2_000  # sampled: about the 3,000 rows
        assert checkpoint.stale_statistics(raw) == []
        assert "prepfloor-checkpoint" in taken  # the ANALYZE waited for its turn at the gate
        # looked at again (every time, here): fresh statistics are left as they are
        monkeypatch.setattr(checkpoint, "STATISTICS_EVERY", 0.0)
        done = db._checkpoints.done
        db.run(_note)
        assert _wait_for(lambda: db._checkpoints.done > done)
        assert db._checkpoints.analyzed == 1
    finally:
        db.dispose()
        raw.close()


def test_a_disposed_sqlite_database_is_whole_in_its_file(
    sqlite_url: str, monkeypatch: Any, tmp_path: Any
) -> None:
    """``Database.dispose`` waits for the checkpoint thread to close its connection, so the last
    connection's close copies the whole log into the file: a copy of the file alone (a backup, a
    test's template) holds every saved change.  The thread's connection was still open when
    ``dispose`` returned, and a copy taken then lacked the last writes."""
    import shutil

    from db import checkpoint

    monkeypatch.setattr(checkpoint, "EVERY", 30.0)  # the thread waits with its connection open
    db = Database(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    db.run(_note, 1)
    assert db._checkpoints is not None
    assert _wait_for(lambda: db._checkpoints.done == 1)  # its connection is open from now on
    db.run(_note, 2)  # a second checkpoint is due in 30 s
    thread = db._checkpoints._thread
    db.dispose()
    assert thread is not None and not thread.is_alive()
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)  # the file alone, without its -wal
    found = sqlite3.connect(copy).execute("SELECT n FROM notes_t ORDER BY n").fetchall()
    assert found == [(1,), (2,)]


def _hold_the_turn(gate: Any, inside: Any, release: Any) -> None:
    with gate.held(time.monotonic() + 20):
        inside.set()
        release.wait(20)


def test_a_write_waits_its_turn_on_this_machine_and_only_postgresql_goes_on_without_it(
    db_url: str, monkeypatch: Any
) -> None:
    """SQLite's gate is its write lock: a write that does not get it in time is given up, and
    nothing of it is saved.  PostgreSQL's is an admission line (``WRITE_LANES`` of this machine's
    writes at once): a write that waited ``ADMISSION_WAIT`` for a turn goes on without one, as
    the server's own locks keep it exact."""
    import multiprocessing as mp

    import db.engine
    from db.errors import HeldUp
    from db.gate import admission_for, gate_for
    from db.urls import database_key, sqlite_path

    monkeypatch.setattr(db.engine, "WRITE_LANES", 1)
    monkeypatch.setattr(db.engine, "ADMISSION_WAIT", 0.3)
    postgres = db_url.startswith("postgresql")
    database = Database(db_url, write_wait=0.5)
    try:
        database.run(_note, 1)
        if postgres:
            assert database._gate is None and database._lanes is not None
            gate = admission_for(database_key(database.url), 1)
        else:
            assert database._lanes is None and database._gate is not None
            gate = gate_for(sqlite_path(database.url))
        ctx = mp.get_context("fork")
        inside, release = ctx.Event(), ctx.Event()
        holder = ctx.Process(target=_hold_the_turn, args=(gate, inside, release))
        holder.start()
        try:
            assert inside.wait(20)
            if postgres:
                database.run(_note, 2)  # no turn came: it went on without one
                assert not release.is_set() and holder.is_alive()
            else:
                with pytest.raises(HeldUp):
                    database.run(_note, 2)
        finally:
            release.set()
            holder.join(20)
        database.run(_note, 3)  # the turn is free again: taken, and let go
        with database.read() as session:
            saved = sorted(n for (n,) in session.execute(text("SELECT n FROM notes_t")))
        assert saved == ([1, 2, 3] if postgres else [1, 3])
    finally:
        database.dispose()


def test_every_users_address_of_one_postgresql_database_is_one_line() -> None:
    from db.urls import database_key

    key = database_key("postgresql+psycopg://ola:secret@db1.example:5433/prepfloor")
    assert key == "db1.example:5433/prepfloor"
    assert database_key("postgresql+psycopg://kari@db1.example:5433/prepfloor") == key
    assert "secret" not in key
    by_socket = database_key("postgresql+psycopg://postgres@/prepfloor?host=/run/pg&port=5433")
    assert by_socket == "/run/pg:5433/prepfloor"
    assert database_key("postgresql+psycopg:///prepfloor") == "localhost:5432/prepfloor"
