"""The sender: delivers the outbox's queued messages to customers (``prepfloor outbox run``, and a
thread of ``prepfloor serve`` when ``[outbox]`` is configured).

Transports (the I/O lives here, the rules in :mod:`db.outbox_claim`):

- **e-mail** through the SMTP server of ``[outbox]`` (STARTTLS, TLS or plain, with login);
- **SMS** through one adapter, :class:`SmsGateway`, with two implementations: an e-mail-to-SMS
  gateway (an e-mail to ``{number}@{domain}``) and an HTTP gateway (a JSON ``POST`` with a bearer
  token; the README documents the request).  No gateway configured: SMS messages wait, saying so.

At most once: each message is claimed in the database first; the "handing over" time is written
and committed just before the mail server is told the message is complete (the final ``.`` of
``DATA``), or just before the HTTP request; a sender that finds its claim taken (it was too slow,
its lease ran out) stops before that point.  A temporary refusal (no connection, a 4xx reply) is
tried again after a back-off that doubles; a permanent one (a 5xx reply) makes the message
``failed`` with the server's reply, as does the last try.  Every send, retry and failure is logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from db import outbox_claim
from db.engine import Database
from db.i18n import _
from db.outbox_claim import Claimed
from prepfloor.outbox_config import OutboxSettings

log = logging.getLogger("prepfloor.outbox")

# told before the end of the message: ``False`` means the claim is lost, do not hand it over
BeforeEnd = Callable[[], bool]


class Refused(Exception):
    """The server did not take the message: ``temporary`` (try again later) or not."""

    def __init__(self, reply: str, temporary: bool) -> None:
        super().__init__(reply)
        self.reply = reply
        self.temporary = temporary


class ClaimLost(Exception):
    """Another sender took the message over: it was not handed over by this one."""


class Transport(Protocol):
    def send(self, message: Claimed, before_end: BeforeEnd) -> str:
        """Deliver ``message``; the server's reply.  :class:`Refused` or :class:`ClaimLost`."""
        ...


def sender_id() -> str:
    """This sender's name in a claim: host, process id and start time."""
    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    return f"{socket.gethostname()}:{os.getpid()}:{started}"


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"


class Smtp:
    """E-mail through the SMTP server of ``[outbox]``."""

    def __init__(self, settings: OutboxSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.smtp_port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(s.host, s.smtp_port, timeout=s.timeout)
        client.ehlo()
        if s.security == "starttls":
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if s.user:
            client.login(s.user, s.password)
        return client

    def message(self, message: Claimed, to: str) -> bytes:
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = to
        if message.subject:
            mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        # one id per outbox row: a receiving server that sees it twice may drop the copy
        mail["Message-ID"] = f"<prepfloor-outbox-{message.id}@{socket.gethostname()}>"
        mail.set_content(message.body, charset="utf-8")
        return mail.as_bytes()

    def send(self, message: Claimed, before_end: BeforeEnd, to: str | None = None) -> str:
        to = to or message.recipient
        try:
            client = self._connect()
        except smtplib.SMTPResponseException as error:
            raise Refused(_reply(error.smtp_code, error.smtp_error), True) from error
        except (OSError, smtplib.SMTPException) as error:
            raise Refused(str(error) or type(error).__name__, True) from error
        try:
            return self._exchange(client, message, to, before_end)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            raise Refused(str(error) or type(error).__name__, True) from error
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _exchange(
        self, client: smtplib.SMTP, message: Claimed, to: str, before_end: BeforeEnd
    ) -> str:
        for command, argument in (("mail", self.settings.sender), ("rcpt", to)):
            code, text = getattr(client, command)(argument)
            if code >= 400:
                raise Refused(_reply(code, text), code < 500)
        code, text = client.docmd("DATA")
        if code != 354:
            raise Refused(_reply(code, text), 400 <= code < 500)
        data = re.sub(rb"(?m)^\.", b"..", _crlf(self.message(message, to)))
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        client.send(data)
        if not before_end():
            raise ClaimLost  # the connection is closed without the end: nothing is delivered
        client.send(b".\r\n")
        code, text = client.getreply()
        if code >= 400:
            raise Refused(_reply(code, text), code < 500)
        return _reply(code, text)


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


class SmsGateway(Protocol):
    """The one SMS adapter: an implementation delivers a text to a phone number."""

    def send(self, message: Claimed, before_end: BeforeEnd) -> str: ...


class EmailSmsGateway:
    """An e-mail-to-SMS gateway: the text as an e-mail to ``{number}@{domain}``."""

    def __init__(self, smtp: Smtp, domain: str) -> None:
        self.smtp, self.domain = smtp, domain

    def send(self, message: Claimed, before_end: BeforeEnd) -> str:
        number = message.recipient.lstrip("+")
        return self.smtp.send(message, before_end, to=f"{number}@{self.domain}")


class HttpSmsGateway:
    """An HTTP gateway: ``POST url`` with ``Authorization: Bearer <token>`` and the JSON body
    ``{"to": "+4791234567", "message": "...", "reference": "prepfloor-outbox-17"}``.  A 2xx answer
    is sent; 408, 429 and 5xx (and no answer) are tried again; any other 4xx is failed."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Claimed, before_end: BeforeEnd) -> str:
        body = json.dumps(
            {
                "to": message.recipient,
                "message": message.body,
                "reference": f"prepfloor-outbox-{message.id}",
            }
        ).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        if not before_end():
            raise ClaimLost
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return f"{answer.status} {answer.read(500).decode('utf-8', 'replace')}".strip()
        except urllib.error.HTTPError as error:
            reply = f"{error.code} {error.read(500).decode('utf-8', 'replace')}".strip()
            raise Refused(reply, error.code in (408, 429) or error.code >= 500) from error
        except OSError as error:
            raise Refused(str(error), True) from error


def transports(settings: OutboxSettings) -> dict[str, Transport]:
    """The configured transport of each channel."""
    found: dict[str, Transport] = {}
    smtp = Smtp(settings) if settings.email else None
    if smtp is not None:
        found["email"] = smtp
    if settings.sms.gateway == "email" and smtp is not None:
        found["sms"] = EmailSmsGateway(smtp, settings.sms.domain)
    elif settings.sms.gateway == "http":
        found["sms"] = HttpSmsGateway(settings.sms.url, settings.sms.token, settings.timeout)
    return found


class Sender:
    """Delivers what is due, pass after pass."""

    def __init__(
        self,
        database: Database,
        settings: OutboxSettings,
        found: dict[str, Transport] | None = None,
    ) -> None:
        self.db = database
        self.settings = settings
        self.transports = found if found is not None else transports(settings)
        self.id = sender_id()

    def waiting_reasons(self) -> dict[str, str]:
        reasons = {}
        if "email" not in self.transports:
            reasons["email"] = _("No mail server is configured ([outbox] host); it waits.")
        if "sms" not in self.transports:
            reasons["sms"] = _("No SMS gateway is configured ([outbox.sms]); it waits.")
        return reasons

    def run_once(self) -> int:
        """One pass: stopped senders' messages, the delay messages, then every due message.
        How many were sent."""
        for message_id in self.db.run(outbox_claim.give_up_stale, self.id, self.settings.lease):
            log.warning(
                "message %s: failed: its sender stopped while handing it over (may be delivered)",
                message_id,
            )
        for message_id in self.db.run(outbox_claim.queue_delays):
            log.info("message %s: written (a car is past its promised date)", message_id)
        for channel, reason in self.waiting_reasons().items():
            self.db.run(outbox_claim.note_waiting, channel, reason)
        channels = tuple(self.transports)
        sent = 0
        tried: set[int] = set()  # one try per message and pass: a refusal waits its back-off
        while True:
            claimed = self.db.run(
                outbox_claim.claim_next,
                self.id,
                channels=channels,
                lease=self.settings.lease,
                tried=frozenset(tried),
            )
            if claimed is None:
                return sent
            tried.add(claimed.id)
            sent += self.deliver(claimed)

    def deliver(self, message: Claimed) -> int:
        """Hand one claimed message over; 1 when it was sent."""
        transport = self.transports[message.channel]
        if message.taken_over:
            log.info("message %s: taken over from a stopped sender", message.id)

        def before_end() -> bool:
            return self.db.run(outbox_claim.handing_over, message.id, self.id)

        try:
            reply = transport.send(message, before_end)
        except ClaimLost:
            log.warning("message %s: taken over by another sender; not handed over", message.id)
            return 0
        except Refused as refusal:
            if refusal.temporary:
                state = self.db.run(
                    outbox_claim.retry_later,
                    message.id,
                    self.id,
                    refusal.reply,
                    retries=self.settings.retries,
                    backoff=self.settings.backoff,
                )
                what = "will be tried again" if state == "queued" else "failed after the last try"
                log.warning("message %s to %s: %s: %s", message.id, message.channel, what, refusal)
            else:
                self.db.run(outbox_claim.mark_failed, message.id, self.id, refusal.reply)
                log.warning("message %s to %s: failed: %s", message.id, message.channel, refusal)
            return 0
        if self.db.run(outbox_claim.mark_sent, message.id, self.id, reply):
            log.info("message %s: sent by %s (%s)", message.id, message.channel, reply)
            return 1
        log.warning("message %s: delivered, but another sender had taken it over", message.id)
        return 0

    def run_forever(self, stop: threading.Event) -> None:
        """Passes every ``interval`` seconds until ``stop`` is set; a failed pass is logged."""
        log.info("sender %s: started (%s)", self.id, ", ".join(self.transports) or "no transport")
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database is away, ...: said, and tried again next pass
                log.exception("sender %s: the pass failed; trying again", self.id)
            stop.wait(self.settings.interval)
        log.info("sender %s: stopped", self.id)


def start_thread(
    database_url: str, settings: OutboxSettings
) -> tuple[threading.Thread, threading.Event]:
    """The sender as a daemon thread (``prepfloor serve``): the thread and the event that stops it."""
    stop = threading.Event()
    sender = Sender(Database(database_url), settings)
    thread = threading.Thread(
        target=sender.run_forever, args=(stop,), name="prepfloor-outbox", daemon=True
    )
    thread.start()
    return thread, stop
