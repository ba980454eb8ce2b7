"""The key screens in Norwegian (the site's language set to ``nb``), beside their English snapshots
in ``test_snapshots.py``: the same data and keys, every word, date and number as a Norwegian
workshop writes it, and everything still fits at 80x24.  Look at the SVGs before accepting."""

from __future__ import annotations

from typing import Any

import pytest
from test_snapshots import (  # noqa: F401  (fixtures)
    SMALL,
    _car_id,
    _coordinator_world,
    _ready,
    _settled,
    demo_world,
    fixed_world,
)

from prepfloor.app import make_app
from prepfloor.config import Settings


def norsk(store: Any, actor: Any = None) -> Any:
    """The app on a site whose language is Norwegian (no user chose their own)."""
    site = Settings(database=store.url, database_source="test", language="nb")
    return make_app(store, site, actor=actor)


def test_car_list(snap_compare, ui_store, fixed_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(ui_store, fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f2")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("size", [(120, 32), SMALL], ids=["120x32", "80x24"])
def test_intake_form_with_errors(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(ui_store, fixed_world["seller495"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("ctrl+n")
        await _ready(pilot)
        await pilot.press(*"WBAJA51040CH12345", "tab")  # the VIN of a car already registered
        screen = pilot.app.screen
        for field, typed in (
            ("license_plate", "ab-12"),
            ("model_year", "1899"),
            ("customer_phone", "12"),
            ("customer_email", "kari.example.no"),
            ("expected_delivery_date", "31.02"),
        ):
            screen.query_one(f"#{field}").focus()
            await pilot.press(*typed)
        await pilot.press("ctrl+s")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(120, 24), SMALL], ids=["120x24", "80x24"])
def test_capacity_grid_week(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _coordinator_world(fixed_world)
    app = norsk(ui_store, fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("f4")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(120, 32), SMALL], ids=["120x32", "80x24"])
def test_booking_form_with_an_error(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(ui_store, fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        pilot.app.open_car(1)
        await _ready(pilot)
        await pilot.press("b")
        await _ready(pilot)
        pilot.app.screen.query_one("#estimated_hours").value = "1,3"
        await _ready(pilot)
        await pilot.press("ctrl+s")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_my_cars_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f3")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_car_view_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    car_id = _car_id(demo_world, "WBAJS6J73VY995991")  # parts ordered, bookings, a history
    app = norsk(demo_world, demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        pilot.app.open_car(car_id)
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_car_view_with_its_history(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    car_id = _car_id(demo_world, "WBAJS6J73VY995991")
    app = norsk(demo_world, demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        pilot.app.open_car(car_id)
        await _settled(pilot)

    assert snap_compare(app, terminal_size=(120, 60), run_before=ready)


def test_inbox_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("ola"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f8")
        await _settled(pilot)
        await pilot.press("down")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("tab", [0, 3], ids=["status", "workload"])
def test_manager_dashboard_at_80x24(snap_compare, demo_world, tab: int) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("mona"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f6")
        await _settled(pilot)
        for _ in range(tab):
            await pilot.press("right")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_manager_dashboard_wide(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("mona"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f6")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=(120, 30), run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 30)], ids=["80x24", "120x30"])
def test_sign_in_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world)  # nobody signed in: a shared terminal's first screen
    assert snap_compare(app, terminal_size=size, run_before=_settled)


def test_my_jobs_on_the_demo(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("per"))
    assert snap_compare(app, terminal_size=SMALL, run_before=_settled)


@pytest.mark.parametrize("size", [SMALL, (120, 30)], ids=["80x24", "120x30"])
def test_help_of_my_jobs_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("per"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f1")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_my_hours_on_the_demo(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("per"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("h")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_admin_users_on_the_demo(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("admin"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f7", "u")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_sharing_requests_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("ola"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        from screens.schedule import RequestsScreen

        await _settled(pilot)
        ola = pilot.app.session_ctx.actor
        pilot.app.push_screen(
            RequestsScreen(pilot.app.session_ctx, ola.dealership_id, "499 Porsgrunn")
        )
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)
