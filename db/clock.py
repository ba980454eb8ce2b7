"""Time for the rules.  Everything is stored in UTC; tests replace :func:`utcnow` to freeze time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

_frozen: datetime | None = None
_zone: tzinfo | None = None


def set_zone(zone: tzinfo | None) -> None:
    """The site's time zone: local dates (a booking's day, a timer's day) are taken in it."""
    global _zone
    _zone = zone


_machine: tuple[float, tzinfo] | None = None  # the machine's zone and when it was read


def zone() -> tzinfo:
    """The configured zone, or the machine's zone (looked up again each minute, in case the
    machine's setting changes under a long-running server)."""
    global _machine
    if _zone is not None:
        return _zone
    import time

    now = time.monotonic()
    if _machine is None or now - _machine[0] > 60:
        _machine = (now, machine_zone())
    return _machine[1]


def machine_zone() -> tzinfo:
    """The machine's time zone with its rules (``TZ`` when it names a zone, else
    ``/etc/localtime``), so that a July time gets summer time and a January one does not.  Only
    when neither can be read: the machine's offset of this moment."""
    import os
    from zoneinfo import ZoneInfo

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ValueError, OSError, KeyError):  # a POSIX rule (CET-1CEST), or not a zone
            pass
    try:
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        pass
    return datetime.now().astimezone().tzinfo or UTC


def local(value: datetime) -> datetime:
    """``value`` in the site's zone, for showing."""
    return value.astimezone(zone())


def local_today() -> date:
    """Today in the site's zone."""
    return utcnow().astimezone(zone()).date()


def utcnow() -> datetime:
    """The current time, aware, in UTC (or the frozen time in tests and snapshots)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Freeze :func:`utcnow` at ``at`` (aware) or unfreeze with ``None``."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at.astimezone(UTC) if at is not None else None


def as_utc(value: Any) -> datetime | None:
    """Read a timestamp from any driver as an aware UTC datetime.

    SQLite hands back ISO strings without a zone (stored as UTC); PostgreSQL hands back aware values.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_week_bounds(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week that holds ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def format_duration(seconds: float) -> str:
    """A compact duration for lists: ``45m``, ``3h 20m``, ``4d 6h`` (in the language spoken:
    :func:`db.formats.duration`)."""
    from db.formats import duration

    return duration(seconds)
