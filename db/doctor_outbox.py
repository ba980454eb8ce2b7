"""``prepfloor doctor`` on the outbox of messages to customers: what the sender's steps
(:mod:`db.outbox_claim`) promise of each row."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlmodel import Session

from db.i18n import N_, _

# (condition of a broken row, what is wrong with it): rules the code never breaks
BROKEN = (
    (
        "state = 'sent' AND (sent_at IS NULL OR contact_id IS NULL)",
        N_(
            "Message #{id} to a customer is sent but has no time it was sent or no customer "
            "contact logged."
        ),
    ),
    (
        "state <> 'sent' AND contact_id IS NOT NULL",
        N_("Message #{id} to a customer is logged as a customer contact but is not sent."),
    ),
    (
        "state = 'sending' AND (claimed_by IS NULL OR claimed_at IS NULL)",
        N_("Message #{id} to a customer is being sent, but no sender holds it."),
    ),
)


def outbox_problems(session: Session) -> Iterator[str]:
    """What is wrong with the outbox, one sentence per broken row."""
    for condition, words in BROKEN:
        for (message_id,) in session.execute(
            text(f"SELECT id FROM outbox_messages WHERE {condition} ORDER BY id LIMIT 50")
        ):
            yield _(words).format(id=message_id)
