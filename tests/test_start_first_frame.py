"""What a plain start does before its first frame: the first screen's reads are made while Textual
loads (``prepfloor/read_ahead.py``), so the car list's first frame shows its rows; a read made
ahead for another list, or one that failed, is made again where it is needed; and no frame is
drawn while Textual holds the display back (``prepfloor/textual_fixes.py``).

Screens by Pilot on SQLite (the reads are :class:`db.fast.FastReader`'s, on both engines).
"""

from __future__ import annotations

from typing import Any

from settling import settle
from textual._compositor import Compositor

from db.fast import CarQuery
from prepfloor.app import make_app
from prepfloor.read_ahead import ReadAhead
from screens.carlist import CarTable
from screens.cars import CarListScreen
from screens.widgets import AppHeader

SIZE = (120, 40)


def counting(fast: Any, name: str, monkeypatch: Any) -> list[tuple[Any, ...]]:
    """Every call of ``fast.<name>`` from now on."""
    calls: list[tuple[Any, ...]] = []
    read = getattr(fast, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return read(*args, **kwargs)

    monkeypatch.setattr(fast, name, counted)
    return calls


async def test_the_car_list_opens_on_the_rows_read_while_the_app_started(
    ui_store: Any, ui_world: Any, monkeypatch: Any
) -> None:
    first, second = ui_world.register(), ui_world.register()
    admin = ui_world["admin"]
    ahead = ReadAhead(ui_store, admin)
    ahead._cars_read.wait(10)
    read_ahead = ahead._first_page
    assert read_ahead is not None and read_ahead[0] == CarQuery()
    pages = counting(ui_store.fast, "car_page", monkeypatch)
    starts = counting(ui_store.fast, "start_row", monkeypatch)
    app = make_app(ui_store, actor=admin, read_ahead=ahead)
    mounted: list[bool] = []
    mount = CarTable.on_mount

    def on_mount(table: CarTable) -> None:
        mount(table)
        mounted.append(0 in table._pages)  # the rows are there before the first frame

    monkeypatch.setattr(CarTable, "on_mount", on_mount)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, CarListScreen)
        table = app.screen.query_one(CarTable)
        assert mounted == [True]
        assert table._pages[0] is read_ahead[1]  # the very rows read ahead
        assert [row.id for row in table._pages[0]] == [second, first]
        assert pages == [] and starts == []  # nothing read twice
        # the rows were for the first list only: a change reads them again
        table.refresh_data()
        await settle(pilot, app)
        assert len(pages) == 1


async def test_a_car_registered_after_the_reads_ahead_shows_once_the_feed_runs(
    ui_store: Any, ui_world: Any
) -> None:
    """Someone registers a car after the first page was read ahead and before the session's feed
    began: the list hears of it as soon as the feed runs, instead of showing the old page until
    the next change."""
    first = ui_world.register()
    admin = ui_world["admin"]
    ahead = ReadAhead(ui_store, admin)
    ahead._cars_read.wait(10)
    later = ui_world.register()  # after the reads, before the app (and its feed) starts
    app = make_app(ui_store, actor=admin, read_ahead=ahead)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CarTable)
        for _ in range(50):  # the feed's first look, then the list's reload
            await settle(pilot, app)
            if 0 in table._pages and [r.id for r in table._pages[0]] == [later, first]:
                break
            await pilot.pause(0.1)
        assert [row.id for row in table._pages[0]] == [later, first]


async def test_what_was_not_read_ahead_is_read_by_the_app(
    ui_store: Any, ui_world: Any, monkeypatch: Any
) -> None:
    """A seller opens on their own cars: no car list page is read ahead for them; and a read
    that failed in the thread is made again by the app (and shown)."""
    ui_world.register()
    seller = ui_world["seller495"]
    logo = ui_store.fast.logo
    failing = {"logo": True}

    def fails_once(dealership_id: Any) -> Any:
        if failing.pop("logo", False):
            raise RuntimeError("the database went away for a moment")
        return logo(dealership_id)

    monkeypatch.setattr(ui_store.fast, "logo", fails_once)
    ahead = ReadAhead(ui_store, seller)
    ahead._cars_read.wait(10)
    assert ahead._first_page is None and ahead._values == {}
    app = make_app(ui_store, actor=seller, read_ahead=ahead)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.current_mode == "seller"
        ctx = app.session_ctx
        assert ctx is not None and ctx.dealership == "495 Kristiansand Vest"
        assert ctx.logo == logo(seller.dealership_id)
        assert "Kari Selger" in str(app.screen.query_one(AppHeader).who())
    # a read ahead for someone else is not used
    other = ReadAhead(ui_store, ui_world["admin"])
    app = make_app(ui_store, actor=seller, read_ahead=other)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.current_mode == "seller"
        assert app.session_ctx is not None and app.session_ctx.read_ahead is None


async def test_no_frame_is_drawn_while_textual_holds_the_display_back(
    ui_store: Any, ui_world: Any, monkeypatch: Any
) -> None:
    """Textual drops the frames made while a batch of updates is open (its start is one): the
    screen draws none then, and draws itself once the batch has ended."""
    ui_world.register()
    app = make_app(ui_store, actor=ui_world["admin"])
    drawn: list[int] = []
    render = Compositor.render_update

    def render_update(compositor: Compositor, *args: Any, **kwargs: Any) -> Any:
        drawn.append(app._batch_count)
        return render(compositor, *args, **kwargs)

    monkeypatch.setattr(Compositor, "render_update", render_update)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert drawn and all(batch == 0 for batch in drawn), drawn
        drawn.clear()
        with app.batch_update():
            app.screen.refresh()
            await pilot.pause()
            assert drawn == []
        await pilot.pause()
        await pilot.pause()
        assert drawn, "drawn once the batch ended"


async def test_the_change_feed_starts_after_the_first_frame(
    ui_store: Any, ui_world: Any, monkeypatch: Any
) -> None:
    """The feed's thread (inotify through ctypes, or PostgreSQL's LISTEN connection) starts once
    the first screen is drawn, not beside it; and it does start."""
    from db.feed import Watcher

    ui_world.register()
    app = make_app(ui_store, actor=ui_world["admin"])
    drawn: list[int] = []
    started: list[int] = []  # frames drawn when the feed started
    render = Compositor.render_update
    start = Watcher.start

    def render_update(compositor: Compositor, *args: Any, **kwargs: Any) -> Any:
        drawn.append(1)
        return render(compositor, *args, **kwargs)

    def start_watcher(watcher: Watcher) -> Watcher:
        started.append(len(drawn))
        return start(watcher)

    monkeypatch.setattr(Compositor, "render_update", render_update)
    monkeypatch.setattr(Watcher, "start", start_watcher)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert len(started) == 1 and started[0] >= 1, (started, len(drawn))
        assert app._watcher is not None
