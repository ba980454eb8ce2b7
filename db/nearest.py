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

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from db import validate
from db.clock import iso_week_bounds, local_today
from db.grid import PERSON_DAY_HOURS
from db.ledger_rows import AGREEMENT_ROW, BOOKINGS, CAPACITY, TYPES, _required_day, week_usage
from db.vocab import BOOKING_HOLDING_STATUSES

SEARCH_DAYS_AHEAD = 42


# The statements of the search, built once: building them per call cost more than running them,
# and every refusal runs the search (outside the write lock, but on the same CPUs).
_ROOM = (
    CAPACITY.c.dealership_id == bindparam("provider"),
    CAPACITY.c.resource_type_id == bindparam("rt"),
    CAPACITY.c.date >= bindparam("start"),
    CAPACITY.c.date <= bindparam("end"),
    CAPACITY.c.allocated_hours - CAPACITY.c.used_hours >= bindparam("hours"),
)
# The days the team row has room.
_TEAM_ROOM = select(CAPACITY.c.date).where(*_ROOM, CAPACITY.c.user_id.is_(None))
_DAY = CAPACITY.alias("person_day")
# The days one of the people has room on their row of this kind, with the hours booked on their
# day (every kind of work: their rows of that day, found through the unique index per kind).
_PERSON_ROOM = select(
    CAPACITY.c.date,
    CAPACITY.c.user_id,
    select(func.coalesce(func.sum(_DAY.c.used_hours), 0.0))
    .where(
        _DAY.c.dealership_id == CAPACITY.c.dealership_id,
        _DAY.c.resource_type_id.in_(select(TYPES.c.id).scalar_subquery()),
        _DAY.c.date == CAPACITY.c.date,
        _DAY.c.user_id == CAPACITY.c.user_id,
    )
    .scalar_subquery()
    .label("day_used"),
).where(*_ROOM, CAPACITY.c.user_id.in_(bindparam("users", expanding=True)))
# The booking being moved: its hours are not counted against its own day.
_MOVING = select(BOOKINGS.c.user_id, BOOKINGS.c.date, BOOKINGS.c.estimated_hours).where(
    BOOKINGS.c.id == bindparam("id"), BOOKINGS.c.status.in_(BOOKING_HOLDING_STATUSES)
)


def shift_day(day: date, days: int) -> date:
    """``day`` moved by ``days``, kept within the days prepfloor plans
    (:data:`db.validate.EARLIEST_DAY` .. :data:`db.validate.LATEST_DAY`): never an overflow."""
    try:
        moved = day + timedelta(days=days)
    except OverflowError:
        moved = date.max if days > 0 else date.min
    return min(max(moved, validate.EARLIEST_DAY), validate.LATEST_DAY)


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
    conn = session.connection()
    room = {
        "provider": provider_id,
        "rt": resource_type_id,
        "start": start,
        "end": end,
        "hours": hours,
    }
    moving = None
    if exclude_booking_id is not None and (user_id is not None or anyone_of):
        moving = conn.execute(_MOVING, {"id": exclude_booking_id}).first()

    def person_days(uids: Sequence[uuid.UUID]) -> set[date]:
        """Days where one of ``uids`` has room on their row and in their day."""
        found = set()
        for day, uid, day_used in conn.execute(_PERSON_ROOM, {**room, "users": list(uids)}):
            booked = float(day_used or 0.0)
            if moving is not None and (moving.user_id, moving.date) == (uid, day):
                booked -= moving.estimated_hours
            if booked + hours <= PERSON_DAY_HOURS + 1e-9:
                found.add(day)
        return found

    days = set(conn.execute(_TEAM_ROOM, room).scalars())
    if user_id is not None and days:
        days &= person_days([user_id])
    if anyone_of is not None and days:
        days &= person_days(list(anyone_of)) if anyone_of else set()
    days.discard(around)
    if not days:
        return None
    nearest_first = sorted(days, key=lambda d: (abs((d - around).days), -d.toordinal()))
    if provider_id == consumer_id:
        return nearest_first[0]
    params = {"provider": provider_id, "consumer": consumer_id, "rt": resource_type_id}
    agreement = conn.execute(AGREEMENT_ROW, params).first()
    if agreement is None or not agreement.enabled:
        return None
    # the sharing cap: the weeks summed one by one, nearest first, until a day fits (the week
    # of the day asked for is usually full, the next one with room is close by)
    weeks: dict[date, float] = {}
    for day in nearest_first:
        monday = iso_week_bounds(day)[0]
        if monday not in weeks:
            weeks[monday] = week_usage(
                session,
                provider_id,
                consumer_id,
                resource_type_id,
                monday,
                exclude_booking_id=exclude_booking_id,
            )
        if weeks[monday] + hours <= agreement.max_hours_per_week:
            return day
    return None
