"""The car workflow: one transition table says which moves exist, who may make them, which side
of the business makes them, which timestamps they set, and what must be true first.

``draft → registered → in_transit → at_prep_center → inspection → parts_ordered → technical_prep →
cosmetic_prep → ready_for_delivery → delivered → archived``, plus the shortcuts and rework moves a
prep center needs.  Every move sets ``status_changed_at``, writes an event and notifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from db import car_access, events, notify, outbox_write
from db.access import Actor
from db.clock import utcnow
from db.engine import for_update
from db.errors import NotAllowed, NotFound, PrepfloorError, Stale, WorkflowRefused
from db.i18n import N_, _
from db.models import Car
from db.vocab import CAR_STATUS_LABELS, ROLE_LABELS

OWNER = "owner"  # the dealership that sells the car
PREP = "prep"  # the prep center that works on it
ANY = "any"

Check = Callable[[Car], str | None]


def _inspection_recorded(car: Car) -> str | None:
    if car.inspection_completed_at is None:
        return _("Record the inspection result first.")
    return None


def _inspection_approved(car: Car) -> str | None:
    if car.inspection_completed_at is None:
        return _("Record the inspection result first.")
    if not car.inspection_approved:
        return _("The inspection failed: fix the findings (order parts) and approve it first.")
    return None


def waiting_on_parts(car: Car) -> str | None:
    """Why the car still waits on parts, or ``None``."""
    from db.jobs import parts_reason

    return parts_reason(
        car.parts_ordered_seller_at,
        car.parts_arrived_seller_at,
        car.parts_ordered_prep_at,
        car.parts_arrived_prep_at,
    )


def prepared_elsewhere(car: Car) -> bool:
    """Is the car prepared somewhere else than at the dealership that sells it?"""
    return car.prep_center_id != car.dealership_id


def back_at_dealership(car: Car) -> str | None:
    """Why the car cannot be handed over yet because it is still away from its dealership."""
    if prepared_elsewhere(car) and car.delivered_to_dealership_at is None:
        return _("Record that the car has arrived at the dealership first.")
    return None


def _registration_complete(car: Car) -> str | None:
    from db.cars import registration_problems

    problems = registration_problems(car)
    if problems:
        return _("The order is not complete: {problems}").format(
            problems=" ".join(problems.values())
        )
    return None


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    roles: frozenset[str]
    side: str
    verb: str  # marked with N_: what the move does, in a refusal (``_()`` when it is shown)
    stamps: tuple[str, ...] = ()  # set when empty
    clears: tuple[str, ...] = ()  # rework: later stages start over
    check: Check | None = None


def _m(source: str, target: str, roles: str, side: str, verb: str, **kw: object) -> Move:
    return Move(source, target, frozenset(roles.split()), side, verb, **kw)  # type: ignore[arg-type]


TRANSITIONS: tuple[Move, ...] = (
    _m(
        "draft",
        "registered",
        "seller manager",
        OWNER,
        N_("register the order"),
        stamps=("registered_at",),
        check=_registration_complete,
    ),
    _m(
        "draft",
        "archived",
        "seller manager",
        OWNER,
        N_("discard the draft"),
        stamps=("archived_at",),
    ),
    _m(
        "registered",
        "in_transit",
        "seller coordinator manager",
        ANY,
        N_("send the car to the prep center"),
        stamps=("in_transit_at",),
    ),
    _m(
        "registered",
        "at_prep_center",
        "coordinator mechanic detailer",
        PREP,
        N_("check the car in at the prep center"),
        stamps=("arrived_prep_center_at",),
    ),
    _m(
        "registered",
        "archived",
        "seller manager",
        OWNER,
        N_("cancel the order"),
        stamps=("archived_at",),
    ),
    _m(
        "in_transit",
        "at_prep_center",
        "coordinator mechanic detailer",
        PREP,
        N_("check the car in at the prep center"),
        stamps=("arrived_prep_center_at",),
    ),
    _m("at_prep_center", "inspection", "coordinator mechanic", PREP, N_("start the inspection")),
    _m(
        "inspection",
        "parts_ordered",
        "coordinator mechanic",
        PREP,
        N_("wait for parts"),
        check=_inspection_recorded,
    ),
    _m(
        "inspection",
        "technical_prep",
        "coordinator mechanic",
        PREP,
        N_("start technical prep"),
        check=_inspection_approved,
    ),
    _m(
        "inspection",
        "cosmetic_prep",
        "coordinator mechanic",
        PREP,
        N_("go straight to cosmetic prep"),
        check=_inspection_approved,
    ),
    _m(
        "parts_ordered",
        "technical_prep",
        "coordinator mechanic",
        PREP,
        N_("start technical prep"),
        check=waiting_on_parts,
    ),
    _m(
        "technical_prep",
        "parts_ordered",
        "coordinator mechanic",
        PREP,
        N_("put the car back to wait for parts"),
    ),
    _m(
        "technical_prep",
        "cosmetic_prep",
        "coordinator mechanic",
        PREP,
        N_("finish technical prep"),
        stamps=("technical_completed_at",),
    ),
    _m(
        "technical_prep",
        "ready_for_delivery",
        "coordinator mechanic",
        PREP,
        N_("finish technical prep (no cosmetic work)"),
        stamps=("technical_completed_at", "ready_for_delivery_at"),
    ),
    _m(
        "cosmetic_prep",
        "technical_prep",
        "coordinator",
        PREP,
        N_("send the car back to technical prep"),
        clears=("technical_completed_at",),
    ),
    _m(
        "cosmetic_prep",
        "ready_for_delivery",
        "coordinator detailer",
        PREP,
        N_("finish cosmetic prep"),
        stamps=("cosmetic_completed_at", "ready_for_delivery_at"),
    ),
    _m(
        "ready_for_delivery",
        "cosmetic_prep",
        "coordinator",
        PREP,
        N_("send the car back to cosmetic prep"),
        clears=("ready_for_delivery_at", "cosmetic_completed_at", "delivered_to_dealership_at"),
    ),
    _m(
        "ready_for_delivery",
        "technical_prep",
        "coordinator",
        PREP,
        N_("send the car back to technical prep"),
        clears=(
            "ready_for_delivery_at",
            "technical_completed_at",
            "cosmetic_completed_at",
            "delivered_to_dealership_at",
        ),
    ),
    _m(
        "ready_for_delivery",
        "delivered",
        "seller manager",
        OWNER,
        N_("hand the car over to the customer"),
        # A car prepared at its own dealership is at the dealership when it is handed over; one
        # prepared elsewhere must have been recorded back at the dealership (the check).
        stamps=("sold_at", "delivered_to_dealership_at", "delivered_to_customer_at"),
        check=back_at_dealership,
    ),
    _m(
        "delivered",
        "archived",
        "seller manager",
        OWNER,
        N_("archive the car"),
        stamps=("archived_at",),
    ),
)

_BY_PAIR: dict[tuple[str, str], Move] = {(m.source, m.target): m for m in TRANSITIONS}


def moves_from(status: str) -> list[Move]:
    """The moves that exist from ``status`` (whoever may make them)."""
    return [m for m in TRANSITIONS if m.source == status]


def find_move(source: str, target: str) -> Move | None:
    return _BY_PAIR.get((source, target))


def _who(roles: frozenset[str]) -> str:
    names = [label.lower() for role, label in ROLE_LABELS.items() if role in roles | {"admin"}]
    if len(names) == 1:
        return names[0]
    # TRANSLATORS: a list of roles: "seller, manager or admin".
    return _("{names} or {last}").format(names=", ".join(names[:-1]), last=names[-1])


def side_ok(session: Session, actor: Actor, car: Car, side: str) -> bool:
    """Is the actor on the side of the business that makes this kind of move?"""
    if actor.all_dealerships:
        return True
    owner = actor.sees_dealership(car.dealership_id)
    prep = actor.sees_dealership(car.prep_center_id) or bool(
        car_access.providers(session, car.id) & actor.dealership_ids
    )
    return {OWNER: owner, PREP: prep, ANY: owner or prep}[side]


def refusal(session: Session, actor: Actor, car: Car, target: str) -> PrepfloorError | None:
    """Why ``actor`` may not move ``car`` to ``target`` now, or ``None`` when they may."""
    label = CAR_STATUS_LABELS
    if target == car.status:
        return WorkflowRefused(_("The car is already at “{status}”.").format(status=label[target]))
    move = find_move(car.status, target)
    if move is None:
        # TRANSLATORS: a car status in the list of the statuses a car can go to next.
        nexts = [_("“{status}”").format(status=label[m.target]) for m in moves_from(car.status)]
        if nexts:
            message = _(
                "The car is at “{status}”; it cannot go to “{target}” from there. "
                "Next it can go to {statuses}."
            )
        else:
            message = _(
                "The car is at “{status}”; it cannot go to “{target}” from there. "
                "It is at the last stage."
            )
        return WorkflowRefused(
            message.format(
                status=label[car.status], target=label[target], statuses=", ".join(nexts)
            )
        )
    if actor.role != "admin" and actor.role not in move.roles:
        who = _who(move.roles)
        # TRANSLATORS: {roles} is a list of roles ("seller, manager or admin"), {action} what the
        # move does ("send the car to the prep center"). The English article follows the roles.
        if _article(who) == "an":
            message = _("Only an {roles} can {action}.")
        else:
            message = _("Only a {roles} can {action}.")
        return NotAllowed(message.format(roles=who, action=_(move.verb)))
    if not side_ok(session, actor, car, move.side):
        if move.side == OWNER:
            message = _("Only the selling dealership of this car can {action}.")
        else:
            message = _("Only the prep center of this car can {action}.")
        return NotAllowed(message.format(action=_(move.verb)))
    problem = move.check(car) if move.check is not None else None
    return WorkflowRefused(problem) if problem else None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


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
    if car is None or not (
        actor.sees_car(car.dealership_id, car.prep_center_id)
        or actor.sees_car(None, None, car_access.providers(session, car.id))
    ):
        raise NotFound(
            _("Car #{car} does not exist or is not one of your dealership's cars.").format(
                car=car_id
            )
        )
    return car


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
