"""What a car's bookings do to the car.

The car's schedule fields (``scheduled_technical_date`` / ``_time``, ``estimated_technical_hours``,
``assigned_mechanic_id`` and the cosmetic ones) follow from the bookings that hold hours for its
technical and cosmetic work, after every change to one of them; and booking technical work moves
an inspected car on (US-1.2).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from db import workflow
from db.access import Actor
from db.holding import _expire
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
