"""Users and sign-in: PINs (scrypt, a slow hash), badges, lock-out after repeated wrong PINs."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from datetime import timedelta

from sqlmodel import Session, func, select

from db import events, validate
from db.access import Actor, actor_from
from db.clock import local, utcnow
from db.errors import Invalid, LoginRefused, NotFound
from db.models import Dealership, User
from db.vocab import ROLES

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


def badge_digest(badge: str) -> str:
    """Badges are looked up, so they get a plain digest (not a salted one); never stored as typed."""
    return "sha256$" + hashlib.sha256(badge.strip().encode()).hexdigest()


def _badge_free(session: Session, digest: str, user_id: uuid.UUID | None = None) -> None:
    """Refuse a badge that is already another user's (a message, not a constraint error)."""
    other = session.exec(select(User).where(User.badge_hash == digest)).first()
    if other is not None and other.id != user_id:
        raise Invalid(f"That badge is already {other.display_name}'s.", "badge")


def load_actor(session: Session, user: User) -> Actor:
    """The user with the dealerships they see."""
    parents = dict(session.exec(select(Dealership.id, Dealership.parent_dealership_id)).all())
    return actor_from(
        user.id, user.login, user.display_name, user.role, user.dealership_id, parents
    )


def by_login(session: Session, login: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.login) == login.strip().lower())).first()


def _checked_person(
    session: Session, display_name: str | None, role: str, dealership_id: int | None
) -> str:
    """The name, role and dealership of a user, checked; returns the clean name."""
    name = validate.clean_text(display_name)
    if not name:
        raise Invalid("Name is required.", "display_name")
    if role not in ROLES:
        raise Invalid(f"Role is one of: {', '.join(ROLES)}.", "role")
    if role != "admin" and dealership_id is None:
        raise Invalid("Pick the user's dealership.", "dealership_id")
    if dealership_id is not None and session.get(Dealership, dealership_id) is None:
        raise Invalid("That dealership does not exist.", "dealership_id")
    return name


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
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("That user does not exist.")
    name = _checked_person(session, display_name, role, dealership_id)
    if actor is not None and user.id == actor.user_id and (not active or role != "admin"):
        raise Invalid("You cannot deactivate or demote yourself: ask another admin.", "active")
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
    login = (login or "").strip().lower()
    if not login or not all(ch.isalnum() or ch in "._-" for ch in login):
        raise Invalid(
            "Login: letters, digits, dot, dash or underscore (the OS login name).", "login"
        )
    if by_login(session, login) is not None:
        raise Invalid(f"There is already a user {login!r}.", "login")
    name = _checked_person(session, display_name, role, dealership_id)
    if badge:
        _badge_free(session, badge_digest(badge))
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
    if badge:
        user.badge_hash = badge_digest(badge)
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
        raise NotFound("No such user.")
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
    if actor is not None:
        actor.require("user.manage")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if badge:
        _badge_free(session, badge_digest(badge), user.id)
    user.badge_hash = badge_digest(badge) if badge else None
    user.updated_at = utcnow()
    session.add(user)
    events.record(
        session, actor, "users", user.id, "set_badge", {"badge": "set" if badge else "cleared"}
    )
    return user


def sign_in(session: Session, login: str, pin: str | None) -> Actor:
    """Check a user's PIN (a user without a PIN needs none).  Wrong PINs are counted and lock the
    user out for a while; the count is kept even though the sign-in is refused."""
    user = by_login(session, login)
    if user is None or not user.active:
        raise LoginRefused("Unknown or inactive user.")
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused(
            f"Too many wrong PINs: {user.display_name} is locked until "
            f"{local(user.locked_until):%H:%M}. Ask a coordinator or wait."
        )
    if user.pin_hash is None:
        return load_actor(session, user)
    if pin and verify_secret(pin.strip(), user.pin_hash):
        if user.failed_pin_attempts or user.locked_until:
            user.failed_pin_attempts = 0
            user.locked_until = None
            session.add(user)
        events.record(session, None, "users", user.id, "sign_in", None)
        return load_actor(session, user)
    user.failed_pin_attempts += 1
    left = MAX_PIN_FAILURES - user.failed_pin_attempts
    if left <= 0:
        user.locked_until = now + LOCKOUT
        user.failed_pin_attempts = 0
        message = f"Wrong PIN. {user.display_name} is locked for {int(LOCKOUT.total_seconds() // 60)} minutes."
    else:
        message = f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left before a lock-out."
    session.add(user)
    events.record(session, None, "users", user.id, "sign_in_failed", None)
    raise LoginRefused(message)


def sign_in_badge(session: Session, badge: str) -> Actor:
    user = session.exec(select(User).where(User.badge_hash == badge_digest(badge))).first()
    if user is None or not user.active:
        raise LoginRefused("Badge not known. Sign in with your name and PIN.")
    events.record(session, None, "users", user.id, "sign_in", {"by": "badge"})
    return load_actor(session, user)


def trusted_actor(session: Session, login: str) -> Actor:
    """The actor for a login the operating system has already vouched for (OS login, CLI)."""
    user = by_login(session, login)
    if user is None or not user.active:
        raise LoginRefused(f"No active prepfloor user {login!r}.")
    return load_actor(session, user)
