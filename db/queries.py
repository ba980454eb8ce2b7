"""ORM reads for the screens that show one record in depth (a car and its history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, select

from db import workflow
from db.access import Actor
from db.clock import local_today
from db.contacts import ContactLine, contacts_of
from db.delivery import MILESTONE_LABELS, milestone_options
from db.documents import DocumentLine, documents_of, human_size
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
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value) or "—"
    text = str(value)
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":  # an ISO timestamp from the JSON
        return text[:16].replace("T", " ") + " UTC"
    return text


ACTION_WORDS = {
    "create": "created",
    "draft": "saved as draft",
    "update": "changed",
    "status": "moved",
    "book": "booked",
    "move": "moved booking",
    "cancelled": "cancelled booking",
    "no_show": "marked no-show",
    "confirm": "confirmed booking",
    "start": "started",
    "stop": "stopped",
    "complete": "completed",
    "correct": "corrected time",
}


CONTACT_WORDS = {"call": "Called", "sms": "Texted", "email": "Emailed"}


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _describe_part(event: Event, changes: dict[str, Any]) -> str:
    name = changes.get("part_name") or f"#{event.entity_id}"
    if event.action in ("order", "create") and not isinstance(changes.get("status"), list):
        quantity = changes.get("quantity") or 1
        times = f" {TIMES}{quantity}" if quantity != 1 else ""
        by = ORDERED_BY_LABELS.get(changes.get("ordered_by", ""), changes.get("ordered_by"))
        return f"Parts ordered: {name}{times}" + (f" ({by})" if by else "")
    status = changes.get("status")
    if isinstance(status, list) and len(status) == 2:
        old, new = (PART_STATUS_LABELS.get(v, _fmt(v)) for v in status)
        line = f"Part {name}: {old} → {new}"
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
    return f"Part {name} {ACTION_WORDS.get(event.action, event.action)}"


def describe(event: Event) -> str:
    """One line of history in words: 'moved: Registered → In transit'."""
    verb = ACTION_WORDS.get(event.action, event.action.replace("_", " "))
    subject = {"resource_bookings": "booking", "timebank_entries": "clock", "cars": "car"}.get(
        event.entity, event.entity.replace("_", " ")
    )
    changes = event.changes or {}
    if event.entity == "parts_orders":
        return _describe_part(event, changes)
    if event.entity == "customer_communications":
        words = CONTACT_WORDS.get(changes.get("type", ""), "Contacted")
        return f"{words} the customer: {_short(changes.get('message', ''))}"
    if event.entity == "car_documents" and "filename" in changes:
        size = changes.get("filesize")
        return f"Attached {changes['filename']}" + (
            f" ({human_size(int(size))})" if size is not None else ""
        )
    if event.entity == "cars" and event.action == "milestone":
        names = [MILESTONE_LABELS.get(k, k.replace("_", " ")) for k in changes]
        return "Recorded: " + ", ".join(names)
    if event.entity == "cars" and event.action == "status" and "status" in changes:
        old, new = changes["status"]
        note = f" — {changes['note']}" if changes.get("note") else ""
        return f"Status {_fmt(old)} → {_fmt(new)}{note}"
    if event.entity == "cars":
        parts = []
        for key, value in changes.items():
            if key.endswith("_id"):  # names are shown elsewhere on the car; ids are noise here
                continue
            if isinstance(value, list) and len(value) == 2:
                parts.append(f"{key.replace('_', ' ')}: {_fmt(value[0])} → {_fmt(value[1])}")
            else:
                parts.append(f"{key.replace('_', ' ')}: {_fmt(value)}")
        return f"Car {verb}" + (": " + "; ".join(parts) if parts else "")
    if event.entity == "resource_bookings" and event.action == "book":
        when = changes.get("date", "")
        what = changes.get("resource_type", "")
        return f"Booked {what} on {when} ({_fmt(changes.get('estimated_hours'))} h)"
    detail = ""
    if "reason" in changes:
        detail = f": {changes['reason']}"
    elif "hours" in changes and isinstance(changes["hours"], list):
        detail = f": {_fmt(changes['hours'][1])} h"
    return f"{subject.capitalize()} #{event.entity_id} {verb}{detail}"


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
        b.user_id for b, _, _ in bookings if b.user_id
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
            names.get(e.user_id, "prepfloor") if e.user_id else "prepfloor",
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
