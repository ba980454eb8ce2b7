"""Settings in layers.

Database: ``--db`` flag > ``PREPFLOOR_DATABASE_URL`` > user config file > site config file > the
default SQLite file in the user data folder.  The site config (``/etc/xdg/prepfloor/config.toml`` on
Linux) is how a shop server gives every SSH user the same database file.

Config files are TOML::

    database = "/srv/prepfloor/prepfloor.db"   # or postgresql://prepfloor@dbhost/prepfloor
    timezone = "Europe/Oslo"                   # local dates and times (default: the machine's)
    language = "nb"                            # the site's language: nb (norsk bokmål) or en;
                                               # each user may choose their own in the app
    shift_hours = 10                           # a timer running longer is flagged as forgotten
    idle_minutes = 5                           # a workshop terminal signs out after this idle time
    write_wait = 10                            # seconds a save waits for another terminal's
                                               # change before it is given up (nothing saved)

    [serve]                                    # `prepfloor serve`, the built-in SSH server
    address = "127.0.0.1"                      # "0.0.0.0" (or the server's LAN address) for the shop
    port = 2222
    max_sessions = 64                          # sessions at once; more are refused
    max_sessions_per_user = 4                  # sessions of one user at once; more are refused
    login_timeout = 30                         # seconds to authenticate before the link is dropped
    keepalive = 30                             # seconds between keepalives (0: none); 3 missed: gone
    failed_logins = 10                         # keys refused from one address within...
    failed_window = 300                        # ...this many seconds: that address waits it out
    host_key = "/var/lib/prepfloor/ssh_host_ed25519_key"   # default: in the data folder
    files = "/var/lib/prepfloor/files"         # each user's file area (SFTP); default: data folder
    files_quota = 200                          # megabytes one user's file area may hold
    hostname = "shopserver"                    # the server's name in the sftp commands shown
                                               # to staff (default: this machine's name)

    [web]                                      # `prepfloor serve` also serves browsers (optional)
    port = 8443                                # no port: no web
    address = "0.0.0.0"                        # anything but loopback needs tls_cert and tls_key
    tls_cert = "/etc/prepfloor/fullchain.pem"  # TLS: the certificate chain and its key (PEM)
    tls_key = "/etc/prepfloor/privkey.pem"
    origin = "https://prepfloor.example.no"    # behind a reverse proxy: the address people open
                                               # (pages and websockets from elsewhere are refused)
    idle_minutes = 30                          # a browser sign-in ends after this long unused
    max_hours = 12                             # and after this long in any case

    [outbox]                                   # messages to customers: SMTP and SMS gateways
                                               # (prepfloor/outbox_config.py, README)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import platformdirs

from db.i18n import LANGUAGES, N_, _, normalize

if TYPE_CHECKING:
    from prepfloor.outbox_config import OutboxSettings
    from prepfloor.serve_config import ServeSettings, WebSettings

APP = "prepfloor"
ENV_URL = "PREPFLOOR_DATABASE_URL"


class Locations(NamedTuple):
    user_config: Path
    site_config: Path
    data_dir: Path

    @property
    def default_database(self) -> Path:
        return self.data_dir / "prepfloor.db"

    @property
    def demo_database(self) -> Path:
        return self.data_dir / "demo.db"


def locations() -> Locations:
    """Where prepfloor looks for its files (the one function tests replace)."""
    return Locations(
        user_config=Path(platformdirs.user_config_dir(APP)) / "config.toml",
        site_config=Path(platformdirs.site_config_dir(APP)) / "config.toml",
        data_dir=Path(platformdirs.user_data_dir(APP)),
    )


class ConfigError(Exception):
    """A config file that cannot be read; the message names the file and the problem."""


class _Table:
    """A field of :class:`Settings` for one table of the config files (``[serve]``, ``[web]``,
    ``[outbox]``), read from :attr:`Settings.tables` when first asked for, unless one was given:
    a plain start of the TUI never asks, so it neither reads them nor imports their classes.
    :func:`load_settings` checks a table the files have when it loads them."""

    def __init__(self, read: Callable[[Mapping[str, Any]], Any]) -> None:
        self.read = read

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = "_" + name

    def __get__(self, settings: Settings | None, owner: type | None = None) -> Any:
        if settings is None:
            return None  # the field's default: read from the files when asked for
        value = settings.__dict__.get(self.key)
        if value is None:
            value = settings.__dict__[self.key] = self.read(settings.tables)
        return value

    def __set__(self, settings: Settings, value: Any) -> None:
        settings.__dict__[self.key] = value


def _serve(tables: Mapping[str, Any]) -> ServeSettings:
    from prepfloor.serve_config import read_serve

    return read_serve(tables)


def _web(tables: Mapping[str, Any]) -> WebSettings:
    from prepfloor.serve_config import read_web

    return read_web(tables)


def _outbox(tables: Mapping[str, Any]) -> OutboxSettings:
    from prepfloor.outbox_config import OutboxConfigError, read_outbox

    try:
        return read_outbox(dict(tables))
    except OutboxConfigError as error:
        raise ConfigError(str(error)) from error


@dataclass(frozen=True)
class Settings:
    database: str
    database_source: str  # where the database setting came from, for `prepfloor doctor` and help
    timezone: str | None = None
    language: str | None = None  # the site's language (db/i18n.py); None: the environment's
    shift_hours: float = 10.0
    idle_minutes: float = 5.0  # a session signed in at the sign-in screen ends after this idle
    write_wait: float = 10.0  # seconds a write waits for another's change before it is given up
    files: tuple[Path, ...] = field(default_factory=tuple)
    # the config files merged: where serve, web and outbox are read from when first asked for
    tables: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    serve: ServeSettings = _Table(_serve)  # type: ignore[assignment]
    web: WebSettings = _Table(_web)  # type: ignore[assignment]
    outbox: OutboxSettings = _Table(_outbox)  # type: ignore[assignment]


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib  # only when there is a file (most sessions have none: the first frame waits)

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from error


# What a setting that is not a number (or a negative one) is told, by its unit.
_NOT_A_NUMBER = {
    "seconds": (
        N_("{name} must be a number of seconds, not {value}"),
        N_("{name} cannot be negative: a number of seconds"),
    ),
    "minutes": (
        N_("{name} must be a number of minutes (0 turns signing out off), not {value}"),
        N_("{name} cannot be negative: a number of minutes (0 turns signing out off)"),
    ),
    "hours": (
        N_("{name} must be a number of hours, not {value}"),
        N_("{name} cannot be negative: a number of hours"),
    ),
}


def number_setting(merged: Mapping[str, Any], name: str, default: float, unit: str) -> float:
    """The setting ``name``, a number of ``unit`` (``seconds``, ``minutes``, ``hours``)."""
    value = merged.get(name, default)
    not_a_number, negative = _NOT_A_NUMBER[unit]
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(_(not_a_number).format(name=name, value=repr(value))) from error
    if number < 0:
        raise ConfigError(_(negative).format(name=name))
    return number


def load_settings(db_flag: str | None = None, where: Locations | None = None) -> Settings:
    """Resolve the settings (see the module's docstring for the order)."""
    where = where or locations()
    site = _read(where.site_config)
    user = _read(where.user_config)
    merged = {**site, **user}
    files = tuple(p for p in (where.site_config, where.user_config) if p.is_file())
    if db_flag:
        database, source = db_flag, "--db"
    elif os.environ.get(ENV_URL):
        database, source = os.environ[ENV_URL], ENV_URL
    elif "database" in user:
        database, source = str(user["database"]), str(where.user_config)
    elif "database" in site:
        database, source = str(site["database"]), str(where.site_config)
    else:
        database, source = str(where.default_database), "default"
    timezone = merged.get("timezone")
    shift_hours = number_setting(merged, "shift_hours", 10, "hours")
    idle_minutes = number_setting(merged, "idle_minutes", 5, "minutes")
    write_wait = number_setting(merged, "write_wait", 10, "seconds")
    if write_wait < 0.1:
        raise ConfigError(_("write_wait must be at least 0.1 seconds"))
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ConfigError(
                _("timezone {timezone} is not a known time zone").format(timezone=repr(timezone))
            ) from error
    language = merged.get("language")
    if language is not None and normalize(language) is None:
        raise ConfigError(
            _("language {language} is not one prepfloor speaks: {languages}").format(
                language=repr(language),
                languages=", ".join(f"{code} ({name})" for code, name in LANGUAGES.items()),
            )
        )
    settings = Settings(
        database=database,
        database_source=source,
        timezone=str(timezone) if timezone else None,
        language=normalize(language),
        shift_hours=shift_hours,
        idle_minutes=idle_minutes,
        write_wait=write_wait,
        files=files,
        tables=merged,
    )
    for table in ("serve", "web", "outbox"):  # what the files hold is checked now
        if table in merged:
            getattr(settings, table)
    return settings


def apply_timezone(settings: Settings) -> None:
    """Tell the rules which zone local dates are in, and how long a write waits for another
    terminal's change (:func:`apply_write_wait`)."""
    from db import clock

    apply_write_wait(settings)

    if settings.timezone:
        from zoneinfo import ZoneInfo

        clock.set_zone(ZoneInfo(settings.timezone))


def apply_write_wait(settings: Settings) -> None:
    """The ``write_wait`` setting, for the stores and databases this process opens from now on."""
    from db.fast import set_write_wait

    set_write_wait(settings.write_wait)
