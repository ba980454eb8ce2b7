"""Writing a milestone's message to a car's customer into the outbox, in the caller's transaction.

The workflow calls :func:`on_move` when a car changes status (registered, arrived at the prep
center, ready for delivery), the sender's periodic pass for a delay, the estimates for an
estimate waiting for the customer's answer.  A message is written only when the car's dealership
chose that milestone and the car has an address for a channel: the dealership's channel first,
else the other one.  When the dealership previews messages, it is a draft the seller releases;
else it is queued for the sender.  A milestone is written once per car and occasion (a delay: once
per promised date): a second try, or two writers at once, write nothing more.

Light on imports: the workflow imports this module (it does not import the workflow).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from db import events
from db.access import Actor
from db.clock import utcnow
from db.models import Car, OutboxMessage
from db.outbox_templates import car_values, check_text, choices_of, fill, wording

# car status reached -> the milestone it is for the customer
MILESTONE_OF_STATUS = {
    "registered": "registered",
    "at_prep_center": "arrived",
    "ready_for_delivery": "ready",
}


def recipient_for(car: Car, channel: str) -> str | None:
    """The car's address for ``channel`` (``None``: the car has none)."""
    value = car.customer_email if channel == "email" else car.customer_phone
    value = (value or "").strip()
    if channel == "sms":
        value = "".join(c for c in value if c.isdigit() or c == "+")
    return value or None


def channel_for(car: Car, preferred: str) -> str | None:
    """The dealership's channel when the car has an address for it, else the other, else None."""
    for channel in (preferred, "sms" if preferred == "email" else "email"):
        if recipient_for(car, channel):
            return channel
    return None


def _occasion(car: Car, milestone: str, given: object) -> str | None:
    if given is not None:
        return str(given)[:40]
    if milestone in ("registered", "arrived"):
        return "once"
    if milestone == "ready" and car.ready_for_delivery_at is not None:
        return car.ready_for_delivery_at.isoformat()[:40]  # again after rework: a new occasion
    if milestone == "delayed" and car.expected_delivery_date is not None:
        return car.expected_delivery_date.isoformat()
    return None


def write_milestone(
    session: Session,
    actor: Actor | None,
    car: Car,
    milestone: str,
    values: dict[str, Any] | None = None,
    *,
    occasion: object = None,
) -> OutboxMessage | None:
    """The message of ``milestone`` for ``car`` written (a draft or queued), or ``None`` when the
    dealership did not choose it, the car has no address, or it was written before."""
    choices = choices_of(session, car.dealership_id)
    if milestone not in choices.milestones:
        return None
    channel = channel_for(car, choices.channel)
    if channel is None:
        return None
    key = _occasion(car, milestone, occasion)
    if key is not None:
        before = session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.car_id == car.id,
                OutboxMessage.milestone == milestone,
                OutboxMessage.occasion == key,
            )
        ).first()
        if before is not None:
            return None
    language = choices.language
    words = wording(session, car.dealership_id, milestone, language, channel)
    filled = car_values(session, car, language, values)
    subject = fill(words.subject, filled) if words.subject else None
    subject, body = check_text(channel, subject, fill(words.body, filled))
    now = utcnow()
    message = OutboxMessage(
        car_id=car.id,  # type: ignore[arg-type]
        dealership_id=car.dealership_id,
        channel=channel,
        recipient=recipient_for(car, channel),  # type: ignore[arg-type]
        subject=subject,
        body=body,
        milestone=milestone,
        occasion=key,
        language=language,
        state="draft" if choices.preview else "queued",
        next_attempt_at=now,
        created_by_id=actor.user_id if actor else None,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():  # another writer of the same occasion: nothing more
            session.add(message)
            session.flush()
    except IntegrityError:
        return None
    events.record(
        session,
        actor,
        "outbox_messages",
        message.id,
        "write",
        {"milestone": milestone, "channel": channel, "state": message.state},
        car_id=car.id,
    )
    return message


def on_move(session: Session, actor: Actor | None, car: Car, target: str) -> None:
    """A car reached ``target``: its milestone's message, when the dealership chose it."""
    milestone = MILESTONE_OF_STATUS.get(target)
    if milestone is not None:
        write_milestone(session, actor, car, milestone)
