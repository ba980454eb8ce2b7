"""Kept totals in a module of their own (:mod:`db.totals_weeks`, :mod:`db.totals_closed`): the
module names its table (``TABLE``, ``COLUMNS``), the table its triggers watch (``ON``), and gives
its DDL, triggers and fresh rows; this installs one (migration 0016) or removes it.
:mod:`db.totals` lists them with the others, for doctor and repair."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def pg_function(name: str, body: str) -> str:
    """A PostgreSQL trigger function running ``body`` (with the rights of its owner)."""
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"SECURITY DEFINER SET search_path FROM CURRENT AS $$\nBEGIN\n{body}\nRETURN NULL;\nEND\n$$"
    )


def _dialect(connection: Any) -> str:
    return str(connection.dialect.name)


def _run(connection: Any, statement: str) -> None:
    # the driver reads ``%`` as a placeholder mark in what SQLAlchemy hands it
    connection.exec_driver_sql(statement.replace("%", "%%"))


def install(connection: Any, own: ModuleType) -> None:
    """Create the table of ``own``, fill it from the business rows and add its triggers.  A
    database made from scratch gets it from :func:`db.totals.install`.  Safe to run again."""
    dialect = _dialect(connection)
    for statement in own.ddl(dialect):
        _run(connection, statement)
    drop_triggers(connection, own)
    _run(connection, f"DELETE FROM {own.TABLE}")
    _run(connection, f"INSERT INTO {own.TABLE} ({', '.join(own.COLUMNS)}) {own.fresh(dialect)}")
    if dialect == "postgresql":
        _run(connection, pg_function(own.TRIGGER, own.pg_body()))
        _run(connection, own.pg_trigger())
        _run(connection, f"ANALYZE {own.TABLE}")
    else:
        for statement in own.sqlite_triggers():
            _run(connection, statement)


def drop_triggers(connection: Any, own: ModuleType) -> None:
    if _dialect(connection) == "postgresql":
        _run(connection, f"DROP TRIGGER IF EXISTS {own.TRIGGER} ON {own.ON}")
    else:
        for name in own.SQLITE_TRIGGERS:
            _run(connection, f"DROP TRIGGER IF EXISTS {name}")


def uninstall(connection: Any, own: ModuleType) -> None:
    """Remove the triggers, the function and the table of ``own`` (migration 0016's downgrade)."""
    drop_triggers(connection, own)
    if _dialect(connection) == "postgresql":
        _run(connection, f"DROP FUNCTION IF EXISTS {own.TRIGGER}()")
    _run(connection, f"DROP TABLE IF EXISTS {own.TABLE}")
