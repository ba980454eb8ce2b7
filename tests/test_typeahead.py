"""Type-ahead: keys that arrive in one burst go where they would have gone had the user waited.

Here the keys are posted to the app all at once, as the terminal driver posts them when a paste,
a badge reader or a stalled SSH link delivers a line (Pilot's ``press`` waits between keys, which
hides the fault); ``tests/test_typeahead_pty.py`` writes them to the real program's terminal.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from test_app import SIZE, settle, text_of
from test_coordinator_ui import MONDAY, capacity, go_to_cell
from test_workshop_ui import running, shop  # noqa: F401  (shop: a fixture)
from textual import events

from db import jobs, users
from db.models import Car
from prepfloor.app import make_app
from prepfloor.typeahead import TypeAhead
from screens.capacity import CapacityScreen
from screens.login import LoginScreen
from screens.workshop import MyJobsScreen
from world import rows

ROOT = Path(__file__).resolve().parent.parent


def burst(app: Any, keys: str | list[str]) -> None:
    """Every key posted at once (characters, or Textual key names in a list)."""
    for key in keys:
        if len(key) == 1:
            name = {"\t": "tab", "\r": "enter", " ": "space"}.get(key, key)
            app.post_message(events.Key(name, key if key.isprintable() else None))
        else:
            app.post_message(events.Key(key, None))


async def typed(pilot: Any, app: Any) -> None:
    """Until every key of a burst has been handled and has taken effect."""
    for _ in range(3):
        await settle(pilot, app)
        await app.typeahead.idle()
    await settle(pilot, app)


async def test_digits_typed_at_once_on_a_grid_cell_all_reach_the_edit_box(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """'16' in one burst on a cell saved 6 hours: the first digit opens the edit box, the second
    was handled by the grid before the box had the focus."""
    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f4")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
        go_to_cell(app, "TECH_PREP", None, MONDAY, w)
        await settle(pilot, app)
        burst(app, "17\r")
        await typed(pilot, app)
    assert capacity(w, "TECH_PREP", MONDAY)["allocated_hours"] == 17


async def test_a_whole_intake_typed_at_once_registers_exactly_that_car(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    """ctrl+n, every field and ctrl+s in one burst: the same car as when typed slowly."""
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        burst(
            app,
            [
                "ctrl+n",
                *"WBA11122233344477\tBMW\tX3\tORD-8877\tBerit Olsen\t\tEL 77777\t2025\tRed",
                "ctrl+s",
            ],
        )
        await typed(pilot, app)
    cars = rows(ui_world, Car)
    assert len(cars) == 1
    car = cars[0]
    assert (car["vin"], car["license_plate"], car["brand"], car["model"]) == (
        "WBA11122233344477",
        "EL 77777",
        "BMW",
        "X3",
    )
    assert (car["model_year"], car["color"], car["order_number"], car["customer_name"]) == (
        2025,
        "Red",
        "ORD-8877",
        "Berit Olsen",
    )
    assert car["status"] == "registered"


async def test_without_the_gate_the_burst_goes_astray(ui_store, coord_world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The same grid burst with the gate switched off: the fault the gate exists for is real."""
    monkeypatch.setattr(TypeAhead, "hold", lambda self, event: False)
    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f4")
        await settle(pilot, app)
        go_to_cell(app, "TECH_PREP", None, MONDAY, w)
        await settle(pilot, app)
        burst(app, "17\r")
        await typed(pilot, app)
    assert capacity(w, "TECH_PREP", MONDAY)["allocated_hours"] != 17


def held_rule(monkeypatch: Any, module: Any, name: str) -> tuple[threading.Event, threading.Event]:
    """Every call of the rule ``module.name`` waits (as behind another terminal's change, or on
    a loaded server) until the test releases it: (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    real = getattr(module, name)

    def held_up(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held_up)
    return entered, release


def _toasts(app: Any, start: str) -> list[str]:
    """The toasts up now whose text starts with ``start``."""
    return [n.message for n in app._notifications if n.message.startswith(start)]


KEPT = "What you typed is kept"
WAITING = "Waiting for another terminal's change"


async def _until(pilot: Any, done: Any) -> None:
    for _ in range(300):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError("never happened")


async def test_a_space_typed_behind_a_held_up_sign_in_starts_the_clock(  # type: ignore[no-untyped-def]
    ui_store,
    shop,  # noqa: F811
    monkeypatch,
) -> None:
    """Per types his name, PIN, Enter and Space in one go at the workshop terminal while his
    sign-in is held up by another terminal's change.  The Space waits for the sign-in, however
    long the database may hold it (it used to be handed over after 3 s, to the sign-in screen: no
    clock started), and starts the clock on his first job.  Meanwhile the sign-in screen says
    what he waits for (once: not also that his keys are kept)."""
    w = shop
    ui_store.run(users.set_pin, None, w["mechanic499"].user_id, "1234")
    entered, release = held_rule(monkeypatch, users, "sign_in")
    app = make_app(ui_store)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, app)
            assert isinstance(app.screen, LoginScreen)
            burst(app, [*"per m", "enter", *"1234", "enter", "space"])
            await _until(pilot, lambda: entered.is_set() and _toasts(app, WAITING))
            assert [n.title for n in app._notifications] == ["Signing in"]
            await asyncio.sleep(4)  # longer than a key used to wait for the previous key's work
            assert isinstance(app.screen, LoginScreen) and len(app.typeahead.backlog) == 1
            assert _toasts(app, KEPT) == [] and running(w) == []
            release.set()
            await typed(pilot, app)
            assert isinstance(app.screen, MyJobsScreen)
            assert [e["booking_id"] for e in running(w)] == [w.jobs[0]]
            assert "RUNNING" in text_of(app)
            assert _toasts(app, WAITING) == []
    finally:
        release.set()


async def test_keys_that_wait_on_a_slow_read_are_said_to_be_kept(  # type: ignore[no-untyped-def]
    ui_store,
    shop,  # noqa: F811
    monkeypatch,
) -> None:
    """Per's jobs take long to read (a loaded server); the Space he typed as the screen opened
    waits for them, he is told it is kept, and it starts the clock on his first job."""
    w = shop
    entered, release = held_rule(monkeypatch, jobs, "my_jobs")
    app = make_app(ui_store, actor=w["mechanic499"])
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            burst(app, ["space"])
            await _until(pilot, lambda: entered.is_set() and _toasts(app, KEPT))
            assert running(w) == [] and len(app.typeahead.backlog) == 1
            release.set()
            await typed(pilot, app)
            assert [e["booking_id"] for e in running(w)] == [w.jobs[0]]
            assert _toasts(app, KEPT) == []
    finally:
        release.set()


async def test_a_key_waits_no_longer_than_its_limit(  # type: ignore[no-untyped-def]
    ui_store,
    shop,  # noqa: F811
    monkeypatch,
) -> None:
    """A key is never stuck: past the limit (here 2 s) it is handed over, though the read it
    waited for still runs, and the toast that said it was kept goes."""
    w = shop
    entered, release = held_rule(monkeypatch, jobs, "my_jobs")
    app = make_app(ui_store, actor=w["mechanic499"])
    app.typeahead.limit = 2.0
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            burst(app, ["space"])
            await _until(pilot, lambda: entered.is_set() and _toasts(app, KEPT))
            await _until(pilot, lambda: not app.typeahead.backlog)
            assert not release.is_set()  # handed over while the read still runs
            await _until(pilot, lambda: not _toasts(app, KEPT))
            # handed over is not yet handled: on a loaded machine the Space could still be on
            # its way to the screen when the jobs arrive (then it would start the first one)
            await asyncio.wait_for(app.typeahead.idle(), 30)
            release.set()
            await settle(pilot, app)
            assert running(w) == []  # the Space found no job yet: nothing started
    finally:
        release.set()


def test_a_toast_that_expires_while_it_is_made_does_not_freeze_the_session() -> None:
    """Textual 8.2.8 starts a toast's timer with the time left when the toast was made; a
    notification that ran out in between gave a negative delay, and the timer then spun for ever
    at 100 % CPU (it froze a test run for twenty minutes).  prepfloor.textual_fixes mends it."""
    script = textwrap.dedent(
        """
        import asyncio, time
        import prepfloor.app  # applies prepfloor's mends of Textual
        from textual.app import App
        from textual.notifications import Notification
        from textual.widgets._toast import Toast

        async def main():
            app = App()
            async with app.run_test(notifications=True) as pilot:
                notification = Notification("x", timeout=0.0001)
                time.sleep(0.001)  # runs out between the rack's check and the toast
                await app.screen.mount(Toast(notification))
                await pilot.pause(0.2)
                print("alive")

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "alive", done.stderr[-2000:]
