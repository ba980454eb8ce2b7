"""Notification triggers: who hears of what, with which priority.  Written in the transaction of
the change that causes them; a user is never notified of their own action."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, exists, false, insert, literal
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from db import said
from db.access import Actor
from db.clock import utcnow
from db.hot import Hot
from db.i18n import N_
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
from db.said import Said, joined, label
from db.users import dealership_label
from db.vocab import CAR_STATUS_LABELS

NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_PREFERENCES = NotificationPreference.__table__  # type: ignore[attr-defined]
_DEALERSHIPS = Dealership.__table__  # type: ignore[attr-defined]
_CARS = Car.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Role:
    """The active users of a role at a dealership, as recipients (found by the database in the
    statement that writes the notifications)."""

    role: str
    dealership_id: int | None


def _chose(mode: str) -> object:
    return exists().where(
        _PREFERENCES.c.user_id == _USERS.c.id,
        _PREFERENCES.c.type == bindparam("type"),
        _PREFERENCES.c.mode == mode,
    )


def _insert_for(who: object) -> object:
    """``INSERT INTO notifications ... SELECT ... FROM users`` for the users ``who`` picks: the
    actor and those who muted the type left out, the digest flag from their choice.  Built once
    per kind of recipient (the lists are expanding parameters), so it is compiled once."""
    chosen = core_select(
        _USERS.c.id,
        bindparam("car", type_=NOTIFICATIONS.c.car_id.type),
        bindparam("type", type_=NOTIFICATIONS.c.type.type),
        bindparam("message", type_=NOTIFICATIONS.c.message.type),
        bindparam("source", type_=NOTIFICATIONS.c.message_source.type),
        bindparam("priority", type_=NOTIFICATIONS.c.priority.type),
        false(),
        bindparam("now", type_=NOTIFICATIONS.c.created_at.type),
        and_(bindparam("low", type_=Boolean), _chose("digest")),
    ).where(
        who,  # type: ignore[arg-type]
        _USERS.c.id != bindparam("actor", type_=_USERS.c.id.type),
        ~_chose("mute"),
    )
    columns = ["user_id", "car_id", "type", "message", "message_source", "priority", "read"]
    return (
        insert(NOTIFICATIONS)
        .from_select([*columns, "created_at", "digest"], chosen)
        .execution_options(preserve_rowcount=True)
    )


_TO_USERS = _insert_for(_USERS.c.id.in_(bindparam("ids", expanding=True)))
_TO_ROLE = Hot(
    _insert_for(  # type: ignore[arg-type]
        and_(
            _USERS.c.role == bindparam("role"),
            _USERS.c.active == literal(True),
            _USERS.c.dealership_id == bindparam("dealership"),
        )
    )
)
_NOBODY = uuid.UUID(int=0)


def _car_name(car: Car) -> Said:
    """``BMW X5 EK 12345 (order ORD-1)``: the car as its notifications name it."""
    what: object = " ".join(x for x in (car.brand, car.model) if x) or label(N_("Car"))
    ident = car.license_plate or (car.vin[-6:] if car.vin else None) or f"#{car.id}"
    if car.order_number:
        return Said(
            "{what} {ident} (order {order})", what=what, ident=ident, order=car.order_number
        )
    return Said("{what} {ident}", what=what, ident=ident)


def send(
    session: Session,
    actor: Actor | None,
    recipients: Iterable[uuid.UUID | None] | Role,
    type_: str,
    message: Said | str,
    *,
    car_id: int | None = None,
    priority: str = "medium",
) -> int:
    """One notification per recipient (the actor left out), as each recipient chose for this
    type: none when muted, and a low-priority one into the daily digest.  ``recipients``: user
    ids, or a :class:`Role` (the active users of a role at some dealerships).  One statement,
    which finds the recipients and their choices too (it is written inside the booking's lock);
    how many were written.

    A :class:`~db.said.Said` message is kept as its words and values, so that each reader sees
    it in their own language; ``message`` holds it in English."""
    params: dict[str, object]
    if isinstance(recipients, Role):
        if recipients.dealership_id is None:
            return 0
        params = {"role": recipients.role, "dealership": recipients.dealership_id}
    else:
        people = [u for u in dict.fromkeys(recipients) if u is not None]
        if actor is not None:
            people = [u for u in people if u != actor.user_id]
        if not people:
            return 0
        params = {"ids": people}
    params.update(
        car=car_id,
        type=type_,
        message=message.render("en") if isinstance(message, Said) else message,
        source=message.to_json() if isinstance(message, Said) else None,
        priority=priority,
        now=utcnow(),
        low=priority == "low",
        actor=actor.user_id if actor is not None else _NOBODY,
    )
    conn = session.connection()
    if isinstance(recipients, Role):
        return _TO_ROLE.rowcount(conn, params)
    return int(conn.execute(_TO_USERS, params).rowcount)  # type: ignore[call-overload]


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
    send(
        session,
        actor,
        Role("coordinator", car.prep_center_id),
        "new_order",
        Said("New order: {car} registered by {who}.", car=_car_name(car), who=actor.display_name),
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
            Said("{car} is ready for delivery.", car=name),
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
            Said("{car} was delivered to the customer.", car=name),
            car_id=car.id,
        )
    elif new != "registered":
        send(
            session,
            actor,
            [car.seller_id],
            "status_update",
            Said(
                "{car}: {old} → {new}.",
                car=name,
                old=label(CAR_STATUS_LABELS.source(old)),
                new=label(CAR_STATUS_LABELS.source(new)),
            ),
            car_id=car.id,
            priority="low",
        )


def parts_changed(session: Session, actor: Actor, car: Car, what: str | Said, parts: str) -> None:
    """parts_changed: the car's assigned mechanic and its seller hear of it ("Parts arrived for
    BMW X5 EK 12345: Brake pads.")."""
    send(
        session,
        actor,
        [car.assigned_mechanic_id, car.seller_id],
        "parts_changed",
        Said("{what} for {car}: {parts}.", what=what, car=_car_name(car), parts=parts),
        car_id=car.id,
        priority="medium",
    )


# ------------------------------------------------------------------------------------------------
# bookings
# ------------------------------------------------------------------------------------------------
# What a car's notifications name it by (:func:`_car_name`); a caller that reads the car anyway
# selects these too and hands the row over.
CAR_NAME_COLUMNS = tuple(
    _CARS.c[name] for name in ("id", "brand", "model", "license_plate", "vin", "order_number")
)
_CAR_NAMED = Hot(core_select(*CAR_NAME_COLUMNS).where(_CARS.c.id == bindparam("id")))


def _dealership_label(session: Session, dealership_id: int) -> str:
    return dealership_label(session.connection(), dealership_id) or f"#{dealership_id}"


def _booking_what(session: Session, work: object, car_id: int | None, car: Any = None) -> Said:
    """'Technical Preparation for BMW X5 EL 12345 (order ORD-1)' or just the work.  ``car``: the
    car's row when the caller has it (brand, model, license_plate, vin, order_number, id)."""
    if car is None and car_id is not None:
        car = _CAR_NAMED.first(session.connection(), {"id": car_id})
    if car is None:
        return Said("{work}", work=work)
    return Said("{work} for {car}", work=work, car=_car_name(car))  # type: ignore[arg-type]


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
    car: Any = None,
    consumer: str | None = None,
) -> None:
    """booking_request: another dealership booked work at this prep center; its coordinators
    hear of it (the request waits in their sharing queue).  ``car``: the car's row, and
    ``consumer``: the booking dealership as messages name it (``499 Porsgrunn``), when the caller
    has them (see :func:`_booking_what`)."""
    send(
        session,
        actor,
        Role("coordinator", provider_id),
        "booking_request",
        Said(
            "Booking request from {dealership}: {what}, {hours} on {day} (booking #{booking}).",
            dealership=consumer or _dealership_label(session, consumer_id),
            what=_booking_what(session, work, car_id, car),
            hours=said.hours(hours),
            day=said.day(day),
            booking=booking_id,
        ),
        car_id=car_id,
        priority="medium",
    )


def booking_declined(
    session: Session, actor: Actor, booking: ResourceBooking, work: object, reason: str
) -> None:
    """booking_changed: the provider declined a booking; the consumer's coordinators must book
    the work elsewhere or on another day."""
    send(
        session,
        actor,
        _coordinators_or_managers(session, booking.consumer_dealership_id),
        "booking_changed",
        Said(
            "{dealership} declined {what} on {day}: {reason}. "
            "Book it on another day or at another prep center.",
            dealership=_dealership_label(session, booking.provider_dealership_id),
            what=_booking_what(session, work, booking.car_id),
            day=said.day(booking.date),
            reason=reason,
        ),
        car_id=booking.car_id,
        priority="high",
    )


def booking_moved(
    session: Session,
    actor: Actor,
    booking: ResourceBooking,
    work: object,
    old_day: date,
    why: object,
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
        Said(
            "{what} moved from {old} to {new} ({why}).",
            what=_booking_what(session, work, booking.car_id),
            old=said.day(old_day),
            new=said.day(booking.date),
            why=why,
        ),
        car_id=booking.car_id,
        priority="medium",
    )


def booking_closed(
    session: Session, actor: Actor, booking: ResourceBooking, closed: str | Said, reason: str
) -> None:
    """booking_changed: a booking was cancelled or marked no-show (``closed``: which, as the
    reader sees it); the assigned person hears."""
    rt = session.get(ResourceType, booking.resource_type_id)
    send(
        session,
        actor,
        [booking.user_id],
        "booking_changed",
        Said(
            "{what_happened}: {what} on {day} ({reason}).",
            what_happened=closed,
            what=_booking_what(session, rt.name if rt else label(N_("Work")), booking.car_id),
            day=said.day(booking.date),
            reason=reason,
        ),
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
    what = _booking_what(session, rt.name if rt else label(N_("Work")), booking.car_id)
    people = {old_user, booking.user_id} - {None}
    found = session.exec(select(User.id, User.display_name).where(User.id.in_(people))).all()  # type: ignore[union-attr,arg-type]
    names = {uid: name for uid, name in found}
    team = label(N_("the team"))
    who = names.get(booking.user_id, team) if booking.user_id else team
    send(
        session,
        actor,
        people,  # type: ignore[arg-type]
        "booking_changed",
        Said(
            "{what} is now on {day} with {who} (was {old}).",
            what=what,
            day=said.day(booking.date),
            who=who,
            old=said.day(old_day),
        )  # type: ignore[arg-type]
        if old_day != booking.date
        else Said(
            "{what} is now on {day} with {who}.", what=what, day=said.day(booking.date), who=who
        ),
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
) -> int:
    """timer_forgotten: a clock has run past the shift.  The person and their dealership's
    coordinators hear of it (high), whoever noticed it: it is the clock's state, not an action."""
    assert entry.started_at is not None
    what = Said("{work} on {car}", work=work, car=_car_name(car)) if car is not None else work
    coordinators = users_with_role(session, "coordinator", [person.dealership_id])
    return send(
        session,
        None,
        [person.id, *coordinators],
        "timer_forgotten",
        Said(
            "{person}'s clock on {what} has run since {since} ({hours}), longer than a shift. "
            "Stop it or correct the time (time entry #{entry}).",
            person=person.display_name,
            what=what,
            since=said.moment(entry.started_at),
            hours=said.hours(running_hours),
            entry=entry.id,
        ),
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
    from db.inspection import DEFAULT_CHECKLIST

    defaults = set(DEFAULT_CHECKLIST)  # the default items read in each reader's language
    critical_items = [label(n) if n in defaults else n for n in critical]
    issue_items = [label(n) if n in defaults else n for n in issues]
    name = _car_name(car)
    if approved:
        send(
            session,
            actor,
            [car.seller_id],
            "inspection_done",
            Said(
                "Inspection passed: {car}. Issues noted: {issues}.", car=name, issues=joined(issues)
            )
            if issues
            else Said("Inspection passed: {car}.", car=name),
            car_id=car.id,
            priority="medium",
        )
        return
    findings: list[Said] = []
    if critical:
        findings.append(Said("critical: {items}", items=joined(critical_items)))
    if issues:
        findings.append(Said("issues: {items}", items=joined(issue_items)))
    found = Said(" ({findings})", findings=joined(findings, "; ")) if findings else ""
    send(
        session,
        actor,
        [car.seller_id],
        "inspection_done",
        Said(
            "Inspection failed: {car}{findings}. The prep center fixes the findings first.",
            car=name,
            findings=found,
        ),
        car_id=car.id,
        priority="medium",
    )
    send(
        session,
        actor,
        users_with_role(session, "coordinator", [car.prep_center_id]),
        "inspection_done",
        Said(
            "Inspection failed: {car}{findings}. Order parts or book the repair.",
            car=name,
            findings=found,
        ),
        car_id=car.id,
        priority="high",
    )
