"""The change feed, pushed: every open session hears of a committed change through the database
itself, and learns what it touched, without asking while nothing changes.

- **PostgreSQL**: the ``events`` trigger announces each row at commit (``pg_notify``, channel
  :data:`db.triggers.CHANNEL`, payload ``id entity car action``), whoever wrote it.  A session
  listens on a connection of its own and blocks on it: no statement is sent while nothing changes.
- **SQLite**: a commit appends to the write-ahead log.  The session waits on the kernel for a write
  to the database's files (Linux ``inotify``; elsewhere a look at the files' size and time every
  :data:`POLL_SECONDS`), then asks ``PRAGMA data_version`` whether another connection committed,
  and only then reads the new ``events`` rows (their ids are in commit order: one writer at a time).

Either way the session gets a :class:`Change`: the newest event id, the tables and the cars the
change touched, so that each screen reloads only when what it shows was touched.  When the watch
cannot say what changed (it lost its connection for a while, or too many events came at once), the
change is :data:`EVERYTHING` and every screen reloads.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.urls import dialect_of, normalize_url, sqlite_path

POLL_SECONDS = 0.1  # SQLite without inotify: how often the files are looked at
WAKE_SECONDS = 5.0  # a watcher's thread looks up from its wait this often, to see if it must stop
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # a lost connection is tried again after these waits
COMMIT_LOOKS = (0.0, 0.005, 0.03, 0.15)  # SQLite: after a write, when to look for its commit
MOST_EVENTS = 500  # SQLite: more new events than this at once are "everything changed"
# events that change nothing a screen shows (a sign-in, a refused badge): never a reload
QUIET_ACTIONS = frozenset({"sign_in", "sign_in_failed", "badge_unknown", "badge_blocked"})


@dataclass(frozen=True)
class Change:
    """What one or more commits touched.  ``entities``/``cars`` None: unknown (reload all)."""

    newest: int
    entities: frozenset[str] | None
    cars: frozenset[int] | None

    def touches(self, *tables: str) -> bool:
        """Did the change touch any of these tables (or is it unknown)?"""
        return self.entities is None or not self.entities.isdisjoint(tables)

    def touches_car(self, car_id: int) -> bool:
        """Did the change touch this car (or is it unknown)?"""
        return self.cars is None or car_id in self.cars

    @property
    def quiet(self) -> bool:
        """Nothing any screen shows was touched."""
        return self.entities is not None and not self.entities


EVERYTHING = Change(0, None, None)


def summarize(rows: Iterable[tuple[int, str, int | None, str]]) -> Change | None:
    """A :class:`Change` from events as (id, entity, car id, action); None for none."""
    newest, entities, cars = 0, set(), set()
    for event_id, entity, car_id, action in rows:
        newest = max(newest, int(event_id))
        if action in QUIET_ACTIONS:
            continue
        entities.add(entity)
        if car_id is not None:
            cars.add(int(car_id))
    if not newest:
        return None
    return Change(newest, frozenset(entities), frozenset(cars))


def parse(payload: str) -> tuple[int, str, int | None, str] | None:
    """One announcement (``id entity car action``; car ``-`` for none) as an event row."""
    parts = payload.split()
    if len(parts) != 4 or not parts[0].isdigit():
        return None
    car = int(parts[2]) if parts[2].isdigit() else None
    return int(parts[0]), parts[1], car, parts[3]


# the events after a given one, oldest first (SQLite placeholders)
_SINCE = "SELECT id, entity, car_id, action FROM events WHERE id > ? ORDER BY id LIMIT ?"


class Watcher:
    """A thread that waits for changes to one database and hands each to ``heard`` (called in the
    watcher's thread).  :meth:`stop` ends it (within :data:`WAKE_SECONDS`)."""

    def __init__(self, url: str, heard: Callable[[Change], None], newest: int = 0) -> None:
        self.url = normalize_url(url)
        self.heard = heard
        self.newest = newest  # the newest event id handed on
        self.waits = 0  # how many times the thread woke up (for the bench and the tests)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prepfloor-feed", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _hand_on(self, change: Change | None) -> None:
        if change is None or self.stopped:
            return
        if change.newest:
            self.newest = max(self.newest, change.newest)
        self.heard(Change(self.newest, change.entities, change.cars))

    def _run(self) -> None:
        attempt = 0
        while not self.stopped:
            try:
                if dialect_of(self.url) == "postgresql":
                    self._listen()
                else:
                    self._watch_files()
                return
            except Exception:  # a lost connection: try again, and reload everything then
                if self.stopped:
                    return
                time.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
                self._hand_on(EVERYTHING)

    # -- PostgreSQL: LISTEN -------------------------------------------------------------------------
    def _listen(self) -> None:
        from db.fast import connect_postgres
        from db.triggers import CHANNEL

        conn = connect_postgres(self.url, None, autocommit=True)
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            if self.newest:  # committed before the LISTEN, after the session's first reads
                self._catch_up(lambda sql, *args: conn.execute(sql.replace("?", "%s"), args))
            while not self.stopped:
                # sleeps on the socket (the driver's own wait looks up ten times a second): no
                # statement, no wake-up, until a commit is announced
                ready, _, _ = select.select([conn.fileno()], [], [], WAKE_SECONDS)
                if not ready:
                    continue
                self.waits += 1
                got = list(conn.notifies(timeout=0))  # what arrived (a closed link raises)
                if conn.closed:
                    raise ConnectionError("the database closed the connection")
                self._hand_on(summarize(e for e in (parse(n.payload) for n in got) if e))
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    # -- SQLite: the files, then data_version, then the new events ---------------------------------
    def _watch_files(self) -> None:
        import sqlite3

        from db.urls import configure_sqlite_connection

        path = Path(sqlite_path(self.url))
        conn = sqlite3.connect(str(path), timeout=15, check_same_thread=False)
        configure_sqlite_connection(conn)
        try:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if not self.newest:
                self.newest = int(
                    conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
                )
            else:  # committed after the session's first reads, before this watch began
                self._catch_up(lambda sql, *args: conn.execute(sql, args))
            for _woke in _file_writes(path, self._stop):
                self.waits += 1
                # the log is written a moment before the commit is marked in its index: look
                # again shortly when the first look finds nothing new
                for pause in COMMIT_LOOKS:
                    time.sleep(pause)
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                    if now != version:
                        break
                if now == version:
                    continue  # a write not yet committed, or a checkpoint
                version = now
                self._catch_up(lambda sql, *args: conn.execute(sql, args))
        finally:
            conn.close()

    def _catch_up(self, execute: Callable[..., Any]) -> None:
        """Hand on the events after :attr:`newest` (more than ``MOST_EVENTS`` of them: "everything
        changed").  ``execute(sql, *params)``: the watch's own connection, SQLite placeholders."""
        rows = execute(_SINCE, self.newest, MOST_EVENTS + 1).fetchall()
        if len(rows) > MOST_EVENTS:
            newest = execute("SELECT max(id) FROM events").fetchone()[0]
            self._hand_on(Change(int(newest), None, None))
        elif rows:
            self._hand_on(summarize(rows))


# -- waiting for a write to a SQLite database's files ------------------------------------------------
_IN_MODIFY, _IN_CREATE, _IN_MOVED_TO = 0x2, 0x100, 0x80
_EVENT = struct.Struct("iIII")


def _file_writes(path: Path, stop: threading.Event) -> Iterable[None]:
    """Yield after each burst of writes to the database file or its log, until ``stop``."""
    names = {path.name, path.name + "-wal", path.name + "-journal"}
    watch = _Inotify.open(path, names)
    if watch is None:
        yield from _polled_writes(path, names, stop)
        return
    try:
        while not stop.is_set():
            ready, _, _ = select.select([watch.fd], [], [], WAKE_SECONDS)
            if ready and watch.written():
                yield
    finally:
        watch.close()


class _Inotify:
    """Linux inotify on a database's own files: writes to the file and its log, and the log
    made anew (the folder is watched only for files created in it, so that a busy folder costs
    nothing)."""

    def __init__(self, libc: Any, fd: int, path: Path, names: set[str]) -> None:
        self.libc, self.fd, self.path, self.names = libc, fd, path, names
        self.files: set[int] = set()
        self._watch_files()

    @classmethod
    def open(cls, path: Path, names: set[str]) -> _Inotify | None:
        """A watch, or None where there is no inotify."""
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
            if fd < 0:
                return None
            folder = os.fsencode(path.parent)
            if libc.inotify_add_watch(fd, folder, _IN_CREATE | _IN_MOVED_TO) < 0:
                os.close(fd)
                return None
            return cls(libc, int(fd), path, names)
        except (OSError, AttributeError):
            return None

    def _watch_files(self) -> None:
        for name in self.names:
            wd = self.libc.inotify_add_watch(
                self.fd, os.fsencode(self.path.parent / name), _IN_MODIFY
            )
            if wd >= 0:
                self.files.add(int(wd))

    def written(self) -> bool:
        """Read what is waiting: was one of the database's files written (or made)?"""
        found = made = False
        for wd, name in _read_events(self.fd):
            if wd in self.files:
                found = True
            elif name in self.names:
                made = True
        if made:
            self._watch_files()  # the log was made anew: watch the new file
        return found or made

    def close(self) -> None:
        os.close(self.fd)


def _read_events(fd: int) -> list[tuple[int, str]]:
    """(watch, file name) of every inotify event waiting on ``fd``."""
    found: list[tuple[int, str]] = []
    while True:
        try:
            data = os.read(fd, 64 * 1024)
        except BlockingIOError:
            return found
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
            raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
            found.append((wd, os.fsdecode(raw.split(b"\0", 1)[0])))
            offset += _EVENT.size + length


def _polled_writes(path: Path, names: set[str], stop: threading.Event) -> Iterable[None]:
    """Where there is no inotify: the files' size and time, every :data:`POLL_SECONDS`."""

    def look() -> tuple[Any, ...]:
        seen = []
        for name in sorted(names):
            try:
                st = os.stat(path.parent / name)
                seen.append((name, st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                seen.append((name, None, None))
        return tuple(seen)

    last = look()
    while not stop.wait(POLL_SECONDS):
        now = look()
        if now != last:
            last = now
            yield
