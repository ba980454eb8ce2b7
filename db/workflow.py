"""The car workflow: one transition table (:mod:`db.car_rules`) says which moves exist, who may
make them, which side of the business makes them, which timestamps they set, and what must be true
first; this module makes the moves.

``draft → registered → in_transit → at_prep_center → inspection → parts_ordered → technical_prep →
cosmetic_prep → ready_for_delivery → delivered → archived``, plus the shortcuts and rework moves a
prep center needs.  Every move sets ``status_changed_at``, writes an event and notifies.
"""

from __future__ import annotations

from sqlmodel import Session, select

from db import car_access, car_rules, events, notify, outbox_write
from db.access import Actor
from db.car_rules import (  # noqa: F401 (the rules' names, as the writes have always used them)
    ANY,
    OWNER,
    PREP,
    TRANSITIONS,
    Move,
    back_at_dealership,
    check_visible,
    find_move,
    moves_from,
    on_side,
    prepared_elsewhere,
    waiting_on_parts,
)
from db.clock import utcnow
from db.engine import for_update
from db.errors import PrepfloorError, Stale
from db.i18n import _
from db.models import Car
from db.vocab import CAR_STATUS_LABELS


def side_ok(session: Session, actor: Actor, car: Car, side: str) -> bool:
    """Is the actor on the side of the business that makes this kind of move?"""
    return on_side(actor, car, side, lambda: car_access.providers(session, car.id))


def refusal(session: Session, actor: Actor, car: Car, target: str) -> PrepfloorError | None:
    """Why ``actor`` may not move ``car`` to ``target`` now, or ``None`` when they may."""
    return car_rules.refusal(actor, car, target, lambda: car_access.providers(session, car.id))


def allowed_targets(session: Session, actor: Actor, car: Car) -> list[str]:
    """The statuses ``actor`` can move ``car`` to right now."""
    return [
        m.target for m in moves_from(car.status) if refusal(session, actor, car, m.target) is None
    ]


def load_car(session: Session, actor: Actor, car_id: int, *, lock: bool = False) -> Car:
    """The car, if the actor may see it (locked for update when asked)."""
    stmt = select(Car).where(Car.id == car_id)
    if lock:
        stmt = for_update(stmt)
    car = session.exec(stmt).first()
    return check_visible(actor, car_id, car, lambda: car_access.providers(session, car_id))


def move_car(
    session: Session,
    actor: Actor,
    car_id: int,
    target: str,
    *,
    expected_status: str | None = None,
    note: str | None = None,
) -> Car:
    """Move a car to ``target`` if the transition table allows it for this actor."""
    actor.require("car.move")
    car = load_car(session, actor, car_id, lock=True)
    if expected_status is not None and car.status != expected_status:
        raise Stale(
            _(
                "Someone else changed this car meanwhile: it is now {status}, not {expected}. "
                "Look at it again before you move it."
            ).format(
                status=CAR_STATUS_LABELS[car.status].lower(),
                expected=CAR_STATUS_LABELS[expected_status].lower(),
            )
        )
    why = refusal(session, actor, car, target)
    if why is not None:
        raise why
    return apply_move(session, actor, car, target, note=note)


def apply_move(
    session: Session, actor: Actor, car: Car, target: str, *, note: str | None = None
) -> Car:
    """Carry out a move that has been checked: stamps, event, notifications, the customer's
    message of a milestone (:mod:`db.outbox_write`)."""
    move = find_move(car.status, target)
    assert move is not None
    now = utcnow()
    old = car.status
    changes: dict[str, object] = {"status": [old, target]}
    for name in move.stamps:
        if getattr(car, name) is None:
            setattr(car, name, now)
            changes[name] = [None, now]
    for name in move.clears:
        if getattr(car, name) is not None:
            changes[name] = [getattr(car, name), None]
            setattr(car, name, None)
    car.status = target
    car.status_changed_at = now
    car.updated_at = now
    session.add(car)
    session.flush()
    if note:
        changes["note"] = note
    events.record(session, actor, "cars", car.id, "status", changes, car_id=car.id)
    if target == "registered":
        notify.car_registered(session, actor, car)
    else:
        notify.car_moved(session, actor, car, old, target)
    # the customer hears of it when the dealership chose so (same transaction)
    outbox_write.on_move(session, actor, car, target)
    return car
