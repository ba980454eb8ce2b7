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
    _settled,
    demo_world,
    fixed_world,
    intake_with_errors,
    steps,
)

from prepfloor.app import make_app
from prepfloor.config import Settings

PARTS_ORDERED = "WBAJS6J73VY995991"  # the demo's car with parts ordered, bookings, a history


def norsk(store: Any, actor: Any = None) -> Any:
    """The app on a site whose language is Norwegian (no user chose their own)."""
    site = Settings(database=store.url, database_source="test", language="nb")
    return make_app(store, site, actor=actor)


def open_car(car_id: int) -> Any:
    return lambda app: app.open_car(car_id)


def typed(field: str, value: str) -> Any:
    return lambda app: setattr(app.screen.query_one(f"#{field}"), "value", value)


def test_car_list(snap_compare, ui_store, fixed_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(ui_store, fixed_world["coordinator499"])
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(("f2",)))


@pytest.mark.parametrize("size", [(120, 32), SMALL], ids=["120x32", "80x24"])
def test_intake_form_with_errors(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(ui_store, fixed_world["seller495"])
    ready = intake_with_errors(("expected_delivery_date", "31.02"))  # no such day, typed Norwegian
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(120, 24), SMALL], ids=["120x24", "80x24"])
def test_capacity_grid_week(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _coordinator_world(fixed_world)
    app = norsk(ui_store, fixed_world["coordinator499"])
    assert snap_compare(app, terminal_size=size, run_before=steps(("f4",)))


@pytest.mark.parametrize("size", [(120, 32), SMALL], ids=["120x32", "80x24"])
def test_booking_form_with_an_error(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(ui_store, fixed_world["coordinator499"])
    ready = steps(open_car(1), ("b",), typed("estimated_hours", "1,3"), ("ctrl+s",))
    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_my_cars_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("kari"))
    assert snap_compare(app, terminal_size=size, run_before=steps(("f3",)))


@pytest.mark.parametrize("size", [SMALL, (120, 60)], ids=["80x24", "120x60"])
def test_car_view(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("kari"))
    ready = steps(open_car(_car_id(demo_world, PARTS_ORDERED)))
    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_inbox_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("ola"))
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(("f8",), ("down",)))


@pytest.mark.parametrize(
    ("size", "tab"), [(SMALL, 0), (SMALL, 3), ((120, 30), 0)], ids=["status", "workload", "wide"]
)
def test_manager_dashboard(snap_compare, demo_world, size, tab: int) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("mona"))
    ready = steps(("f6",), ("right",) * tab) if tab else steps(("f6",))
    assert snap_compare(app, terminal_size=size, run_before=ready)


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
    assert snap_compare(app, terminal_size=size, run_before=steps(("f1",)))


def test_my_hours_on_the_demo(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("per"))
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(("h",)))


def test_admin_users_on_the_demo(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    app = norsk(demo_world, demo_world.fast.actor("admin"))
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(("f7", "u")))


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_sharing_requests_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    def requests(app: Any) -> None:
        from screens.schedule import RequestsScreen

        ola = app.session_ctx.actor
        app.push_screen(RequestsScreen(app.session_ctx, ola.dealership_id, "499 Porsgrunn"))

    app = norsk(demo_world, demo_world.fast.actor("ola"))
    assert snap_compare(app, terminal_size=size, run_before=steps(requests))
