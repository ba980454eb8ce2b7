"""Rows of a Directus database that prepfloor's rules would refuse: counted, with example ids.

Part of ``prepfloor db adopt``'s check (:mod:`db.adopt_check`).  Directus enforces none of
prepfloor's rules, so its rows may hold a status outside prepfloor's vocabulary, a VIN prepfloor
refuses, two active cars with one VIN, text longer than prepfloor keeps, or capacity rows out of step
with their bookings.  Adopting never rewrites a row: each finding says what to fix in Directus, and a
rule that existing rows break is left out until they are fixed (adopting again adds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from db import validate
from db.adopt_schema import Found, kind_of, prepfloor_tables, quoted, type_fits, varchar_length
from db.i18n import _, ngettext
from db.repair import PERSON_DRIFT, TEAM_DRIFT
from db.text import shown
from db.types import SafeString
from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

if TYPE_CHECKING:
    from db.adopt_check import Report

EXAMPLES = 5  # example ids per finding


def ids(found: list[Any] | None) -> str:
    """Example ids, as a message lists them."""
    return ", ".join(str(i) for i in (found or [])[:EXAMPLES])


def violations(connection: Connection, table: str, condition: str) -> tuple[int, list[Any]] | None:
    """How many rows of ``table`` meet ``condition``, and the first ids; None when the query cannot
    run on these columns (a column type that blocks adoption anyway)."""
    sql = (
        f"SELECT count(*), (array_agg(id ORDER BY id))[1:{EXAMPLES}] FROM {quoted(table)} "
        f"WHERE {condition}"
    )
    try:
        with connection.begin_nested():
            row = connection.execute(text(sql)).one()
    except DBAPIError:
        return None
    return int(row[0] or 0), list(row[1] or [])


def duplicates(
    connection: Connection, table: str, columns: list[str], where: str | None, report: Report
) -> bool:
    """Rows a unique rule of prepfloor's would refuse: listed in ``report`` (and True)."""
    cols = ", ".join(quoted(c) for c in columns)
    conditions = [f"{quoted(c)} IS NOT NULL" for c in columns]
    if where:
        conditions.append(f"({where})")
    try:
        with connection.begin_nested():
            rows = connection.execute(
                text(
                    f"SELECT {cols}, (array_agg(id ORDER BY id))[1:{EXAMPLES}] "
                    f"FROM {quoted(table)} WHERE {' AND '.join(conditions)} GROUP BY {cols} "
                    f"HAVING count(*) > 1 LIMIT {EXAMPLES}"
                )
            ).all()
    except DBAPIError:
        return False
    if not rows:
        return False
    values = "; ".join(
        _("{value} (ids {ids})").format(
            value=shown(", ".join(str(v) for v in row[:-1]), 40), ids=ids(row[-1])
        )
        for row in rows
    )
    report.add(
        "warn",
        table,
        _(
            "several rows share {fields}, which prepfloor keeps unique: {values}. Fix them in "
            "Directus; the rule is added when you adopt again."
        ).format(fields=", ".join(columns), values=values),
    )
    return True


def check_rows(connection: Connection, found: Found, report: Report) -> None:
    """The rows prepfloor's code refuses beyond its CHECK and unique rules."""
    _vins(connection, found, report)
    _long_texts(connection, found, report)
    if "resource_capacities" in found.tables:
        if report.plan.available_by_trigger:
            counted = violations(
                connection,
                "resource_capacities",
                "available_hours IS NULL OR "
                "abs(available_hours - (allocated_hours - used_hours)) > 1e-6",
            )
            if counted and counted[0]:
                report.add(
                    "warn",
                    "resource_capacities.available_hours",
                    ngettext(
                        "{count} row is not allocated_hours - used_hours (id {ids}): prepfloor "
                        "doctor reports it until it is fixed, e.g. with: UPDATE "
                        "resource_capacities SET available_hours = allocated_hours - used_hours",
                        "{count} rows are not allocated_hours - used_hours (ids {ids}): prepfloor "
                        "doctor reports them until they are fixed, e.g. with: UPDATE "
                        "resource_capacities SET available_hours = allocated_hours - used_hours",
                        counted[0],
                    ).format(count=counted[0], ids=ids(counted[1])),
                )
        if "resource_bookings" in found.tables:
            _ledger(connection, report)


def _vins(connection: Connection, found: Found, report: Report) -> None:
    cars = found.tables.get("cars")
    if cars is None or not {"vin", "status"} <= set(cars.columns):
        return
    bad: list[tuple[Any, str]] = []
    try:
        with connection.begin_nested():
            for car_id, vin in connection.execute(
                text("SELECT id, vin FROM cars WHERE status <> 'draft' ORDER BY id")
            ):
                problem = validate.vin_problem(vin)
                if problem:
                    bad.append((car_id, problem))
    except DBAPIError:
        return
    if bad:
        report.add(
            "warn",
            "cars.vin",
            ngettext(
                "{count} car past draft has a VIN prepfloor refuses (id {ids}: {problem}): "
                "prepfloor doctor reports it until it is fixed in Directus.",
                "{count} cars past draft have a VIN prepfloor refuses (ids {ids}; e.g. "
                "{problem}): prepfloor doctor reports them until they are fixed in Directus.",
                len(bad),
            ).format(count=len(bad), ids=ids([b[0] for b in bad]), problem=shown(bad[0][1], 80)),
        )


def _long_texts(connection: Connection, found: Found, report: Report) -> None:
    """Text longer than prepfloor keeps, in a column Directus made longer (varchar(255), text)."""
    for name, table in prepfloor_tables().items():
        existing = found.tables.get(name)
        if existing is None:
            continue
        for column in table.columns:
            db_column = existing.columns.get(column.name)
            if db_column is None or not isinstance(column.type, SafeString):
                continue
            kind, length = kind_of(column)
            if kind != "str" or length is None or not type_fits(kind, length, db_column.type):
                continue
            if (varchar_length(db_column.type) or length + 1) <= length:
                continue
            counted = violations(connection, name, f"length({quoted(column.name)}) > {length}")
            if counted and counted[0]:
                report.add(
                    "warn",
                    f"{name}.{column.name}",
                    ngettext(
                        "{count} row holds more than {length} characters (id {ids}): prepfloor "
                        "refuses to save it until the text is shortened.",
                        "{count} rows hold more than {length} characters (ids {ids}): prepfloor "
                        "refuses to save those rows until the text is shortened.",
                        counted[0],
                    ).format(count=counted[0], length=length, ids=ids(counted[1])),
                )


def _ledger(connection: Connection, report: Report) -> None:
    """The capacity ledger as Directus left it (prepfloor doctor would report it)."""
    drift = 0
    for sql in (TEAM_DRIFT, PERSON_DRIFT):
        try:
            with connection.begin_nested():
                drift += len(connection.execute(text(sql)).all())
        except DBAPIError:
            return
    if drift:
        report.add(
            "warn",
            "resource_capacities.used_hours",
            ngettext(
                "{count} capacity row does not hold what its bookings hold: after adopting, run "
                "prepfloor doctor --repair.",
                "{count} capacity rows do not hold what their bookings hold: after adopting, run "
                "prepfloor doctor --repair.",
                drift,
            ).format(count=drift),
        )
    counted = violations(
        connection,
        "resource_bookings",
        f"status IN {sql_in(BOOKING_HOLDING_STATUSES)} AND NOT EXISTS (SELECT 1 FROM "
        "resource_capacities c WHERE c.dealership_id = resource_bookings.provider_dealership_id "
        "AND c.resource_type_id = resource_bookings.resource_type_id "
        "AND c.date = resource_bookings.date AND c.user_id IS NULL)",
    )
    if counted and counted[0]:
        report.add(
            "warn",
            "resource_bookings",
            ngettext(
                "{count} booking holds hours on a day without a capacity row (id {ids}): set "
                "that day's capacity (prepfloor's capacity screen); prepfloor doctor reports it "
                "until then.",
                "{count} bookings hold hours on a day without a capacity row (ids {ids}): set "
                "those days' capacity (prepfloor's capacity screen); prepfloor doctor reports "
                "them until then.",
                counted[0],
            ).format(count=counted[0], ids=ids(counted[1])),
        )
