"""SSH public keys: the keys users sign in with over ``prepfloor serve`` (one key belongs to one
user), read from a ``.pub`` file, added, listed and removed by an admin or the command line."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass

from sqlmodel import Session, select

from db import events
from db.access import Actor
from db.clock import utcnow
from db.errors import Invalid, NotFound
from db.i18n import _
from db.login import by_login
from db.models import User, UserKey

KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


@dataclass(frozen=True)
class PublicKey:
    """One public key as a ``.pub`` file holds it: ``type base64 comment``."""

    key_type: str
    public_key: str
    comment: str | None
    fingerprint: str


def key_fingerprint(blob: bytes) -> str:
    """``SHA256:...``, the fingerprint ``ssh-keygen -l`` shows and the server logs."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse_public_key(text: str) -> PublicKey:
    """Read one OpenSSH public key (the content of a ``.pub`` file), or say what is wrong."""
    if text.lstrip().startswith("-----BEGIN") and "PRIVATE KEY-----" in text:
        raise Invalid(
            _(
                "That is a private key. Give the public key (the .pub file beside it); "
                "the private key never leaves its owner."
            ),
            "key",
        )
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise Invalid(_("The key file is empty."), "key")
    parts = lines[0].split(None, 2)
    if parts[0] not in KEY_TYPES:
        raise Invalid(
            _(
                "Not an SSH public key: it should start with one of {types}... "
                "(the first line of a .pub file)."
            ).format(types=", ".join(KEY_TYPES[:3])),
            "key",
        )
    if len(lines) > 1:
        raise Invalid(_("One key at a time: the file has {n} lines.").format(n=len(lines)), "key")
    if len(parts) < 2:
        raise Invalid(_("The key is cut short: its data is missing after the type."), "key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as error:
        raise Invalid(_("The key's data is damaged (not base64)."), "key") from error
    size = int.from_bytes(blob[:4], "big")
    if len(blob) < 4 + size or blob[4 : 4 + size] != parts[0].encode():
        raise Invalid(
            _("The key's data does not match its type {type}: it is damaged.").format(
                type=parts[0]
            ),
            "key",
        )
    comment = parts[2].strip()[:200] if len(parts) > 2 else None
    return PublicKey(parts[0], parts[1], comment or None, key_fingerprint(blob))


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def add_key(session: Session, actor: Actor | None, user_id: uuid.UUID, key_text: str) -> UserKey:
    """Register a public key for a user; a key belongs to one user only."""
    if actor is not None:
        actor.require("user.manage")
    user = _user(session, user_id)
    key = parse_public_key(key_text)
    existing = session.exec(select(UserKey).where(UserKey.fingerprint == key.fingerprint)).first()
    if existing is not None:
        owner = _user(session, existing.user_id)
        if owner.id == user.id:
            said = _("That key ({fingerprint}) is already this user's.")
        else:
            said = _("That key ({fingerprint}) is already {login}'s.")
        raise Invalid(said.format(fingerprint=key.fingerprint, login=owner.login), "key")
    row = UserKey(
        user_id=user.id,
        key_type=key.key_type,
        public_key=key.public_key,
        fingerprint=key.fingerprint,
        comment=key.comment,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.record(
        session,
        actor,
        "users",
        user.id,
        "add_key",
        {"fingerprint": key.fingerprint, "key_type": key.key_type, "comment": key.comment},
    )
    return row


def user_keys(session: Session, user_id: uuid.UUID) -> list[UserKey]:
    """A user's keys, oldest first."""
    return list(
        session.exec(select(UserKey).where(UserKey.user_id == user_id).order_by(UserKey.id)).all()
    )


def remove_key(session: Session, actor: Actor | None, user_id: uuid.UUID, which: str) -> UserKey:
    """Remove one of a user's keys, named by its fingerprint (``SHA256:`` optional) or its number
    in ``prepfloor users keys``.  Sessions already open stay open; the next login is refused."""
    if actor is not None:
        actor.require("user.manage")
    user = _user(session, user_id)
    wanted = which.strip()
    for row in user_keys(session, user.id):
        if wanted in (str(row.id), row.fingerprint, row.fingerprint.removeprefix("SHA256:")):
            session.delete(row)
            session.flush()
            events.record(
                session, actor, "users", user.id, "remove_key", {"fingerprint": row.fingerprint}
            )
            return row
    raise NotFound(
        _("{login} has no key {key} (see `prepfloor users keys {login}`).").format(
            login=user.login, key=repr(wanted)
        )
    )


@dataclass(frozen=True)
class KeyLogin:
    """Who an SSH login is: the user, and whether the account is a shared terminal."""

    login: str
    display_name: str
    is_terminal: bool


def key_login(session: Session, login: str, fingerprint: str) -> KeyLogin | None:
    """The active user ``login`` when the key with ``fingerprint`` is theirs, else None."""
    user = by_login(session, login)
    if user is None or not user.active:
        return None
    owned = session.exec(
        select(UserKey.id).where(UserKey.user_id == user.id, UserKey.fingerprint == fingerprint)
    ).first()
    if owned is None:
        return None
    return KeyLogin(user.login, user.display_name, user.is_terminal)
