"""Users: adding and changing them, their PIN, badge and password (stored as slow hashes:
:mod:`db.lockout`), their own settings, and the check that the acting user is unchanged.

Signing in is :mod:`db.login` and the SSH public keys users sign in with over ``prepfloor serve``
are :mod:`db.user_keys`; their names are here too, where callers have always found them."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import Connection, bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session

from db import badges, events, formats, lockout, modes, validate
from db.access import Actor, actor_change
from db.clock import utcnow
from db.errors import ActorChanged, Invalid, NotFound, WrongSecret
from db.hot import Hot
from db.i18n import LANGUAGES, _, ngettext, normalize
from db.lockout import LOCKOUT, hash_secret, verify_secret
from db.lockout import MAX_PIN_FAILURES as MAX_PIN_FAILURES
from db.login import badge_digest as badge_digest
from db.login import by_login
from db.login import load_actor as load_actor
from db.login import sign_in as sign_in
from db.login import sign_in_badge as sign_in_badge
from db.login import sign_in_password as sign_in_password
from db.login import trusted_actor as trusted_actor
from db.models import Dealership, User
from db.user_keys import KEY_TYPES as KEY_TYPES
from db.user_keys import KeyLogin as KeyLogin
from db.user_keys import PublicKey as PublicKey
from db.user_keys import add_key as add_key
from db.user_keys import key_fingerprint as key_fingerprint
from db.user_keys import key_login as key_login
from db.user_keys import parse_public_key as parse_public_key
from db.user_keys import remove_key as remove_key
from db.user_keys import user_keys as user_keys
from db.vocab import ROLES

log = logging.getLogger("prepfloor.sign_in")


def _badge_free(session: Session, badge: str, user_id: uuid.UUID | None = None) -> str:
    """Refuse a badge that is already another user's (a message, not a constraint error); returns
    what to store for it."""
    secret = badges.key(session, create=True)
    other = badges.holder(session, badge, secret)
    if other is not None and other.id != user_id:
        raise Invalid(_("That badge is already {name}'s.").format(name=other.display_name), "badge")
    assert secret is not None
    return badges.digest(secret, badge)


USERS = User.__table__  # type: ignore[attr-defined]
DEALERSHIPS = Dealership.__table__  # type: ignore[attr-defined]
# The acting user's row, shared-locked on PostgreSQL (``FOR SHARE``): a deactivation or a role
# change (an UPDATE of that row) then waits until this write has committed, or this write waits
# for it and reads the new values; it can never commit in between.  ``FOR KEY SHARE`` would not
# do: it does not conflict with an UPDATE of columns outside the key.  SQLite ignores the clause
# (the write transaction holds the database's write lock from its first statement).
_ACTOR = core_select(USERS.c.active, USERS.c.role, USERS.c.dealership_id).where(
    USERS.c.id == bindparam("id")
)
_RECHECK = Hot(_ACTOR.with_for_update(read=True))
_RECHECK_READ = Hot(_ACTOR)
_DEALERSHIP_NAME = Hot(
    core_select(DEALERSHIPS.c.dealership_number, DEALERSHIPS.c.dealership_name).where(
        DEALERSHIPS.c.id == bindparam("id")
    )
)


def dealership_label(conn: Connection, dealership_id: int) -> str | None:
    """``499 Porsgrunn``: a dealership as messages name it (None when there is none)."""
    named = _DEALERSHIP_NAME.first(conn, {"id": dealership_id})
    return formats.label_of(named[0], named[1]) if named is not None else None


def recheck(session: Session, actor: Actor | None, *, lock: bool = True) -> None:
    """Refuse (:class:`ActorChanged`) a write by a user who was switched off, or whose role or
    dealership changed, since they signed in.  Call it in the write's own transaction, before the
    write.  :meth:`db.engine.Database.run` calls it for every rule whose first argument is an
    :class:`Actor`; a write that reaches the rules another way (a function that captures the
    actor) calls it itself.  ``None`` (the system, the command line's administrator) is not
    checked.  One primary-key read (``lock`` off: without the share lock, for a read that writes
    nothing)."""
    if actor is None:
        return
    conn = session.connection()
    row = (_RECHECK if lock else _RECHECK_READ).first(conn, {"id": actor.user_id})
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


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


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
    user = _user(session, user_id)
    user.pin_hash = hash_secret(validate.pin(pin)) if pin else None
    lockout.clear(user)
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
    user = _user(session, user_id)
    user.badge_hash = _badge_free(session, badge, user.id) if badge else None
    user.updated_at = utcnow()
    session.add(user)
    events.record(
        session, actor, "users", user.id, "set_badge", {"badge": "set" if badge else "cleared"}
    )
    return user


def set_password(
    session: Session,
    actor: Actor | None,
    user_id: uuid.UUID,
    password: str | None,
    *,
    current: str | None = None,
) -> User:
    """Set or clear (None or ``""``) the password a user signs in with from a web browser
    (:func:`sign_in_password`); it also lifts a lock-out.  Anyone sets their own, with their
    ``current`` password when they have one (a wrong one counts as a wrong sign-in); an admin sets
    anyone's; ``actor`` None is the command line.  Shared terminal accounts have one too: a
    workshop PC's browser signs in as its terminal account."""
    own = actor is not None and actor.user_id == user_id
    if actor is not None and not own:
        actor.require("user.manage")
    user = _user(session, user_id)
    wanted = hash_secret(validate.password(password, user.login)) if password else None
    if own and user.password_hash is not None:
        _current_password(session, actor, user, current)
    user.password_hash = wanted
    lockout.clear(user)
    user.updated_at = utcnow()
    session.add(user)
    events.record(
        session,
        actor,
        "users",
        user.id,
        "set_password",
        {"password": "set" if password else "cleared"},
    )
    return user


def _current_password(
    session: Session, actor: Actor | None, user: User, current: str | None
) -> None:
    """Refuse a change of one's own password without the current one (:class:`WrongSecret`,
    counted as a wrong sign-in, when a wrong one is given), or while locked out."""
    assert user.password_hash is not None
    now = utcnow()
    problem = lockout.locked(user, now, user.display_name)
    if problem is not None:
        raise Invalid(problem, "current")
    if not current:
        raise Invalid(_("Type your current password first."), "current")
    if verify_secret(current, user.password_hash):
        return
    left = lockout.count_failure(user, now)
    session.add(user)
    events.record(session, actor, "users", user.id, "sign_in_failed", {"by": "current_password"})
    if left == 0:
        minutes = int(LOCKOUT.total_seconds() // 60)
        message = ngettext(
            "Wrong password. {name} is locked for {minutes} minute.",
            "Wrong password. {name} is locked for {minutes} minutes.",
            minutes,
        ).format(name=user.display_name, minutes=minutes)
        logged = f"locked for {minutes} minutes"
    else:
        message = ngettext(
            "Wrong password. {n} try left before a lock-out.",
            "Wrong password. {n} tries left before a lock-out.",
            left,
        ).format(n=left)
        logged = f"{left} {'try' if left == 1 else 'tries'} left"
    log.warning("refused %s a new password: wrong current password (%s)", user.login, logged)
    raise WrongSecret(message, "current")


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
