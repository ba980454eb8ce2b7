"""Running an import in short transactions, all rows or none: check, write, undo.

One long transaction would hold SQLite's write lock for the whole file (a 10,000-car file: about
50 s in which no other terminal could save anything).  So :mod:`db.transfer` hands its rows here:

1. **Check** (:func:`check`).  Every row is applied through its rule in write transactions of about
   :data:`BATCH_SECONDS` (:data:`BATCH_SECONDS_POSTGRESQL`) that are *rolled back*; each row gets a
   savepoint, so a refused row is noted and the next one is still checked.  Rows whose rules read
   each other's writes (a person's hours of one day) are kept in one transaction.  Any bad row:
   :class:`ImportRejected`, and nothing was ever written.
2. **Write** (:func:`write`).  The rows are applied again in batches of about
   :data:`BATCH_SECONDS`, each committed on its own.  Between two batches the write lock is free
   (on SQLite the import pauses :data:`PAUSE_SECONDS`, so that a waiting terminal is woken first):
   another terminal's save waits about one batch at most.
3. **Undo.**  If a row is refused now (something changed after the check: another terminal
   registered one of the file's VINs, booked hours on a day the file cuts) or the writing stops
   for another reason (the database gone, the importer switched off, ctrl+c), what the committed
   batches wrote is undone in *one* transaction, and :class:`ImportInterrupted` says what happened:

   * **Cars** (:func:`_undo_cars`) are deleted with the notifications and ``car_access`` rows their
     registration wrote.  The audit trail keeps everything: their ``create`` and ``status``
     events stay (``entity_id`` still names the car; ``car_id`` is emptied, the car being gone)
     and each car gets a ``delete`` event with its VIN, order number and the reason.
   * **Capacity rows** (:func:`_undo_capacities`) get their hours back through
     :func:`db.capacity.set_capacity` (a ``set`` event each); a row the import created and that no
     booking holds is deleted, with a ``delete`` event.
   * What another terminal already did to an imported row (an edit or a move, a booking, a part
     order on an imported car; other hours set or booked on an imported day) is never thrown away:
     that row stays, and the message names it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# (named otherwise: tests/catalog.py takes what follows a "Column" for a screen column's title)
from sqlalchemy import Column as TableColumn
from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from db import capacity, events, formats, ledger_rows
from db.access import Actor
from db.engine import Database, is_retryable
from db.errors import CapacityCut, HeldUp, InvalidFields, PrepfloorError
from db.i18n import _, ngettext
from db.models import Car, CarAccess, Event, Notification, ResourceCapacity
from db.text import shown

# A check or write transaction lasts about this long, and holds at most this many rows.  SQLite:
# the whole database's write lock is held meanwhile, so short, and a pause between two (the
# waiting terminal is woken and takes the lock first).  PostgreSQL: only the rows a batch writes
# are locked (the capacity rows and person-days of a capacities file), so a little longer (each
# transaction costs some round trips) and no pause.
BATCH_SECONDS = 0.1
BATCH_SECONDS_POSTGRESQL = 0.25
BATCH_ROWS = 500
PAUSE_SECONDS = 0.01
# A batch held up by another terminal's change (db.errors.HeldUp after ``write_wait``) is tried
# again this many times before the import stops; the undo of a stopped import, this many times more
# (what was written stays in the database if the undo cannot run).
HELD_UP_TRIES = 3
UNDO_HELD_UP_TRIES = 6
REASON_LIMIT = 400  # characters of one row's reason, at most

Row = tuple[int, dict[str, str | None]]  # the file's row number, its values
# For one transaction: a function that takes a row's values and returns the row's duplicate key
# (or None) and the call that applies its rule (raising a PrepfloorError when the rule refuses).
Rules = Callable[[Session, Actor], Callable[[dict[str, str | None]], tuple[Any, Callable[[], Any]]]]
Report = Callable[[str, int], None]


# ------------------------------------------------------------------------------------------------
# what a caller is told
# ------------------------------------------------------------------------------------------------
class ImportRejected(PrepfloorError):
    """Some rows of an import are bad, so nothing was written.

    ``problems`` is ``[(row number, reason), ...]``; row numbers are a spreadsheet's (the header is
    row 1, the first data row is row 2).  Every reason is one clean line; a value it quotes is cut
    to about 60 characters (:func:`db.text.shown`).
    """

    def __init__(self, problems: list[tuple[int, str]], message: str | None = None) -> None:
        self.problems = list(problems)
        if message is None:
            count = len(self.problems)
            listed = "; ".join(
                _("row {number}: {reason}").format(number=n, reason=reason)
                for n, reason in self.problems[:3]
            )
            if count > 3:
                message = ngettext(
                    "Nothing was imported: {count} bad row(s). {rows} (and {more} more)",
                    "Nothing was imported: {count} bad row(s). {rows} (and {more} more)",
                    count,
                ).format(count=count, rows=listed, more=count - 3)
            else:
                message = ngettext(
                    "Nothing was imported: {count} bad row(s). {rows}",
                    "Nothing was imported: {count} bad row(s). {rows}",
                    count,
                ).format(count=count, rows=listed)
        super().__init__(message.strip())


class ImportInterrupted(ImportRejected):
    """Every row had passed the check, but writing them stopped part way.  What was written is
    undone: ``undone`` rows were removed again, ``kept`` names those that stayed because someone
    else already worked on them (empty: nothing of the file stayed).  ``problems`` holds the
    refused row, when a row was refused."""

    def __init__(
        self, problems: list[tuple[int, str]], message: str, *, undone: int, kept: list[str]
    ) -> None:
        super().__init__(problems, message)
        self.undone = undone
        self.kept = list(kept)


def reason(error: BaseException) -> str:
    """A refusal as one clean line of at most :data:`REASON_LIMIT` characters."""
    if isinstance(error, InvalidFields):
        text = " ".join(dict.fromkeys(error.errors.values()))
    elif isinstance(error, PrepfloorError):
        text = str(error)
    else:  # the database refused the row (not a rule): its own words, short
        text = _("The database refused this row ({error}).").format(
            error=shown(getattr(error, "orig", error), 160)
        )
    return shown(text, REASON_LIMIT)


@dataclass
class CapacityWritten:
    """A capacity row an import set: its key, and its hours before and after."""

    row_id: int
    key: tuple[int, int, date, uuid.UUID | None]
    existed: bool
    old_hours: float
    new_hours: float


# ------------------------------------------------------------------------------------------------
# check
# ------------------------------------------------------------------------------------------------
class _Checked(Exception):
    """Ends a check batch so that its transaction is rolled back (carries what was found)."""

    def __init__(self, end: int, problems: list[tuple[int, str]], keys: dict[Any, int]) -> None:
        super().__init__("check batch rolled back")
        self.end, self.problems, self.keys = end, problems, keys


def _budget(db: Database) -> tuple[float, float]:
    """The seconds a batch may last and the pause after it, on ``db``'s engine."""
    if db.dialect == "postgresql":
        return BATCH_SECONDS_POSTGRESQL, 0.0
    return BATCH_SECONDS, PAUSE_SECONDS


def _full(seconds: float, began: float, count: int) -> bool:
    return count >= BATCH_ROWS or time.monotonic() - began >= seconds


def _patient(db: Database, tries: int, fn: Callable[..., Any], *args: Any) -> Any:
    """``db.run(fn, *args)``, tried again when another terminal's change held it up (each try
    waits ``write_wait`` at most, so the import waits ``tries`` of them at most)."""
    for attempt in range(tries):
        try:
            return db.run(fn, *args)
        except HeldUp:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def check(
    db: Database,
    actor: Actor,
    rows: Sequence[Row],
    groups: Sequence[Any],
    rules: Rules,
    duplicate: Callable[[Any, int], str],
    report: Report,
) -> list[tuple[int, str]]:
    """Apply every row in rolled-back transactions (a batch ends only between two ``groups``);
    the problems found, ``[(row number, reason), ...]``.  A row whose key another row already
    has is refused with ``duplicate(key, that row's number)``."""
    seen: dict[Any, int] = {}
    problems: list[tuple[int, str]] = []
    start = 0
    seconds, pause = _budget(db)

    def batch(session: Session, actor: Actor) -> None:
        apply = rules(session, actor)
        found: list[tuple[int, str]] = []
        keys: dict[Any, int] = {}
        began = time.monotonic()
        index = start
        while index < len(rows):
            ends = index > start and groups[index] != groups[index - 1]
            if ends and _full(seconds, began, index - start):
                break
            number, values = rows[index]
            index += 1
            try:
                key, call = apply(values)
                if key is not None:
                    first = seen.get(key, keys.get(key))
                    if first is not None:
                        found.append((number, shown(duplicate(key, first), REASON_LIMIT)))
                        continue
                    keys[key] = number
                with session.begin_nested():
                    call()
            except PrepfloorError as error:
                found.append((number, reason(error)))
            except DBAPIError as error:
                if is_retryable(error):
                    raise
                found.append((number, reason(error)))
        raise _Checked(index, found, keys)  # the batch is rolled back

    while start < len(rows):
        try:
            _patient(db, HELD_UP_TRIES, batch, actor)  # the actor first: run re-checks them
        except _Checked as checked:
            start = checked.end
            problems.extend(checked.problems)
            seen.update(checked.keys)
        report("checking", start)
        if start < len(rows) and pause:
            time.sleep(pause)
    return problems


# ------------------------------------------------------------------------------------------------
# write
# ------------------------------------------------------------------------------------------------
class _Refused(Exception):
    """A row refused while writing: its number and the reason (the batch is rolled back)."""

    def __init__(self, number: int, why: str) -> None:
        super().__init__(why)
        self.number, self.why = number, why


@dataclass
class _Written:
    """What the committed batches wrote, to undo it."""

    rows: list[int] = field(default_factory=list)  # the file's row numbers
    car_ids: list[int] = field(default_factory=list)
    car_stamps: dict[int, Any] = field(default_factory=dict)  # id -> updated_at as written
    event_ids: set[int] = field(default_factory=set)
    notification_ids: set[int] = field(default_factory=set)
    access: set[tuple[int, int]] = field(default_factory=set)
    capacities: list[CapacityWritten] = field(default_factory=list)

    def add(self, other: _Written) -> None:
        self.rows.extend(other.rows)
        self.car_ids.extend(other.car_ids)
        self.car_stamps.update(other.car_stamps)
        self.event_ids |= other.event_ids
        self.notification_ids |= other.notification_ids
        self.access |= other.access
        self.capacities.extend(other.capacities)


def write(
    db: Database,
    actor: Actor,
    kind: str,
    file_name: str,
    rows: Sequence[Row],
    rules: Rules,
    report: Report,
) -> None:
    """Apply the checked rows in committed batches; if that stops part way, undo what was written
    and raise :class:`ImportInterrupted` (a ``KeyboardInterrupt`` goes on after the undo)."""
    written = _Written()
    start = 0
    seconds, pause = _budget(db)

    def batch(session: Session, actor: Actor) -> tuple[int, _Written]:
        apply = rules(session, actor)
        done = _Written()
        began = time.monotonic()
        index = start
        while index < len(rows) and not (index > start and _full(seconds, began, index - start)):
            number, values = rows[index]
            index += 1
            try:
                _key, call = apply(values)
                result = call()
            except PrepfloorError as error:
                raise _Refused(number, reason(error)) from error
            except DBAPIError as error:
                if is_retryable(error):
                    raise
                raise _Refused(number, reason(error)) from error
            done.rows.append(number)
            if isinstance(result, Car):
                done.car_ids.append(result.id)  # type: ignore[arg-type]
            elif isinstance(result, CapacityWritten):
                done.capacities.append(result)
        if done.car_ids:
            _note_car_rows(session, done)
        return index, done

    try:
        while start < len(rows):
            start, done = _patient(db, HELD_UP_TRIES, batch, actor)
            written.add(done)
            report("writing", start)
            if start < len(rows) and pause:
                time.sleep(pause)
    except BaseException as stop:
        refused = (stop.number, stop.why) if isinstance(stop, _Refused) else None
        if not written.rows and refused is None:
            raise  # nothing was written: the error as it is
        undone, kept, undo_error = 0, [], None
        if written.rows:
            report("undoing", 0)
            why = f"row {refused[0]} was refused ({refused[1]})" if refused else reason(stop)
            note = shown(f"import of {file_name} undone: {why}", REASON_LIMIT)
            try:  # not as the actor: the undo runs even when the importer was switched off
                undone, kept = _patient(
                    db, UNDO_HELD_UP_TRIES, lambda s: _undo(s, actor, kind, written, note)
                )
            except Exception as error:  # the database is gone too: say what stayed
                undo_error = error
            report("undoing", len(written.rows))
        told = _interrupted(kind, file_name, refused, stop, len(written.rows), undone, kept)
        if undo_error is not None:
            told = _not_undone(kind, file_name, refused, stop, len(written.rows), undo_error)
        if isinstance(stop, Exception):
            raise told from (None if refused else stop)
        raise  # KeyboardInterrupt and the like: undone, and the interruption goes on


def _chunks(ids: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for at in range(0, len(ids), size):
        yield ids[at : at + size]


def _note_car_rows(session: Session, done: _Written) -> None:
    """In the batch's own transaction (nobody else has seen these cars yet): every row the
    registrations wrote about them, so that an undo removes exactly those."""
    ids = done.car_ids
    session.flush()
    stamps = select(Car.id, Car.updated_at).where(Car.id.in_(ids))  # type: ignore[call-overload,union-attr,arg-type]
    done.car_stamps = {car_id: stamp for car_id, stamp in session.execute(stamps)}
    done.event_ids = set(session.scalars(select(Event.id).where(Event.car_id.in_(ids))))  # type: ignore[call-overload,union-attr,arg-type]
    done.notification_ids = set(
        session.scalars(select(Notification.id).where(Notification.car_id.in_(ids)))  # type: ignore[call-overload,union-attr,arg-type]
    )
    access = select(CarAccess.car_id, CarAccess.dealership_id).where(CarAccess.car_id.in_(ids))  # type: ignore[call-overload,attr-defined]
    done.access = {(car_id, dealership_id) for car_id, dealership_id in session.execute(access)}


# ------------------------------------------------------------------------------------------------
# what the user is told when writing stopped
# ------------------------------------------------------------------------------------------------
def _count(kind: str, count: int) -> str:
    shown_count = formats.number(count, 0)
    if kind == "cars":
        return ngettext("{count} car", "{count} cars", count).format(count=shown_count)
    return ngettext("{count} capacity row", "{count} capacity rows", count).format(
        count=shown_count
    )


def _cause(refused: tuple[int, str] | None, stop: BaseException) -> str:
    if refused is not None:
        return _(
            "row {number} was refused while the rows were being written, after every row "
            "had passed the check (something changed in the database meanwhile): {reason}"
        ).format(number=refused[0], reason=refused[1])
    return _("the import stopped while the rows were being written: {reason}").format(
        reason=reason(stop)
    )


def _interrupted(
    kind: str,
    file_name: str,
    refused: tuple[int, str] | None,
    stop: BaseException,
    written: int,
    undone: int,
    kept: list[str],
) -> ImportInterrupted:
    cause = _cause(refused, stop)
    if not kept:
        if undone:
            message = _(
                "Nothing was imported: {cause} The {things} already written were removed again."
            ).format(cause=cause, things=_count(kind, undone))
        else:
            message = _("Nothing was imported: {cause}").format(cause=cause)
    else:
        listed = "; ".join(kept[:10])
        if len(kept) > 10:
            listed = _("{listed}; and {more} more").format(
                listed=listed, more=formats.number(len(kept) - 10, 0)
            )
        message = _(
            "Not everything could be undone: {cause} Of the {things} already written from "
            "{file}, {undone} were removed again, and these stayed because someone else already "
            "worked on them: {listed}. Look at them before you import the file again."
        ).format(
            cause=cause,
            things=_count(kind, written),
            file=file_name,
            undone=formats.number(undone, 0),
            listed=listed,
        )
    return ImportInterrupted([refused] if refused else [], message, undone=undone, kept=kept)


def _not_undone(
    kind: str,
    file_name: str,
    refused: tuple[int, str] | None,
    stop: BaseException,
    written: int,
    error: BaseException,
) -> ImportInterrupted:
    cause = _cause(refused, stop)
    return ImportInterrupted(
        [refused] if refused else [],
        _(
            "{cause} The {things} already written from {file} could NOT be removed again "
            "({error}): they are in the database. Look at them before you import the file again."
        ).format(
            cause=f"{cause[0].upper()}{cause[1:]}",
            things=_count(kind, written),
            file=file_name,
            error=reason(error),
        ),
        undone=0,
        kept=[_("the {things} written").format(things=_count(kind, written))],
    )


# ------------------------------------------------------------------------------------------------
# undo
# ------------------------------------------------------------------------------------------------
def _undo(
    session: Session, actor: Actor, kind: str, written: _Written, note: str
) -> tuple[int, list[str]]:
    """Undo what the committed batches wrote, in one transaction: ``(undone, kept)``."""
    if kind == "cars":
        return _undo_cars(session, actor, written, note)
    return _undo_capacities(session, actor, written, note)


def _tables_pointing_at_cars() -> list[tuple[Table, TableColumn[Any]]]:
    return [
        (table, key.parent)
        for table in SQLModel.metadata.sorted_tables
        for key in table.foreign_keys
        if key.column.table.name == "cars" and table.name != "cars"
    ]


def _undo_cars(
    session: Session, actor: Actor, written: _Written, note: str
) -> tuple[int, list[str]]:
    """Delete the import's cars with the notifications and ``car_access`` rows their registration
    wrote; their events stay (``car_id`` emptied) and each gets a ``delete`` event.  A car someone
    else already worked on (edited or moved; any row about it the import did not write: a
    booking, a part order, a call, a document, an event) stays, and is named."""
    ids = written.car_ids
    info: dict[int, tuple[Any, str, str | None, str | None]] = {}
    for chunk in _chunks(ids):
        statement = select(Car.id, Car.updated_at, Car.status, Car.vin, Car.order_number)  # type: ignore[call-overload]
        for car_id, updated_at, status, vin, order in session.execute(
            statement.where(Car.id.in_(chunk)).with_for_update()  # type: ignore[union-attr]
        ):
            info[car_id] = (updated_at, status, vin, order)
    touched = {
        car_id
        for car_id, (updated_at, status, _vin, _order) in info.items()
        if status != "registered" or updated_at != written.car_stamps.get(car_id)
    }
    # (the car, then the row's primary key): is that row one the import wrote?
    ours: dict[str, Callable[[Sequence[Any]], bool]] = {
        "events": lambda row: row[1] in written.event_ids,
        "notifications": lambda row: row[1] in written.notification_ids,
        "car_access": lambda row: (row[0], row[-1]) in written.access,
    }
    for table, column in _tables_pointing_at_cars():
        key = list(table.primary_key.columns)
        mine = ours.get(table.name, lambda _row: False)
        for chunk in _chunks(ids):
            for row in session.execute(select(column, *key).where(column.in_(chunk))):
                if not mine(row):
                    touched.add(row[0])
    gone = [car_id for car_id in ids if car_id in info and car_id not in touched]
    for chunk in _chunks(gone):
        session.execute(delete(Notification).where(Notification.car_id.in_(chunk)))  # type: ignore[union-attr]
        session.execute(delete(CarAccess).where(CarAccess.car_id.in_(chunk)))  # type: ignore[attr-defined]
        session.execute(update(Event).where(Event.car_id.in_(chunk)).values(car_id=None))  # type: ignore[union-attr]
        session.execute(delete(Car).where(Car.id.in_(chunk)))  # type: ignore[union-attr]
    for car_id in gone:
        _updated, _status, vin, order = info[car_id]
        changes = {"vin": vin, "order_number": order, "reason": note}
        events.record(session, actor, "cars", car_id, "delete", changes)
    kept = [
        _("order {order} (VIN {vin})").format(
            order=shown(info[c][3], 30), vin=shown(info[c][2], 20)
        )
        for c in ids
        if c in touched and c in info
    ]
    return len(gone), kept


def _undo_capacities(
    session: Session, actor: Actor, written: _Written, note: str
) -> tuple[int, list[str]]:
    """Each capacity row the import set gets its hours back through
    :func:`db.capacity.set_capacity`; one the import created and no booking holds is deleted (with a
    ``delete`` event).  A row someone changed since (other hours set, or hours booked that the old
    value would cut) stays, and is named."""
    undone = 0
    kept: list[str] = []
    for entry in reversed(written.capacities):
        dealership_id, resource_type_id, day, user_id = entry.key
        row = ledger_rows.capacity_row(
            session, dealership_id, resource_type_id, day, user_id, lock=True
        )
        if row is None:
            continue
        shown_day = formats.day_year(day)
        if user_id:
            label = _("{day} (a person's hours)").format(day=shown_day)
        else:
            label = _("{day} (team)").format(day=shown_day)
        if abs(row.allocated_hours - entry.new_hours) > 1e-9:
            kept.append(
                _("{label}: someone set {hours} since").format(
                    label=label, hours=formats.hours(row.allocated_hours)
                )
            )
            continue
        if not entry.existed:
            if row.used_hours > 1e-9:
                kept.append(
                    _("{label}: {hours} were booked on it since").format(
                        label=label, hours=formats.hours(row.used_hours)
                    )
                )
                continue
            session.execute(delete(ResourceCapacity).where(ResourceCapacity.id == row.id))  # type: ignore[arg-type]
            changes = {
                "allocated_hours": [entry.new_hours, None],
                "date": day,
                "user_id": user_id,
                "resource_type_id": resource_type_id,
                "dealership_id": dealership_id,
                "reason": note,
            }
            events.record(session, actor, "resource_capacities", row.id, "delete", changes)
            undone += 1
            continue
        try:
            with session.begin_nested():
                capacity.set_capacity(
                    session,
                    actor,
                    dealership_id=dealership_id,
                    resource_type_id=resource_type_id,
                    date=day,
                    allocated_hours=entry.old_hours,
                    user_id=user_id,
                )
        except CapacityCut as cut:
            kept.append(
                _("{label}: {hours} were booked on it since").format(
                    label=label, hours=formats.hours(cut.booked)
                )
            )
            continue
        except PrepfloorError as refused:  # e.g. the person's day is full since
            kept.append(_("{label}: {reason}").format(label=label, reason=reason(refused)))
            continue
        undone += 1
    return undone, kept


__all__ = [
    "BATCH_ROWS",
    "BATCH_SECONDS",
    "BATCH_SECONDS_POSTGRESQL",
    "PAUSE_SECONDS",
    "CapacityWritten",
    "ImportInterrupted",
    "ImportRejected",
    "check",
    "reason",
    "write",
]
