"""Refusals.  Every message is written to be shown to a floor worker as it is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from db.i18n import _, ngettext


class PrepfloorError(Exception):
    """A write or read that the rules refuse.  ``str(error)`` is the message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(PrepfloorError):
    """The record does not exist (any more), or the user may not see it."""


class NotAllowed(PrepfloorError):
    """The user's role or dealership may not do this."""


class Invalid(PrepfloorError):
    """Input that does not pass validation.  ``field`` names the field the message belongs beside."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidFields(PrepfloorError):
    """Several fields are wrong at once: ``errors`` maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.values())) if errors else _("Some fields are not valid.")
        more = len(errors) - 1
        if more > 0:
            # TRANSLATORS: {message} is the first field's problem, {n} how many more there are.
            first = ngettext("{message} (and {n} more)", "{message} (and {n} more)", more).format(
                message=first, n=more
            )
        super().__init__(first)
        self.errors = dict(errors)


class Stale(PrepfloorError):
    """Someone else changed the record after it was shown; the user must look again."""


class WorkflowRefused(PrepfloorError):
    """A car status move that the workflow does not allow."""


class DoesNotFit(PrepfloorError):
    """A booking that does not fit the capacity (or the sharing cap).

    ``nearest_day`` is the closest day with room, when there is one.  The ledger raises it with a
    ``finder`` instead: :meth:`db.engine.Database.run` looks the day up after the write
    transaction has ended, so a refusal holds the write lock no longer than a booking does.
    """

    def __init__(
        self,
        message: str,
        nearest_day: date | None = None,
        finder: Callable[[Any], date | None] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = message
        self.finder = finder
        self.nearest_day: date | None = None
        if finder is None:
            self.found(nearest_day)

    def find(self, session: Any) -> None:
        """Look the nearest day up with the ``finder`` it was raised with, in ``session`` (a read
        of the database as the refusal saw it, or later); nothing when it is known already."""
        if self.finder is not None:
            self.found(self.finder(session))

    def found(self, nearest_day: date | None) -> None:
        """Add the nearest day with room (or that there is none) to the message."""
        self.nearest_day = nearest_day
        self.finder = None
        if nearest_day is not None:
            from db.formats import day_year

            self.message = _("{reason} Nearest day with room: {day}.").format(
                reason=self.reason, day=day_year(nearest_day)
            )
        else:
            self.message = _("{reason} No day with room in the next weeks.").format(
                reason=self.reason
            )
        self.args = (self.message,)


class SharingRefused(PrepfloorError):
    """A cross-dealership booking without an enabled sharing agreement."""


class CapacityCut(PrepfloorError):
    """Lowering capacity below the hours already booked.  ``booked`` is those hours."""

    def __init__(self, message: str, booked: float) -> None:
        super().__init__(message)
        self.booked = booked


class TimerError(PrepfloorError):
    """A clocking action that cannot be done (no running timer, job not startable...)."""


class LoginRefused(PrepfloorError):
    """Wrong PIN, unknown user, or a user locked out for a while.

    The failed attempt is counted even though the login is refused (``keeps_writes``).
    """

    keeps_writes = True


class WrongSecret(Invalid):
    """A wrong current password given to change it: refused beside its field, and counted like a
    wrong sign-in (the lock-out of :mod:`db.lockout`), which is kept although the change is
    refused (``keeps_writes``)."""

    keeps_writes = True


class Busy(PrepfloorError):
    """The database stayed busy through every retry."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or _(
                "The database is busy right now and your change was not saved. "
                "Try again in a moment."
            )
        )


class ActorChanged(PrepfloorError):
    """The signed-in user was switched off, or their role or dealership changed, while they were
    signed in: the write was refused and nothing was saved.  The session must sign in again.

    Every write checks it (:func:`db.users.recheck`, called by :meth:`db.engine.Database.run`), in
    the same transaction as the write.  ``user_id`` is the user the session was signed in as.
    """

    def __init__(self, message: str, user_id: Any = None) -> None:
        super().__init__(message)
        self.user_id = user_id


class HeldUp(Busy):
    """A write waited for another terminal's change (or another program's) longer than the limit
    (the ``write_wait`` setting): it was given up and nothing of it was saved.  ``seconds`` is how
    long it waited."""

    def __init__(self, seconds: float) -> None:
        shown = max(1, round(seconds))
        super().__init__(
            _(
                "Another terminal's change has held the database for {seconds} s; nothing was "
                "saved. Try again in a moment; if it keeps happening, tell your admin."
            ).format(seconds=shown)
        )
        self.seconds = seconds
