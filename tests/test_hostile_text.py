"""Text people type is drawn on other people's screens: it never crashes, steers or reaches them.

The demo database with hostile strings in every text and JSON column of every table (written past
the rules, as another program could; ``tests/hostile.py``), opened as each role on both engines:
every mode and the screens behind their keys, the car view and its records, the inbox, the palette,
the sign-in list.  After every step the app is still running, the frame it would write to the
terminal carries no control sequence but its own drawing (no OSC 52 clipboard write, no OSC 0
title, no CSI 2J, no NUL, no hyperlink), and where a whole value is shown its brackets are kept
(``[@click=app.quit]`` is text, not an action).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from settling import settle

import hostile
from conftest import _admin_exec, _with_database, _worker, new_database
from db import clock
from db.access import Actor, actor_from
from db.store import Store
from prepfloor.app import make_app
from world import T0

ROLES = ("admin", "manager", "coordinator", "seller", "mechanic", "detailer")


@pytest.fixture(scope="session")
def hostile_sqlite(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.db"
    shutil.copy(sqlite_template, path)
    _build(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def hostile_pg(pg_server: str, pg_template: str) -> str:
    name = f"prepfloor_hostile_{_worker()}"
    _admin_exec(
        pg_server,
        f"DROP DATABASE IF EXISTS {name}",
        f"CREATE DATABASE {name} TEMPLATE {pg_template}",
    )
    _build(_with_database(pg_server, name))
    return name


def _build(url: str) -> None:
    from db.engine import Database
    from prepfloor.demo import build_demo

    database = Database(url)
    try:
        with _at_the_moment():  # the demo as it stands then, whenever the tests run
            build_demo(database)
    finally:
        database.dispose()
    written = hostile.poison(url)
    # the columns people type into are among those overwritten
    assert {"customer_name", "seller_notes", "vin"} <= set(written["cars"])
    assert "display_name" in written["users"] and "part_name" in written["parts_orders"]
    assert "changes" in written["events"] and "message" in written["notifications"]


@contextlib.contextmanager
def _at_the_moment() -> Iterator[None]:
    """The clock stopped at :data:`world.T0` (UTC): the demo is played up to that minute, and the
    app in the tests runs then, so each role's screens show the same jobs, cars and texts at any
    hour the tests run (the demo played up to the real minute showed the mechanic another job at
    08:05 than at 08:40, and with it other hostile strings)."""
    before = clock._frozen, clock._zone  # the templates are built inside a test's moment
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield
    finally:
        clock.freeze(before[0])
        clock.set_zone(before[1])


@pytest.fixture(params=("sqlite", "postgresql"))
def hostile_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A copy of the hostile demo on each engine, the clock at the demo's moment."""
    with _at_the_moment():
        yield from new_database(request, request.param, tmp_path, ("hostile_sqlite", "hostile_pg"))


def actor_of(store: Store, role: str) -> Actor:
    """The demo's first active user of ``role`` who has a dealership (an admin has none)."""
    rows = store.fast.rows(
        "SELECT id, login, display_name, role, dealership_id FROM users "
        "WHERE role = :role AND active ORDER BY created_at, login",
        {"role": role},
    )
    assert rows, role
    user_id, login, name, role_, dealership_id = rows[0]
    return actor_from(user_id, login, name, role_, dealership_id, store.fast.parents())


class Walk:
    """Drives the app by keys and checks every frame."""

    def __init__(self, pilot: Any, app: Any) -> None:
        self.pilot = pilot
        self.app = app
        self.seen: list[str] = []

    async def check(self, where: str) -> str:
        await settle(self.pilot, self.app)  # the keys in the type-ahead backlog too
        assert self.app.is_running, f"the app stopped at {where}"
        output = hostile.frame(self.app)
        assert hostile.foreign_sequences(output) == [], f"{where}: {type(self.app.screen).__name__}"
        assert "\x1b]8;" not in output, f"{where}: a hyperlink from data"
        shown = hostile.visible_text(output)
        self.seen.append(shown)
        return shown

    async def keys(self, where: str, *keys: str) -> str:
        await self.pilot.press(*keys)
        return await self.check(where)


async def _walk_mode(walk: Walk, mode: str, role: str) -> None:
    if mode == "cars":
        await walk.keys("car view", "enter")
        for key in ("p", "d", "h"):
            await walk.keys(f"car view {key}", key)
            if key != "h":
                await walk.keys(f"car view {key} closed", "escape")
        await walk.keys("car view closed", "escape")
        await walk.keys("car search", "slash", *"[/]")
        await walk.keys("car search cleared", "escape", "escape")
    elif mode == "seller":
        await walk.keys("my cars search", "slash", *"[/]")
        await walk.keys("my cars search cleared", "escape", "escape")
        await walk.keys("my cars open", "enter")
        await walk.keys("my cars back", "escape")
    elif mode == "coordinator":
        for key in ("enter", "q", "u"):
            await walk.keys(f"grid {key}", key)
            await walk.keys(f"grid {key} closed", "escape")
    elif mode == "workshop":
        if role in ("mechanic", "detailer"):
            await walk.keys("my jobs: hours", "h")
            await walk.keys("my jobs: back", "escape")
    elif mode == "manager":
        for n in range(7):
            await walk.keys(f"dashboard table {n}", "right")
        await walk.keys("dashboard behind", "enter")
        await walk.keys("dashboard back", "escape")
        await walk.keys("dashboard sharing", "u")
        await walk.keys("dashboard sharing back", "escape")
    elif mode == "admin":
        await walk.keys("dealership form", "enter")
        await walk.keys("dealership form closed", "escape")
        await walk.keys("sla targets", "t")
        await walk.keys("sla targets closed", "escape")
        for key in ("r", "a", "u"):
            await walk.keys(f"admin list {key}", key)
            await walk.keys(f"admin list {key} form", "enter")
            await walk.keys(f"admin list {key} form closed", "escape")
            await walk.keys(f"admin list {key} closed", "escape")


@pytest.mark.parametrize("role", ROLES)
async def test_every_screen_draws_hostile_text_as_text(hostile_url: str, role: str) -> None:
    from screens.modes import modes_for

    store = Store(hostile_url)
    try:
        actor = actor_of(store, role)
        app = make_app(store, actor=actor)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            walk = Walk(pilot, app)
            await walk.check("start")
            for mode in modes_for(role):
                await walk.keys(f"mode {mode.name}", mode.key)
                await _walk_mode(walk, mode.name, role)
            await walk.keys("inbox", "f8")
            await walk.keys("inbox closed", "escape")
            await walk.keys("palette", "ctrl+p", *"Tor")
            palette = await walk.keys("palette results", *" Lunde")
            await walk.keys("palette closed", "escape")
            app.notify(f"{hostile.CLICK} {hostile.CLIPBOARD}", title=hostile.TITLE)
            toast = await walk.check("a toast quoting hostile text")
            assert app.is_running
    finally:
        store.close()
    everything = "\n".join(walk.seen)
    for literal in hostile.SHOWN:
        assert literal in everything, literal  # brackets kept, never read as markup
    assert hostile.CLICK in toast, toast
    assert "[/]" in palette, palette


async def test_the_sign_in_list_draws_hostile_names_as_text(hostile_url: str) -> None:
    store = Store(hostile_url)
    try:
        app = make_app(store)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            walk = Walk(pilot, app)
            for _ in range(400):  # the list is read in a worker after the first frame: 20 s at most
                await pilot.pause(0.05)
                if app.screen.users:
                    break
            await walk.check("sign-in list")
            shown = await walk.keys("sign-in filter", *"lunde [/]")
            assert "Tor Lunde [/]" in shown  # the names it finds, brackets and all
            await walk.keys("sign-in filter cleared", *["backspace"] * 9)
    finally:
        store.close()


async def test_a_small_terminal_draws_hostile_text_as_text(hostile_url: str) -> None:
    from screens.modes import modes_for

    store = Store(hostile_url)
    try:
        app = make_app(store, actor=actor_of(store, "admin"))
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            walk = Walk(pilot, app)
            await walk.check("start")
            for mode in modes_for("admin"):
                await walk.keys(f"mode {mode.name}", mode.key)
            await walk.keys("car view", "f2", "enter")
    finally:
        store.close()


# ------------------------------------------------------------------------------------------------
# the real program in a real pseudo-terminal: every byte it writes
# ------------------------------------------------------------------------------------------------
class Terminal:
    """``prepfloor`` in a pty (100x30), everything it writes kept."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        import fcntl
        import os
        import pty
        import struct
        import sys
        import termios

        prepfloor = str(Path(sys.executable).parent / "prepfloor")
        pid, fd = pty.fork()
        if pid == 0:  # the child: a clean environment with its own config folders
            os.environ.update(
                TERM="xterm-256color",
                XDG_CONFIG_HOME=str(tmp_path / "config"),
                XDG_DATA_HOME=str(tmp_path / "data"),
            )
            os.execv(prepfloor, [prepfloor, "--db", url])
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.output = b""

    def read_until(self, pattern: bytes, timeout: float = 30.0) -> None:
        import os
        import select
        import time

        deadline = time.monotonic() + timeout
        while pattern not in hostile.visible_text(self.output.decode(errors="replace")).encode():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} never shown")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    raise AssertionError("prepfloor exited") from None

    def quiet(self, seconds: float = 0.8) -> None:
        """Keep what is written for ``seconds`` (a blinking cursor never goes quiet)."""
        import os
        import select
        import time

        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if select.select([self.fd], [], [], left)[0]:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:
                    return

    def send(self, data: bytes) -> None:
        import os

        os.write(self.fd, data)
        self.quiet()

    def close(self) -> None:
        import os
        import signal

        try:
            os.write(self.fd, b"\x11")  # ctrl+q
            self.quiet(1.0)
        except OSError:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.mark.slow
def test_no_control_sequence_from_data_reaches_a_real_terminal(
    hostile_sqlite: Path, tmp_path: Path
) -> None:
    """OSC 52 (clipboard), OSC 0 (window title), CSI 2J (clear) and NUL stored in the data never
    leave the program: the car list, a car, its parts and documents, the palette and the inbox."""
    import getpass

    from db import users

    path = tmp_path / "hostile.db"
    shutil.copy(hostile_sqlite, path)
    url = f"sqlite:///{path}"
    store = Store(url)
    store.run(  # the OS login name signs in straight away, as an SSH user's does
        users.create_user,
        None,
        login=getpass.getuser(),
        display_name="Ada Admin",
        role="admin",
        dealership_id=None,
    )
    store.close()
    terminal = Terminal(url, tmp_path)
    try:
        terminal.read_until(b"Ada Admin")
        terminal.read_until(b"[temp]")  # the car list, with the hostile values in it
        terminal.quiet()
        for keys in (b"\r", b"p", b"\x1b", b"d", b"\x1b", b"\x1b", b"\x10", b"Tor Lunde"):
            terminal.send(keys)
        terminal.read_until(b"[/]")
        for keys in (b"\x1b", b"\x1b[19~", b"\x1b"):  # f8: the inbox
            terminal.send(keys)
    finally:
        terminal.close()
    written = terminal.output
    assert b"\x1b]52" not in written  # nothing wrote the clipboard
    assert b"\x1b]0;" not in written and b"pwned\x07" not in written  # nor the window title
    assert b"\x1b[2J" not in written and b"\x00" not in written
    assert b"\x1b]8;" not in written  # no hyperlink made from data
    assert b"[@click=app.quit]" in written  # shown as text
