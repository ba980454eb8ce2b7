"""The manager's dashboard by keys: the tables, Enter to the cars behind a figure and on to a car,
the period, another dealership, a CSV export."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_app import SIZE, settle, text_of

from db.clock import utcnow
from prepfloor.app import make_app
from screens import car_records
from screens import dashboard as dashboard_screen
from screens.car_detail import CarDetailScreen
from screens.dashboard import BehindScreen, DashboardScreen, FigureTable
from screens.dialogs import ChoiceDialog
from world import set_fields


def _cars(world: Any) -> dict[str, int]:
    now = utcnow()
    cars = {
        "waiting": world.register(),
        "stuck": world.register(),
        "moving": world.register(),
    }
    set_fields(
        world,
        cars["stuck"],
        status="parts_ordered",
        parts_ordered_prep_at=now - timedelta(days=9),
        status_changed_at=now - timedelta(days=9),
    )
    set_fields(
        world,
        cars["moving"],
        status="in_transit",
        registered_at=now - timedelta(days=3),
        in_transit_at=now - timedelta(days=1),
        status_changed_at=now - timedelta(days=1),
    )
    return cars


async def open_dashboard(app: Any, pilot: Any) -> DashboardScreen:
    await settle(pilot, app)
    await pilot.press("f6")
    await settle(pilot, app)
    await settle(pilot, app)
    assert isinstance(app.screen, DashboardScreen)
    return app.screen


def active_table(screen: DashboardScreen) -> FigureTable:
    table = screen.current_table()
    assert table is not None
    return table


async def test_tables_enter_to_the_cars_and_on_to_a_car(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    cars = _cars(ui_world)
    app = make_app(ui_store, actor=ui_world["manager499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(app, pilot)
        assert "Porsgrunn · last 30 days" in text_of(app)
        status = active_table(screen)
        assert status.has_focus
        counts = {r.values[0]: r.values[1] for r in status.rows}
        assert (counts["Registered"], counts["Parts ordered"], counts["In transit"]) == (1, 1, 1)

        await pilot.press("right")  # time per stage
        await settle(pilot, app)
        stages = active_table(screen)
        assert stages.spec.key == "stages" and stages.has_focus
        await pilot.press("right", "right")  # workload
        await settle(pilot, app)
        assert active_table(screen).spec.key == "workload"
        await pilot.press("left")  # back to the SLA
        await settle(pilot, app)
        sla = active_table(screen)
        assert sla.spec.key == "sla"
        parts = next(i for i, r in enumerate(sla.rows) if r.values[0] == "Waiting on parts")
        assert sla.rows[parts].values[2:] == (0, 0, 1)  # 9 days against 7: red
        sla.cursor = parts
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, BehindScreen)
        listed = app.screen.query_one(dashboard_screen.RowTable)
        assert [c.id for c in listed.rows] == [cars["stuck"]]
        assert "1 car" in text_of(app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        assert app.screen.car_id == cars["stuck"]
        await pilot.press("escape", "escape")
        await settle(pilot, app)
        assert app.screen is screen

        await pilot.press("p")  # 30 → 90 days
        await settle(pilot, app)
        assert "last 90 days" in text_of(app)


async def test_another_dealership_and_the_csv(
    ui_store, ui_world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _cars(ui_world)
    monkeypatch.setattr(car_records, "export_folder", lambda ctx: tmp_path)
    app = make_app(ui_store, actor=ui_world["manager400"])
    async with app.run_test(size=SIZE) as pilot:
        await open_dashboard(app, pilot)
        assert "Vest HQ and 2 branches" in text_of(app)
        await pilot.press("g")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("down", "enter")  # the first branch after HQ itself
        await settle(pilot, app)
        await settle(pilot, app)
        assert "Kristiansand Vest · last 30 days" in text_of(app)
        await pilot.press("e")
        await settle(pilot, app)
    (written,) = list(tmp_path.glob("status-kristiansand-vest-*.csv"))
    lines = written.read_text().splitlines()
    assert lines[0] == "Status,Cars"
    assert "Registered,1" in lines and "Parts ordered,1" in lines


async def test_a_seller_has_no_dashboard(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        assert not isinstance(app.screen, DashboardScreen)


async def test_another_sessions_change_reaches_the_figures(
    ui_store, ui_world, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from screens.messages import DataChanged

    monkeypatch.setattr(dashboard_screen, "REFRESH_SECONDS", 0.0)
    monkeypatch.setattr(dashboard_screen, "REFRESH_SHARE", 0)
    _cars(ui_world)
    app = make_app(ui_store, actor=ui_world["manager499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_dashboard(app, pilot)

        def registered() -> int:
            rows = active_table(screen).rows
            return next(r.values[1] for r in rows if r.values[0] == "Registered")

        assert registered() == 1
        ui_world.register()  # as if at another terminal
        screen.post_message(DataChanged())
        await settle(pilot, app)
        await settle(pilot, app)
        assert registered() == 2


async def test_a_database_error_is_said_and_the_screen_stays(
    ui_store, ui_world, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import db.dashboard

    def gone(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the database server closed the connection")

    monkeypatch.setattr(db.dashboard, "dashboard", gone)
    app = make_app(ui_store, actor=ui_world["manager499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        assert isinstance(app.screen, DashboardScreen)
        messages = [str(n.message) for n in app._notifications]
        assert any("could not be read" in m and "closed the connection" in m for m in messages)


async def test_the_figures_second_connection_is_let_go_when_the_dashboard_is_left(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    """The dashboard reads its two halves at once, the second on a connection of its own; on
    PostgreSQL that is one more server connection, so it is closed when the dashboard is left
    (another mode) and opened again when the figures are read on coming back."""
    import asyncio

    _cars(ui_world)
    app = make_app(ui_store, actor=ui_world["manager499"])
    async with app.run_test(size=SIZE) as pilot:
        await open_dashboard(app, pilot)
        second = ui_store.fast.second()
        assert second._conn is not None  # the cars' half was read on it
        await pilot.press("f2")  # the car list
        await settle(pilot, app)
        for _ in range(40):
            if second._conn is None:
                break
            await asyncio.sleep(0.05)
        assert second._conn is None
        await pilot.press("f6")
        await settle(pilot, app)
        await settle(pilot, app)
        assert isinstance(app.screen, DashboardScreen)
        assert "Porsgrunn · last 30 days" in text_of(app)
        assert second._conn is not None  # read again on its own connection


async def test_a_stage_too_long_for_a_narrow_terminal_shows_its_short_name(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    """At 80 columns "Time per stage" has no room for "Registered, waiting for transport": the
    stage's short name ("Registered") instead of a name cut off; a wider terminal shows it whole,
    and the SLA table, with room for it, shows it whole at 80 columns."""
    _cars(ui_world)
    app = make_app(ui_store, actor=ui_world["manager499"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(app, pilot)
        await pilot.press("right")
        await settle(pilot, app)
        stages = active_table(screen)
        assert stages.spec.key == "stages"

        def lines(table: FigureTable) -> list[str]:
            return [table.render_line(y).text for y in range(len(table.rows))]

        def names(table: FigureTable) -> list[str]:
            """The first column: after the level mark, up to the gap before the figures."""
            return [line[2:].split("  ")[0].strip() for line in lines(table)]

        assert names(stages) == [
            "Registered",
            "In transit",
            "Inspection",
            "Waiting on parts",  # fits whole
            "Technical",
            "Cosmetic",
            "Ready",
        ]
        assert not any("…" in line for line in lines(stages))
        await pilot.press("right")  # the SLA: room for the whole names
        await settle(pilot, app)
        assert names(active_table(screen))[0] == "Registered, waiting for transport"
        await pilot.press("left")
        await pilot.resize_terminal(140, 30)
        await settle(pilot, app)
        assert names(active_table(screen))[0] == "Registered, waiting for transport"
        assert names(active_table(screen))[4] == "Inspected, until technical done"
