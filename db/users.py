"""Users and sign-in: PINs (scrypt, a slow hash), badges, lock-out after repeated wrong PINs, and
the SSH public keys users sign in with over ``prepfloor serve``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, func, select

from db import badges, events, formats, modes, validate
from db.access import Actor, actor_change, actor_from
from db.clock import local, utcnow
from db.errors import ActorChanged, Invalid, LoginRefused, NotFound
from db.hot import Hot
from db.i18n import LANGUAGES, _, ngettext, normalize
from db.models import Dealership, User, UserKey
from db.vocab import ROLES

log = logging.getLogger("prepfloor.sign_in")

MAX_PIN_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_secret(secret: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    check = hashlib.scrypt(
        secret.encode(),
        salt=bytes.fromhex(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(digest) // 2,
    )
    return hmac.compare_digest(check.hex(), digest)


def badge_digest(session: Session, badge: str, *, create: bool = False) -> str | None:
    """What ``users.badge_hash`` holds for ``badge``: a keyed hash (:mod:`db.badges`), never the
    badge as typed nor a plain digest of it.  None when this machine has no badge key (and
    ``create`` is off)."""
    secret = badges.key(session, create=create)
    return badges.digest(secret, badge) if secret is not None else None


def _badge_free(session: Session, badge: str, user_id: uuid.UUID | None = None) -> str:
    """Refuse a badge that is already another user's (a message, not a constraint error); returns
    what to store for it."""
    secret = badges.key(session, create=True)
    other = badges.holder(session, badge, secret)
    if other is not None and other.id != user_id:
        raise Invalid(_("That badge is already {name}'s.").format(name=other.display_name), "badge")
    assert secret is not None
    return badges.digest(secret, badge)


def load_actor(session: Session, user: User) -> Actor:
    """The user with the dealerships they see."""
    parents = dict(session.exec(select(Dealership.id, Dealership.parent_dealership_id)).all())
    return actor_from(
        user.id, user.login, user.display_name, user.role, user.dealership_id, parents
    )


USERS = User.__table__  # type: ignore[attr-defined]
DEALERSHIPS = Dealership.__table__  # type: ignore[attr-defined]
# The acting user's row, shared-locked on PostgreSQL (``FOR SHARE``): a deactivation or a role
# change (an UPDATE of that row) then waits until this write has committed, or this write waits
# for it and reads the new values; it can never commit in between.  ``FOR KEY SHARE`` would not
# do: it does not conflict with an UPDATE of columns outside the key.  SQLite ignores the clause
# (the write transaction holds the database's write lock from its first statement).
_RECHECK = Hot(
    core_select(USERS.c.active, USERS.c.role, USERS.c.dealership_id)
    .where(USERS.c.id == bindparam("id"))
    .with_for_update(read=True)
)
_DEALERSHIP_NAME = Hot(
    core_select(DEALERSHIPS.c.dealership_number, DEALERSHIPS.c.dealership_name).where(
        DEALERSHIPS.c.id == bindparam("id")
    )
)


def dealership_label(conn: Connection, dealership_id: int) -> str | None:
    """``499 Porsgrunn``: a dealership as messages name it (None when there is none)."""
    named = _DEALERSHIP_NAME.first(conn, {"id": dealership_id})
    return f"{named[0]} {named[1]}" if named is not None else None


def recheck(session: Session, actor: Actor | None) -> None:
    """Refuse (:class:`ActorChanged`) a write by a user who was switched off, or whose role or
    dealership changed, since they signed in.  Call it in the write's own transaction, before the
    write.  :meth:`db.engine.Database.run` calls it for every rule whose first argument is an
    :class:`Actor`; a write that reaches the rules another way (a function that captures the
    actor) calls it itself.  ``None`` (the system, the command line's administrator) is not
    checked.  One primary-key read."""
    if actor is None:
        return
    conn = session.connection()
    row = _RECHECK.first(conn, {"id": actor.user_id})
    found = (bool(row.active), str(row.role), row.dealership_id) if row is not None else None
    if (
        found is not None
        and found[0]
        and found[1] == actor.role
        and found[2] == actor.dealership_id
    ):
        return

    def name(dealership_id: int | None) -> str | None:
        return dealership_label(conn, dealership_id) if dealership_id is not None else None

    problem = actor_change(actor, found, name)
    if problem is not None:
        raise ActorChanged(problem, actor.user_id)


def by_login(session: Session, login: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.login) == login.strip().lower())).first()


def _checked_person(
    session: Session, display_name: str | None, role: str, dealership_id: int | None
) -> str:
    """The name, role and dealership of a user, checked; returns the clean name."""
    name = validate.clean_text(display_name)
    if not name:
        raise Invalid(_("Name is required."), "display_name")
    if role not in ROLES:
        raise Invalid(_("Role is one of: {roles}.").format(roles=", ".join(ROLES)), "role")
    if role != "admin" and dealership_id is None:
        raise Invalid(_("Pick the user's dealership."), "dealership_id")
    if dealership_id is not None and session.get(Dealership, dealership_id) is None:
        raise Invalid(_("That dealership does not exist."), "dealership_id")
    return name


def _staff_kept_here(session: Session) -> None:
    """On a database adopted from Directus (:mod:`db.adopt`) staff are kept in Directus: their
    names, roles, dealerships and whether they may sign in are changed there, not here."""
    from db.adopt import is_adopted

    if is_adopted(session.connection()):
        raise Invalid(
            _(
                "Staff are kept in Directus on this database: add or change the user there "
                "(their role through the role map of prepfloor db adopt). PINs, badges, keys "
                "and languages are set here."
            ),
            "display_name",
        )


def update_user(
    session: Session,
    actor: Actor | None,
    user_id: uuid.UUID,
    *,
    display_name: str,
    role: str,
    dealership_id: int | None,
    active: bool,
    email: str | None = None,
) -> User:
    """Change a user's name, role, dealership, email or whether they may sign in (a deactivated
    user keeps their history).  Admins cannot deactivate or demote themselves."""
    if actor is not None:
        actor.require("user.manage")
    _staff_kept_here(session)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("That user does not exist."))
    name = _checked_person(session, display_name, role, dealership_id)
    if actor is not None and user.id == actor.user_id and (not active or role != "admin"):
        raise Invalid(_("You cannot deactivate or demote yourself: ask another admin."), "active")
    before = {
        "display_name": user.display_name,
        "role": user.role,
        "dealership_id": user.dealership_id,
        "active": user.active,
        "email": user.email,
    }
    user.display_name, user.role, user.dealership_id, user.active = (
        name,
        role,
        dealership_id,
        active,
    )
    user.email = validate.email(email, "email")
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    after = {k: getattr(user, k) for k in before}
    changes = events.diff(before, after)
    if changes:
        events.record(session, actor, "users", user.id, "update", changes)
    return user


def create_user(
    session: Session,
    actor: Actor | None,
    *,
    login: str,
    display_name: str,
    role: str,
    dealership_id: int | None,
    email: str | None = None,
    pin: str | None = None,
    badge: str | None = None,
) -> User:
    """Add a user.  ``actor`` None is the command line run by the server's administrator."""
    if actor is not None:
        actor.require("user.manage")
    _staff_kept_here(session)
    login = (login or "").strip().lower()
    if not login or not all(ch.isalnum() or ch in "._-" for ch in login):
        raise Invalid(
            _("Login: letters, digits, dot, dash or underscore (the OS login name)."), "login"
        )
    if by_login(session, login) is not None:
        raise Invalid(_("There is already a user {login}.").format(login=repr(login)), "login")
    name = _checked_person(session, display_name, role, dealership_id)
    badge_hash = _badge_free(session, badge) if badge else None
    now = utcnow()
    user = User(
        login=login,
        display_name=name,
        role=role,
        dealership_id=dealership_id,
        email=validate.email(email, "email"),
        active=True,
        created_at=now,
        updated_at=now,
    )
    if pin:
        user.pin_hash = hash_secret(validate.pin(pin))
    user.badge_hash = badge_hash
    session.add(user)
    session.flush()
    events.record(
        session,
        actor,
        "users",
        user.id,
        "create",
        {"login": login, "role": role, "dealership_id": dealership_id},
    )
    return user


def set_pin(session: Session, actor: Actor | None, user_id: uuid.UUID, pin: str | None) -> User:
    """Set or clear (None) a user's PIN; it also lifts a lock-out."""
    if actor is not None and actor.user_id != user_id:
        actor.require("user.manage")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    user.pin_hash = hash_secret(validate.pin(pin)) if pin else None
    user.failed_pin_attempts = 0
    user.locked_until = None
    user.updated_at = utcnow()
    session.add(user)
    events.record(
        session, actor, "users", user.id, "set_pin", {"pin": "cleared" if not pin else "set"}
    )
    return user


def set_badge(session: Session, actor: Actor | None, user_id: uuid.UUID, badge: str | None) -> User:
    """Set or clear (None) a user's badge, stored with the badge key (:mod:`db.badges`; made
    on first use)."""
    if actor is not None:
        actor.require("user.manage")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    user.badge_hash = _badge_free(session, badge, user.id) if badge else None
    user.updated_at = utcnow()
    session.add(user)
    events.record(
        session, actor, "users", user.id, "set_badge", {"badge": "set" if badge else "cleared"}
    )
    return user


def _at_terminal(session: Session, user: User, terminal: str | None) -> None:
    """Refuse ``user`` at the shared terminal account ``terminal`` (its login) unless they are
    one of its dealership's people (any dealership's, for a terminal of none)."""
    if terminal is None:
        return
    place = by_login(session, terminal)
    if place is None or not place.active or not place.is_terminal:
        raise LoginRefused(_("This terminal's account is switched off: ask an admin."))
    if user.is_terminal:
        raise LoginRefused(_("{name} is a terminal: pick a person.").format(name=user.display_name))
    if place.dealership_id is not None and user.dealership_id != place.dealership_id:
        dealership = session.get(Dealership, place.dealership_id)
        where = f"{dealership.dealership_number} {dealership.dealership_name}" if dealership else ""
        raise LoginRefused(
            _(
                "{name} does not sign in here: this terminal is {dealership}'s. "
                "Sign in at a terminal of your own dealership."
            ).format(name=user.display_name, dealership=where)
        )


def sign_in(
    session: Session,
    login: str,
    pin: str | None,
    *,
    pin_required: bool = False,
    terminal: str | None = None,
) -> Actor:
    """Check a user's PIN (a user without a PIN needs none, unless ``pin_required``: a sign-in
    screen reached over ``prepfloor serve``, where the database is the service's alone).  Wrong
    PINs are counted and lock the user out for a while; the count is kept even though the sign-in
    is refused.  At a shared terminal account (``terminal``, its login) only its dealership's
    people sign in, and only with a PIN (or a badge: :func:`sign_in_badge`)."""
    user = by_login(session, login)
    if user is None or not user.active:
        raise LoginRefused(_("Unknown or inactive user."))
    _at_terminal(session, user, terminal)
    pin_required = pin_required or terminal is not None
    now = utcnow()
    problem = _locked(user, now)
    if problem is not None:
        log.warning("refused %s by PIN: locked until %s", user.login, user.locked_until)
        raise LoginRefused(problem)
    if user.pin_hash is None:
        if pin_required:
            raise LoginRefused(
                _(
                    "{name} has no PIN, and here a PIN is needed. Ask an admin to set one "
                    "(prepfloor users set-pin {login}), or sign in with your own SSH key."
                ).format(name=user.display_name, login=user.login)
            )
        return load_actor(session, user)
    if pin and verify_secret(pin.strip(), user.pin_hash):
        if user.failed_pin_attempts or user.locked_until:
            user.failed_pin_attempts = 0
            user.locked_until = None
            session.add(user)
        events.record(session, None, "users", user.id, "sign_in", None)
        log.info("%s signed in by PIN", user.login)
        return load_actor(session, user)
    user.failed_pin_attempts += 1
    left = MAX_PIN_FAILURES - user.failed_pin_attempts
    if left <= 0:
        user.locked_until = now + LOCKOUT
        user.failed_pin_attempts = 0
        minutes = int(LOCKOUT.total_seconds() // 60)
        message = ngettext(
            "Wrong PIN. {name} is locked for {minutes} minute.",
            "Wrong PIN. {name} is locked for {minutes} minutes.",
            minutes,
        ).format(name=user.display_name, minutes=minutes)
        logged = f"Wrong PIN. {user.display_name} is locked for {minutes} minutes."
    else:
        message = ngettext(
            "Wrong PIN. {n} try left before a lock-out.",
            "Wrong PIN. {n} tries left before a lock-out.",
            left,
        ).format(n=left)
        logged = f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left before a lock-out."
    session.add(user)
    events.record(session, None, "users", user.id, "sign_in_failed", None)
    log.warning("refused %s by PIN: wrong PIN (%s)", user.login, logged)  # in English
    raise LoginRefused(message)


def _locked(user: User, now: datetime) -> str | None:
    """The refusal for a user locked out by wrong PINs (by PIN and by badge alike), or None."""
    if user.locked_until is not None and user.locked_until > now:
        return _(
            "Too many wrong PINs: {name} is locked until {time}. Ask a coordinator or wait."
        ).format(name=user.display_name, time=formats.clock(local(user.locked_until)))
    return None


def sign_in_badge(session: Session, badge: str, *, terminal: str | None = None) -> Actor:
    """Sign in by a badge (at a shared terminal account ``terminal``: its dealership's people).

    A user locked out by wrong PINs is refused by badge too.  Unknown badges are counted per
    sign-in place (the terminal account, else this OS login at this machine): after
    :data:`db.badges.UNKNOWN_LIMIT` of them in a few minutes that place takes no badge, not even
    a right one, for :data:`db.badges.BLOCK`.  Every sign-in and every refusal is an event and a
    log line; the badge itself is never written anywhere.  A badge stored the old way (a plain
    digest) is rewritten with the key (:mod:`db.badges`) as it signs in."""
    where = badges.place(terminal)
    now = utcnow()
    until = badges.blocked_until(session, where, now)
    if until is not None:
        log.warning("refused a badge at %s: closed to badges until %s", where, until)
        raise LoginRefused(badges.refused_here(session, where, until, now))
    secret = badges.key(session)
    user = badges.holder(session, badge, secret)
    if user is None or not user.active:
        closed = badges.unknown(session, where, now)
        other_key = badges.other_key_in_use(session, secret)
        log.warning(
            "refused a badge at %s: %s%s",
            where,
            "unknown" if user is None else f"{user.login} is inactive",
            f"; closed to badges until {closed}" if closed is not None else "",
        )
        if other_key:
            log.warning(
                "badges here were stored with another badge key than %s: copy the key file "
                "the badges were set with",
                badges.key_path(session),
            )
        if closed is not None:
            raise LoginRefused(badges.closed_message(closed, now))
        if other_key:
            raise LoginRefused(
                _(
                    "Badge not known on this machine: its badge key is not the one badges were "
                    "set with. Sign in with your name and PIN, and tell an admin."
                )
            )
        raise LoginRefused(_("Badge not known. Sign in with your name and PIN."))
    try:
        _at_terminal(session, user, terminal)
        problem = _locked(user, now)
        if problem is not None:
            raise LoginRefused(problem)
    except LoginRefused as refusal:
        events.record(
            session, None, "users", user.id, "sign_in_failed", {"by": "badge", "place": where}
        )
        log.warning("refused %s by badge at %s: %s", user.login, where, refusal)
        raise
    if user.badge_hash == badges.legacy_digest(badge):
        try:
            user.badge_hash = badge_digest(session, badge, create=True)
            session.add(user)
            log.info("%s's badge is now stored with the badge key", user.login)
        except Invalid as problem:  # no key can be made here: the old digest stays, for now
            log.warning("%s's badge stays a plain digest: %s", user.login, problem)
    events.record(session, None, "users", user.id, "sign_in", {"by": "badge", "place": where})
    log.info("%s signed in by badge at %s", user.login, where)
    return load_actor(session, user)


def trusted_actor(session: Session, login: str) -> Actor:
    """The actor for a login the operating system has already vouched for (OS login, CLI)."""
    user = by_login(session, login)
    if user is None or not user.active:
        raise LoginRefused(_("No active prepfloor user {login}.").format(login=repr(login)))
    return load_actor(session, user)


# ------------------------------------------------------------------------------------------------
# SSH public keys (``prepfloor serve``)
# ------------------------------------------------------------------------------------------------
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


def set_terminal(
    session: Session, actor: Actor | None, user_id: uuid.UUID, is_terminal: bool
) -> User:
    """Mark a user as a shared workshop terminal (its sessions open the sign-in screen)."""
    if actor is not None:
        actor.require("user.manage")
    user = _user(session, user_id)
    _set_field(session, actor, user, "is_terminal", is_terminal)
    return user


def set_start_mode(
    session: Session, actor: Actor | None, user_id: uuid.UUID, mode: str | None
) -> User:
    """The screen a user opens on when they sign in: one of their role's modes
    (:mod:`db.modes`), or ``None`` (or their role's own) for their role's.  Anyone sets their
    own; an admin anyone's; ``actor`` None is the command line."""
    if actor is not None and actor.user_id != user_id:
        actor.require("user.manage")
    user = _user(session, user_id)
    wanted = (mode or "").strip().lower() or None
    if wanted is not None:
        problem = modes.start_refusal(user.role, user.display_name, wanted)
        if problem is not None:
            raise Invalid(problem, "start_mode")
        if wanted == modes.default_start(user.role):
            wanted = None  # the role's own: it follows the role if the role changes
    _set_field(session, actor, user, "start_mode", wanted)
    return user


def set_language(
    session: Session, actor: Actor | None, user_id: uuid.UUID, language: str | None
) -> User:
    """The language a user reads prepfloor in (:data:`db.i18n.LANGUAGES`), or ``None`` (or
    ``""``) for the site's.  Anyone sets their own; an admin anyone's; ``actor`` None is the
    command line."""
    if actor is not None and actor.user_id != user_id:
        actor.require("user.manage")
    user = _user(session, user_id)
    wanted: str | None = None
    if language is not None and str(language).strip():
        wanted = normalize(language)
        if wanted is None:
            raise Invalid(
                _("Language: {choices}.").format(
                    choices=", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
                ),
                "language",
            )
    _set_field(session, actor, user, "language", wanted)
    return user


def _set_field(
    session: Session, actor: Actor | None, user: User, field: str, wanted: object
) -> None:
    """Change one of a user's settings, with its event (nothing when it is so already)."""
    old = getattr(user, field)
    if old == wanted:
        return
    events.record(session, actor, "users", user.id, "update", {field: [old, wanted]})
    setattr(user, field, wanted)
    user.updated_at = utcnow()
    session.add(user)


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
