"""``car_access``: the dealerships that work on a car besides its owner and its prep center.

The ledger notes a provider here when it books work on a car elsewhere; the scoping rule
(:mod:`db.access`) reads it.  Callers hold the car's row lock, so two bookings cannot race to add
the same row.
"""

from __future__ import annotations

from sqlmodel import Session, delete, select

from db.models import Car, CarAccess, ResourceBooking


def providers(session: Session, car_id: int | None) -> set[int]:
    """The other dealerships that work on the car."""
    if car_id is None:
        return set()
    return set(session.exec(select(CarAccess.dealership_id).where(CarAccess.car_id == car_id)))


def note_provider(session: Session, car: Car, provider_id: int) -> None:
    """Record that ``provider_id`` works on ``car`` (nothing to do for its owner or prep center)."""
    if provider_id in (car.dealership_id, car.prep_center_id):
        return
    known = session.exec(
        select(CarAccess.id).where(
            CarAccess.car_id == car.id, CarAccess.dealership_id == provider_id
        )
    ).first()
    if known is None:
        session.add(CarAccess(car_id=car.id, dealership_id=provider_id))  # type: ignore[arg-type]


def rebuild(session: Session, car: Car) -> None:
    """Recompute the car's rows from its bookings (after its dealership or prep center changed)."""
    session.exec(delete(CarAccess).where(CarAccess.car_id == car.id))  # type: ignore[call-overload]
    found = session.exec(
        select(ResourceBooking.provider_dealership_id)
        .where(ResourceBooking.car_id == car.id)
        .distinct()
    )
    for provider_id in found:
        note_provider(session, car, provider_id)
