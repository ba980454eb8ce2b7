"""A user's notifications (US-3.2): the unread count every header shows, the inbox list, the new
urgent ones a session raises as a toast, and marking read.

Reads go through :class:`db.fast.FastReader` (the header's count is read after every change in the
feed); marking read is a write rule like any other (an event, so the user's other sessions follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from db.clock import as_utc
from db.i18n import N_, _
from db.said import shown
from db.vocab import PRIORITIES

if TYPE_CHECKING:
    import uuid

    from sqlmodel import Session

    from db.access import Actor
    from db.fast import FastReader

INBOX_LIMIT = 500
ALERT_PRIORITIES = ("high", "urgent")


@dataclass(frozen=True)
class NoteRow:
    id: int
    type: str
    priority: str
    message: str  # in the reader's language when it was kept as its words (db/said.py)
    read: bool
    created_at: datetime | None
    car_id: int | None
    car_label: str | None


def unread_count(fast: FastReader, user_id: uuid.UUID) -> int:
    """Unread notifications of the user (index on user, read, created_at)."""
    rows = fast.rows(
        "SELECT count(*) FROM notifications WHERE user_id = :me AND NOT read AND NOT digest",
        {"me": fast.uid(user_id)},
    )
    return int(rows[0][0])


def notes(
    fast: FastReader,
    user_id: uuid.UUID,
    *,
    unread_only: bool = False,
    type_: str | None = None,
    priority: str | None = None,
    digest: bool = False,
    limit: int = INBOX_LIMIT,
) -> list[NoteRow]:
    """The user's notifications, newest first (``digest``: the ones gathered for the digest)."""
    where = ["n.user_id = :me", "n.digest" if digest else "NOT n.digest"]
    params: dict[str, Any] = {"me": fast.uid(user_id), "limit": int(limit)}
    if unread_only:
        where.append("NOT n.read")
    if type_:
        where.append("n.type = :type")
        params["type"] = type_
    if priority in PRIORITIES:
        where.append("n.priority = :priority")
        params["priority"] = priority
    rows = fast.rows(
        "SELECT n.id, n.type, n.priority, n.message, n.read, n.created_at, n.car_id, "
        "c.brand, c.model, c.license_plate, c.order_number, n.message_source "
        "FROM notifications n LEFT JOIN cars c ON c.id = n.car_id "
        f"WHERE {' AND '.join(where)} ORDER BY n.created_at DESC, n.id DESC LIMIT :limit",
        params,
    )
    result = []
    for r in rows:
        label = None
        if r[6] is not None:
            what = " ".join(x for x in (r[7], r[8]) if x) or _("Car")
            label = f"{what} {r[9] or r[10] or ''}".strip()
        result.append(
            NoteRow(
                int(r[0]),
                r[1],
                r[2],
                shown(r[3], r[11]),
                bool(r[4]),
                as_utc(r[5]),
                r[6],
                label,
            )
        )
    return result


def newest_id(fast: FastReader, user_id: uuid.UUID) -> int:
    rows = fast.rows(
        "SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = :me",
        {"me": fast.uid(user_id)},
    )
    return int(rows[0][0])


def alerts_since(fast: FastReader, user_id: uuid.UUID, after_id: int) -> list[NoteRow]:
    """High and urgent notifications that arrived after ``after_id`` (raised as a toast)."""
    rows = fast.rows(
        "SELECT id, type, priority, message, read, created_at, car_id, message_source "
        "FROM notifications WHERE user_id = :me AND id > :after AND NOT read AND NOT digest "
        f"AND priority IN ('{ALERT_PRIORITIES[0]}', '{ALERT_PRIORITIES[1]}') ORDER BY id",
        {"me": fast.uid(user_id), "after": int(after_id)},
    )
    return [
        NoteRow(int(r[0]), r[1], r[2], shown(r[3], r[7]), bool(r[4]), as_utc(r[5]), r[6], None)
        for r in rows
    ]


def mark_read(session: Session, actor: Actor, note_ids: list[int] | None = None) -> int:
    """Mark the actor's notifications read (these ids, or all).  Returns how many changed."""
    from sqlalchemy import update

    from db import events
    from db.models import Notification

    table = Notification.__table__  # type: ignore[attr-defined]
    stmt = update(table).where(table.c.user_id == actor.user_id, table.c.read.is_(False))
    if note_ids is not None:
        if not note_ids:
            return 0
        stmt = stmt.where(table.c.id.in_([int(i) for i in note_ids]))
    changed = int(session.connection().execute(stmt.values(read=True)).rowcount or 0)
    if changed:
        events.record(
            session,
            actor,
            "notifications",
            "all" if note_ids is None else ",".join(str(i) for i in note_ids[:20]),
            "read",
            {"count": changed},
        )
    return changed


def set_preference(session: Session, actor: Actor, type_: str, mode: str | None) -> str | None:
    """Mute a type, take its low-priority notes as a daily digest, or (``None``) hear all."""
    from sqlmodel import select

    from db import events
    from db.clock import utcnow
    from db.errors import Invalid
    from db.models import NotificationPreference
    from db.vocab import NOTIFICATION_MODES, NOTIFICATION_TYPES

    if type_ not in NOTIFICATION_TYPES:
        raise Invalid(_("{type} is not a kind of notification.").format(type=type_), "type")
    if mode is not None and mode not in NOTIFICATION_MODES:
        raise Invalid(_("Choose mute, digest, or every one."), "mode")
    row = session.exec(
        select(NotificationPreference).where(
            NotificationPreference.user_id == actor.user_id, NotificationPreference.type == type_
        )
    ).first()
    old = row.mode if row is not None else None
    if mode is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            NotificationPreference(
                user_id=actor.user_id, type=type_, mode=mode, updated_at=utcnow()
            )
        )
    else:
        row.mode, row.updated_at = mode, utcnow()
        session.add(row)
    session.flush()
    if old != mode:
        events.record(
            session, actor, "notification_preferences", type_, "set", {"mode": [old, mode]}
        )
    return mode


def preferences(fast: FastReader, user_id: uuid.UUID) -> dict[str, str]:
    rows = fast.rows(
        "SELECT type, mode FROM notification_preferences WHERE user_id = :me",
        {"me": fast.uid(user_id)},
    )
    return {str(t): str(m) for t, m in rows}


def digest_due(fast: FastReader, user_id: uuid.UUID) -> bool:
    """Whether :func:`deliver_digest` may have a digest to deliver: none was sent today, and an
    unread note gathered for one is waiting.  A read on the light reader, so that a sign-in with
    nothing to deliver writes nothing (and loads no ORM); when it says yes, :func:`deliver_digest`
    decides exactly, in its transaction."""
    from db.clock import local, local_today

    me = fast.uid(user_id)
    rows = fast.rows(
        "SELECT max(created_at) FROM notifications WHERE user_id = :me AND type = 'digest'",
        {"me": me},
    )
    last = as_utc(rows[0][0])
    if last is not None and local(last).date() == local_today():
        return False
    waiting = fast.rows(
        "SELECT 1 FROM notifications WHERE user_id = :me AND digest AND NOT read LIMIT 1",
        {"me": me},
    )
    return bool(waiting)


def deliver_digest(session: Session, actor: Actor) -> int:
    """Once a day (at the first sign-in), one note sums up the day's gathered low-priority ones.
    Returns how many it covers (0: nothing new, or already sent today)."""
    from sqlalchemy import func
    from sqlmodel import select

    from db.clock import local, local_today, utcnow
    from db.models import Notification
    from db.said import Said

    last = session.exec(
        select(func.max(Notification.created_at)).where(
            Notification.user_id == actor.user_id, Notification.type == "digest"
        )
    ).one()
    if last is not None and local(last).date() == local_today():
        return 0
    stmt = select(func.count()).where(
        Notification.user_id == actor.user_id,
        Notification.digest,
        Notification.read.is_(False),  # type: ignore[attr-defined]
    )
    if last is not None:
        stmt = stmt.where(Notification.created_at > last)  # type: ignore[operator]
    count = int(session.exec(stmt).one() or 0)
    if count:
        # kept as its words (db/said.py): each reader sees it in their own language, ``message``
        # holds the English
        digest = Said(
            N_("Daily digest: {count} low-priority update(s). g in the inbox shows them."),
            count=count,
        )
        session.add(
            Notification(
                user_id=actor.user_id,
                type="digest",
                message=digest.render("en"),
                message_source=digest.to_json(),
                priority="low",
                created_at=utcnow(),
            )
        )
    return count
