"""Coordinator mode by keys: a week of capacity and a vacation day typed into the grid, booking
until full and taking the nearest day offered, a cross-dealership booking within and over the
weekly cap, confirming from the provider's queue, cancelling (the hours come back) and a capacity
cut that moves the lowest-priority booking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from test_app import SIZE, key_on_car, settle, text_of

from db import formats, ledger
from db.models import ResourceBooking, ResourceCapacity
from prepfloor.app import make_app
from screens.booking import BookingDialog
from screens.capacity import CapacityGridView, CapacityScreen
from screens.forms import FormDialog
from screens.schedule import CellBookingsDialog, CutDialog, RequestsScreen
from world import T0, rows, set_fields

MONDAY = T0.date()


def capacity(w: Any, code: str, day: Any, user: str | None = None) -> dict[str, Any]:
    found = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt[code],
        date=day,
        user_id=w[user].user_id if user else None,
    )
    assert len(found) == 1
    return found[0]


def go_to_cell(app: Any, code: str, user: str | None, day: Any, w: Any) -> None:
    """Put the grid's cursor on a cell (what arrow keys do; tested on their own below)."""
    view = app.screen.query_one(CapacityGridView)
    uid = str(w[user].user_id) if user else None
    for index, row in enumerate(view.grid.rows):
        if row.resource_type_id == w.rt[code] and row.user_id == uid:
            view.row = index
            break
    else:
        raise AssertionError(f"no grid row for {code} {user}")
    view.col = view.days.index(day)


async def open_grid(app: Any, pilot: Any) -> CapacityScreen:
    await settle(pilot, app)
    await pilot.press("f4")
    await settle(pilot, app)
    assert isinstance(app.screen, CapacityScreen)
    return app.screen


async def form_on_cell(
    app: Any, pilot: Any, w: Any, code: str, user: str | None, day: Any
) -> BookingDialog:
    """The booking form, opened by ``b`` on a cell of the grid."""
    await open_grid(app, pilot)
    go_to_cell(app, code, user, day, w)
    await pilot.press("b")
    await settle(pilot, app)
    dialog = app.screen
    assert isinstance(dialog, BookingDialog)
    return dialog


async def form_on_car(app: Any, pilot: Any, car: int) -> BookingDialog:
    """The booking form opened by ``b`` on the car's view."""
    dialog = await key_on_car(app, pilot, car, "b")
    assert isinstance(dialog, BookingDialog)
    return dialog


async def test_the_grid_moves_by_arrows_and_weeks(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_grid(app, pilot)
        view = screen.query_one(CapacityGridView)
        assert view.days[0] == MONDAY and view.col == 0  # today is the Monday
        names = [r.label for r in view.grid.rows]
        assert "Technical Preparation" in names and "Per Mekaniker" in names
        await pilot.press("down", "right", "right")
        assert (view.row, view.col) == (1, 2)
        await pilot.press("right_square_bracket")
        await settle(pilot, app)
        assert view.days[0] == MONDAY + timedelta(weeks=1)
        await pilot.press("t")
        await settle(pilot, app)
        assert view.days[0] == MONDAY
        assert "16/16" not in text_of(app)  # nothing booked yet: 0/16
        assert "Porsgrunn" in text_of(app)


async def test_the_grid_opens_with_the_cursor_on_today(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    """On a Wednesday the cursor starts on the Wednesday; on a Sunday on the Sunday (a week shows
    every day), and four weeks of working days put it on the Monday after."""
    from world import at

    w = coord_world
    at(days=2, hours=1)  # Wednesday 9 January 2030
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_grid(app, pilot)
        view = screen.query_one(CapacityGridView)
        assert view.current_day == MONDAY + timedelta(days=2)
        await pilot.press("m")  # four weeks: the same day
        await settle(pilot, app)
        assert view.current_day == MONDAY + timedelta(days=2)
        await pilot.press("m", "right_square_bracket", "left", "t")  # elsewhere, then today
        await settle(pilot, app)
        assert view.current_day == MONDAY + timedelta(days=2)
    at(days=6, hours=1)  # Sunday 13 January
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_grid(app, pilot)
        view = screen.query_one(CapacityGridView)
        assert view.current_day == MONDAY + timedelta(days=6)
        await pilot.press("m")
        await settle(pilot, app)
        assert view.current_day == MONDAY + timedelta(days=7)


async def test_a_week_of_capacity_and_a_vacation_day_by_keys(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await open_grid(app, pilot)
        go_to_cell(app, "TECH_PREP", None, MONDAY, w)
        for _ in range(5):  # Monday to Friday: 24 h for the team
            await pilot.press("2", "4", "enter")
            await settle(pilot, app)
            await pilot.press("right")
        go_to_cell(app, "TECH_PREP", "mechanic499", MONDAY + timedelta(days=2), w)
        await pilot.press("0", "enter")  # Per's day off on Wednesday
        await settle(pilot, app)
        await pilot.press("1", "x", "enter")  # not a number: refused, nothing saved
        await settle(pilot, app)
    for offset in range(5):
        assert capacity(w, "TECH_PREP", MONDAY + timedelta(days=offset))["allocated_hours"] == 24
    assert capacity(w, "TECH_PREP", MONDAY + timedelta(days=5))["allocated_hours"] == 16
    per = capacity(w, "TECH_PREP", MONDAY + timedelta(days=2), "mechanic499")
    assert per["allocated_hours"] == 0


async def test_booking_until_full_offers_the_nearest_day_and_takes_it(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    first = w.register(seller="seller499")
    second = w.register(seller="seller499")
    third = w.register(seller="seller499")
    coordinator = w["coordinator499"]
    monday = dict(resource_type_id=w.rt["TECH_PREP"], date=MONDAY, estimated_hours=8)
    w.db.run(ledger.book, coordinator, car_id=first, user_id=w["mechanic499"].user_id, **monday)
    app = make_app(ui_store, actor=coordinator)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_cell(app, pilot, w, "TECH_PREP", None, MONDAY)
        await pilot.press(*"ORD-00002")
        await settle(pilot, app)
        await pilot.press("enter")  # the one match
        await settle(pilot, app)
        assert dialog.car_id == second
        dialog.query_one("#estimated_hours").value = "8"
        await settle(pilot, app)
        # Per is full on Monday: only Pål is offered, and the booking fits
        offered = [v for _label, v in dialog.query_one("#user_id")._options if isinstance(v, str)]
        assert offered == [str(w["mechanic2_499"].user_id)]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
        # the team is full now (16/16): the next car is offered the nearest day
        await pilot.press("b")
        await settle(pilot, app)
        dialog = app.screen
        await pilot.press(*"ORD-00003", "enter")
        await settle(pilot, app)
        dialog.query_one("#estimated_hours").value = "8"
        await settle(pilot, app)
        problem = str(dialog.query_one("#problem").render())
        assert "Nobody has room on Mon 7 Jan" in problem
        assert "ctrl+y books it on Tue, 8 Jan 2030" in problem
        await pilot.press("ctrl+y")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    assert [(b["date"], b["estimated_hours"]) for b in rows(w, ResourceBooking, car_id=third)] == [
        (MONDAY + timedelta(days=1), 8)
    ]
    assert capacity(w, "TECH_PREP", MONDAY)["used_hours"] == 16
    assert capacity(w, "TECH_PREP", MONDAY + timedelta(days=1))["used_hours"] == 8


async def test_a_booking_the_ledger_refuses_shows_the_reason_and_the_nearest_day(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    car = w.register(seller="seller499")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await open_grid(app, pilot)
        go_to_cell(app, "WASH", None, MONDAY, w)  # the team's 8 h, nobody assigned
        await pilot.press("b")
        await settle(pilot, app)
        dialog = app.screen
        await pilot.press(*"ORD-00001", "enter")
        await settle(pilot, app)
        dialog.query_one("#estimated_hours").value = "10"  # more than the day has
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, BookingDialog)
        problem = str(app.screen.query_one("#problem").render())
        assert problem.startswith("Does not fit")
        assert rows(w, ResourceBooking, car_id=car) == []
        # the hours changed: the refusal was about 10 h, and goes; then 4 h is booked
        dialog.query_one("#estimated_hours").value = "4"
        await settle(pilot, app)
        assert str(dialog.query_one("#problem").render()).strip() == ""
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    assert [(b["date"], b["estimated_hours"]) for b in rows(w, ResourceBooking, car_id=car)] == [
        (MONDAY, 4)
    ]


async def test_a_refusal_and_its_nearest_day_go_when_what_was_refused_changes(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """A refusal offers its nearest day (ctrl+y); once the user changes the hours, the day, the
    work, the place or the person, it was about a booking no longer on the form: its words and
    its key go, so ctrl+y cannot book what the form does not show."""
    w = coord_world
    car = w.register(seller="seller499")
    _booked_elsewhere(w, "mechanic499", MONDAY, 6)  # Per has 2 h left on Monday
    async with pers_monday_form(ui_store, w) as (app, pilot, dialog):
        await pilot.press("ctrl+s")  # 7 h on Per's Monday: refused, with his nearest day
        await settle(pilot, app)
        problem = str(dialog.query_one("#problem").render())
        assert problem.startswith("Does not fit") and "ctrl+y books it on" in problem
        assert dialog.check_action("take_nearest", ()) is True
        dialog.query_one("#estimated_hours").value = ""  # on the way to other hours
        await settle(pilot, app)
        assert "ctrl+y" not in str(dialog.query_one("#problem").render())
        assert dialog.check_action("take_nearest", ()) is False
        dialog.query_one("#estimated_hours").value = "2"
        await settle(pilot, app)
        assert "ctrl+y" not in str(dialog.query_one("#problem").render())
        assert dialog.check_action("take_nearest", ()) is False
        await pilot.press("ctrl+y")  # nothing offered: nothing booked
        await settle(pilot, app)
        assert rows(w, ResourceBooking, car_id=car) == []
        await pilot.press("ctrl+s")
        await settle(pilot, app)
    assert [(b["date"], b["estimated_hours"]) for b in rows(w, ResourceBooking, car_id=car)] == [
        (MONDAY, 2)
    ]


@asynccontextmanager
async def pers_monday_form(
    ui_store: Any, w: Any, order: str = "ORD-00001"
) -> AsyncIterator[tuple[Any, Any, BookingDialog]]:
    """The coordinator's app with the booking form from Per's Monday cell on the grid: the car
    of ``order``, 7 h, Per chosen."""
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_cell(app, pilot, w, "TECH_PREP", "mechanic499", MONDAY)
        await pilot.press(*order, "enter")
        await settle(pilot, app)
        dialog.query_one("#estimated_hours").value = "7"
        await settle(pilot, app)
        assert dialog.query_one("#user_id").value == str(w["mechanic499"].user_id)
        yield app, pilot, dialog


async def test_a_car_typed_past_its_match_is_no_longer_named_as_picked(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """The one car matching what is typed is picked and named in the title; typed on until
    nothing matches, it is not picked any more, and the title no longer names it."""
    w = coord_world
    car = w.register(seller="seller499")
    async with pers_monday_form(ui_store, w) as (app, pilot, dialog):
        assert dialog.car_id == car
        assert "ORD-00001" in str(dialog.query_one("#title").render())
        dialog.query_one("#car").value = "ORD-0000199"  # no car has that order number
        await settle(pilot, app)
        assert dialog.car_id is None
        assert str(dialog.query_one("#title").render()).strip() == "Book work"
        assert "No car to book matches." in text_of(app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, BookingDialog)
        assert "Pick the car" in str(dialog.query_one("#problem").render())
    assert rows(w, ResourceBooking, car_id=car) == []


def _booked_elsewhere(w: Any, user: str, day: Any, hours: float) -> None:
    """Another terminal books ``hours`` of technical prep on ``user``'s ``day``, for a new car."""
    w.db.run(
        ledger.book,
        w["coordinator499"],
        car_id=w.register(seller="seller499"),
        resource_type_id=w.rt["TECH_PREP"],
        date=day,
        estimated_hours=hours,
        user_id=w[user].user_id,
    )


def _another_terminal_books_2_hours_of_pers_monday(w: Any) -> None:
    _booked_elsewhere(w, "mechanic499", MONDAY, 2)


async def test_after_a_refusal_the_people_show_their_hours_now_and_the_choice_stays(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """Another terminal books part of Per's Monday while the form is open: the refusal says he
    has 6 h free, and the list says so too, with Per still chosen (not switched to someone
    else with room behind the user's back)."""
    w = coord_world
    car = w.register(seller="seller499")
    per = str(w["mechanic499"].user_id)
    async with pers_monday_form(ui_store, w) as (app, pilot, dialog):  # Per chosen
        person = dialog.query_one("#user_id")
        assert "Per Mekaniker (8 h free)" in [str(label) for label, _v in person._options]
        _another_terminal_books_2_hours_of_pers_monday(w)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, BookingDialog)
        problem = str(dialog.query_one("#problem").render())
        assert "Per Mekaniker has 6 h free" in problem, problem
        labels = [str(label) for label, _v in person._options]
        assert "Per Mekaniker (6 h free)" in labels, labels
        assert person.value == per
        # the grid under the form follows the other terminal's booking too (the feed)
        grid = app.screen_stack[-2]
        assert isinstance(grid, CapacityScreen)
        await pilot.pause(2.2)
        await settle(pilot, app)
        assert isinstance(app.screen, BookingDialog)
        cell = str(grid.query_one("#cell").render())
        assert "2 h booked of 8 h, 6 h free" in cell, cell
    assert rows(w, ResourceBooking, car_id=car) == []
    assert capacity(w, "TECH_PREP", MONDAY, "mechanic499")["used_hours"] == 2


async def test_the_form_keeps_the_person_of_the_cell_and_of_the_users_pick(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """Opened on Per's Monday with 1 h of it left, 7 h asked: the form keeps Per (it does not
    switch to Pål, who has the room, behind the user's back), says he has 1 h free, and ctrl+s is
    refused for Per with his nearest day: nothing is booked for Pål.  Pål picked by the user
    then stays chosen when the hours change, though Per has the room for them again."""
    w = coord_world
    _booked_elsewhere(w, "mechanic499", MONDAY, 7)
    car = w.register(seller="seller499")
    per, pal = str(w["mechanic499"].user_id), str(w["mechanic2_499"].user_id)
    async with pers_monday_form(ui_store, w, "ORD-00002") as (app, pilot, dialog):  # Per chosen
        assert dialog.car_id == car
        person = dialog.query_one("#user_id")
        labels = [str(label) for label, v in person._options if isinstance(v, str)]
        assert labels == ["Pål Mekaniker (8 h free)", "Per Mekaniker (1 h free)"], labels
        said = str(dialog.query_one("#msg-user_id").render())
        assert "Per Mekaniker has 1 h free on Mon 7 Jan" in said, said
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is dialog
        problem = str(dialog.query_one("#problem").render())
        assert "Per Mekaniker has 1 h free" in problem, problem
        assert "ctrl+y books it on" in problem, problem
        assert person.value == per
        # the user picks Pål (above Per in the list); fewer hours (which Per has room for
        # again) keep Pål chosen
        person.focus()
        await pilot.press("enter", "up", "enter")
        await settle(pilot, app)
        assert person.value == pal
        assert str(dialog.query_one("#msg-user_id").render()) == ""  # it spoke of Per
        dialog.query_one("#estimated_hours").value = "1"
        await settle(pilot, app)
        assert person.value == pal
        assert str(dialog.query_one("#msg-user_id").render()) == ""
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    booked = rows(w, ResourceBooking, car_id=car)
    assert [(b["date"], b["estimated_hours"], str(b["user_id"])) for b in booked] == [
        (MONDAY, 1, pal)
    ]
    assert capacity(w, "TECH_PREP", MONDAY, "mechanic499")["used_hours"] == 7
    assert capacity(w, "TECH_PREP", MONDAY, "mechanic2_499")["used_hours"] == 1


async def test_a_person_without_hours_of_the_work_is_not_replaced_by_someone_else(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """Per chosen from his cell; the work changed to cosmetic prep, which he does not do: the
    form does not pick the detailer in his place.  It says so, ctrl+s asks who does the work and
    books nothing; back to technical prep, Per is chosen again and the booking is his."""
    w = coord_world
    car = w.register(seller="seller499")
    per = str(w["mechanic499"].user_id)
    async with pers_monday_form(ui_store, w) as (app, pilot, dialog):  # Per chosen
        person = dialog.query_one("#user_id")
        dialog.query_one("#resource_type_id").value = w.rt["COSMETIC"]
        await settle(pilot, app)
        assert person.value == person.NULL
        offered = [v for _label, v in person._options if isinstance(v, str)]
        assert offered == [str(w["detailer499"].user_id)]
        said = str(dialog.query_one("#msg-user_id").render())
        assert "Per Mekaniker has no hours of this work on Mon 7 Jan: pick who does it" in said
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is dialog
        assert "Pick who does the work." in str(dialog.query_one("#msg-user_id").render())
        dialog.query_one("#resource_type_id").value = w.rt["TECH_PREP"]
        await settle(pilot, app)
        assert person.value == per
        dialog.query_one("#estimated_hours").value = "2"
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    booked = rows(w, ResourceBooking, car_id=car)
    assert [(b["resource_type_id"], str(b["user_id"])) for b in booked] == [
        (w.rt["TECH_PREP"], per)
    ]
    assert capacity(w, "COSMETIC", MONDAY, "detailer499")["used_hours"] == 0


async def test_picking_who_does_the_work_answers_the_form_and_books_them(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """Per has no hours of cosmetic prep: once the user picks the detailer, the form's question
    is gone and ctrl+s books the detailer."""
    w = coord_world
    car = w.register(seller="seller499")
    detailer = str(w["detailer499"].user_id)
    async with pers_monday_form(ui_store, w) as (app, pilot, dialog):
        dialog.query_one("#resource_type_id").value = w.rt["COSMETIC"]
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert "Pick who does the work." in str(dialog.query_one("#problem").render())
        person = dialog.query_one("#user_id")
        person.focus()
        await pilot.press("enter", "down", "enter")  # the list: the blank, then the detailer
        await settle(pilot, app)
        assert person.value == detailer
        assert str(dialog.query_one("#msg-user_id").render()) == ""
        assert str(dialog.query_one("#problem").render()) == ""
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    booked = rows(w, ResourceBooking, car_id=car)
    assert [(b["resource_type_id"], str(b["user_id"])) for b in booked] == [
        (w.rt["COSMETIC"], detailer)
    ]


async def test_the_forms_own_pick_follows_the_day_with_room(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    """Opened on the team's cell, nobody chosen by the user: the form picks Pål, who has the room
    on Monday.  On Tuesday Pål has 1 h left and Per has 8: the form picks Per (only the cell's
    person, or the user's own pick, is kept without the room)."""
    w = coord_world
    _booked_elsewhere(w, "mechanic499", MONDAY, 7)
    _booked_elsewhere(w, "mechanic2_499", MONDAY + timedelta(days=1), 7)
    car = w.register(seller="seller499")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_cell(app, pilot, w, "TECH_PREP", None, MONDAY)
        await pilot.press(*"ORD-00003", "enter")
        await settle(pilot, app)
        assert dialog.car_id == car
        person = dialog.query_one("#user_id")
        assert person.value == str(w["mechanic2_499"].user_id)
        dialog.query_one("#date").value = formats.date_field(MONDAY + timedelta(days=1))
        await settle(pilot, app)
        assert person.value == str(w["mechanic499"].user_id)
        assert str(dialog.query_one("#msg-user_id").render()) == ""
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    (booked,) = rows(w, ResourceBooking, car_id=car)
    assert (booked["date"], booked["user_id"]) == (
        MONDAY + timedelta(days=1),
        w["mechanic499"].user_id,
    )


async def test_picking_the_person_the_form_chose_makes_them_the_users_choice(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """The form picked Pål (the room on Monday); the user opens the list and picks Pål again,
    which changes nothing in the field.  Pål is the user's choice now: on Tuesday, where he has
    1 h left and Per has 8, Pål stays chosen, the form says he is short, and ctrl+s books no one
    else in his place."""
    w = coord_world
    _booked_elsewhere(w, "mechanic499", MONDAY, 7)
    _booked_elsewhere(w, "mechanic2_499", MONDAY + timedelta(days=1), 7)
    car = w.register(seller="seller499")
    pal = str(w["mechanic2_499"].user_id)
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_cell(app, pilot, w, "TECH_PREP", None, MONDAY)
        await pilot.press(*"ORD-00003", "enter")
        await settle(pilot, app)
        person = dialog.query_one("#user_id")
        assert person.value == pal
        person.focus()
        await pilot.press("enter", "enter")  # the list opens on Pål; Enter picks him again
        await settle(pilot, app)
        assert person.value == pal
        dialog.query_one("#date").value = formats.date_field(MONDAY + timedelta(days=1))
        await settle(pilot, app)
        assert person.value == pal
        assert "has 1 h free on" in str(dialog.query_one("#msg-user_id").render())
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is dialog
    assert rows(w, ResourceBooking, car_id=car) == []


async def test_the_work_the_user_picked_stays_when_the_car_changes(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    """The form defaults to technical prep for a registered car.  The user opens the list of
    work and picks technical prep again: their choice now, so another car, one in cosmetic prep
    (whose stage would call for cosmetic work), keeps technical prep, and that is what is
    booked."""
    w = coord_world
    first = w.register(seller="seller499")
    other = w.register(seller="seller499", license_plate="EL 55555")
    set_fields(w, other, status="cosmetic_prep")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_car(app, pilot, first)
        work = dialog.query_one("#resource_type_id")
        assert work.value == w.rt["TECH_PREP"]
        work.focus()
        await pilot.press("enter", "enter")  # the list opens on technical prep; picked again
        await settle(pilot, app)
        dialog.query_one("#car").focus()
        await pilot.press("ctrl+a", "ctrl+k", *"EL 555")  # the one match is picked
        await settle(pilot, app)
        assert dialog.car_id == other
        assert work.value == w.rt["TECH_PREP"]
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, BookingDialog)
    (booked,) = rows(w, ResourceBooking, car_id=other)
    assert booked["resource_type_id"] == w.rt["TECH_PREP"]
    assert rows(w, ResourceBooking, car_id=first) == []


async def test_the_forms_own_settings_do_not_read_the_people_again(
    ui_store, coord_world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Who has room is read in a thread for every change the user makes.  The values the form
    puts in its own fields (the work, the provider, the car's name) are not such changes: opened
    on a cell, the form reads the people at most twice (its hours, then its provider), where it
    read them four times, and the car typed and picked at most seven more (there were eleven)."""
    from db import grid

    reads = []
    people_with_room = grid.people_with_room

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[1:4])
        return people_with_room(*args, **kwargs)

    monkeypatch.setattr(grid, "people_with_room", counted)
    w = coord_world
    car = w.register(seller="seller499")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_cell(app, pilot, w, "TECH_PREP", "mechanic499", MONDAY)
        assert len(reads) <= 2, reads  # fewer when a read is replaced before it starts
        await pilot.press(*"ORD-00001", "enter")
        await settle(pilot, app)
        assert dialog.car_id == car
        assert len(reads) <= 9, reads
        assert dialog.query_one("#user_id").value == str(w["mechanic499"].user_id)


async def test_the_open_forms_people_follow_another_terminals_booking(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """The form is open on Per's Monday; another terminal books 2 h of it.  Without a key
    pressed here, the person list says "6 h free" (it said 8), Per still chosen."""
    w = coord_world
    car = w.register(seller="seller499")
    per = str(w["mechanic499"].user_id)
    async with pers_monday_form(ui_store, w) as (app, pilot, dialog):
        person = dialog.query_one("#user_id")
        assert "Per Mekaniker (8 h free)" in [str(label) for label, _v in person._options]
        _another_terminal_books_2_hours_of_pers_monday(w)
        await pilot.pause(2.2)  # the feed's poll
        await settle(pilot, app)
        assert app.screen is dialog
        labels = [str(label) for label, _v in person._options]
        assert "Per Mekaniker (6 h free)" in labels, labels
        assert person.value == per
    assert rows(w, ResourceBooking, car_id=car) == []


async def test_cross_dealership_booking_within_and_over_the_weekly_cap(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    car = w.register(seller="seller495")
    app = make_app(ui_store, actor=w["coordinator495"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await form_on_car(app, pilot, car)
        assert dialog.query_one("#provider_dealership_id").value == w.d["499"]
        dialog.query_one("#estimated_hours").value = "8"
        await settle(pilot, app)
        dialog.query_one("#user_id").value = str(w["mechanic499"].user_id)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, BookingDialog)  # within the 40 h of the agreement
        for offset in range(1, 5):  # 8 h a day, Tuesday to Friday: 40 h this week
            w.db.run(
                ledger.book,
                w["coordinator495"],
                car_id=car,
                resource_type_id=w.rt["TECH_PREP"],
                date=MONDAY + timedelta(days=offset),
                estimated_hours=8,
                user_id=w["mechanic2_499"].user_id,
            )
        await pilot.press("b")
        await settle(pilot, app)
        dialog = app.screen
        dialog.query_one("#estimated_hours").value = "2"
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, BookingDialog)
        problem = str(app.screen.query_one("#problem").render())
        assert "40" in problem and "Does not fit" in problem  # the weekly cap, and a later week
    held = [b for b in rows(w, ResourceBooking, car_id=car) if b["status"] == "scheduled"]
    assert sum(b["estimated_hours"] for b in held) == 40


async def test_the_provider_confirms_a_request_from_its_queue(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    car = w.register(seller="seller495")
    booking = w.db.run(
        ledger.book,
        w["coordinator495"],
        car_id=car,
        resource_type_id=w.rt["TECH_PREP"],
        date=MONDAY + timedelta(days=2),
        user_id=w["mechanic499"].user_id,
    )
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await open_grid(app, pilot)
        await pilot.press("q")
        await settle(pilot, app)
        assert isinstance(app.screen, RequestsScreen)
        assert "Kristiansand Vest" in text_of(app) or app.screen.booking() is not None
        await pilot.press("c")
        await settle(pilot, app)
    (row,) = rows(w, ResourceBooking, id=booking.id)
    assert row["status"] == "confirmed"


async def test_cancelling_a_booking_gives_its_hours_back(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    car = w.register(seller="seller499")
    w.db.run(
        ledger.book,
        w["coordinator499"],
        car_id=car,
        resource_type_id=w.rt["TECH_PREP"],
        date=MONDAY,
        estimated_hours=6,
        user_id=w["mechanic499"].user_id,
    )
    assert capacity(w, "TECH_PREP", MONDAY)["used_hours"] == 6
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await open_grid(app, pilot)
        go_to_cell(app, "TECH_PREP", None, MONDAY, w)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CellBookingsDialog)
        await pilot.press("x")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"customer postponed", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CellBookingsDialog)
        assert "cancelled" in text_of(app) or app.screen.table.rows[0].status == "cancelled"
    assert capacity(w, "TECH_PREP", MONDAY)["used_hours"] == 0
    assert capacity(w, "TECH_PREP", MONDAY, "mechanic499")["used_hours"] == 0
    (b,) = rows(w, ResourceBooking, car_id=car)
    assert b["status"] == "cancelled" and "customer postponed" in b["notes"]


async def test_a_capacity_cut_moves_the_lowest_priority_booking_after_confirmation(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    w = coord_world
    own = w.register(seller="seller499")
    shared = w.register(seller="seller495")
    tuesday = MONDAY + timedelta(days=1)
    w.db.run(
        ledger.book,
        w["coordinator499"],
        car_id=own,
        resource_type_id=w.rt["TECH_PREP"],
        date=tuesday,
        estimated_hours=8,
        user_id=w["mechanic499"].user_id,
    )
    w.db.run(
        ledger.book,
        w["coordinator495"],
        car_id=shared,
        resource_type_id=w.rt["TECH_PREP"],
        date=tuesday,
        estimated_hours=6,
        user_id=w["mechanic2_499"].user_id,
    )
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await open_grid(app, pilot)
        go_to_cell(app, "TECH_PREP", None, tuesday, w)
        await pilot.press("1", "0", "enter")  # 14 h booked: 10 is too few
        await settle(pilot, app)
        assert isinstance(app.screen, CutDialog)
        assert capacity(w, "TECH_PREP", tuesday)["allocated_hours"] == 16  # nothing yet
        assert app.screen.chosen == {
            b["id"] for b in rows(w, ResourceBooking, car_id=shared)
        }  # the consumer's booking is proposed, the provider's own is kept
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
    team = capacity(w, "TECH_PREP", tuesday)
    assert (team["allocated_hours"], team["used_hours"]) == (10, 8)
    (moved,) = rows(w, ResourceBooking, car_id=shared)
    assert moved["date"] != tuesday and moved["status"] == "scheduled"
