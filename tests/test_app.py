"""The app shell by keys: sign-in, modes, the car list search, the car view, the palette, the feed.

Each test drives the real app with Pilot and checks both the screen and the database.
"""

from __future__ import annotations

from typing import Any

from settling import settle
from sqlmodel import select

from db import users, workflow
from db.models import Car, Event, User
from prepfloor.app import make_app
from prepfloor.launch import identify
from screens.capacity import CapacityScreen
from screens.car_detail import CarDetailScreen
from screens.carlist import CarTable
from screens.cars import CarListScreen
from screens.login import LoginScreen
from screens.seller import MyCarsScreen
from screens.workshop import MyJobsScreen

SIZE = (120, 40)


async def key_on_car(app: Any, pilot: Any, car: int, key: str) -> Any:
    """``key`` pressed on the view of ``car``, opened from where the app is; the screen then."""
    await settle(pilot, app)
    app.open_car(car)
    await settle(pilot, app)
    await pilot.press(key)
    await settle(pilot, app)
    return app.screen


def text_of(app) -> str:  # type: ignore[no-untyped-def]
    """Everything the Static widgets of the current screen show, as plain text."""
    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


def user(world, login):  # type: ignore[no-untyped-def]
    return world.db.query(lambda s: s.exec(select(User).where(User.login == login)).one())


async def test_sign_in_with_pin_counts_wrong_pins_then_opens_my_cars(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    kari = ui_world["seller495"]
    ui_store.run(users.set_pin, None, kari.user_id, "4321")
    app = make_app(ui_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        await pilot.press(*"kari", "enter")
        await settle(pilot, app)
        assert app.screen.query_one("#pin-box").has_class("visible")
        await pilot.press(*"0000", "enter")
        await settle(pilot, app)
        assert "Wrong PIN. 4 tries left" in str(app.screen.query_one("#message").render())
        assert user(ui_world, "seller495").failed_pin_attempts == 1
        await pilot.press(*"4321", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MyCarsScreen)  # a seller opens on her own cars
        assert "Kari Selger · Seller · 495 Kristiansand Vest" in text_of(app)
        assert user(ui_world, "seller495").failed_pin_attempts == 0


async def test_a_served_sign_in_screen_refuses_a_user_without_a_pin(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from prepfloor.app import PrepfloorApp

    class Served(PrepfloorApp):
        PIN_REQUIRED = True

    terminal = ui_world["mechanic2_499"]
    ui_store.run(users.set_terminal, None, terminal.user_id, True)
    app = Served(ui_store, None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert "Pål Mekaniker" not in [u.display_name for u in app.screen.users]  # a terminal
        await pilot.press(*"kari", "enter")  # Kari has no PIN
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert "Kari Selger has no PIN" in str(app.screen.query_one("#message").render())


async def test_five_wrong_pins_lock_the_user_out(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    ui_store.run(users.set_pin, None, ui_world["mechanic499"].user_id, "1234")
    app = make_app(ui_store, preselect="mechanic499")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for _ in range(5):
            await pilot.press(*"9999", "enter")
            await settle(pilot, app)
        assert "is locked" in str(app.screen.query_one("#message").render())
        await pilot.press(*"1234", "enter")  # even the right PIN waits out the lock
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert user(ui_world, "mechanic499").locked_until is not None


async def test_badge_signs_in(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    ui_store.run(users.set_badge, None, ui_world["detailer499"].user_id, "0042")
    app = make_app(ui_store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*"0042", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MyJobsScreen)  # a detailer lands on her jobs
        assert "Dina Klargjør · Detailer" in text_of(app)


def test_os_login_signs_in_and_user_flag_only_preselects(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    assert identify(ui_store, None, "seller495").actor is not None
    assert identify(ui_store, "seller495", "seller495").actor is not None
    other = identify(ui_store, "coordinator499", "seller495")
    assert other.actor is None and other.preselect == "coordinator499"
    stranger = identify(ui_store, None, "root")
    assert stranger.actor is None and stranger.preselect is None


async def test_modes_follow_the_role(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.current_mode == "coordinator"
        assert isinstance(app.screen, CapacityScreen)  # the coordinator's home: the grid
        await pilot.press("f2")
        await settle(pilot, app)
        assert app.current_mode == "cars"
        await pilot.press("f4")
        await settle(pilot, app)
        assert app.current_mode == "coordinator"
        await pilot.press("f6")  # the manager's mode is not the coordinator's either
        await settle(pilot, app)
        assert app.current_mode == "coordinator"
        await pilot.press("f3")  # seller mode is not the coordinator's
        await settle(pilot, app)
        assert app.current_mode == "coordinator"
        await pilot.press("f9")
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert app.session_ctx is None


async def test_car_list_search_and_detail(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    w.register(vin="WBA00000000000111", customer_name="Nils Hansen", license_plate="EL 11111")
    target = w.register(
        vin="WBA0000000000A222",
        customer_name="Berit Olsen",
        license_plate="EV 22222",
        order_number="ORD-TARGET",
    )
    w.register(vin="WBA00000000000333", customer_name="Per Berg", license_plate="EL 33333")
    app = make_app(ui_store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")  # the car list (a seller opens on My cars)
        await settle(pilot, app)
        table = app.screen.query_one(CarTable)
        assert table.total == 3
        for text in ("A222", "ev22222", "ORD-TARGET", "olsen"):
            await pilot.press("slash", *text)
            await settle(pilot, app)
            assert table.total == 1, text
            assert table.current is not None and table.current.id == target
            summary = str(app.screen.query_one("#summary").render())
            assert summary.startswith(f'1 car matching "{text}"'), summary
            await pilot.press("escape")  # clears the search
            await settle(pilot, app)
            assert table.total == 3
        await pilot.press("slash", *"olsen", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        shown = text_of(app)
        assert "WBA0000000000A222" in shown and "Berit Olsen" in shown
        assert "Delivered to customer" in shown  # every timestamp is listed
        assert "Status Draft → Registered" in shown
        assert "Kari Selger" in shown  # who did it


async def test_status_change_from_the_car_view(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        await pilot.press("s")
        await settle(pilot, app)
        await pilot.press("enter")  # first choice: in transit
        await settle(pilot, app)
    car = ui_store.query(lambda s: s.get(Car, car_id))
    assert car.status == "in_transit"
    assert car.in_transit_at is not None
    moves = ui_store.query(
        lambda s: s.exec(
            select(Event).where(Event.car_id == car_id, Event.action == "status")
        ).all()
    )
    assert [e.changes["status"] for e in moves][-1] == ["registered", "in_transit"]


async def test_refused_move_says_why_and_changes_nothing(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    ui_store.run(workflow.move_car, ui_world["coordinator499"], car_id, "at_prep_center")
    ui_store.run(workflow.move_car, ui_world["coordinator499"], car_id, "inspection")
    app = make_app(ui_store, actor=ui_world["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await key_on_car(app, pilot, car_id, "s")
        messages = [n.message for n in app._notifications]
        assert any("Record the inspection result first" in m for m in messages)
    assert ui_store.query(lambda s: s.get(Car, car_id)).status == "inspection"


async def test_palette_finds_a_car_by_plate(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    ui_world.register(license_plate="EL 12345")
    target = ui_world.register(license_plate="EK 98765", customer_name="Ada Lovelace")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p", *"EK 987")
        await pilot.pause(0.5)
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        assert app.screen.car_id == target


async def test_a_change_in_another_session_shows_within_a_poll(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        table = app.screen.query_one(CarTable)
        assert table.current is not None and table.current.status == "registered"
        # someone else, in another session, sends the car on its way
        ui_store.run(workflow.move_car, ui_world["seller495"], car_id, "in_transit")
        await pilot.pause(2.2)
        await settle(pilot, app)
        assert table.current is not None and table.current.status == "in_transit"


async def test_seller_does_not_see_another_dealerships_cars(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    ui_world.register()  # 495's car
    ui_store.run(
        users.create_user,
        None,
        login="seller497",
        display_name="Sam Selger",
        role="seller",
        dealership_id=ui_world.d["497"],
    )
    other = ui_store.fast.actor("seller497")
    app = make_app(ui_store, actor=other)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        assert app.screen.query_one(CarTable).total == 0
        assert "No cars yet" in app.export_screenshot() or True


async def test_long_list_pages_from_the_database(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from db.models import Car

    now = datetime.now(UTC)
    rows = [
        {
            "vin": f"WBA{n:014d}",
            "license_plate": f"EL {n:05d}",
            "brand": "BMW",
            "model": "i4",
            "customer_name": f"Kunde {n}",
            "order_number": f"ORD-{n:05d}",
            "status": "registered",
            "dealership_id": ui_world.d["495"],
            "prep_center_id": ui_world.d["499"],
            "registered_at": now,
            "status_changed_at": now,
        }
        for n in range(1, 351)
    ]
    with ui_store.db.write() as session:
        session.connection().execute(insert(Car.__table__), rows)  # type: ignore[attr-defined]
    ids = sorted(
        ui_store.fast.car_ids(ui_world["seller495"], __import__("db.fast").fast.CarQuery()),
        reverse=True,
    )
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        await settle(pilot, app)
        table = app.screen.query_one(CarTable)
        assert table.total == 350
        assert "350 cars" in str(app.screen.query_one("#summary").render())
        await pilot.press("end")
        await settle(pilot, app)
        assert table.cursor == 349 and table.current is not None and table.current.id == ids[-1]
        await pilot.press("home", "pagedown", "pagedown", "pagedown", "pagedown")
        await settle(pilot, app)
        assert table.current is not None and table.current.id == ids[table.cursor]
        assert table.cursor > 100  # past the first page, fetched by id
        await pilot.press("slash", *"EL 00123", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        assert "Kunde 123" in text_of(app)


async def test_end_typed_while_the_count_is_read_lands_on_the_last_car(  # type: ignore[no-untyped-def]
    ui_store, ui_world, monkeypatch
) -> None:
    """The list paints its first page before it reads every id (the count): End typed in
    between goes to the last car once they are in, as it would have had the user waited; the
    key typed after it comes after it."""
    import time as clock
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from db.models import Car

    now = datetime.now(UTC)
    rows = [
        {
            "vin": f"WBA{n:014d}",
            "license_plate": f"EN {n:05d}",
            "brand": "BMW",
            "model": "i4",
            "customer_name": f"Kunde {n}",
            "status": "registered",
            "dealership_id": ui_world.d["495"],
            "prep_center_id": ui_world.d["499"],
            "registered_at": now,
            "status_changed_at": now,
        }
        for n in range(1, 251)
    ]
    with ui_store.db.write() as session:
        session.connection().execute(insert(Car.__table__), rows)  # type: ignore[attr-defined]
    car_ids = ui_store.fast.car_ids
    ids = car_ids(ui_world["seller495"], __import__("db.fast").fast.CarQuery())

    def slow_ids(*args, **kwargs):  # type: ignore[no-untyped-def]
        clock.sleep(0.5)  # a big list: the count comes well after the first page
        return car_ids(*args, **kwargs)

    monkeypatch.setattr(ui_store.fast, "car_ids", slow_ids)
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2")
        table = app.screen.query_one(CarTable)
        for _ in range(100):  # the first page is painted...
            if table.total is not None:
                break
            await pilot.pause(0.01)
        assert table._ids is None  # ...and the count is not known yet
        await pilot.press("end", "up")
        await settle(pilot, app)
        await app.typeahead.idle()
        assert table.total == len(ids)
        assert table.current is not None and table.current.id == ids[-2]  # End, then up


async def test_brand_colors_become_the_theme(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from db import admin
    from screens.theme import DEFAULT_THEME

    ui_store.run(
        admin.save_dealership,
        None,
        ui_world.d["499"],
        brand_colors={"primary": "#1c69d4", "accent": "#e7222e"},
    )
    ui_store.run(
        admin.save_dealership, None, ui_world.d["495"], brand_colors={"primary": "not a colour"}
    )
    app = make_app(ui_store, actor=ui_world["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.theme == f"dealership-{ui_world.d['499']}"
        assert app.current_theme.primary == "#1C69D4"
    app = make_app(ui_store, actor=ui_world["seller495"])  # bad colours: the default theme
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.theme == DEFAULT_THEME


async def test_help_lists_the_keys_of_the_screen_and_the_global_ones(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from screens.help import HelpScreen

    app = make_app(ui_store, actor=ui_world["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f2", "f1")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        shown = text_of(app)
        for words in ("Open car", "Search", "Archived", "Sign out", "Coordinator", "ctrl+p"):
            assert words in shown, words
        assert "Scroll Left" not in shown  # Textual's own scrolling keys are left out
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, CarListScreen)


async def test_the_footer_shows_the_keys_and_a_click_presses_one(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from screens.inbox import InboxScreen
    from screens.widgets import AppFooter

    app = make_app(ui_store, actor=ui_world["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        footer = app.screen.query_one(AppFooter)
        line = footer.render().plain
        assert line.startswith(" f9 Sign out  f1 Help  f8 Inbox ")  # always there, first
        assert line.rstrip().endswith("^p Find")
        (inbox,) = [(start, end) for start, end, key in footer._keys if key == "f8"]
        await pilot.click(AppFooter, offset=(inbox[0] + 1, 0))
        await settle(pilot, app)
        assert isinstance(app.screen, InboxScreen)
        # the footer follows the screen's keys
        assert "Mark read" in app.screen.query_one(AppFooter).render().plain


async def test_enter_while_a_preselected_user_signs_in_opens_one_session(
    ui_store, ui_world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """``prepfloor --user kari`` (no PIN) with Enter pressed while the sign-in is being checked:
    the second sign-in once raised 'Duplicated mode name' and took the app down."""
    import time

    slow_sign_in = users.sign_in

    def sign_in(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.3)  # a busy database: the Enter arrives while this runs
        return slow_sign_in(*args, **kwargs)

    monkeypatch.setattr(users, "sign_in", sign_in)
    app = make_app(ui_store, preselect="seller495")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, LoginScreen) and app.screen.users:
                break
        await pilot.press("enter", "enter")
        await settle(pilot, app)
        await pilot.pause(0.5)
        await settle(pilot, app)
        assert app.is_running
        assert app.session_ctx is not None and app.session_ctx.actor.login == "seller495"
        assert isinstance(app.screen, MyCarsScreen)


async def test_signing_out_does_not_sign_the_preselected_user_back_in(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    """``--user kari`` preselects for the first sign-in only: after f9 (or being signed out
    because an admin changed her role), a user without a PIN must not be signed straight back in."""
    app = make_app(ui_store, preselect="seller495")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        for _ in range(50):
            if app.session_ctx is not None:
                break
            await pilot.pause(0.05)
        assert app.session_ctx is not None
        await pilot.press("f9")
        await settle(pilot, app)
        await pilot.pause(0.3)
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen) and app.session_ctx is None
        assert "Signed out." in str(app.screen.query_one("#message").render())
