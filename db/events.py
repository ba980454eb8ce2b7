"""The ``events`` table: one row per write.  The audit trail and the change feed."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlmodel import Session

from db.access import Actor
from db.clock import utcnow
from db.hot import Hot
from db.models import Event

EVENTS = Event.__table__  # type: ignore[attr-defined]
_COLUMNS = ("occurred_at", "user_id", "entity", "entity_id", "action", "changes", "car_id")
_INSERT = Hot(insert(EVENTS).values({name: bindparam(name) for name in _COLUMNS}))


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a value."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    actor: Actor | None,
    entity: str,
    entity_id: object,
    action: str,
    changes: dict[str, Any] | None = None,
    *,
    car_id: int | None = None,
) -> None:
    """Write one event in the caller's transaction (straight in SQL: every write makes one)."""
    _INSERT.execute(
        session.connection(),
        {
            "occurred_at": utcnow(),
            "user_id": actor.user_id if actor else None,
            "entity": entity,
            "entity_id": str(entity_id),
            "action": action,
            "changes": _plain(changes) if changes else None,
            "car_id": car_id,
        },
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields that changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def latest_id(session: Session) -> int:
    """The newest event id (0 for none).  Sessions do not ask for it: the change feed is pushed
    (:mod:`db.feed`)."""
    return int(session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0)
