"""80x24 is a first-class size (the terminal of a workshop thin client): the lists keep the columns
that matter and mark the ones they drop (``+N »``), a VIN is never cut, the header keeps the
screen's title, the cursor stays on screen and every dialog fits inside the terminal."""

from __future__ import annotations

from typing import Any

from test_app import settle
from textual.geometry import Region

from db import workflow
from prepfloor.app import make_app
from screens.carlist import COLUMNS as CAR_COLUMNS
from screens.table import Column, RowTable, TableHeader, plan, titles_line

SMALL = (80, 24)


def lines(app: Any) -> list[str]:
    """What the terminal shows, line by line."""
    return ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]


def titles(app: Any) -> str:
    return str(app.screen.query_one(TableHeader).render())


# ------------------------------------------------------------------------------------------------
# the rule: Column.drop / Column.least and plan()
# ------------------------------------------------------------------------------------------------
COLS = [
    Column("a", "Alpha", 10),
    Column("b", "Beta", 10, drop=2),
    Column("c", "Gamma", 10, right=True, drop=1),
    Column("d", "Delta", 10, right=True),
]


def test_columns_go_in_their_drop_order_and_the_titles_say_how_many() -> None:
    assert plan(COLS, 43).dropped == ()  # 4 x 10 and 3 spaces
    assert titles_line(COLS, 43).rstrip().endswith("Delta")
    at = plan(COLS, 42)
    assert [COLS[i].key for i in at.dropped] == ["c"]  # drop=1 goes first
    assert at.widths == (10, 10, 0, 10)
    line = titles_line(COLS, 42)
    assert len(line) == 42 and line.endswith("+1 »")
    at = plan(COLS, 30)
    assert [COLS[i].key for i in at.dropped] == ["b", "c"]
    assert titles_line(COLS, 30).endswith("+2 »")
    # what never drops is cut at the right rather than dropped
    assert plan(COLS, 12).widths == (10, 0, 0, 10)


def test_a_narrowed_column_comes_back_before_a_column_is_dropped() -> None:
    cols = [Column("s", "Status", 18, least=14), Column("n", "Name", 10, flex=1, drop=1)]
    assert plan(cols, 29).widths == (18, 10)
    assert plan(cols, 26).widths == (15, 10)  # narrowed, nothing dropped
    assert plan(cols, 24).dropped == (1,)  # 14 + 1 + 10 > 24: the name goes


def test_columns_of_one_drop_number_go_together() -> None:
    cols = [
        Column("p", "Person", 12),
        Column("w1", "W49 hours", 9, right=True, drop=2),
        Column("w2a", "W50 capacity", 12, right=True, drop=1),
        Column("w2b", "W50 booked", 10, right=True, drop=1),
    ]
    assert plan(cols, 46).dropped == ()
    assert plan(cols, 45).dropped == (2, 3)


def test_the_car_list_never_cuts_a_vin_and_keeps_what_identifies_a_car() -> None:
    keys = [c.key for c in CAR_COLUMNS]
    for width in range(72, 220):  # below 72 the columns that never go do not fit
        at = plan(CAR_COLUMNS, width)
        assert at.widths[keys.index("vin")] == 17, width
        shown = {CAR_COLUMNS[i].key for i in at.shown}
        assert {"status", "vin", "plate", "car", "customer"} <= shown, width
        marker = len(at.marker) + 1 if at.dropped and not at.overlay else 0
        assert sum(at.widths) + len(at.shown) - 1 + marker <= width, width
    at = plan(CAR_COLUMNS, 78)
    assert [CAR_COLUMNS[i].key for i in at.dropped] == ["dealership", "parts", "stage"]
    assert plan(CAR_COLUMNS, 117).dropped == ()


# ------------------------------------------------------------------------------------------------
# the screens at 80x24
# ------------------------------------------------------------------------------------------------
async def test_my_cars_keeps_what_matters_at_80x24_and_marks_the_rest(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from screens.seller import MyCarsTable

    ids = [ui_world.register(customer_name=f"Kunde {n:02d}") for n in range(30)]
    ui_world.db.run(workflow.move_car, ui_world["seller495"], ids[-1], "in_transit")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        line = titles(app)
        for title in ("Status", "Plate", "Customer", "Next work", "Parts", "SLA", "New"):
            assert title in line
        assert "Order" not in line and "In stage" not in line
        assert line.rstrip().endswith("+3 »")
        tooltip = str(app.screen.query_one(TableHeader).tooltip)
        assert "Car, Order, In stage" in tooltip
        shown = "\n".join(lines(app))
        assert "Kunde 29" in shown and "In transit" in shown

        # the digits sort by the columns on screen: 3 is the customer here
        table = app.screen.query_one(MyCarsTable)
        await pilot.press("3")
        names = [r.customer_name for r in table.rows]
        assert names == sorted(names)

        # the cursor stays on screen: at the end, and when the terminal gets shorter
        await pilot.press("end")
        await settle(pilot, app)
        assert on_screen(table)
        await pilot.resize_terminal(80, 14)
        await settle(pilot, app)
        assert on_screen(table)

        await pilot.resize_terminal(120, 24)  # wider: the columns come back
        await settle(pilot, app)
        line = titles(app)
        assert "Order" in line and "In stage" in line and "»" not in line


def on_screen(table: RowTable[Any]) -> bool:
    top = int(table.scroll_offset.y)
    return top <= table.cursor < top + table.scrollable_content_region.height


async def test_the_car_view_shows_the_whole_vin_at_80x24(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    vin = "WBAJA51040CH12345"
    car_id = ui_world.register(
        vin=vin, brand="BMW", model="X5 xDrive50e M Sport", accessories=["Tow bar"] * 3
    )
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, app)
        app.open_car(car_id)
        await settle(pilot, app)
        shown = lines(app)
        assert any(f"VIN         {vin}" in line for line in shown)  # its label beside it
        assert f"BMW X5 xDrive50e M Sport {vin}" in shown[0]  # the header keeps the title
        assert app.screen.query_one("#vehicle").region.width >= 29


async def test_the_header_keeps_the_title_at_80_columns(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["coordinator499"])
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, app)
        for key, title in (("f2", "Cars"), ("f4", "Coordinator · Capacity"), ("f8", "Inbox")):
            await pilot.press(key)
            await settle(pilot, app)
            header = lines(app)[0]
            assert title in header, header
            assert "Koordinator" in header  # who is signed in stays too
        await pilot.resize_terminal(60, 24)
        await settle(pilot, app)
        assert "Inbox" in lines(app)[0]


async def test_every_dialog_of_the_car_view_fits_in_80x24(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from screens.car_records import DocumentsDialog, PartsDialog
    from screens.dialogs import ChoiceDialog
    from screens.forms import FormDialog

    car_id = ui_world.register()
    app = make_app(ui_store, actor=ui_world["seller495"])
    screen = Region(0, 0, *SMALL)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, app)
        app.open_car(car_id)
        await settle(pilot, app)
        for key, kind in (("p", PartsDialog), ("d", DocumentsDialog), ("c", FormDialog)):
            await pilot.press(key)
            await settle(pilot, app)
            assert isinstance(app.screen, kind)
            box = app.screen.children[0]
            assert screen.contains_region(box.region), (kind, box.region)
            if kind is PartsDialog:  # a form on top of it
                await pilot.press("n")
                await settle(pilot, app)
                assert isinstance(app.screen, FormDialog)
                assert screen.contains_region(app.screen.children[0].region)
                await pilot.press("escape")
                await settle(pilot, app)
            await pilot.press("escape")
            await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        assert screen.contains_region(app.screen.children[0].region)


async def test_a_long_choice_list_fits_and_keeps_its_highlight_in_view(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from screens.dialogs import ChoiceDialog
    from screens.widgets import OptionList

    app = make_app(ui_store, actor=ui_world["seller495"])
    choices = [(str(n), f"Choice {n}") for n in range(40)]
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, app)
        app.push_screen(ChoiceDialog("Pick one", choices, note="A note\nof two lines"))
        await settle(pilot, app)
        box = app.screen.children[0]
        assert Region(0, 0, *SMALL).contains_region(box.region)
        options = app.screen.query_one(OptionList)
        await pilot.press("end")
        await settle(pilot, app)
        assert options.highlighted == 39
        assert "Choice 39" in "\n".join(lines(app))
        assert "of two lines" in "\n".join(lines(app))


async def test_the_coordinators_dialogs_fit_in_80x24(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    from screens.inbox import PreferencesDialog
    from screens.schedule import CellBookingsDialog, CutDialog, pattern_dialog
    from world import T0

    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    screen = Region(0, 0, *SMALL)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot, app)
        ctx = app.session_ctx
        for dialog in (
            CellBookingsDialog(ctx, w.d["499"], w.rt["TECH_PREP"], T0.date(), None, "Technical"),
            CutDialog(ctx, w.d["499"], w.rt["TECH_PREP"], T0.date(), None, 4, "Cut to 4 h"),
            pattern_dialog(ctx, w.d["499"], w.rt["TECH_PREP"], None, "Technical", T0.date()),
            PreferencesDialog(ctx),
        ):
            app.push_screen(dialog)
            await settle(pilot, app)
            assert screen.contains_region(dialog.children[0].region), type(dialog).__name__
            app.pop_screen()
            await settle(pilot, app)


async def test_the_served_file_picker_fits_in_80x24(ui_store, ui_world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from test_serve_files import open_documents, served

    from screens.user_files import PickFileDialog

    car_id = ui_world.register()
    root = tmp_path / "files"
    app = served(ui_store, ui_world["seller495"], root)
    async with app.run_test(size=SMALL) as pilot:
        await open_documents(app, pilot, car_id)
        (root / "seller495").mkdir(parents=True, exist_ok=True)
        (root / "seller495" / "faktura-ORD-24001-med-en-lang-forklaring.pdf").write_bytes(b"%PDF")
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, PickFileDialog)
        assert Region(0, 0, *SMALL).contains_region(app.screen.children[0].region)
        shown = "\n".join(lines(app))
        assert "faktura-ORD-24001" in shown and "scp -P 2222" in shown
