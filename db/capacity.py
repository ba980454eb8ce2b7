"""Setting capacity: the hours of one day at a prep center, for the team or one person.

A day's hours are set on the team row (``user_id`` NULL) or a person's row, 0 for a vacation day.
A cut below the hours already booked is refused unless the coordinator has chosen to move bookings
afterwards.  A person's day has one limit across kinds of work (:data:`PERSON_DAY_HOURS`): the
hours set on their own rows of one day (every kind of work together) may not be raised above it.
Raising a person's hours takes the lock of their day (:func:`db.holding.lock_person_days`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session, select

from db import events, formats, validate
from db.access import Actor
from db.admin import does_prep
from db.clock import utcnow
from db.errors import CapacityCut, Invalid, NotAllowed, NotFound
from db.grid import PERSON_DAY_HOURS
from db.holding import lock_person_days, person_day
from db.i18n import _
from db.ledger_rows import (
    TYPES,
    _check_person,
    _fmt_hours,
    _person_id,
    _required_day,
    capacity_row,
)
from db.models import Dealership, ResourceCapacity, ResourceType


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
        _("{hours} of {work}").format(
            hours=_fmt_hours(r.allocated_hours),
            work=kinds.get(r.resource_type_id) or _("other work"),
        )
        for r in others
    )
    room = max(PERSON_DAY_HOURS - elsewhere, 0.0)
    raise Invalid(
        _(
            "{person} already has {what} on {day}; {hours} of {work} would make {total}, more "
            "than one person's day ({limit}). Set at most {room}, or lower the other hours first."
        ).format(
            person=person.display_name,
            what=what,
            day=formats.day(day),
            hours=_fmt_hours(hours),
            work=rt.name,
            total=_fmt_hours(elsewhere + hours),
            limit=_fmt_hours(PERSON_DAY_HOURS),
            room=_fmt_hours(room),
        ),
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
        raise NotAllowed(_("You can only set capacity for your own dealership."))
    dealership = session.get(Dealership, dealership_id)
    if dealership is None or not does_prep(dealership):
        raise Invalid(_("Only a dealership that does prep work has capacity."), "dealership_id")
    rt = session.get(ResourceType, resource_type_id)
    if rt is None:
        raise NotFound(_("That resource type does not exist."))
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
            _(
                "{booked} are already booked on {day}; move or cancel bookings before you "
                "set {hours}."
            ).format(
                booked=_fmt_hours(row.used_hours), day=formats.day(date), hours=_fmt_hours(hours)
            ),
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
