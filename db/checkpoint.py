"""SQLite checkpoints, out of the writers' way.

In WAL mode a commit appends to ``<database>-wal``; a checkpoint copies what was appended back
into the database file.  SQLite runs one itself in the commit that takes the log past 1,000 pages
(its ``wal_autocheckpoint``), while that writer still holds the write gate (:mod:`db.gate`): on a
large database the copy and its sync to disk take a tenth of a second or more, and every writer in
line waits for it.  With 32 sessions booking at once that was the slowest one in a hundred saves.

So a session checkpoints in a thread of its own instead, after its writes (at most every
:data:`EVERY` seconds): ``PRAGMA wal_checkpoint(PASSIVE)``, which copies what it can without
waiting for anyone and without holding the write lock, so saves go on meanwhile.  SQLite's own
checkpoint stays as a backstop for a log that nobody checkpoints (other programs' writes), at
:data:`BACKSTOP_PAGES`.

The same thread keeps the query planner's statistics fresh.  They are taken when the database is
migrated (:func:`db.migrate.upgrade`), which for a new shop is when it is still empty; a database
that grew to a hundred thousand cars after that was planned as if it had none, and without them
SQLite can pick an index that reads every dealership's rows for one dealership's question.  So at
most every :data:`STATISTICS_EVERY` seconds, after a write, the
thread compares each table's rows with what the statistics say, and when a table has grown past
twice that (or has none), runs a sampled ``ANALYZE`` (:func:`analyze`: some 30 ms on a 1 GB
database) in a write transaction of its own, in its turn at the write gate (:mod:`db.gate`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from db.errors import HeldUp

EVERY = 0.5  # seconds: at most one checkpoint this often per session
BACKSTOP_PAGES = 10_000  # SQLite's own checkpoint, in a commit, when the log grows past this
STATISTICS_EVERY = 3600.0  # seconds: at most one look at the planner's statistics this often
STOP_WAIT = 10.0  # seconds stop() waits for a checkpoint or a statistics refresh under way
STATISTICS_ROWS = 1000  # a table smaller than this is planned well enough without them
ANALYSIS_LIMIT = 1000  # rows of each index ANALYZE samples


def analyze(execute: Callable[[str], Any]) -> None:
    """Refresh SQLite's planner statistics, sampled (milliseconds even on a large file);
    ``execute`` runs one statement in a write transaction."""
    execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
    execute("ANALYZE")


def stale_statistics(connection: sqlite3.Connection) -> list[str]:
    """The tables of at least :data:`STATISTICS_ROWS` rows (estimated from their highest rowid)
    that have no planner statistics, or more than twice the rows the statistics counted."""
    counted: dict[str, int] = {}
    with contextlib.suppress(sqlite3.Error):  # no sqlite_stat1 before the first ANALYZE
        for table, stat in connection.execute("SELECT tbl, stat FROM sqlite_stat1"):
            first = str(stat or "").split(" ", 1)[0]
            if first.isdigit():
                counted[table] = max(counted.get(table, 0), int(first))
    stale = []
    found = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    # a virtual table's own tables (the car search's) number their rows as it likes
    virtual = [name + "_" for name, sql in found if str(sql).upper().startswith("CREATE VIRTUAL")]
    tables = [
        (name,)
        for name, sql in found
        if not str(sql).upper().startswith("CREATE VIRTUAL")
        and "WITHOUT ROWID" not in str(sql).upper()
        and not name.startswith(tuple(virtual))
    ]
    for (table,) in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        rows = connection.execute(f"SELECT max(rowid) FROM {quoted}").fetchone()[0] or 0
        if rows >= STATISTICS_ROWS and rows > 2 * counted.get(table, 0):
            stale.append(table)
    return stale


class Checkpointer:
    """Checkpoints one SQLite database after this process's writes, in a thread of its own, and
    keeps its planner statistics fresh (``gate``: the database's write gate)."""

    def __init__(self, path: str, gate: Any = None) -> None:
        self.path = path
        self.gate = gate
        self.done = 0  # checkpoints run (for the tests)
        self.analyzed = 0  # statistics refreshed (for the tests)
        self._statistics_due = 0.0  # time.monotonic() of the next look at them
        self._pid = os.getpid()
        self._due = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def nudge(self) -> None:
        """A write was committed: checkpoint soon."""
        if self._pid != os.getpid():  # a forked child: the thread stayed with the parent
            self._pid, self._thread = os.getpid(), None
            self._due, self._stop = threading.Event(), threading.Event()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="prepfloor-checkpoint", daemon=True
            )
            self._thread.start()
        self._due.set()

    def stop(self, wait: float = STOP_WAIT) -> None:
        """No more checkpoints: the thread ends, and its connection is closed before this returns
        (up to ``wait`` seconds, while a checkpoint or a statistics refresh finishes).  The
        connection that closes last copies the whole log into the database file, so a database
        whose last user stopped is whole in its file alone (a copy of it without ``-wal`` holds
        every saved change)."""
        self._stop.set()
        self._due.set()
        thread = self._thread
        if (
            thread is not None
            and self._pid == os.getpid()
            and thread is not threading.current_thread()
        ):
            thread.join(wait)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        last = 0.0
        try:
            while True:
                self._due.wait()
                if self._stop.is_set():
                    return
                pause = last + EVERY - time.monotonic()
                if pause > 0 and self._stop.wait(pause):
                    return
                self._due.clear()
                last = time.monotonic()
                try:
                    if connection is None:
                        connection = sqlite3.connect(
                            self.path, check_same_thread=False, isolation_level=None
                        )
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.done += 1
                    if time.monotonic() >= self._statistics_due:
                        self._statistics_due = time.monotonic() + STATISTICS_EVERY
                        self._statistics(connection)
                except sqlite3.Error:  # the backstop checkpoints; try again after the next write
                    with contextlib.suppress(sqlite3.Error):
                        if connection is not None:
                            connection.close()
                    connection = None
        finally:
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()

    def _statistics(self, connection: sqlite3.Connection) -> None:
        """Refresh the planner's statistics when a table outgrew them (see the module's text)."""
        if self.gate is None or not stale_statistics(connection):
            return
        try:
            with self.gate.held(time.monotonic() + 5.0):
                connection.execute("BEGIN IMMEDIATE")
                try:
                    analyze(connection.execute)
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
            self.analyzed += 1
        except HeldUp:  # a long write is under way: look again after the next write
            self._statistics_due = 0.0
