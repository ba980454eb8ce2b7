"""Holding capacity: the hours a booking holds, checked and added to its rows, or given back.

The rule: a capacity row's ``used_hours`` is the sum of ``estimated_hours`` of the bookings that hold
it (status scheduled, confirmed, in progress or completed) — the team row (``user_id`` NULL) and the
assigned person's row.  ``available_hours`` is computed by the database.  A booking that does not fit
is refused with the nearest day that has room (:mod:`db.nearest`).

A person's day has one limit across kinds of work (:data:`PERSON_DAY_HOURS`): their bookings of one
day (every kind of work together) may not go above it (the hours set on their rows are held to it
by :mod:`db.capacity`).

Race safety: every write runs in :meth:`db.engine.Database.run`.  On SQLite that transaction is
``BEGIN IMMEDIATE`` (one writer at a time); on PostgreSQL the locks are taken before what they
guard is read, always in the same order (team row, the person's day, the agreement's week, person
row), so two coordinators racing for the last hours cannot both win.  A booking checks each
capacity row and adds its hours in one statement (``UPDATE ... WHERE`` the row has the room
``RETURNING`` it: the row's lock is taken by the statement that checks it, and held for as few
round trips as can be); giving hours back locks them with ``SELECT ... FOR UPDATE``.  The person's
day is an advisory lock on (person, day) (:func:`lock_person_days`): it serializes everything that
raises a person's hours or bookings of that day, whatever the kind of work, including rows that do
not exist yet.

The weekly cap of a sharing agreement is per ISO week, so its lock is a transaction-level advisory
lock on (agreement, week) (:func:`agreement_week_key`), and the agreement's row is share-locked
from the start (an admin's change to it waits for the bookings under way).  On PostgreSQL the
week is locked by the statement that takes the team row's hours, after its row and the person's
day: a booking waiting for its day's rows holds no week, so the bookings of the same week on other
days do not wait behind it.  The week's total is then checked in the next statement (the person's
row, or a read of the week), whose snapshot holds every booking of that week under the agreement:
each writer of them takes that lock first and keeps it until it commits.  On SQLite the week is
checked in the statement that takes the team row's hours (the write lock is held).

SQL Core: this is the hot path of every booking.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property, partial
from typing import Any

from sqlalchemy import BigInteger, Connection, Row, bindparam, func, literal_column, or_, update
from sqlmodel import Session, select

from db import formats
from db.clock import iso_week_bounds, utcnow
from db.errors import Busy, DoesNotFit, Invalid, SharingRefused
from db.grid import PERSON_DAY_HOURS
from db.hot import Hot
from db.i18n import _
from db.ledger_rows import (
    AGREEMENT_ROW,
    BOOKINGS,
    CAPACITY,
    DEALERSHIPS,
    TYPES,
    USERS,
    WEEK_USED,
    _fmt_hours,
    week_usage,
)
from db.models import ResourceBooking, ResourceCapacity
from db.nearest import nearest_day
from db.vocab import BOOKING_HOLDING_STATUSES


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
_CAPACITY_ROW = select(CAPACITY.c.id, CAPACITY.c.allocated_hours, CAPACITY.c.used_hours).where(
    CAPACITY.c.dealership_id == bindparam("provider"),
    CAPACITY.c.resource_type_id == bindparam("rt"),
    CAPACITY.c.date == bindparam("day"),
)
_TEAM = _CAPACITY_ROW.where(CAPACITY.c.user_id.is_(None))
_PERSON = _CAPACITY_ROW.where(CAPACITY.c.user_id == bindparam("user"))
_TEAM_ROW = Hot(_TEAM.with_for_update())
_PERSON_ROW = Hot(_PERSON.with_for_update())
# The same rows read without a lock, for a check made before the write (:func:`fits`).
_TEAM_READ = Hot(_TEAM)
# The hours added to a booking's rows (the team row, and the person's when there is one: ``person``
# 0 otherwise) in one statement.
_ADD_USED = Hot(
    update(CAPACITY)
    .where(or_(CAPACITY.c.id == bindparam("row"), CAPACITY.c.id == bindparam("person")))
    .values(used_hours=CAPACITY.c.used_hours + bindparam("hours"), updated_at=bindparam("now"))
)
# The agreement a booking is made under, share-locked: bookings under it do not wait for each
# other, and an admin's change to it waits for them (and they for it).
_AGREEMENT = Hot(AGREEMENT_ROW.with_for_update(read=True))
_AGREEMENT_READ = Hot(AGREEMENT_ROW)


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
_PERSON_AND_DAY = select(
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
).where(
    CAPACITY.c.dealership_id == bindparam("provider"),
    CAPACITY.c.resource_type_id == bindparam("rt"),
    CAPACITY.c.date == bindparam("day"),
    CAPACITY.c.user_id == bindparam("user"),
)
_PERSON_AND_DAY_READ = Hot(_PERSON_AND_DAY)
_PERSON_DAY_USED = _PERSON_AND_DAY.selected_columns.day_used

# A booking's hours taken: the row checked and its hours added in one statement, which takes the
# row's lock (PostgreSQL: a writer that has it waits, then the row is checked again as it left
# it); no row back when the row is missing or has not the room.  The reads above say why.
_TAKE = (
    update(CAPACITY)
    .where(
        CAPACITY.c.dealership_id == bindparam("provider"),
        CAPACITY.c.resource_type_id == bindparam("rt"),
        CAPACITY.c.date == bindparam("day"),
        CAPACITY.c.allocated_hours - CAPACITY.c.used_hours >= bindparam("hours"),
    )
    .values(used_hours=CAPACITY.c.used_hours + bindparam("hours"), updated_at=bindparam("now"))
)
_TAKE_TEAM_ROW = _TAKE.where(CAPACITY.c.user_id.is_(None))
_TAKE_TEAM = Hot(_TAKE_TEAM_ROW.returning(CAPACITY.c.id))


def _advisory_lock(param: str) -> Any:
    """PostgreSQL: a transaction-level advisory lock on the key bound as ``param``."""
    return func.pg_advisory_xact_lock(bindparam(param, type_=BigInteger))


# PostgreSQL: the same, then (in the same statement, with the team row already locked, so in the
# order of the locks) the lock of the person's day, when the booking names a person
_PERSON_DAY_KEY = _advisory_lock("key")
_TAKE_TEAM_AND_PERSON_DAY = Hot(_TAKE_TEAM_ROW.returning(CAPACITY.c.id, _PERSON_DAY_KEY))
# PostgreSQL, a booking under a sharing agreement: the same, then (after the person's day) the lock
# of the agreement's week (``week``: :func:`agreement_week_key`); the week is checked by the next
# statement, whose snapshot holds every booking of it.
_WEEK_KEY = _advisory_lock("week")
_TAKE_TEAM_AND_WEEK = Hot(_TAKE_TEAM_ROW.returning(CAPACITY.c.id, _WEEK_KEY))
_TAKE_TEAM_AND_PERSON_DAY_AND_WEEK = Hot(
    _TAKE_TEAM_ROW.returning(CAPACITY.c.id, _PERSON_DAY_KEY, _WEEK_KEY)
)
# Within the week's cap (``cap``; the week's bookings ``first`` to ``last`` of ``consumer``, but
# ``exclude``).  SQLite: in the statement that takes the team row's hours (the write lock is held).
_IN_WEEK = WEEK_USED + bindparam("hours") <= bindparam("cap")
_TAKE_TEAM_IN_WEEK = Hot(_TAKE_TEAM_ROW.where(_IN_WEEK).returning(CAPACITY.c.id))
# The person's row of this kind, within their row's hours and their day's (every kind of work).
# On PostgreSQL run after the person's day is locked, so its snapshot holds every booking of that
# person and day (each writer of them takes that lock first and keeps it until it commits).
_TAKE_PERSON_ROW = _TAKE.where(
    CAPACITY.c.user_id == bindparam("user"),
    _PERSON_DAY_USED + bindparam("hours") <= bindparam("limit"),
)
_TAKE_PERSON = Hot(_TAKE_PERSON_ROW.returning(CAPACITY.c.id))
# PostgreSQL, under a sharing agreement: the same, and within the week's cap (run after the team
# row's statement locked the week).
_TAKE_PERSON_IN_WEEK = Hot(_TAKE_PERSON_ROW.where(_IN_WEEK).returning(CAPACITY.c.id))
_PERSON_DAY_LOCK = Hot(select(_PERSON_DAY_KEY))
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


def agreement_week_key(provider_id: int, consumer_id: int, resource_type_id: int, day: date) -> int:
    """The advisory lock key of one agreement's ISO week (64 bits of a hash), which serializes the
    bookings that count against that week's cap."""
    monday, _sunday = iso_week_bounds(day)
    text = f"{provider_id} {consumer_id} {resource_type_id} {monday.isoformat()}"
    digest = hashlib.blake2b(text.encode(), digest_size=8, person=b"prepfloor-week").digest()
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
        _PERSON_DAY_LOCK.scalar(conn, {"key": keys[0]})
    elif keys:
        conn.execute(_PERSON_DAYS_LOCK, {"keys": keys})


def person_day(
    session: Session, dealership_id: int, user_id: uuid.UUID, day: date
) -> list[Row[Any]]:
    """A person's capacity rows of one day at a dealership, every kind of work:
    (resource_type_id, allocated_hours, used_hours).  Read after :func:`lock_person_days`."""
    params = {"provider": dealership_id, "day": day, "user": user_id}
    return list(session.connection().execute(_PERSON_DAY_ROWS, params))


def _capacity_lock(
    conn: Connection, claim: Claim, user_id: uuid.UUID | None, *, lock: bool = True
) -> Row[Any] | None:
    params = {"provider": claim.provider_id, "rt": claim.resource_type_id, "day": claim.day}
    if user_id is None:
        return (_TEAM_ROW if lock else _TEAM_READ).first(conn, params)
    return _PERSON_ROW.first(conn, {**params, "user": user_id})


def _add_used(session: Session, row_id: int, hours: float, person_row_id: int = 0) -> None:
    """``used_hours = used_hours + x`` on a locked row (and on the person's row, when given)."""
    params = {"row": row_id, "person": person_row_id, "hours": hours, "now": utcnow()}
    _ADD_USED.execute(session.connection(), params).close()
    _expire(session, ResourceCapacity, row_id)
    if person_row_id:
        _expire(session, ResourceCapacity, person_row_id)


# The names a refusal's words need (built once: a refusal is as common as a booking on a full
# week, and building the statement cost more than running it).
_DEALERSHIP_NAME = Hot(
    select(DEALERSHIPS.c.dealership_name).where(DEALERSHIPS.c.id == bindparam("id"))
)
_PERSON_NAME = Hot(
    select(USERS.c.display_name).where(USERS.c.id == bindparam("id", type_=USERS.c.id.type))
)


class _Names:
    """The names a refusal needs, looked up only when there is a refusal to word."""

    def __init__(self, conn: Connection, claim: Claim, resource_type: str) -> None:
        self.conn, self.claim, self.resource_type = conn, claim, resource_type

    def _dealership(self, dealership_id: int) -> str:
        name = _DEALERSHIP_NAME.scalar(self.conn, {"id": dealership_id})
        return name or str(dealership_id)

    @cached_property
    def provider(self) -> str:
        return self._dealership(self.claim.provider_id)

    @cached_property
    def consumer(self) -> str:
        return self._dealership(self.claim.consumer_id)

    @cached_property
    def person(self) -> str:
        name = _PERSON_NAME.scalar(self.conn, {"id": self.claim.user_id})
        return name or _("The person")


def _hold(session: Session, claim: Claim, resource_type: str, *, dry: bool = False) -> None:
    """Check that ``claim`` fits and add its hours to the rows it holds (raises DoesNotFit).

    ``dry``: only check, with nothing locked and nothing written (:func:`fits`)."""
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

    # 1. the sharing agreement (share-locked: an admin's change to it waits).  Its week is locked
    # and checked with the rows (:func:`_take_rows`).
    cap: float | None = None  # the agreement's weekly cap, if the booking is under one
    if claim.provider_id != claim.consumer_id:
        params: dict[str, Any] = {
            "provider": claim.provider_id,
            "consumer": claim.consumer_id,
            "rt": claim.resource_type_id,
        }
        agreement = (_AGREEMENT_READ if dry else _AGREEMENT).first(conn, params)
        if agreement is None:
            raise SharingRefused(
                _(
                    "{provider} has no sharing agreement with {consumer} for {work}. "
                    "An admin can set one up."
                ).format(provider=names.provider, consumer=names.consumer, work=names.resource_type)
            )
        if not agreement.enabled:
            raise SharingRefused(
                _(
                    "The sharing agreement between {provider} and {consumer} for {work} is "
                    "switched off."
                ).format(provider=names.provider, consumer=names.consumer, work=names.resource_type)
            )
        cap = float(agreement.max_hours_per_week)
        if dry:  # a write checks it in the statement that takes the team row's hours
            _check_week(session, claim, names, refuse, cap)

    # 2. the team row; 3. the person's day (every kind of work) and their row of this kind
    if dry:
        _check_rows(conn, claim, names, refuse)
    else:
        _take_rows(session, claim, names, refuse, cap)
    if claim.user_id is not None and claim.start_time is not None:
        _check_overlap(conn, claim, names)


def _check_week(session: Session, claim: Claim, names: _Names, refuse: Any, cap: float) -> None:
    """Does ``claim`` fit its sharing agreement's weekly cap?  Raises the refusal that says why
    not."""
    hours, day = claim.hours, claim.day
    used = week_usage(
        session,
        claim.provider_id,
        claim.consumer_id,
        claim.resource_type_id,
        day,
        exclude_booking_id=claim.booking_id,
    )
    if used + hours > cap:
        raise refuse(
            _(
                "{consumer} may use {cap} of {work} a week at {provider}; {week} already "
                "has {used} booked, so {hours} more does not fit."
            ).format(
                consumer=names.consumer,
                cap=_fmt_hours(cap),
                work=names.resource_type,
                provider=names.provider,
                week=formats.week(day),
                used=_fmt_hours(used),
                hours=_fmt_hours(hours),
            )
        )


def _take_rows(
    session: Session,
    claim: Claim,
    names: _Names,
    refuse: Any,
    cap: float | None = None,
) -> None:
    """The booking's hours added to its team row and its person's row, each checked in the same
    statement, and within its sharing agreement's weekly ``cap`` when it is under one (SQLite: in
    the team row's statement; PostgreSQL: in the person's row's, or a read of the week, after the
    team row's statement locked the week).  A row without the room is said as :func:`_check_week`
    and :func:`_check_rows` say it."""
    conn = session.connection()
    params: dict[str, Any] = {
        "provider": claim.provider_id,
        "rt": claim.resource_type_id,
        "day": claim.day,
        "hours": claim.hours,
        "now": utcnow(),
    }
    postgres, person = conn.dialect.name == "postgresql", claim.user_id is not None
    check_team = partial(_check_rows, conn, claim, names, refuse)
    check_person = partial(check_team, team=False)
    take_team = _TAKE_TEAM_AND_PERSON_DAY if postgres and person else _TAKE_TEAM
    take_person, week = _TAKE_PERSON, None
    if postgres and person:
        params["key"] = person_day_key(claim.user_id, claim.day)  # type: ignore[arg-type]
    if cap is not None:
        monday, sunday = iso_week_bounds(claim.day)
        params.update(
            consumer=claim.consumer_id,
            first=monday,
            last=sunday,
            cap=cap,
            exclude=claim.booking_id or 0,
        )
        week = partial(_check_week, session, claim, names, refuse, cap)
        if postgres:
            params["week"] = agreement_week_key(
                claim.provider_id, claim.consumer_id, claim.resource_type_id, claim.day
            )
            take_team = _TAKE_TEAM_AND_PERSON_DAY_AND_WEEK if person else _TAKE_TEAM_AND_WEEK
            take_person, check_person = _TAKE_PERSON_IN_WEEK, _then(week, check_person)
        else:
            take_team, check_team = _TAKE_TEAM_IN_WEEK, _then(week, check_team)

    _expire(session, ResourceCapacity, _taken(conn, take_team, params, check_team))
    if person:
        params.update(user=claim.user_id, limit=PERSON_DAY_HOURS + 1e-9)
        _expire(session, ResourceCapacity, _taken(conn, take_person, params, check_person))
    elif postgres and week is not None:
        week()  # the week, locked by the team row's statement, read in a snapshot of its own


def _then(first: Any, second: Any) -> Any:
    """A check that runs ``first``, then ``second``."""

    def both() -> None:
        first()
        second()

    return both


def _taken(conn: Connection, take: Hot, params: dict[str, Any], check: Any) -> int:
    """The id of the row ``take`` added the hours to; when it had not the room, ``check`` raises
    the refusal that says why.  On PostgreSQL another booking may give hours back between the two
    (the check then finds room): the hours are taken again, a few times, then :class:`Busy`."""
    for _attempt in range(3):
        row = take.first(conn, params)
        if row is not None:
            return int(row.id)
        check()
    raise Busy()


def _check_rows(
    conn: Connection, claim: Claim, names: _Names, refuse: Any, *, team: bool = True
) -> None:
    """Does ``claim`` fit its team row (``team``) and its person's row and day?  Read without a
    lock; raises the refusal that says why not."""
    hours, day = claim.hours, claim.day
    if team:
        found = _capacity_lock(conn, claim, None, lock=False)
        if found is None:
            raise refuse(
                _("{provider} has no {work} capacity set on {day}.").format(
                    provider=names.provider, work=names.resource_type, day=formats.day(day)
                )
            )
        available = found.allocated_hours - found.used_hours
        if available < hours:
            raise refuse(
                _(
                    "{work} at {provider} on {day} has {free} free; the booking needs {hours}."
                ).format(
                    work=names.resource_type,
                    provider=names.provider,
                    day=formats.day(day),
                    free=_fmt_hours(max(available, 0)),
                    hours=_fmt_hours(hours),
                )
            )
    if claim.user_id is None:
        return
    person = _PERSON_AND_DAY_READ.first(
        conn,
        {
            "provider": claim.provider_id,
            "rt": claim.resource_type_id,
            "day": day,
            "user": claim.user_id,
        },
    )
    if person is None:
        raise refuse(
            _("{person} has no {work} hours set on {day}.").format(
                person=names.person, work=names.resource_type, day=formats.day(day)
            )
        )
    available = person.allocated_hours - person.used_hours
    if available < hours:
        raise refuse(
            _("{person} has {free} free on {day}; the booking needs {hours}.").format(
                person=names.person,
                free=_fmt_hours(max(available, 0)),
                day=formats.day(day),
                hours=_fmt_hours(hours),
            )
        )
    booked = float(person.day_used or 0.0)
    if booked + hours > PERSON_DAY_HOURS + 1e-9:
        raise refuse(
            _(
                "{person} is already booked {booked} on {day} (every kind of work "
                "together); {hours} more would make {total}, more than one person's day "
                "({limit})."
            ).format(
                person=names.person,
                booked=_fmt_hours(booked),
                day=formats.day(day),
                hours=_fmt_hours(hours),
                total=_fmt_hours(booked + hours),
                limit=_fmt_hours(PERSON_DAY_HOURS),
            )
        )


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
                _(
                    "{person} is already booked {start}-{end} on {day}. Pick another time or person."
                ).format(
                    person=names.person,
                    start=formats.clock(other_start),
                    end=formats.clock(other_end),
                    day=formats.day(claim.day),
                ),
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
