"""``prepfloor directus``: Directus on prepfloor's PostgreSQL database.

``prepfloor directus apply`` writes what Directus should know about prepfloor's collections (the
choices of every status, read-only and hidden fields, display templates, the bookkeeping tables out
of the sidebar) into Directus's own tables: :mod:`db.directus` says what, :mod:`db.directus_apply`
writes it.  Nothing else in
prepfloor needs Directus or this command.

Light at import (``prepfloor`` loads it to list its commands): the database layer is imported when
the command runs.  Every line printed is one clean line of text, never markup.
"""

from __future__ import annotations

from typing import Annotated

import typer

from db.i18n import _, ngettext
from prepfloor.language import choose_at_start

choose_at_start()  # the help texts below speak the site's language (prepfloor.commands imports this first)

directus_app = typer.Typer(
    help=_("Directus on the same PostgreSQL database: its settings for prepfloor's collections."),
    no_args_is_help=True,
)


def _say(message: object, err: bool = False) -> None:
    from db.text import one_line

    typer.echo(one_line(message), err=err)


def _fail(message: str) -> None:
    _say(f"prepfloor: {message}", err=True)
    raise typer.Exit(1)


def _database(ctx: typer.Context, db: str | None) -> str:
    """The database: ``--db`` after the subcommand, else before it, else the configuration."""
    from prepfloor.config import ConfigError, load_settings

    chosen = db or (ctx.obj or {}).get("db")
    try:
        return load_settings(chosen).database
    except ConfigError as error:
        _fail(_("config: {error}").format(error=error))
        raise  # unreachable


@directus_app.command(
    "apply",
    help=_(
        "Write Directus's settings for prepfloor's collections (choices, read-only and hidden "
        "fields, display templates) into Directus's tables on this database; run again after "
        "each prepfloor upgrade.  Run it as Directus's database role."
    ),
)
def apply(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help=_("Say what would change, and change nothing.")),
    ] = False,
    db: Annotated[
        str | None,
        typer.Option("--db", help=_("Database: postgresql://user@host/db (Directus's role).")),
    ] = None,
) -> None:
    """Write Directus's settings for prepfloor's collections into Directus's tables."""
    url = _database(ctx, db)
    from db import directus_apply

    try:
        outcome = directus_apply.apply(url, dry_run=dry_run)
    except directus_apply.DirectusNotReady as error:
        _fail(str(error))
        return
    for change in outcome.changes:
        if change.created:
            _say(_("added    {name}").format(name=change.name))
        else:
            _say(
                _("changed  {name}: {settings}").format(
                    name=change.name, settings=", ".join(change.columns)
                )
            )
    for table in outcome.absent:
        _say(
            _("skipped  {name}: not on this database (an older prepfloor schema?)").format(
                name=table
            )
        )
    if not outcome.changes:
        _say(
            _(
                "{database}: Directus's settings for prepfloor's {collections} collections and "
                "{fields} fields are up to date; nothing changed."
            ).format(
                database=outcome.database,
                collections=outcome.collections,
                fields=outcome.fields,
            )
        )
        return
    count = ngettext("{n} setting row", "{n} setting rows", len(outcome.changes)).format(
        n=len(outcome.changes)
    )
    if outcome.dry_run:
        _say(
            _("{database}: {count} would be written (dry run: nothing was changed).").format(
                database=outcome.database, count=count
            )
        )
        return
    _say(_("{database}: {count} written.").format(database=outcome.database, count=count))
    _say(
        _(
            "A running Directus keeps its schema in a cache: restart it, or clear the cache as an "
            "admin (POST /utils/cache/clear?system), to see the new settings."
        )
    )
