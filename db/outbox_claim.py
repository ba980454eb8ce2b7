"""What the sender does with the outbox, so that a message is sent at most once.

A sender (``prepfloor outbox run``, or the one inside ``prepfloor serve``) names itself by host,
process id and start time.  Each step is its own short write transaction:

1. :func:`claim_next` — the oldest due queued message becomes ``sending``, held by this sender
   (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two senders never take the same row; SQLite: the
   write transaction holds the database's write lock and the ``UPDATE`` is guarded by the state it
   read).  A message held by a sender whose lease ran out (it died) is taken over, unless...
2. :func:`handing_over` — written and committed just before the mail server is told the message
   is complete (the end of SMTP ``DATA``).  A taken-over message that was being handed over may
   have been delivered: :func:`give_up_stale` makes it ``failed`` with words that say so, and it
   is never sent again by itself.  One that was not yet being handed over is sent by the next.
3. :func:`mark_sent` (and the customer contact it becomes, same transaction), or
   :func:`retry_later` (a temporary refusal: back-off, then ``failed`` after the last try), or
   :func:`mark_failed` (a permanent refusal, with the server's reply).

:func:`queue_delays` is the sender's periodic pass for cars past their promised date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import TextClause, bindparam
from sqlalchemy import text as sql_text
from sqlmodel import Session, select

from db import events
from db.clock import local_today, utcnow
from db.i18n import N_, gettext_in
from db.models import Car, CustomerCommunication, OutboxMessage, OutboxSetting
from db.outbox_write import write_milestone
from db.types import UTCDateTime
from db.vocab import CAR_INACTIVE_STATUSES

MAY_HAVE_BEEN_DELIVERED = N_(
    "The sender stopped while handing it to the mail server; it may have been delivered — "
    "check before sending again."
)
# cars still on their way to the customer: a delay past the promised date is told
_LATE_STATUSES = ("registered", "in_transit", "at_prep_center", "inspection", "parts_ordered")
_LATE_STATUSES += ("technical_prep", "cosmetic_prep")


_TIMES = ("now", "expired", "later")


def text(statement: str) -> TextClause:
    """A statement whose times are bound as the tables store them (ISO text in UTC on SQLite)."""
    clause = sql_text(statement)
    times = [bindparam(n, type_=UTCDateTime) for n in _TIMES if f":{n}" in statement]
    return clause.bindparams(*times) if times else clause


@dataclass(frozen=True)
class Claimed:
    id: int
    car_id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    attempts: int
    language: str
    taken_over: bool  # from a sender that stopped before handing it over


def _channels(channels: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{c}'" for c in channels if c in ("email", "sms")) + ")"


def give_up_stale(session: Session, sender: str, lease: float, language: str = "en") -> list[int]:
    """Messages of a stopped sender (lease over) that it was handing over: ``failed`` with the
    reason, never sent again by itself.  Their ids."""
    now = utcnow()
    lock = " FOR UPDATE SKIP LOCKED" if session.get_bind().dialect.name == "postgresql" else ""
    rows = session.execute(
        text(
            "SELECT id, car_id FROM outbox_messages WHERE state = 'sending' "
            "AND handing_over_at IS NOT NULL AND claimed_at < :expired ORDER BY id" + lock
        ),
        {"expired": now - timedelta(seconds=lease)},
    ).all()
    reason = gettext_in(language, MAY_HAVE_BEEN_DELIVERED)
    done = []
    for message_id, car_id in rows:
        changed = session.execute(
            text(
                "UPDATE outbox_messages SET state = 'failed', last_reply = :reason, "
                "claimed_by = :sender, claimed_at = :now, updated_at = :now "
                "WHERE id = :id AND state = 'sending' AND handing_over_at IS NOT NULL"
            ),
            {"reason": reason, "sender": sender, "now": now, "id": message_id},
        ).rowcount
        if changed == 1:
            events.record(
                session,
                None,
                "outbox_messages",
                message_id,
                "failed",
                {"state": ["sending", "failed"], "reason": reason},
                car_id=car_id,
            )
            done.append(message_id)
    return done


def claim_next(
    session: Session,
    sender: str,
    *,
    channels: tuple[str, ...],
    lease: float,
    tried: frozenset[int] = frozenset(),
) -> Claimed | None:
    """The oldest due message on ``channels``, now ``sending`` and held by ``sender``; or a
    message a stopped sender held and had not begun to hand over.  ``None``: nothing is due.
    ``tried``: messages this pass already tried (one try each per pass)."""
    if not channels:
        return None
    skip = ""
    if tried:
        skip = " AND id NOT IN (" + ", ".join(str(int(i)) for i in sorted(tried)) + ")"
    now = utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    row = session.execute(
        text(
            "SELECT id, state, claimed_by FROM outbox_messages "
            f"WHERE channel IN {_channels(channels)}{skip} AND ("
            "(state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= :now)) "
            "OR (state = 'sending' AND handing_over_at IS NULL AND claimed_at < :expired)) "
            "ORDER BY id LIMIT 1" + lock
        ),
        {"now": now, "expired": now - timedelta(seconds=lease)},
    ).first()
    if row is None:
        return None
    message_id, state, holder = row
    # guarded by what was read: on SQLite the write lock already excludes another sender, on
    # PostgreSQL the row lock; the guard keeps it so if either ever changes
    changed = session.execute(
        text(
            "UPDATE outbox_messages SET state = 'sending', claimed_by = :sender, "
            "claimed_at = :now, handing_over_at = NULL, updated_at = :now "
            "WHERE id = :id AND state = :state "
            "AND (claimed_by IS NULL OR claimed_by = :holder OR state = 'queued')"
        ),
        {"sender": sender, "now": now, "id": message_id, "state": state, "holder": holder},
    ).rowcount
    if changed != 1:
        return None
    m = session.get(OutboxMessage, message_id, populate_existing=True)
    assert m is not None
    return Claimed(
        id=message_id,
        car_id=m.car_id,
        channel=m.channel,
        recipient=m.recipient,
        subject=m.subject,
        body=m.body,
        attempts=m.attempts,
        language=m.language,
        taken_over=state == "sending",
    )


def handing_over(session: Session, message_id: int, sender: str) -> bool:
    """Write that ``sender`` is handing the message over now (commit before the end of DATA).
    ``False``: the claim is no longer this sender's (taken over): do not hand it over."""
    now = utcnow()
    return (
        session.execute(
            text(
                "UPDATE outbox_messages SET handing_over_at = :now, claimed_at = :now "
                "WHERE id = :id AND state = 'sending' AND claimed_by = :sender"
            ),
            {"now": now, "id": message_id, "sender": sender},
        ).rowcount
        == 1
    )


def mark_sent(session: Session, message_id: int, sender: str, reply: str) -> bool:
    """The message was accepted: ``sent``, with the server's reply, and logged as a customer
    contact in the same transaction.  ``False``: it was not this sender's any more."""
    m = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if m is None or m.state != "sending" or m.claimed_by != sender:
        return False
    now = utcnow()
    car = session.get(Car, m.car_id)
    words = f"{m.subject}\n\n{m.body}" if m.subject else m.body
    contact = CustomerCommunication(
        car_id=m.car_id,
        customer_name=car.customer_name if car else None,
        type=m.channel,
        message=words,
        sent_at=now,
        user_id=m.created_by_id,
    )
    session.add(contact)
    session.flush()
    m.state = "sent"
    m.sent_at = now
    m.last_reply = reply[:2000]
    m.contact_id = contact.id
    m.updated_at = now
    session.add(m)
    session.flush()
    events.record(
        session,
        None,
        "customer_communications",
        contact.id,
        "contact",
        {"type": m.channel, "message": words, "customer_name": contact.customer_name},
        car_id=m.car_id,
    )
    events.record(
        session,
        None,
        "outbox_messages",
        m.id,
        "sent",
        {"state": ["sending", "sent"], "reply": m.last_reply},
        car_id=m.car_id,
    )
    return True


def _finish(
    session: Session, message_id: int, sender: str, state: str, reply: str, later: datetime | None
) -> bool:
    now = utcnow()
    row = session.execute(
        text(
            "UPDATE outbox_messages SET state = :state, last_reply = :reply, "
            "attempts = attempts + 1, next_attempt_at = :later, claimed_by = NULL, "
            "claimed_at = NULL, handing_over_at = NULL, updated_at = :now "
            "WHERE id = :id AND state = 'sending' AND claimed_by = :sender RETURNING car_id"
        ),
        {
            "state": state,
            "reply": reply[:2000],
            "later": later,
            "now": now,
            "id": message_id,
            "sender": sender,
        },
    ).first()
    if row is None:
        return False
    events.record(
        session,
        None,
        "outbox_messages",
        message_id,
        "failed" if state == "failed" else "retry",
        {"state": ["sending", state], "reply": reply[:2000]},
        car_id=row[0],
    )
    return True


def retry_later(
    session: Session, message_id: int, sender: str, reply: str, *, retries: int, backoff: float
) -> str:
    """A temporary refusal (no connection, a 4xx reply): queued again after ``backoff`` * 2^n
    seconds, or ``failed`` with the reply when that was the last of ``retries`` tries.  The new
    state ('' when the message was not this sender's)."""
    attempts = session.execute(
        text("SELECT attempts FROM outbox_messages WHERE id = :id"), {"id": message_id}
    ).scalar_one()
    tried = attempts + 1
    if tried >= retries:
        return "failed" if _finish(session, message_id, sender, "failed", reply, None) else ""
    later = utcnow() + timedelta(seconds=backoff * 2 ** (tried - 1))
    return "queued" if _finish(session, message_id, sender, "queued", reply, later) else ""


def mark_failed(session: Session, message_id: int, sender: str, reply: str) -> bool:
    """A permanent refusal (a 5xx reply, no such address): ``failed`` with the reply."""
    return _finish(session, message_id, sender, "failed", reply, None)


def note_waiting(session: Session, channel: str, reason: str) -> int:
    """Queued messages on ``channel`` that no transport is configured for: why they wait."""
    return session.execute(
        text(
            "UPDATE outbox_messages SET last_reply = :reason WHERE state = 'queued' "
            "AND channel = :channel AND (last_reply IS NULL OR last_reply <> :reason)"
        ),
        {"reason": reason, "channel": channel},
    ).rowcount


def queue_delays(session: Session) -> list[int]:
    """The delay message of each car past its promised date that is not ready yet, at the
    dealerships that chose it: once per car and promised date.  The ids written."""
    chosen = [
        s.dealership_id
        for s in session.exec(select(OutboxSetting)).all()
        if "delayed" in (s.milestones or [])
    ]
    if not chosen:
        return []
    today = local_today()
    cars = session.exec(
        select(Car).where(
            Car.dealership_id.in_(chosen),  # type: ignore[attr-defined]
            Car.expected_delivery_date < today,  # type: ignore[operator]
            Car.status.in_(_LATE_STATUSES),  # type: ignore[attr-defined]
            Car.status.not_in(CAR_INACTIVE_STATUSES),  # type: ignore[attr-defined]
        )
    ).all()
    written = []
    for car in cars:
        message = write_milestone(session, None, car, "delayed")
        if message is not None:
            written.append(message.id)  # type: ignore[arg-type]
    return written
