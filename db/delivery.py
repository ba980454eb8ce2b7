"""Delivery milestones (US-1.6): back at the dealership, sold, handed over to the customer.

The seller records them; the handover is the workflow's move ``ready_for_delivery → delivered``
(:mod:`db.workflow` holds its rule: a car prepared elsewhere must be back at the dealership first),
so recording it here and pressing the status key on the car screen obey the same rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from db import clock, events, workflow
from db.access import Actor
from db.car_rules import MILESTONE_LABELS, MILESTONES, milestone_problem, when
from db.clock import utcnow
from db.errors import Invalid, NotAllowed, Stale, WorkflowRefused
from db.i18n import _
from db.models import Car
from db.vocab import ROLE_LABELS

SELLING_ROLES = frozenset({"seller", "manager", "admin"})
# a moment typed a little ahead of the machine's clock is still "now"
FUTURE_SLACK = timedelta(minutes=5)


def past_moment(
    value: datetime | None, label: str, field: str, *, not_before: datetime | None = None
) -> datetime:
    """``value`` (now when ``None``) as an aware UTC time; not in the future, not before
    ``not_before``.  A naive time is taken as the site's local time (what a user types)."""
    now = utcnow()
    if value is None:
        return now
    if not isinstance(value, datetime):
        raise Invalid(_("{what}: give a date and time.").format(what=label), field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    moment = clock.as_utc(value)
    assert moment is not None
    if moment > now + FUTURE_SLACK:
        raise Invalid(
            _("{what} cannot be in the future (it is now {now}).").format(
                what=label, now=when(now)
            ),
            field,
        )
    if not_before is not None and moment < not_before:
        raise Invalid(
            _("{what} cannot be before {moment}.").format(what=label, moment=when(not_before)),
            field,
        )
    return moment


def record_milestone(
    session: Session,
    actor: Actor,
    car_id: int,
    milestone: str,
    *,
    at: datetime | None = None,
    expected_updated_at: datetime | None = None,
) -> Car:
    """Record a delivery milestone of a car at ``at`` (now when not given)."""
    if actor.role not in SELLING_ROLES:
        raise NotAllowed(
            _(
                "Only a seller, manager or admin can record delivery milestones; "
                "you are signed in as {role}."
            ).format(role=ROLE_LABELS.get(actor.role, actor.role).lower())
        )
    if milestone not in MILESTONES:
        raise Invalid(
            _("A milestone is the arrival at the dealership, the sale or the handover."),
            "milestone",
        )
    car = workflow.load_car(session, actor, car_id, lock=True)
    if not workflow.side_ok(session, actor, car, workflow.OWNER):
        raise NotAllowed(_("Only the selling dealership of this car can record its delivery."))
    if expected_updated_at is not None and car.updated_at != expected_updated_at:
        raise Stale(
            _(
                "Someone else saved this car after you opened it. Look at it again before you "
                "record the milestone."
            )
        )
    label = MILESTONE_LABELS[milestone]
    problem = milestone_problem(car, milestone)
    if problem is not None:
        if getattr(car, milestone) is not None:
            raise Invalid(problem, "milestone")
        if milestone != "delivered_to_customer_at":  # the handover's refusal is the workflow's
            raise WorkflowRefused(problem)
    earliest = car.registered_at
    if milestone != "sold_at":
        earliest = max((t for t in (earliest, car.ready_for_delivery_at) if t), default=None)
    if milestone == "delivered_to_customer_at" and car.delivered_to_dealership_at:
        earliest = max(t for t in (earliest, car.delivered_to_dealership_at) if t)
    moment = past_moment(at, label, "at", not_before=earliest)
    if milestone == "delivered_to_customer_at":
        before = {m: getattr(car, m) for m in MILESTONES}
        car = workflow.move_car(session, actor, car_id, "delivered")
        if at is not None:
            changes: dict[str, Any] = {}
            for name, old in before.items():
                # the handover stamped these now; it happened at ``moment``
                if old is None and getattr(car, name) != moment:
                    changes[name] = [getattr(car, name), moment]
                    setattr(car, name, moment)
            if changes:
                session.add(car)
                session.flush()
                events.record(session, actor, "cars", car.id, "milestone", changes, car_id=car.id)
        return car
    setattr(car, milestone, moment)
    car.updated_at = utcnow()
    session.add(car)
    session.flush()
    events.record(
        session, actor, "cars", car.id, "milestone", {milestone: [None, moment]}, car_id=car.id
    )
    return car
