"""Export a table as CSV or JSON; import cars or capacities from a CSV file, all rows or none.

Export streams: it selects the table's columns through SQLAlchemy Core and writes row by row, so a
table of a million rows never becomes a million ORM objects.  Import runs every row through the
same rule as the screens (:func:`db.cars.register_car`, :func:`db.ledger.set_capacity`) inside one
write transaction; each row gets a savepoint so that a refused row is reported and the next row is
still checked, and if any row is bad nothing at all is written.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Column, select
from sqlmodel import Session

from db import cars, ledger, validate
from db.access import Actor
from db.engine import Database
from db.errors import Invalid, InvalidFields, PrepfloorError
from db.models import TABLES, Dealership, ResourceType

FORMATS: tuple[str, ...] = ("csv", "json")

# Secrets and file contents stay in the database.
NOT_EXPORTED: dict[str, frozenset[str]] = {
    "users": frozenset({"pin_hash", "badge_hash"}),
    "car_documents": frozenset({"content"}),
}

BATCH = 1000


# ------------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------------
def export_columns(table: str) -> list[Column[Any]]:
    """The columns of ``table`` that an export writes (raises Invalid for an unknown table)."""
    model = TABLES.get(table)
    if model is None:
        raise Invalid(f"There is no table {table!r}. Tables: {', '.join(sorted(TABLES))}.", "table")
    hidden = NOT_EXPORTED.get(table, frozenset())
    return [c for c in model.__table__.columns if c.name not in hidden]  # type: ignore[attr-defined]


def check_export(table: str, fmt: str) -> None:
    """Refuse an unknown table or format before anything is written."""
    export_columns(table)
    if fmt not in FORMATS:
        raise Invalid(f"Format {fmt!r} is not known. Formats: {', '.join(FORMATS)}.", "format")


def _plain(value: Any) -> Any:
    """A JSON value: timestamps as ISO text in UTC, dates and times as ISO text, UUIDs as text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # a driver that hands back naive UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _cell(value: Any) -> str:
    """A CSV cell: empty for NULL, true/false, JSON text for JSON columns."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _rows(session: Session, columns: Sequence[Column[Any]]) -> Iterator[Sequence[Any]]:
    table = columns[0].table
    order = list(table.primary_key.columns) or list(columns[:1])
    result = session.execute(
        select(*columns).order_by(*order), execution_options={"yield_per": BATCH}
    )
    yield from result


def export_table(session: Session, table: str, fmt: str, out: TextIO) -> int:
    """Write every row of ``table`` to ``out`` as ``csv`` or ``json``; returns the row count.

    Any table of :data:`db.models.TABLES`.  CSV: a header row of column names, timestamps as ISO
    text in UTC, JSON columns as JSON text, UUIDs as text, booleans as ``true``/``false``, NULL as
    an empty cell.  JSON: a list of objects (JSON columns nested as they are).

    Not exported: ``users.pin_hash`` and ``users.badge_hash`` (secrets) and
    ``car_documents.content`` (the file itself).
    """
    check_export(table, fmt)
    columns = export_columns(table)
    names = [c.name for c in columns]
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(names)
        for row in _rows(session, columns):
            writer.writerow([_cell(v) for v in row])
            count += 1
        return count
    out.write("[")
    for row in _rows(session, columns):
        record = {name: _plain(value) for name, value in zip(names, row, strict=True)}
        out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


# ------------------------------------------------------------------------------------------------
# import
# ------------------------------------------------------------------------------------------------
class ImportRejected(PrepfloorError):
    """Some rows of an import are bad, so nothing was written.

    ``problems`` is ``[(row number, reason), ...]``; row numbers are a spreadsheet's (the header is
    row 1, the first data row is row 2).
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = list(problems)
        shown = "; ".join(f"row {n}: {reason}" for n, reason in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(
            f"Nothing was imported: {len(self.problems)} bad row(s). {shown}{more}".strip()
        )


# The order fields of a car (db.cars), with the dealership and seller by number and login.
CAR_COLUMNS: tuple[str, ...] = (
    *(f for f in cars.ORDER_FIELDS if f not in ("dealership_id", "seller_id")),
    "dealership_number",
    "seller_login",
)
CAR_REQUIRED: tuple[str, ...] = ("vin", "brand", "model", "order_number", "customer_name")
CAPACITY_COLUMNS: tuple[str, ...] = (
    "dealership_number",
    "resource_type",
    "date",
    "allocated_hours",
    "user_login",
)
CAPACITY_REQUIRED: tuple[str, ...] = (
    "dealership_number",
    "resource_type",
    "date",
    "allocated_hours",
)
ALIASES: dict[str, str] = {
    "resource_type_code": "resource_type",
    "user": "user_login",
    "login": "user_login",
    "seller": "seller_login",
}
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cars": (CAR_COLUMNS, CAR_REQUIRED),
    "capacities": (CAPACITY_COLUMNS, CAPACITY_REQUIRED),
}
ACCESSORY_SEPARATOR = ";"

Progress = Callable[[int, int], None]
_PROBLEM = "\0problem"  # a row that cannot be read: its message (never a column name)


def _read_text(path: Path) -> str:
    """The file as text: UTF-8 (with or without a BOM), else Windows-1252 (Excel's 'CSV')."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(header_line: str) -> str:
    """Comma, semicolon (Excel in Norway) or tab: whichever the header uses most."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_name(raw: str) -> str:
    name = "_".join(raw.strip().lower().split())
    return ALIASES.get(name, name)


def read_rows(path: Path, kind: str) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """The header and the data rows (with their spreadsheet row numbers) of a CSV file.

    Raises ImportRejected (row 1) for a header with missing or unknown columns.
    """
    if kind not in KINDS:
        raise Invalid(f"Import kind is one of: {', '.join(KINDS)} (not {kind!r}).", "kind")
    columns, required = KINDS[kind]
    text = _read_text(path)
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise Invalid(
            f"{path.name} is empty: it needs a header row ({', '.join(required)}, ...).", "path"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    header = [_header_name(h) for h in next(reader)]
    problems = []
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    unknown = [h for h in header if h and h not in columns]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)} (known: {', '.join(columns)})")
    doubled = sorted({h for h in header if h and header.count(h) > 1})
    if doubled:
        problems.append(f"column(s) given twice: {', '.join(doubled)}")
    if problems:
        message = "; ".join(problems)
        raise ImportRejected([(1, message[0].upper() + message[1:] + ".")])
    rows: list[tuple[int, dict[str, str | None]]] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line: nothing to import, but it keeps its row number
        if any(cell.strip() for cell in cells[len(header) :]):
            message = f"The row has {len(cells)} values but the header has {len(header)} columns."
            rows.append((number, {_PROBLEM: message}))
            continue
        values = {
            name: (cells[i].strip() or None) if i < len(cells) else None
            for i, name in enumerate(header)
            if name
        }
        rows.append((number, values))
    return header, rows


def _reason(error: PrepfloorError) -> str:
    if isinstance(error, InvalidFields):
        return " ".join(dict.fromkeys(error.errors.values()))
    return str(error)


def import_csv(
    db: Database,
    actor: Actor,
    kind: str,
    path: Path,
    progress: Progress | None = None,
) -> int:
    """Import ``kind`` ("cars" or "capacities") from the CSV file at ``path``: all rows or none.

    Cars: the seed's registration fields (``vin``, ``license_plate``, ``brand``, ``model``,
    ``model_year``, ``color``, ``order_number``, ``customer_name``, ``customer_phone``,
    ``customer_email``, ``car_type``, ``seller_notes``, ``expected_delivery_date``,
    ``accessories`` separated by ``;``), ``dealership_number`` (default: the actor's) and
    ``seller_login`` (default: the actor, if a seller).  Each row is registered by
    :func:`db.cars.register_car`, so every rule of the screens applies.

    Capacities: ``dealership_number``, ``resource_type`` (its code), ``date``, ``allocated_hours``
    and an optional ``user_login`` (a person's row; empty for the team row), each set by
    :func:`db.ledger.set_capacity` (a cut below the hours already booked is refused).

    Every row is checked in one write transaction.  If any row is bad, :class:`ImportRejected`
    lists every bad row with its spreadsheet row number (the header is row 1) and the reason, and
    nothing is written.  ``progress(done, total)`` is called as the rows go.  Returns the number of
    rows imported.
    """
    if kind not in KINDS:
        raise Invalid(f"Import kind is one of: {', '.join(KINDS)} (not {kind!r}).", "kind")
    actor.require("car.register" if kind == "cars" else "capacity.set")
    _header, rows = read_rows(path, kind)
    apply = _import_car if kind == "cars" else _import_capacity

    def run(session: Session) -> int:
        lookups = _Lookups(session)
        seen: dict[Any, int] = {}
        problems: list[tuple[int, str]] = []
        for done, (number, values) in enumerate(rows, start=1):
            try:
                if _PROBLEM in values:
                    raise Invalid(str(values[_PROBLEM]))
                key, call = apply(session, actor, values, lookups)
                if key is not None:
                    if key in seen:
                        raise Invalid(_duplicate(kind, key, seen[key]))
                    seen[key] = number
                with session.begin_nested():
                    call()
            except PrepfloorError as error:
                problems.append((number, _reason(error)))
            if progress is not None:
                progress(done, len(rows))
        if problems:
            raise ImportRejected(problems)
        return len(rows)

    if progress is not None:
        progress(0, len(rows))
    return db.run(run)


def _duplicate(kind: str, key: Any, first: int) -> str:
    if kind == "cars":
        return f"VIN {key} is also on row {first} of this file."
    return f"The same dealership, resource type, day and person are on row {first} of this file."


class _Lookups:
    """Dealerships, resource types and users by the names a file uses (read once per import)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dealerships = {
            number.strip().lower(): did
            for did, number in session.execute(
                select(Dealership.id, Dealership.dealership_number)  # type: ignore[call-overload]
            )
        }
        self.types = {
            code.strip().upper(): rid
            for rid, code in session.execute(select(ResourceType.id, ResourceType.code))  # type: ignore[call-overload]
        }

    def dealership(self, number: str | None, actor: Actor) -> int:
        if number is None:
            if actor.dealership_id is None:
                raise Invalid(
                    f"Give the dealership_number: {actor.display_name} has no dealership of "
                    "their own.",
                    "dealership_number",
                )
            return actor.dealership_id
        found = self.dealerships.get(number.strip().lower())
        if found is None:
            raise Invalid(f"There is no dealership number {number}.", "dealership_number")
        return found

    def resource_type(self, code: str | None) -> int:
        found = self.types.get((code or "").strip().upper())
        if found is None:
            raise Invalid(
                f"There is no resource type {code!r}. Codes: {', '.join(sorted(self.types))}.",
                "resource_type",
            )
        return found

    def user(self, login: str, field: str) -> uuid.UUID:
        from db.users import by_login

        user = by_login(self.session, login)
        if user is None or not user.active:
            raise Invalid(f"There is no active user {login!r}.", field)
        return user.id


Call = Callable[[], object]


def _import_car(
    session: Session, actor: Actor, values: dict[str, str | None], lookups: _Lookups
) -> tuple[Any, Call]:
    """Check what needs no database write; return the duplicate key and the registration."""
    fields: dict[str, Any] = {
        name: values.get(name)
        for name in CAR_COLUMNS
        if name not in ("accessories", "dealership_number", "seller_login")
    }
    if fields.get("car_type") is None:
        fields.pop("car_type")  # register_car's default: new
    accessories = values.get("accessories")
    if accessories:
        fields["accessories"] = [
            item.strip() for item in accessories.split(ACCESSORY_SEPARATOR) if item.strip()
        ]
    fields["dealership_id"] = lookups.dealership(values.get("dealership_number"), actor)
    seller = values.get("seller_login")
    if seller:
        fields["seller_id"] = lookups.user(seller, "seller_id")
    elif actor.role != "seller":
        raise Invalid(
            "Give the seller_login: the seller of each car is required "
            f"({actor.display_name} is not a seller).",
            "seller_id",
        )
    vin = validate.normalize_vin(values.get("vin")) or None
    return vin, lambda: cars.register_car(session, actor, **fields)


def _import_capacity(
    session: Session, actor: Actor, values: dict[str, str | None], lookups: _Lookups
) -> tuple[Any, Call]:
    dealership_id = lookups.dealership(values.get("dealership_number"), actor)
    resource_type_id = lookups.resource_type(values.get("resource_type"))
    day = validate.parse_date(values.get("date"), "date")
    if day is None:
        raise Invalid("Date is required (e.g. 2026-11-30).", "date")
    login = values.get("user_login")
    user_id = lookups.user(login, "user_login") if login else None
    key = (dealership_id, resource_type_id, day, user_id)
    return key, lambda: ledger.set_capacity(
        session,
        actor,
        dealership_id=dealership_id,
        resource_type_id=resource_type_id,
        date=day,
        allocated_hours=values.get("allocated_hours") or "",
        user_id=user_id,
    )


__all__ = [
    "FORMATS",
    "NOT_EXPORTED",
    "ImportRejected",
    "check_export",
    "export_columns",
    "export_table",
    "import_csv",
    "read_rows",
]
