"""Messages to a car's customer, as the seller sees and handles them: the list on the car, a
milestone's message (:func:`queue_milestone`, e.g. for the estimates), one written by hand, a draft
edited and released, a message cancelled or sent again.

Who: the seller of the car's dealership and the coordinators who work on the car write, edit,
release and cancel; a manager reads (``outbox.view`` / ``outbox.send`` in :mod:`db.access`).  What
the sender does with a queued message (claim, hand over, sent, retried, failed) is
:mod:`db.outbox_claim`; the wording :mod:`db.outbox_templates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from db import events, workflow
from db.access import Actor
from db.clock import utcnow
from db.engine import for_update
from db.errors import Invalid, NotAllowed, NotFound, Stale
from db.i18n import _
from db.models import Car, OutboxMessage
from db.outbox_templates import car_values, check_text, choices_of, fill, wording
from db.outbox_write import channel_for, recipient_for, write_milestone
from db.vocab import OUTBOX_CHANNELS, OUTBOX_MILESTONES, OUTBOX_STATE_LABELS


def _may_write(session: Session, actor: Actor, car: Car) -> None:
    """The seller side of the car writes to its customer; a coordinator of either side too."""
    actor.require("outbox.send")
    side = workflow.ANY if actor.role == "coordinator" else workflow.OWNER
    if not workflow.side_ok(session, actor, car, side):
        raise NotAllowed(_("Only the selling dealership of this car can write to its customer."))


def queue_milestone(
    session: Session, actor: Actor | None, car_id: int, milestone: str, **values: Any
) -> OutboxMessage | None:
    """The message of ``milestone`` for the car, when its dealership chose that milestone and the
    car has an address: a draft (the dealership previews) or queued; ``None`` when nothing was
    written.  ``values`` fill the template's places (an estimate's ``total``); ``occasion`` makes
    it once-only (the estimate's id: one message per estimate).  The caller's transaction."""
    if milestone not in OUTBOX_MILESTONES or milestone == "manual":
        raise Invalid(_("{milestone} is not a milestone.").format(milestone=milestone))
    occasion = values.pop("occasion", None)
    if actor is not None:
        car = workflow.load_car(session, actor, car_id)
    else:
        car = session.get(Car, car_id)
        if car is None:
            raise NotFound(_("Car #{car} does not exist.").format(car=car_id))
    return write_milestone(session, actor, car, milestone, values, occasion=occasion)


@dataclass(frozen=True)
class Start:
    """What a message written by hand starts from."""

    channel: str
    recipient: str | None
    subject: str | None
    body: str


def start_message(
    session: Session, actor: Actor, car_id: int, milestone: str = "manual", channel: str = ""
) -> Start:
    """A milestone's template filled in for the car (or the blank one), on ``channel`` (default:
    the dealership's when the car has an address for it)."""
    car = workflow.load_car(session, actor, car_id)
    _may_write(session, actor, car)
    choices = choices_of(session, car.dealership_id)
    chosen = channel or channel_for(car, choices.channel) or choices.channel
    if chosen not in OUTBOX_CHANNELS:
        raise Invalid(_("The channel is email or sms."), "channel")
    if milestone not in OUTBOX_MILESTONES:
        raise Invalid(_("{milestone} is not a milestone.").format(milestone=milestone))
    words = wording(session, car.dealership_id, milestone, choices.language, chosen)
    values = car_values(session, car, choices.language)
    return Start(
        channel=chosen,
        recipient=recipient_for(car, chosen),
        subject=fill(words.subject, values) if words.subject else None,
        body=fill(words.body, values),
    )


def write_by_hand(
    session: Session,
    actor: Actor,
    car_id: int,
    *,
    channel: str,
    subject: str | None,
    body: str,
    draft: bool = False,
) -> OutboxMessage:
    """A message the seller wrote, queued for the sender (or kept as a draft)."""
    car = workflow.load_car(session, actor, car_id)
    _may_write(session, actor, car)
    if channel not in OUTBOX_CHANNELS:
        raise Invalid(_("The channel is email or sms."), "channel")
    recipient = recipient_for(car, channel)
    if recipient is None:
        if channel == "email":
            raise Invalid(
                _("The order has no e-mail address for the customer: add one to the order first."),
                "channel",
            )
        raise Invalid(
            _("The order has no phone number for the customer: add one to the order first."),
            "channel",
        )
    title, text = check_text(channel, subject, body)
    now = utcnow()
    choices = choices_of(session, car.dealership_id)
    message = OutboxMessage(
        car_id=car.id,  # type: ignore[arg-type]
        dealership_id=car.dealership_id,
        channel=channel,
        recipient=recipient,
        subject=title,
        body=text,
        milestone="manual",
        language=choices.language,
        state="draft" if draft else "queued",
        next_attempt_at=now,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    session.flush()
    events.record(
        session,
        actor,
        "outbox_messages",
        message.id,
        "write",
        {"milestone": "manual", "channel": channel, "state": message.state},
        car_id=car.id,
    )
    return message


def _own_message(session: Session, actor: Actor, message_id: int) -> tuple[OutboxMessage, Car]:
    message = session.exec(
        for_update(select(OutboxMessage).where(OutboxMessage.id == message_id))
    ).first()
    if message is None:
        raise NotFound(_("Message #{id} does not exist.").format(id=message_id))
    car = workflow.load_car(session, actor, message.car_id)
    _may_write(session, actor, car)
    return message, car


def _refuse_state(message: OutboxMessage, allowed: tuple[str, ...], what: str) -> None:
    if message.state in allowed:
        return
    if message.state == "sending":
        why = _("it is being handed to the mail server right now")
    elif message.state == "sent":
        why = _("it was sent")
    else:
        why = _("it is {state}").format(state=OUTBOX_STATE_LABELS[message.state].lower())
    # TRANSLATORS: {action} is what was asked ("cancel the message"), {why} the reason.
    raise Stale(_("You cannot {action}: {why}.").format(action=what, why=why))


def edit_message(
    session: Session, actor: Actor, message_id: int, *, subject: str | None, body: str
) -> OutboxMessage:
    """A draft's or a queued message's subject and text changed (before it is sent)."""
    message, car = _own_message(session, actor, message_id)
    _refuse_state(message, ("draft", "queued"), _("change the message"))
    title, text = check_text(message.channel, subject, body)
    changes = {}
    if title != message.subject:
        changes["subject"] = [message.subject, title]
    if text != message.body:
        changes["body"] = "changed"
    message.subject, message.body = title, text
    message.updated_at = utcnow()
    session.add(message)
    session.flush()
    events.record(session, actor, "outbox_messages", message.id, "edit", changes, car_id=car.id)
    return message


def release(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    """A draft released: queued for the sender."""
    message, car = _own_message(session, actor, message_id)
    _refuse_state(message, ("draft",), _("release the message"))
    return _set_state(session, actor, message, car, "queued", "release")


def cancel(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    """A draft, queued or failed message that will not be sent."""
    message, car = _own_message(session, actor, message_id)
    _refuse_state(message, ("draft", "queued", "failed"), _("cancel the message"))
    return _set_state(session, actor, message, car, "cancelled", "cancel")


def send_again(session: Session, actor: Actor, message_id: int) -> OutboxMessage:
    """A failed message queued again (its attempts start over).  The seller checks first that
    one that failed while being handed over did not arrive."""
    message, car = _own_message(session, actor, message_id)
    _refuse_state(message, ("failed",), _("send the message again"))
    message.attempts = 0
    message.handing_over_at = None
    return _set_state(session, actor, message, car, "queued", "send_again")


def _set_state(
    session: Session, actor: Actor, message: OutboxMessage, car: Car, state: str, action: str
) -> OutboxMessage:
    old = message.state
    now = utcnow()
    message.state = state
    message.updated_at = now
    if state == "queued":
        message.next_attempt_at = now
        message.claimed_by = message.claimed_at = None
    session.add(message)
    session.flush()
    events.record(
        session,
        actor,
        "outbox_messages",
        message.id,
        action,
        {"state": [old, state]},
        car_id=car.id,
    )
    return message
