"""Statements on the booking's hot path, run on the driver's own cursor.

A booking runs a dozen statements while it holds the write lock (SQLite) or the capacity rows
(PostgreSQL).  SQLAlchemy spends about 60 µs of Python on each execution (the execution context,
the result object, the events), ten times what the driver needs; under 32 sessions booking at
once that overhead is most of the time the lock is held.  :class:`Hot` wraps one SQLAlchemy Core
statement: it is compiled once per dialect (with SQLAlchemy's own type processing of every
parameter), and then executed directly on the DBAPI connection of the same transaction.  Errors
go through SQLAlchemy's own error handling, so a caller sees the same exceptions (``database is
locked`` is still an ``OperationalError`` that :meth:`db.engine.Database.run` retries, and a lost
PostgreSQL connection still invalidates the pool).

Rows come back as named tuples of what the driver returns: use it for statements whose columns
need no type processing (numbers, text, booleans read for their truth); a date, time, UUID or
JSON column read on SQLite would be text.
"""

from __future__ import annotations

import threading
import weakref
from collections import namedtuple
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.base import Executable


def _processors(compiled: Any, dialect: Any) -> dict[str, Any]:
    """The bind processors of a compiled statement: SQLAlchemy's own (its types, including
    prepfloor's :mod:`db.types` decorators), by parameter name."""
    found = getattr(compiled, "_bind_processors", None)
    if found is not None:
        return dict(found)
    return {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for name, bind in compiled.binds.items()
    }


class _Plan:
    __slots__ = ("fixed", "order", "positional", "processors", "row", "sql")

    def __init__(self, statement: Executable, dialect: Any) -> None:
        required = {
            bind.key
            for bind in visitors.iterate(statement)  # type: ignore[arg-type]
            if getattr(bind, "__visit_name__", "") == "bindparam" and bind.required
        }
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        state = compiled.construct_expanded_state(dict.fromkeys(required), escape_names=False)
        self.sql: str = state.statement
        self.positional: bool = bool(dialect.positional)
        self.order: list[str] = list(state.positiontup or state.parameters)
        processors = {**_processors(compiled, dialect), **(state.processors or {})}
        self.processors: dict[str, Any] = {
            name: processors[name] for name in required if processors.get(name) is not None
        }
        self.fixed: dict[str, Any] = {}
        for name, value in state.parameters.items():
            if name not in required:
                process = processors.get(name)
                self.fixed[name] = process(value) if process is not None else value
        self.row: Any = None


class Hot:
    """One Core statement, compiled once per dialect, executed on the driver's cursor."""

    __slots__ = ("__weakref__", "_plans", "statement")
    _every: weakref.WeakSet[Hot] = weakref.WeakSet()
    _made = 0  # statements made so far (a module of rules imported makes its own)
    _lock = threading.Lock()  # a module imported in one thread while another prepares

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}
        with Hot._lock:
            Hot._every.add(self)
            Hot._made += 1

    @classmethod
    def made(cls) -> int:
        """How many statements have been made so far in this process."""
        return cls._made

    @classmethod
    def prepare_all(cls, dialect: Any) -> int:
        """Compile every statement made so far for ``dialect`` (a session does it before its
        first write, outside the write lock: compiling them in its first booking held the lock
        for tens of milliseconds).  How many were compiled."""
        made = 0
        with cls._lock:
            every = list(cls._every)
        for hot in every:
            if dialect.name not in hot._plans:
                hot._plans[dialect.name] = _Plan(hot.statement, dialect)
                made += 1
        return made

    def _plan(self, conn: Connection) -> _Plan:
        dialect = conn.dialect
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """Run the statement in ``conn``'s transaction; the driver's cursor."""
        plan = self._plan(conn)
        values = dict(plan.fixed)
        if params:
            processors = plan.processors
            for name, value in params.items():
                process = processors.get(name)
                values[name] = (
                    process(value) if process is not None and value is not None else value
                )
        bound: Any = tuple(values[name] for name in plan.order) if plan.positional else values
        raw = conn.connection.driver_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, bound)
        except Exception as error:
            if not isinstance(error, conn.dialect.loaded_dbapi.Error):
                raise
            conn._handle_dbapi_exception(error, plan.sql, bound, cursor, None)
        return cursor

    def _named(self, conn: Connection, cursor: Any) -> Any:
        plan = self._plans[conn.dialect.name]
        if plan.row is None:
            names = [column[0] for column in cursor.description]
            plan.row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        return plan.row

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first row as a named tuple, or None."""
        cursor = self.execute(conn, params)
        found = cursor.fetchone()
        row = None if found is None else self._named(conn, cursor)._make(found)
        cursor.close()
        return row

    def all(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row, as named tuples."""
        cursor = self.execute(conn, params)
        found = cursor.fetchall()
        make = self._named(conn, cursor)._make if found else None
        cursor.close()
        return [make(row) for row in found] if make else []

    def scalar(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        cursor = self.execute(conn, params)
        found = cursor.fetchone()
        cursor.close()
        return None if found is None else found[0]

    def rowcount(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Run a write; how many rows it touched."""
        cursor = self.execute(conn, params)
        count = int(cursor.rowcount)
        cursor.close()
        return count
