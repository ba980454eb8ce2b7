"""The coordinator's capacity grid on 80x24 and 120x40: the cell under the cursor is always on
screen (a week's seven days fit 80 columns; four weeks scroll with the cursor and mark the days
out of sight), and ``b`` on a person's day off says so instead of booking someone else silently."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from test_app import settle
from test_coordinator_ui import MONDAY, go_to_cell, open_grid

from db import capacity
from prepfloor.app import make_app
from screens.booking import BookingDialog
from screens.capacity import CapacityScreen
from screens.capacity_grid import LABEL_WIDTH, MONTH_CELL, WEEK_CELL, CapacityGridView

SMALL = (80, 24)
LARGE = (120, 40)


def screen_lines(app: Any) -> list[str]:
    return ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]


def cursor_cells(app: Any) -> list[tuple[int, str]]:
    """(line, text) of every reversed cell on screen: the grid's cursor."""
    found = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for segment in strip:
            if segment.style is not None and segment.style.reverse and segment.text.strip():
                found.append((y, segment.text.strip()))
    return found


def titles(app: Any) -> str:
    return str(app.screen.query_one("#days").render())


def assert_cursor_on_screen(app: Any, view: CapacityGridView) -> None:
    day = view.current_day
    assert day is not None
    assert view.col in view.visible_days()
    title = f"{day:%a %d}" if not view.month else f"{day:%d}"
    assert title in titles(app)
    cells = cursor_cells(app)  # drawn on screen, once
    assert len(cells) == 1, cells


async def test_a_week_fits_80_columns_and_the_cursor_starts_on_today(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    from world import at

    w = coord_world
    at(days=5, hours=3)  # Saturday 12 January 2030: the week shows it
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_grid(app, pilot)
        view = screen.query_one(CapacityGridView)
        assert view.current_day == MONDAY + timedelta(days=5)
        label, _cell, count = view.columns()
        assert count == 7 and label >= len("Technical Preparation")
        line = titles(app)
        for offset in range(7):
            day = MONDAY + timedelta(days=offset)
            assert f"{day:%a %d}" in line
        assert "*Sat 12" in line and "◂" not in line and "▸" not in line
        assert_cursor_on_screen(app, view)
        assert any("Technical Preparation" in text for text in screen_lines(app))
        await pilot.press("home")
        for _ in range(7):
            assert_cursor_on_screen(app, view)
            await pilot.press("right")
        assert view.current_day == MONDAY + timedelta(days=6)


async def test_four_weeks_scroll_with_the_cursor_on_80_columns(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_grid(app, pilot)
        view = screen.query_one(CapacityGridView)
        await pilot.press("m")
        await settle(pilot, app)
        assert view.month and len(view.days) == 20
        _label, _cell, count = view.columns()
        assert count < 20  # they do not all fit: they scroll
        assert view.current_day == MONDAY
        assert "◂" not in titles(app) and f"▸{20 - count}" in titles(app)
        for _ in range(19):
            await pilot.press("right")
            assert_cursor_on_screen(app, view)
        assert view.current_day == date(2030, 2, 1)
        assert f"◂ {20 - count} more" in titles(app) and "▸" not in titles(app)
        await pilot.press("home")
        assert_cursor_on_screen(app, view)
        assert view.current_day == MONDAY and "◂" not in titles(app)
        await pilot.press("end")
        assert_cursor_on_screen(app, view)
        for row in range(len(view.grid.rows)):  # up and down keep the column
            view.row = row
            assert_cursor_on_screen(app, view)


async def test_120_columns_show_the_whole_week_and_four_weeks_wide(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=LARGE) as pilot:
        screen = await open_grid(app, pilot)
        view = screen.query_one(CapacityGridView)
        assert view.columns() == (LABEL_WIDTH, WEEK_CELL, 7)
        await pilot.press("m")
        await settle(pilot, app)
        assert view.columns() == (LABEL_WIDTH, MONTH_CELL, 20)
        assert "◂" not in titles(app) and "▸" not in titles(app)


async def test_book_on_a_day_off_says_so_and_offers_whoever_has_room(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    wednesday = MONDAY + timedelta(days=2)
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=wednesday,
        allocated_hours=0,
        user_id=w["mechanic499"].user_id,
    )
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SMALL) as pilot:
        await open_grid(app, pilot)
        go_to_cell(app, "TECH_PREP", "mechanic499", wednesday, w)
        await pilot.press("b")
        await settle(pilot, app)
        dialog = app.screen
        assert isinstance(dialog, BookingDialog)
        assert dialog.preset_user is None  # not Per: the form offers the people with room
        messages = [str(n.message) for n in app._notifications]
        assert any(
            "Per Mekaniker has no hours on Wed 9 Jan (a day off)" in m and "type a number" in m
            for m in messages
        ), messages
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
        # a day with hours books that person, without a word
        go_to_cell(app, "TECH_PREP", "mechanic499", MONDAY, w)
        app.clear_notifications()
        await pilot.press("b")
        await settle(pilot, app)
        assert app.screen.preset_user == str(w["mechanic499"].user_id)
        assert not [n for n in app._notifications if "no hours" in str(n.message)]
