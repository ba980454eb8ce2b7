"""Export a table as CSV or JSON; import cars or capacities from a CSV file, all rows or none.

Export streams: it selects the table's columns through SQLAlchemy Core and writes row by row, so a
table of a million rows never becomes a million ORM objects.  CSV cells are written spreadsheet-safe
(:mod:`db.csvfile`); JSON is plain JSON with every control character escaped.

Import reads the file (a regular file only, at most :data:`MAX_FILE_BYTES`), turns each row into a
call of the same rule the screens use (:func:`db.cars.register_car`,
:func:`db.capacity.set_capacity`), and hands the rows to :mod:`db.import_run`, which checks them all
in rolled-back transactions, then writes them in short committed batches (so other terminals keep
saving meanwhile), and undoes what it wrote if the writing stops part way.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Column as SqlColumn
from sqlalchemy import select
from sqlmodel import Session

from db import capacity, cars, csvfile, formats, import_run, ledger_rows, validate
from db.access import Actor
from db.engine import Database
from db.errors import Invalid, PrepfloorError
from db.i18n import _
from db.import_run import CapacityWritten, ImportInterrupted, ImportRejected
from db.models import TABLES, Dealership, ResourceType
from db.text import one_line, shown

FORMATS: tuple[str, ...] = ("csv", "json")

# Secrets and file contents stay in the database.
NOT_EXPORTED: dict[str, frozenset[str]] = {
    "users": frozenset({"pin_hash", "password_hash", "badge_hash"}),
    "car_documents": frozenset({"content"}),
}

BATCH = 1000


# ------------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------------
def export_columns(table: str) -> list[SqlColumn[Any]]:
    """The columns of ``table`` that an export writes (raises Invalid for an unknown table)."""
    model = TABLES.get(table)
    if model is None:
        raise Invalid(
            _("There is no table {table}. Tables: {tables}.").format(
                table=repr(shown(table)), tables=", ".join(sorted(TABLES))
            ),
            "table",
        )
    hidden = NOT_EXPORTED.get(table, frozenset())
    return [c for c in model.__table__.columns if c.name not in hidden]  # type: ignore[attr-defined]


def check_export(table: str, fmt: str) -> None:
    """Refuse an unknown table or format before anything is written."""
    export_columns(table)
    if fmt not in FORMATS:
        raise Invalid(
            _("Format {format} is not known. Formats: {formats}.").format(
                format=repr(shown(fmt)), formats=", ".join(FORMATS)
            ),
            "format",
        )


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


def _cell(value: Any) -> Any:
    """A CSV cell: empty for NULL, true/false, JSON text for JSON columns, numbers as numbers
    (:func:`db.csvfile.cell` makes the text cells spreadsheet-safe)."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


# JSON escapes only U+0000-U+001F by itself; these reach a terminal raw (C1 controls such as CSI
# U+009B, the bidi overrides) or cannot be written as UTF-8 at all (lone surrogates).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _json(value: Any) -> str:
    """``value`` as JSON text with every control character escaped (the same data, read back)."""
    text = json.dumps(value, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _rows(session: Session, columns: Sequence[SqlColumn[Any]]) -> Iterator[Sequence[Any]]:
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
    an empty cell; a text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@``...) starts with a ``'`` (:mod:`db.csvfile`), and no cell holds a control character.
    JSON: a list of objects (JSON columns nested as they are), control characters escaped.

    Not exported: ``users.pin_hash``, ``users.password_hash`` and ``users.badge_hash``
    (secrets) and ``car_documents.content`` (the file itself).
    """
    check_export(table, fmt)
    columns = export_columns(table)
    names = [c.name for c in columns]
    count = 0
    if fmt == "csv":
        writer = csvfile.writer(out)
        writer.writerow(names)
        for row in _rows(session, columns):
            writer.writerow([_cell(v) for v in row])
            count += 1
        return count
    out.write("[")
    for row in _rows(session, columns):
        record = {name: _plain(value) for name, value in zip(names, row, strict=True)}
        out.write(("\n  " if count == 0 else ",\n  ") + _json(record))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


# ------------------------------------------------------------------------------------------------
# import: reading the file
# ------------------------------------------------------------------------------------------------
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
MAX_FILE_BYTES = csvfile.MAX_FILE_BYTES

# progress(step, done, total): step "checking", "writing" or "undoing".
Progress = Callable[[str, int, int], None]
_PROBLEM = "\0problem"  # a row that cannot be read: its message (never a column name)


def _header_name(raw: str) -> str:
    name = "_".join(one_line(raw).strip().lower().split())
    return ALIASES.get(name, name)


def _names(names: Sequence[str], limit: int = 8) -> str:
    listed = ", ".join(shown(n, 40) for n in names[:limit])
    if len(names) > limit:
        return _("{names} and {n} more").format(names=listed, n=len(names) - limit)
    return listed


def _kind_problem(kind: str) -> str:
    return _("Import kind is one of: {kinds} (not {kind}).").format(
        kinds=", ".join(KINDS), kind=repr(shown(kind))
    )


def read_rows(path: Path, kind: str) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """The header and the data rows (with their spreadsheet row numbers) of a CSV file.

    Only a regular file is read, and at most :data:`MAX_FILE_BYTES` of it (raises Invalid).  A
    cell that starts with ``'`` and then a formula character has the ``'`` taken off (the way
    :func:`export_table` writes such a cell).  Raises ImportRejected (row 1) for a header with
    missing or unknown columns; a row that cannot be read becomes that row's problem.
    """
    if kind not in KINDS:
        raise Invalid(_kind_problem(kind), "kind")
    columns, required = KINDS[kind]
    text = csvfile.read_text(path)
    if not text.split("\n", 1)[0].strip():
        raise Invalid(
            _("{file} is empty: it needs a header row ({columns}, ...).").format(
                file=shown(path.name), columns=", ".join(required)
            ),
            "path",
        )
    reader = csvfile.records(text)
    cells, problem = next(reader)
    if cells is None:
        raise ImportRejected(
            [(1, _("The header row cannot be read. {problem}").format(problem=problem))]
        )
    header = [_header_name(h) for h in cells]
    problems = []
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(_("missing column(s): {columns}").format(columns=", ".join(missing)))
    unknown = [h for h in header if h and h not in columns]
    if unknown:
        problems.append(
            _("unknown column(s): {columns} (known: {known})").format(
                columns=_names(unknown), known=", ".join(columns)
            )
        )
    doubled = sorted({h for h in header if h and header.count(h) > 1})
    if doubled:
        problems.append(_("column(s) given twice: {columns}").format(columns=_names(doubled)))
    if problems:
        message = "; ".join(problems)
        raise ImportRejected([(1, message[0].upper() + message[1:] + ".")])
    rows: list[tuple[int, dict[str, str | None]]] = []
    for number, (cells, problem) in enumerate(reader, start=2):
        if cells is None:
            rows.append((number, {_PROBLEM: problem}))
            continue
        if not any(cell.strip() for cell in cells):
            continue  # a blank line: nothing to import, but it keeps its row number
        if any(cell.strip() for cell in cells[len(header) :]):
            message = _("The row has {values} values but the header has {columns} columns.").format(
                values=len(cells), columns=len(header)
            )
            rows.append((number, {_PROBLEM: message}))
            continue
        values = {}
        for name, cell in zip(header, cells, strict=False):
            cell = csvfile.unquote(cell.strip())
            if name and cell:
                values[name] = cell
        rows.append((number, values))
    del text
    return header, rows


# ------------------------------------------------------------------------------------------------
# import: the rows of each kind
# ------------------------------------------------------------------------------------------------
class _Lookups:
    """Dealerships, resource types and users by the names a file uses (read once per batch)."""

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
                    _(
                        "Give the dealership_number: {person} has no dealership of their own."
                    ).format(person=shown(actor.display_name)),
                    "dealership_number",
                )
            return actor.dealership_id
        found = self.dealerships.get(number.strip().lower())
        if found is None:
            raise Invalid(
                _("There is no dealership number {number}.").format(number=shown(number)),
                "dealership_number",
            )
        return found

    def resource_type(self, code: str | None) -> int:
        found = self.types.get((code or "").strip().upper())
        if found is None:
            raise Invalid(
                _("There is no resource type {code}. Codes: {codes}.").format(
                    code=repr(shown(code or "")), codes=_names(sorted(self.types), 20)
                ),
                "resource_type",
            )
        return found

    def user(self, login: str, field: str) -> uuid.UUID:
        from db.users import by_login

        user = by_login(self.session, login)
        if user is None or not user.active:
            raise Invalid(
                _("There is no active user {login}.").format(login=repr(shown(login))), field
            )
        return user.id


Call = Callable[[], Any]


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
            _(
                "Give the seller_login: the seller of each car is required "
                "({person} is not a seller)."
            ).format(person=shown(actor.display_name)),
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
        raise Invalid(
            _("Date is required (e.g. {example}).").format(example=formats.date_example()),
            "date",
        )
    login = values.get("user_login")
    user_id = lookups.user(login, "user_login") if login else None
    key = (dealership_id, resource_type_id, day, user_id)

    def call() -> CapacityWritten:
        before = ledger_rows.capacity_row(session, dealership_id, resource_type_id, day, user_id)
        existed, old = before is not None, before.allocated_hours if before else 0.0
        row = capacity.set_capacity(
            session,
            actor,
            dealership_id=dealership_id,
            resource_type_id=resource_type_id,
            date=day,
            allocated_hours=values.get("allocated_hours") or "",
            user_id=user_id,
        )
        return CapacityWritten(row.id, key, existed, old, row.allocated_hours)  # type: ignore[arg-type]

    return key, call


def _duplicate(kind: str, key: Any, first: int) -> str:
    if kind == "cars":
        return _("VIN {vin} is also on row {row} of this file.").format(
            vin=shown(key, 30), row=first
        )
    return _(
        "The same dealership, resource type, day and person are on row {row} of this file."
    ).format(row=first)


def _group(kind: str, number: int, values: dict[str, str | None]) -> Any:
    """Rows whose rule reads what the others write are checked in one transaction: a person's
    hours of one day (every kind of work together) are limited, so a capacities file's rows of
    one person and day go together.  A car stands alone."""
    login = values.get("user_login")
    if kind == "capacities" and login and _PROBLEM not in values:
        try:
            day: Any = validate.parse_date(values.get("date"), "date")
        except PrepfloorError:
            day = values.get("date")
        return ("person-day", login.strip().lower(), day)
    return ("row", number)


# ------------------------------------------------------------------------------------------------
# import
# ------------------------------------------------------------------------------------------------
def _rules(kind: str) -> import_run.Rules:
    """For one transaction: a row's values → (its duplicate key, the call of its rule)."""
    apply = _import_car if kind == "cars" else _import_capacity

    def start(session: Session, actor: Actor) -> Callable[[dict[str, str | None]], Any]:
        lookups = _Lookups(session)

        def row(values: dict[str, str | None]) -> tuple[Any, Call]:
            if _PROBLEM in values:
                raise Invalid(str(values[_PROBLEM]))
            return apply(session, actor, values, lookups)

        return row

    return start


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
    :func:`db.capacity.set_capacity` (a cut below the hours already booked is refused).

    Every row is checked first, in short transactions that are rolled back.  If any row is bad,
    :class:`ImportRejected` lists every bad row with its spreadsheet row number (the header is
    row 1) and the reason, and nothing is written.  Then the rows are written in short
    transactions, other terminals saving in between; if that stops part way, what was written is
    undone and :class:`ImportInterrupted` says what happened (:mod:`db.import_run`).
    ``progress(step, done, total)`` is called between transactions (``step``: "checking",
    "writing", "undoing").  Returns the number of rows imported.
    """
    if kind not in KINDS:
        raise Invalid(_kind_problem(kind), "kind")
    actor.require("car.register" if kind == "cars" else "capacity.set")
    _header, rows = read_rows(path, kind)
    # Rows checked together come together; otherwise the file's order.
    groups = [_group(kind, number, values) for number, values in rows]
    first_of: dict[Any, int] = {}
    for index, group in enumerate(groups):
        first_of.setdefault(group, index)
    order = sorted(range(len(rows)), key=lambda i: (first_of[groups[i]], i))
    rows = [rows[i] for i in order]
    groups = [groups[i] for i in order]

    def report(step: str, done: int) -> None:
        if progress is not None:
            progress(step, done, len(rows))

    rules = _rules(kind)
    report("checking", 0)
    problems = import_run.check(
        db, actor, rows, groups, rules, lambda key, first: _duplicate(kind, key, first), report
    )
    if problems:
        raise ImportRejected(sorted(problems))
    report("writing", 0)
    import_run.write(db, actor, kind, shown(path.name), rows, rules, report)
    return len(rows)


__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "NOT_EXPORTED",
    "ImportInterrupted",
    "ImportRejected",
    "check_export",
    "export_columns",
    "export_table",
    "import_csv",
    "read_rows",
]
