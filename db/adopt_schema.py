"""What a database has, and what prepfloor needs of each of its columns: the vocabulary of
``prepfloor db adopt`` (:mod:`db.adopt_check` compares, :mod:`db.adopt` adds).

The database is read from PostgreSQL's catalog (:func:`read_database`); prepfloor's side is the
SQLModel metadata of :mod:`db.models`: each column has a kind (:func:`kind_of`), and
:func:`type_fits` says which database types hold it, including those Directus makes (``varchar(255)``
for a shorter string, ``real`` or ``numeric`` for hours, ``json`` or ``jsonb``).  The seed's fields
(:data:`SEED_FIELDS`) are the business's own, kept by a Directus administrator; every other column
of prepfloor's tables is prepfloor's.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    Table,
    Time,
    Uuid,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from db import formats
from db.i18n import _
from db.limits import NOTE_LIMIT
from db.models import TABLES
from db.types import SafeJSON, SafeString, UTCDateTime

PG = postgresql.dialect()
ADOPTION_TABLE = "prepfloor_adoption"  # the marker: one row, written when adopted
ROLE_MAP_TABLE = "prepfloor_role_map"  # Directus role name -> prepfloor role

# The fields of the seed's seven collections (../shared/seed/user-stories.md): the business's own
# data model, which a Directus administrator keeps.  A missing one is theirs to create; every other
# column of prepfloor's tables is prepfloor's own and is added.
SEED_FIELDS: dict[str, tuple[str, ...]] = {
    "cars": (
        "id", "vin", "license_plate", "brand", "model", "model_year", "color", "order_number",
        "customer_name", "customer_phone", "customer_email", "dealership_id", "seller_id",
        "car_type", "status", "registered_at", "accessories", "seller_notes", "prep_center_id",
        "scheduled_technical_date", "scheduled_technical_time", "scheduled_cosmetic_date",
        "scheduled_cosmetic_time", "estimated_technical_hours", "estimated_cosmetic_hours",
        "assigned_mechanic_id", "assigned_detailer_id", "parts_ordered_seller_at",
        "parts_arrived_seller_at", "parts_ordered_prep_at", "parts_arrived_prep_at", "parts_notes",
        "arrived_prep_center_at", "inspection_completed_at", "inspection_approved",
        "inspection_notes", "technical_started_at", "technical_completed_at",
        "cosmetic_started_at", "cosmetic_completed_at", "technical_notes", "cosmetic_notes",
        "ready_for_delivery_at", "delivered_to_dealership_at", "sold_at",
        "delivered_to_customer_at", "archived_at",
    ),
    "dealership": (
        "id", "dealership_number", "dealership_name", "location", "dealership_type", "brand",
        "does_own_prep", "active", "parent_dealership_id", "prep_center_id", "brand_colors",
        "logo",
    ),
    "notifications": ("id", "user_id", "car_id", "type", "message", "read", "created_at"),
    "resource_types": (
        "id", "code", "name", "description", "icon", "color", "active", "is_productive",
        "bookable", "requires_assignment", "default_duration_hours",
    ),
    "resource_bookings": (
        "id", "car_id", "resource_type_id", "date", "start_time", "estimated_hours",
        "provider_dealership_id", "consumer_dealership_id", "user_id", "status", "actual_hours",
        "completed_at", "notes",
    ),
    "resource_capacities": (
        "id", "dealership_id", "resource_type_id", "date", "allocated_hours", "used_hours",
        "available_hours", "user_id",
    ),
    "resource_sharing": (
        "id", "provider_dealership_id", "consumer_dealership_id", "resource_type_id", "enabled",
        "max_hours_per_week", "priority", "notes",
    ),
}  # fmt: skip

# What a Directus administrator picks for each kind of column (Settings → Data Model).
DIRECTUS_TYPES = {
    "int": "Integer",
    "bigint": "Big Integer",
    "float": "Float or Decimal",
    "str": "String",
    "text": "Text",
    "bool": "Boolean",
    "date": "Date",
    "time": "Time",
    "timestamptz": "Timestamp",
    "json": "JSON",
    "uuid": "UUID",
    "bytes": "Binary",
}
# The database types that hold what prepfloor writes (besides strings and numbers, judged apart).
ACCEPTED = {
    "int": ("integer", "bigint"),
    "bigint": ("bigint",),
    "bool": ("boolean",),
    "date": ("date",),
    "time": ("time without time zone",),
    "timestamptz": ("timestamp with time zone",),
    "json": ("json", "jsonb"),
    "uuid": ("uuid",),
    "bytes": ("bytea",),
}
_VARCHAR = re.compile(r"character varying(?:\((\d+)\))?$")
_NUMERIC = re.compile(r"numeric(?:\((\d+),(\d+)\))?$")


# ------------------------------------------------------------------------------------------------
# what the database has
# ------------------------------------------------------------------------------------------------
@dataclass
class DbColumn:
    name: str
    type: str  # as PostgreSQL writes it: character varying(255), numeric(10,5), ...
    nullable: bool
    default: str | None
    generated: bool
    identity: bool = False


@dataclass
class DbTable:
    name: str
    columns: dict[str, DbColumn] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    # column -> (table, column) of its single-column foreign keys
    foreign_keys: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass
class Found:
    tables: dict[str, DbTable]
    constraints: set[tuple[str, str]]  # (table, name)
    indexes: set[str]
    revision: str | None
    adopted_at: datetime | None


def read_database(connection: Connection) -> Found:
    """The tables, columns, keys, constraint and index names of the current schema."""
    rows = connection.execute(
        text(
            """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '',
               a.attidentity <> ''
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
        AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum"""
        )
    ).all()
    tables: dict[str, DbTable] = {}
    for table, name, kind, nullable, default, generated, identity in rows:
        tables.setdefault(table, DbTable(table)).columns[name] = DbColumn(
            name, kind, bool(nullable), default, bool(generated), bool(identity)
        )
    constraints: set[tuple[str, str]] = set()
    for table, name, kind, columns, target, target_columns in connection.execute(
        text(
            """
        SELECT c.relname, con.conname, con.contype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                     ORDER BY k.o),
               f.relname,
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                     ORDER BY k.o)
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class f ON f.oid = con.confrelid
        WHERE n.nspname = current_schema()"""
        )
    ):
        constraints.add((table, name))
        found = tables.get(table)
        if found is None:
            continue
        if kind == "p":
            found.primary_key = tuple(columns)
        elif kind == "f" and len(columns) == 1:
            found.foreign_keys.setdefault(columns[0], []).append((target, target_columns[0]))
    indexes = {
        r[0]
        for r in connection.execute(
            text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        )
    }
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()
    adopted_at = None
    if ADOPTION_TABLE in tables:
        adopted_at = connection.execute(
            text(f"SELECT adopted_at FROM {ADOPTION_TABLE} WHERE id = 1")
        ).scalar()
    return Found(tables, constraints, indexes, revision, adopted_at)


@cache
def _migration_defaults() -> tuple[dict[tuple[str, str], str], tuple[tuple[str, str], ...]]:
    """The defaults migration 0010 gives prepfloor's columns on PostgreSQL (the models' own)."""
    path = Path(__file__).parent / "migrations" / "versions" / "0010_database_defaults.py"
    spec = importlib.util.spec_from_file_location("prepfloor_migration_0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULTS, module.NOW


def model_default(table: str, column: str) -> str | None:
    """The SQL default prepfloor gives ``table.column`` on PostgreSQL, if any."""
    defaults, now = _migration_defaults()
    if (table, column) in defaults:
        return defaults[(table, column)]
    if (table, column) in now:
        return "now()"
    model = prepfloor_tables().get(table)
    if model is None:
        return None
    server_default = model.c[column].server_default
    if server_default is not None and hasattr(server_default, "arg"):
        arg = server_default.arg
        if isinstance(arg, str):  # a plain string is a value, as SQLAlchemy's DDL quotes it
            return "'" + arg.replace("'", "''") + "'"
        return str(getattr(arg, "text", arg))
    return None


def prepfloor_tables() -> dict[str, Table]:
    """Every table of prepfloor's models, the seed's collections first."""
    from sqlmodel import SQLModel

    tables = {name: model.__table__ for name, model in TABLES.items()}  # type: ignore[attr-defined]
    for table in SQLModel.metadata.sorted_tables:
        tables.setdefault(table.name, table)
    return tables


def quoted(name: str) -> str:
    return PG.identifier_preparer.quote(name)


# ------------------------------------------------------------------------------------------------
# one column
# ------------------------------------------------------------------------------------------------
def kind_of(column: Column[Any]) -> tuple[str, int | None]:
    """What prepfloor keeps in ``column``: a kind (see :data:`DIRECTUS_TYPES`) and a length."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "timestamptz", None
    if isinstance(kind, SafeString):
        length = getattr(kind.impl, "length", None)
        return ("str", length) if length else ("text", None)
    if isinstance(kind, SafeJSON | JSON):
        return "json", None
    if isinstance(kind, Uuid):
        return "uuid", None
    if isinstance(kind, Boolean):
        return "bool", None
    if isinstance(kind, BigInteger):
        return "bigint", None
    if isinstance(kind, Integer):
        return "int", None
    if isinstance(kind, Float):
        return "float", None
    if isinstance(kind, Date):
        return "date", None
    if isinstance(kind, Time):
        return "time", None
    if isinstance(kind, LargeBinary):
        return "bytes", None
    raise TypeError(f"adopt: no rule for {column.table.name}.{column.name} ({kind!r})")


def sql_type(column: Column[Any]) -> str:
    return str(column.type.compile(dialect=PG))


def type_fits(kind: str, length: int | None, found: str) -> bool:
    """Does a column of database type ``found`` hold what prepfloor writes there?"""
    if kind in ("str", "text"):
        if found == "text":
            return True
        varchar = _VARCHAR.match(found)
        if varchar is None:
            return False
        return varchar.group(1) is None or int(varchar.group(1)) >= (length or NOTE_LIMIT)
    if kind == "float":
        if found in ("real", "double precision"):
            return True
        numeric = _NUMERIC.match(found)
        # hours up to a few thousand (a dealership's day), to the hundredth
        return numeric is not None and (
            numeric.group(1) is None
            or (int(numeric.group(1)) - int(numeric.group(2)) >= 5 and int(numeric.group(2)) >= 2)
        )
    return found in ACCEPTED[kind]


def directus_type(kind: str, length: int | None, target: str | None) -> str:
    """How a Directus administrator creates a field of this kind."""
    if target == "users":
        return _("a Many-to-One relation to Users (directus_users)")
    if target is not None:
        return _("a Many-to-One relation to {collection}").format(collection=target)
    if kind == "str":
        return _("String, max length {length} or more").format(length=length)
    return DIRECTUS_TYPES[kind]


def type_fix(table: str, column: Column[Any], kind: str, length: int | None, found: str) -> str:
    """What to change in Directus (or with SQL) so that ``table.column`` holds prepfloor's values."""
    name, where = quoted(column.name), quoted(table)
    varchar = _VARCHAR.match(found)
    if kind == "str" and varchar is not None:
        return _(
            "is {found}: prepfloor keeps up to {length} characters here. In Directus: open the "
            "field, Schema, and set its max length to {length} or more (or run: ALTER TABLE "
            "{table} ALTER COLUMN {column} TYPE varchar({length}))."
        ).format(found=found, length=length, table=where, column=name)
    if kind == "text" and varchar is not None:
        return _(
            "is {found}: prepfloor keeps up to {length} characters here. In Directus it should "
            "be a Text field (or run: ALTER TABLE {table} ALTER COLUMN {column} TYPE text)."
        ).format(found=found, length=formats.number(NOTE_LIMIT, 0), table=where, column=name)
    if kind == "timestamptz" and found == "timestamp without time zone":
        return _(
            "is a DateTime field (timestamp without time zone): prepfloor stores moments in UTC "
            "and needs a Timestamp field (timestamp with time zone). Directus cannot change a "
            "field's type; a database administrator can run: ALTER TABLE {table} ALTER COLUMN "
            "{column} TYPE timestamptz USING {column} AT TIME ZONE 'ZONE' (ZONE: the time zone "
            "its values were typed in, e.g. Europe/Oslo)."
        ).format(table=where, column=name)
    wanted = sql_type(column)
    return _(
        "is {found}: prepfloor needs {directus} ({sql}). Directus cannot change a field's type: "
        "add a {directus} field, copy the values into it, delete this one and give the new one "
        "the name {field}; or have a database administrator run: ALTER TABLE {table} ALTER "
        "COLUMN {column} TYPE {sql} USING {column}::{sql}"
    ).format(
        found=found,
        directus=directus_type(kind, length, None),
        sql=wanted,
        field=column.name,
        table=where,
        column=name,
    )


def fk_target(column: Column[Any]) -> tuple[str, str] | None:
    for fk in column.foreign_keys:
        return fk.column.table.name, fk.column.name
    return None


def accepted_target(wanted: tuple[str, str], found: tuple[str, str]) -> bool:
    """A foreign key that holds prepfloor's rule: to the model's target, or, for a user column of
    Directus's collections, to ``directus_users.id`` (``users`` mirrors it, same ids)."""
    return found == wanted or (wanted == ("users", "id") and found == ("directus_users", "id"))


def varchar_length(found: str) -> int | None:
    """The length of a ``character varying(n)`` type; None for any other type (or no length)."""
    match = _VARCHAR.match(found)
    return int(match.group(1)) if match and match.group(1) else None


def stored_roles(connection: Connection) -> dict[str, str]:
    """The role map of an adopted database (Directus role name -> prepfloor role)."""
    exists = connection.execute(text(f"SELECT to_regclass('{ROLE_MAP_TABLE}')")).scalar()
    if exists is None:
        return {}
    return {
        str(name): str(role)
        for name, role in connection.execute(
            text(f"SELECT directus_role, role FROM {ROLE_MAP_TABLE}")
        )
    }
