"""The ``prepfloor`` command.

``prepfloor`` alone opens the TUI; the subcommands are for the people who run the shop server.
Heavy imports (the ORM, Alembic) happen inside the commands that need them, so that opening the
TUI stays fast.

What a command prints from the database is data, never markup or terminal control: every line goes
out through :func:`say` (one clean line, :func:`db.text.one_line`), every table cell as a
``rich.text.Text`` (never parsed for ``[markup]``).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from db.i18n import N_, Labels, _, ngettext
from prepfloor.config import ConfigError, Settings, apply_timezone, load_settings, locations
from prepfloor.directus_cli import directus_app
from prepfloor.language import choose_at_start

choose_at_start()  # the help texts below and every command's output speak the site's language

app = typer.Typer(
    name="prepfloor",
    help=_("Prep center work for a car-dealership group: orders, capacity, bookings, clocking."),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help=_("The database: schema upgrades."), no_args_is_help=True)
users_app = typer.Typer(
    help=_("Users: add, list, set a PIN or badge, register SSH keys."), no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(directus_app, name="directus")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help=_("Database: a file path, sqlite:///path or postgresql://user@host/db.")
    ),
]
LISTED_PROBLEMS = 500  # an import's bad rows printed at most (the count says how many more)
# TRANSLATORS: the level of a `prepfloor doctor` finding, upper-cased at the start of its line.
DOCTOR_LEVELS = Labels({"error": N_("error"), "warning": N_("warning")})
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
    try:
        settings = load_settings(db)
    except ConfigError as error:
        fail(_("config: {error}").format(error=error))
        raise  # unreachable
    apply_timezone(settings)
    return settings


def open_store(settings: Settings):  # type: ignore[no-untyped-def]
    """A store on the configured database, migrated if it is new."""
    from db.errors import PrepfloorError
    from db.store import Store

    try:
        store = Store(settings.database)
        store.ensure_schema()
    except PrepfloorError as error:
        fail(str(error))
    except Exception as error:  # cannot connect, cannot create the file...
        fail(
            _("cannot open the database {database} ({source}): {error}").format(
                database=settings.database, source=settings.database_source, error=error
            )
        )
    return store


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


def main() -> None:
    """Entry point of the ``prepfloor`` command."""
    app()
