"""ORM reads for the screens that show one record in depth (a car and its history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, select

from db import workflow
from db.access import Actor
from db.models import Car, Dealership, Event, ResourceBooking, ResourceType, User
from db.vocab import CAR_STATUS_LABELS


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


def describe(event: Event) -> str:
    """One line of history in words: 'moved: Registered → In transit'."""
    verb = ACTION_WORDS.get(event.action, event.action.replace("_", " "))
    subject = {"resource_bookings": "booking", "timebank_entries": "clock", "cars": "car"}.get(
        event.entity, event.entity.replace("_", " ")
    )
    changes = event.changes or {}
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
    names = dict(session.exec(select(User.id, User.display_name)).all())
    rows = session.exec(
        select(Event).where(Event.car_id == car_id).order_by(Event.id.desc()).limit(history_limit)  # type: ignore[union-attr]
    )
    detail.events = [
        EventLine(
            e.occurred_at,
            names.get(e.user_id, "prepfloor") if e.user_id else "prepfloor",
            describe(e),
        )
        for e in rows
    ]
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
    return detail
