"""The SMS adapters and the sender inside ``prepfloor serve``, on SQLite and PostgreSQL: the
e-mail gateway against aiosmtpd (the text goes to ``number@domain``), the HTTP gateway against a
local aiohttp server (the documented request: POST, JSON ``to``/``message``/``reference``, the
bearer token), each ending sent with a customer contact; a gateway that refuses fails the message
with its reply; a served process with ``[outbox]`` delivers a queued message."""

from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from test_outbox_send import Smtpd, choose, free_port, settings, states, until

from db import outbox_templates
from db.models import CustomerCommunication, OutboxMessage
from prepfloor.outbox_config import SmsSettings
from prepfloor.outbox_send import Sender
from world import World, rows

web = pytest.importorskip("aiohttp.web")
pytest.importorskip("aiosmtpd.controller")


def choose_sms(w: World) -> None:
    w.db.run(
        outbox_templates.save_choices,
        w["seller495"],  # a seller chooses for their own dealership
        w.d["495"],
        milestones=["registered"],
        preview=False,
        channel="sms",
        language="en",
    )


def register_sms(w: World) -> int:
    return w.register("seller495", customer_name="Kari Nordmann", customer_phone="+47 912 34 567")


@pytest.fixture
def smtpd() -> Any:
    server = Smtpd().start()
    yield server
    server.stop()


class Gateway:
    """An HTTP SMS gateway (aiohttp) on its own loop and thread: records each request, answers
    with ``status`` and ``reply``."""

    def __init__(self, status: int = 200, reply: str = '{"id": "sms-1"}') -> None:
        self.status, self.reply = status, reply
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    async def handle(self, request: Any) -> Any:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "content_type": request.content_type,
                "json": await request.json(),
            }
        )
        return web.Response(status=self.status, text=self.reply)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/send", self.handle)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> Gateway:
        self.thread.start()
        assert self.ready.wait(30), "the gateway did not start"
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def sms_contact(w: World, car_id: int) -> dict[str, Any]:
    [m] = rows(w, OutboxMessage, car_id=car_id)
    [contact] = rows(w, CustomerCommunication, car_id=car_id)
    assert contact["id"] == m["contact_id"]
    return contact


def test_the_email_gateway_sends_to_number_at_domain(world: World, smtpd: Smtpd) -> None:
    choose_sms(world)
    car_id = register_sms(world)
    sms = SmsSettings(gateway="email", domain="sms.example.no")
    assert Sender(world.db, settings(smtpd.port, sms=sms)).run_once() == 1
    [(to, mail)] = smtpd.handler.accepted
    assert to == ["4791234567@sms.example.no"]
    assert "Hi Kari Nordmann, your" in mail.get_content()
    [m] = rows(world, OutboxMessage, car_id=car_id)
    assert (m["channel"], m["state"]) == ("sms", "sent")
    assert m["last_reply"].startswith("250")
    assert sms_contact(world, car_id)["type"] == "sms"


def test_the_http_gateway_gets_the_documented_request(world: World) -> None:
    choose_sms(world)
    car_id = register_sms(world)
    gateway = Gateway().start()
    try:
        sms = SmsSettings(gateway="http", url=gateway.url, token="t0ken")
        # no SMTP host: only the SMS channel is configured
        sender = Sender(world.db, settings(0, host="", sms=sms))
        assert sender.run_once() == 1
    finally:
        gateway.stop()
    [request] = gateway.requests
    [m] = rows(world, OutboxMessage, car_id=car_id)
    assert (request["method"], request["path"]) == ("POST", "/send")
    assert request["authorization"] == "Bearer t0ken"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "to": "+4791234567",
        "message": m["body"],
        "reference": f"prepfloor-outbox-{m['id']}",
    }
    assert (m["state"], m["last_reply"]) == ("sent", '200 {"id": "sms-1"}')
    assert sms_contact(world, car_id)["type"] == "sms"


def test_a_gateway_that_refuses_fails_the_message_with_its_reply(world: World) -> None:
    choose_sms(world)
    car_id = register_sms(world)
    gateway = Gateway(status=400, reply="invalid number").start()
    try:
        sms = SmsSettings(gateway="http", url=gateway.url, token="t0ken")
        assert Sender(world.db, settings(0, host="", sms=sms)).run_once() == 0
    finally:
        gateway.stop()
    [m] = rows(world, OutboxMessage, car_id=car_id)
    assert (m["state"], m["attempts"], m["last_reply"]) == ("failed", 1, "400 invalid number")
    assert rows(world, CustomerCommunication, car_id=car_id) == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="serve makes its host key")
def test_prepfloor_serve_runs_the_sender(
    world: World, smtpd: Smtpd, db_url: str, tmp_path: Path
) -> None:
    from test_serve import Server

    choose(world)  # registered, e-mail
    car_id = world.register(
        "seller495", customer_name="Kari Nordmann", customer_email="kari@example.no"
    )
    assert states(world) == ["queued"]
    served = Server(
        tmp_path,
        db_url,
        outbox={
            "host": "127.0.0.1",
            "port": smtpd.port,
            "security": "none",
            "from": "noreply@example.no",
            "interval": 0.2,
        },
    )
    try:
        until(lambda: states(world) == ["sent"], "the served sender")
    finally:
        served.stop()
    [(to, _mail)] = smtpd.handler.accepted
    assert to == ["kari@example.no"]
    assert rows(world, CustomerCommunication, car_id=car_id)
