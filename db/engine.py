"""Engine and transactions: the only place that begins, commits and retries.

Reads use plain sessions.  Writes run in :meth:`Database.run`: on SQLite a ``BEGIN IMMEDIATE``
transaction (the write lock is taken first, so two sessions never read-then-write the same hours),
on PostgreSQL a normal transaction in which the rules take row locks (``SELECT ... FOR UPDATE``).
A busy database, a deadlock or a serialization failure is retried a few times, so a user never sees
"database is locked".

Nothing waits forever: a write that waits longer than the ``write_wait`` setting (default
:data:`db.fast.WRITE_WAIT`) for another terminal's change -- for the SQLite write gate, SQLite's own
lock, a PostgreSQL row lock (``lock_timeout``), or the session's one connection -- is given up with
:class:`db.errors.HeldUp` and nothing of it is saved.  :attr:`Database.on_wait` is told when a write
has waited about a second (so the screen can say so) and when it is over.  On PostgreSQL a session
holds one connection (a pool of one, shared with :class:`db.fast.FastReader`).

Every write re-checks who is writing: when the rule's first argument (after the session) is an
:class:`db.access.Actor`, :meth:`Database.run` first reads that user's row in the same transaction
(:func:`db.users.recheck`) and refuses with :class:`db.errors.ActorChanged` if they were switched
off or their role or dealership changed since they signed in.
"""

from __future__ import annotations

import gc
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql.expression import Executable
from sqlmodel import Session

from db.access import Actor
from db.checkpoint import BACKSTOP_PAGES, Checkpointer
from db.errors import Busy, DoesNotFit, HeldUp, PrepfloorError
from db.fast import connect_postgres
from db.fast import write_wait as write_wait_setting
from db.gate import FlockGate, WriteGate, admission_for, gate_for
from db.hot import Hot
from db.urls import (
    configure_sqlite_connection,
    database_key,
    dialect_of,
    normalize_url,
    sqlite_path,
)

P = ParamSpec("P")
T = TypeVar("T")

_WRITE = "prepfloor_write"
_RETRYABLE_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
_TIMED_OUT_PG = {"55P03", "57014"}  # lock_timeout, statement_timeout: the wait already lasted
WAIT_NOTICE = 1.0  # seconds a write waits before Database.on_wait is told
PING_AFTER = 5.0  # PostgreSQL: a connection idle this long is checked before it is used
# PostgreSQL: write transactions of this machine's sessions at once (more wait their turn: with
# every session writing on a busy shop server, each would otherwise spend its CPU on the others'
# turns), and how long one waits for a turn before it writes without one.
WRITE_LANES = 2 * (os.cpu_count() or 1)
ADMISSION_WAIT = 1.0


S = TypeVar("S", bound=Executable)


def for_update(statement: S) -> S:
    """``SELECT ... FOR UPDATE`` whose rows replace what the session already holds.

    On PostgreSQL the lock waits for a concurrent writer and must then see its values, not a copy
    read earlier in the same transaction; on SQLite the write transaction already holds the lock.
    """
    return statement.with_for_update().execution_options(populate_existing=True)  # type: ignore[attr-defined,no-any-return]


def make_engine(
    url: str,
    *,
    write_wait: float | None = None,
    creator: Callable[[], Any] | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url`` with prepfloor's connection settings.

    With ``write_wait`` (a session's engine, :class:`Database`): SQLite waits that long for its
    lock; PostgreSQL connections get :func:`db.fast.postgres_options` (lock, statement and idle
    transaction timeouts) and the pool holds one connection (``pool_size=1``, no overflow; a
    thread waits ``write_wait`` for it at most).  ``creator`` makes PostgreSQL connections (a
    session's first one is its :class:`db.fast.FastReader`'s).  Without ``write_wait``
    (migrations): the driver's defaults.
    """
    url = normalize_url(url)
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        busy = write_wait if write_wait is not None else 15
        connect_args = {"check_same_thread": False, "timeout": busy}
        if path == ":memory:":
            from sqlalchemy.pool import StaticPool

            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            configure_sqlite_connection(dbapi_connection)
            if write_wait is not None:
                ms = max(1, round(write_wait * 1000))
                dbapi_connection.execute(f"PRAGMA busy_timeout = {ms}")
                # the session checkpoints after its writes (db.checkpoint), not in a commit
                dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            write = connection.get_execution_options().get(_WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if write_wait is None:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault(
            "creator", creator or (lambda: connect_postgres(url, None, autocommit=False))
        )
        return create_engine(url, **kwargs)
    wait = write_wait
    kwargs.setdefault("pool_size", 1)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_timeout", wait)
    kwargs.setdefault("creator", creator or (lambda: connect_postgres(url, wait, autocommit=False)))
    engine = create_engine(url, **kwargs)

    # Instead of ``pool_pre_ping`` (a round trip, and a transaction, on every checkout: the fast
    # reader checks out for every read): a connection idle for a while is checked first.
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["prepfloor_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("prepfloor_used")
        if used is None or time.monotonic() - used < PING_AFTER:
            return
        try:
            if dbapi_connection.info.transaction_status != 0:  # not idle
                dbapi_connection.rollback()
            dbapi_connection.autocommit = True
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.autocommit = False
        except Exception as error:  # the pool opens a new connection
            raise DisconnectionError(str(error)) from error

    return engine


def timed_out(error: BaseException) -> bool:
    """PostgreSQL gave a statement up after its ``lock_timeout`` or ``statement_timeout``."""
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) in _TIMED_OUT_PG and "timeout" in str(orig).lower()


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


_collection_lock = threading.Lock()
_collection_paused = 0  # write transactions under way that paused the garbage collector
_collection_was_on = False


@contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection while a write transaction holds its locks (the SQLite write gate, or
    PostgreSQL rows): a full collection of a session's heap takes tens of milliseconds, and
    everyone waiting for those locks would wait for it too.  It runs, if due, once the write is
    over.  The collector's own state is kept (a start that switched it off keeps it off)."""
    global _collection_paused, _collection_was_on
    with _collection_lock:
        if _collection_paused == 0:
            _collection_was_on = gc.isenabled()
            gc.disable()
        _collection_paused += 1
    try:
        yield
    finally:
        with _collection_lock:
            _collection_paused -= 1
            if _collection_paused == 0 and _collection_was_on:
                gc.enable()


class _Watch:
    """Tells :attr:`Database.on_wait` ``True`` when a write has waited :data:`WAIT_NOTICE`
    seconds, and ``False`` when the last such write is over (saved or given up)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._slow = 0

    @contextmanager
    def write(self) -> Iterator[None]:
        if self.database.on_wait is None:
            yield
            return
        fired = threading.Event()

        def late() -> None:
            with self._lock:
                fired.set()
                self._slow += 1
                first = self._slow == 1
            if first:
                self._tell(True)

        timer = threading.Timer(WAIT_NOTICE, late)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            with self._lock:
                last = False
                if fired.is_set():
                    self._slow -= 1
                    last = self._slow == 0
            if last:
                self._tell(False)

    def _tell(self, waiting: bool) -> None:
        told = self.database.on_wait
        if told is not None:
            with suppress(Exception):  # the screen is gone: the write goes on
                told(waiting)


_IN_TRANSACTION = 2  # psycopg.pq.TransactionStatus.INTRANS (not in an error)


def end_keeping_statements(session: Session) -> None:
    """PostgreSQL: end ``session``'s transaction with a ROLLBACK sent as it is, so that its
    connection keeps the statements it has prepared.

    psycopg prepares a statement on the server once a connection has run it a few times, and
    deallocates every one of them on each ``rollback()``: it cannot know what a rolled-back
    transaction changed in the schema.  A booking refused as it does not fit, or a read session
    (they end with a rollback), so had every statement of the next bookings parsed and planned
    again.  For this connection, a ROLLBACK sent straight to the server leaves psycopg's statements
    as they are; the session's own rollback then finds nothing to end.

    Only where the transaction changed no schema: a rule's refusal, and a read.  After a database
    error nothing is done here: the usual rollback starts the statements afresh.  SQLite: nothing
    to do."""
    if not session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    try:
        dbapi = session.connection().connection.dbapi_connection
        pgconn = getattr(dbapi, "pgconn", None)
        if pgconn is not None and pgconn.transaction_status == _IN_TRANSACTION:
            pgconn.exec_(b"ROLLBACK")
    except Exception:  # the session's own rollback says what is wrong
        return


class Database:
    """One shared database: the engine, read sessions and write transactions."""

    retries = 8

    def __init__(
        self,
        url: str,
        *,
        write_wait: float | None = None,
        creator: Callable[[], Any] | None = None,
        **engine_kwargs: Any,
    ) -> None:
        """``write_wait``: seconds a write waits for another's change before it is given up
        (default: the ``write_wait`` setting, :func:`db.fast.write_wait`).  ``creator``: makes
        the PostgreSQL connection (a :class:`db.store.Store` hands its fast reader's over)."""
        self.url = normalize_url(url)
        self.dialect = dialect_of(self.url)
        self.write_wait = float(write_wait) if write_wait is not None else write_wait_setting()
        self.engine = make_engine(
            self.url, write_wait=self.write_wait, creator=creator, **engine_kwargs
        )
        self._write_engine = self.engine.execution_options(**{_WRITE: True})
        self._gate: FlockGate | None = None  # SQLite: one writer at a time on the file
        self._lanes: WriteGate | None = None  # PostgreSQL: this machine's writes, a few at once
        self._checkpoints: Checkpointer | None = None
        if self.dialect == "postgresql":
            self._lanes = admission_for(database_key(self.url), WRITE_LANES)
        elif (path := sqlite_path(self.url)) != ":memory:":
            self._gate = gate_for(path)
            self._checkpoints = Checkpointer(path, self._gate)
        # the process whose writes were prepared, and how many statements it had made by then
        self._prepared: tuple[int, int] = (0, 0)
        # Told ``True`` (from the writing thread, or a timer's) when a write has waited about a
        # second for another terminal's change, and ``False`` when it is over: saved or given up.
        self.on_wait: Callable[[bool], None] | None = None
        self._watch = _Watch(self)

    # -- reading ---------------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading.  Closed at the end (never committed); the objects it loaded stay
        readable afterwards, detached."""
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            yield session
            end_keeping_statements(session)

    def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn(session, *args, **kwargs)`` in a read session and return its result."""
        with self.read() as session:
            return fn(session, *args, **kwargs)

    # -- writing ---------------------------------------------------------------------------------
    @contextmanager
    def write(self, deadline: float | None = None) -> Iterator[Session]:
        """One write transaction (no retry; prefer :meth:`run`).

        A refusal rolls everything back, except a refusal that says its writes must stay
        (``keeps_writes``, e.g. counting a wrong PIN), which is committed before it is raised.
        The SQLite write gate is waited for until ``deadline`` (``time.monotonic()``; default:
        :attr:`write_wait` from now), then :class:`HeldUp`.
        """
        if deadline is None:
            deadline = time.monotonic() + self.write_wait
        if self._prepared != (os.getpid(), Hot.made()):
            self.prepare_writes()
        if self._gate is not None:
            gate = self._gate.held(deadline)
        elif self._lanes is not None:
            gate = self._lanes.held(min(deadline, time.monotonic() + ADMISSION_WAIT), or_go=True)
        else:
            gate = nullcontext()
        try:
            with gate, _no_collection(), self._transaction() as session:
                yield session
        finally:
            if self._checkpoints is not None:  # after the gate is let go
                self._checkpoints.nudge()

    def prepare_writes(self) -> None:
        """What a process's first write would otherwise do while it holds the write lock (or its
        rows), done before it is taken: the ORM's mappers configured and the hot path's
        statements compiled (~40 ms; 32 sessions saving at once each held everyone up for it).
        A write calls it when the process is new or a module of rules imported since made
        statements of its own (so a session that prepared early, :meth:`db.store.Store.warm`,
        still compiles its first booking's statements outside the lock)."""
        from sqlalchemy.orm import configure_mappers

        made = Hot.made()
        configure_mappers()
        Hot.prepare_all(self.engine.dialect)
        self._prepared = (os.getpid(), made)

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
                end_keeping_statements(session)
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
        (:class:`db.errors.ActorChanged`).

        A rule may carry a ``precheck`` (:func:`db.ledger.book` does: :func:`db.ledger.fits`): a
        function of the same arguments that reads, in one snapshot, whether the rule would be
        refused with :class:`DoesNotFit`, and raises that refusal.  A refusal writes nothing, so
        it needs no write lock.  On SQLite, where one write at a time holds the whole database,
        the precheck runs before the write waits for its turn: the bookings that do not fit no
        longer hold up the ones that do (32 sessions booking, in alternating runs: 139 to 206
        bookings a second).
        PostgreSQL locks only the day's rows, and there the extra read cost about what it saved
        (bench/bench_db.py), so it is not run.  What passes is checked again under the lock, so
        the rule stays exact."""
        actor = args[0] if args else kwargs.get("actor")
        if not isinstance(actor, Actor):
            actor = None
        precheck = getattr(fn, "precheck", None)
        if precheck is not None and self.dialect == "sqlite":
            self._precheck(precheck, *args, **kwargs)
        with self._watch.write():
            return self._run(actor, fn, *args, **kwargs)

    def _run(self, actor: Actor | None, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if actor is not None:
            from db.users import recheck
        began = time.monotonic()
        deadline = began + self.write_wait
        delay = 0.02
        for attempt in range(self.retries + 1):
            try:
                with self.write(deadline) as session:
                    if actor is not None:
                        recheck(session, actor)
                    return fn(session, *args, **kwargs)
            except DoesNotFit as refusal:
                self._nearest(refusal)  # after the write lock is released
                raise
            except PoolTimeout as error:  # this session's one connection stayed taken
                raise HeldUp(time.monotonic() - began) from error
            except DBAPIError as error:
                if timed_out(error):  # PostgreSQL waited its lock_timeout (statement_timeout)
                    raise HeldUp(time.monotonic() - began) from error
                if not is_retryable(error):
                    raise
                pause = delay * (1 + random.random())
                if time.monotonic() + pause >= deadline:
                    raise HeldUp(time.monotonic() - began) from error
                if attempt == self.retries:
                    raise Busy() from error
                time.sleep(pause)
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")

    def _precheck(self, check: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Run a rule's ``precheck`` in a read transaction (one snapshot: see :meth:`run`); its
        refusal is raised with the nearest day with room."""
        with self.read() as session:
            try:
                check(session, *args, **kwargs)
            except DoesNotFit as refusal:
                refusal.find(session)  # no lock is held: the nearest day in the same snapshot
                raise

    def _nearest(self, refusal: DoesNotFit) -> None:
        """Look up the nearest day with room of a refusal that left it to be found."""
        if refusal.finder is not None:
            with self.read() as session:
                refusal.find(session)

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
        self.engine.dispose()
