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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from db.i18n import LANGUAGES, N_, _, normalize
from prepfloor.outbox_config import OutboxConfigError, OutboxSettings, read_outbox

if TYPE_CHECKING:
    from db.file_area import FileArea

APP = "prepfloor"
ENV_URL = "PREPFLOOR_DATABASE_URL"


@dataclass(frozen=True)
class Locations:
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


@dataclass(frozen=True)
class ServeSettings:
    """``prepfloor serve``: where it listens and its limits (the ``[serve]`` table)."""

    address: str = "127.0.0.1"
    port: int = 2222
    max_sessions: int = 64
    max_sessions_per_user: int = 4  # one user (one key) cannot take every session
    login_timeout: float = 30.0
    keepalive: float = 30.0
    failed_logins: int = 10
    failed_window: float = 300.0
    host_key: Path | None = None  # None: ssh_host_ed25519_key in the data folder
    files: Path | None = None  # None: files in the data folder (one area per user in it)
    files_quota: int = 200  # megabytes a user's file area may hold
    hostname: str = ""  # "": this machine's name (socket.gethostname())

    def files_root(self) -> Path:
        """The folder of every user's file area."""
        return self.files or locations().data_dir / "files"

    def server_name(self) -> str:
        """The server's name as the sftp commands shown to staff give it."""
        if self.hostname:
            return self.hostname
        import socket

        return socket.gethostname()

    def file_area(self, login: str) -> FileArea:
        """The file area of ``login`` (nothing is made on disk until it is used)."""
        from db.documents import file_area

        return file_area(
            self.files_root(),
            login,
            quota=self.files_quota * 1024 * 1024,
            host=self.server_name(),
            port=self.port,
        )


@dataclass(frozen=True)
class WebSettings:
    """``prepfloor serve`` for web browsers (the ``[web]`` table); ``port`` 0: no web."""

    port: int = 0
    address: str = "127.0.0.1"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    origin: str = ""  # "": the scheme, host and port the browser used, when the host is ours
    idle_minutes: float = 30.0
    max_hours: float = 12.0

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def secure(self) -> bool:
        """Cookies are marked Secure: TLS here, or an https origin in front of a proxy."""
        return self.tls or self.origin.startswith("https://")


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
    serve: ServeSettings = field(default_factory=ServeSettings)
    web: WebSettings = field(default_factory=WebSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)


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


def _number(merged: dict[str, Any], name: str, default: float, unit: str) -> float:
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


def _serve(merged: dict[str, Any]) -> ServeSettings:
    table = merged.get("serve", {})
    if not isinstance(table, dict):
        raise ConfigError(_("serve must be a table: [serve] with address, port, ..."))
    unknown = set(table) - set(ServeSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(_("[serve] has no setting {name}").format(name=repr(sorted(unknown)[0])))
    base = ServeSettings()

    def count(name: str, low: int) -> int:
        value = table.get(name, getattr(base, name))
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(
                _("[serve] {name} must be a whole number of at least {low}").format(
                    name=name, low=low
                )
            )
        return value

    port = count("port", 1)
    if port > 65535:
        raise ConfigError(_("[serve] port must be at most {most}").format(most=65535))
    host_key = table.get("host_key")
    files = table.get("files")
    hostname = str(table.get("hostname", base.hostname)).strip()
    if hostname and not all(c.isalnum() or c in ".-_:[]" for c in hostname):
        raise ConfigError(
            _("[serve] hostname {hostname} is not a host name").format(hostname=repr(hostname))
        )
    return ServeSettings(
        address=str(table.get("address", base.address)),
        port=port,
        max_sessions=count("max_sessions", 1),
        max_sessions_per_user=count("max_sessions_per_user", 1),
        login_timeout=_number(table, "login_timeout", base.login_timeout, "seconds"),
        keepalive=_number(table, "keepalive", base.keepalive, "seconds"),
        failed_logins=count("failed_logins", 1),
        failed_window=_number(table, "failed_window", base.failed_window, "seconds"),
        host_key=Path(str(host_key)).expanduser() if host_key else None,
        files=Path(str(files)).expanduser() if files else None,
        files_quota=count("files_quota", 1),
        hostname=hostname,
    )


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _web(merged: dict[str, Any]) -> WebSettings:
    table = merged.get("web", {})
    if not isinstance(table, dict):
        raise ConfigError(_("web must be a table: [web] with port, address, ..."))
    unknown = set(table) - set(WebSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(_("[web] has no setting {name}").format(name=repr(sorted(unknown)[0])))
    base = WebSettings()
    port = table.get("port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(_("[web] port must be a whole number from 1 to 65535"))
    cert, key = table.get("tls_cert"), table.get("tls_key")
    if bool(cert) != bool(key):
        raise ConfigError(_("[web] needs both tls_cert and tls_key, or neither"))
    origin = str(table.get("origin", "")).strip().rstrip("/")
    if origin and not (
        origin.startswith(("https://", "http://"))
        and "/" not in origin.split("://", 1)[1]
        and all(c.isalnum() or c in ".-:[]/" for c in origin)
    ):
        raise ConfigError(
            _("[web] origin must be a scheme and a host, like https://prepfloor.example.no")
        )
    settings = WebSettings(
        port=port,
        address=str(table.get("address", base.address)),
        tls_cert=Path(str(cert)).expanduser() if cert else None,
        tls_key=Path(str(key)).expanduser() if key else None,
        origin=origin,
        idle_minutes=_number(table, "idle_minutes", base.idle_minutes, "minutes"),
        max_hours=_number(table, "max_hours", base.max_hours, "hours"),
    )
    check_web(settings)
    return settings


def check_web(settings: WebSettings) -> None:
    """Plain HTTP is served on loopback only (behind a reverse proxy that adds TLS)."""
    if settings.port and not settings.tls and settings.address not in LOOPBACK:
        raise ConfigError(
            _(
                "[web] serves plain HTTP on loopback only: give tls_cert and tls_key to listen "
                "on {address}, or listen on 127.0.0.1 behind a reverse proxy that adds TLS"
            ).format(address=settings.address)
        )


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
    shift_hours = _number(merged, "shift_hours", 10, "hours")
    idle_minutes = _number(merged, "idle_minutes", 5, "minutes")
    write_wait = _number(merged, "write_wait", 10, "seconds")
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
    try:
        outbox = read_outbox(merged)
    except OutboxConfigError as error:
        raise ConfigError(str(error)) from error
    return Settings(
        database=database,
        database_source=source,
        timezone=str(timezone) if timezone else None,
        language=normalize(language),
        shift_hours=shift_hours,
        idle_minutes=idle_minutes,
        write_wait=write_wait,
        files=files,
        serve=_serve(merged),
        web=_web(merged),
        outbox=outbox,
    )


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
