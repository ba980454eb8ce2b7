"""A car's rules that read only its values: the workflow's transition table (which moves exist,
who may make them, from which side of the business, and what must be true first), what a car
needs before it is registered, which delivery milestones can be recorded, and who may see it.

Nothing here reads the database or loads the ORM: the car view (:mod:`db.queries`) reads a car
through the fast reader and asks these rules what it offers, and the writes (:mod:`db.workflow`,
:mod:`db.cars`, :mod:`db.delivery`) check the same rules on the model they are about to change.
A ``car`` here is anything with the car's fields as attributes (the model, or the car view's
row).  Where a rule needs the other dealerships that work on the car, it is given ``providers``, a
function that reads them (only called when the car's own dealerships do not decide).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from db import clock, formats, validate
from db.access import Actor
from db.errors import NotAllowed, NotFound, PrepfloorError, WorkflowRefused
from db.i18n import N_, Labels, _
from db.vocab import CAR_STATUS_LABELS, CAR_STATUSES, ROLE_LABELS

if TYPE_CHECKING:
    from db.models import Car

Providers = Callable[[], set[int]]

REQUIRED_TO_REGISTER = Labels(
    {
        "vin": N_("VIN"),
        "brand": N_("Brand"),
        "model": N_("Model"),
        "order_number": N_("Order number"),
        "customer_name": N_("Customer name"),
        "car_type": N_("Car type"),
    }
)


def registration_problems(car: Car) -> dict[str, str]:
    """What is missing or wrong before a car can be registered (field → message)."""
    problems: dict[str, str] = {}
    for name, label in REQUIRED_TO_REGISTER.items():
        if getattr(car, name) in (None, ""):
            problems[name] = _("{label} is required.").format(label=label)
    if car.vin and "vin" not in problems:
        vin_problem = validate.vin_problem(car.vin)
        if vin_problem:
            problems["vin"] = vin_problem
    if car.seller_id is None:
        problems["seller_id"] = _("Seller is required.")
    if car.prep_center_id is None:
        problems["dealership_id"] = _(
            "The dealership has no prep center: an admin must set its default prep center."
        )
    return problems


OWNER = "owner"  # the dealership that sells the car
PREP = "prep"  # the prep center that works on it
ANY = "any"

Check = Callable[["Car"], str | None]


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


def check_visible(actor: Actor, car_id: int, car: Car | None, providers: Providers) -> Car:
    """``car`` if the actor may see it (the car scoping rule); else NotFound, as for no car."""
    if car is None or not (
        actor.sees_car(car.dealership_id, car.prep_center_id)
        or actor.sees_car(None, None, providers())
    ):
        raise NotFound(
            _("Car #{car} does not exist or is not one of your dealership's cars.").format(
                car=car_id
            )
        )
    return car


def on_side(actor: Actor, car: Car, side: str, providers: Providers) -> bool:
    """Is the actor on the side of the business that makes this kind of move?"""
    if actor.all_dealerships:
        return True
    owner = actor.sees_dealership(car.dealership_id)
    prep = actor.sees_dealership(car.prep_center_id) or bool(providers() & actor.dealership_ids)
    return {OWNER: owner, PREP: prep, ANY: owner or prep}[side]


def refusal(actor: Actor, car: Car, target: str, providers: Providers) -> PrepfloorError | None:
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
    if not on_side(actor, car, move.side, providers):
        if move.side == OWNER:
            message = _("Only the selling dealership of this car can {action}.")
        else:
            message = _("Only the prep center of this car can {action}.")
        return NotAllowed(message.format(action=_(move.verb)))
    problem = move.check(car) if move.check is not None else None
    return WorkflowRefused(problem) if problem else None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


# Delivery milestones: recorded by the selling side (:mod:`db.delivery`).
MILESTONES: tuple[str, ...] = ("delivered_to_dealership_at", "sold_at", "delivered_to_customer_at")
MILESTONE_LABELS = Labels(
    {
        "delivered_to_dealership_at": N_("Arrived at the dealership"),
        "sold_at": N_("Sold"),
        "delivered_to_customer_at": N_("Handed over to the customer"),
    }
)
_SOLD_FROM = CAR_STATUSES.index("registered")
_SOLD_UNTIL = CAR_STATUSES.index("delivered")


def when(value: datetime) -> str:
    """A moment as the floor reads it, in the site's time zone: 'Mon, 7 Jan 2030 08:00' /
    'man. 7. jan. 2030 08:00'."""
    return formats.moment_year(clock.local(value))


def milestone_problem(car: Car, milestone: str) -> str | None:
    """Why ``milestone`` cannot be recorded on ``car`` now (whoever asks), or ``None``."""
    recorded = getattr(car, milestone)
    if recorded is not None:
        return _("{milestone} was already recorded on {moment}.").format(
            milestone=MILESTONE_LABELS[milestone], moment=when(recorded)
        )
    status = car.status
    where = CAR_STATUS_LABELS.get(status, status).lower()
    if milestone == "sold_at":
        if status == "draft":
            return _("Register the order first.")
        if not _SOLD_FROM <= CAR_STATUSES.index(status) <= _SOLD_UNTIL:
            return _("The car is {status}: a sale can no longer be recorded.").format(status=where)
        return None
    if status != "ready_for_delivery":
        if milestone == "delivered_to_customer_at" and status in ("delivered", "archived"):
            return _("The car is already {status}.").format(status=where)
        return _(
            "The car is not ready for delivery yet: it is at {status}. "
            "Record this once the prep center has finished it."
        ).format(status=where)
    if milestone == "delivered_to_customer_at":
        return back_at_dealership(car)
    return None


def milestone_options(car: Car) -> list[tuple[str, str | None]]:
    """Each milestone with why it cannot be recorded now (``None``: it can), for the car screen."""
    return [(m, milestone_problem(car, m)) for m in MILESTONES]
