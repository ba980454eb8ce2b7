"""The sender against a real SMTP server (aiosmtpd) started here, on SQLite and PostgreSQL:
delivery, refusals (5xx failed, 4xx retried), a server down then back, two sender processes at
once (each message delivered once, counted at the server), and a sender process killed with
SIGKILL while the server holds its DATA (not delivered twice) or before it handed over (delivered
by the next)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from db import outbox_templates
from db.models import CustomerCommunication, OutboxMessage
from prepfloor.outbox_config import OutboxSettings
from prepfloor.outbox_send import Sender
from world import World, rows

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # seconds a test waits for something that should happen (never asserted on)


class Handler:
    """Counts what it accepts; can refuse, or hold a message at RCPT or DATA until released."""

    def __init__(self) -> None:
        self.accepted: list[Any] = []
        self.data_reply = "250 2.0.0 OK"
        self.hold_at = ""  # "rcpt" or "data"
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0

    async def _hold(self, where: str) -> None:
        if self.hold_at == where:
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT)

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        await self._hold("rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply.startswith("250"):
            # the server has the whole message: a real one may deliver it even if the client
            # is gone before the reply
            mail = message_from_bytes(envelope.content, policy=default_policy)
            self.accepted.append((list(envelope.rcpt_tos), mail))
        await self._hold("data")
        return self.data_reply


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtpd:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = Handler()
        self.controller = aiosmtpd_controller.Controller(
            self.handler, hostname="127.0.0.1", port=self.port
        )

    def start(self) -> Smtpd:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        self.controller.stop()


@pytest.fixture
def smtpd() -> Any:
    server = Smtpd().start()
    yield server
    server.stop()


def settings(port: int, **kw: Any) -> OutboxSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "Porsgrunn Bil <noreply@example.no>",
        "retries": 3,
        "backoff": 0.05,
        "lease": 60.0,
        "timeout": 20.0,
    }
    values.update(kw)
    return OutboxSettings(**values)


def choose(w: World) -> None:
    w.db.run(
        outbox_templates.save_choices,
        w["admin"],
        w.d["495"],
        milestones=["registered"],
        preview=False,
        channel="email",
        language="en",
    )


def register(w: World, n: int = 1) -> list[int]:
    return [
        w.register("seller495", customer_name=f"Kari {i}", customer_email=f"kari{i}@example.no")
        for i in range(n)
    ]


def states(w: World) -> list[str]:
    return [m["state"] for m in rows(w, OutboxMessage)]


def until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited too long for {what}")
        time.sleep(0.05)


def test_delivery_sends_the_message_and_logs_the_contact(world: World, smtpd: Smtpd) -> None:
    choose(world)
    [car_id] = register(world)
    assert Sender(world.db, settings(smtpd.port)).run_once() == 1
    [(to, mail)] = smtpd.handler.accepted
    assert to == ["kari0@example.no"]
    assert mail["To"] == "kari0@example.no"
    assert mail["Subject"].startswith("Your order ORD-")
    assert "Dear Kari 0," in mail.get_content()
    [m] = rows(world, OutboxMessage)
    assert m["state"] == "sent" and m["last_reply"].startswith("250")
    [contact] = rows(world, CustomerCommunication, car_id=car_id)
    assert contact["id"] == m["contact_id"] and contact["type"] == "email"
    assert Sender(world.db, settings(smtpd.port)).run_once() == 0  # once
    assert len(smtpd.handler.accepted) == 1


def test_a_permanent_refusal_fails_with_the_servers_reply(world: World, smtpd: Smtpd) -> None:
    choose(world)
    register(world)
    smtpd.handler.data_reply = "550 5.1.1 Mailbox unavailable"
    assert Sender(world.db, settings(smtpd.port)).run_once() == 0
    [m] = rows(world, OutboxMessage)
    assert (m["state"], m["attempts"]) == ("failed", 1)
    assert m["last_reply"] == "550 5.1.1 Mailbox unavailable"
    assert rows(world, CustomerCommunication) == []


def test_a_temporary_refusal_is_tried_again_until_the_last_try(world: World, smtpd: Smtpd) -> None:
    choose(world)
    register(world, 2)
    smtpd.handler.data_reply = "451 4.3.0 Try again later"
    sender = Sender(world.db, settings(smtpd.port, retries=3))
    sender.run_once()
    assert states(world) == ["queued", "queued"]
    assert rows(world, OutboxMessage)[0]["last_reply"] == "451 4.3.0 Try again later"
    until(lambda: (sender.run_once(), states(world))[1] == ["failed", "failed"], "the last try")
    assert [m["attempts"] for m in rows(world, OutboxMessage)] == [3, 3]
    assert smtpd.handler.accepted == []


def test_a_server_down_then_back_delivers_once(world: World) -> None:
    choose(world)
    register(world)
    port = free_port()
    sender = Sender(world.db, settings(port, retries=10))
    assert sender.run_once() == 0  # connection refused
    [m] = rows(world, OutboxMessage)
    assert (m["state"], m["attempts"]) == ("queued", 1)
    assert m["last_reply"]
    server = Smtpd(port).start()
    try:
        until(lambda: sender.run_once() == 1, "the server back")
        assert sender.run_once() == 0
        assert len(server.handler.accepted) == 1
        assert states(world) == ["sent"]
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------------
# real processes: `prepfloor outbox run`
# ------------------------------------------------------------------------------------------------
def sender_process(tmp_path: Path, db_url: str, port: int, *, once: bool, lease: float = 60):  # type: ignore[no-untyped-def]
    home = tmp_path / "xdg"
    (home / "prepfloor").mkdir(parents=True, exist_ok=True)
    (home / "prepfloor" / "config.toml").write_text(
        "[outbox]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        'security = "none"\n'
        'from = "noreply@example.no"\n'
        f"lease = {lease}\n"
        "interval = 0.2\n"
        "backoff = 0.1\n"
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("PREPFLOOR_DATABASE_URL", None)
    command = [sys.executable, "-c", "from prepfloor.cli import main; main()", "outbox", "run"]
    command += ["--db", db_url] + (["--once"] if once else [])
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )


def test_two_sender_processes_deliver_each_message_once(
    world: World, smtpd: Smtpd, db_url: str, tmp_path: Path
) -> None:
    choose(world)
    register(world, 24)
    smtpd.handler.delay = 0.02  # the two interleave
    senders = [sender_process(tmp_path, db_url, smtpd.port, once=True) for _ in range(2)]
    for process in senders:
        _out, err = process.communicate(timeout=WAIT * 2)
        assert process.returncode == 0, err.decode()
    ids = [mail["Message-ID"] for _to, mail in smtpd.handler.accepted]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert states(world) == ["sent"] * 24
    assert len(rows(world, CustomerCommunication)) == 24


def test_a_sender_killed_while_the_server_holds_its_data_is_not_sent_again(
    world: World, smtpd: Smtpd, db_url: str, tmp_path: Path
) -> None:
    choose(world)
    register(world)
    smtpd.handler.hold_at = "data"
    process = sender_process(tmp_path, db_url, smtpd.port, once=True, lease=0.5)
    try:
        assert smtpd.handler.arrived.wait(WAIT), "the sender never reached DATA"
        [m] = rows(world, OutboxMessage)
        assert m["state"] == "sending" and m["handing_over_at"] is not None
        process.send_signal(signal.SIGKILL)
        process.wait(WAIT)
    finally:
        process.kill()
    smtpd.handler.hold_at = ""
    smtpd.handler.release.set()
    assert len(smtpd.handler.accepted) == 1  # the server holds it: it may be delivered
    other = Sender(world.db, settings(smtpd.port, lease=0.5))
    until(lambda: (other.run_once(), states(world))[1] == ["failed"], "the take-over")
    [m] = rows(world, OutboxMessage)
    assert "may have been delivered" in m["last_reply"]
    assert other.run_once() == 0
    assert len(smtpd.handler.accepted) == 1  # once, never twice
    assert rows(world, CustomerCommunication) == []


def test_a_sender_killed_before_handing_over_is_replaced_and_delivers_once(
    world: World, smtpd: Smtpd, db_url: str, tmp_path: Path
) -> None:
    choose(world)
    register(world)
    smtpd.handler.hold_at = "rcpt"
    process = sender_process(tmp_path, db_url, smtpd.port, once=True, lease=0.5)
    try:
        assert smtpd.handler.arrived.wait(WAIT), "the sender never reached RCPT"
        process.send_signal(signal.SIGKILL)
        process.wait(WAIT)
    finally:
        process.kill()
    [m] = rows(world, OutboxMessage)
    assert m["state"] == "sending" and m["handing_over_at"] is None
    smtpd.handler.hold_at = ""
    smtpd.handler.release.set()
    other = Sender(world.db, settings(smtpd.port, lease=0.5))
    until(lambda: other.run_once() == 1, "the take-over")
    assert len(smtpd.handler.accepted) == 1
    assert states(world) == ["sent"]
    assert len(rows(world, CustomerCommunication)) == 1


def test_the_outbox_table_of_the_config(tmp_path: Path) -> None:
    from prepfloor.outbox_config import OutboxConfigError, read_outbox

    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    found = read_outbox(
        {
            "outbox": {
                "host": "smtp.example.no",
                "security": "tls",
                "user": "u",
                "password_file": str(secret),
                "from": "a@example.no",
                "sms": {"gateway": "http", "url": "https://sms.example.no/send", "token": "t"},
            }
        }
    )
    assert (found.smtp_port, found.password, found.sms.gateway) == (465, "s3cret", "http")
    assert not read_outbox({}).configured
    for wrong in (
        {"host": "h"},  # no from
        {"host": "h", "from": "a@b", "security": "ssl"},
        {"host": "h", "from": "a@b", "retries": 0},
        {"sms": {"gateway": "email", "domain": "x"}},  # an e-mail gateway needs the SMTP host
        {"sms": {"gateway": "pigeon"}},
        {"hots": "h"},
    ):
        with pytest.raises(OutboxConfigError):
            read_outbox({"outbox": wrong})
