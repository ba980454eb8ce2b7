"""A car's view in depth: the car, its names, bookings, parts, documents, contacts, history and
the moves open to the reader, read through the fast reader (:class:`db.fast.FastReader`).

Opening a car loads no ORM: the view is the first thing a seller or coordinator opens, and loading
SQLAlchemy's ORM for it cost a session half a second and about 40 MB the first time.  What the
view offers (the moves, the milestones) is asked of :mod:`db.car_rules`, the same rules the writes
check.
"""

from __future__ import annotations

import json
import uuid
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from db import car_rules, formats
from db.access import Actor
from db.clock import as_utc, local, local_today
from db.fast import as_date, as_time
from db.file_area import human_size
from db.i18n import N_, Labels, _
from db.sla import sla_state
from db.vocab import (
    CAR_STATUS_LABELS,
    CAR_TIMESTAMP_LABELS,
    PARTS_ORDERED_BY_WORDS,
    PARTS_STATUS_LABELS,
    TIMES_SIGN,
)

if TYPE_CHECKING:
    from db.estimate_rows import EstimateView
    from db.fast import FastReader


@dataclass(frozen=True)
class EventLine:
    occurred_at: datetime | None
    who: str
    text: str


@dataclass(frozen=True)
class BookingLine:
    id: int
    date: date
    start_time: time | None
    resource_type: str
    estimated_hours: float
    actual_hours: float | None
    person: str | None
    provider: str
    status: str


@dataclass(frozen=True)
class PartLine:
    id: int
    part_name: str
    part_number: str | None
    quantity: int
    supplier: str | None
    status: str
    ordered_by: str
    ordered_at: datetime | None
    arrived_at: datetime | None
    notes: str | None


@dataclass(frozen=True)
class MessageLine:
    """A message to the car's customer (``outbox_messages``), as the car's messages list it."""

    id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    milestone: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_reply: str | None
    created_at: datetime | None
    who: str | None  # who wrote it (display name); None: prepfloor, at a milestone


@dataclass(frozen=True)
class DocumentLine:
    id: int
    type: str
    filename: str
    filesize: int
    uploaded_by: str | None
    uploaded_at: datetime | None


@dataclass(frozen=True)
class ContactLine:
    id: int
    type: str
    message: str
    sent_at: datetime | None
    customer_name: str | None
    user: str | None  # who logged it (display name)


@dataclass
class CarDetail:
    car: Any  # a CarValues row: every column of ``cars``, typed as the model types them
    dealership: str
    prep_center: str | None
    seller: str | None
    mechanic: str | None
    detailer: str | None
    events: list[EventLine] = field(default_factory=list)
    bookings: list[BookingLine] = field(default_factory=list)
    next_statuses: list[str] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (status, why not now)
    parts: list[PartLine] = field(default_factory=list)  # in the order they were placed
    documents: list[DocumentLine] = field(default_factory=list)  # newest first, no content
    contacts: list[ContactLine] = field(default_factory=list)  # newest first
    milestones: list[tuple[str, str | None]] = field(default_factory=list)  # (milestone, why not)
    sla: str = "none"  # db.sla.SLA_STATES


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):  # "inspection approved: — → no", not "False"
        return _("yes") if value else _("no")
    if isinstance(value, str) and value in CAR_STATUS_LABELS:
        return CAR_STATUS_LABELS[value]
    if isinstance(value, float):
        return formats.number(value)
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value) or "—"
    text = str(value)
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":  # an ISO timestamp from the JSON
        try:
            moment = as_utc(datetime.fromisoformat(text))
        except ValueError:
            return text
        return formats.moment_year(local(moment)) if moment is not None else text
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # an ISO date from the JSON
        try:
            return formats.day_year(date.fromisoformat(text))
        except ValueError:
            return text
    return text


def _hours(value: Any) -> str:
    """Hours from the JSON with their unit (``7.5 h``), or the value as it is."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return formats.hours(value)
    return _("{hours} h").format(hours=_fmt(value))


ACTION_WORDS = Labels(
    {
        "create": N_("created"),
        "draft": N_("saved as draft"),
        "update": N_("changed"),
        "status": N_("moved"),
        "book": N_("booked"),
        "move": N_("moved booking"),
        "cancelled": N_("cancelled booking"),
        "no_show": N_("marked no-show"),
        "confirm": N_("confirmed booking"),
        "start": N_("started"),
        "stop": N_("stopped"),
        "complete": N_("completed"),
        "correct": N_("corrected time"),
    }
)

# What each kind of contact with the customer says in a car's history.
CONTACT_WORDS = Labels(
    {
        "call": N_("Called the customer: {message}"),
        "sms": N_("Texted the customer: {message}"),
        "email": N_("Emailed the customer: {message}"),
    }
)
CONTACTED = N_("Contacted the customer: {message}")
# What the history calls the subject of an event (its table's name, else).
SUBJECT_WORDS = Labels(
    {"resource_bookings": N_("booking"), "timebank_entries": N_("clock"), "cars": N_("car")}
)
# A car's fields as its history names them.
CHANGE_WORDS = Labels(
    {
        "vin": N_("vin"),
        "license_plate": N_("license plate"),
        "brand": N_("brand"),
        "model": N_("model"),
        "model_year": N_("model year"),
        "color": N_("color"),
        "order_number": N_("order number"),
        "customer_name": N_("customer name"),
        "customer_phone": N_("customer phone"),
        "customer_email": N_("customer email"),
        "car_type": N_("car type"),
        "status": N_("status"),
        "accessories": N_("accessories"),
        "seller_notes": N_("seller notes"),
        "scheduled_technical_date": N_("scheduled technical date"),
        "scheduled_technical_time": N_("scheduled technical time"),
        "scheduled_cosmetic_date": N_("scheduled cosmetic date"),
        "scheduled_cosmetic_time": N_("scheduled cosmetic time"),
        "estimated_technical_hours": N_("estimated technical hours"),
        "estimated_cosmetic_hours": N_("estimated cosmetic hours"),
        "parts_ordered_seller_at": N_("parts ordered seller at"),
        "parts_arrived_seller_at": N_("parts arrived seller at"),
        "parts_ordered_prep_at": N_("parts ordered prep at"),
        "parts_arrived_prep_at": N_("parts arrived prep at"),
        "parts_notes": N_("parts notes"),
        "arrived_prep_center_at": N_("arrived prep center at"),
        "inspection_completed_at": N_("inspection completed at"),
        "inspection_approved": N_("inspection approved"),
        "inspection_notes": N_("inspection notes"),
        "technical_started_at": N_("technical started at"),
        "technical_completed_at": N_("technical completed at"),
        "cosmetic_started_at": N_("cosmetic started at"),
        "cosmetic_completed_at": N_("cosmetic completed at"),
        "technical_notes": N_("technical notes"),
        "cosmetic_notes": N_("cosmetic notes"),
        "registered_at": N_("registered at"),
        "ready_for_delivery_at": N_("ready for delivery at"),
        "delivered_to_dealership_at": N_("delivered to dealership at"),
        "sold_at": N_("sold at"),
        "delivered_to_customer_at": N_("delivered to customer at"),
        "archived_at": N_("archived at"),
        "expected_delivery_date": N_("expected delivery date"),
        "in_transit_at": N_("in transit at"),
        "status_changed_at": N_("status changed at"),
    }
)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _verb(action: str) -> str:
    return ACTION_WORDS[action] if action in ACTION_WORDS else action.replace("_", " ")


def _describe_part(event: Any, changes: dict[str, Any]) -> str:
    name = changes.get("part_name") or f"#{event.entity_id}"
    if event.action in ("order", "create") and not isinstance(changes.get("status"), list):
        quantity = changes.get("quantity") or 1
        if quantity != 1:
            name = f"{name} {TIMES_SIGN}{quantity}"
        ordered_by = changes.get("ordered_by")
        by = PARTS_ORDERED_BY_WORDS.get(ordered_by, ordered_by) if ordered_by else None
        if by:
            return _("Parts ordered: {part} ({by})").format(part=name, by=by)
        return _("Parts ordered: {part}").format(part=name)
    status = changes.get("status")
    if isinstance(status, list) and len(status) == 2:
        old, new = (PARTS_STATUS_LABELS.get(v, _fmt(v)) for v in status)
        line = _("Part {part}: {old} → {new}").format(part=name, old=old, new=new)
        if changes.get("note"):
            line += f" — {changes['note']}"
        arrived = [
            k
            for k, v in (changes.get("car") or {}).items()
            if k.startswith("parts_arrived") and isinstance(v, list) and v[1] is not None
        ]
        if arrived:
            line += "; " + ", ".join(CAR_TIMESTAMP_LABELS[k].lower() for k in arrived)
        return line
    return _("Part {part} {action}").format(part=name, action=_verb(event.action))


def _field(key: str) -> str:
    return CHANGE_WORDS[key] if key in CHANGE_WORDS else key.replace("_", " ")


def describe(event: Any) -> str:
    """One line of history in words, in the reader's language: 'Status Registered → In
    transit'.  What the event keeps (a note, a reason, a message) is shown as it was written."""
    verb = _verb(event.action)
    if event.entity in SUBJECT_WORDS:
        subject = SUBJECT_WORDS[event.entity]
    else:
        subject = event.entity.replace("_", " ")
    changes = event.changes or {}
    if event.entity == "parts_orders":
        return _describe_part(event, changes)
    if event.entity == "customer_communications":
        kind = changes.get("type", "")
        said = CONTACT_WORDS[kind] if kind in CONTACT_WORDS else _(CONTACTED)
        return said.format(message=_short(changes.get("message", "")))
    if event.entity == "car_documents" and "filename" in changes:
        size = changes.get("filesize")
        if size is not None:
            return _("Attached {file} ({size})").format(
                file=changes["filename"], size=human_size(int(size))
            )
        return _("Attached {file}").format(file=changes["filename"])
    if event.entity == "cars" and event.action == "milestone":
        names = [car_rules.MILESTONE_LABELS.get(k, k.replace("_", " ")) for k in changes]
        return _("Recorded: {milestones}").format(milestones=", ".join(names))
    if event.entity == "cars" and event.action == "status" and "status" in changes:
        old, new = changes["status"]
        line = _("Status {old} → {new}").format(old=_fmt(old), new=_fmt(new))
        return line + (f" — {changes['note']}" if changes.get("note") else "")
    if event.entity == "cars":
        parts = []
        for key, value in changes.items():
            if key.endswith("_id"):  # names are shown elsewhere on the car; ids are noise here
                continue
            if isinstance(value, list) and len(value) == 2:
                parts.append(f"{_field(key)}: {_fmt(value[0])} → {_fmt(value[1])}")
            else:
                parts.append(f"{_field(key)}: {_fmt(value)}")
        if parts:
            return _("Car {action}: {changes}").format(action=verb, changes="; ".join(parts))
        return _("Car {action}").format(action=verb)
    if event.entity == "resource_bookings" and event.action == "book":
        return _("Booked {work} on {day} ({hours})").format(
            work=changes.get("resource_type", ""),
            day=_fmt(changes.get("date", "")),
            hours=_hours(changes.get("estimated_hours")),
        )
    detail = ""
    if "reason" in changes:
        detail = f": {changes['reason']}"
    elif "hours" in changes and isinstance(changes["hours"], list):
        detail = f": {_hours(changes['hours'][1])}"
    return (
        _("{subject} #{id} {action}").format(
            subject=subject[:1].upper() + subject[1:], id=event.entity_id, action=verb
        )
        + detail
    )


# Every column of ``cars``, and how a driver's value becomes the model's (ISO text on SQLite).
def _uid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _real(value: Any) -> float | None:
    return None if value is None else float(value)


def _same(value: Any) -> Any:
    return value


CAR_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "id": _same,
    "vin": _same,
    "license_plate": _same,
    "brand": _same,
    "model": _same,
    "model_year": _same,
    "color": _same,
    "order_number": _same,
    "customer_name": _same,
    "customer_phone": _same,
    "customer_email": _same,
    "dealership_id": _same,
    "seller_id": _uid,
    "car_type": _same,
    "status": _same,
    "accessories": _json,
    "seller_notes": _same,
    "prep_center_id": _same,
    "scheduled_technical_date": as_date,
    "scheduled_technical_time": as_time,
    "scheduled_cosmetic_date": as_date,
    "scheduled_cosmetic_time": as_time,
    "estimated_technical_hours": _real,
    "estimated_cosmetic_hours": _real,
    "assigned_mechanic_id": _uid,
    "assigned_detailer_id": _uid,
    "parts_ordered_seller_at": as_utc,
    "parts_arrived_seller_at": as_utc,
    "parts_ordered_prep_at": as_utc,
    "parts_arrived_prep_at": as_utc,
    "parts_notes": _same,
    "arrived_prep_center_at": as_utc,
    "inspection_completed_at": as_utc,
    "inspection_approved": _flag,
    "inspection_notes": _same,
    "technical_started_at": as_utc,
    "technical_completed_at": as_utc,
    "cosmetic_started_at": as_utc,
    "cosmetic_completed_at": as_utc,
    "technical_notes": _same,
    "cosmetic_notes": _same,
    "registered_at": as_utc,
    "ready_for_delivery_at": as_utc,
    "delivered_to_dealership_at": as_utc,
    "sold_at": as_utc,
    "delivered_to_customer_at": as_utc,
    "archived_at": as_utc,
    "expected_delivery_date": as_date,
    "in_transit_at": as_utc,
    "status_changed_at": as_utc,
    "created_at": as_utc,
    "updated_at": as_utc,
}
CarValues = namedtuple("CarValues", list(CAR_COLUMNS))  # type: ignore[misc]
_READS = tuple(CAR_COLUMNS.values())


_CAR_SQL = (
    "SELECT "
    + ", ".join(f"c.{name}" for name in CAR_COLUMNS)
    + ", od.dealership_number, od.dealership_name, pd.dealership_number, pd.dealership_name, "
    + ", ".join(
        f"(SELECT u.display_name FROM users u WHERE u.id = c.{column})"
        for column in ("seller_id", "assigned_mechanic_id", "assigned_detailer_id")
    )
    + " FROM cars c LEFT JOIN dealership od ON od.id = c.dealership_id"
    " LEFT JOIN dealership pd ON pd.id = c.prep_center_id WHERE c.id = :id"
)
_PROVIDERS_SQL = "SELECT dealership_id FROM car_access WHERE car_id = :id"


class _EventRow(NamedTuple):
    """One event, as :func:`describe` reads it."""

    entity: str
    entity_id: str
    action: str
    changes: dict[str, Any] | None


_EVENTS_SQL = (
    "SELECT e.occurred_at, e.user_id, u.display_name, e.writer, e.entity, e.entity_id, e.action, "
    "e.changes FROM events e LEFT JOIN users u ON u.id = e.user_id "
    "WHERE e.car_id = :id ORDER BY e.id DESC LIMIT :limit"
)
_BOOKINGS_SQL = (
    "SELECT b.id, b.date, b.start_time, rt.name, b.estimated_hours, b.actual_hours, "
    "u.display_name, d.dealership_name, b.status FROM resource_bookings b "
    "JOIN resource_types rt ON rt.id = b.resource_type_id "
    "JOIN dealership d ON d.id = b.provider_dealership_id "
    "LEFT JOIN users u ON u.id = b.user_id WHERE b.car_id = :id "
    "ORDER BY b.date, b.start_time IS NULL, b.start_time, b.id"
)
_PARTS_SQL = (
    "SELECT id, part_name, part_number, quantity, supplier, status, ordered_by, ordered_at, "
    "arrived_at, notes FROM parts_orders WHERE car_id = :id ORDER BY ordered_at, id"
)
_DOCUMENTS_SQL = (
    "SELECT d.id, d.type, d.filename, d.filesize, u.display_name, d.uploaded_at "
    "FROM car_documents d LEFT JOIN users u ON u.id = d.uploaded_by_id WHERE d.car_id = :id "
    "ORDER BY d.uploaded_at DESC, d.id DESC"
)
_CONTACTS_SQL = (
    "SELECT c.id, c.type, c.message, c.sent_at, c.customer_name, u.display_name "
    "FROM customer_communications c LEFT JOIN users u ON u.id = c.user_id WHERE c.car_id = :id "
    "ORDER BY c.sent_at DESC, c.id DESC"
)

_MESSAGES_SQL = (
    "SELECT m.id, m.channel, m.recipient, m.subject, m.body, m.milestone, m.state, m.attempts, "
    "m.next_attempt_at, m.sent_at, m.last_reply, m.created_at, u.display_name "
    "FROM outbox_messages m LEFT JOIN users u ON u.id = m.created_by_id WHERE m.car_id = :id "
    "ORDER BY m.id DESC"
)


def _seen_car(fast: FastReader, actor: Actor, car_id: int) -> tuple[Any, tuple[Any, ...], Any]:
    """The car's values, its names (dealership, prep center, seller, mechanic, detailer) and its
    other providers (read once, when first asked), if the actor may see the car; else NotFound
    (the car scoping rule, :func:`db.car_rules.check_visible`)."""
    found = fast.rows(_CAR_SQL, {"id": car_id})
    car, names = None, ()
    if found:
        row = found[0]
        n = len(_READS)
        car = CarValues._make(read(value) for read, value in zip(_READS, row[:n], strict=True))
        names = row[n:]

    @cache
    def providers() -> set[int]:
        return {r[0] for r in fast.rows(_PROVIDERS_SQL, {"id": car_id})}

    return car_rules.check_visible(actor, car_id, car, providers), names, providers


def _parts(fast: FastReader, car_id: int) -> list[PartLine]:
    return [
        PartLine(*r[:7], as_utc(r[7]), as_utc(r[8]), r[9])
        for r in fast.rows(_PARTS_SQL, {"id": car_id})
    ]


def _documents(fast: FastReader, car_id: int) -> list[DocumentLine]:
    return [DocumentLine(*r[:5], as_utc(r[5])) for r in fast.rows(_DOCUMENTS_SQL, {"id": car_id})]


def _contacts(fast: FastReader, car_id: int) -> list[ContactLine]:
    return [
        ContactLine(*r[:3], as_utc(r[3]), *r[4:]) for r in fast.rows(_CONTACTS_SQL, {"id": car_id})
    ]


def car_parts(fast: FastReader, actor: Actor, car_id: int) -> list[PartLine]:
    """The parts ordered for a car the actor sees, in the order they were placed."""
    _seen_car(fast, actor, car_id)
    return _parts(fast, car_id)


def car_documents(fast: FastReader, actor: Actor, car_id: int) -> list[DocumentLine]:
    """The documents of a car the actor sees, newest first (without their content)."""
    _seen_car(fast, actor, car_id)
    return _documents(fast, car_id)


def car_contacts(fast: FastReader, actor: Actor, car_id: int) -> list[ContactLine]:
    """The customer contacts of a car the actor sees, newest first."""
    _seen_car(fast, actor, car_id)
    return _contacts(fast, car_id)


def car_messages(fast: FastReader, actor: Actor, car_id: int) -> list[MessageLine]:
    """The messages to the customer of a car the actor sees, newest first (``outbox.view``)."""
    actor.require("outbox.view")
    _seen_car(fast, actor, car_id)
    return [
        MessageLine(*r[:8], as_utc(r[8]), as_utc(r[9]), r[10], as_utc(r[11]), r[12])
        for r in fast.rows(_MESSAGES_SQL, {"id": car_id})
    ]


_ESTIMATES_SQL = (
    "SELECT e.id, e.car_id, e.state, cu.display_name, e.created_at, e.sent_at, su.display_name, "
    "e.decided_at, du.display_name, e.customer_answer, e.notes, "
    "l.id, l.kind, l.description, l.part_number, l.quantity, l.unit_price_ore, "
    "l.resource_type_id, rt.name, l.hours, l.hourly_rate_ore, l.user_id, lu.display_name, "
    "l.amount_ore, l.decision, i.item_name, l.inspection_item_id, l.parts_order_id, l.booking_id "
    "FROM estimates e "
    "LEFT JOIN users cu ON cu.id = e.created_by_id "
    "LEFT JOIN users su ON su.id = e.sent_by_id "
    "LEFT JOIN users du ON du.id = e.decided_by_id "
    "LEFT JOIN estimate_lines l ON l.estimate_id = e.id "
    "LEFT JOIN resource_types rt ON rt.id = l.resource_type_id "
    "LEFT JOIN users lu ON lu.id = l.user_id "
    "LEFT JOIN inspection_checklist_items i ON i.id = l.inspection_item_id "
    "WHERE e.car_id = :id ORDER BY e.id DESC, l.id"
)
_LABOUR_PEOPLE_SQL = (
    "SELECT display_name, id FROM users WHERE dealership_id = :center AND active "
    "AND role IN ('mechanic', 'detailer') ORDER BY display_name"
)


def car_estimates(fast: FastReader, actor: Actor, car_id: int) -> list[EstimateView]:
    """The estimates of a car the actor sees, newest first, each with its lines (in the order they
    were made), the names they refer to and its totals (``estimate.view``): one statement."""
    from db.estimate_rows import EstimateView, LineView

    actor.require("estimate.view")
    _seen_car(fast, actor, car_id)
    heads: dict[int, tuple[Any, ...]] = {}
    lines: dict[int, list[LineView]] = {}
    for r in fast.rows(_ESTIMATES_SQL, {"id": car_id}):  # the columns in the views' order
        head, line = r[:11], r[11:]
        if head[0] not in heads:
            heads[head[0]] = head
            lines[head[0]] = []
        if line[0] is not None:
            lines[head[0]].append(
                LineView(*line[:8], _real(line[8]), line[9], _uid(line[10]), *line[11:])
            )
    return [
        EstimateView(
            *h[:4], as_utc(h[4]), as_utc(h[5]), h[6], as_utc(h[7]), *h[8:], lines=tuple(lines[i])
        )
        for i, h in heads.items()
    ]


def labour_options(
    fast: FastReader, actor: Actor, car_id: int
) -> tuple[list[tuple[str, int]], list[tuple[str, uuid.UUID]]]:
    """What a labour line of an estimate on a car the actor sees can name: the bookable kinds of
    work (name, id), those of a prep stage first, and the mechanics and detailers of the car's
    prep center (name, id)."""
    car = _seen_car(fast, actor, car_id)[0]
    # by name (FastReader.bookable_types), those of a prep stage first (a stable sort)
    kinds = sorted(fast.bookable_types(), key=lambda t: t.prep_stage is None)
    types = [(t.name, t.id) for t in kinds]
    people: list[tuple[str, uuid.UUID]] = []
    if car.prep_center_id is not None:
        people = [
            (name, _uid(i))  # type: ignore[misc]
            for name, i in fast.rows(_LABOUR_PEOPLE_SQL, {"center": car.prep_center_id})
        ]
    return types, people


def car_detail(
    fast: FastReader, actor: Actor, car_id: int, *, history_limit: int = 500
) -> CarDetail:
    """A car with names, bookings, parts, documents, contacts, its event history (newest first)
    and the moves open to the actor.  NotFound when there is no such car or the actor may not
    see it."""
    car, names, providers = _seen_car(fast, actor, car_id)
    detail = CarDetail(
        car=car,
        dealership=formats.label_of(names[0], names[1]) or "—",
        prep_center=formats.label_of(names[2], names[3]),
        seller=names[4] if car.seller_id else None,
        mechanic=names[5] if car.assigned_mechanic_id else None,
        detailer=names[6] if car.assigned_detailer_id else None,
    )
    for move in car_rules.moves_from(car.status):
        why = car_rules.refusal(actor, car, move.target, providers)
        if why is None:
            detail.next_statuses.append(move.target)
        else:
            detail.blocked.append((move.target, str(why)))
    detail.events = [
        EventLine(
            as_utc(at),
            # a person; another client's database role (db/triggers.py); else prepfloor itself
            (name or "prepfloor") if user_id else (writer or "prepfloor"),
            describe(_EventRow(entity, str(entity_id), action, _json(changes))),
        )
        for at, user_id, name, writer, entity, entity_id, action, changes in fast.rows(
            _EVENTS_SQL, {"id": car_id, "limit": history_limit}
        )
    ]
    detail.bookings = [
        BookingLine(
            id=r[0],
            date=as_date(r[1]),  # type: ignore[arg-type]
            start_time=as_time(r[2]),
            resource_type=r[3],
            estimated_hours=float(r[4]),
            actual_hours=_real(r[5]),
            person=r[6],
            provider=r[7],
            status=r[8],
        )
        for r in fast.rows(_BOOKINGS_SQL, {"id": car_id})
    ]
    detail.parts = _parts(fast, car_id)
    detail.documents = _documents(fast, car_id)
    detail.contacts = _contacts(fast, car_id)
    detail.milestones = car_rules.milestone_options(car)
    detail.sla = sla_state(
        car.status, car.expected_delivery_date, car.delivered_to_customer_at, local_today()
    )
    return detail
