"""The ``prepfloor`` command's entry point.

``prepfloor`` alone (with at most ``--db`` and ``--user``) opens the TUI straight away: Typer, Click
and what they import are not loaded for it (they cost about a third of a bare Textual app's start).
Every subcommand, ``--help`` and anything unusual on the command line goes to the Typer application
in :mod:`prepfloor.commands`, which says the same for a plain start too.
"""

from __future__ import annotations

import sys
from typing import Any

PLAIN_OPTIONS = {"--db": "db", "--user": "user", "-u": "user"}


def plain_start(args: list[str]) -> dict[str, str] | None:
    """The options of a plain start (``--db X``, ``--db=X``, ``--user X``, ``-u X``), or ``None``
    when the command line asks for more (a subcommand, ``--help``, anything else): Typer then reads
    it."""
    found: dict[str, str] = {}
    rest = list(args)
    while rest:
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        if name not in PLAIN_OPTIONS or (eq and name == "-u"):
            return None
        if not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-"):
            return None  # Typer says what is wrong with it
        found[PLAIN_OPTIONS[name]] = value
    return found


def main() -> None:
    """Entry point of the ``prepfloor`` command."""
    options = plain_start(sys.argv[1:])
    if options is not None or sys.argv[1:2] == ["demo"]:  # the TUI: keys typed as it starts
        from prepfloor.early_keys import keep_early_keys

        keep_early_keys()
    if options is None:
        from prepfloor.commands import app

        app()
        return
    from prepfloor.launch import start

    sys.exit(start(options.get("db"), options.get("user")))


def __getattr__(name: str) -> Any:
    """``prepfloor.cli.app``: the Typer application (loaded when asked for)."""
    if name == "app":
        from prepfloor.commands import app

        return app
    raise AttributeError(name)
