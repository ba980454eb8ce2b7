"""Who is at the keyboard, then run the app."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from db.access import Actor
from db.i18n import _
from db.store import Store
from prepfloor.config import Settings


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name at all (a container without a passwd entry)
        return ""


@dataclass(frozen=True)
class Identity:
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
    from prepfloor.app import make_app

    who = identify(store, preselect, os_login())
    app = make_app(
        store,
        settings,
        actor=who.actor,
        preselect=who.preselect,
        sign_in_message=who.message,
        terminal=who.terminal,
    )
    app.run()
    store.close()
    return app.return_code or 0
