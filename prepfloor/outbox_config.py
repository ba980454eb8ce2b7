"""The ``[outbox]`` table of the config: how messages to customers leave (SMTP, an SMS gateway).

::

    [outbox]
    host = "smtp.example.no"          # the SMTP server; no host: no e-mail is sent
    port = 587                        # default: 587 (starttls), 465 (tls), 25 (none)
    security = "starttls"             # starttls | tls | none
    user = "prepfloor@example.no"     # log in when given
    password_file = "/etc/prepfloor/smtp-password"   # or password = "..."
    from = "Porsgrunn Bil <noreply@example.no>"
    retries = 5                       # tries before a message is failed
    backoff = 60                      # seconds before the second try, doubled each time
    lease = 300                       # a sender silent this long is taken to have stopped
    interval = 30                     # seconds between the sender's passes
    timeout = 60                      # seconds an SMTP or HTTP exchange may take

    [outbox.sms]                      # no [outbox.sms]: SMS messages wait, saying why
    gateway = "email"                 # email: sent as e-mail to {number}@{domain}
    domain = "sms.example.no"
    # gateway = "http"                # http: POST to url with the token (README)
    # url = "https://sms.example.no/send"
    # token_file = "/etc/prepfloor/sms-token"        # or token = "..."
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.i18n import _


class OutboxConfigError(Exception):
    """What is wrong with ``[outbox]`` (config.py turns it into a ConfigError)."""


@dataclass(frozen=True)
class SmsSettings:
    gateway: str = ""  # "", "email" or "http"
    domain: str = ""
    url: str = ""
    token: str = ""


@dataclass(frozen=True)
class OutboxSettings:
    host: str = ""
    port: int = 0
    security: str = "starttls"
    user: str = ""
    password: str = ""
    sender: str = ""  # the From address (``from`` in the file)
    retries: int = 5
    backoff: float = 60.0
    lease: float = 300.0
    interval: float = 30.0
    timeout: float = 60.0
    sms: SmsSettings = SmsSettings()

    @property
    def email(self) -> bool:
        """E-mail is configured (an SMTP host)."""
        return bool(self.host)

    @property
    def configured(self) -> bool:
        """Anything is configured: ``prepfloor serve`` runs the sender."""
        return self.email or bool(self.sms.gateway)

    @property
    def smtp_port(self) -> int:
        return self.port or {"tls": 465, "none": 25}.get(self.security, 587)


_KEYS = {
    "host",
    "port",
    "security",
    "user",
    "password",
    "password_file",
    "from",
    "retries",
    "backoff",
    "lease",
    "interval",
    "timeout",
    "sms",
}
_SMS_KEYS = {"gateway", "domain", "url", "token", "token_file"}


def _secret(table: dict[str, Any], name: str, where: str) -> str:
    """``name`` or the first line of the file ``name_file``."""
    value = table.get(name)
    path = table.get(f"{name}_file")
    if value and path:
        raise OutboxConfigError(
            _("{where} has both {name} and {name}_file: give one").format(where=where, name=name)
        )
    if path:
        try:
            lines = Path(str(path)).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise OutboxConfigError(
                _("{where} {name}_file {path}: {error}").format(
                    where=where, name=name, path=path, error=error.strerror or error
                )
            ) from error
        return lines[0].strip() if lines else ""
    return str(value or "")


def _positive(table: dict[str, Any], name: str, default: float, whole: bool = False) -> Any:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise OutboxConfigError(
            _("[outbox] {name} must be a number above 0, not {value}").format(
                name=name, value=repr(value)
            )
        )
    if whole and not isinstance(value, int):
        raise OutboxConfigError(_("[outbox] {name} must be a whole number").format(name=name))
    return value if whole else float(value)


def read_outbox(merged: dict[str, Any]) -> OutboxSettings:
    """The ``[outbox]`` table of the merged config (absent: nothing is sent)."""
    table = merged.get("outbox", {})
    if not isinstance(table, dict):
        raise OutboxConfigError(_("outbox must be a table: [outbox] with host, port, ..."))
    unknown = set(table) - _KEYS
    if unknown:
        raise OutboxConfigError(
            _("[outbox] has no setting {name}").format(name=repr(sorted(unknown)[0]))
        )
    base = OutboxSettings()
    security = str(table.get("security", base.security))
    if security not in ("starttls", "tls", "none"):
        raise OutboxConfigError(_("[outbox] security is starttls, tls or none"))
    port = table.get("port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise OutboxConfigError(_("[outbox] port must be a whole number from 1 to 65535"))
    host = str(table.get("host", "")).strip()
    sender = str(table.get("from", "")).strip()
    if host and not sender:
        raise OutboxConfigError(_("[outbox] needs from: the address messages are sent from"))
    settings = OutboxSettings(
        host=host,
        port=port,
        security=security,
        user=str(table.get("user", "")),
        password=_secret(table, "password", "[outbox]"),
        sender=sender,
        retries=_positive(table, "retries", base.retries, whole=True),
        backoff=_positive(table, "backoff", base.backoff),
        lease=_positive(table, "lease", base.lease),
        interval=_positive(table, "interval", base.interval),
        timeout=_positive(table, "timeout", base.timeout),
        sms=_sms(table.get("sms", {})),
    )
    if settings.sms.gateway == "email" and not settings.email:
        raise OutboxConfigError(
            _("[outbox.sms] gateway email sends through [outbox] host: give one")
        )
    return settings


def _sms(table: Any) -> SmsSettings:
    if not isinstance(table, dict):
        raise OutboxConfigError(_("outbox.sms must be a table: [outbox.sms] with gateway, ..."))
    unknown = set(table) - _SMS_KEYS
    if unknown:
        raise OutboxConfigError(
            _("[outbox.sms] has no setting {name}").format(name=repr(sorted(unknown)[0]))
        )
    if not table:
        return SmsSettings()
    gateway = str(table.get("gateway", ""))
    if gateway == "email":
        domain = str(table.get("domain", "")).strip().lstrip("@")
        if not domain:
            raise OutboxConfigError(_("[outbox.sms] gateway email needs domain"))
        return SmsSettings(gateway="email", domain=domain)
    if gateway == "http":
        url = str(table.get("url", "")).strip()
        if not url.startswith(("https://", "http://")):
            raise OutboxConfigError(_("[outbox.sms] gateway http needs url (https://...)"))
        return SmsSettings(gateway="http", url=url, token=_secret(table, "token", "[outbox.sms]"))
    raise OutboxConfigError(_("[outbox.sms] gateway is email or http"))
