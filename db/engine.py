"""Engine and transactions: the only place that begins, commits and retries.

Reads use plain sessions.  Writes run in :meth:`Database.run`: on SQLite a ``BEGIN IMMEDIATE``
transaction (the write lock is taken first, so two sessions never read-then-write the same hours),
on PostgreSQL a normal transaction in which the rules take row locks (``SELECT ... FOR UPDATE``).
A busy database, a deadlock or a serialization failure is retried a few times, so a user never sees
"database is locked".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from db.errors import Busy, PrepfloorError
from db.urls import configure_sqlite_connection, dialect_of, normalize_url, sqlite_path

P = ParamSpec("P")
T = TypeVar("T")

_WRITE = "prepfloor_write"
_RETRYABLE_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


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


class Database:
    """One shared database: the engine, read sessions and write transactions."""

    retries = 8

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.dialect = dialect_of(self.url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self._write_engine = self.engine.execution_options(**{_WRITE: True})

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
        """Call ``fn(session, *args, **kwargs)`` in a write transaction, retrying when busy."""
        delay = 0.02
        for attempt in range(self.retries + 1):
            try:
                with self.write() as session:
                    return fn(session, *args, **kwargs)
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
