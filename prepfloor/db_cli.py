"""``prepfloor db``: schema upgrades, and adopting an existing Directus database."""

from __future__ import annotations

from typing import Annotated

import typer

from db.i18n import N_, Labels, _, ngettext
from prepfloor.cli_common import DbOption, _db, fail, say, settings_for

db_app = typer.Typer(help=_("The database: schema upgrades."), no_args_is_help=True)


@db_app.command(
    "upgrade", help=_("Apply the schema migrations this prepfloor brings (never loses rows).")
)
def db_upgrade(ctx: typer.Context, db: DbOption = None) -> None:
    """Apply the schema migrations this prepfloor brings (never loses rows)."""
    settings = settings_for(_db(ctx, db))
    from db.fast import FastReader
    from db.migrate import upgrade
    from db.schema import HEAD

    reader = FastReader(settings.database)
    before = reader.schema_revision()
    # adopt hook: a Directus database is adopted first (db/adopt.py), never migrated over
    from db.store import directus_database

    directus = before is None and directus_database(reader)
    reader.close()
    if directus:
        fail(
            _(
                "this is a Directus database that prepfloor has not adopted: run `prepfloor db "
                "adopt --check`, then `prepfloor db adopt`; nothing was changed."
            )
        )
    try:
        upgrade(settings.database)
    except Exception as error:
        fail(_("upgrade failed, nothing was changed: {error}").format(error=error))
    # TRANSLATORS: the schema revision of a database that has none yet ("schema none → 0042").
    was = before or _("none")
    say(
        _("{database}: schema {before} → {head}").format(
            database=settings.database, before=was, head=HEAD
        )
    )


# --- prepfloor db adopt: prepfloor on an existing Directus database (db/adopt.py) ---------------
# TRANSLATORS: the level of a `prepfloor db adopt` line, upper-cased at its start.
ADOPT_LEVELS = Labels(
    {"ok": N_("ok"), "note": N_("note"), "add": N_("add"), "warn": N_("warn"), "block": N_("block")}
)


@db_app.command(
    "adopt",
    help=_(
        "Run prepfloor on an existing Directus database (PostgreSQL): check it, then add "
        "prepfloor's tables and a copy of the Directus users kept in step."
    ),
)
def db_adopt(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help=_("Only say what adopting would do; change nothing."))
    ] = False,
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help=_("DIRECTUS_ROLE_NAME=ROLE: the prepfloor role of that Directus role's users."),
        ),
    ] = None,
    dealership_field: Annotated[
        str | None,
        typer.Option(
            "--dealership-field", help=_("The field of directus_users with the dealership.")
        ),
    ] = None,
    login_field: Annotated[
        str | None,
        typer.Option(
            "--login-field",
            help=_("The field of directus_users with the login (default: the e-mail before @)."),
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run prepfloor on an existing Directus database: check it, then adopt it."""
    settings = settings_for(_db(ctx, db))
    from db.adopt import Options, adopt, parse_roles
    from db.errors import PrepfloorError

    try:
        options = Options(parse_roles(role or []), login_field, dealership_field)
        report = adopt(settings.database, options, check_only=check)
    except PrepfloorError as error:
        fail(str(error))
    except Exception as error:  # cannot connect...
        fail(
            _("cannot open the database {database}: {error}").format(
                database=settings.database, error=error
            )
        )
    for item in report.items:  # what the database holds is data: say() prints one plain line
        say(f"{ADOPT_LEVELS.get(item.level, item.level).upper():5} {item.where:38} {item.message}")
    from db.schema import HEAD

    where = settings.database
    if report.blocked:
        say(
            _(
                "{database}: adopting is blocked: change what the {block} lines say, then run "
                "this again. Nothing was changed."
            ).format(database=where, block=ADOPT_LEVELS["block"].upper())
        )
        raise typer.Exit(1)
    if report.adopted_at is not None:
        said = _("{database}: already adopted on {day}.")
        say(said.format(database=where, day=report.adopted_at.date().isoformat()))
    elif not report.adopted_now:
        said = _(
            "{database}: nothing blocks adopting; run it without --check. Nothing was changed."
        )
        say(said.format(database=where))
    else:
        said = ngettext(
            "{database}: adopted at schema {head}, {n} Directus user copied; prepfloor db "
            "upgrade, prepfloor doctor and prepfloor work on it now.",
            "{database}: adopted at schema {head}, {n} Directus users copied; prepfloor db "
            "upgrade, prepfloor doctor and prepfloor work on it now.",
            report.users,
        )
        say(said.format(database=where, head=HEAD, n=report.users))
