"""The capacity ledger: book, cancel, mark no-show, move, confirm, set capacity.

The rule: a capacity row's ``used_hours`` is the sum of ``estimated_hours`` of the bookings that hold
it (status scheduled, confirmed, in progress or completed) — the team row (``user_id`` NULL) and the
assigned person's row.  ``available_hours`` is computed by the database.  A booking that does not fit
is refused with the nearest day that has room.

A person's day has one limit across kinds of work (:data:`PERSON_DAY_HOURS`): the hours set on
their own rows of one day (every kind of work together) may not be raised above it, and their
bookings of one day (every kind together) may not go above it either.

Race safety: every write runs in :meth:`db.engine.Database.run`.  On SQLite that transaction is
``BEGIN IMMEDIATE`` (one writer at a time); on PostgreSQL the capacity and agreement rows are locked
with ``SELECT ... FOR UPDATE`` before they are read, always in the same order (agreement, team row,
the person's day, person row), so two coordinators racing for the last hours cannot both win.  The
person's day is a transaction-level advisory lock on (person, day) (:func:`lock_person_days`): it
serializes everything that raises a person's hours or bookings of that day, whatever the kind of
work, including rows that do not exist yet.

Only the provider plans its people: moving a booking to another day, time or person, or changing
its length, is for the coordinators of the dealership that does the work (and admins).  The
consumer may cancel its own request.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import BigInteger, Connection, Row, bindparam, func, insert, literal_column, update
from sqlmodel import Session, select

from db import car_access, events, notify, validate, workflow
from db.access import Actor
from db.admin import does_prep
from db.clock import iso_week_bounds, local_today, utcnow
from db.engine import for_update
from db.errors import CapacityCut, DoesNotFit, Invalid, NotAllowed, NotFound, SharingRefused, Stale
from db.grid import PERSON_DAY_HOURS
from db.models import (
    Car,
    Dealership,
    ResourceBooking,
    ResourceCapacity,
    ResourceSharing,
    ResourceType,
    User,
)
from db.vocab import BOOKING_HOLDING_STATUSES, WORKER_ROLES

SEARCH_DAYS_AHEAD = 42
OPEN_STATUSES = ("scheduled", "confirmed")


def _required_day(value: date | str | None, field: str = "date") -> date:
    """A day checked by :func:`db.validate.parse_date` (2000-2099); empty is refused."""
    day = validate.parse_date(value, field)
    if day is None:
        raise Invalid("Pick the day (e.g. 2026-11-30).", field)
    return day


def _person_id(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid("That person is not a user.", "user_id") from None


# ------------------------------------------------------------------------------------------------
# rows
# ------------------------------------------------------------------------------------------------
def capacity_row(
    session: Session,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    user_id: uuid.UUID | None = None,
    *,
    lock: bool = False,
) -> ResourceCapacity | None:
    stmt = select(ResourceCapacity).where(
        ResourceCapacity.dealership_id == dealership_id,
        ResourceCapacity.resource_type_id == resource_type_id,
        ResourceCapacity.date == day,
        ResourceCapacity.user_id == user_id if user_id else ResourceCapacity.user_id.is_(None),  # type: ignore[union-attr]
    )
    if lock:
        stmt = for_update(stmt)
    return session.exec(stmt).first()


def agreement_for(
    session: Session,
    provider_id: int,
    consumer_id: int,
    resource_type_id: int,
    *,
    lock: bool = False,
) -> ResourceSharing | None:
    stmt = select(ResourceSharing).where(
        ResourceSharing.provider_dealership_id == provider_id,
        ResourceSharing.consumer_dealership_id == consumer_id,
        ResourceSharing.resource_type_id == resource_type_id,
    )
    if lock:
        stmt = for_update(stmt)
    return session.exec(stmt).first()


def week_usage(
    session: Session,
    provider_id: int,
    consumer_id: int,
    resource_type_id: int,
    day: date,
    *,
    exclude_booking_id: int | None = None,
) -> float:
    """Hours the consumer holds at the provider for this type in the ISO week of ``day``."""
    monday, sunday = iso_week_bounds(day)
    stmt = select(func.coalesce(func.sum(ResourceBooking.estimated_hours), 0.0)).where(
        ResourceBooking.provider_dealership_id == provider_id,
        ResourceBooking.consumer_dealership_id == consumer_id,
        ResourceBooking.resource_type_id == resource_type_id,
        ResourceBooking.status.in_(BOOKING_HOLDING_STATUSES),  # type: ignore[attr-defined]
        ResourceBooking.date >= monday,
        ResourceBooking.date <= sunday,
    )
    if exclude_booking_id is not None:
        stmt = stmt.where(ResourceBooking.id != exclude_booking_id)
    return float(session.scalar(stmt) or 0.0)


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


# ------------------------------------------------------------------------------------------------
# nearest day with room
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# holding and releasing capacity (SQL Core: this is the hot path of every booking)
# ------------------------------------------------------------------------------------------------
CAPACITY = ResourceCapacity.__table__  # type: ignore[attr-defined]
BOOKINGS = ResourceBooking.__table__  # type: ignore[attr-defined]
SHARING = ResourceSharing.__table__  # type: ignore[attr-defined]
CARS = Car.__table__  # type: ignore[attr-defined]
DEALERSHIPS = Dealership.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]
TYPES = ResourceType.__table__  # type: ignore[attr-defined]


def _fmt_hours(value: float) -> str:
    return f"{value:g} h"


def _end(start: time, hours: float) -> time:
    moment = datetime.combine(date(2000, 1, 1), start) + timedelta(hours=hours)
    return time(23, 59) if moment.date() > date(2000, 1, 1) else moment.time()


@dataclass(frozen=True)
class Claim:
    """The hours a booking holds: at which provider, for whom, what work, which day, who."""

    provider_id: int
    consumer_id: int
    resource_type_id: int
    day: date
    hours: float
    user_id: uuid.UUID | None = None
    start_time: time | None = None
    booking_id: int | None = None

    @classmethod
    def of(cls, booking: ResourceBooking) -> Claim:
        return cls(
            booking.provider_dealership_id,
            booking.consumer_dealership_id,
            booking.resource_type_id,
            booking.date,
            booking.estimated_hours,
            booking.user_id,
            booking.start_time,
            booking.id,
        )


def _expire(session: Session, model: type, ident: object) -> None:
    """Forget a row the session may hold, after it was changed in SQL behind the ORM's back."""
    found = session.identity_map.get(session.identity_key(model, ident))
    if found is not None:
        session.expire(found)


# The statements of every booking, built once (building them per call costs as much as running them).
_CAPACITY_ROW = (
    select(CAPACITY.c.id, CAPACITY.c.allocated_hours, CAPACITY.c.used_hours)
    .where(
        CAPACITY.c.dealership_id == bindparam("provider"),
        CAPACITY.c.resource_type_id == bindparam("rt"),
        CAPACITY.c.date == bindparam("day"),
    )
    .with_for_update()
)
_TEAM_ROW = _CAPACITY_ROW.where(CAPACITY.c.user_id.is_(None))
_PERSON_ROW = _CAPACITY_ROW.where(CAPACITY.c.user_id == bindparam("user"))
_ADD_USED = (
    update(CAPACITY)
    .where(CAPACITY.c.id == bindparam("row"))
    .values(used_hours=CAPACITY.c.used_hours + bindparam("hours"), updated_at=bindparam("now"))
)


# A person's rows of one day at a dealership, every kind of work (the unique index per type).
_PERSON_DAY_ROWS = select(
    CAPACITY.c.resource_type_id, CAPACITY.c.allocated_hours, CAPACITY.c.used_hours
).where(
    CAPACITY.c.dealership_id == bindparam("provider"),
    CAPACITY.c.resource_type_id.in_(select(TYPES.c.id).scalar_subquery()),
    CAPACITY.c.date == bindparam("day"),
    CAPACITY.c.user_id == bindparam("user"),
)
_DAY = CAPACITY.alias("person_day")
# The person's row of this kind, locked, with the hours booked on their day (every kind): one
# statement on the hot path.  Read after :func:`lock_person_days`, so on PostgreSQL the statement's
# snapshot already holds every booking of that person and day (each writer of them takes the lock
# first and keeps it until it commits).
_PERSON_ROW_AND_DAY = (
    select(
        CAPACITY.c.id,
        CAPACITY.c.allocated_hours,
        CAPACITY.c.used_hours,
        select(func.coalesce(func.sum(_DAY.c.used_hours), 0.0))
        .where(
            _DAY.c.dealership_id == bindparam("provider"),
            _DAY.c.resource_type_id.in_(select(TYPES.c.id).scalar_subquery()),
            _DAY.c.date == bindparam("day"),
            _DAY.c.user_id == bindparam("user"),
        )
        .scalar_subquery()
        .label("day_used"),
    )
    .where(
        CAPACITY.c.dealership_id == bindparam("provider"),
        CAPACITY.c.resource_type_id == bindparam("rt"),
        CAPACITY.c.date == bindparam("day"),
        CAPACITY.c.user_id == bindparam("user"),
    )
    .with_for_update(of=CAPACITY)
)
_PERSON_DAY_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))
_PERSON_DAYS_LOCK = select(func.count()).select_from(
    select(func.pg_advisory_xact_lock(literal_column("k")))
    .select_from(func.unnest(bindparam("keys")).alias("k"))
    .subquery()
)


def person_day_key(user_id: uuid.UUID | str, day: date) -> int:
    """The advisory lock key of one person's day (64 bits of a hash of the person and the day)."""
    uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    digest = hashlib.blake2b(
        uid.bytes + day.isoformat().encode(), digest_size=8, person=b"prepfloor-day"
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_person_days(session: Session, days: Iterable[tuple[uuid.UUID | str, date]]) -> None:
    """Serialize the writes that raise these people's hours or bookings on these days.

    PostgreSQL: transaction-level advisory locks, one per (person, day), taken in key order (one
    global order, so two writers never wait for each other in a circle), held until commit.  An
    advisory lock also covers a capacity row that does not exist yet, which a row lock cannot.
    SQLite: nothing to do (the write transaction holds the database's write lock).
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({person_day_key(uid, day) for uid, day in days})
    if len(keys) == 1:
        conn.execute(_PERSON_DAY_LOCK, {"key": keys[0]})
    elif keys:
        conn.execute(_PERSON_DAYS_LOCK, {"keys": keys})


def person_day(
    session: Session, dealership_id: int, user_id: uuid.UUID, day: date
) -> list[Row[Any]]:
    """A person's capacity rows of one day at a dealership, every kind of work:
    (resource_type_id, allocated_hours, used_hours).  Read after :func:`lock_person_days`."""
    params = {"provider": dealership_id, "day": day, "user": user_id}
    return list(session.connection().execute(_PERSON_DAY_ROWS, params))


def _capacity_lock(conn: Connection, claim: Claim, user_id: uuid.UUID | None) -> Row[Any] | None:
    params = {"provider": claim.provider_id, "rt": claim.resource_type_id, "day": claim.day}
    if user_id is None:
        return conn.execute(_TEAM_ROW, params).first()
    return conn.execute(_PERSON_ROW, {**params, "user": user_id}).first()


def _add_used(session: Session, row_id: int, hours: float) -> None:
    """``used_hours = used_hours + x`` on a locked row."""
    session.connection().execute(_ADD_USED, {"row": row_id, "hours": hours, "now": utcnow()})
    _expire(session, ResourceCapacity, row_id)


class _Names:
    """The names a refusal needs, looked up only when there is a refusal to word."""

    def __init__(self, conn: Connection, claim: Claim, resource_type: str) -> None:
        self.conn, self.claim, self.resource_type = conn, claim, resource_type

    def _dealership(self, dealership_id: int) -> str:
        name = self.conn.execute(
            select(DEALERSHIPS.c.dealership_name).where(DEALERSHIPS.c.id == dealership_id)
        ).scalar()
        return name or str(dealership_id)

    @cached_property
    def provider(self) -> str:
        return self._dealership(self.claim.provider_id)

    @cached_property
    def consumer(self) -> str:
        return self._dealership(self.claim.consumer_id)

    @cached_property
    def person(self) -> str:
        name = self.conn.execute(
            select(USERS.c.display_name).where(USERS.c.id == self.claim.user_id)
        ).scalar()
        return name or "The person"


def _hold(session: Session, claim: Claim, resource_type: str) -> None:
    """Check that ``claim`` fits and add its hours to the rows it holds (raises DoesNotFit)."""
    conn = session.connection()
    hours, day = claim.hours, claim.day
    names = _Names(conn, claim, resource_type)

    def refuse(message: str) -> DoesNotFit:
        def finder(read: Session) -> date | None:
            return nearest_day(
                read,
                provider_id=claim.provider_id,
                consumer_id=claim.consumer_id,
                resource_type_id=claim.resource_type_id,
                hours=hours,
                around=day,
                user_id=claim.user_id,
                exclude_booking_id=claim.booking_id,
            )

        return DoesNotFit(message, finder=finder)

    # 1. the sharing agreement (locked first: it serializes every booking under it)
    if claim.provider_id != claim.consumer_id:
        agreement = conn.execute(
            select(SHARING.c.enabled, SHARING.c.max_hours_per_week)
            .where(
                SHARING.c.provider_dealership_id == claim.provider_id,
                SHARING.c.consumer_dealership_id == claim.consumer_id,
                SHARING.c.resource_type_id == claim.resource_type_id,
            )
            .with_for_update()
        ).first()
        if agreement is None:
            raise SharingRefused(
                f"{names.provider} has no sharing agreement with {names.consumer} for "
                f"{names.resource_type}. An admin can set one up."
            )
        if not agreement.enabled:
            raise SharingRefused(
                f"The sharing agreement between {names.provider} and {names.consumer} for "
                f"{names.resource_type} is switched off."
            )
        used = week_usage(
            session,
            claim.provider_id,
            claim.consumer_id,
            claim.resource_type_id,
            day,
            exclude_booking_id=claim.booking_id,
        )
        if used + hours > agreement.max_hours_per_week:
            week = day.isocalendar().week
            raise refuse(
                f"{names.consumer} may use {_fmt_hours(agreement.max_hours_per_week)} of "
                f"{names.resource_type} a week at {names.provider}; week {week} already has "
                f"{_fmt_hours(used)} booked, so {_fmt_hours(hours)} more does not fit."
            )

    # 2. the team row
    team = _capacity_lock(conn, claim, None)
    if team is None:
        raise refuse(
            f"{names.provider} has no {names.resource_type} capacity set on {day:%a %d %b}."
        )
    available = team.allocated_hours - team.used_hours
    if available < hours:
        raise refuse(
            f"{names.resource_type} at {names.provider} on {day:%a %d %b} has "
            f"{_fmt_hours(max(available, 0))} free; the booking needs {_fmt_hours(hours)}."
        )

    # 3. the person's day (every kind of work) and their row of this kind
    person = None
    if claim.user_id is not None:
        lock_person_days(session, [(claim.user_id, day)])
        person = conn.execute(
            _PERSON_ROW_AND_DAY,
            {
                "provider": claim.provider_id,
                "rt": claim.resource_type_id,
                "day": day,
                "user": claim.user_id,
            },
        ).first()
        if person is None:
            raise refuse(
                f"{names.person} has no {names.resource_type} hours set on {day:%a %d %b}."
            )
        available = person.allocated_hours - person.used_hours
        if available < hours:
            raise refuse(
                f"{names.person} has {_fmt_hours(max(available, 0))} free on {day:%a %d %b}; "
                f"the booking needs {_fmt_hours(hours)}."
            )
        booked = float(person.day_used or 0.0)
        if booked + hours > PERSON_DAY_HOURS + 1e-9:
            raise refuse(
                f"{names.person} is already booked {_fmt_hours(booked)} on {day:%a %d %b} "
                f"(every kind of work together); {_fmt_hours(hours)} more would make "
                f"{_fmt_hours(booked + hours)}, more than one person's day "
                f"({_fmt_hours(PERSON_DAY_HOURS)})."
            )
        if claim.start_time is not None:
            _check_overlap(conn, claim, names)

    _add_used(session, team.id, hours)
    if person is not None:
        _add_used(session, person.id, hours)


def _check_overlap(conn: Connection, claim: Claim, names: _Names) -> None:
    """A person cannot be in two places at once."""
    assert claim.start_time is not None
    stmt = select(BOOKINGS.c.start_time, BOOKINGS.c.estimated_hours).where(
        BOOKINGS.c.user_id == claim.user_id,
        BOOKINGS.c.date == claim.day,
        BOOKINGS.c.status.in_(BOOKING_HOLDING_STATUSES),
        BOOKINGS.c.start_time.is_not(None),
    )
    if claim.booking_id is not None:
        stmt = stmt.where(BOOKINGS.c.id != claim.booking_id)
    start, end = claim.start_time, _end(claim.start_time, claim.hours)
    for other_start, other_hours in conn.execute(stmt):
        other_end = _end(other_start, other_hours)
        if start < other_end and other_start < end:
            raise Invalid(
                f"{names.person} is already booked {other_start:%H:%M}-{other_end:%H:%M} on "
                f"{claim.day:%a %d %b}. Pick another time or person.",
                "start_time",
            )


def _release(session: Session, claim: Claim) -> None:
    """Give back the hours a booking holds (locks in the order of :func:`_hold`: team row, the
    person's day, person row)."""
    conn = session.connection()
    for user_id in (None, claim.user_id) if claim.user_id is not None else (None,):
        if user_id is not None:
            lock_person_days(session, [(user_id, claim.day)])
        row = _capacity_lock(conn, claim, user_id)
        if row is not None:
            _add_used(session, row.id, -claim.hours)


# ------------------------------------------------------------------------------------------------
# bookings
# ------------------------------------------------------------------------------------------------
_TYPE = select(
    TYPES.c.id,
    TYPES.c.name,
    TYPES.c.active,
    TYPES.c.bookable,
    TYPES.c.requires_assignment,
    TYPES.c.default_duration_hours,
    TYPES.c.prep_stage,
).where(TYPES.c.id == bindparam("id"))
_PROVIDER = select(
    DEALERSHIPS.c.active, DEALERSHIPS.c.dealership_type, DEALERSHIPS.c.does_own_prep
).where(DEALERSHIPS.c.id == bindparam("id"))
_PERSON = select(USERS.c.active, USERS.c.dealership_id, USERS.c.role, USERS.c.display_name).where(
    USERS.c.id == bindparam("id")
)
_CAR = (
    select(CARS.c.id, CARS.c.dealership_id, CARS.c.prep_center_id, CARS.c.status)
    .where(CARS.c.id == bindparam("id"))
    .with_for_update()
)
_INSERT_BOOKING = insert(BOOKINGS).returning(BOOKINGS.c.id)


def _bookable_type(conn: Connection, resource_type_id: int) -> Row[Any]:
    rt = conn.execute(_TYPE, {"id": resource_type_id}).first()
    if rt is None:
        raise NotFound("That resource type does not exist.")
    if not rt.active:
        raise Invalid(f"{rt.name} is switched off; an admin can switch it on.", "resource_type_id")
    if not rt.bookable:
        raise Invalid(f"{rt.name} cannot be booked in the calendar.", "resource_type_id")
    return rt


def _check_person(
    session: Session, user_id: uuid.UUID, provider_id: int, prep_stage: str | None, work: str
) -> Row[Any]:
    """The person (active, dealership_id, role, display_name), if they may do this work there."""
    person = session.connection().execute(_PERSON, {"id": user_id}).first()
    if person is None or not person.active:
        raise Invalid("That person is not an active user.", "user_id")
    if person.dealership_id != provider_id:
        raise Invalid(f"{person.display_name} does not work at the provider dealership.", "user_id")
    roles = WORKER_ROLES.get(prep_stage, WORKER_ROLES[None])
    if person.role not in roles:
        who = " or ".join(sorted(roles))
        raise Invalid(
            f"{work} is done by a {who}; {person.display_name} is a {person.role}.", "user_id"
        )
    return person


def _car_to_book(session: Session, actor: Actor, car_id: int) -> Row[Any]:
    """The car's row, locked, if the actor may see it (the scoping rule of ``load_car``)."""
    car = session.connection().execute(_CAR, {"id": car_id}).first()
    if car is None or not (
        actor.sees_car(car.dealership_id, car.prep_center_id)
        or actor.sees_car(None, None, car_access.providers(session, car.id))
    ):
        raise NotFound(f"Car #{car_id} does not exist or is not one of your dealership's cars.")
    return car


def book(
    session: Session,
    actor: Actor,
    *,
    resource_type_id: int,
    date: date,
    estimated_hours: float | str | None = None,
    car_id: int | None = None,
    start_time: time | None = None,
    provider_dealership_id: int | None = None,
    consumer_dealership_id: int | None = None,
    user_id: uuid.UUID | None = None,
    notes: str | None = None,
    action: str = "booking.create",
) -> ResourceBooking:
    """Book work.  Refused (with the nearest day that has room) when it does not fit.

    ``action`` is the permission the booking needs: ``booking.create`` (a coordinator), or
    ``booking.extra`` for the extra work a mechanic books from an inspection finding
    (:func:`db.inspection.issue_to_booking`); every other rule is the same."""
    actor.require(action)
    date = _required_day(date, "date")
    start_time = validate.parse_time(start_time, "start_time")
    user_id = _person_id(user_id)
    conn = session.connection()
    rt = _bookable_type(conn, resource_type_id)
    hours = validate.hours(
        estimated_hours if estimated_hours not in (None, "") else rt.default_duration_hours,
        "estimated_hours",
    )
    if date < local_today():
        raise Invalid("That day is in the past; pick today or a later day.", "date")
    car = None
    if car_id is not None:
        car = _car_to_book(session, actor, car_id)
        if car.status in ("draft", "delivered", "archived"):
            raise Invalid(f"A car that is {car.status} cannot be booked.", "car_id")
        consumer_id = car.dealership_id
        provider_id = provider_dealership_id or car.prep_center_id
    else:
        consumer_id = consumer_dealership_id or actor.dealership_id
        provider_id = provider_dealership_id or actor.dealership_id
    if consumer_id is None or provider_id is None:
        raise Invalid("Pick the dealership that does the work.", "provider_dealership_id")
    if not (actor.sees_dealership(consumer_id) or actor.sees_dealership(provider_id)):
        raise NotAllowed("You can only book work for your own dealership or at it.")
    provider = conn.execute(_PROVIDER, {"id": provider_id}).first()
    if provider is None or not provider.active or not does_prep(provider):  # type: ignore[arg-type]
        raise Invalid(
            "The provider must be an active dealership that does prep work.",
            "provider_dealership_id",
        )
    if rt.requires_assignment and user_id is None:
        raise Invalid(f"{rt.name} needs a person assigned.", "user_id")
    if user_id is not None:
        _check_person(session, user_id, provider_id, rt.prep_stage, rt.name)
    claim = Claim(provider_id, consumer_id, rt.id, date, hours, user_id, start_time)
    _hold(session, claim, rt.name)
    now = utcnow()
    values = {
        "car_id": car_id,
        "resource_type_id": rt.id,
        "date": date,
        "start_time": start_time,
        "estimated_hours": hours,
        "provider_dealership_id": provider_id,
        "consumer_dealership_id": consumer_id,
        "user_id": user_id,
        "status": "scheduled",
        "notes": (notes or "").strip() or None,
        "created_at": now,
        "updated_at": now,
    }
    booking_id = conn.execute(_INSERT_BOOKING, values).scalar_one()
    events.record(
        session,
        actor,
        "resource_bookings",
        booking_id,
        "book",
        {
            "car_id": car_id,
            "resource_type": rt.name,
            "date": date,
            "start_time": start_time,
            "estimated_hours": hours,
            "provider": provider_id,
            "consumer": consumer_id,
            "user_id": user_id,
        },
        car_id=car_id,
    )
    if provider_id != consumer_id:
        notify.booking_requested(
            session,
            actor,
            booking_id,
            provider_id=provider_id,
            consumer_id=consumer_id,
            work=rt.name,
            day=date,
            hours=hours,
            car_id=car_id,
        )
    if car is not None:
        car_access.note_provider(session, car, provider_id)
        if rt.prep_stage is not None:
            sync_car_schedule(session, car.id)
            if rt.prep_stage == "technical" and car.status == "inspection":
                _advance_on_booking(session, actor, car.id)
    return ResourceBooking(id=booking_id, **values)


def _advance_on_booking(session: Session, actor: Actor, car_id: int) -> None:
    """US-1.2: scheduling technical work moves an inspected car on (parts first if waiting)."""
    car = workflow.load_car(session, actor, car_id, lock=True)
    target = "parts_ordered" if workflow.waiting_on_parts(car) else "technical_prep"
    if workflow.refusal(session, actor, car, target) is None:
        workflow.apply_move(session, actor, car, target)


def load_booking(
    session: Session, actor: Actor, booking_id: int, *, lock: bool = False
) -> ResourceBooking:
    stmt = select(ResourceBooking).where(ResourceBooking.id == booking_id)
    if lock:
        stmt = for_update(stmt)
    booking = session.exec(stmt).first()
    if booking is None or not (
        actor.sees_dealership(booking.provider_dealership_id)
        or actor.sees_dealership(booking.consumer_dealership_id)
    ):
        raise NotFound(f"Booking #{booking_id} does not exist or is not one you can see.")
    return booking


def _expect(booking: ResourceBooking, expected_status: str | None) -> None:
    if expected_status is not None and booking.status != expected_status:
        raise Stale(
            f"Someone else changed this booking meanwhile (it is now "
            f"{booking.status.replace('_', ' ')}). Look at it again."
        )


def cancel(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    reason: str,
    no_show: bool = False,
    expected_status: str | None = None,
) -> ResourceBooking:
    """Cancel a booking or mark it no-show, with a reason; its hours are released."""
    actor.require("booking.change")
    booking = load_booking(session, actor, booking_id, lock=True)
    _expect(booking, expected_status)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why (for the notes).", "reason")
    if booking.status not in OPEN_STATUSES:
        raise Invalid(
            f"A booking that is {booking.status.replace('_', ' ')} cannot be "
            f"{'marked no-show' if no_show else 'cancelled'}."
        )
    if no_show and not actor.sees_dealership(booking.provider_dealership_id):
        raise NotAllowed(
            "Only the dealership that does the work can mark a booking no-show; "
            "you can cancel your request."
        )
    status = "no_show" if no_show else "cancelled"
    label = "No-show" if no_show else "Cancelled"
    return close_booking(session, actor, booking, status=status, label=label, reason=reason)


def close_booking(
    session: Session,
    actor: Actor,
    booking: ResourceBooking,
    *,
    status: str,
    label: str,
    reason: str,
    action: str | None = None,
) -> ResourceBooking:
    """End a locked, open booking (``status`` cancelled or no-show): give its hours back, note
    ``"<label>: <reason>"`` and record the event (``action``, by default the new status)."""
    assert status in ("cancelled", "no_show") and booking.status in OPEN_STATUSES
    _release(session, Claim.of(booking))
    old = booking.status
    booking.status = status
    booking.notes = "\n".join(x for x in (booking.notes, f"{label}: {reason}") if x)
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        action or booking.status,
        {"status": [old, booking.status], "reason": reason},
        car_id=booking.car_id,
    )
    if action is None:  # a decline tells the consumer itself
        notify.booking_closed(session, actor, booking, label, reason)
    _resync_car(session, booking)
    return booking


def move(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    date: date | None = None,
    user_id: uuid.UUID | str | None = "keep",
    start_time: time | str | None = "keep",
    estimated_hours: float | str | None = None,
    expected_status: str | None = None,
    tell: bool = True,
) -> ResourceBooking:
    """Move a booking to another day, person, time or length; capacity follows in one
    transaction.  The people assigned before and after are told, unless ``tell`` is off (a
    caller that tells them itself, with its reason).  Only the provider plans its days and people:
    a consumer's coordinator may cancel its request, not move it."""
    actor.require("booking.change")
    if date is not None:
        date = _required_day(date, "date")
    if start_time != "keep":
        start_time = validate.parse_time(start_time, "start_time")  # type: ignore[arg-type]
    if user_id != "keep":
        user_id = _person_id(user_id)
    booking = load_booking(session, actor, booking_id, lock=True)
    if not actor.sees_dealership(booking.provider_dealership_id):
        provider = session.get(Dealership, booking.provider_dealership_id)
        name = f"{provider.dealership_name}'s" if provider is not None else "The provider's"
        raise NotAllowed(
            f"Only {name} coordinators plan its days and people, so only they can move this "
            "booking. Ask them, or cancel your request and book again."
        )
    _expect(booking, expected_status)
    if booking.status not in OPEN_STATUSES:
        raise Invalid(f"A booking that is {booking.status.replace('_', ' ')} cannot be moved.")
    rt = session.get(ResourceType, booking.resource_type_id)
    assert rt is not None
    before = {
        "date": booking.date,
        "user_id": booking.user_id,
        "start_time": booking.start_time,
        "estimated_hours": booking.estimated_hours,
    }
    new_day = date or _required_day(booking.date, "date")
    if new_day < local_today():
        raise Invalid("That day is in the past; pick today or a later day.", "date")
    new_user = booking.user_id if user_id == "keep" else user_id
    if rt.requires_assignment and new_user is None:
        raise Invalid(f"{rt.name} needs a person assigned.", "user_id")
    if new_user is not None and new_user != booking.user_id:
        _check_person(session, new_user, booking.provider_dealership_id, rt.prep_stage, rt.name)  # type: ignore[arg-type]
    _release(session, Claim.of(booking))
    booking.date = new_day
    booking.user_id = new_user  # type: ignore[assignment]
    if start_time != "keep":
        booking.start_time = start_time  # type: ignore[assignment]  # checked above
    if estimated_hours not in (None, ""):
        booking.estimated_hours = validate.hours(estimated_hours, "estimated_hours")
    _hold(session, Claim.of(booking), rt.name)
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()
    after = {
        "date": booking.date,
        "user_id": booking.user_id,
        "start_time": booking.start_time,
        "estimated_hours": booking.estimated_hours,
    }
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        "move",
        events.diff(before, after),
        car_id=booking.car_id,
    )
    if tell:
        notify.booking_rescheduled(session, actor, booking, before)
    _resync_car(session, booking)
    return booking


def confirm(session: Session, actor: Actor, booking_id: int) -> ResourceBooking:
    """The provider confirms a scheduled booking."""
    actor.require("booking.change")
    booking = load_booking(session, actor, booking_id, lock=True)
    if not actor.sees_dealership(booking.provider_dealership_id):
        raise NotAllowed("Only the dealership that does the work can confirm the booking.")
    if booking.status != "scheduled":
        raise Invalid(f"Only a scheduled booking can be confirmed; this one is {booking.status}.")
    booking.status = "confirmed"
    booking.updated_at = utcnow()
    session.add(booking)
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        "confirm",
        {"status": ["scheduled", "confirmed"]},
        car_id=booking.car_id,
    )
    return booking


def _resync_car(session: Session, booking: ResourceBooking) -> None:
    """After a booking changed: the car's schedule fields, when the work is technical or cosmetic."""
    if booking.car_id is None:
        return
    rt = session.get(ResourceType, booking.resource_type_id)
    if rt is not None and rt.prep_stage is not None:
        session.flush()
        sync_car_schedule(session, booking.car_id)


_CAR_BOOKINGS = (
    select(
        BOOKINGS.c.date,
        BOOKINGS.c.start_time,
        BOOKINGS.c.estimated_hours,
        BOOKINGS.c.user_id,
        TYPES.c.prep_stage,
    )
    .join(TYPES, TYPES.c.id == BOOKINGS.c.resource_type_id)
    .where(
        BOOKINGS.c.car_id == bindparam("car"),
        BOOKINGS.c.status.in_(BOOKING_HOLDING_STATUSES),
        TYPES.c.prep_stage.is_not(None),
    )
    # Untimed bookings after timed ones on the same day, on both engines (SQLite sorts NULL
    # first, PostgreSQL last): the car shows the same schedule whichever database it is on.
    .order_by(
        BOOKINGS.c.date, BOOKINGS.c.start_time.is_(None), BOOKINGS.c.start_time, BOOKINGS.c.id
    )
)
_SCHEDULE_FIELDS = {
    "technical": (
        "scheduled_technical_date",
        "scheduled_technical_time",
        "estimated_technical_hours",
        "assigned_mechanic_id",
    ),
    "cosmetic": (
        "scheduled_cosmetic_date",
        "scheduled_cosmetic_time",
        "estimated_cosmetic_hours",
        "assigned_detailer_id",
    ),
}
_SET_SCHEDULE = (
    update(CARS)
    .where(CARS.c.id == bindparam("car"))
    .values({name: bindparam(name) for names in _SCHEDULE_FIELDS.values() for name in names})
)


def sync_car_schedule(session: Session, car_id: int) -> None:
    """The car's schedule fields follow from its bookings (earliest open booking per stage)."""
    conn = session.connection()
    rows = conn.execute(_CAR_BOOKINGS, {"car": car_id}).all()
    values: dict[str, Any] = {"car": car_id}
    for stage, (day, start, hours, person) in _SCHEDULE_FIELDS.items():
        mine = [r for r in rows if r.prep_stage == stage]
        first = mine[0] if mine else None
        values[day] = first.date if first else None
        values[start] = first.start_time if first else None
        values[hours] = sum(r.estimated_hours for r in mine) if mine else None
        values[person] = first.user_id if first else None
    conn.execute(_SET_SCHEDULE, values)
    _expire(session, Car, car_id)


# ------------------------------------------------------------------------------------------------
# capacity
# ------------------------------------------------------------------------------------------------
def _check_person_day(
    session: Session,
    person: Row[Any],
    user_id: uuid.UUID,
    rt: ResourceType,
    dealership_id: int,
    day: date,
    hours: float,
) -> None:
    """A person's hours of one day, every kind of work together, stay within one day
    (:data:`PERSON_DAY_HOURS`).  Raising one kind is refused above it; lowering is always
    allowed (a day set too high before keeps its hours until someone lowers them)."""
    others = [
        r
        for r in person_day(session, dealership_id, user_id, day)
        if r.resource_type_id != rt.id and r.allocated_hours > 0
    ]
    elsewhere = sum(r.allocated_hours for r in others)
    if elsewhere + hours <= PERSON_DAY_HOURS + 1e-9:
        return
    kinds = dict(
        session.execute(
            select(TYPES.c.id, TYPES.c.name).where(
                TYPES.c.id.in_([r.resource_type_id for r in others])
            )
        ).all()
    )
    what = ", ".join(
        f"{_fmt_hours(r.allocated_hours)} of {kinds.get(r.resource_type_id, 'other work')}"
        for r in others
    )
    room = max(PERSON_DAY_HOURS - elsewhere, 0.0)
    raise Invalid(
        f"{person.display_name} already has {what} on {day:%a %d %b}; {_fmt_hours(hours)} of "
        f"{rt.name} would make {_fmt_hours(elsewhere + hours)}, more than one person's day "
        f"({_fmt_hours(PERSON_DAY_HOURS)}). Set at most {_fmt_hours(room)}, or lower the "
        "other hours first.",
        "allocated_hours",
    )


def set_capacity(
    session: Session,
    actor: Actor,
    *,
    dealership_id: int,
    resource_type_id: int,
    date: date,
    allocated_hours: float | str,
    user_id: uuid.UUID | None = None,
    recurrence_pattern: dict[str, object] | None = None,
    allow_overbook: bool = False,
) -> ResourceCapacity:
    """Set the hours of one day (0 for a vacation day).  Refused below what is already booked,
    unless ``allow_overbook`` (the coordinator has chosen to move bookings afterwards)."""
    actor.require("capacity.set")
    date = _required_day(date, "date")
    user_id = _person_id(user_id)
    if not actor.sees_dealership(dealership_id):
        raise NotAllowed("You can only set capacity for your own dealership.")
    dealership = session.get(Dealership, dealership_id)
    if dealership is None or not does_prep(dealership):
        raise Invalid("Only a dealership that does prep work has capacity.", "dealership_id")
    rt = session.get(ResourceType, resource_type_id)
    if rt is None:
        raise NotFound("That resource type does not exist.")
    hours = validate.hours(
        allocated_hours, "allocated_hours", allow_zero=True, maximum=24.0 if user_id else 24.0 * 100
    )
    person = None
    if user_id is not None:
        person = _check_person(session, user_id, dealership_id, rt.prep_stage, rt.name)
        lock_person_days(session, [(user_id, date)])
    row = capacity_row(session, dealership_id, resource_type_id, date, user_id, lock=True)
    now = utcnow()
    if row is None:
        row = ResourceCapacity(
            dealership_id=dealership_id,
            resource_type_id=resource_type_id,
            date=date,
            user_id=user_id,
            allocated_hours=0.0,
            used_hours=0.0,
            created_at=now,
        )
    old = row.allocated_hours
    if hours < row.used_hours and not allow_overbook:
        raise CapacityCut(
            f"{_fmt_hours(row.used_hours)} are already booked on {date:%a %d %b}; "
            f"move or cancel bookings before you set {_fmt_hours(hours)}.",
            row.used_hours,
        )
    if person is not None and user_id is not None and hours > old:
        _check_person_day(session, person, user_id, rt, dealership_id, date, hours)
    row.allocated_hours = hours
    if recurrence_pattern is not None:
        row.recurrence_pattern = recurrence_pattern
    row.updated_at = now
    session.add(row)
    session.flush()
    session.refresh(row, ["available_hours"])
    events.record(
        session,
        actor,
        "resource_capacities",
        row.id,
        "set",
        {
            "allocated_hours": [old, hours],
            "date": date,
            "user_id": user_id,
            "resource_type_id": resource_type_id,
            "dealership_id": dealership_id,
        },
    )
    return row
