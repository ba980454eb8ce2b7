"""Estimates decided by the seller (issue 20): an answer per line, and the decision that orders the
approved parts and books the approved labour in its own transaction, or saves nothing when a
booking does not fit.  The rest of an estimate's rules are :mod:`db.estimates`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sqlmodel import Session

from db import events, inspection, ledger, nearest, notify, parts, workflow
from db.access import Actor
from db.clock import local_today, utcnow
from db.errors import DoesNotFit, Invalid, NotAllowed, NotFound, PrepfloorError, WorkflowRefused
from db.estimates import DECISIONS, ENTITY, _line, _line_event, _load, _nok, _touch, lines_of
from db.i18n import _
from db.models import Car, Estimate, EstimateLine
from db.said import Said, label
from db.vocab import CAR_INACTIVE_STATUSES, CAR_STATUS_LABELS, ESTIMATE_STATE_LABELS


def _deciding(session: Session, actor: Actor, estimate_id: int) -> tuple[Estimate, Car]:
    actor.require("estimate.decide")
    found, car = _load(session, actor, estimate_id, lock=True)
    if not workflow.side_ok(session, actor, car, workflow.OWNER):
        raise NotAllowed(_("Only the selling dealership of this car can approve its estimates."))
    if found.state != "sent":
        raise WorkflowRefused(
            _("Estimate #{id} is {state}: only an estimate sent for approval is decided.").format(
                id=found.id, state=ESTIMATE_STATE_LABELS[found.state].lower()
            )
        )
    return found, car


def mark_line(session: Session, actor: Actor, line_id: int, decision: str) -> EstimateLine:
    """The seller's answer for one line of a sent estimate (approved, declined, or pending
    again).  Nothing is ordered or booked until the estimate is decided (:func:`decide`)."""
    line = _line(session, line_id)
    _found, car = _deciding(session, actor, line.estimate_id)
    decision = (decision or "").strip().lower()
    if decision not in (*DECISIONS, "pending"):
        raise Invalid(_("A line is approved or declined."), "decision")
    old = line.decision
    if old != decision:
        line.decision = decision
        line.updated_at = utcnow()
        session.add(line)
        session.flush()
        _line_event(session, actor, line, "mark", {"decision": [old, decision]}, car.id)  # type: ignore[arg-type]
    return line


def decide(
    session: Session,
    actor: Actor,
    estimate_id: int,
    *,
    all_lines: str | None = None,
    decisions: Mapping[int, str] | None = None,
    customer_answer: str | None = None,
) -> Estimate:
    """Decide a sent estimate: ``all_lines`` (approved or declined) answers every line still
    pending, ``decisions`` (line id → approved / declined) answers those lines; then no line may
    be pending.  In this transaction the approved parts are ordered and the approved labour is
    booked at the car's prep center on the nearest day with room; when a booking does not fit,
    the whole decision is refused with the ledger's reason and nothing is saved.  The state
    becomes approved, declined or partly approved; who decided and when, and the customer's
    answer, are kept."""
    found, car = _deciding(session, actor, estimate_id)
    lines = lines_of(session, [estimate_id])[estimate_id]
    by_id = {line.id: line for line in lines}
    for line_id, decision in (decisions or {}).items():
        if line_id not in by_id:
            raise NotFound(_("That line of the estimate does not exist any more."))
        if decision not in DECISIONS:
            raise Invalid(_("A line is approved or declined."), "decision")
        by_id[line_id].decision = decision
    if all_lines is not None:
        if all_lines not in DECISIONS:
            raise Invalid(_("A line is approved or declined."), "decision")
        for line in lines:
            if line.decision == "pending":
                line.decision = all_lines
    open_ = [n for n, line in enumerate(lines, 1) if line.decision == "pending"]
    if open_:
        raise Invalid(
            _("Approve or decline every line first (still open: line {lines}).").format(
                lines=", ".join(str(n) for n in open_)
            ),
            "decision",
        )
    approved = [line for line in lines if line.decision == "approved"]
    if approved and car.status in CAR_INACTIVE_STATUSES:
        raise WorkflowRefused(
            _("The car is {status}: no more work is done on it.").format(
                status=CAR_STATUS_LABELS[car.status].lower()
            )
        )
    now = utcnow()
    for n, line in enumerate(lines, 1):
        if line.decision == "approved":
            if line.kind == "part":
                _order(session, actor, car, found, line)
            else:
                _book(session, actor, car, found, line, n)
        line.updated_at = now
        session.add(line)
    state = (
        "approved"
        if len(approved) == len(lines)
        else "declined"
        if not approved
        else "partly_approved"
    )
    found.state = state
    found.decided_at = now
    found.decided_by_id = actor.user_id
    found.customer_answer = (customer_answer or "").strip() or None
    _touch(session, found)
    session.flush()
    approved_ore = sum(line.amount_ore for line in approved)
    events.record(
        session,
        actor,
        ENTITY,
        found.id,
        "decide",
        {
            "state": ["sent", state],
            "approved_ore": approved_ore,
            "declined_ore": sum(line.amount_ore for line in lines) - approved_ore,
            "lines": {str(line.id): line.decision for line in lines},
            "customer_answer": found.customer_answer,
        },
        car_id=car.id,
    )
    coordinators = notify.users_with_role(session, "coordinator", [car.prep_center_id])
    notify.send(
        session,
        actor,
        [*coordinators, found.sent_by_id],
        "estimate",
        Said(
            "Estimate #{id} for {car} was decided by {who}: {state}, {total} NOK approved.",
            id=found.id,
            car=notify._car_name(car),
            state=label(ESTIMATE_STATE_LABELS.source(state)),
            who=actor.display_name,
            total=_nok(approved_ore),
        ),
        car_id=car.id,
        priority="high" if approved else "medium",
    )
    return found


def _order(session: Session, actor: Actor, car: Car, found: Estimate, line: EstimateLine) -> None:
    order = parts.place_order(
        session,
        actor,
        car,
        part_name=line.description[: parts._LENGTHS["part_name"]],
        part_number=line.part_number,
        quantity=line.quantity or 1,
        supplier=None,
        ordered_by="prep_center",
        notes=f"Estimate #{found.id}",  # stored in English
    )
    line.parts_order_id = order.id
    changes = {"parts_order_id": order.id, "part_name": order.part_name}
    _finding_dealt_with(session, actor, car, found, line, "to_parts", changes)


def _finding_dealt_with(
    session: Session,
    actor: Actor,
    car: Car,
    found: Estimate,
    line: EstimateLine,
    action: str,
    changes: dict[str, object],
) -> None:
    """The inspection finding the line came from is dealt with (a parts order or a booking), as
    :func:`db.inspection.issue_to_parts` and ``issue_to_booking`` record it: the inspection can
    then be approved."""
    if line.inspection_item_id is not None:
        events.record(
            session,
            actor,
            inspection.ENTITY,
            line.inspection_item_id,
            action,
            {**changes, "estimate_id": found.id},
            car_id=car.id,
        )


def _book(
    session: Session, actor: Actor, car: Car, found: Estimate, line: EstimateLine, n: int
) -> None:
    if car.prep_center_id is None:
        raise Invalid(_("The car has no prep center to do the work."), "prep_center_id")
    hours = line.hours or 0.0
    # the nearest day from today with room (the ledger words the refusal when there is none)
    day = nearest.nearest_day(
        session,
        provider_id=car.prep_center_id,
        consumer_id=car.dealership_id,
        resource_type_id=line.resource_type_id,  # type: ignore[arg-type]
        hours=hours,
        around=local_today() - timedelta(days=1),
        user_id=line.user_id,
    )
    try:
        booking = ledger.book(
            session,
            actor,
            resource_type_id=line.resource_type_id,  # type: ignore[arg-type]
            date=day or local_today(),
            estimated_hours=hours,
            car_id=car.id,
            provider_dealership_id=car.prep_center_id,
            user_id=line.user_id,
            notes=f"Estimate #{found.id}: {line.description}",  # stored in English
            action="estimate.decide",
        )
    except DoesNotFit as refusal:
        refusal.reason = _refused(n, line, refusal.reason)
        if refusal.finder is None:
            refusal.found(refusal.nearest_day)
        raise
    except PrepfloorError as refusal:
        raise WorkflowRefused(_refused(n, line, str(refusal))) from refusal
    line.booking_id = booking.id
    changes = {"booking_id": booking.id, "date": booking.date}
    _finding_dealt_with(session, actor, car, found, line, "to_booking", changes)


def _refused(n: int, line: EstimateLine, reason: str) -> str:
    return _("Nothing was approved: line {n} ({what}) cannot be booked. {reason}").format(
        n=n, what=line.description, reason=reason
    )
