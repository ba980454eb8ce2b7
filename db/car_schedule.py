"""What a car's bookings do to the car.

The car's schedule fields (``scheduled_technical_date`` / ``_time``, ``estimated_technical_hours``,
``assigned_mechanic_id`` and the cosmetic ones) follow from the bookings that hold hours for its
technical and cosmetic work, after every change to one of them; and booking technical work moves
an inspected car on (US-1.2).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, tuple_, update
from sqlmodel import Session, select

from db import workflow
from db.access import Actor
from db.holding import _expire
from db.hot import Hot
from db.ledger_rows import BOOKINGS, CARS, TYPES
from db.models import Car, ResourceBooking, ResourceType
from db.vocab import BOOKING_HOLDING_STATUSES


def _advance_on_booking(session: Session, actor: Actor, car_id: int) -> None:
    """US-1.2: scheduling technical work moves an inspected car on (parts first if waiting)."""
    car = workflow.load_car(session, actor, car_id, lock=True)
    target = "parts_ordered" if workflow.waiting_on_parts(car) else "technical_prep"
    if workflow.refusal(session, actor, car, target) is None:
        workflow.apply_move(session, actor, car, target)


def _resync_car(session: Session, booking: ResourceBooking) -> None:
    """After a booking changed: the car's schedule fields, when the work is technical or cosmetic."""
    if booking.car_id is None:
        return
    rt = session.get(ResourceType, booking.resource_type_id)
    if rt is not None and rt.prep_stage is not None:
        session.flush()
        sync_car_schedule(session, booking.car_id)


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


def _of_stage(stage: str, *columns: str, total: bool = False) -> Any:
    """A car's earliest open booking of a stage (its ``columns``, as one row), or the hours of all
    of them (``total``)."""
    booking, kind = BOOKINGS.alias(), TYPES.alias()
    picked = [func.sum(booking.c.estimated_hours)] if total else [booking.c[c] for c in columns]
    found = (
        select(*picked)
        .select_from(booking.join(kind, kind.c.id == booking.c.resource_type_id))
        .where(
            booking.c.car_id == CARS.c.id,
            booking.c.status.in_(BOOKING_HOLDING_STATUSES),
            kind.c.prep_stage == stage,
        )
    )
    if not total:
        # Untimed bookings after timed ones on the same day, on both engines (SQLite sorts NULL
        # first, PostgreSQL last): the car shows the same schedule whichever database it is on.
        found = found.order_by(
            booking.c.date,
            booking.c.start_time.is_(None),
            booking.c.start_time,
            booking.c.id,
        ).limit(1)
    return found.scalar_subquery()


def _set_schedule(*stages: str) -> Hot:
    """One statement: the schedule fields of ``stages`` from the car's bookings, in the database.
    The earliest booking's day, time and person are read as one row (``SET (a, b, c) = (SELECT
    ...)``, on both engines; no booking: all three NULL)."""
    values: dict[Any, Any] = {}
    for stage in stages:
        day, start, hours, person = _SCHEDULE_FIELDS[stage]
        earliest = tuple_(CARS.c[day], CARS.c[start], CARS.c[person])
        values[earliest] = _of_stage(stage, "date", "start_time", "user_id")
        values[CARS.c[hours]] = _of_stage(stage, total=True)
    return Hot(update(CARS).where(CARS.c.id == bindparam("car")).values(values))


# every stage (a booking changed: its work may have been of either), or the one stage a new
# booking is for (half the work inside the booking's lock)
_SET_SCHEDULE = {
    None: _set_schedule(*_SCHEDULE_FIELDS),
    **{s: _set_schedule(s) for s in _SCHEDULE_FIELDS},
}


def sync_car_schedule(session: Session, car_id: int, stage: str | None = None) -> None:
    """The car's schedule fields follow from its bookings (earliest open booking per stage);
    ``stage``: only that stage's (a new booking of it changed nothing else)."""
    _SET_SCHEDULE[stage].execute(session.connection(), {"car": car_id}).close()
    _expire(session, Car, car_id)
