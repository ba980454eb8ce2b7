"""Notification triggers: who hears of what, with which priority.  Written in the transaction of
the change that causes them; a user is never notified of their own action."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, select

from db.access import Actor
from db.clock import local, utcnow
from db.models import (
    Car,
    Dealership,
    Notification,
    NotificationPreference,
    ResourceBooking,
    ResourceType,
    TimebankEntry,
    User,
)
from db.vocab import CAR_STATUS_LABELS


def _car_name(car: Car) -> str:
    what = " ".join(x for x in (car.brand, car.model) if x) or "Car"
    ident = car.license_plate or (car.vin[-6:] if car.vin else None) or f"#{car.id}"
    order = f" (order {car.order_number})" if car.order_number else ""
    return f"{what} {ident}{order}"


def send(
    session: Session,
    actor: Actor | None,
    recipients: Iterable[uuid.UUID | None],
    type_: str,
    message: str,
    *,
    car_id: int | None = None,
    priority: str = "medium",
) -> list[Notification]:
    """One notification per recipient (duplicates and the actor left out), as each recipient
    chose for this type: none when muted, and a low-priority one into the daily digest."""
    sent: list[Notification] = []
    seen: set[uuid.UUID] = set()
    people = [
        u for u in dict.fromkeys(recipients) if u is not None and not (actor and u == actor.user_id)
    ]
    modes = preferences_of(session, people, type_)
    for user_id in people:
        if user_id in seen or modes.get(user_id) == "mute":
            continue
        seen.add(user_id)
        note = Notification(
            user_id=user_id,
            car_id=car_id,
            type=type_,
            message=message,
            priority=priority,
            created_at=utcnow(),
            digest=priority == "low" and modes.get(user_id) == "digest",
        )
        session.add(note)
        sent.append(note)
    return sent


def preferences_of(session: Session, user_ids: list[uuid.UUID], type_: str) -> dict[uuid.UUID, str]:
    """What these users chose for this type of notification (those who chose something)."""
    if not user_ids:
        return {}
    rows = session.exec(
        select(NotificationPreference.user_id, NotificationPreference.mode).where(
            NotificationPreference.type == type_,
            NotificationPreference.user_id.in_(user_ids),  # type: ignore[attr-defined]
        )
    ).all()
    return {uid: mode for uid, mode in rows}


def users_with_role(
    session: Session, role: str, dealership_ids: Iterable[int | None]
) -> list[uuid.UUID]:
    ids = [d for d in dealership_ids if d is not None]
    if not ids:
        return []
    rows = session.exec(
        select(User.id).where(User.role == role, User.active, User.dealership_id.in_(ids))  # type: ignore[union-attr,attr-defined]
    )
    return list(rows)


def _ancestors(session: Session, dealership_id: int) -> list[int]:
    chain = [dealership_id]
    seen = {dealership_id}
    current = session.get(Dealership, dealership_id)
    while (
        current is not None
        and current.parent_dealership_id
        and current.parent_dealership_id not in seen
    ):
        seen.add(current.parent_dealership_id)
        chain.append(current.parent_dealership_id)
        current = session.get(Dealership, current.parent_dealership_id)
    return chain


def car_registered(session: Session, actor: Actor, car: Car) -> None:
    """new_order: the coordinators of the car's prep center."""
    coordinators = users_with_role(session, "coordinator", [car.prep_center_id])
    send(
        session,
        actor,
        coordinators,
        "new_order",
        f"New order: {_car_name(car)} registered by {actor.display_name}.",
        car_id=car.id,
    )


def car_moved(session: Session, actor: Actor, car: Car, old: str, new: str) -> None:
    """The status triggers of the seed."""
    name = _car_name(car)
    if new == "ready_for_delivery":
        send(
            session,
            actor,
            [car.seller_id],
            "ready_for_delivery",
            f"{name} is ready for delivery.",
            car_id=car.id,
            priority="high",
        )
    elif new == "delivered":
        managers = users_with_role(session, "manager", _ancestors(session, car.dealership_id))
        send(
            session,
            actor,
            [*managers, car.seller_id],
            "delivered",
            f"{name} was delivered to the customer.",
            car_id=car.id,
        )
    elif new != "registered":
        send(
            session,
            actor,
            [car.seller_id],
            "status_update",
            f"{name}: {CAR_STATUS_LABELS[old]} → {CAR_STATUS_LABELS[new]}.",
            car_id=car.id,
            priority="low",
        )


def parts_changed(session: Session, actor: Actor, car: Car, what: str, parts: str) -> None:
    """parts_changed: the car's assigned mechanic and its seller hear of it ("Parts arrived for
    BMW X5 EK 12345: Brake pads.")."""
    send(
        session,
        actor,
        [car.assigned_mechanic_id, car.seller_id],
        "parts_changed",
        f"{what} for {_car_name(car)}: {parts}.",
        car_id=car.id,
        priority="medium",
    )


# ------------------------------------------------------------------------------------------------
# bookings
# ------------------------------------------------------------------------------------------------
def _dealership_label(session: Session, dealership_id: int) -> str:
    found = session.get(Dealership, dealership_id)
    return f"{found.dealership_number} {found.dealership_name}" if found else f"#{dealership_id}"


def _booking_what(session: Session, work: str, car_id: int | None) -> str:
    """'Technical Preparation for BMW X5 EL 12345 (order ORD-1)' or just the work."""
    car = session.get(Car, car_id) if car_id is not None else None
    return f"{work} for {_car_name(car)}" if car is not None else work


def _coordinators_or_managers(session: Session, dealership_id: int) -> list[uuid.UUID]:
    """Who answers for a dealership's bookings: its coordinators; a sales-only dealership without
    any hears through its managers (its own and those above it)."""
    found = users_with_role(session, "coordinator", [dealership_id])
    return found or users_with_role(session, "manager", _ancestors(session, dealership_id))


def booking_requested(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    provider_id: int,
    consumer_id: int,
    work: str,
    day: date,
    hours: float,
    car_id: int | None,
) -> None:
    """booking_request: another dealership booked work at this prep center; its coordinators
    hear of it (the request waits in their sharing queue)."""
    send(
        session,
        actor,
        users_with_role(session, "coordinator", [provider_id]),
        "booking_request",
        f"Booking request from {_dealership_label(session, consumer_id)}: "
        f"{_booking_what(session, work, car_id)}, {hours:g} h on {day:%a %d %b} "
        f"(booking #{booking_id}).",
        car_id=car_id,
        priority="medium",
    )


def booking_declined(
    session: Session, actor: Actor, booking: ResourceBooking, work: str, reason: str
) -> None:
    """booking_changed: the provider declined a booking; the consumer's coordinators must book
    the work elsewhere or on another day."""
    send(
        session,
        actor,
        _coordinators_or_managers(session, booking.consumer_dealership_id),
        "booking_changed",
        f"{_dealership_label(session, booking.provider_dealership_id)} declined "
        f"{_booking_what(session, work, booking.car_id)} on {booking.date:%a %d %b}: {reason}. "
        "Book it on another day or at another prep center.",
        car_id=booking.car_id,
        priority="high",
    )


def booking_moved(
    session: Session, actor: Actor, booking: ResourceBooking, work: str, old_day: date, why: str
) -> None:
    """booking_changed: a booking was moved to another day by someone else; the assigned person
    hears of it, and the consumer's coordinators when the work is for another dealership."""
    recipients: list[uuid.UUID | None] = [booking.user_id]
    if booking.consumer_dealership_id != booking.provider_dealership_id:
        recipients += _coordinators_or_managers(session, booking.consumer_dealership_id)
    send(
        session,
        actor,
        recipients,
        "booking_changed",
        f"{_booking_what(session, work, booking.car_id)} moved from {old_day:%a %d %b} to "
        f"{booking.date:%a %d %b} ({why}).",
        car_id=booking.car_id,
        priority="medium",
    )


def booking_closed(
    session: Session, actor: Actor, booking: ResourceBooking, label: str, reason: str
) -> None:
    """booking_changed: a booking was cancelled or marked no-show; the assigned person hears."""
    rt = session.get(ResourceType, booking.resource_type_id)
    send(
        session,
        actor,
        [booking.user_id],
        "booking_changed",
        f"{label}: {_booking_what(session, rt.name if rt else 'Work', booking.car_id)} on "
        f"{booking.date:%a %d %b} ({reason}).",
        car_id=booking.car_id,
        priority="medium",
    )


def booking_rescheduled(
    session: Session, actor: Actor, booking: ResourceBooking, before: dict[str, object]
) -> None:
    """booking_changed: a booking moved to another day or person; the people assigned before and
    after hear of it (not of a change of length or time on the same day)."""
    old_day, old_user = before.get("date"), before.get("user_id")
    if old_day == booking.date and old_user == booking.user_id:
        return
    rt = session.get(ResourceType, booking.resource_type_id)
    what = _booking_what(session, rt.name if rt else "Work", booking.car_id)
    people = {old_user, booking.user_id} - {None}
    found = session.exec(select(User.id, User.display_name).where(User.id.in_(people))).all()  # type: ignore[union-attr,arg-type]
    names = {uid: name for uid, name in found}
    who = names.get(booking.user_id, "the team") if booking.user_id else "the team"
    send(
        session,
        actor,
        people,  # type: ignore[arg-type]
        "booking_changed",
        f"{what} is now on {booking.date:%a %d %b} with {who}"
        + (f" (was {old_day:%a %d %b})." if old_day != booking.date else "."),  # type: ignore[str-format]
        car_id=booking.car_id,
        priority="medium",
    )


# ------------------------------------------------------------------------------------------------
# clocks and inspections
# ------------------------------------------------------------------------------------------------
def timer_forgotten(
    session: Session,
    entry: TimebankEntry,
    person: User,
    work: str,
    car: Car | None,
    running_hours: float,
) -> list[Notification]:
    """timer_forgotten: a clock has run past the shift.  The person and their dealership's
    coordinators hear of it (high), whoever noticed it: it is the clock's state, not an action."""
    assert entry.started_at is not None
    what = f"{work} on {_car_name(car)}" if car is not None else work
    coordinators = users_with_role(session, "coordinator", [person.dealership_id])
    return send(
        session,
        None,
        [person.id, *coordinators],
        "timer_forgotten",
        f"{person.display_name}'s clock on {what} has run since "
        f"{local(entry.started_at):%a %d %b %H:%M} ({running_hours:g} h), longer than a shift. "
        f"Stop it or correct the time (time entry #{entry.id}).",
        car_id=car.id if car is not None else None,
        priority="high",
    )


def inspection_finished(
    session: Session,
    actor: Actor,
    car: Car,
    *,
    approved: bool,
    critical: list[str],
    issues: list[str],
) -> None:
    """inspection_done: the seller hears that the inspection passed or failed (medium); when it
    failed, the prep center's coordinators too (high), with the critical findings."""
    name = _car_name(car)
    if approved:
        extra = f" Issues noted: {', '.join(issues)}." if issues else ""
        send(
            session,
            actor,
            [car.seller_id],
            "inspection_done",
            f"Inspection passed: {name}.{extra}",
            car_id=car.id,
            priority="medium",
        )
        return
    findings = []
    if critical:
        findings.append("critical: " + ", ".join(critical))
    if issues:
        findings.append("issues: " + ", ".join(issues))
    found = f" ({'; '.join(findings)})" if findings else ""
    send(
        session,
        actor,
        [car.seller_id],
        "inspection_done",
        f"Inspection failed: {name}{found}. The prep center fixes the findings first.",
        car_id=car.id,
        priority="medium",
    )
    send(
        session,
        actor,
        users_with_role(session, "coordinator", [car.prep_center_id]),
        "inspection_done",
        f"Inspection failed: {name}{found}. Order parts or book the repair.",
        car_id=car.id,
        priority="high",
    )
