"""The secrets people sign in with (PINs and passwords): their slow hash (scrypt), and the one
lock-out per user that wrong ones lead to.

A wrong PIN and a wrong password count alike (``users.failed_pin_attempts``): after
:data:`MAX_PIN_FAILURES` of them in a row the user is locked for :data:`LOCKOUT`
(``users.locked_until``), whichever way they sign in (PIN, badge, password).  A right secret, or
one set anew, clears the count.  The rules that sign in (:mod:`db.users`) say the words; this
module keeps the count and the hash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from datetime import datetime, timedelta

from db import formats
from db.clock import local
from db.i18n import _
from db.models import User

MAX_PIN_FAILURES = 5  # wrong PINs or passwords in a row
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


@functools.cache
def _dummy() -> str:
    return hash_secret(os.urandom(16).hex())


def verify_nothing(secret: str) -> None:
    """Spend the time of a real check (a hash of a random secret) where there is nothing to check
    against (an unknown login, a user without a password): the answer comes as slowly as for a
    known one, so its time does not say which logins exist."""
    verify_secret(secret, _dummy())


def locked(user: User, now: datetime, name: str) -> str | None:
    """The refusal for a user locked out by wrong PINs or passwords (whichever way they sign in),
    or None.  ``name``: the user as the message names them."""
    if user.locked_until is not None and user.locked_until > now:
        return _(
            "Too many wrong PINs or passwords: {name} is locked until {time}. "
            "Ask a coordinator or wait."
        ).format(name=name, time=formats.clock(local(user.locked_until)))
    return None


def count_failure(user: User, now: datetime) -> int:
    """Count one wrong PIN or password of ``user`` (the caller adds the row to its session).
    Returns the tries left before a lock-out; 0 when this one locked them out (for
    :data:`LOCKOUT`; the count starts again from nothing)."""
    user.failed_pin_attempts += 1
    left = MAX_PIN_FAILURES - user.failed_pin_attempts
    if left > 0:
        return left
    user.locked_until = now + LOCKOUT
    user.failed_pin_attempts = 0
    return 0


def clear(user: User) -> bool:
    """A right secret, or one set anew: no count and no lock any more.  True when that changed
    the row (the caller adds it to its session)."""
    if not user.failed_pin_attempts and user.locked_until is None:
        return False
    user.failed_pin_attempts = 0
    user.locked_until = None
    return True
