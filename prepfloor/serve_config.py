"""The settings of ``prepfloor serve``: its ``[serve]`` and ``[web]`` tables.

Read from the merged config files (:mod:`prepfloor.config`) when first asked for: a plain start of
the TUI never reads them, so it does not make these classes either.  A config file that has one of
these tables still has it checked when the settings are loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from db.i18n import _
from prepfloor.config import ConfigError, locations, number_setting

if TYPE_CHECKING:
    from db.file_area import FileArea


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


def read_serve(merged: Mapping[str, Any]) -> ServeSettings:
    """The ``[serve]`` table of the merged config files, checked."""
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
        login_timeout=number_setting(table, "login_timeout", base.login_timeout, "seconds"),
        keepalive=number_setting(table, "keepalive", base.keepalive, "seconds"),
        failed_logins=count("failed_logins", 1),
        failed_window=number_setting(table, "failed_window", base.failed_window, "seconds"),
        host_key=Path(str(host_key)).expanduser() if host_key else None,
        files=Path(str(files)).expanduser() if files else None,
        files_quota=count("files_quota", 1),
        hostname=hostname,
    )


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def read_web(merged: Mapping[str, Any]) -> WebSettings:
    """The ``[web]`` table of the merged config files, checked."""
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
        idle_minutes=number_setting(table, "idle_minutes", base.idle_minutes, "minutes"),
        max_hours=number_setting(table, "max_hours", base.max_hours, "hours"),
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
