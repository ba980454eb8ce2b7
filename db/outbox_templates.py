"""The wording of messages to customers: prepfloor's built-in templates, a dealership's own, its
choices (which milestones send, preview first, channel, language), and filling a template in.

A template is plain text with ``{name}`` places: ``{customer}``, ``{car}``, ``{plate}``, ``{vin}``,
``{order}``, ``{dealership}``, ``{today}``, ``{promised}`` (the promised delivery date), and what
the writer of a milestone adds (an estimate's ``{total}``).  Places are filled by name only: a
template is text an admin typed, never a format string Python evaluates; a name prepfloor does not
know stays as it was written.  Dates are written as the message's language writes them
(:mod:`db.formats`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from db import events, formats
from db.access import Actor
from db.clock import local_today, utcnow
from db.errors import Invalid, NotFound
from db.i18n import N_, _, gettext_in
from db.models import Car, Dealership, OutboxSetting, OutboxTemplate
from db.vocab import (
    OUTBOX_AUTOMATIC,
    OUTBOX_CHANNELS,
    OUTBOX_LANGUAGES,
    OUTBOX_MILESTONES,
)

MAX_SUBJECT = 200
MAX_BODY = 4000  # an e-mail; an SMS longer than MAX_SMS is refused when it is written
MAX_SMS = 640  # four SMS parts

PLACES = ("customer", "car", "plate", "vin", "order", "dealership", "today", "promised", "total")

# (milestone, channel) -> (subject, body), in English, marked for the catalog
DEFAULTS: dict[tuple[str, str], tuple[str | None, str]] = {
    ("registered", "email"): (
        N_("Your order {order} is registered"),
        N_(
            "Dear {customer},\n\nyour {car} (order {order}) is registered with {dealership}. "
            "We will tell you when it arrives at our prep center.\n\nBest regards,\n{dealership}"
        ),
    ),
    ("registered", "sms"): (
        None,
        N_("Hi {customer}, your {car} (order {order}) is registered with {dealership}."),
    ),
    ("arrived", "email"): (
        N_("Your {car} has arrived at our prep center"),
        N_(
            "Dear {customer},\n\nyour {car} (order {order}) arrived at our prep center on "
            "{today}. We are preparing it for you now.\n\nBest regards,\n{dealership}"
        ),
    ),
    ("arrived", "sms"): (
        None,
        N_("Hi {customer}, your {car} has arrived at our prep center. Regards, {dealership}"),
    ),
    ("ready", "email"): (
        N_("Your {car} is ready for delivery"),
        N_(
            "Dear {customer},\n\nyour {car} (order {order}) is ready for delivery. We will "
            "contact you to agree on the handover.\n\nBest regards,\n{dealership}"
        ),
    ),
    ("ready", "sms"): (
        None,
        N_("Hi {customer}, your {car} is ready for delivery. Regards, {dealership}"),
    ),
    ("delayed", "email"): (
        N_("Your {car} will be later than {promised}"),
        N_(
            "Dear {customer},\n\nwe are sorry: your {car} (order {order}) will not be ready by "
            "{promised} as we promised. We will tell you the new date as soon as we know it."
            "\n\nBest regards,\n{dealership}"
        ),
    ),
    ("delayed", "sms"): (
        None,
        N_(
            "Hi {customer}, we are sorry: your {car} will be later than {promised}. "
            "We will tell you the new date. Regards, {dealership}"
        ),
    ),
    ("estimate", "email"): (
        N_("Extra work on your {car} waits for your answer"),
        N_(
            "Dear {customer},\n\nwhile preparing your {car} (order {order}) we found work that "
            "the order did not include, estimated at {total}. Please tell us whether we should "
            "do it.\n\nBest regards,\n{dealership}"
        ),
    ),
    ("estimate", "sms"): (
        None,
        N_(
            "Hi {customer}, extra work on your {car} is estimated at {total}. "
            "Please tell us whether we should do it. Regards, {dealership}"
        ),
    ),
    ("manual", "email"): (
        N_("About your {car}"),
        N_("Dear {customer},\n\n\n\nBest regards,\n{dealership}"),
    ),
    ("manual", "sms"): (None, N_("Hi {customer}, ")),
}


@dataclass(frozen=True)
class Choices:
    """A dealership's choices for messages to its customers."""

    dealership_id: int
    milestones: tuple[str, ...] = ()
    preview: bool = False
    channel: str = "email"
    language: str = "nb"


@dataclass(frozen=True)
class Wording:
    subject: str | None
    body: str
    own: bool  # the dealership's own template (else prepfloor's)


_PLACE = re.compile(r"\{([a-z_]+)\}")


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` it knows replaced by its value (nothing evaluated)."""
    return _PLACE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def car_values(
    session: Session, car: Car, language: str, extra: dict[str, Any] | None = None
) -> dict[str, str]:
    """The places of a template for ``car``, written as ``language`` writes them."""
    dealer = session.get(Dealership, car.dealership_id)
    car_words = " ".join(x for x in (car.brand, car.model) if x) or gettext_in(
        language, N_("your car")
    )
    values = {
        "customer": car.customer_name or gettext_in(language, N_("customer")),
        "car": car_words,
        "plate": car.license_plate or "",
        "vin": car.vin or "",
        "order": car.order_number or f"#{car.id}",
        "dealership": dealer.dealership_name if dealer else "",
        "today": formats.day_year(local_today(), language),
        "promised": (
            formats.day_year(car.expected_delivery_date, language)
            if car.expected_delivery_date
            else ""
        ),
    }
    for name, value in (extra or {}).items():
        values[name] = str(value)
    return values


def choices_of(session: Session, dealership_id: int) -> Choices:
    """The dealership's choices; none saved: nothing sends by itself, e-mail, Norwegian."""
    row = session.exec(
        select(OutboxSetting).where(OutboxSetting.dealership_id == dealership_id)
    ).first()
    if row is None:
        return Choices(dealership_id)
    chosen = tuple(m for m in (row.milestones or []) if m in OUTBOX_AUTOMATIC)
    return Choices(dealership_id, chosen, bool(row.preview), row.channel, row.language)


def _own(
    session: Session, dealership_id: int, milestone: str, language: str, channel: str
) -> OutboxTemplate | None:
    return session.exec(
        select(OutboxTemplate).where(
            OutboxTemplate.dealership_id == dealership_id,
            OutboxTemplate.milestone == milestone,
            OutboxTemplate.language == language,
            OutboxTemplate.channel == channel,
        )
    ).first()


def wording(
    session: Session, dealership_id: int, milestone: str, language: str, channel: str
) -> Wording:
    """The dealership's template for a milestone, language and channel, else prepfloor's."""
    own = _own(session, dealership_id, milestone, language, channel)
    if own is not None:
        return Wording(own.subject, own.body, True)
    subject, body = DEFAULTS[(milestone, channel)]
    return Wording(
        gettext_in(language, subject) if subject else None, gettext_in(language, body), False
    )


def _dealership(session: Session, dealership_id: int) -> Dealership:
    found = session.get(Dealership, dealership_id)
    if found is None:
        raise NotFound(_("Dealership #{id} does not exist.").format(id=dealership_id))
    return found


def save_choices(
    session: Session,
    actor: Actor,
    dealership_id: int,
    *,
    milestones: list[str] | tuple[str, ...],
    preview: bool,
    channel: str,
    language: str,
) -> Choices:
    """Set which milestones write a message to the customer, whether the seller previews it, the
    channel tried first and the customers' language (a seller or manager of the dealership, an
    admin of any)."""
    actor.require_for_dealership("outbox.configure", dealership_id)
    _dealership(session, dealership_id)
    unknown = [m for m in milestones if m not in OUTBOX_AUTOMATIC]
    if unknown:
        raise Invalid(
            _("{milestone} is not a milestone that sends a message.").format(milestone=unknown[0]),
            "milestones",
        )
    if channel not in OUTBOX_CHANNELS:
        raise Invalid(_("The channel is email or sms."), "channel")
    if language not in OUTBOX_LANGUAGES:
        raise Invalid(_("The language is nb or en."), "language")
    row = session.exec(
        select(OutboxSetting).where(OutboxSetting.dealership_id == dealership_id)
    ).first()
    chosen = [m for m in OUTBOX_AUTOMATIC if m in milestones]
    if row is None:
        row = OutboxSetting(dealership_id=dealership_id)
    row.milestones = chosen
    row.preview = bool(preview)
    row.channel = channel
    row.language = language
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    events.record(
        session,
        actor,
        "outbox_settings",
        row.id,
        "save",
        {"milestones": chosen, "preview": preview, "channel": channel, "language": language},
    )
    return Choices(dealership_id, tuple(chosen), bool(preview), channel, language)


def check_text(channel: str, subject: str | None, body: str) -> tuple[str | None, str]:
    """The subject and body cleaned of outer space, or :class:`Invalid` naming what is wrong."""
    text = (body or "").strip()
    if not text:
        raise Invalid(_("Write the message."), "body")
    most = MAX_SMS if channel == "sms" else MAX_BODY
    if len(text) > most:
        raise Invalid(
            _("The message is {length} characters; keep it to {most}.").format(
                length=len(text), most=most
            ),
            "body",
        )
    title = (subject or "").strip() or None
    if channel == "email" and not title:
        raise Invalid(_("An e-mail needs a subject."), "subject")
    if title and len(title) > MAX_SUBJECT:
        raise Invalid(
            _("The subject is {length} characters; keep it to {most}.").format(
                length=len(title), most=MAX_SUBJECT
            ),
            "subject",
        )
    return (title if channel == "email" else None), text


def save_template(
    session: Session,
    actor: Actor,
    dealership_id: int,
    milestone: str,
    language: str,
    channel: str,
    *,
    subject: str | None,
    body: str,
) -> OutboxTemplate:
    """A dealership's own wording of a milestone's message (who may: as :func:`save_choices`)."""
    actor.require_for_dealership("outbox.configure", dealership_id)
    _dealership(session, dealership_id)
    if milestone not in OUTBOX_MILESTONES:
        raise Invalid(_("{milestone} is not a milestone.").format(milestone=milestone), "milestone")
    if channel not in OUTBOX_CHANNELS:
        raise Invalid(_("The channel is email or sms."), "channel")
    if language not in OUTBOX_LANGUAGES:
        raise Invalid(_("The language is nb or en."), "language")
    title, text = check_text(channel, subject, body)
    row = _own(session, dealership_id, milestone, language, channel)
    now = utcnow()
    if row is None:
        row = OutboxTemplate(
            dealership_id=dealership_id,
            milestone=milestone,
            language=language,
            channel=channel,
            body=text,
            created_at=now,
        )
    row.subject = title
    row.body = text
    row.updated_by_id = actor.user_id
    row.updated_at = now
    session.add(row)
    session.flush()
    events.record(
        session,
        actor,
        "outbox_templates",
        row.id,
        "save",
        {"milestone": milestone, "language": language, "channel": channel, "subject": title},
    )
    return row


def reset_template(
    session: Session, actor: Actor, dealership_id: int, milestone: str, language: str, channel: str
) -> bool:
    """Back to prepfloor's wording; whether the dealership had its own (as :func:`save_template`)."""
    actor.require_for_dealership("outbox.configure", dealership_id)
    row = _own(session, dealership_id, milestone, language, channel)
    if row is None:
        return False
    events.record(session, actor, "outbox_templates", row.id, "delete", {"milestone": milestone})
    session.delete(row)
    session.flush()
    return True


@dataclass(frozen=True)
class TemplateLine:
    """One line of a dealership's list of templates: its own wording, else prepfloor's."""

    milestone: str
    channel: str
    language: str
    subject: str | None
    body: str
    own: bool

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.milestone, self.channel, self.language)


def templates_of(session: Session, dealership_id: int) -> list[TemplateLine]:
    """Every milestone's template by channel and language (the order of the vocabularies), the
    dealership's own where it has one, else the built-in wording in that language."""
    _dealership(session, dealership_id)
    own = {
        (t.milestone, t.channel, t.language): t
        for t in session.exec(
            select(OutboxTemplate).where(OutboxTemplate.dealership_id == dealership_id)
        )
    }
    lines = []
    for milestone in OUTBOX_MILESTONES:
        for channel in OUTBOX_CHANNELS:
            for language in OUTBOX_LANGUAGES:
                found = own.get((milestone, channel, language))
                if found is not None:
                    lines.append(
                        TemplateLine(milestone, channel, language, found.subject, found.body, True)
                    )
                    continue
                subject, body = DEFAULTS[(milestone, channel)]
                lines.append(
                    TemplateLine(
                        milestone,
                        channel,
                        language,
                        gettext_in(language, subject) if subject else None,
                        gettext_in(language, body),
                        False,
                    )
                )
    return lines
