"""What a failed read or write tells the person at the keyboard: what failed, in the floor's words,
that nothing was saved, and what to do.

A refusal of the rules (:class:`db.errors.PrepfloorError`) already says all that.  Everything else
that can go wrong under a screen comes from below the rules: the disk is full, the database server
is down or has no free connection, the file cannot be written.  :func:`describe` turns those into
one plain sentence; a fault it does not know is said as it is (its first line), never hidden.

Light on purpose (no SQLAlchemy import): the app uses it for any failure, before or after the
database layer has loaded.
"""

from __future__ import annotations

import errno

from db.errors import PrepfloorError
from db.i18n import N_, _

# (what the error's text or SQLSTATE says, what prepfloor says, what to do)
_KNOWN: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("database or disk is full", "no space left on device", "could not extend file", "53100"),
        N_("the database's disk is full"),
        N_("Tell your admin: the server needs free disk space."),
    ),
    (
        ("too many clients", "remaining connection slots", "53300", "too many connections"),
        N_("the database server has no free connection"),
        N_("Try again in a moment; if it keeps happening, tell your admin."),
    ),
    (
        (
            "connection refused",
            "could not connect",
            "server closed the connection",
            "terminating connection",
            "connection is closed",
            "connection failed",
            "57p01",
            "08006",
            "08001",
        ),
        N_("the database server cannot be reached"),
        N_("Try again in a moment; if it keeps happening, tell your admin."),
    ),
    (
        ("database is locked", "lock timeout", "55p03", "lock_timeout", "canceling statement"),
        N_("another terminal's change held the database too long"),
        N_("Try again in a moment."),
    ),
    (
        ("readonly database", "read-only", "permission denied", "unable to open database"),
        N_("the database cannot be written here (its file or its permissions)"),
        N_("Tell your admin."),
    ),
    (
        ("disk i/o error", "input/output error"),
        N_("the database's disk failed to read or write"),
        N_("Tell your admin."),
    ),
)


def describe(error: BaseException, doing: str = "") -> str:
    """One message for ``error``: ``doing`` (e.g. "Saving the capacity", already in the reader's
    language) failed, why, that nothing was saved, and what to do."""
    if isinstance(error, PrepfloorError):
        return str(error)
    text = _text(error)
    why, what_to_do = _why(error, text)
    if doing:
        return _("{doing} failed: {why}. Nothing was saved. {what_to_do}").format(
            doing=doing, why=why, what_to_do=what_to_do
        )
    return _("{why}. Nothing was saved. {what_to_do}").format(
        why=why[:1].upper() + why[1:], what_to_do=what_to_do
    )


def _why(error: BaseException, text: str) -> tuple[str, str]:
    """Why it failed and what to do, in the reader's language."""
    for needles, why, what_to_do in _KNOWN:
        if any(needle in text for needle in needles):
            return _(why), _(what_to_do)
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return _("the disk is full"), _("Tell your admin.")
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        _("the database failed ({error})").format(error=first[:200]),
        _("Try again; if it keeps happening, tell your admin."),
    )


def is_database_fault(error: BaseException) -> bool:
    """A failure of the database or its disk (not a fault in prepfloor's own code): the app says
    it and keeps running."""
    if isinstance(error, PrepfloorError):
        return True
    names = {klass.__module__.split(".")[0] for klass in type(error).__mro__}
    if names & {"sqlalchemy", "sqlite3", "psycopg", "psycopg_pool"}:
        return True
    return isinstance(error, OSError) and error.errno in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EIO,
        errno.EACCES,
        errno.EROFS,
    )


def _text(error: BaseException) -> str:
    """The error's text and its causes' (SQLAlchemy wraps the driver's), with any SQLSTATE."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if code:
            parts.append(str(code))
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return " ".join(parts).lower()
