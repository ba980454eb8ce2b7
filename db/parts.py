"""Parts orders (improvement 1, US-1.3): what was ordered for a car, by which side, and where it is.

A part goes ``ordered → in_transit → arrived → installed`` (or is cancelled before it is
installed).  The car's four parts timestamps follow its orders (:func:`sync_car_parts`): a side has
ordered parts from its first order on, and they have arrived when every order of that side that is
not cancelled has arrived.  :func:`db.workflow.waiting_on_parts` reads those timestamps, so the
workflow and the bookings wait for the parts without knowing about the orders.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from db import events, notify, validate, workflow
from db.access import Actor
from db.clock import utcnow
from db.engine import for_update
from db.errors import Invalid, NotAllowed, NotFound, Stale, WorkflowRefused
from db.i18n import N_, _
from db.models import Car, PartsOrder
from db.said import Said
from db.vocab import (
    CAR_INACTIVE_STATUSES,
    CAR_STATUS_LABELS,
    PARTS_ORDERED_BY,
    PARTS_STATUS_LABELS,
    PARTS_STATUSES,
    TIMES_SIGN,
)

PART_MOVES: dict[str, tuple[str, ...]] = {
    "ordered": ("in_transit", "arrived", "cancelled"),
    "in_transit": ("arrived", "cancelled"),
    "arrived": ("installed", "cancelled"),
    "installed": (),
    "cancelled": (),
}
# the car's timestamps per side: (ordered, arrived)
SIDE_FIELDS: dict[str, tuple[str, str]] = {
    "seller": ("parts_ordered_seller_at", "parts_arrived_seller_at"),
    "prep_center": ("parts_ordered_prep_at", "parts_arrived_prep_at"),
}
MAX_QUANTITY = 999
_LENGTHS = {"part_name": 120, "part_number": 60, "supplier": 120}
_TOO_LONG = {
    "part_name": N_("Part name is at most {limit} characters."),
    "part_number": N_("Part number is at most {limit} characters."),
    "supplier": N_("Supplier is at most {limit} characters."),
}


def _text(value: str | None, field: str) -> str | None:
    text = validate.clean_text(value)
    limit = _LENGTHS[field]
    if text is not None and len(text) > limit:
        raise Invalid(_(_TOO_LONG[field]).format(limit=limit), field)
    return text


def _quantity(value: int | str | None) -> int:
    message = _("Quantity is a whole number from 1 to {most}.").format(most=MAX_QUANTITY)
    if value is None or isinstance(value, bool):
        raise Invalid(message, "quantity")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise Invalid(message, "quantity") from None
    if not 1 <= number <= MAX_QUANTITY:
        raise Invalid(message, "quantity")
    return number


def _part_words(order: PartsOrder) -> str:
    """The part and how many, e.g. Brake pads x2 (with the multiplication sign)."""
    return order.part_name + (f" {TIMES_SIGN}{order.quantity}" if order.quantity != 1 else "")


def sync_car_parts(session: Session, car: Car) -> dict[str, list[Any]]:
    """Recompute the car's parts timestamps from its orders; returns ``{field: [old, new]}``.

    Per side, from the orders that are not cancelled: ordered at the earliest ``ordered_at``;
    arrived at the latest ``arrived_at`` once every one of them has arrived (or is installed).
    A side without any order at all keeps what was recorded on the car by hand.
    """
    orders = session.exec(select(PartsOrder).where(PartsOrder.car_id == car.id)).all()
    changes: dict[str, list[Any]] = {}
    for side, (ordered_field, arrived_field) in SIDE_FIELDS.items():
        mine = [o for o in orders if o.ordered_by == side]
        if not mine:
            continue
        live = [o for o in mine if o.status != "cancelled"]
        ordered = min((o.ordered_at for o in live if o.ordered_at), default=None)
        arrived = None
        if live and all(o.status in ("arrived", "installed") for o in live):
            arrived = max((o.arrived_at for o in live if o.arrived_at), default=None)
        for name, value in ((ordered_field, ordered), (arrived_field, arrived)):
            if getattr(car, name) != value:
                changes[name] = [getattr(car, name), value]
                setattr(car, name, value)
    if changes:
        car.updated_at = utcnow()
        session.add(car)
        session.flush()
    return changes


def order_part(
    session: Session,
    actor: Actor,
    car_id: int,
    *,
    part_name: str,
    part_number: str | None = None,
    quantity: int | str = 1,
    supplier: str | None = None,
    ordered_by: str | None = None,
    notes: str | None = None,
) -> PartsOrder:
    """Order a part for a car, as the seller's side or the prep center's side."""
    actor.require("parts.order")
    car = workflow.load_car(session, actor, car_id, lock=True)
    if car.status in CAR_INACTIVE_STATUSES:
        raise WorkflowRefused(
            _("The car is {status}: parts can no longer be ordered for it.").format(
                status=CAR_STATUS_LABELS[car.status].lower()
            )
        )
    if ordered_by is None:
        ordered_by = "seller" if actor.role in ("seller", "manager") else "prep_center"
    ordered_by = (ordered_by or "").strip().lower()
    if ordered_by not in PARTS_ORDERED_BY:
        raise Invalid(_("Ordered by is the seller or the prep center."), "ordered_by")
    if ordered_by == "seller" and not workflow.side_ok(session, actor, car, workflow.OWNER):
        raise NotAllowed(
            _(
                "Only the selling dealership of this car can order parts as the seller; "
                "order them as the prep center."
            )
        )
    if ordered_by == "prep_center" and not workflow.side_ok(session, actor, car, workflow.PREP):
        raise NotAllowed(
            _(
                "Only the prep center of this car can order parts as the prep center; "
                "order them as the seller."
            )
        )
    return place_order(
        session,
        actor,
        car,
        part_name=part_name,
        part_number=part_number,
        quantity=quantity,
        supplier=supplier,
        ordered_by=ordered_by,
        notes=notes,
    )


def place_order(
    session: Session,
    actor: Actor,
    car: Car,
    *,
    part_name: str,
    part_number: str | None,
    quantity: int | str,
    supplier: str | None,
    ordered_by: str,
    notes: str | None,
) -> PartsOrder:
    """Write the order for a locked car whose side was checked (:func:`order_part`, or an approved
    estimate of :mod:`db.estimates`, whose approval is the authority): the row, the car's parts
    timestamps, the event and the notification."""
    name = _text(part_name, "part_name")
    if name is None:
        raise Invalid(_("Part name is required (e.g. Brake pads front)."), "part_name")
    number = _text(part_number, "part_number")
    count = _quantity(quantity)
    source = _text(supplier, "supplier")
    note = (notes or "").strip() or None
    now = utcnow()
    order = PartsOrder(
        car_id=car.id,  # type: ignore[arg-type]
        part_name=name,
        part_number=number,
        quantity=count,
        supplier=source,
        status="ordered",
        ordered_by=ordered_by,
        notes=note,
        ordered_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    car_changes = sync_car_parts(session, car)
    changes: dict[str, Any] = {
        "part_name": name,
        "part_number": number,
        "quantity": count,
        "supplier": source,
        "ordered_by": ordered_by,
        "status": "ordered",
    }
    if note:
        changes["notes"] = note
    if car_changes:
        changes["car"] = car_changes
    events.record(session, actor, "parts_orders", order.id, "order", changes, car_id=car.id)
    # the notification keeps its words, so that each reader reads it in their language
    if ordered_by == "seller":
        what = Said("Parts ordered by the seller")
    else:
        what = Said("Parts ordered by the prep center")
    notify.parts_changed(session, actor, car, what, _part_words(order))
    return order


def set_part_status(
    session: Session,
    actor: Actor,
    part_id: int,
    status: str,
    *,
    expected_status: str | None = None,
    note: str | None = None,
) -> PartsOrder:
    """Move a part on (in transit, arrived, installed) or cancel it."""
    actor.require("parts.order")
    missing = NotFound(
        _("Part order #{id} does not exist or is not on one of your cars.").format(id=part_id)
    )
    car_id = session.exec(select(PartsOrder.car_id).where(PartsOrder.id == part_id)).first()
    if car_id is None:
        raise missing
    try:
        car = workflow.load_car(session, actor, car_id, lock=True)
    except NotFound:
        raise missing from None
    order = session.exec(for_update(select(PartsOrder).where(PartsOrder.id == part_id))).one()
    old = order.status
    label = PARTS_STATUS_LABELS
    if expected_status is not None and old != expected_status:
        raise Stale(
            _(
                "Someone else changed this part meanwhile: it is now {now}, not {expected}. "
                "Look at it again before you change it."
            ).format(
                now=label[old].lower(),
                expected=label.get(expected_status, expected_status).lower(),
            )
        )
    status = (status or "").strip().lower()
    if status not in PARTS_STATUSES:
        raise Invalid(
            _("A part is ordered, in transit, arrived, installed or cancelled."), "status"
        )
    if status == old:
        raise WorkflowRefused(
            _("{part} is already {status}.").format(part=order.part_name, status=label[old].lower())
        )
    nexts = PART_MOVES[old]
    if status not in nexts:
        if not nexts:
            raise WorkflowRefused(
                _(
                    "{part} is {status}: that is final. Order the part again if it is needed."
                ).format(part=order.part_name, status=label[old].lower())
            )
        names = [label[n].lower() for n in nexts]
        way = names[0]
        if len(names) > 1:
            way = _("{some} or {last}").format(some=", ".join(names[:-1]), last=names[-1])
        raise WorkflowRefused(
            _("{part} is {status}; it cannot be {target} from there. Next it can be {way}.").format(
                part=order.part_name,
                status=label[old].lower(),
                target=label[status].lower(),
                way=way,
            )
        )
    if status == "installed" and not workflow.side_ok(session, actor, car, workflow.PREP):
        raise NotAllowed(_("Only the prep center of this car can mark its parts installed."))
    now = utcnow()
    order.status = status
    if status == "arrived":
        order.arrived_at = now
    order.updated_at = now
    session.add(order)
    session.flush()
    car_changes = sync_car_parts(session, car)
    changes: dict[str, Any] = {"status": [old, status], "part_name": order.part_name}
    note = (note or "").strip() or None
    if note:
        changes["note"] = note
    if car_changes:
        changes["car"] = car_changes
    events.record(session, actor, "parts_orders", order.id, "status", changes, car_id=car.id)
    if status == "arrived":
        notify.parts_changed(session, actor, car, Said("Parts arrived"), _part_words(order))
    return order
