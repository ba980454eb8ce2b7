"""Type-ahead: keys that arrive in one burst go where they would have gone had the user waited.

Here the keys are posted to the app all at once, as the terminal driver posts them when a paste,
a badge reader or a stalled SSH link delivers a line (Pilot's ``press`` waits between keys, which
hides the fault); ``tests/test_typeahead_pty.py`` writes them to the real program's terminal.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from test_app import SIZE, settle
from test_coordinator_ui import MONDAY, capacity, go_to_cell
from textual import events

from db.models import Car
from prepfloor.app import make_app
from prepfloor.typeahead import TypeAhead
from screens.capacity import CapacityScreen
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
