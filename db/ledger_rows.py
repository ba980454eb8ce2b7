"""The capacity ledger's rows and inputs, read: the ground the other ledger modules stand on.

The ledger's tables as SQL Core handles; a day's capacity row (the team row, ``user_id`` NULL, or a
person's), the sharing agreement between a provider and a consumer for one kind of work, and the
hours a consumer holds at a provider in an ISO week; how the ledger reads a day and a person from
what was typed, whether that person may do the work at that dealership, and how it words hours.
Nothing here writes, and it imports no other ledger module: :mod:`db.nearest`, :mod:`db.holding`,
:mod:`db.capacity`, :mod:`db.car_schedule` and :mod:`db.ledger` build on it.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Row, bindparam, func
from sqlmodel import Session, select

from db import formats, validate
from db.clock import iso_week_bounds
from db.engine import for_update
from db.errors import Invalid
from db.hot import Hot
from db.i18n import N_, Labels, _
from db.models import (
    Car,
    Dealership,
    ResourceBooking,
    ResourceCapacity,
    ResourceSharing,
    ResourceType,
    User,
)
from db.vocab import BOOKING_HOLDING_STATUSES, ROLE_LABELS, WORKER_ROLES

CAPACITY = ResourceCapacity.__table__  # type: ignore[attr-defined]
BOOKINGS = ResourceBooking.__table__  # type: ignore[attr-defined]
SHARING = ResourceSharing.__table__  # type: ignore[attr-defined]
CARS = Car.__table__  # type: ignore[attr-defined]
DEALERSHIPS = Dealership.__table__  # type: ignore[attr-defined]
USERS = User.__table__  # type: ignore[attr-defined]
TYPES = ResourceType.__table__  # type: ignore[attr-defined]


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
    params = {
        "provider": provider_id,
        "consumer": consumer_id,
        "rt": resource_type_id,
        "first": monday,
        "last": sunday,
        "exclude": exclude_booking_id or 0,
    }
    return float(_WEEK_USAGE.scalar(session.connection(), params) or 0.0)


# A sharing agreement: is it on, and its weekly cap.
AGREEMENT_WHERE = (
    SHARING.c.provider_dealership_id == bindparam("provider"),
    SHARING.c.consumer_dealership_id == bindparam("consumer"),
    SHARING.c.resource_type_id == bindparam("rt"),
)
AGREEMENT_ROW = select(SHARING.c.enabled, SHARING.c.max_hours_per_week).where(*AGREEMENT_WHERE)
# The bookings a consumer holds at a provider for one kind of work from ``first`` to ``last``,
# but ``exclude`` (0: none).
HELD_BETWEEN = (
    BOOKINGS.c.provider_dealership_id == bindparam("provider"),
    BOOKINGS.c.consumer_dealership_id == bindparam("consumer"),
    BOOKINGS.c.resource_type_id == bindparam("rt"),
    BOOKINGS.c.status.in_(BOOKING_HOLDING_STATUSES),
    BOOKINGS.c.date >= bindparam("first"),
    BOOKINGS.c.date <= bindparam("last"),
    BOOKINGS.c.id != bindparam("exclude"),
)
WEEK_USED = (
    select(func.coalesce(func.sum(BOOKINGS.c.estimated_hours), 0.0))
    .where(*HELD_BETWEEN)
    .scalar_subquery()
)
_WEEK_USAGE = Hot(select(WEEK_USED))


# ------------------------------------------------------------------------------------------------
# inputs: the day, the person (and whether they may do the work), hours in words
# ------------------------------------------------------------------------------------------------
def _fmt_hours(value: float) -> str:
    """Hours in a refusal: ``7.5 h`` / ``7,5 t``."""
    return formats.hours(value)


def _required_day(value: date | str | None, field: str = "date") -> date:
    """A day checked by :func:`db.validate.parse_date` (2000-2099); empty is refused."""
    day = validate.parse_date(value, field)
    if day is None:
        raise Invalid(
            _("Pick the day (e.g. {example}).").format(example=formats.date_example()), field
        )
    return day


def _person_id(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid(_("That person is not a user."), "user_id") from None


# A booking's status in a sentence ("A booking that is in progress cannot be moved.").
BOOKING_STATUS_WORDS = Labels(
    {
        "scheduled": N_("scheduled"),
        "confirmed": N_("confirmed"),
        "in_progress": N_("in progress"),
        "completed": N_("completed"),
        "cancelled": N_("cancelled"),
        "no_show": N_("no show"),
    }
)


def status_word(status: str) -> str:
    """A booking's status in a sentence: ``in progress`` / ``i gang``."""
    if status in BOOKING_STATUS_WORDS:
        return BOOKING_STATUS_WORDS[status]
    return status.replace("_", " ")


def role_word(role: str) -> str:
    """A role in a sentence: ``mechanic`` / ``mekaniker``."""
    return ROLE_LABELS[role].lower() if role in ROLE_LABELS else role


# What a booking's person check reads of the person (the id first: NULL in an outer join when
# there is no such user)
PERSON_COLUMNS = (
    USERS.c.id,
    USERS.c.active,
    USERS.c.dealership_id,
    USERS.c.role,
    USERS.c.display_name,
)
_PERSON = Hot(select(*PERSON_COLUMNS).where(USERS.c.id == bindparam("id")))


_UNREAD: Any = object()


def _check_person(
    session: Session,
    user_id: uuid.UUID,
    provider_id: int,
    prep_stage: str | None,
    work: str,
    person: Any = _UNREAD,
) -> Row[Any]:
    """The person (active, dealership_id, role, display_name), if they may do this work there
    (``person``: as already read with other rows, None when there is no such user)."""
    if person is _UNREAD:
        person = _PERSON.first(session.connection(), {"id": user_id})
    if person is None or not person.active:
        raise Invalid(_("That person is not an active user."), "user_id")
    if person.dealership_id != provider_id:
        raise Invalid(
            _("{person} does not work at the provider dealership.").format(
                person=person.display_name
            ),
            "user_id",
        )
    roles = WORKER_ROLES.get(prep_stage, WORKER_ROLES[None])
    if person.role not in roles:
        words = [role_word(r) for r in sorted(roles)]
        if len(words) == 1:
            message = _("{work} is done by a {role}; {person} is a {their_role}.")
        else:
            message = _("{work} is done by a {role} or {other_role}; {person} is a {their_role}.")
        raise Invalid(
            message.format(
                work=work,
                role=words[0],
                other_role=" / ".join(words[1:]),
                person=person.display_name,
                their_role=role_word(person.role),
            ),
            "user_id",
        )
    return person
