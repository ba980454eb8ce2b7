"""Writing Directus's settings for prepfloor's collections (:mod:`db.directus` says which) into
Directus's own tables, with SQL, in one transaction: ``prepfloor directus apply``.

Directus keeps them in ``directus_collections``, ``directus_fields`` and ``directus_relations``
(its admin app writes the same rows when someone configures a collection by hand) and reads them
into its schema cache: it need not run meanwhile, and a running Directus sees them after a restart
or after an admin clears the cache (``POST /utils/cache/clear?system``).

Only rows for prepfloor's collections are written (never Directus's own or another collection's),
and in them only prepfloor's settings: what an admin changed that prepfloor has no opinion on (a
field's width, its order, a translation, an option an interface has beyond its choices) is kept;
an icon and a collection's place in the sidebar are set when the row is created and left to the
admin afterwards.  Running it again changes nothing.

The SQL names only the columns Directus 11 has (checked against 11.3.5:
``tests/directus_system.sql``); the columns later versions add (12.x:
``directus_collections.status``, ``directus_fields.searchable``, ...) have defaults and are left to
them.  It runs as Directus's database role, which owns Directus's tables; prepfloor's own role may
not write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from db.directus import (
    ALEMBIC_TABLE,
    LISTS,
    CollectionMeta,
    FieldMeta,
    ListOf,
    collection_metadata,
    field_metadata,
)
from db.errors import PrepfloorError
from db.i18n import _
from db.urls import describe, dialect_of, normalize_url

# Directus's tables this module writes (all three exist once Directus has been bootstrapped).
DIRECTUS_TABLES = ("directus_collections", "directus_fields", "directus_relations")


class DirectusNotReady(PrepfloorError):
    """The database cannot take Directus's settings now (SQLite, no Directus, no prepfloor, no
    right to write Directus's tables, a lock held too long, a failed statement): nothing was
    changed."""


@dataclass(frozen=True)
class Change:
    """One row written (``created``) or changed (``columns``: the settings that changed)."""

    table: str  # directus_collections, directus_fields or directus_relations
    name: str  # the collection, collection.field, or a relation
    created: bool
    columns: tuple[str, ...]


@dataclass
class Outcome:
    """What :func:`apply` did (or, in a dry run, would do)."""

    database: str
    changes: list[Change]
    collections: int  # prepfloor collections on the database
    fields: int  # their fields with settings
    absent: list[str]  # prepfloor tables this database does not have (an older schema)
    dry_run: bool = False


_LOCK_KEY = 0x70726570  # "prep": one apply at a time on a database (advisory lock)


def _connect(url: str) -> Any:
    from db.fast import connect_postgres, write_wait

    return connect_postgres(url, write_wait(), autocommit=False)


def _existing_columns(cursor: Any, tables: list[str]) -> dict[str, set[str]]:
    """The columns of those of ``tables`` that this database has, in the current schema.  Read from
    the catalog, which any role may read (``information_schema`` shows only what a role has
    rights on)."""
    cursor.execute(
        "SELECT c.relname, a.attname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND a.attnum > 0 AND NOT a.attisdropped AND c.relname = ANY(%s)",
        (tables,),
    )
    found: dict[str, set[str]] = {}
    for table, column in cursor.fetchall():
        found.setdefault(table, set()).add(column)
    return found


_MERGED = ("options", "display_options")  # objects the admin may add keys to
_JSON = (*_MERGED, "validation")  # json columns of directus_fields


def _merged(current: Any, wanted: Mapping[str, Any]) -> dict[str, Any]:
    """An options object with prepfloor's keys set and the admin's other keys kept."""
    base = current if isinstance(current, dict) else {}
    return {**base, **wanted}


def _differences(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of ``wanted`` that the row ``current`` does not have yet (options merged)."""
    changed: dict[str, Any] = {}
    for column, value in wanted.items():
        if column in _MERGED:
            value = _merged(current.get(column), value)
        if current.get(column) != value:
            changed[column] = value
    return changed


def _sql_value(column: str, value: Any) -> Any:
    if column in _JSON:
        from psycopg.types.json import Json

        return Json(value)
    return value


def _apply_collections(cursor: Any, wanted: list[CollectionMeta], changes: list[Change]) -> None:
    names = [c.collection for c in wanted]
    cursor.execute(
        "SELECT collection, display_template, hidden, note FROM directus_collections "
        "WHERE collection = ANY(%s)",
        (names,),
    )
    current = {
        row[0]: {"display_template": row[1], "hidden": row[2], "note": row[3]}
        for row in cursor.fetchall()
    }
    for meta in wanted:
        found = current.get(meta.collection)
        if found is None:
            row = {"collection": meta.collection, **meta.managed(), **meta.on_create()}
            columns = ", ".join(f'"{c}"' for c in row)
            cursor.execute(
                f"INSERT INTO directus_collections ({columns}) "
                f"VALUES ({', '.join(['%s'] * len(row))})",
                list(row.values()),
            )
            changes.append(Change("directus_collections", meta.collection, True, tuple(row)))
            continue
        changed = _differences(found, meta.managed())
        if changed:
            assignments = ", ".join(f'"{c}" = %s' for c in changed)
            cursor.execute(
                f"UPDATE directus_collections SET {assignments} WHERE collection = %s",
                [*changed.values(), meta.collection],
            )
            changes.append(Change("directus_collections", meta.collection, False, tuple(changed)))


_FIELD_COLUMNS = (
    "special",
    "interface",
    "options",
    "display",
    "display_options",
    "readonly",
    "hidden",
    "required",
    "note",
    "validation",
    "validation_message",
)


def _apply_fields(cursor: Any, wanted: list[FieldMeta], changes: list[Change]) -> None:
    collections = sorted({f.collection for f in wanted})
    cursor.execute(
        f"SELECT collection, field, {', '.join(_FIELD_COLUMNS)} FROM directus_fields "
        "WHERE collection = ANY(%s) ORDER BY id",
        (collections,),
    )
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for row in cursor.fetchall():
        # a field Directus holds twice: the first row is the one it reads
        current.setdefault((row[0], row[1]), dict(zip(_FIELD_COLUMNS, row[2:], strict=True)))
    for meta in wanted:
        found = current.get((meta.collection, meta.field))
        if found is None:
            row = {"collection": meta.collection, "field": meta.field, **meta.values}
            cursor.execute(
                f"INSERT INTO directus_fields ({', '.join(row)}) "
                f"VALUES ({', '.join(['%s'] * len(row))})",
                [_sql_value(c, v) for c, v in row.items()],
            )
            changes.append(Change("directus_fields", meta.name, True, tuple(meta.values)))
            continue
        changed = _differences(found, meta.values)
        if changed:
            assignments = ", ".join(f"{c} = %s" for c in changed)
            cursor.execute(
                f"UPDATE directus_fields SET {assignments} WHERE collection = %s AND field = %s",
                [*(_sql_value(c, v) for c, v in changed.items()), meta.collection, meta.field],
            )
            changes.append(Change("directus_fields", meta.name, False, tuple(changed)))


def _free_lists(cursor: Any, lists: list[ListOf]) -> list[ListOf]:
    """The lists whose foreign key Directus has no other one-to-many field for (one an admin made
    by hand is theirs: prepfloor's is then left out)."""
    if not lists:
        return []
    cursor.execute(
        "SELECT many_collection, many_field, one_field FROM directus_relations "
        "WHERE many_collection = ANY(%s)",
        ([li.many for li in lists],),
    )
    taken = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
    return [li for li in lists if taken.get((li.many, li.many_field)) in (None, li.field)]


def _apply_relations(cursor: Any, lists: list[ListOf], changes: list[Change]) -> None:
    """A ``directus_relations`` row per list: the foreign key and the list field on its target
    (Directus finds the foreign key itself; the row adds the way back)."""
    for listing in lists:
        cursor.execute(
            "SELECT one_collection, one_field FROM directus_relations "
            "WHERE many_collection = %s AND many_field = %s ORDER BY id LIMIT 1",
            (listing.many, listing.many_field),
        )
        found = cursor.fetchone()
        if found is None:
            cursor.execute(
                "INSERT INTO directus_relations (many_collection, many_field, one_collection, "
                "one_field) VALUES (%s, %s, %s, %s)",
                (listing.many, listing.many_field, listing.collection, listing.field),
            )
            changes.append(
                Change(
                    "directus_relations",
                    listing.name,
                    True,
                    ("many_collection", "many_field", "one_collection", "one_field"),
                )
            )
        elif tuple(found) != (listing.collection, listing.field):
            cursor.execute(
                "UPDATE directus_relations SET one_collection = %s, one_field = %s "
                "WHERE many_collection = %s AND many_field = %s",
                (listing.collection, listing.field, listing.many, listing.many_field),
            )
            changes.append(
                Change("directus_relations", listing.name, False, ("one_collection", "one_field"))
            )


def apply(url: str, *, dry_run: bool = False) -> Outcome:
    """Write Directus's settings for prepfloor's collections into the PostgreSQL database ``url``
    (in one transaction; ``dry_run``: roll it back).  Raises :class:`DirectusNotReady`, with
    nothing changed, when the database is SQLite, has no Directus or no prepfloor tables, the role
    may not write them, another apply holds them longer than the write wait, or a write fails."""
    target = normalize_url(url)
    where = describe(target)
    if dialect_of(target) != "postgresql":
        raise DirectusNotReady(
            _(
                "{database} is a SQLite database: Directus shares prepfloor's database only on "
                "PostgreSQL."
            ).format(database=where)
        )
    import psycopg

    wanted_collections = collection_metadata()
    wanted_fields = field_metadata()
    try:
        connection = _connect(target)
    except psycopg.Error as error:
        raise DirectusNotReady(
            _("cannot open the database {database}: {error}").format(database=where, error=error)
        ) from error
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
                "to_regclass(%s) IS NOT NULL",
                DIRECTUS_TABLES,
            )
            if not all(cursor.fetchone()):
                raise DirectusNotReady(
                    _(
                        "Directus has not been installed on {database} (it has no "
                        "directus_collections, directus_fields and directus_relations tables): "
                        "run `npx directus bootstrap` on it first, as Directus's own database "
                        "role."
                    ).format(database=where)
                )
            names = [c.collection for c in wanted_collections]
            columns = _existing_columns(cursor, names)
            if "cars" not in columns or ALEMBIC_TABLE not in columns:
                raise DirectusNotReady(
                    _(
                        "prepfloor's tables are not on {database}: run `prepfloor db upgrade` "
                        "on it first."
                    ).format(database=where)
                )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            collections = [c for c in wanted_collections if c.collection in columns]
            lists = [
                li
                for li in LISTS
                if li.collection in columns and li.many_field in columns.get(li.many, ())
            ]
            lists = _free_lists(cursor, lists)
            listed = {(li.collection, li.field) for li in lists}
            fields = [
                f
                for f in wanted_fields
                if (f.alias and (f.collection, f.field) in listed)
                or (not f.alias and f.field in columns.get(f.collection, ()))
            ]
            changes: list[Change] = []
            _apply_collections(cursor, collections, changes)
            _apply_fields(cursor, fields, changes)
            _apply_relations(cursor, lists, changes)
        if dry_run:
            connection.rollback()
        else:
            connection.commit()
    except psycopg.errors.InsufficientPrivilege as error:
        connection.rollback()
        raise DirectusNotReady(
            _(
                "the database role may not write Directus's tables on {database} ({error}): run "
                "this with Directus's database role, e.g. --db postgresql://directus@host/db."
            ).format(database=where, error=str(error).strip())
        ) from error
    except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as error:
        connection.rollback()
        raise DirectusNotReady(
            _(
                "Directus's tables on {database} were kept busy too long ({error}): nothing was "
                "changed; try again."
            ).format(database=where, error=str(error).strip())
        ) from error
    except psycopg.Error as error:
        connection.rollback()
        raise DirectusNotReady(
            _(
                "writing Directus's settings on {database} failed, nothing was changed: {error}"
            ).format(database=where, error=str(error).strip())
        ) from error
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
    return Outcome(
        database=where,
        changes=changes,
        collections=len(collections),
        fields=len(fields),
        absent=sorted(set(names) - set(columns)),
        dry_run=dry_run,
    )
