"""The plain start: the settings, the database, who is at the keyboard, then the app.

Used by ``prepfloor`` alone without Typer (:func:`start`), and by the Typer commands that open the
TUI (``prepfloor --help``'s own start, ``prepfloor demo``).
"""

from __future__ import annotations

import gc
import getpass
import sys
from typing import NamedTuple

from db.access import Actor
from db.i18n import _
from db.store import Store
from prepfloor.config import ConfigError, Settings, apply_timezone, load_settings


class StartFailed(Exception):
    """The settings or the database cannot be had: the message says why, for the command line."""


def settings_for(db: str | None) -> Settings:
    """The settings (``--db`` first), with the time zone applied."""
    try:
        settings = load_settings(db)
    except ConfigError as error:
        raise StartFailed(_("config: {error}").format(error=error)) from error
    apply_timezone(settings)
    return settings


def open_store(settings: Settings) -> Store:
    """A store on the configured database, migrated if it is new."""
    from db.errors import PrepfloorError

    try:
        store = Store(settings.database)
        store.ensure_schema()
    except PrepfloorError as error:
        raise StartFailed(str(error)) from error
    except Exception as error:  # cannot connect, cannot create the file...
        raise StartFailed(
            _("cannot open the database {database} ({source}): {error}").format(
                database=settings.database, source=settings.database_source, error=error
            )
        ) from error
    return store


def start(db: str | None, user: str | None) -> int:
    """``prepfloor [--db X] [--user NAME]``: open the TUI; the exit code.

    The garbage collector waits until the first frame is up (:meth:`PrepfloorApp.freeze_loaded`
    collects once, puts what is loaded out of its sight, and turns it back on): everything made
    until then lives as long as the session, and the full collections that the imports and the
    first screen would set off (~tens of milliseconds) found nothing to free."""
    gc.disable()
    from prepfloor.language import choose_at_start

    choose_at_start()  # a failure below is said in the site's language
    try:
        settings = settings_for(db)
        store = open_store(settings)
    except StartFailed as failure:
        from db.text import one_line

        print(one_line(f"prepfloor: {failure}"), file=sys.stderr)
        return 1
    return run_tui(store, settings, preselect=user)


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name at all (a container without a passwd entry)
        return ""


class Identity(NamedTuple):
    actor: Actor | None  # signed in already (the OS vouched for them)
    preselect: str | None  # else: the user to preselect on the sign-in screen
    message: str = ""
    terminal: str | None = None  # the OS login is this shared terminal account: its sign-in


def identify(store: Store, preselect: str | None, login: str) -> Identity:
    """The OS login name signs in an active user of the same login without a PIN.  ``--user``
    only preselects: unless it is the OS login name, that user's PIN is asked.  An OS login
    that is a shared terminal account signs nobody in: it opens that terminal's sign-in screen
    (its dealership's people, with a PIN or a badge)."""
    if login and store.fast.is_terminal(login):
        return Identity(None, preselect, terminal=login)
    if login and (preselect is None or preselect.lower() == login.lower()):
        actor = store.fast.actor(login)
        if actor is not None:
            return Identity(actor, None)
        if preselect is not None:
            return Identity(
                None,
                None,
                _("{login} is not a prepfloor user here; pick who you are.").format(
                    login=repr(login)
                ),
            )
    return Identity(None, preselect)


def run_tui(store: Store, settings: Settings, preselect: str | None = None) -> int:
    who = identify(store, preselect, os_login())
    # what the first screen shows is read while Textual loads (prepfloor/read_ahead.py)
    ahead = None
    if who.actor is not None:
        from prepfloor.read_ahead import ReadAhead

        ahead = ReadAhead(store, who.actor)
    from prepfloor.app import make_app

    app = make_app(
        store,
        settings,
        actor=who.actor,
        preselect=who.preselect,
        sign_in_message=who.message,
        terminal=who.terminal,
        read_ahead=ahead,
    )
    app.run()
    store.close()
    return app.return_code or 0
