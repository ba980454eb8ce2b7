"""``prepfloor serve`` under many connections: what counts as a failed login, sessions per user,
and the open-files limit.

* connections that open TCP and close (or time out) without trying a key are not failed logins:
  a shop behind one NAT address is not locked out by them; keys that are refused still are;
* one user cannot take every session: a user over ``max_sessions_per_user`` is told so plainly
  while everyone else still gets in;
* a server at its open-files limit says so in a line (not a traceback per connection), refuses
  what does not fit, and serves again once connections close.

The server runs as a real process (the helpers of tests/test_serve.py).  Nothing here asserts on
wall-clock time: waits are polled with generous limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import shutil
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_serve
from test_serve import LIMIT, Client, Server, make_key, signed_in, wait_for

from db import users
from db.engine import Database
from prepfloor.config import ConfigError, Locations, load_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is needed"),
]

NOT_SIGNED_IN = r"refused login '\?' from 127\.0\.0\.1"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, Any]:
    """A database with the small world; keys for admin and mechanic499, and a stranger's key."""
    from world import build_world

    base = tmp_path_factory.mktemp("limits")
    path = base / "prepfloor.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    world = build_world(db)
    keys = {}
    for login in ("admin", "mechanic499"):
        keys[login] = make_key(base, f"id_{login}")
        db.run(users.add_key, None, world[login].user_id, Path(f"{keys[login]}.pub").read_text())
    keys["stranger"] = make_key(base, "id_stranger")
    db.dispose()
    return {"base": base, "url": url, "keys": keys}


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.kill()


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=LIMIT)


def log_count(server: Server, pattern: str) -> int:
    return len(re.findall(pattern, server.log(), flags=re.IGNORECASE))


# ------------------------------------------------------------------------------------------------
# failed logins
# ------------------------------------------------------------------------------------------------
def test_connections_that_never_try_a_key_do_not_lock_the_address_out(
    shop: Any, clients: Any
) -> None:
    nat = Server(
        shop["base"] / "nat", shop["url"], failed_logins=5, failed_window=600, login_timeout=2
    )
    try:
        # 10 that close at once, 10 that read the server's greeting and close, 10 that say
        # nothing until the server drops them at the login timeout: 30, six times the limit
        for _ in range(10):
            connect(nat).close()
        for _ in range(10):
            with connect(nat) as peek:
                peek.recv(256)
        idle = [connect(nat) for _ in range(10)]
        for sock in idle:
            with sock:
                wait_for(lambda s=sock: s.recv(256) == b"" or None, "the idle link to be dropped")
        ended = rf"{NOT_SIGNED_IN}|refused 127\.0\.0\.1: too many failed logins"
        wait_for(lambda: log_count(nat, ended) >= 30, "30 connections to be logged")
        assert "too many failed logins" not in nat.log()
        assert log_count(nat, r"login timeout") >= 10

        # a real user from the same address still signs in
        signed_in(nat, shop, clients, "admin")

        # keys that are refused are failed logins: five of them lock the address out
        for _ in range(5):
            refused = Client(nat, "admin", shop["keys"]["stranger"])
            clients.append(refused)
            assert refused.wait_exit() == 255
        blocked = Client(nat, "mechanic499", shop["keys"]["mechanic499"])
        clients.append(blocked)
        assert blocked.wait_exit() == 255
        assert "Per Mekaniker" not in blocked.text
        assert "too many failed logins from your address" in blocked.text  # told why
        nat.wait_log(r"refused 127\.0\.0\.1: too many failed logins")
        assert "login mechanic499 from" not in nat.log()
    finally:
        assert nat.stop() == 0


def test_an_unknown_user_is_a_failed_login(shop: Any, clients: Any) -> None:
    strict = Server(shop["base"] / "unknown", shop["url"], failed_logins=2, failed_window=600)
    try:
        for _ in range(2):
            nobody = Client(strict, "nobody", shop["keys"]["admin"])
            clients.append(nobody)
            assert nobody.wait_exit() == 255
        blocked = Client(strict, "admin", shop["keys"]["admin"])
        clients.append(blocked)
        assert blocked.wait_exit() == 255
        strict.wait_log(r"refused 127\.0\.0\.1: too many failed logins")
    finally:
        assert strict.stop() == 0


# ------------------------------------------------------------------------------------------------
# sessions per user
# ------------------------------------------------------------------------------------------------
def test_one_user_cannot_take_every_session(shop: Any, clients: Any) -> None:
    shared = Server(shop["base"] / "per_user", shop["url"], max_sessions=6, max_sessions_per_user=2)
    try:
        first, _ = signed_in(shared, shop, clients, "admin")
        signed_in(shared, shop, clients, "admin")

        third = Client(shared, "admin", shop["keys"]["admin"])
        clients.append(third)
        assert third.wait_exit() == 1
        assert "You have 2 prepfloor sessions open already; close one first." in third.text
        assert "the server is full" not in third.text
        shared.wait_log(r"refused a 3rd session \(2 per user\) for admin from 127\.0\.0\.1")

        # someone else still gets in
        signed_in(shared, shop, clients, "mechanic499")

        # and once admin closes one, admin gets in again
        first.send(b"\x11")
        assert first.wait_exit() == 0
        wait_for(
            lambda: re.search(r"session \d+: admin from 127\.0\.0\.1 ended", shared.log()),
            "the closed session to be logged",
        )
        signed_in(shared, shop, clients, "admin")
    finally:
        assert shared.stop() == 0


def test_max_sessions_per_user_in_the_config_file(tmp_path: Path) -> None:
    where = Locations(tmp_path / "user.toml", tmp_path / "site.toml", tmp_path / "data")
    assert load_settings("x.db", where).serve.max_sessions_per_user == 4
    where.site_config.write_text("[serve]\nmax_sessions_per_user = 2\n")
    assert load_settings("x.db", where).serve.max_sessions_per_user == 2
    for bad in ("0", "'two'", "true"):
        where.site_config.write_text(f"[serve]\nmax_sessions_per_user = {bad}\n")
        with pytest.raises(ConfigError, match="max_sessions_per_user must be a whole number"):
            load_settings("x.db", where)


# ------------------------------------------------------------------------------------------------
# the open-files limit
# ------------------------------------------------------------------------------------------------
FILE_LIMIT = 96  # the server's hard and soft RLIMIT_NOFILE in this test


@pytest.fixture
def low_file_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """``prepfloor serve`` started through a wrapper that lowers its open-files limit, soft and
    hard (the server may raise the soft limit only as far as the hard one)."""
    wrapper = tmp_path / "prepfloor-low-nofile"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import os, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({FILE_LIMIT}, {FILE_LIMIT}))\n"
        f"os.execv({test_serve.PREPFLOOR!r}, [{test_serve.PREPFLOOR!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(test_serve, "PREPFLOOR", str(wrapper))
    return FILE_LIMIT


def test_at_the_open_files_limit_the_server_says_so_once_and_keeps_serving(
    shop: Any, clients: Any, low_file_limit: int
) -> None:
    crowded = Server(shop["base"] / "nofile", shop["url"], failed_logins=5, login_timeout=120)
    links: list[socket.socket] = []
    try:
        crowded.wait_log(rf"open files: limit {low_file_limit}\b")
        # twice as many connections as the server has descriptors, one after the other: each
        # is greeted, and those that do not fit are turned away; the rest sit there, idle
        for _ in range(2 * low_file_limit):
            link = connect(crowded)
            links.append(link)
            assert link.recv(256).startswith(b"SSH-2.0-")
        # then a burst that the server cannot even accept at once
        for _ in range(low_file_limit // 2):
            with contextlib.suppress(OSError):
                links.append(socket.create_connection(("127.0.0.1", crowded.port), timeout=5))
        crowded.wait_log(r"too many open files")

        # a user is refused cleanly and told why, not left hanging
        busy = Client(crowded, "admin", shop["keys"]["admin"])
        clients.append(busy)
        assert busy.wait_exit() == 255
        assert "the server is busy; try again in a minute" in busy.text

        for link in links:
            link.close()
        links.clear()
        # once the connections are gone, a user signs in again
        wait_for(lambda: _try_sign_in(crowded, shop, clients), "a sign-in after the crowd left")

        log = crowded.log()
        assert log_count(crowded, r"too many open files") <= 3, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        # the idle connections of a crowd are not failed logins either
        assert "too many failed logins" not in log
    finally:
        for link in links:
            link.close()
        assert crowded.stop() == 0


def _try_sign_in(server: Server, shop: Any, clients: list[Client]) -> Any:
    """A session of admin, or None when this attempt was turned away."""
    client = Client(server, "admin", shop["keys"]["admin"])
    clients.append(client)
    try:
        client.wait_text("Ada Admin")
    except AssertionError:
        return None
    return client


async def test_running_out_of_descriptors_is_one_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """asyncio reports each failed ``accept`` (and retries every second): the server turns that
    flood into one line a minute; any other error is asyncio's own report."""
    from prepfloor.config import Settings
    from prepfloor.serve import Hub

    hub = Hub(Settings(database="sqlite://", database_source="test"), None, file_limit=1024)
    now = [0.0]
    hub.notices.clock = lambda: now[0]
    loop = asyncio.get_running_loop()
    emfile = OSError(errno.EMFILE, "Too many open files")
    with caplog.at_level(logging.INFO, logger="prepfloor.serve"):
        for _ in range(500):
            hub.loop_exception(loop, {"message": "socket.accept() out of system resource",
                                      "exception": emfile})  # fmt: skip
        hub.out_of_files("new connections are turned away until some close")
        now[0] = 61.0
        hub.loop_exception(loop, {"message": "accept", "exception": emfile})
    lines = [r.getMessage() for r in caplog.records if "too many open files" in r.getMessage()]
    assert lines == [
        "too many open files (limit 1024): new connections wait or are turned away until some "
        "close",
        "too many open files (limit 1024): new connections wait or are turned away until some "
        "close (500 more times since the last report)",
    ]
    assert not any(r.exc_info for r in caplog.records)
