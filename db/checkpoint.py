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
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time

EVERY = 0.5  # seconds: at most one checkpoint this often per session
BACKSTOP_PAGES = 10_000  # SQLite's own checkpoint, in a commit, when the log grows past this


class Checkpointer:
    """Checkpoints one SQLite database after this process's writes, in a thread of its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.done = 0  # checkpoints run (for the tests)
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

    def stop(self) -> None:
        self._stop.set()
        self._due.set()

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
                        connection = sqlite3.connect(self.path, check_same_thread=False)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.done += 1
                except sqlite3.Error:  # the backstop checkpoints; try again after the next write
                    with contextlib.suppress(sqlite3.Error):
                        if connection is not None:
                            connection.close()
                    connection = None
        finally:
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()
