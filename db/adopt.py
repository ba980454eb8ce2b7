"""``prepfloor db adopt``: prepfloor on a business's existing Directus database (PostgreSQL).

A business that runs Directus with the seed's collections already has ``dealership``, ``cars`` and
the rest, its staff in ``directus_users``.  Adopting checks the database (:mod:`db.adopt_check`:
every table and column prepfloor needs, the rows its rules refuse) and, when nothing blocks, adds
what prepfloor needs in one transaction, the same objects its migrations make:

1. prepfloor's fields on Directus's collections and prepfloor's own tables, with their defaults
   (migration 0010's), NOT NULL where every row already has a value, foreign keys, CHECK and
   unique rules (those the existing rows allow; the others are reported and added by a later run),
   indexes, the car search index (pg_trgm) and ``car_access`` filled from the bookings;
2. ``users``, prepfloor's staff table, a copy of ``directus_users`` that the database keeps in step
   (:mod:`db.adopt_users`), with the role map ``prepfloor_role_map``;
3. the triggers of migration 0011 (:mod:`db.triggers`: ledger, audit, updated_at, change feed), and
   one that keeps ``resource_capacities.available_hours`` when Directus made it a plain field;
4. Alembic stamped at :data:`db.schema.HEAD`, and the marker: the one row of
   ``prepfloor_adoption`` (when, and the fields of ``directus_users`` the copy reads).

No Directus column or row is dropped or rewritten.  Afterwards ``prepfloor db upgrade``,
``prepfloor doctor`` and the app work on the database as on any other; the foreign keys of the seed's
user fields stay Directus's (to ``directus_users.id``, the same ids as ``users.id``), the one
difference a schema comparison accepts (:func:`schema_differences`).  Adopting again is safe: it
adds what a fixed row now allows, and follows new ``--role`` options.

The marker and the role map are prepfloor's, kept outside the SQLModel metadata: only an adopted
database has them, and schema comparisons leave them alone (:func:`db.schema.prepfloor_owns` looks
at the models' tables only).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from db.adopt_check import Options, Report, check
from db.adopt_schema import (
    ADOPTION_TABLE,
    accepted_target,
    kind_of,
    model_default,
    quoted,
    read_database,
    sql_type,
    type_fits,
)
from db.errors import PrepfloorError
from db.i18n import _
from db.urls import dialect_of, normalize_url
from db.vocab import ROLES

LOCK_WAIT = "10s"  # how long adopting waits for a table Directus (or anyone) is writing


class AdoptRefused(PrepfloorError):
    """Adoption cannot run here (SQLite, or it failed and nothing was changed)."""


def parse_roles(values: list[str]) -> dict[str, str]:
    """``--role 'Directus name=prepfloor_role'`` options as a map."""
    roles: dict[str, str] = {}
    for value in values:
        name, sep, role = value.rpartition("=")
        name, role = name.strip(), role.strip().lower()
        if not sep or not name or role not in ROLES:
            raise AdoptRefused(
                _("--role {value}: give DIRECTUS_ROLE_NAME=ROLE, ROLE one of: {roles}.").format(
                    value=repr(value), roles=", ".join(ROLES)
                )
            )
        roles[name] = role
    return roles


def marker_sql() -> str:
    """The marker table: one row once the database is adopted."""
    return (
        f"CREATE TABLE IF NOT EXISTS {ADOPTION_TABLE} ("
        "id integer NOT NULL DEFAULT 1, "
        "adopted_at timestamp with time zone NOT NULL DEFAULT now(), "
        "login_field varchar(63), "
        "dealership_field varchar(63), "
        f"CONSTRAINT pk_{ADOPTION_TABLE} PRIMARY KEY (id), "
        f"CONSTRAINT ck_{ADOPTION_TABLE}_one CHECK (id = 1))"
    )


def is_adopted(connection: Connection) -> bool:
    """Was this database adopted from Directus (:func:`adopt`)?"""
    if connection.dialect.name != "postgresql":
        return False
    if connection.execute(text(f"SELECT to_regclass('{ADOPTION_TABLE}')")).scalar() is None:
        return False
    return connection.execute(text(f"SELECT count(*) FROM {ADOPTION_TABLE}")).scalar() == 1


def _stored_fields(connection: Connection) -> tuple[str | None, str | None]:
    if not is_adopted(connection):
        return None, None
    row = connection.execute(
        text(f"SELECT login_field, dealership_field FROM {ADOPTION_TABLE} WHERE id = 1")
    ).one()
    return row[0], row[1]


def adopt(url: str, options: Options, *, check_only: bool = False) -> Report:
    """Check the database at ``url`` and, unless ``check_only`` or something blocks, adopt it.
    The report's items say what was found; ``report.adopted_now`` whether it was adopted."""
    url = normalize_url(url)
    if dialect_of(url) != "postgresql":
        raise AdoptRefused(
            _(
                "prepfloor db adopt works on PostgreSQL only: Directus's database for prepfloor "
                "must be PostgreSQL (a SQLite file is prepfloor's alone; just start prepfloor)."
            )
        )
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            if check_only:
                connection.execute(text("SET TRANSACTION READ ONLY"))
            login_field, dealership_field = _stored_fields(connection)
            options = Options(
                roles=options.roles,
                login_field=options.login_field or login_field,
                dealership_field=options.dealership_field or dealership_field,
            )
            report = check(connection, options)
            if check_only or report.blocked:
                transaction.rollback()
                return report
            try:
                apply(connection, report, options, url)
            except Exception as error:  # a lock held too long, a right the role lacks...
                transaction.rollback()
                raise AdoptRefused(_failed(error)) from error
            transaction.commit()
            report.adopted_now = True
            return report
    finally:
        engine.dispose()


def _failed(error: Exception) -> str:
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    if code == "55P03":
        return _(
            "Directus (or another client) kept a table busy for more than {wait}: nothing was "
            "changed. Try again when it is quiet (or stop Directus for a minute)."
        ).format(wait=LOCK_WAIT)
    return _("adopting failed, nothing was changed: {error}").format(
        error=str(getattr(error, "orig", error)).strip()
    )


def apply(connection: Connection, report: Report, options: Options, url: str) -> None:
    """Carry out ``report.plan`` on ``connection`` (in its transaction)."""
    from sqlmodel import SQLModel

    from db import adopt_users, triggers
    from db.repair import ACCESS_MISSING
    from db.search import PG_EXPRESSION, PG_INDEX

    plan = report.plan
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
    schema = str(connection.execute(text("SELECT current_schema()")).scalar())
    connection.execute(text(marker_sql()))
    connection.execute(text(adopt_users.role_map_sql()))
    # prepfloor's fields on Directus's collections, then prepfloor's tables
    for table, column in plan.columns:
        for statement in _add_column(table, column):
            connection.execute(text(statement))
    if plan.tables:
        tables = [SQLModel.metadata.tables[name] for name in plan.tables]
        SQLModel.metadata.create_all(connection, tables=tables)
        for table in plan.tables:
            for column in SQLModel.metadata.tables[table].columns:
                default = model_default(table, column.name)
                if default is not None:
                    connection.execute(
                        text(
                            f"ALTER TABLE {quoted(table)} ALTER COLUMN {quoted(column.name)} "
                            f"SET DEFAULT {default}"
                        )
                    )
    # the staff: users copied from directus_users, kept in step by triggers
    adopt_users.install(connection, schema, options.login_field, options.dealership_field)
    adopt_users.store_roles(connection, plan.roles)
    adopt_users.copy_all(connection)
    report.users = int(connection.execute(text("SELECT count(*) FROM users")).scalar() or 0)
    # prepfloor's rules on Directus's collections
    for table, column in plan.not_null:
        connection.execute(
            text(f"ALTER TABLE {quoted(table)} ALTER COLUMN {quoted(column)} SET NOT NULL")
        )
    for table, column, default in plan.defaults:
        connection.execute(
            text(f"ALTER TABLE {quoted(table)} ALTER COLUMN {quoted(column)} SET DEFAULT {default}")
        )
    for statement in plan.ddl:
        connection.execute(text(statement))
    if plan.available_by_trigger:
        connection.exec_driver_sql(AVAILABLE_HOURS)
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    connection.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON cars "
            f"USING gin (({PG_EXPRESSION}) gin_trgm_ops)"
        )
    )
    connection.execute(text(f"INSERT INTO car_access (car_id, dealership_id) {ACCESS_MISSING}"))
    triggers.install(connection)
    from db import totals

    totals.install(connection)  # the dashboard's kept totals, built from the adopted rows
    _stamp(connection, url)
    connection.execute(
        text(
            f"INSERT INTO {ADOPTION_TABLE} (id, login_field, dealership_field) "
            "VALUES (1, :login, :dealer) ON CONFLICT (id) DO UPDATE SET "
            "login_field = EXCLUDED.login_field, dealership_field = EXCLUDED.dealership_field"
        ),
        {"login": options.login_field, "dealer": options.dealership_field},
    )


# resource_capacities.available_hours is generated on prepfloor's own databases; Directus made it a
# plain field, so a trigger keeps it (after prepfloor_capacity of db.triggers: names run in order)
AVAILABLE_HOURS = """
CREATE OR REPLACE FUNCTION prepfloor_available_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.available_hours := NEW.allocated_hours - NEW.used_hours;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS prepfloor_capacity_available ON resource_capacities;
CREATE TRIGGER prepfloor_capacity_available BEFORE INSERT OR UPDATE ON resource_capacities
FOR EACH ROW EXECUTE FUNCTION prepfloor_available_hours();
"""


def _add_column(table: str, name: str) -> list[str]:
    """ALTER TABLE for one of prepfloor's own columns on a Directus collection: a required one
    with its default (the existing rows get it), an optional one empty (its default is for new
    rows only: a car's created_at is not known)."""
    from sqlmodel import SQLModel

    column = SQLModel.metadata.tables[table].c[name]
    default = model_default(table, name)
    head = f"ALTER TABLE {quoted(table)} ADD COLUMN {quoted(name)} {sql_type(column)}"
    if not column.nullable:
        if default is None:
            raise AdoptRefused(f"adopt: {table}.{name} is required and has no default")
        return [f"{head} DEFAULT {default} NOT NULL"]
    if default is None:
        return [head]
    return [head, f"ALTER TABLE {quoted(table)} ALTER COLUMN {quoted(name)} SET DEFAULT {default}"]


def _stamp(connection: Connection, url: str) -> None:
    """Alembic's revision: :data:`db.schema.HEAD` (what adopting made is that schema)."""
    from alembic import command

    from db.migrate import alembic_config
    from db.schema import HEAD

    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.stamp(config, HEAD)


def schema_differences(connection: Connection) -> list[str]:
    """What a schema comparison (Alembic's, as ``alembic revision --autogenerate`` and the schema
    test make it) finds between the models and an adopted database, less what adopting accepts: a
    type Directus made differently that holds prepfloor's values (:func:`db.adopt_schema.type_fits`)
    and a seed user field's foreign key to ``directus_users.id`` instead of ``users.id``."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from db.schema import prepfloor_owns

    found = read_database(connection)
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": prepfloor_owns}
    )
    left: list[str] = []
    for diff in compare_metadata(context, SQLModel.metadata):
        for change in diff if isinstance(diff, list) else [diff]:
            if not _accepted(change, found, SQLModel.metadata):
                left.append(repr(change))
    return left


def _accepted(change: Any, found: Any, metadata: Any) -> bool:
    kind = change[0]
    if kind == "modify_type":
        _kind, _schema, table, column = change[:4]
        model_column = metadata.tables[table].c[column]
        db_column = found.tables[table].columns[column]
        wanted, length = kind_of(model_column)
        return type_fits(wanted, length, db_column.type)
    if kind in ("add_fk", "remove_fk"):
        fk = change[1]
        table = fk.parent.name
        columns = [c.name for c in fk.columns]
        if len(columns) != 1:
            return False
        model_fks = {
            (f.parent.name, f.column.table.name, f.column.name)
            for f in metadata.tables[table].foreign_keys
        }
        db_targets = found.tables[table].foreign_keys.get(columns[0], [])
        wanted = [(t, c) for p, t, c in model_fks if p == columns[0]]
        return bool(wanted) and any(accepted_target(wanted[0], f) for f in db_targets)
    return False
