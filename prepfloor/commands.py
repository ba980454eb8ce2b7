"""The ``prepfloor`` command line (Typer): the TUI with ``--db``/``--user``, the demo, the SSH
server, doctor, export, import and report; ``db`` and ``users`` are in :mod:`prepfloor.db_cli` and
:mod:`prepfloor.users_cli`.

The plain ``prepfloor`` start does not come here (:func:`prepfloor.cli.main` opens the TUI without
Typer); this module serves every subcommand and ``--help``.  Heavy imports (the ORM, Alembic)
happen inside the commands that need them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from db.i18n import N_, Labels, _, ngettext
from prepfloor.cli_common import (
    DbOption,
    UserOption,
    _db,
    cli_actor,
    fail,
    open_store,
    say,
    settings_for,
)
from prepfloor.config import locations
from prepfloor.db_cli import db_app
from prepfloor.directus_cli import directus_app
from prepfloor.outbox_cli import outbox_app
from prepfloor.users_cli import users_app

app = typer.Typer(
    name="prepfloor",
    help=_("Prep center work for a car-dealership group: orders, capacity, bookings, clocking."),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(directus_app, name="directus")
app.add_typer(outbox_app, name="outbox")

LISTED_PROBLEMS = 500  # an import's bad rows printed at most (the count says how many more)
# TRANSLATORS: the level of a `prepfloor doctor` finding, upper-cased at the start of its line.
DOCTOR_LEVELS = Labels({"error": N_("error"), "warning": N_("warning")})


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    db: DbOption = None,
    user: UserOption = None,
) -> None:
    """Open prepfloor for the signed-in user (or the sign-in screen)."""
    ctx.obj = {"db": db}
    if ctx.invoked_subcommand is None:
        settings = settings_for(db)
        store = open_store(settings)
        from prepfloor.launch import run_tui

        raise typer.Exit(run_tui(store, settings, preselect=user))


@app.command(
    help=_("Open prepfloor on a demo database in your data folder (created on first use).")
)
def demo(
    ctx: typer.Context,
    reset: Annotated[
        bool, typer.Option("--reset", help=_("Throw the demo data away and start over."))
    ] = False,
    user: UserOption = None,
    no_tui: Annotated[
        bool, typer.Option("--no-tui", help=_("Only create the demo database."))
    ] = False,
    db: DbOption = None,
) -> None:
    """Open prepfloor on a demo database in your data folder (created on first use)."""
    url = _db(ctx, db) or str(locations().demo_database)
    settings = settings_for(url)
    from db.urls import dialect_of, normalize_url, sqlite_path
    from prepfloor.demo import ensure_demo

    target = normalize_url(settings.database)
    if reset or (dialect_of(target) == "sqlite" and not Path(sqlite_path(target)).exists()):
        say(_("Building the demo database (a few seconds)..."), err=True)
    try:
        created = ensure_demo(settings.database, reset=reset)
    except Exception as error:
        fail(
            _("cannot build the demo database at {database}: {error}").format(
                database=settings.database, error=error
            )
        )
    if created:
        say(_("Demo database ready: {database}").format(database=settings.database), err=True)
    if no_tui:
        return
    store = open_store(settings)
    from prepfloor.launch import run_tui

    raise typer.Exit(run_tui(store, settings, preselect=user))


@app.command(
    help=_("Run the SSH server: staff sign in with their key and get prepfloor, nothing else.")
)
def serve(
    ctx: typer.Context,
    address: Annotated[
        str | None,
        typer.Option("--address", help=_("Listen on this address (default: [serve] address).")),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", help=_("Listen on this port (default: 2222).")),
    ] = None,
    web_port: Annotated[
        int | None,
        typer.Option(
            "--web-port",
            help=_("Also serve web browsers on this port (default: [web] port; 0: no web)."),
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Run the SSH server: staff sign in with their key and get prepfloor, nothing else."""
    import asyncio
    import dataclasses

    settings = settings_for(_db(ctx, db))
    serve_settings = settings.serve
    if address is not None:
        serve_settings = dataclasses.replace(serve_settings, address=address)
    if port is not None:
        serve_settings = dataclasses.replace(serve_settings, port=port)
    settings = dataclasses.replace(settings, serve=serve_settings)
    if web_port is not None:
        from prepfloor.config import ConfigError
        from prepfloor.serve_config import check_web

        web = dataclasses.replace(settings.web, port=web_port)
        try:
            check_web(web)
        except ConfigError as error:
            fail(str(error))
        settings = dataclasses.replace(settings, web=web)
    store = open_store(settings)
    from prepfloor import serve as server

    key_path = serve_settings.host_key or locations().data_dir / server.HOST_KEY_NAME
    server.configure_logging()

    def ready(bound: str) -> None:
        say(
            _("prepfloor serve: listening on {address}; stop with ctrl+c").format(address=bound),
            err=True,
        )

    try:
        code = asyncio.run(server.serve(settings, store, key_path, ready))
    except OSError as error:
        fail(
            _("cannot listen on {address}:{port}: {reason}").format(
                address=serve_settings.address, port=serve_settings.port, reason=error.strerror
            )
        )
    raise typer.Exit(code)


@app.command(help=_("Check every invariant on the live database; exit 1 if anything is wrong."))
def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help=_(
                "First rebuild what prepfloor derives from other rows (capacity used hours from "
                "the bookings, car access from the bookings) after a writer that bypassed "
                "prepfloor changed them; every repaired row is logged as an event."
            ),
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Check every invariant on the live database; exit 1 if anything is wrong."""
    settings = settings_for(_db(ctx, db))
    store = open_store(settings)
    from db.doctor import run_checks

    if repair:
        from db.repair import repair as rebuild

        repaired = store.run(rebuild)
        tag = _("REPAIRED")
        for item in repaired:
            say(f"{tag:8} {item.table:12} {item.what}")
        say(
            ngettext("{n} row repaired.", "{n} rows repaired.", len(repaired)).format(
                n=len(repaired)
            )
        )

    findings = store.query(run_checks)
    errors = [f for f in findings if f.level == "error"]
    for finding in findings:
        level = DOCTOR_LEVELS.get(finding.level, finding.level)
        say(f"{level.upper():8} {finding.check:12} {finding.message}")
    say(
        _("{database}: {errors} error(s), {warnings} warning(s).").format(
            database=settings.database, errors=len(errors), warnings=len(findings) - len(errors)
        )
    )
    if errors:
        raise typer.Exit(1)


@app.command("export", help=_("Write a table as CSV or JSON, for a spreadsheet or another system."))
def export(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help=_("The table, e.g. cars, resource_bookings."))],
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("csv or json."))] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help=_("File (default: standard output)."))
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a table as CSV or JSON, for a spreadsheet or another system."""
    store = open_store(settings_for(_db(ctx, db)))
    from db.errors import PrepfloorError
    from db.transfer import check_export, export_table

    try:
        check_export(table, fmt)  # before --output is opened: a typo must not empty a file
        if output is None:
            count = store.query(export_table, table, fmt, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = store.query(export_table, table, fmt, handle)
    except PrepfloorError as error:
        fail(str(error))
    if output is not None:
        written = ngettext(
            "{count} row of {table} written to {path}.",
            "{count} rows of {table} written to {path}.",
            count,
        )
        say(written.format(count=count, table=table, path=output), err=True)


@app.command(
    "import",
    help=_(
        "Import cars or capacities from CSV: all rows or none; bad rows are listed with reasons."
    ),
)
def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help=_("cars or capacities."))],
    path: Annotated[
        Path, typer.Argument(help=_("The CSV file."), exists=True, dir_okay=False, readable=True)
    ],
    as_user: Annotated[
        str | None, typer.Option("--as", help=_("Import as this user (default: your login)."))
    ] = None,
    db: DbOption = None,
) -> None:
    """Import cars or capacities from CSV: all rows or none; bad rows are listed with reasons."""
    store = open_store(settings_for(_db(ctx, db)))
    actor = cli_actor(store, as_user)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from db import formats
    from db.errors import PrepfloorError
    from db.transfer import KINDS, ImportInterrupted, ImportRejected, import_csv

    if kind not in KINDS:
        fail(_("import kind is one of: {kinds}").format(kinds=", ".join(KINDS)))
    steps = _import_steps(kind)
    try:
        columns = (
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
        )
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task(steps["checking"], total=None)

            def advance(step: str, done: int, total: int) -> None:
                progress.update(task, description=steps[step], completed=done, total=total)

            count = import_csv(store.db, actor, kind, path, progress=advance)
    except ImportInterrupted as interrupted:
        for row_number, reason in interrupted.problems:
            say(_("row {row}: {reason}").format(row=row_number, reason=reason), err=True)
        fail(str(interrupted))
    except ImportRejected as rejected:
        for row_number, reason in rejected.problems[:LISTED_PROBLEMS]:
            say(_("row {row}: {reason}").format(row=row_number, reason=reason), err=True)
        more = len(rejected.problems) - LISTED_PROBLEMS
        if more > 0:
            rest = ngettext(
                "... and {count} more bad row (fix these first, then import again)",
                "... and {count} more bad rows (fix these first, then import again)",
                more,
            )
            say(rest.format(count=formats.number(more, 0)), err=True)
        bad = len(rejected.problems)
        # TRANSLATORS: "row(s)" in both English forms; the count picks the form in other languages.
        nothing = ngettext(
            "nothing imported: {count} bad row(s) in {path}",
            "nothing imported: {count} bad row(s) in {path}",
            bad,
        )
        fail(nothing.format(count=bad, path=path))
    except PrepfloorError as error:
        fail(str(error))
    say(_imported(kind, count).format(count=count, kind=kind, path=path))


def _import_steps(kind: str) -> dict[str, str]:
    """What the progress bar of `prepfloor import` says at each step (whole texts per kind: a
    language may need to say cars and capacities differently)."""
    if kind == "cars":
        checking, writing = _("Checking cars"), _("Writing cars")
    elif kind == "capacities":
        checking, writing = _("Checking capacities"), _("Writing capacities")
    else:
        checking, writing = _("Checking rows"), _("Writing rows")
    return {"checking": checking, "writing": writing, "undoing": _("Undoing")}


def _imported(kind: str, count: int) -> str:
    """What `prepfloor import` says when it is done (``{count}``, ``{kind}``, ``{path}``)."""
    if kind == "cars":
        return ngettext(
            "Imported {count} car from {path}.", "Imported {count} cars from {path}.", count
        )
    if kind == "capacities":
        return ngettext(
            "Imported {count} capacity from {path}.",
            "Imported {count} capacities from {path}.",
            count,
        )
    return ngettext(
        "Imported {count} row of {kind} from {path}.",
        "Imported {count} rows of {kind} from {path}.",
        count,
    )


@app.command(
    "report",
    help=_(
        "The manager's dashboard as tables on standard output, without the TUI (for a cron mail)."
    ),
)
def report(
    ctx: typer.Context,
    as_: Annotated[
        str | None,
        typer.Option("--as", help=_("Report as this user (default: the OS login name).")),
    ] = None,
    dealership: Annotated[
        str | None,
        typer.Option("--dealership", "-d", help=_("Dealership number (with its branches).")),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", help=_("The period: this many days to today."))
    ] = 30,
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            "-t",
            help=_(
                "Only these tables: status, stages, sla, workload, productivity, estimates, "
                "sharing (repeat the option)."
            ),
        ),
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv", help=_("Also write each table as CSV into this folder."))
    ] = None,
    width: Annotated[
        int | None, typer.Option("--width", help=_("Columns (default: the terminal)."))
    ] = None,
    db: DbOption = None,
) -> None:
    """The manager's dashboard as tables on standard output, without the TUI (for a cron mail)."""
    store = open_store(settings_for(_db(ctx, db)))
    from db import dashboard as figures
    from db.errors import PrepfloorError
    from prepfloor.report import print_report

    actor = cli_actor(store, as_)
    if days < 1:
        fail(_("--days is a number of days, 1 or more."))
    root_id = None
    if dealership is not None:
        from db.settings import dealerships

        found = [d.id for d in dealerships(store.fast) if d.active and d.number == dealership]
        if not found:
            fail(_("no active dealership number {number}").format(number=repr(dealership)))
        root_id = found[0]
    keys = [t.lower() for t in table or []]
    try:
        data = figures.dashboard(store.fast, actor, root_id=root_id, days=days)
    except PrepfloorError as error:
        fail(str(error))
    known = [t.key for t in data.tables]
    unknown = [k for k in keys if k not in known]
    if unknown:
        fail(
            _("no table {names}; the tables: {tables}").format(
                names=", ".join(unknown), tables=", ".join(known)
            )
        )
    print_report(data, keys or None, width=width)
    if csv_dir is not None:
        csv_dir.mkdir(parents=True, exist_ok=True)
        for t in data.tables:
            if keys and t.key not in keys:
                continue
            path = csv_dir / data.file_name(t)
            figures.write_csv(t, path)
            say(f"{t.title}: {path}", err=True)
