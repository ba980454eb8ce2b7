"""Can prepfloor run on this Directus database, and what would adopting it change?

The reading half of ``prepfloor db adopt`` (:mod:`db.adopt` does the writing): prepfloor's tables
and columns (the SQLModel metadata of :mod:`db.models`) are compared, one by one, with what the
database has (:mod:`db.adopt_schema`), and the rows that prepfloor's rules would refuse are counted
(:mod:`db.adopt_rows`).  Each finding is one :class:`Item` (a collection and field, a level, a
sentence that says what is wrong and what to do); what adopting would add is collected in a
:class:`Plan`.  Nothing here writes.

Levels: ``ok`` present and compatible; ``note`` accepted although Directus made it differently;
``add`` prepfloor adds it; ``warn`` rows prepfloor's rules refuse (the rule is not added until they
are fixed); ``block`` adoption cannot go ahead: the sentence says what to change in Directus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Table, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.schema import AddConstraint, CreateIndex

from db.adopt_rows import check_rows, duplicates, ids, violations
from db.adopt_schema import (
    PG,
    SEED_FIELDS,
    DbColumn,
    DbTable,
    Found,
    accepted_target,
    directus_type,
    fk_target,
    kind_of,
    model_default,
    prepfloor_tables,
    quoted,
    read_database,
    sql_type,
    type_fits,
    type_fix,
)
from db.adopt_users import check_directus, check_roles, check_users_table, missing_triggers
from db.i18n import _, ngettext
from db.text import shown

LEVELS = ("ok", "note", "add", "warn", "block")
_WORD = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class Item:
    """One line of the report: ``where`` is a collection, ``collection.field`` or a topic."""

    level: str
    where: str
    message: str


@dataclass
class Options:
    """What ``prepfloor db adopt`` is told: Directus role names mapped to prepfloor's roles, and
    the fields of ``directus_users`` that give a user's login and dealership."""

    roles: dict[str, str] = field(default_factory=dict)
    login_field: str | None = None
    dealership_field: str | None = None


@dataclass
class Plan:
    """What adopting adds, in the order :func:`db.adopt.apply` does it."""

    tables: list[str] = field(default_factory=list)  # prepfloor's tables, created whole
    columns: list[tuple[str, str]] = field(default_factory=list)  # prepfloor's columns, added
    not_null: list[tuple[str, str]] = field(default_factory=list)  # made required
    defaults: list[tuple[str, str, str]] = field(default_factory=list)  # table, column, SQL
    ddl: list[str] = field(default_factory=list)  # constraints and indexes on existing tables
    available_by_trigger: bool = False  # resource_capacities.available_hours is a plain column
    roles: dict[str, str] = field(default_factory=dict)  # the role map to keep


@dataclass
class Report:
    items: list[Item] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    adopted_at: datetime | None = None  # already adopted (when)
    adopted_now: bool = False  # adopt went through (db.adopt.adopt)
    users: int = 0  # Directus users copied into users

    @property
    def blocked(self) -> bool:
        return any(item.level == "block" for item in self.items)

    def add(self, level: str, where: str, message: str) -> None:
        self.items.append(Item(level, where, message))


# ------------------------------------------------------------------------------------------------
# the check
# ------------------------------------------------------------------------------------------------
def check(connection: Connection, options: Options) -> Report:
    """Compare the database with prepfloor's tables; what adopting would add is in the plan."""
    found = read_database(connection)
    report = Report(adopted_at=found.adopted_at)
    if found.adopted_at is None and found.revision is not None:
        report.add(
            "block",
            "alembic_version",
            _(
                "This database is prepfloor's own already (schema {revision}): there is nothing "
                "to adopt. Run prepfloor db upgrade instead."
            ).format(revision=found.revision),
        )
        return report
    if not check_directus(found, options, report):
        return report
    if found.adopted_at is not None:
        from db.schema import HEAD

        if found.revision != HEAD:
            report.add(
                "block",
                "alembic_version",
                _(
                    "Adopted at schema {revision}; this prepfloor has {head}. Run prepfloor db "
                    "upgrade, then adopt again."
                ).format(revision=found.revision, head=HEAD),
            )
            return report
    for name, table in prepfloor_tables().items():
        existing = found.tables.get(name)
        if name == "users" and found.adopted_at is None:
            check_users_table(connection, existing, options, report)
            if existing is None:
                report.plan.tables.append(name)
            continue
        if existing is None:
            report.plan.tables.append(name)
            if name in SEED_FIELDS:
                message = _("missing: prepfloor creates the collection with every seed field.")
            else:
                message = _("a table of prepfloor's own: will be added.")
            report.add("add", name, message)
            continue
        _check_table(connection, found, table, existing, report)
    if found.adopted_at is None:
        check_roles(connection, options, report)
    else:
        check_roles(connection, options, report, quiet=True)
        for name in sorted(missing_triggers(connection)):
            report.add(
                "add",
                "users",
                _("the trigger {name} is missing or switched off: adopting again makes it.").format(
                    name=name
                ),
            )
    check_rows(connection, found, report)
    return report


def _check_table(
    connection: Connection, found: Found, table: Table, existing: DbTable, report: Report
) -> None:
    name = table.name
    seed = SEED_FIELDS.get(name, ("id",))
    for column in table.columns:
        where = f"{name}.{column.name}"
        kind, length = kind_of(column)
        target = fk_target(column)
        db_column = existing.columns.get(column.name)
        if db_column is None:
            if column.name in seed:
                report.add(
                    "block",
                    where,
                    _(
                        "missing: a seed field. In Directus, add the field {field} to {collection}"
                        " ({directus})."
                    ).format(
                        field=column.name,
                        collection=name,
                        directus=directus_type(kind, length, target[0] if target else None),
                    ),
                )
            else:
                report.plan.columns.append((name, column.name))
                report.add(
                    "add",
                    where,
                    _("prepfloor's own field: will be added ({sql}).").format(sql=sql_type(column)),
                )
                for fk in column.foreign_keys:
                    report.plan.ddl.append(
                        _ddl(AddConstraint(fk.constraint, isolate_from_table=False))
                    )
            continue
        _check_column(connection, found, table, existing, column, db_column, report)
    # the table's other columns: another tool's; prepfloor must be able to leave them out
    for db_column in existing.columns.values():
        if (
            db_column.name not in table.columns
            and not db_column.nullable
            and db_column.default is None
            and not db_column.generated
        ):
            report.add(
                "block",
                f"{name}.{db_column.name}",
                _(
                    "required and without a default, and prepfloor does not fill it: in Directus "
                    "give it a default value or make it nullable."
                ),
            )
    _check_constraints(connection, found, table, existing, report)


def _check_column(
    connection: Connection,
    found: Found,
    table: Table,
    existing: DbTable,
    column: Column[Any],
    db_column: DbColumn,
    report: Report,
) -> None:
    name, where = table.name, f"{table.name}.{column.name}"
    kind, length = kind_of(column)
    said: list[tuple[str, str]] = []
    if not type_fits(kind, length, db_column.type):
        said.append(("block", type_fix(name, column, kind, length, db_column.type)))
    else:
        said.append(("ok", db_column.type))
    if column.primary_key:
        if existing.primary_key != (column.name,):
            said.append(("block", _("must be the collection's only primary key.")))
        elif kind in ("int", "bigint") and not (
            db_column.identity or "nextval(" in (db_column.default or "")
        ):
            said.append(("block", _("has no sequence: prepfloor needs ids the database counts.")))
    elif column.computed is not None:
        if not db_column.generated:
            report.plan.available_by_trigger = True
            said.append(
                (
                    "note",
                    _("a plain field in Directus: a trigger keeps it = {expression}.").format(
                        expression=str(column.computed.sqltext)
                    ),
                )
            )
    else:
        said.extend(_check_nullable(connection, name, column, db_column, report))
        target = fk_target(column)
        if target is not None:
            said.extend(_check_foreign_key(connection, found, table, column, target, report))
        said.extend(_check_default(name, column, db_column, report))
    level = max((lvl for lvl, _words in said), key=LEVELS.index)
    words = [w for _lvl, w in said]
    report.add(level, where, "; ".join([*(w.rstrip(".") for w in words[:-1]), words[-1]]))


def _check_nullable(
    connection: Connection, table: str, column: Column[Any], db_column: DbColumn, report: Report
) -> list[tuple[str, str]]:
    if not column.nullable and db_column.nullable:
        counted = violations(connection, table, f"{quoted(column.name)} IS NULL")
        if counted is None:
            return []
        empty, examples = counted
        if empty:
            return [
                (
                    "block",
                    ngettext(
                        "{count} row has no {field} (id {ids}) and prepfloor needs it: fill it "
                        "in Directus.",
                        "{count} rows have no {field} (ids {ids}) and prepfloor needs it: fill "
                        "them in Directus.",
                        empty,
                    ).format(count=empty, field=column.name, ids=ids(examples)),
                )
            ]
        report.plan.not_null.append((table, column.name))
        return [("add", _("will be made required (NOT NULL): every row has it."))]
    if column.nullable and not db_column.nullable and db_column.default is None:
        return [
            (
                "block",
                _(
                    "required in the database, but prepfloor leaves it empty at times: in "
                    "Directus, open the field, Schema, and tick Nullable."
                ),
            )
        ]
    return []


def _check_foreign_key(
    connection: Connection,
    found: Found,
    table: Table,
    column: Column[Any],
    target: tuple[str, str],
    report: Report,
) -> list[tuple[str, str]]:
    existing = found.tables[table.name].foreign_keys.get(column.name, [])
    if any(accepted_target(target, f) for f in existing):
        to = next(f for f in existing if accepted_target(target, f))
        return [("ok", f"→ {to[0]}.{to[1]}")]
    if existing:
        other = existing[0]
        return [
            (
                "block",
                _(
                    "points at {found}; prepfloor needs {wanted}: in Directus, make the field a "
                    "Many-to-One relation to {collection}."
                ).format(
                    found=f"{other[0]}.{other[1]}",
                    wanted=f"{target[0]}.{target[1]}",
                    collection="directus_users" if target[0] == "users" else target[0],
                ),
            )
        ]
    # no foreign key yet: prepfloor adds its own, if every value has its row
    source = ("directus_users", "id") if target == ("users", "id") else target
    if source[0] not in found.tables:
        counted: tuple[int, list[Any]] | None = (0, [])
    else:
        counted = violations(
            connection,
            table.name,
            f"{quoted(column.name)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
            f"{quoted(source[0])} t WHERE t.{quoted(source[1])} = "
            f"{quoted(table.name)}.{quoted(column.name)})",
        )
    if counted is None:
        return []
    orphans, examples = counted
    if orphans:
        return [
            (
                "block",
                ngettext(
                    "{count} row names a {collection} that does not exist (id {ids}): fix it in "
                    "Directus; prepfloor then adds the relation.",
                    "{count} rows name a {collection} that does not exist (ids {ids}): fix them "
                    "in Directus; prepfloor then adds the relation.",
                    orphans,
                ).format(count=orphans, collection=source[0], ids=ids(examples)),
            )
        ]
    for fk in column.foreign_keys:
        report.plan.ddl.append(_ddl(AddConstraint(fk.constraint, isolate_from_table=False)))
    return [("add", _("the relation to {target} will be added.").format(target=".".join(target)))]


def _check_default(
    table: str, column: Column[Any], db_column: DbColumn, report: Report
) -> list[tuple[str, str]]:
    wanted = model_default(table, column.name)
    if wanted is None:
        return []
    if db_column.default is None:
        report.plan.defaults.append((table, column.name, wanted))
        return [("add", _("default {value} will be set.").format(value=wanted))]
    have = db_column.default.split("::")[0].strip("'")
    if have.lower() != wanted.strip("'").lower() and _float_or_none(have) != _float_or_none(wanted):
        return [
            (
                "note",
                _("keeps Directus's default {found} (prepfloor's: {wanted}).").format(
                    found=shown(db_column.default), wanted=wanted
                ),
            )
        ]
    return []


def _float_or_none(value: str) -> float | None:
    try:
        return float(value.strip("'"))
    except ValueError:
        return None


def _ddl(element: Any) -> str:
    return str(element.compile(dialect=PG)).strip()


def _named(statement: str) -> str:
    match = re.search(r"(?:CONSTRAINT|INDEX) (\S+)", statement)
    return match.group(1).strip('"') if match else ""


def _check_constraints(
    connection: Connection, found: Found, table: Table, existing: DbTable, report: Report
) -> None:
    """prepfloor's CHECK rules, unique rules and indexes on an existing table: added, unless rows
    break them (then listed, and left out until the rows are fixed)."""
    name = table.name
    adding = {c for t, c in report.plan.columns if t == name}
    added: dict[str, int] = {}
    for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
        if isinstance(constraint, CheckConstraint):
            statement = _ddl(AddConstraint(constraint, isolate_from_table=False))
            if (name, _named(statement)) in found.constraints:
                continue
            expression = str(constraint.sqltext)
            used = set(_WORD.findall(expression)) & set(table.columns.keys())
            if used & adding:  # its rows get the new column's default
                counted: tuple[int, list[Any]] | None = (0, [])
            else:
                counted = violations(connection, name, f"NOT coalesce(({expression}), true)")
            if counted is None:
                continue
            if counted[0]:
                report.add(
                    "warn",
                    name,
                    ngettext(
                        "{count} row breaks prepfloor's rule {rule} (id {ids}): prepfloor cannot "
                        "work with it until it is fixed in Directus; the rule is added when you "
                        "adopt again.",
                        "{count} rows break prepfloor's rule {rule} (ids {ids}): prepfloor cannot "
                        "work with them until they are fixed in Directus; the rule is added when "
                        "you adopt again.",
                        counted[0],
                    ).format(count=counted[0], rule=expression, ids=ids(counted[1])),
                )
                continue
            report.plan.ddl.append(statement)
            added["check"] = added.get("check", 0) + 1
        elif isinstance(constraint, UniqueConstraint):
            columns = [c.name for c in constraint.columns]
            statement = _ddl(AddConstraint(constraint, isolate_from_table=False))
            if (name, _named(statement)) in found.constraints:
                continue
            if duplicates(connection, name, columns, None, report):
                continue
            report.plan.ddl.append(statement)
            added["unique"] = added.get("unique", 0) + 1
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        statement = _ddl(CreateIndex(index))
        if str(index.name) in found.indexes:
            continue
        if index.unique:
            where = index.dialect_options["postgresql"].get("where")
            columns = [c.name for c in index.columns]
            if duplicates(
                connection, name, columns, str(where) if where is not None else None, report
            ):
                continue
        report.plan.ddl.append(statement)
        added["index"] = added.get("index", 0) + 1
    if added:
        report.add(
            "add",
            name,
            _(
                "prepfloor's rules will be added: CHECK rules {checks}, unique rules {uniques}, "
                "indexes {indexes}."
            ).format(
                checks=added.get("check", 0),
                uniques=added.get("unique", 0),
                indexes=added.get("index", 0),
            ),
        )
