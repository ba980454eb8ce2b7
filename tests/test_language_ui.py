"""The language on screen, by keys: a user reads prepfloor in their own language from the first
frame, changes it with ctrl+l (stored, and every screen made again in it), types Norwegian dates
and decimal commas into the forms, the sign-in screen speaks the site's language, and each reader
sees a notification in their own.  Key bindings stay the same in both languages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from test_app import SIZE, settle
from test_coordinator_ui import MONDAY, go_to_cell, open_grid
from test_start_and_keys import footer, wait_for_users

from db import i18n, users
from db.models import ResourceBooking, User
from prepfloor.app import make_app
from prepfloor.config import Settings
from screens.booking import BookingDialog
from screens.dialogs import ChoiceDialog
from screens.help import HelpScreen
from screens.login import LoginScreen
from screens.seller import MyCarsScreen
from screens.widgets import AppHeader
from world import rows

NARROW = (80, 24)


def language(w: Any, login: str) -> str | None:
    return w.db.query(
        lambda s: s.exec(__import__("sqlmodel").select(User).where(User.login == login)).one()
    ).language


def choose(w: Any, login: str, lang: str | None) -> None:
    actor = w[login]
    w.db.run(users.set_language, actor, actor.user_id, lang)


async def test_a_user_reads_their_own_language_from_the_first_frame(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    choose(ui_world, "seller495", "nb")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, MyCarsScreen)
        assert footer(app).startswith(" f9 Logg ut  f1 Hjelp  f8 Innboks ")
        assert app.screen.query_one(AppHeader).title_line().endswith("Selger · Mine biler")


async def test_ctrl_l_changes_the_language_and_keeps_the_keys(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, app)
        english = footer(app)
        assert english.startswith(" f9 Sign out  f1 Help  f8 Inbox ")
        await pilot.press("ctrl+l")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        # the choice in use is highlighted (the site's, here): one up is Norsk bokmål
        assert app.screen.query_one("OptionList").highlighted == 2
        await pilot.press("up", "enter")
        await settle(pilot, app)
        assert language(ui_world, "seller495") == "nb"
        assert isinstance(app.screen, MyCarsScreen)
        norwegian = footer(app)
        assert norwegian.startswith(" f9 Logg ut  f1 Hjelp  f8 Innboks ")
        # the same keys, in the same order: only their labels changed
        keys = [part.split()[0] for part in english.split("  ") if part.strip()]
        assert [part.split()[0] for part in norwegian.split("  ") if part.strip()][:3] == keys[:3]
        await pilot.press("f1")
        await settle(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+l")
        await settle(pilot, app)
        assert app.screen.query_one("OptionList").highlighted == 1  # Norsk bokmål, chosen
        await pilot.press("down", "enter")  # the site's language (English here)
        await settle(pilot, app)
        assert language(ui_world, "seller495") is None
        assert footer(app).startswith(" f9 Sign out ")


async def test_the_sign_in_screen_speaks_the_sites_language(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    """A shared terminal greets in the site's language; the person who signs in reads their own;
    the next person is greeted in the site's again."""
    choose(ui_world, "seller495", "en")
    site = Settings(database=ui_store.url, database_source="test", language="nb")
    app = make_app(ui_store, site)
    async with app.run_test(size=NARROW) as pilot:
        login = await wait_for_users(app, pilot)
        assert footer(app).startswith(" f1 Hjelp")
        assert i18n.current() == "nb"
        assert isinstance(login, LoginScreen)
        app.start_session(ui_world["seller495"])
        await settle(pilot, app)
        assert footer(app).startswith(" f9 Sign out ")
        await pilot.press("f9")
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert i18n.current() == "nb"


async def book_on_monday_typing(app: Any, pilot: Any, w: Any, day: str, hours: str) -> Any:
    """From the grid's Monday cell of the washing team: b, the car, then ``day`` and ``hours``
    typed over what the form proposed, and ctrl+s; the booking dialog."""
    await open_grid(app, pilot)
    go_to_cell(app, "WASH", None, MONDAY, w)
    await pilot.press("b")
    await settle(pilot, app)
    dialog = app.screen
    assert isinstance(dialog, BookingDialog)
    assert dialog.query_one("#date").value == MONDAY.strftime("%d.%m.%Y")  # as Norwegians write it
    await pilot.press(*"ORD-00001", "enter")
    await settle(pilot, app)
    dialog.query_one("#date").focus()
    await pilot.press("ctrl+a", "ctrl+k", *day)
    dialog.query_one("#estimated_hours").focus()
    await pilot.press("ctrl+a", "ctrl+k", *hours)
    await settle(pilot, app)
    await pilot.press("ctrl+s")
    await settle(pilot, app)
    return dialog


async def test_norwegian_dates_and_decimal_commas_in_the_booking_form(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """A Norwegian coordinator books with the day typed as ``i morgen`` and the hours as
    ``1,5``: the booking is stored on Tuesday with 1.5 hours."""
    w = coord_world
    choose(w, "coordinator499", "nb")
    car = w.register(seller="seller499")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await book_on_monday_typing(app, pilot, w, "i morgen", "1,5")
        assert not isinstance(app.screen, BookingDialog)
    assert [(b["date"], b["estimated_hours"]) for b in rows(w, ResourceBooking, car_id=car)] == [
        (MONDAY + timedelta(days=1), 1.5)
    ]


async def test_a_wrong_norwegian_date_is_refused_in_norwegian(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    choose(w, "coordinator499", "nb")
    car = w.register(seller="seller499")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await book_on_monday_typing(app, pilot, w, "32.13", "2")
        assert app.screen is dialog  # kept open with what was typed
        assert dialog.query_one("#date").value == "32.13"
        shown = str(dialog.query_one("#problem").render())
        assert "Dato" in shown and "i morgen" in shown
    assert rows(w, ResourceBooking, car_id=car) == []


async def test_the_palettes_commands_speak_the_users_language(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    choose(ui_world, "seller495", "nb")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot, app)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Tema" in titles and "Avslutt" in titles and "Theme" not in titles
        await pilot.press("ctrl+p")
        await settle(pilot, app)
        await pilot.press(*"språk")
        await settle(pilot, app)
        await pilot.press("enter")  # the language command: its dialog
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        assert app.screen.title_text == "Språk / Language"
