"""ORM reads for the screens that show one record in depth (a car and its history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, select

from db import formats, workflow
from db.access import Actor
from db.clock import as_utc, local, local_today
from db.contacts import ContactLine, contacts_of
from db.delivery import MILESTONE_LABELS, milestone_options
from db.documents import DocumentLine, documents_of, human_size
from db.i18n import N_, Labels, _
from db.models import Car, Dealership, Event, ResourceBooking, ResourceType, User
from db.parts import ORDERED_BY_LABELS, PART_STATUS_LABELS, TIMES, PartLine, parts_of
from db.sla import sla_state
from db.vocab import CAR_STATUS_LABELS, CAR_TIMESTAMP_LABELS


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


@dataclass
class CarDetail:
    car: Car
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


def _describe_part(event: Event, changes: dict[str, Any]) -> str:
    name = changes.get("part_name") or f"#{event.entity_id}"
    if event.action in ("order", "create") and not isinstance(changes.get("status"), list):
        quantity = changes.get("quantity") or 1
        if quantity != 1:
            name = f"{name} {TIMES}{quantity}"
        ordered_by = changes.get("ordered_by")
        by = ORDERED_BY_LABELS.get(ordered_by, ordered_by) if ordered_by else None
        if by:
            return _("Parts ordered: {part} ({by})").format(part=name, by=by)
        return _("Parts ordered: {part}").format(part=name)
    status = changes.get("status")
    if isinstance(status, list) and len(status) == 2:
        old, new = (PART_STATUS_LABELS.get(v, _fmt(v)) for v in status)
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


def describe(event: Event) -> str:
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
        names = [MILESTONE_LABELS.get(k, k.replace("_", " ")) for k in changes]
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


def car_detail(
    session: Session, actor: Actor, car_id: int, *, history_limit: int = 500
) -> CarDetail:
    """A car with names, bookings, its event history (newest first) and the moves open to the actor."""
    car = workflow.load_car(session, actor, car_id)

    def dealership(did: int | None) -> str | None:
        d = session.get(Dealership, did) if did else None
        return f"{d.dealership_number} {d.dealership_name}" if d else None

    def person(uid: uuid.UUID | None) -> str | None:
        u = session.get(User, uid) if uid else None
        return u.display_name if u else None

    detail = CarDetail(
        car=car,
        dealership=dealership(car.dealership_id) or "—",
        prep_center=dealership(car.prep_center_id),
        seller=person(car.seller_id),
        mechanic=person(car.assigned_mechanic_id),
        detailer=person(car.assigned_detailer_id),
    )
    for move in workflow.moves_from(car.status):
        why = workflow.refusal(session, actor, car, move.target)
        if why is None:
            detail.next_statuses.append(move.target)
        else:
            detail.blocked.append((move.target, str(why)))
    events_rows = list(
        session.exec(
            select(Event)
            .where(Event.car_id == car_id)
            .order_by(Event.id.desc())  # type: ignore[union-attr]
            .limit(history_limit)
        )
    )
    bookings = session.exec(
        select(ResourceBooking, ResourceType.name, Dealership.dealership_name)
        .join(ResourceType, ResourceType.id == ResourceBooking.resource_type_id)
        .join(Dealership, Dealership.id == ResourceBooking.provider_dealership_id)
        .where(ResourceBooking.car_id == car_id)
        .order_by(
            ResourceBooking.date,
            ResourceBooking.start_time.is_(None),  # type: ignore[union-attr]
            ResourceBooking.start_time,
            ResourceBooking.id,
        )
    ).all()
    # the names of the people this car's history and bookings mention (not every user's)
    people = {e.user_id for e in events_rows if e.user_id} | {
        b.user_id for b, _type, _provider in bookings if b.user_id
    }
    names: dict[Any, str] = {}
    if people:
        names = dict(
            session.exec(
                select(User.id, User.display_name).where(User.id.in_(people))  # type: ignore[union-attr]
            ).all()
        )
    detail.events = [
        EventLine(
            e.occurred_at,
            # a person; another client's database role (db/triggers.py); else prepfloor itself
            names.get(e.user_id, "prepfloor") if e.user_id else (e.writer or "prepfloor"),
            describe(e),
        )
        for e in events_rows
    ]
    detail.bookings = [
        BookingLine(
            id=b.id,  # type: ignore[arg-type]
            date=b.date,
            start_time=b.start_time,
            resource_type=rt_name,
            estimated_hours=b.estimated_hours,
            actual_hours=b.actual_hours,
            person=names.get(b.user_id) if b.user_id else None,
            provider=provider,
            status=b.status,
        )
        for b, rt_name, provider in bookings
    ]
    detail.parts = parts_of(session, car_id)
    detail.documents = documents_of(session, car_id)
    detail.contacts = contacts_of(session, car_id)
    detail.milestones = milestone_options(car)
    detail.sla = sla_state(
        car.status, car.expected_delivery_date, car.delivered_to_customer_at, local_today()
    )
    return detail
