"""Signing in: who a login is, and their PIN, badge or password checked (the hash and the one
lock-out per user are :mod:`db.lockout`).  Every sign-in and every refusal is an event and a log line
(``prepfloor.sign_in``); no secret is written anywhere.  The names are in :mod:`db.users` too, where
callers have always found them."""

from __future__ import annotations

import logging

from sqlmodel import Session, func, select

from db import badges, events, lockout, text
from db.access import Actor, actor_from
from db.clock import utcnow
from db.errors import Invalid, LoginRefused
from db.i18n import _, ngettext
from db.lockout import LOCKOUT, verify_secret
from db.models import Dealership, User

log = logging.getLogger("prepfloor.sign_in")


def by_login(session: Session, login: str) -> User | None:
    return session.exec(select(User).where(func.lower(User.login) == login.strip().lower())).first()


def load_actor(session: Session, user: User) -> Actor:
    """The user with the dealerships they see."""
    parents = dict(session.exec(select(Dealership.id, Dealership.parent_dealership_id)).all())
    return actor_from(
        user.id, user.login, user.display_name, user.role, user.dealership_id, parents
    )


def badge_digest(session: Session, badge: str, *, create: bool = False) -> str | None:
    """What ``users.badge_hash`` holds for ``badge``: a keyed hash (:mod:`db.badges`), never the
    badge as typed nor a plain digest of it.  None when this machine has no badge key (and
    ``create`` is off)."""
    secret = badges.key(session, create=create)
    return badges.digest(secret, badge) if secret is not None else None


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
    problem = lockout.locked(user, now, user.display_name)
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
        if lockout.clear(user):
            session.add(user)
        events.record(session, None, "users", user.id, "sign_in", None)
        log.info("%s signed in by PIN", user.login)
        return load_actor(session, user)
    left = lockout.count_failure(user, now)
    if left == 0:
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


def sign_in_badge(session: Session, badge: str, *, terminal: str | None = None) -> Actor:
    """Sign in by a badge (at a shared terminal account ``terminal``: its dealership's people).

    A user locked out by wrong PINs or passwords is refused by badge too.  Unknown badges are counted per
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
        problem = lockout.locked(user, now, user.display_name)
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


def sign_in_password(
    session: Session, login: str, password: str | None, *, address: str | None = None
) -> Actor:
    """Check a user's password (a sign-in from a web browser).  An unknown login, an inactive
    user, a user without a password and a wrong password are all refused with the same words, and
    as slowly (a hash is checked every time), so that no answer says which logins exist.  A wrong
    password counts towards the lock-out of wrong PINs (one per user: :mod:`db.lockout`), kept
    although the sign-in is refused; a locked user is refused even with the right password.
    Shared terminal accounts sign in too: a workshop PC's browser signs in as its account.
    ``address``: where the attempt came from (the browser's), for the events and the log lines;
    the password is never written anywhere."""
    typed = password or ""
    where = text.shown(address, 100) if address else ""
    said = {"by": "password", **({"address": where} if where else {})}
    source = f" from {where}" if where else ""
    refused = _("Wrong login or password.")
    user = by_login(session, login) if (login or "").strip() else None
    if user is None or not user.active or user.password_hash is None:
        lockout.verify_nothing(typed)  # as slow as a real check
        if user is None:
            log.warning("refused %r by password%s: unknown login", text.shown(login, 64), source)
        else:
            why = "inactive" if not user.active else "no password set"
            events.record(session, None, "users", user.id, "sign_in_failed", said)
            log.warning("refused %s by password%s: %s", user.login, source, why)
        raise LoginRefused(refused)
    now = utcnow()
    problem = lockout.locked(user, now, user.login)
    if problem is not None:
        events.record(session, None, "users", user.id, "sign_in_failed", said)
        log.warning(
            "refused %s by password%s: locked until %s", user.login, source, user.locked_until
        )
        raise LoginRefused(problem)
    if verify_secret(typed, user.password_hash):
        if lockout.clear(user):
            session.add(user)
        events.record(session, None, "users", user.id, "sign_in", said)
        log.info("%s signed in by password%s", user.login, source)
        return load_actor(session, user)
    left = lockout.count_failure(user, now)
    session.add(user)
    events.record(session, None, "users", user.id, "sign_in_failed", said)
    log.warning(
        "refused %s by password%s: wrong password (%s)",
        user.login,
        source,
        f"locked for {int(LOCKOUT.total_seconds() // 60)} minutes"
        if left == 0
        else f"{left} {'try' if left == 1 else 'tries'} left before a lock-out",
    )
    raise LoginRefused(refused)


def trusted_actor(session: Session, login: str) -> Actor:
    """The actor for a login the operating system has already vouched for (OS login, CLI)."""
    user = by_login(session, login)
    if user is None or not user.active:
        raise LoginRefused(_("No active prepfloor user {login}.").format(login=repr(login)))
    return load_actor(session, user)
