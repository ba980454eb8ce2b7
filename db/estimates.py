"""Extra work is estimated and approved before it is done (issue 20): the rules of an estimate.

An estimate is made on a car by its prep center (a mechanic or coordinator): from inspection
findings, one call per finding (:func:`add_finding`), or by hand (:func:`add_part`,
:func:`add_labour`); its lines are edited while it is a draft.  Sent for approval
(:func:`send`), the car's seller hears of it; the seller (for a customer's car, after asking the
customer) approves or declines each line (:func:`mark_line`) or all of them
(:func:`decide` with ``all_lines``), and the decision (:func:`decide`) makes, in the same
transaction, the parts orders (:func:`db.parts.place_order`) and the bookings (:func:`db.ledger.book`,
with its capacity, sharing and overlap rules) of the approved lines.  A booking that does not fit
refuses the whole decision with the ledger's reason, and nothing is saved.  Declined lines stay on
the estimate, on the car's record.  The coordinators of the prep center and whoever sent the
estimate hear of the decision.

States: ``draft → sent → approved | declined | partly_approved``.  The sums are in
:mod:`db.estimate_rows` (money in øre).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from db import events, inspection, notify, parts, validate, workflow
from db.access import Actor
from db.clock import utcnow
from db.engine import for_update
from db.errors import Invalid, NotAllowed, NotFound, WorkflowRefused
from db.estimate_rows import default_hourly_rate_ore, line_amount, parse_nok
from db.i18n import _
from db.models import Car, Estimate, EstimateLine, ResourceType
from db.notify import Role
from db.said import Said
from db.vocab import CAR_INACTIVE_STATUSES, CAR_STATUS_LABELS, ESTIMATE_STATE_LABELS

ENTITY = "estimates"
LINE_ENTITY = "estimate_lines"
DESCRIPTION_MAX = 200
PART_NUMBER_MAX = 60
MAX_QUANTITY = parts.MAX_QUANTITY
DECISIONS = ("approved", "declined")


# ------------------------------------------------------------------------------------------------
# reading (a screen reads a car's estimates through :func:`db.queries.car_estimates`)
# ------------------------------------------------------------------------------------------------
def lines_of(session: Session, estimate_ids: list[int]) -> dict[int, list[EstimateLine]]:
    """The lines of these estimates, in the order they were made (to change them)."""
    if not estimate_ids:
        return {}
    found: dict[int, list[EstimateLine]] = {i: [] for i in estimate_ids}
    for line in session.exec(
        select(EstimateLine)
        .where(col(EstimateLine.estimate_id).in_(estimate_ids))
        .order_by(col(EstimateLine.id))
    ):
        found[line.estimate_id].append(line)
    return found


def _missing(estimate_id: int) -> NotFound:
    return NotFound(
        _("Estimate #{id} does not exist or is not on one of your cars.").format(id=estimate_id)
    )


def _load(
    session: Session, actor: Actor, estimate_id: int, *, lock: bool = False
) -> tuple[Estimate, Car]:
    """The estimate and its car (both locked when asked), if the actor sees the car."""
    car_id = session.exec(select(Estimate.car_id).where(Estimate.id == estimate_id)).first()
    if car_id is None:
        raise _missing(estimate_id)
    try:
        car = workflow.load_car(session, actor, car_id, lock=lock)
    except NotFound:
        raise _missing(estimate_id) from None
    stmt = select(Estimate).where(Estimate.id == estimate_id)
    found = session.exec(for_update(stmt) if lock else stmt).one()
    return found, car


# ------------------------------------------------------------------------------------------------
# making and editing (the prep center)
# ------------------------------------------------------------------------------------------------
def _prep_side(session: Session, actor: Actor, car: Car) -> None:
    actor.require("estimate.edit")
    if not workflow.side_ok(session, actor, car, workflow.PREP):
        raise NotAllowed(_("Only the prep center of this car can make and change its estimates."))


def _editable(session: Session, actor: Actor, estimate_id: int) -> tuple[Estimate, Car]:
    actor.require("estimate.edit")
    found, car = _load(session, actor, estimate_id, lock=True)
    _prep_side(session, actor, car)
    if found.state != "draft":
        raise WorkflowRefused(
            _("Estimate #{id} is {state}: only a draft can be changed.").format(
                id=found.id, state=ESTIMATE_STATE_LABELS[found.state].lower()
            )
        )
    return found, car


def _touch(session: Session, found: Estimate) -> None:
    found.updated_at = utcnow()
    session.add(found)


def draft_for(session: Session, actor: Actor, car_id: int) -> Estimate:
    """The car's draft estimate, made now when it has none (one draft per car)."""
    actor.require("estimate.edit")
    car = workflow.load_car(session, actor, car_id, lock=True)
    _prep_side(session, actor, car)
    found = session.exec(
        select(Estimate).where(Estimate.car_id == car_id, Estimate.state == "draft")
    ).first()
    if found is not None:
        return found
    if car.status in CAR_INACTIVE_STATUSES:
        raise WorkflowRefused(
            _("The car is {status}: no more work is estimated on it.").format(
                status=CAR_STATUS_LABELS[car.status].lower()
            )
        )
    now = utcnow()
    found = Estimate(
        car_id=car_id, state="draft", created_by_id=actor.user_id, created_at=now, updated_at=now
    )
    session.add(found)
    session.flush()
    events.record(session, actor, ENTITY, found.id, "create", {"state": "draft"}, car_id=car_id)
    return found


def _text(value: str | None, field: str, limit: int, required: str | None = None) -> str | None:
    text = validate.clean_text(value)
    if text is None and required:
        raise Invalid(required, field)
    if text is not None and len(text) > limit:
        raise Invalid(_("At most {limit} characters.").format(limit=limit), field)
    return text


def _quantity(value: int | str | None) -> int:
    message = _("Quantity is a whole number from 1 to {most}.").format(most=MAX_QUANTITY)
    try:
        number = int(str(value).strip()) if value is not None else 0
    except ValueError:
        raise Invalid(message, "quantity") from None
    if isinstance(value, bool) or not 1 <= number <= MAX_QUANTITY:
        raise Invalid(message, "quantity")
    return number


def _work(session: Session, resource_type_id: int | None) -> ResourceType:
    if resource_type_id is None:
        raise Invalid(_("Pick the kind of work."), "resource_type_id")
    rt = session.get(ResourceType, resource_type_id)
    if rt is None:
        raise NotFound(_("That resource type does not exist."))
    if not rt.active or not rt.bookable:
        raise Invalid(
            _("{work} cannot be booked; pick another kind of work.").format(work=rt.name),
            "resource_type_id",
        )
    return rt


def _worker(actor: Actor, rt: ResourceType, user_id: uuid.UUID | str | None) -> uuid.UUID | None:
    """Who does the labour: the one chosen; a mechanic's own technical work is theirs."""
    if user_id not in (None, ""):
        return user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    if rt.requires_assignment and actor.role == "mechanic" and rt.prep_stage == "technical":
        return actor.user_id
    return None


def _line_event(
    session: Session,
    actor: Actor,
    line: EstimateLine,
    action: str,
    changes: dict[str, Any],
    car_id: int,
) -> None:
    changes = {"estimate_id": line.estimate_id, **changes}
    events.record(session, actor, LINE_ENTITY, line.id, action, changes, car_id=car_id)


def _add(session: Session, actor: Actor, line: EstimateLine, found: Estimate, car: Car) -> None:
    now = utcnow()
    line.created_at = line.updated_at = now
    line.amount_ore = line_amount(line)
    session.add(line)
    session.flush()
    _touch(session, found)
    _line_event(
        session,
        actor,
        line,
        "add",
        {
            "kind": line.kind,
            "description": line.description,
            "amount_ore": line.amount_ore,
            "inspection_item_id": line.inspection_item_id,
        },
        car.id,  # type: ignore[arg-type]
    )


def add_part(
    session: Session,
    actor: Actor,
    estimate_id: int,
    *,
    description: str,
    part_number: str | None = None,
    quantity: int | str = 1,
    unit_price: str | int | None = None,
    unit_price_ore: int | None = None,
) -> EstimateLine:
    """A part on a draft: what it is, its number, how many and the price of one (NOK as typed,
    or ``unit_price_ore``)."""
    found, car = _editable(session, actor, estimate_id)
    line = EstimateLine(
        estimate_id=found.id,  # type: ignore[arg-type]
        kind="part",
        description=_text(description, "description", DESCRIPTION_MAX, _("Say what the part is.")),  # type: ignore[arg-type]
        part_number=_text(part_number, "part_number", PART_NUMBER_MAX),
        quantity=_quantity(quantity),
        unit_price_ore=unit_price_ore if unit_price_ore is not None else parse_nok(unit_price),
        decision="pending",
    )
    if line.unit_price_ore is None or line.unit_price_ore < 0:  # type: ignore[operator]
        raise Invalid(_("A price is an amount in NOK, e.g. 1250 or 1 250,50."), "price")
    _add(session, actor, line, found, car)
    return line


def add_labour(
    session: Session,
    actor: Actor,
    estimate_id: int,
    *,
    description: str,
    resource_type_id: int | None,
    hours: float | str,
    hourly_rate: str | int | None = None,
    user_id: uuid.UUID | str | None = None,
    inspection_item_id: int | None = None,
) -> EstimateLine:
    """Labour on a draft: the kind of work, its hours and who does it; the price of an hour is
    the line's own (``hourly_rate``, NOK) or the setting's (:func:`default_hourly_rate_ore`)."""
    found, car = _editable(session, actor, estimate_id)
    rt = _work(session, resource_type_id)
    rate = default_hourly_rate_ore() if hourly_rate in (None, "") else parse_nok(hourly_rate)
    line = EstimateLine(
        estimate_id=found.id,  # type: ignore[arg-type]
        kind="labour",
        description=_text(
            description or rt.name, "description", DESCRIPTION_MAX, _("Say what the work is.")
        ),  # type: ignore[arg-type]
        resource_type_id=rt.id,
        hours=validate.hours(hours, "hours"),
        hourly_rate_ore=rate,
        user_id=_worker(actor, rt, user_id),
        inspection_item_id=inspection_item_id,
        decision="pending",
    )
    _add(session, actor, line, found, car)
    return line


def _technical_work(session: Session) -> ResourceType:
    rt = session.exec(
        select(ResourceType)
        .where(ResourceType.prep_stage == "technical", ResourceType.active, ResourceType.bookable)
        .order_by(col(ResourceType.id))
    ).first()
    if rt is None:
        raise Invalid(
            _("No bookable technical work is set up; an admin can add a resource type for it."),
            "resource_type_id",
        )
    return rt


def add_finding(
    session: Session,
    actor: Actor,
    item_id: int,
    *,
    hours: float | str | None = None,
    resource_type_id: int | None = None,
) -> EstimateLine:
    """An inspection finding (an issue or a critical item) becomes a labour line on the car's
    draft estimate (made when there is none): the repair, of the first bookable technical work
    unless told, for its default hours unless told.  A finding is on a draft once."""
    actor.require("estimate.edit")
    item, car = inspection._finding(session, actor, item_id)
    found = draft_for(session, actor, car.id)  # type: ignore[arg-type]
    already = session.exec(
        select(EstimateLine.id).where(
            EstimateLine.estimate_id == found.id, EstimateLine.inspection_item_id == item.id
        )
    ).first()
    label = inspection.item_label(item.item_name)
    if already is not None:
        raise Invalid(
            _("{item} is already on the draft estimate #{id}.").format(item=label, id=found.id),
            "inspection_item_id",
        )
    rt = session.get(ResourceType, resource_type_id) if resource_type_id else None
    rt = rt or _technical_work(session)
    # stored in English, as the item's name
    description = item.item_name + (f": {item.notes}" if item.notes else "")
    return add_labour(
        session,
        actor,
        found.id,  # type: ignore[arg-type]
        description=description[:DESCRIPTION_MAX],
        resource_type_id=rt.id,
        hours=hours if hours not in (None, "") else rt.default_duration_hours,
        inspection_item_id=item.id,
    )


def _line(session: Session, line_id: int) -> EstimateLine:
    """The line (its estimate's rules check who may see and change it)."""
    line = session.get(EstimateLine, line_id)
    if line is None:
        raise NotFound(_("That line of the estimate does not exist any more."))
    return line


def edit_line(session: Session, actor: Actor, line_id: int, **fields: Any) -> EstimateLine:
    """Change a line of a draft: ``description``, ``part_number``, ``quantity``, ``unit_price``
    (a part); ``resource_type_id``, ``hours``, ``hourly_rate``, ``user_id`` (labour)."""
    line = _line(session, line_id)
    found, car = _editable(session, actor, line.estimate_id)
    before = line.model_dump()
    allowed = {"description", "part_number", "quantity", "unit_price"}
    if line.kind == "labour":
        allowed = {"description", "resource_type_id", "hours", "hourly_rate", "user_id"}
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(_("A {kind} line has no {field}.").format(kind=line.kind, field=min(unknown)))
    if "description" in fields:
        line.description = _text(
            fields["description"], "description", DESCRIPTION_MAX, _("Say what it is.")
        )  # type: ignore[assignment]
    if "part_number" in fields:
        line.part_number = _text(fields["part_number"], "part_number", PART_NUMBER_MAX)
    if "quantity" in fields:
        line.quantity = _quantity(fields["quantity"])
    if "unit_price" in fields:
        line.unit_price_ore = parse_nok(fields["unit_price"])
    if "resource_type_id" in fields:
        line.resource_type_id = _work(session, fields["resource_type_id"]).id
    if "hours" in fields:
        line.hours = validate.hours(fields["hours"], "hours")
    if "hourly_rate" in fields:
        value = fields["hourly_rate"]
        line.hourly_rate_ore = (
            default_hourly_rate_ore() if value in (None, "") else parse_nok(value)
        )
    if "user_id" in fields:
        rt = _work(session, line.resource_type_id)
        line.user_id = _worker(actor, rt, fields["user_id"])
    line.amount_ore = line_amount(line)
    line.updated_at = utcnow()
    session.add(line)
    session.flush()
    _touch(session, found)
    changes = events.diff(before, line.model_dump())
    changes.pop("updated_at", None)
    _line_event(session, actor, line, "edit", changes, car.id)  # type: ignore[arg-type]
    return line


def remove_line(session: Session, actor: Actor, line_id: int) -> None:
    """Take a line off a draft."""
    line = _line(session, line_id)
    found, car = _editable(session, actor, line.estimate_id)
    what = {"kind": line.kind, "description": line.description, "amount_ore": line.amount_ore}
    _line_event(session, actor, line, "remove", what, car.id)  # type: ignore[arg-type]
    session.delete(line)
    session.flush()
    _touch(session, found)


# ------------------------------------------------------------------------------------------------
# sending (the prep center) and deciding (the seller)
# ------------------------------------------------------------------------------------------------
def send(session: Session, actor: Actor, estimate_id: int, *, notes: str | None = None) -> Estimate:
    """Send a draft for approval: the car's seller (or, without one, the sellers of its
    dealership) hears of it, and the customer is told when prepfloor tells customers
    (:func:`tell_customer`)."""
    found, car = _editable(session, actor, estimate_id)
    lines = lines_of(session, [estimate_id])[estimate_id]
    if not lines:
        raise Invalid(_("The estimate has no lines: add parts or labour first."), "lines")
    for n, line in enumerate(lines, 1):
        if line.kind != "labour":
            continue
        rt = session.get(ResourceType, line.resource_type_id)
        if rt is not None and rt.requires_assignment and line.user_id is None:
            raise Invalid(
                _("Line {n}: {work} needs a person; edit the line and pick who does it.").format(
                    n=n, work=rt.name
                ),
                "user_id",
            )
    now = utcnow()
    found.state = "sent"
    found.sent_at = now
    found.sent_by_id = actor.user_id
    text = (notes or "").strip() or None
    if text is not None:
        found.notes = text
    _touch(session, found)
    session.flush()
    total = sum(line.amount_ore for line in lines)
    events.record(
        session,
        actor,
        ENTITY,
        found.id,
        "send",
        {"state": ["draft", "sent"], "total_ore": total, "lines": len(lines)},
        car_id=car.id,
    )
    message = Said(
        "Estimate #{id} for {car} waits for your approval: {total} NOK.",
        id=found.id,
        car=notify._car_name(car),
        total=_nok(total),
    )
    sellers: Any = [car.seller_id] if car.seller_id else Role("seller", car.dealership_id)
    notify.send(session, actor, sellers, "estimate", message, car_id=car.id, priority="high")
    tell_customer(session, actor, car.id, found)  # type: ignore[arg-type]
    return found


def _nok(ore: int) -> str:
    """An amount for a notification's values (kept as written: ``1250.50``)."""
    return f"{ore // 100}.{ore % 100:02d}"


def tell_customer(session: Session, actor: Actor, car_id: int, found: Estimate) -> bool:
    """Write the customer's message that an estimate waits for their answer (the outbox's
    "estimate" milestone, once per estimate, with its total), when the car's dealership chose that
    milestone and the car has an address; returns whether a message was written."""
    from db import formats, outbox
    from db.estimate_rows import totals_of

    lines = list(session.exec(select(EstimateLine).where(EstimateLine.estimate_id == found.id)))
    total = formats.nok(totals_of(lines).total)
    written = outbox.queue_milestone(
        session, actor, car_id, "estimate", occasion=str(found.id), total=total
    )
    return written is not None


def mark_line(session: Session, actor: Actor, line_id: int, decision: str) -> EstimateLine:
    """The seller's answer for one line of a sent estimate (:func:`db.estimate_decisions.mark_line`)."""
    from db import estimate_decisions

    return estimate_decisions.mark_line(session, actor, line_id, decision)


def decide(
    session: Session,
    actor: Actor,
    estimate_id: int,
    *,
    all_lines: str | None = None,
    decisions: Mapping[int, str] | None = None,
    customer_answer: str | None = None,
) -> Estimate:
    """Decide a sent estimate; the approved lines are ordered and booked in this transaction, or
    nothing is saved (:func:`db.estimate_decisions.decide`)."""
    from db import estimate_decisions

    return estimate_decisions.decide(
        session,
        actor,
        estimate_id,
        all_lines=all_lines,
        decisions=decisions,
        customer_answer=customer_answer,
    )
