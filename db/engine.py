"""Engine and transactions: the only place that begins, commits and retries.

Reads use plain sessions.  Writes run in :meth:`Database.run`: on SQLite a ``BEGIN IMMEDIATE``
transaction (the write lock is taken first, so two sessions never read-then-write the same hours),
on PostgreSQL a normal transaction in which the rules take row locks (``SELECT ... FOR UPDATE``).
A busy database, a deadlock or a serialization failure is retried a few times, so a user never sees
"database is locked".

Every write re-checks who is writing: when the rule's first argument (after the session) is an
:class:`db.access.Actor`, :meth:`Database.run` first reads that user's row in the same transaction
(:func:`db.users.recheck`) and refuses with :class:`db.errors.ActorChanged` if they were switched
off or their role or dealership changed since they signed in.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

from db.access import Actor
from db.errors import Busy, DoesNotFit, PrepfloorError
from db.urls import configure_sqlite_connection, dialect_of, normalize_url, sqlite_path

P = ParamSpec("P")
T = TypeVar("T")

_WRITE = "prepfloor_write"
_RETRYABLE_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


S = TypeVar("S", bound=Executable)


def for_update(statement: S) -> S:
    """``SELECT ... FOR UPDATE`` whose rows replace what the session already holds.

    On PostgreSQL the lock waits for a concurrent writer and must then see its values, not a copy
    read earlier in the same transaction; on SQLite the write transaction already holds the lock.
    """
    return statement.with_for_update().execution_options(populate_existing=True)  # type: ignore[attr-defined,no-any-return]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with prepfloor's connection settings."""
    url = normalize_url(url)
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        connect_args = {"check_same_thread": False, "timeout": 15}
        if path == ":memory:":
            from sqlalchemy.pool import StaticPool

            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            configure_sqlite_connection(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            write = connection.get_execution_options().get(_WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    return create_engine(url, **kwargs)


def is_retryable(error: BaseException) -> bool:
    """A failure that goes away when the transaction is tried again."""
    if isinstance(error, OperationalError):
        text = str(error.orig).lower() if error.orig is not None else str(error).lower()
        if "database is locked" in text or "database is busy" in text:
            return True
    if isinstance(error, DBAPIError) and error.orig is not None:
        code = getattr(error.orig, "sqlstate", None)
        if code in _RETRYABLE_PG:
            return True
    return False


class WriteGate:
    """One writer at a time on a SQLite file, queued by the kernel instead of by polling.

    SQLite makes a writer that finds the file locked sleep and retry (its busy handler), which
    wastes most of the time under contention: with 32 sessions writing, throughput falls and the
    slowest writer waits seconds.  An exclusive ``flock`` on ``<database>.lock`` taken before
    ``BEGIN IMMEDIATE`` makes writers wait in line and wakes the next one the moment the previous
    one commits.  Other programs that write the file still get the busy timeout.  Where the lock
    file cannot be created (a read-only folder), writes go without the gate.
    """

    def __init__(self, database_path: str) -> None:
        self.path = database_path + ".lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()

    def _descriptor(self) -> int | None:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o660)
            except OSError:
                return None
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._descriptor()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


class Database:
    """One shared database: the engine, read sessions and write transactions."""

    retries = 8

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.dialect = dialect_of(self.url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        path = sqlite_path(self.url) if self.dialect == "sqlite" else ":memory:"
        self._gate = WriteGate(path) if path != ":memory:" else None

    # -- reading ---------------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading.  Closed at the end (never committed); the objects it loaded stay
        readable afterwards, detached."""
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            yield session

    def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn(session, *args, **kwargs)`` in a read session and return its result."""
        with self.read() as session:
            return fn(session, *args, **kwargs)

    # -- writing ---------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction (no retry; prefer :meth:`run`).

        A refusal rolls everything back, except a refusal that says its writes must stay
        (``keeps_writes``, e.g. counting a wrong PIN), which is committed before it is raised.
        """
        gate = self._gate.held() if self._gate is not None else nullcontext()
        with gate, self._transaction() as session:
            yield session

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        session = Session(self._write_engine, expire_on_commit=False, autoflush=True)
        try:
            session.begin()
            yield session
            session.commit()
        except PrepfloorError as refusal:
            if getattr(refusal, "keeps_writes", False):
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn(session, *args, **kwargs)`` in a write transaction, retrying when busy.

        When the first argument is an :class:`Actor` (``actor=`` also counts), that user is
        checked first, in the same transaction (:func:`db.users.recheck`): a user switched off,
        or whose role or dealership changed, since they signed in writes nothing
        (:class:`db.errors.ActorChanged`)."""
        actor = args[0] if args else kwargs.get("actor")
        if not isinstance(actor, Actor):
            actor = None
        if actor is not None:
            from db.users import recheck
        delay = 0.02
        for attempt in range(self.retries + 1):
            try:
                with self.write() as session:
                    if actor is not None:
                        recheck(session, actor)
                    return fn(session, *args, **kwargs)
            except DoesNotFit as refusal:
                if refusal.finder is not None:  # after the write lock is released
                    with self.read() as session:
                        refusal.found(refusal.finder(session))
                raise
            except DBAPIError as error:
                if not is_retryable(error) or attempt == self.retries:
                    if is_retryable(error):
                        raise Busy(
                            "The database is busy right now and your change was not saved. "
                            "Try again in a moment."
                        ) from error
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
