"""Badges: how a badge number is stored, where the key that stores it lives, and how many unknown
badges one sign-in place may try.

A badge is a short number, so a plain digest of it is undone by hashing every candidate: a copy
of the database would give every badge away.  ``users.badge_hash`` is therefore a keyed hash,
``hmac$<key id>$<HMAC-SHA256(key, badge)>``, with a key kept outside the database:

- ``PREPFLOOR_BADGE_KEY`` (the path of the key file), when set;
- else, for a SQLite database, the file ``<database>.badge-key`` beside it;
- else (PostgreSQL) ``badge.key`` in the site config folder when there is one, or in the user's
  data folder.  Every machine that signs people in against the same PostgreSQL database needs
  the same key file (copy it, or point ``PREPFLOOR_BADGE_KEY`` at a copy).

The key is made on first use (setting a badge) with mode 0600, 0640 when the database file is
readable by its group (a shop server's ``prepfloor`` group).  Badges stored by older prepfloors
(``sha256$<digest>``) still sign in, and are rewritten with the key at their first sign-in.

Unknown badges are counted per sign-in place (:func:`place`): after :data:`UNKNOWN_LIMIT` within
:data:`UNKNOWN_WINDOW`, that place takes no badge for :data:`BLOCK`.  The count is the
``badge_unknown`` events of that place, so restarting a session does not reset it.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import logging
import math
import os
import secrets
import socket
import threading
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from db import events
from db.errors import Invalid
from db.i18n import _, ngettext
from db.models import Event, User

KEY_ENV = "PREPFLOOR_BADGE_KEY"
KEY_SUFFIX = ".badge-key"
UNKNOWN_LIMIT = 5
UNKNOWN_WINDOW = timedelta(minutes=5)
BLOCK = timedelta(minutes=5)
ENTITY = "sign_in"  # the events of a sign-in place (entity_id: the place, see place_id)

log = logging.getLogger("prepfloor.sign_in")

_keys: dict[str, bytes] = {}
_keys_lock = threading.Lock()
_MEMORY_KEY = secrets.token_bytes(32)  # an in-memory database's key: both die with the process


# ------------------------------------------------------------------------------------------------
# the key
# ------------------------------------------------------------------------------------------------
def _database_file(session: Session) -> Path | None:
    """The SQLite file of the session's database; None for an in-memory one or PostgreSQL."""
    url = session.get_bind().url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def key_path(session: Session) -> Path | None:
    """Where the badge key of the session's database is (None: an in-memory database)."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite":
        database = _database_file(session)
        return Path(str(database) + KEY_SUFFIX) if database is not None else None
    import platformdirs

    site = Path(platformdirs.site_config_dir("prepfloor")) / "badge.key"
    if site.is_file():
        return site
    return Path(platformdirs.user_data_dir("prepfloor")) / "badge.key"


def _read_key(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise Invalid(
            _(
                "The badge key {path} cannot be read ({error}): ask an admin to fix its "
                "permissions. Sign in with your name and PIN meanwhile."
            ).format(path=path, error=error),
            "badge",
        ) from error
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise Invalid(
            _("The badge key {path} is damaged: it should be 64 hex digits.").format(path=path),
            "badge",
        )
    return key


def _create_key(path: Path, database: Path | None) -> None:
    """Write a new random key to ``path`` unless one appeared meanwhile (never a half-written
    one: it is written aside, then linked in place)."""
    mode, group = 0o600, None
    if database is not None and database.exists():
        info = database.stat()
        if info.st_mode & 0o040:  # the database's group reads it: so does the key
            mode, group = 0o640, info.st_gid
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        if group is not None:
            # not a member of the database's group: the key stays the owner's alone
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, group)
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(aside, path)
    except FileExistsError:
        pass  # another session made it first: use theirs
    finally:
        os.unlink(aside)
    log.warning("created the badge key %s (keep it: without it no badge signs in)", path)


def key(session: Session, *, create: bool = False) -> bytes | None:
    """The badge key of the session's database; made when missing and ``create``, else None."""
    path = key_path(session)
    if path is None:
        return _MEMORY_KEY
    name = str(path)
    with _keys_lock:
        if name in _keys:
            return _keys[name]
        found = _read_key(path)
        if found is None and create:
            try:
                _create_key(path, _database_file(session))
            except OSError as error:
                raise Invalid(
                    _(
                        "The badge key {path} cannot be made ({error}). An admin makes it "
                        "writable, or sets {variable} to a key file."
                    ).format(path=path, error=error.strerror or error, variable=KEY_ENV),
                    "badge",
                ) from error
            found = _read_key(path)
        if found is not None:
            _keys[name] = found
        return found


def key_id(secret: bytes) -> str:
    """A short name of a key (says which key a stored badge needs; gives nothing of the key)."""
    return hashlib.sha256(b"prepfloor badge key id\0" + secret).hexdigest()[:8]


def digest(secret: bytes, badge: str) -> str:
    """What ``users.badge_hash`` holds for ``badge``: ``hmac$<key id>$<hex>``."""
    mac = hmac.new(secret, badge.strip().encode(), hashlib.sha256).hexdigest()
    return f"hmac${key_id(secret)}${mac}"


def legacy_digest(badge: str) -> str:
    """The unkeyed digest older prepfloors stored (``sha256$<hex>``): found, then rewritten."""
    return "sha256$" + hashlib.sha256(badge.strip().encode()).hexdigest()


def holder(session: Session, badge: str, secret: bytes | None) -> User | None:
    """The user whose badge this is (stored with the key, or the old way), or None."""
    wanted = [legacy_digest(badge)]
    if secret is not None:
        wanted.insert(0, digest(secret, badge))
    users = session.exec(select(User).where(col(User.badge_hash).in_(wanted))).all()
    return min(users, key=lambda u: wanted.index(u.badge_hash or "")) if users else None


def other_key_in_use(session: Session, secret: bytes | None) -> bool:
    """Some badges were stored with another key than this machine's (a key file not copied)."""
    mine = f"hmac${key_id(secret)}$%" if secret is not None else "-"
    found = session.exec(
        select(User.id)
        .where(col(User.badge_hash).like("hmac$%"), col(User.badge_hash).not_like(mine))
        .limit(1)
    ).first()
    return found is not None


# ------------------------------------------------------------------------------------------------
# unknown badges per sign-in place
# ------------------------------------------------------------------------------------------------
def place(terminal: str | None) -> str:
    """Where a badge is tried: the shared terminal account's login, else this OS login at this
    machine (a sign-in screen of someone's own account)."""
    if terminal:
        return f"terminal {terminal.lower()}"
    try:
        who = getpass.getuser()
    except Exception:  # no login name at all (a container without a passwd entry)
        who = "?"
    return f"{who}@{socket.gethostname()}"


def place_id(where: str) -> str:
    """The place as ``events.entity_id`` holds it (40 characters)."""
    if len(where) <= 40:
        return where
    return where[:31] + "~" + hashlib.sha256(where.encode()).hexdigest()[:8]


def blocked_until(session: Session, where: str, now: datetime) -> datetime | None:
    """When the place takes badges again, if too many unknown badges were tried there lately:
    :data:`UNKNOWN_LIMIT` within :data:`UNKNOWN_WINDOW` close it for :data:`BLOCK` from the
    last of them."""
    times = session.exec(
        select(Event.occurred_at)
        .where(
            Event.entity == ENTITY,
            Event.entity_id == place_id(where),
            Event.action == "badge_unknown",
            col(Event.occurred_at) > now - UNKNOWN_WINDOW - BLOCK,
        )
        .order_by(col(Event.id).desc())
        .limit(UNKNOWN_LIMIT)
    ).all()
    stamps = [t for t in times if t is not None]
    if len(stamps) < UNKNOWN_LIMIT or stamps[0] - stamps[-1] > UNKNOWN_WINDOW:
        return None
    until = stamps[0] + BLOCK
    return until if until > now else None


def unknown(session: Session, where: str, now: datetime) -> datetime | None:
    """Count an unknown badge at ``where``; returns when the place takes badges again if this
    one closed it."""
    events.record(session, None, ENTITY, place_id(where), "badge_unknown", {"place": where})
    return blocked_until(session, where, now)


def refused_here(session: Session, where: str, until: datetime, now: datetime) -> str:
    """Record a badge refused because the place is closed to badges; the message to show."""
    events.record(session, None, ENTITY, place_id(where), "badge_blocked", {"place": where})
    return closed_message(until, now)


def closed_message(until: datetime, now: datetime) -> str:
    # a second of grace: the closing event is written a moment after ``now`` was read
    minutes = max(1, math.ceil(((until - now).total_seconds() - 1) / 60))
    return ngettext(
        "Too many unknown badges here: wait {minutes} minute, or sign in with your name and PIN.",
        "Too many unknown badges here: wait {minutes} minutes, or sign in with your name and PIN.",
        minutes,
    ).format(minutes=minutes)
