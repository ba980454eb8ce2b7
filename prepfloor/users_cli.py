"""``prepfloor users``: add and list users, set a PIN, a password or a badge, register SSH keys, a
shared terminal's account, a user's start screen and language."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from db.i18n import _
from prepfloor.cli_common import (
    DbOption,
    _db,
    active_user,
    fail,
    open_store,
    plain_cell,
    say,
    settings_for,
)

users_app = typer.Typer(
    help=_("Users: add, list, set a PIN or badge, register SSH keys."), no_args_is_help=True
)


@users_app.command("list", help=_("List users with role, dealership and whether they have a PIN."))
def users_list(ctx: typer.Context, db: DbOption = None) -> None:
    """List users with role, dealership and whether they have a PIN."""
    store = open_store(settings_for(_db(ctx, db)))
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for title in (
        _("login"),
        _("name"),
        _("role"),
        _("dealership"),
        _("PIN"),
    ):  # one line per user, long names cut
        table.add_column(title, no_wrap=True, overflow="ellipsis", max_width=60)
    for row in store.fast.sign_in_list():
        table.add_row(
            *(
                plain_cell(value)
                for value in (
                    row.login,
                    row.display_name,
                    row.role,
                    row.dealership_name or "—",
                    _("yes") if row.has_pin else "",
                )
            )
        )
    Console(markup=False, emoji=False, highlight=False).print(table)


@users_app.command("add", help=_("Add a user."))
def users_add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("Login name (the OS login name for SSH users)."))],
    name: Annotated[str, typer.Option("--name", help=_("Full name, as colleagues know it."))],
    role: Annotated[
        str,
        typer.Option(
            "--role", help=_("seller, coordinator, mechanic, detailer, manager or admin.")
        ),
    ],
    dealership: Annotated[
        str | None, typer.Option("--dealership", help=_("Dealership number, e.g. 499."))
    ] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    pin: Annotated[
        bool, typer.Option("--pin", help=_("Ask for a PIN (for shared workshop terminals)."))
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a user."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users
    from db.errors import PrepfloorError

    dealership_id = None
    if dealership:
        found = store.fast.rows(
            "SELECT id FROM dealership WHERE dealership_number = :n", {"n": dealership}
        )
        if not found:
            fail(_("there is no dealership number {number}").format(number=dealership))
        dealership_id = int(found[0][0])
    secret = _ask_pin() if pin else None
    try:
        user = store.run(
            users.create_user,
            None,
            login=login,
            display_name=name,
            role=role,
            dealership_id=dealership_id,
            email=email,
            pin=secret,
        )
    except PrepfloorError as error:
        fail(str(error))
    say(_("Added {login} ({role}).").format(login=user.login, role=user.role))


def _ask_pin() -> str:
    first = typer.prompt(_("PIN (4-8 digits)"), hide_input=True)
    second = typer.prompt(_("Same PIN again"), hide_input=True)
    if first != second:
        fail(_("the two PINs differ; nothing was changed"))
    return first


@users_app.command(
    "set-pin", help=_("Set (or clear) a user's PIN; also lifts a lock-out after wrong PINs.")
)
def users_set_pin(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    clear: Annotated[bool, typer.Option("--clear", help=_("Remove the PIN instead."))] = False,
    db: DbOption = None,
) -> None:
    """Set (or clear) a user's PIN; also lifts a lock-out after wrong PINs."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users
    from db.errors import PrepfloorError

    target = active_user(store, login)
    secret = None if clear else _ask_pin()
    try:
        store.run(users.set_pin, None, target.user_id, secret)
    except PrepfloorError as error:
        fail(str(error))
    done = _("PIN cleared for {login}.") if clear else _("PIN set for {login}.")
    say(done.format(login=login))


def _ask_password() -> str:
    """The new password: asked twice, hidden, at a terminal; else the first line of the standard
    input (a second line, when there is one, must repeat it)."""
    if not sys.stdin.isatty():
        lines = [line.rstrip("\r\n") for line in sys.stdin.readlines()[:2]]
        if not lines or not lines[0]:
            fail(_("no password on the standard input; nothing was changed"))
        if len(lines) > 1 and lines[1] and lines[1] != lines[0]:
            fail(_("the two passwords differ; nothing was changed"))
        return lines[0]
    first = typer.prompt(_("Password (at least 10 characters)"), hide_input=True)
    second = typer.prompt(_("Same password again"), hide_input=True)
    if first != second:
        fail(_("the two passwords differ; nothing was changed"))
    return first


@users_app.command(
    "set-password",
    help=_(
        "Set (or clear) the password a user signs in with from a web browser; also lifts a "
        "lock-out. Asked twice at a terminal, else read from the standard input."
    ),
)
def users_set_password(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    clear: Annotated[bool, typer.Option("--clear", help=_("Remove the password instead."))] = False,
    db: DbOption = None,
) -> None:
    """Set (or clear) the password a user signs in with from a web browser; also lifts a
    lock-out.  Asked twice at a terminal, else read from the standard input."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users
    from db.errors import PrepfloorError

    target = active_user(store, login)
    secret = None if clear else _ask_password()
    try:
        store.run(users.set_password, None, target.user_id, secret)
    except PrepfloorError as error:
        fail(str(error))
    done = _("Password cleared for {login}.") if clear else _("Password set for {login}.")
    say(done.format(login=target.login))


@users_app.command(
    "set-badge",
    help=_(
        "Register the badge a reader types at the workshop terminal.  It is stored as a keyed "
        "hash; the key is a file outside the database (beside a SQLite file, or "
        "PREPFLOOR_BADGE_KEY)."
    ),
)
def users_set_badge(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    badge: Annotated[
        str | None, typer.Argument(help=_("The badge number (omit with --clear)."))
    ] = None,
    clear: Annotated[bool, typer.Option("--clear")] = False,
    db: DbOption = None,
) -> None:
    """Register the badge a reader types at the workshop terminal.  It is stored as a keyed hash;
    the key is a file outside the database (beside a SQLite file, or PREPFLOOR_BADGE_KEY)."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import badges, users
    from db.errors import PrepfloorError

    target = active_user(store, login)
    if not clear and not badge:
        fail(_("give the badge number, or --clear"))
    try:
        store.run(users.set_badge, None, target.user_id, None if clear else badge)
    except PrepfloorError as error:
        fail(str(error))
    done = _("Badge cleared for {login}.") if clear else _("Badge set for {login}.")
    say(done.format(login=login))
    if not clear:
        where = store.query(badges.key_path)
        if where is not None:
            say(
                _(
                    "Badges are checked with the key in {path}: keep it (and a copy with backups)."
                ).format(path=where)
            )


def _key_text(path: Path) -> str:
    """The text of a public key file ("-": standard input), or exit with a message."""
    try:
        data = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(_("there is no file {path}").format(path=path))
    except IsADirectoryError:
        fail(
            _("{path} is a folder; give the public key file (e.g. ~/.ssh/id_ed25519.pub)").format(
                path=path
            )
        )
    except UnicodeDecodeError:
        fail(_("{path} is not a public key file (not text); give the .pub file").format(path=path))
    except OSError as error:
        fail(_("cannot read {path}: {reason}").format(path=path, reason=error.strerror))
    return data


@users_app.command(
    "add-key", help=_("Register an SSH public key: the user signs in to `prepfloor serve` with it.")
)
def users_add_key(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login (their SSH username)."))],
    keyfile: Annotated[
        Path, typer.Argument(help=_("Their public key file, e.g. id_ed25519.pub (- : stdin)."))
    ],
    db: DbOption = None,
) -> None:
    """Register an SSH public key: the user signs in to `prepfloor serve` with it."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users
    from db.errors import PrepfloorError

    target = active_user(store, login)
    text = _key_text(keyfile)
    try:
        key = store.run(users.add_key, None, target.user_id, text)
    except PrepfloorError as error:
        fail(str(error))
    say(
        _("Key {fingerprint} ({key_type}) added for {login}.").format(
            fingerprint=key.fingerprint, key_type=key.key_type, login=target.login
        )
    )


@users_app.command("keys", help=_("List a user's SSH public keys."))
def users_keys(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    db: DbOption = None,
) -> None:
    """List a user's SSH public keys."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users

    target = active_user(store, login)
    rows = store.query(users.user_keys, target.user_id)
    if not rows:
        say(
            _("{login} has no SSH keys (add one with `prepfloor users add-key`).").format(
                login=target.login
            )
        )
        return
    # One line per key, whole fingerprints (to compare with `ssh-keygen -l` and to copy); the
    # comment is whatever the key file said: cleaned, and cut.
    from db import formats
    from db.text import shown

    for row in rows:
        added = (
            _("added {day}").format(day=formats.date_field(row.created_at))
            if row.created_at
            else ""
        )
        comment = shown(row.comment) or "-"
        say(f"{row.id:>4}  {row.key_type}  {row.fingerprint}  {comment}  {added}")


@users_app.command(
    "remove-key", help=_("Remove one of a user's SSH keys (their next login with it is refused).")
)
def users_remove_key(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    key: Annotated[str, typer.Argument(help=_("The key's fingerprint or # (see `users keys`)."))],
    db: DbOption = None,
) -> None:
    """Remove one of a user's SSH keys (their next login with it is refused)."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users
    from db.errors import PrepfloorError

    target = active_user(store, login)
    try:
        removed = store.run(users.remove_key, None, target.user_id, key)
    except PrepfloorError as error:
        fail(str(error))
    say(
        _("Key {fingerprint} removed from {login}.").format(
            fingerprint=removed.fingerprint, login=target.login
        )
    )


@users_app.command(
    "set-terminal",
    help=_(
        "Mark a shared workshop account: its SSH sessions open the sign-in screen (user + PIN)."
    ),
)
def users_set_terminal(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The shared workshop account's login."))],
    off: Annotated[bool, typer.Option("--off", help=_("Make it an ordinary user again."))] = False,
    db: DbOption = None,
) -> None:
    """Mark a shared workshop account: its SSH sessions open the sign-in screen (user + PIN)."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import users

    target = active_user(store, login)
    store.run(users.set_terminal, None, target.user_id, not off)
    now = (
        _("{login} is now an ordinary user.")
        if off
        else _("{login} is now a shared terminal (sessions open the sign-in screen).")
    )
    say(now.format(login=target.login))


@users_app.command(
    "set-start",
    help=_(
        "Choose the screen a user opens on when they sign in (users choose it themselves in the "
        'app too: f1 then s, or ctrl+p "Open on this screen from now on").'
    ),
)
def users_set_start(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    mode: Annotated[
        str | None,
        typer.Argument(
            help=_(
                "The screen they open on: cars, seller, coordinator, workshop, manager or "
                "admin (one of their role's)."
            )
        ),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help=_("Open on their role's own start screen again."))
    ] = False,
    db: DbOption = None,
) -> None:
    """Choose the screen a user opens on when they sign in (users choose it themselves in the
    app too: f1 then s, or ctrl+p "Open on this screen from now on")."""
    if (mode is None) == (not clear):
        fail(_("give a MODE, or --clear for the role's own start screen"))
    store = open_store(settings_for(_db(ctx, db)))
    from db import modes, users
    from db.errors import PrepfloorError

    target = active_user(store, login)
    try:
        store.run(users.set_start_mode, None, target.user_id, None if clear else mode)
    except PrepfloorError as error:
        fail(str(error))
    chosen = store.fast.start_row(target.user_id).start_mode
    opens = modes.start_mode(target.role, chosen)
    opens_on = (
        _("{login} opens on {screen} (the role's own) at sign-in.")
        if chosen is None
        else _("{login} opens on {screen} (chosen) at sign-in.")
    )
    say(opens_on.format(login=target.login, screen=modes.mode_title(opens)))


@users_app.command(
    "set-language",
    help=_(
        "Choose the language a user reads prepfloor in: nb (norsk bokmål) or en (English). "
        "Users choose it themselves in the app too: ctrl+l."
    ),
)
def users_set_language(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help=_("The user's login."))],
    language: Annotated[
        str | None, typer.Argument(help=_("nb (norsk bokmål) or en (English)."))
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help=_("Read prepfloor in the site's language again."))
    ] = False,
    db: DbOption = None,
) -> None:
    """Choose the language a user reads prepfloor in."""
    if (language is None) == (not clear):
        fail(_("give a LANGUAGE (nb or en), or --clear for the site's language"))
    store = open_store(settings_for(_db(ctx, db)))
    from db.errors import PrepfloorError
    from db.i18n import LANGUAGES
    from db.languages import language_of
    from db.users import set_language

    target = active_user(store, login)
    try:
        store.run(set_language, None, target.user_id, None if clear else language)
    except PrepfloorError as error:
        fail(str(error))
    chosen = language_of(store.fast, target.user_id)
    said_now = (
        _("{login} reads prepfloor in the site's language.")
        if chosen is None
        else _("{login} reads prepfloor in {language}.")
    )
    say(said_now.format(login=target.login, language=LANGUAGES.get(chosen or "", "")))
