"""The customer communication log (improvement 4): calls, texts and emails to a car's customer,
logged by the selling side."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from db import events, workflow
from db.access import Actor
from db.delivery import past_moment
from db.errors import Invalid, NotAllowed
from db.i18n import N_, Labels, _
from db.models import CustomerCommunication
from db.vocab import COMMUNICATION_TYPES

MAX_MESSAGE = 2000
COMMUNICATION_LABELS = Labels({"sms": N_("SMS"), "email": N_("Email"), "call": N_("Call")})


def log_contact(
    session: Session,
    actor: Actor,
    car_id: int,
    *,
    type: str,
    message: str,
    sent_at: datetime | None = None,
) -> CustomerCommunication:
    """Log a call, SMS or email to the car's customer."""
    actor.require("customer.contact")
    car = workflow.load_car(session, actor, car_id)
    if not workflow.side_ok(session, actor, car, workflow.OWNER):
        raise NotAllowed(
            _("Only the selling dealership of this car can log contacts with its customer.")
        )
    kind = (type or "").strip().lower()
    if kind not in COMMUNICATION_TYPES:
        raise Invalid(_("Type is sms, email or call."), "type")
    text = (message or "").strip()
    if not text:
        raise Invalid(_("Write what was said or sent."), "message")
    if len(text) > MAX_MESSAGE:
        raise Invalid(
            _("The message is {length} characters; keep it to {most}.").format(
                length=len(text), most=MAX_MESSAGE
            ),
            "message",
        )
    moment = past_moment(sent_at, _("The time of the contact"), "sent_at")
    contact = CustomerCommunication(
        car_id=car.id,  # type: ignore[arg-type]
        customer_name=car.customer_name,
        type=kind,
        message=text,
        sent_at=moment,
        user_id=actor.user_id,
    )
    session.add(contact)
    session.flush()
    events.record(
        session,
        actor,
        "customer_communications",
        contact.id,
        "contact",
        {"type": kind, "message": text, "customer_name": car.customer_name, "sent_at": moment},
        car_id=car.id,
    )
    return contact
