"""Scheduling rules on top of the capacity ledger: decline a request, set a weekly capacity pattern,
and cut a day's capacity by moving bookings away first.

Every function here is a write rule ``fn(session, actor, ...)`` for :meth:`db.engine.Database.run`
(one transaction).  Hours move only through the ledger (:func:`db.capacity.set_capacity`,
:func:`db.ledger.move`, :func:`db.ledger.close_booking`), so ``used_hours`` stays the sum of the
bookings that hold it; a refusal anywhere rolls the whole transaction back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from db import capacity, formats, holding, ledger, ledger_rows, nearest, notify, said, validate
from db.access import Actor
from db.clock import local_today
from db.errors import CapacityCut, DoesNotFit, Invalid, NotAllowed, NotFound, Stale
from db.grid import PERSON_DAY_HOURS, car_label
from db.i18n import N_, _
from db.models import (
    Car,
    Dealership,
    ResourceBooking,
    ResourceCapacity,
    ResourceSharing,
    ResourceType,
    User,
)
from db.vocab import BOOKING_HOLDING_STATUSES

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_PATTERN_WEEKS = 52


def _hours(value: float) -> str:
    return formats.hours(value)


def _as_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(_("That person is not a user."), "user_id") from None


def _capacity_maximum(user_id: uuid.UUID | None) -> float:
    """What :func:`db.capacity.set_capacity` accepts on one row: a day of one person (every kind of
    work together is held to the same day by the ledger), or of a team."""
    return PERSON_DAY_HOURS if user_id is not None else PERSON_DAY_HOURS * 100


def _day(value: date | str | None, field: str) -> date:
    """A day checked by :func:`db.validate.parse_date` (2000-2099); empty is refused."""
    day = validate.parse_date(value, field)
    if day is None:
        raise Invalid(
            _("Pick the day (e.g. {example}).").format(example=formats.date_example()), field
        )
    return day


# ------------------------------------------------------------------------------------------------
# decline
# ------------------------------------------------------------------------------------------------
def decline(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    reason: str,
    expected_status: str | None = "scheduled",
) -> ResourceBooking:
    """The provider declines a booking request: the hours are given back, the booking reads
    cancelled with "Declined: <reason>", and the consumer's coordinators hear of it."""
    actor.require("booking.change")
    booking = ledger.load_booking(session, actor, booking_id, lock=True)
    if not actor.sees_dealership(booking.provider_dealership_id):
        raise NotAllowed(_("Only the dealership that does the work can decline it."))
    ledger._expect(booking, expected_status)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why you decline it (the other dealership reads it)."), "reason")
    if booking.status != "scheduled":
        raise Invalid(
            _(
                "Only a scheduled booking can be declined; this one is {status}. "
                "Cancel or move it instead."
            ).format(status=ledger_rows.status_word(booking.status))
        )
    rt = session.get(ResourceType, booking.resource_type_id)
    ledger.close_booking(
        session,
        actor,
        booking,
        status="cancelled",
        label="Declined",  # stored in the booking's notes: not translated
        reason=reason,
        action="decline",
    )
    notify.booking_declined(
        session, actor, booking, rt.name if rt else said.label(N_("Work")), reason
    )
    return booking


# ------------------------------------------------------------------------------------------------
# a weekly capacity pattern
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatternResult:
    days_set: list[date]
    skipped: list[tuple[date, float]]  # days left as they were: (day, hours already booked)


def apply_pattern(
    session: Session,
    actor: Actor,
    *,
    dealership_id: int,
    resource_type_id: int,
    user_id: uuid.UUID | str | None = None,
    weekdays: dict[int, float | str],
    first: date,
    weeks: int,
) -> PatternResult:
    """Set the hours of every chosen weekday (0 Monday .. 6 Sunday) from ``first`` (today at the
    earliest) for ``weeks`` weeks; the other weekdays are left as they are.  A day that already has
    more hours booked than the pattern gives is left unchanged and reported in ``skipped``."""
    actor.require("capacity.set")
    if not actor.sees_dealership(dealership_id):
        raise NotAllowed(_("You can only set capacity for your own dealership."))
    uid = _as_uuid(user_id)
    first = _day(first, "first")
    if not weekdays:
        raise Invalid(_("Pick at least one weekday."), "weekdays")
    try:
        weeks = int(weeks)
    except (TypeError, ValueError):
        raise Invalid(
            _("Weeks must be a whole number, 1 to {most}.").format(most=MAX_PATTERN_WEEKS),
            "weeks",
        ) from None
    if not 1 <= weeks <= MAX_PATTERN_WEEKS:
        raise Invalid(_("Weeks must be 1 to {most}.").format(most=MAX_PATTERN_WEEKS), "weeks")
    hours_of: dict[int, float] = {}
    for key, value in weekdays.items():
        if not isinstance(key, int) or not 0 <= key <= 6:
            raise Invalid(_("Weekdays go from 0 (Monday) to 6 (Sunday)."), "weekdays")
        hours_of[key] = validate.hours(
            value, WEEKDAY_KEYS[key], allow_zero=True, maximum=_capacity_maximum(uid)
        )
    start = max(first, local_today())
    pattern: dict[str, Any] = {
        "weekdays": {WEEKDAY_KEYS[k]: hours_of[k] for k in sorted(hours_of)},
        "from": start.isoformat(),
        "weeks": weeks,
    }
    last = nearest.shift_day(start, 7 * weeks - 1)
    if uid is not None:  # the person's days first, as every booking takes them (no deadlock)
        holding.lock_person_days(
            session,
            [
                (uid, start + timedelta(days=n))
                for n in range((last - start).days + 1)
                if (start + timedelta(days=n)).weekday() in hours_of
            ],
        )
    booked = _booked_by_day(session, dealership_id, resource_type_id, uid, start, last)
    days_set: list[date] = []
    skipped: list[tuple[date, float]] = []
    for offset in range((last - start).days + 1):
        day = start + timedelta(days=offset)
        hours = hours_of.get(day.weekday())
        if hours is None:
            continue
        if hours < booked.get(day, 0.0):
            skipped.append((day, booked[day]))
            continue
        capacity.set_capacity(
            session,
            actor,
            dealership_id=dealership_id,
            resource_type_id=resource_type_id,
            date=day,
            allocated_hours=hours,
            user_id=uid,
            recurrence_pattern=pattern,
        )
        days_set.append(day)
    return PatternResult(days_set, skipped)


def _booked_by_day(
    session: Session,
    dealership_id: int,
    resource_type_id: int,
    user_id: uuid.UUID | None,
    first: date,
    last: date,
) -> dict[date, float]:
    """The used hours of the capacity rows from ``first`` to ``last``, locked (one statement)."""
    C = ResourceCapacity
    stmt = select(C.date, C.used_hours).where(
        C.dealership_id == dealership_id,
        C.resource_type_id == resource_type_id,
        C.date >= first,
        C.date <= last,
        C.user_id == user_id if user_id is not None else C.user_id.is_(None),  # type: ignore[union-attr]
    )
    return {day: used for day, used in session.connection().execute(stmt.with_for_update())}


# ------------------------------------------------------------------------------------------------
# cutting a day's capacity
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CutLine:
    """A booking on a capacity row that is to be cut, and whether it is proposed to move."""

    id: int
    car_label: str
    consumer: str
    priority: int | None  # the consumer's agreement priority; None for the provider's own work
    hours: float
    proposed: bool
    status: str = "scheduled"
    person: str | None = None
    start_time: time | None = None
    movable: bool = True


_OWN = 1000  # the provider's own bookings yield last
_NO_AGREEMENT = -1  # a consumer whose agreement is gone yields first


def _row_bookings(
    session: Session,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    user_id: uuid.UUID | None,
) -> list[Any]:
    """The bookings that hold a capacity row, with what a cut needs to show and order them."""
    B, C, D, S, U = ResourceBooking, Car, Dealership, ResourceSharing, User
    stmt = (
        select(
            B.id,
            B.status,
            B.estimated_hours,
            B.start_time,
            B.created_at,
            B.car_id,
            B.provider_dealership_id,
            B.consumer_dealership_id,
            C.brand,
            C.model,
            C.license_plate,
            C.vin,
            C.order_number,
            D.dealership_number,
            D.dealership_name,
            S.priority,
            U.display_name,
        )
        .join(D, D.id == B.consumer_dealership_id)
        .outerjoin(C, C.id == B.car_id)
        .outerjoin(U, U.id == B.user_id)
        .outerjoin(
            S,
            (S.provider_dealership_id == B.provider_dealership_id)
            & (S.consumer_dealership_id == B.consumer_dealership_id)
            & (S.resource_type_id == B.resource_type_id),
        )
        .where(
            B.provider_dealership_id == dealership_id,
            B.resource_type_id == resource_type_id,
            B.date == day,
            B.status.in_(BOOKING_HOLDING_STATUSES),  # type: ignore[attr-defined]
        )
    )
    if user_id is not None:
        stmt = stmt.where(B.user_id == user_id)
    return list(session.connection().execute(stmt))


def _cut_order(rows: list[Any]) -> list[Any]:
    """Movable bookings first, the lowest-priority consumer first (the provider's own last), the
    newest first; bookings already started or done last."""

    def key(r: Any) -> tuple[Any, ...]:
        own = r.provider_dealership_id == r.consumer_dealership_id
        priority = _OWN if own else (r.priority if r.priority is not None else _NO_AGREEMENT)
        created = r.created_at.timestamp() if r.created_at is not None else 0.0
        return (r.status not in ledger.OPEN_STATUSES, priority, -created, -r.id)

    return sorted(rows, key=key)


def _check_cut(
    session: Session,
    actor: Actor,
    dealership_id: int,
    resource_type_id: int,
    allocated_hours: float | str,
    user_id: uuid.UUID | None,
) -> float:
    actor.require("capacity.set")
    if not actor.sees_dealership(dealership_id):
        raise NotAllowed(_("You can only set capacity for your own dealership."))
    if session.get(ResourceType, resource_type_id) is None:
        raise NotFound(_("That resource type does not exist."))
    return validate.hours(
        allocated_hours, "allocated_hours", allow_zero=True, maximum=_capacity_maximum(user_id)
    )


def _booked(
    session: Session,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    uid: uuid.UUID | None,
    *,
    lock: bool,
) -> float:
    row = ledger_rows.capacity_row(session, dealership_id, resource_type_id, day, uid, lock=lock)
    return row.used_hours if row is not None else 0.0


def cut_proposal(
    session: Session,
    actor: Actor,
    *,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    user_id: uuid.UUID | str | None = None,
    allocated_hours: float | str,
) -> list[CutLine]:
    """The bookings of one capacity row (the team row: all of that work that day; a person's row:
    theirs) in the order they should yield, with ``proposed`` on the fewest at the front that bring
    the booked hours down to ``allocated_hours``.  Started or completed work is listed last and
    never proposed."""
    uid = _as_uuid(user_id)
    day = _day(day, "day")
    hours = _check_cut(session, actor, dealership_id, resource_type_id, allocated_hours, uid)
    rows = _cut_order(_row_bookings(session, dealership_id, resource_type_id, day, uid))
    used = _booked(session, dealership_id, resource_type_id, day, uid, lock=False)
    lines: list[CutLine] = []
    for r in rows:
        movable = r.status in ledger.OPEN_STATUSES
        proposed = movable and used > hours
        if proposed:
            used -= r.estimated_hours
        own = r.provider_dealership_id == r.consumer_dealership_id
        lines.append(
            CutLine(
                id=r.id,
                car_label=car_label(
                    r.brand, r.model, r.license_plate, r.vin, r.order_number, r.car_id
                ),
                consumer=f"{r.dealership_number} {r.dealership_name}",
                priority=None if own else r.priority,
                hours=r.estimated_hours,
                proposed=proposed,
                status=r.status,
                person=r.display_name,
                start_time=r.start_time,
                movable=movable,
            )
        )
    return lines


def cut_capacity(
    session: Session,
    actor: Actor,
    *,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    user_id: uuid.UUID | str | None = None,
    allocated_hours: float | str,
    move: list[int],
) -> list[tuple[int, date]]:
    """Cut one capacity row to ``allocated_hours``: first move each booking of ``move`` to the
    nearest day with room (same person, same time unless the person is busy then), then set the
    hours.  All or nothing: when a booking cannot be moved anywhere, or the row would still be
    overbooked, nothing changes.  Returns (booking id, new day) per moved booking."""
    actor.require("booking.change")
    uid = _as_uuid(user_id)
    day = _day(day, "day")
    hours = _check_cut(session, actor, dealership_id, resource_type_id, allocated_hours, uid)
    rt = session.get(ResourceType, resource_type_id)
    assert rt is not None
    moved: list[tuple[int, date]] = []
    for booking_id in dict.fromkeys(move):  # each once, in the order given
        booking = ledger.load_booking(session, actor, booking_id, lock=True)
        label = _label(session, booking)
        on_row = (
            booking.provider_dealership_id == dealership_id
            and booking.resource_type_id == resource_type_id
            and booking.date == day
            and (uid is None or booking.user_id == uid)
            and booking.status in BOOKING_HOLDING_STATUSES
        )
        if not on_row:
            raise Stale(
                _(
                    "{booking} is no longer booked on {day} (someone changed it meanwhile). "
                    "Look at the day again."
                ).format(booking=label, day=formats.day(day))
            )
        if booking.status not in ledger.OPEN_STATUSES:
            raise Invalid(
                _(
                    "{booking} is {status} and cannot be moved; choose other bookings to move."
                ).format(booking=label, status=ledger_rows.status_word(booking.status))
            )
        target = nearest.nearest_day(
            session,
            provider_id=booking.provider_dealership_id,
            consumer_id=booking.consumer_dealership_id,
            resource_type_id=booking.resource_type_id,
            hours=booking.estimated_hours,
            around=day,
            user_id=booking.user_id,
            exclude_booking_id=booking.id,
        )
        if target is None:
            if booking.user_id:
                reason = _(
                    "Nothing was changed: {booking} ({hours} with {person}) cannot be moved to "
                    "another day."
                ).format(
                    booking=label,
                    hours=_hours(booking.estimated_hours),
                    person=_person(session, booking.user_id),
                )
            else:
                reason = _(
                    "Nothing was changed: {booking} ({hours}) cannot be moved to another day."
                ).format(booking=label, hours=_hours(booking.estimated_hours))
            refusal = DoesNotFit(reason)
            refusal.message = _(
                "{reason} No other day in the next weeks has room for it: choose other "
                "bookings to move, or cut less."
            ).format(reason=refusal.reason)
            refusal.args = (refusal.message,)
            raise refusal
        start = booking.start_time
        if start is not None and booking.user_id is not None and _busy(session, booking, target):
            start = None  # the person is busy then on the new day: the time is to be set again
        ledger.move(session, actor, booking.id, date=target, start_time=start, tell=False)
        notify.booking_moved(  # each reader reads the reason in their own language
            session, actor, booking, rt.name, day, said.label(N_("capacity cut"))
        )
        moved.append((booking.id, target))
    booked = _booked(session, dealership_id, resource_type_id, day, uid, lock=True)
    if booked > hours:
        raise CapacityCut(
            _("Still {booked} booked over {hours}: choose more bookings to move.").format(
                booked=_hours(booked), hours=_hours(hours)
            ),
            booked,
        )
    capacity.set_capacity(
        session,
        actor,
        dealership_id=dealership_id,
        resource_type_id=resource_type_id,
        date=day,
        allocated_hours=hours,
        user_id=uid,
    )
    return moved


def _label(session: Session, booking: ResourceBooking) -> str:
    car = session.get(Car, booking.car_id) if booking.car_id is not None else None
    if car is None:
        return _("Booking #{booking}").format(booking=booking.id)
    return car_label(
        car.brand, car.model, car.license_plate, car.vin, car.order_number, booking.car_id
    )


def _person(session: Session, user_id: uuid.UUID) -> str:
    person = session.get(User, user_id)
    return person.display_name if person is not None else _("the same person")


def _busy(session: Session, booking: ResourceBooking, day: date) -> bool:
    """Is the booking's person already booked at its start time on ``day``?"""
    claim = holding.Claim(
        booking.provider_dealership_id,
        booking.consumer_dealership_id,
        booking.resource_type_id,
        day,
        booking.estimated_hours,
        booking.user_id,
        booking.start_time,
        booking.id,
    )
    conn = session.connection()
    try:
        holding._check_overlap(conn, claim, holding._Names(conn, claim, ""))
    except Invalid:
        return True
    return False
