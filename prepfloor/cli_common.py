"""What every ``prepfloor`` subcommand shares: the language chosen before any help text is made,
the ``--db`` and ``--user`` options, and the way a command speaks and fails.

What a command prints from the database is data, never markup or terminal control: every line goes
out through :func:`say` (one clean line, :func:`db.text.one_line`), every table cell as a
``rich.text.Text`` (never parsed for ``[markup]``).
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from db.i18n import _
from prepfloor.config import Settings
from prepfloor.language import choose_at_start

choose_at_start()  # the help texts and every command's output speak the site's language

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help=_("Database: a file path, sqlite:///path or postgresql://user@host/db.")
    ),
]
UserOption = Annotated[
    str | None,
    typer.Option("--user", "-u", help=_("Preselect this user on the sign-in screen.")),
]


def say(message: object, err: bool = False) -> None:
    """Print one line: cleaned of control characters (a name, a comment or a message that quotes
    stored text may hold escape sequences written by another program)."""
    from db.text import one_line

    typer.echo(one_line(message), err=err)


def fail(message: str, code: int = 1) -> None:
    say(f"prepfloor: {message}", err=True)
    raise typer.Exit(code)


def plain_cell(value: object) -> object:
    """A table cell that is data: a ``rich.text.Text`` of one clean line, never markup."""
    from rich.text import Text

    from db.text import one_line

    return Text(one_line(value))


def settings_for(db: str | None) -> Settings:
    """The settings (``--db`` first), or exit saying why not."""
    from prepfloor.launch import StartFailed
    from prepfloor.launch import settings_for as load

    try:
        return load(db)
    except StartFailed as failure:
        fail(str(failure))
        raise  # unreachable


def open_store(settings: Settings):  # type: ignore[no-untyped-def]
    """A store on the configured database, migrated if it is new; or exit saying why not."""
    from prepfloor.launch import StartFailed
    from prepfloor.launch import open_store as open_

    try:
        return open_(settings)
    except StartFailed as failure:
        fail(str(failure))
        raise  # unreachable


def _db(ctx: typer.Context, db: str | None) -> str | None:
    """``--db`` given after the subcommand, else before it."""
    return db or (ctx.obj or {}).get("db")


def active_user(store, login: str):  # type: ignore[no-untyped-def]
    """The active user ``login`` as an actor, or exit with a message."""
    actor = store.fast.actor(login)
    if actor is None:
        fail(_("no active user {login}").format(login=repr(login)))
    return actor


def cli_actor(store, login: str | None):  # type: ignore[no-untyped-def]
    """The user a command acts as: --as, else the OS login name."""
    name = login or getpass.getuser()
    actor = store.fast.actor(name)
    if actor is None:
        fail(
            _(
                "{login} is not an active prepfloor user; pass --as LOGIN "
                "(see `prepfloor users list`)."
            ).format(login=repr(name))
        )
    return actor
