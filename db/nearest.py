"""The nearest day with room: where a booking that does not fit could go instead.

:func:`nearest_day` looks up to :data:`SEARCH_DAYS_AHEAD` days either side of the day asked for
(today or later, never after :data:`db.validate.LATEST_DAY`) for a day where the booking fits what
:func:`db.holding._hold` checks: the team row, the person's row and their day (every kind of work
together), and the sharing cap.  It only reads; a refusal of :mod:`db.holding` uses it to propose
a day.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from db import validate
from db.clock import iso_week_bounds, local_today
from db.grid import PERSON_DAY_HOURS
from db.ledger_rows import BOOKINGS, CAPACITY, TYPES, _required_day, agreement_for
from db.models import ResourceBooking, ResourceCapacity
from db.vocab import BOOKING_HOLDING_STATUSES

SEARCH_DAYS_AHEAD = 42


def _weekly_usage(
    session: Session,
    provider_id: int,
    consumer_id: int,
    resource_type_id: int,
    first: date,
    last: date,
    exclude_booking_id: int | None,
) -> dict[date, float]:
    """Hours held per ISO week (keyed by its Monday) between the weeks of ``first`` and ``last``."""
    stmt = (
        select(ResourceBooking.date, func.sum(ResourceBooking.estimated_hours))
        .where(
            ResourceBooking.provider_dealership_id == provider_id,
            ResourceBooking.consumer_dealership_id == consumer_id,
            ResourceBooking.resource_type_id == resource_type_id,
            ResourceBooking.status.in_(BOOKING_HOLDING_STATUSES),  # type: ignore[attr-defined]
            ResourceBooking.date >= iso_week_bounds(first)[0],
            ResourceBooking.date <= iso_week_bounds(last)[1],
        )
        .group_by(ResourceBooking.date)
    )
    if exclude_booking_id is not None:
        stmt = stmt.where(ResourceBooking.id != exclude_booking_id)
    weeks: dict[date, float] = {}
    for day, total in session.exec(stmt):
        monday = iso_week_bounds(day)[0]
        weeks[monday] = weeks.get(monday, 0.0) + float(total or 0.0)
    return weeks


def shift_day(day: date, days: int) -> date:
    """``day`` moved by ``days``, kept within the days prepfloor plans
    (:data:`db.validate.EARLIEST_DAY` .. :data:`db.validate.LATEST_DAY`): never an overflow."""
    try:
        moved = day + timedelta(days=days)
    except OverflowError:
        moved = date.max if days > 0 else date.min
    return min(max(moved, validate.EARLIEST_DAY), validate.LATEST_DAY)


def _all_types() -> Any:
    """Every resource type id, as a subquery: with it a person's rows of one day (every kind of
    work) are found through the unique index on (dealership, type, day, person)."""
    return select(TYPES.c.id).scalar_subquery()


def _day_totals(
    session: Session,
    dealership_id: int,
    user_ids: Sequence[uuid.UUID],
    first: date,
    last: date,
    exclude_booking_id: int | None = None,
) -> dict[tuple[uuid.UUID, date], float]:
    """Hours booked per (person, day) at a dealership, every kind of work together (the used
    hours of their own rows), less the hours of ``exclude_booking_id`` (a booking to be moved)."""
    stmt = (
        select(CAPACITY.c.user_id, CAPACITY.c.date, func.sum(CAPACITY.c.used_hours))
        .where(
            CAPACITY.c.dealership_id == dealership_id,
            CAPACITY.c.resource_type_id.in_(_all_types()),
            CAPACITY.c.date >= first,
            CAPACITY.c.date <= last,
            CAPACITY.c.user_id.in_(list(user_ids)),
        )
        .group_by(CAPACITY.c.user_id, CAPACITY.c.date)
    )
    totals = {(uid, day): float(hours or 0.0) for uid, day, hours in session.execute(stmt)}
    if exclude_booking_id is not None:
        moving = session.execute(
            select(BOOKINGS.c.user_id, BOOKINGS.c.date, BOOKINGS.c.estimated_hours).where(
                BOOKINGS.c.id == exclude_booking_id,
                BOOKINGS.c.status.in_(BOOKING_HOLDING_STATUSES),
            )
        ).first()
        if moving is not None and (moving.user_id, moving.date) in totals:
            totals[(moving.user_id, moving.date)] -= moving.estimated_hours
    return totals


def nearest_day(
    session: Session,
    *,
    provider_id: int,
    consumer_id: int,
    resource_type_id: int,
    hours: float,
    around: date,
    user_id: uuid.UUID | None = None,
    exclude_booking_id: int | None = None,
    anyone_of: Sequence[uuid.UUID] | None = None,
) -> date | None:
    """The day closest to ``around`` (today or later, not ``around`` itself) where the booking fits
    the team row, the person's row and their day (every kind of work together, at most
    :data:`PERSON_DAY_HOURS`; ``anyone_of``: at least one of these people) and the sharing cap.
    A later day wins a tie.  Days after :data:`db.validate.LATEST_DAY` are never proposed."""
    around = _required_day(around, "date")
    today = local_today()
    start = max(today, shift_day(around, -SEARCH_DAYS_AHEAD))
    end = shift_day(max(around, today), SEARCH_DAYS_AHEAD)
    if start > end:
        return None

    def free_rows(uids: Sequence[uuid.UUID] | None) -> list[Any]:
        stmt = select(ResourceCapacity.date, ResourceCapacity.user_id).where(  # type: ignore[call-overload]
            ResourceCapacity.dealership_id == provider_id,
            ResourceCapacity.resource_type_id == resource_type_id,
            ResourceCapacity.date >= start,
            ResourceCapacity.date <= end,
            ResourceCapacity.allocated_hours - ResourceCapacity.used_hours >= hours,
            ResourceCapacity.user_id.in_(uids) if uids else ResourceCapacity.user_id.is_(None),  # type: ignore[union-attr]
        )
        return list(session.execute(stmt))

    def person_days(uids: Sequence[uuid.UUID]) -> set[date]:
        """Days where one of ``uids`` has room on their row and in their day."""
        found = free_rows(uids)
        if not found:
            return set()
        totals = _day_totals(
            session,
            provider_id,
            sorted({uid for _, uid in found}, key=str),
            min(d for d, _ in found),
            max(d for d, _ in found),
            exclude_booking_id,
        )
        return {
            d for d, uid in found if totals.get((uid, d), 0.0) + hours <= PERSON_DAY_HOURS + 1e-9
        }

    days = {d for d, _ in free_rows(None)}
    if user_id is not None and days:
        days &= person_days([user_id])
    if anyone_of is not None and days:
        days &= person_days(list(anyone_of)) if anyone_of else set()
    days.discard(around)
    if provider_id != consumer_id and days:
        agreement = agreement_for(session, provider_id, consumer_id, resource_type_id)
        if agreement is None or not agreement.enabled:
            return None
        weeks = _weekly_usage(
            session,
            provider_id,
            consumer_id,
            resource_type_id,
            min(days),
            max(days),
            exclude_booking_id,
        )
        days = {
            d
            for d in days
            if weeks.get(iso_week_bounds(d)[0], 0.0) + hours <= agreement.max_hours_per_week
        }
    if not days:
        return None
    return min(days, key=lambda d: (abs((d - around).days), -d.toordinal()))
