"""Keystroke budgets (DESIGN.md, issue 14): each task pressed with exactly the keys of its budget,
from the role's start screen, and the database checked after.

A flow is a list of steps: ``key`` (a key the budget counts), ``data`` (what the user types: a
VIN, a plate, a note) and ``next`` (the Tab that ends a typed field and moves to the next one:
part of typing the data, as the budget "the data + ≤ 3" counts it).  Each flow runs twice on a
fresh database: typed slowly (each step waits until it has taken effect) and posted in one burst
(the whole sequence at once, as a paste, a badge reader or a stalled SSH link delivers it); both
must end with the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import pytest
from test_app import SIZE, key_on_car, settle, text_of
from test_typeahead import burst

from db import admin, capacity, clock, inspection, timers, workflow
from db.models import Car, InspectionChecklistItem, ResourceBooking, TimebankEntry
from prepfloor.app import make_app
from screens.booking import BookingDialog
from screens.inspection import InspectionScreen
from screens.intake import IntakeScreen
from screens.workshop import JobsTable, MyJobsScreen
from world import T0, World, book, build_world, rows, set_fields

MONDAY = T0.date()
TUESDAY = MONDAY + timedelta(days=1)
SATURDAY = MONDAY + timedelta(days=5)
HOW = ("slowly", "burst")


@dataclass(frozen=True)
class Flow:
    """The keys of one task: (kind, what), kind ``key``, ``data`` or ``next``."""

    steps: tuple[tuple[str, str], ...]

    @property
    def keys(self) -> int:
        """The keys beyond the data typed (what a budget counts)."""
        return sum(1 for kind, _ in self.steps if kind == "key")

    @property
    def presses(self) -> list[str]:
        """Every key pressed, in order: a data step is one key per character."""
        out: list[str] = []
        for kind, what in self.steps:
            out.extend(what if kind == "data" else [what])
        return out


def flow(*steps: tuple[str, str]) -> Flow:
    return Flow(tuple(steps))


def key(name: str) -> tuple[str, str]:
    return ("key", name)


def data(text: str) -> tuple[str, str]:
    return ("data", text)


NEXT = ("next", "tab")


typed = settle  # every key of a burst handled and taken effect


async def run(pilot: Any, app: Any, keys: Flow, how: str) -> None:
    """Press the flow's keys: one step at a time, each waited for, or all in one burst."""
    if how == "burst":
        burst(app, [" " if k == "space" else k for k in keys.presses])
        await typed(pilot, app)
        return
    for kind, what in keys.steps:
        if kind == "data":
            await pilot.press(*what)
        else:
            await pilot.press(what)
        await settle(pilot, app)
        if what == "ctrl+p":
            await pilot.pause(0.3)  # the palette opens in its own task


@pytest.fixture
def w(ui_store) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The fixed world on Monday 7 January 2030, 07:00 UTC, capacity for two weeks."""
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield build_world(ui_store.db, days=14)
    finally:
        clock.freeze(None)
        clock.set_zone(None)


def car_row(w: World, car_id: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(Car, car_id).model_dump())


def bookings_of(w: World, car_id: int) -> list[tuple[Any, ...]]:
    return [
        (b["resource_type_id"], b["date"], b["estimated_hours"], b["status"])
        for b in rows(w, ResourceBooking, car_id=car_id)
    ]


# ------------------------------------------------------------------------------------------------
# register a car: the data + ≤ 3 (was the data + 6: four Tabs over optional fields)
# ------------------------------------------------------------------------------------------------
VIN = "WBA11122233344477"  # a BMW: the VIN fills the brand
REGISTER = flow(
    key("ctrl+n"),
    data(VIN),
    NEXT,
    key("tab"),  # the brand, filled from the VIN
    data("iX3"),
    NEXT,
    data("495-777"),
    NEXT,
    data("Nora Berg"),
    key("ctrl+s"),
)


@pytest.mark.parametrize("how", HOW)
async def test_register_a_car_is_its_data_and_three_keys(ui_store, w, how) -> None:  # type: ignore[no-untyped-def]
    assert REGISTER.keys <= 3
    app = make_app(ui_store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await run(pilot, app, REGISTER, how)
        assert not isinstance(app.screen, IntakeScreen)  # registered: the car view is open
    (car,) = rows(w, Car)
    assert (car["vin"], car["brand"], car["model"], car["model_year"]) == (VIN, "BMW", "iX3", None)
    assert (car["order_number"], car["customer_name"], car["car_type"]) == (
        "495-777",
        "Nora Berg",
        "new",
    )
    assert car["status"] == "registered"


@pytest.mark.parametrize("how", HOW)
async def test_a_north_american_vin_fills_brand_and_year_and_warns_of_its_check_digit(
    ui_store, w, how
) -> None:  # type: ignore[no-untyped-def]
    """The 9th character of 1FTFW1ET5DFC10312 should be 9: the form says so beside the VIN, in
    words, and registers the car all the same (the papers count, not the arithmetic)."""
    vin = "1FTFW1ET5DFC10312"
    keys = flow(
        key("ctrl+n"),
        data(vin),
        NEXT,
        key("tab"),
        data("F-150"),
        NEXT,
        data("495-778"),
        NEXT,
        data("Ola Berg"),
    )
    app = make_app(ui_store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await run(pilot, app, keys, how)
        form = app.screen
        assert isinstance(form, IntakeScreen)
        assert form.query_one("#brand").value == "Ford"
        assert form.query_one("#model_year").value == "2013"
        said = str(form.query_one("#msg-vin").render())
        assert "Check digit (9th character) should be 9" in said
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, IntakeScreen)
    (car,) = rows(w, Car)
    assert (car["vin"], car["brand"], car["model_year"], car["status"]) == (
        vin,
        "Ford",
        2013,
        "registered",
    )


async def test_the_vin_never_overwrites_what_was_typed(ui_store, w) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        form = app.screen
        form.query_one("#brand").focus()
        await pilot.press(*"Alpina")
        form.query_one("#vin").focus()
        await pilot.press(*"1HGCM82633A004352")  # a Honda of 2003, check digit right
        await settle(pilot, app)
        assert form.query_one("#brand").value == "Alpina"
        assert form.query_one("#model_year").value == "2003"
        assert str(form.query_one("#msg-vin").render()).startswith("✓ Honda")
        await pilot.press(*["backspace"] * 17, *"WBA11122233344477")  # another VIN: its year
        await settle(pilot, app)
        assert form.query_one("#brand").value == "Alpina"
        assert form.query_one("#model_year").value == ""  # the year the first VIN filled goes


def test_what_a_vin_says() -> None:
    """db/vin.py: the brand from the manufacturer table, the model year and the check digit only
    where the market puts them in the VIN (North America, China)."""
    from db import vin

    today = MONDAY
    honda = vin.decode("1hgcm82633a004352", today)  # as typed: lower case
    assert honda is not None and (honda.brand, honda.model_year, honda.check_digit_ok) == (
        "Honda",
        2003,
        True,
    )
    assert honda.warning is None and honda.summary == "Honda · United States · 2003"
    bad = vin.decode("1HGCM82643A004352", today)  # one digit mistyped
    assert bad is not None and bad.check_digit_ok is False and bad.expected_check_digit == "3"
    assert bad.warning is not None and "should be 3" in bad.warning
    assert vin.decode("1M8GDM9AXKP042788", today).check_digit_ok is True  # type: ignore[union-attr]
    bmw = vin.decode("WBA11122233344477", today)  # Europe: no year, no check digit
    assert bmw is not None and (bmw.brand, bmw.model_year, bmw.check_digit_ok) == (
        "BMW",
        None,
        None,
    )
    assert vin.decode("WMWXP7C50N2R12345", today).brand == "MINI"  # type: ignore[union-attr]
    assert vin.decode("WDD2050071F123456", today).brand == "Mercedes-Benz"  # type: ignore[union-attr]
    assert vin.decode("XP7YGCEK0PB123456", today).brand == "Tesla"  # type: ignore[union-attr]
    china = vin.decode("LRW3E7EK3NC123456", today)  # Tesla Shanghai: year and check digit
    assert china is not None and (china.brand, china.model_year) == ("Tesla", 2022)
    assert china.check_digit_ok is True
    # the 7th character tells the 30-year cycle in North America: a letter, 2010-2039
    assert vin.model_year("5YJ3E1EA2KF317000") == 2019
    assert vin.decode("WBA1234", today) is None  # not a VIN yet
    assert vin.decode("WBA1112223334447O", today) is None


# ------------------------------------------------------------------------------------------------
# book the next free slot for a car in cosmetic prep: ≤ 5 (was 8: the work defaulted to technical)
# ------------------------------------------------------------------------------------------------
def cosmetic_car(w: World) -> int:
    car = w.register(seller="seller499", license_plate="EL 55555")
    set_fields(w, car, status="cosmetic_prep")
    return car


COSMETIC_SLOT = flow(key("ctrl+p"), data("EL 555"), key("enter"), key("b"), key("ctrl+y"))


@pytest.mark.parametrize("how", HOW)
async def test_book_the_next_free_slot_for_a_car_in_cosmetic_prep(ui_store, w, how) -> None:  # type: ignore[no-untyped-def]
    """Dina's Monday is full: b offers her Tuesday, ctrl+y books it, cosmetic work (the car's
    stage), her default hours."""
    assert COSMETIC_SLOT.keys <= 5
    car = cosmetic_car(w)
    book(w, 0, 8, "detailer499", code="COSMETIC")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await run(pilot, app, COSMETIC_SLOT, how)
        assert not isinstance(app.screen, BookingDialog)
    assert bookings_of(w, car) == [(w.rt["COSMETIC"], TUESDAY, 2, "scheduled")]
    (booked,) = rows(w, ResourceBooking, car_id=car)
    assert booked["user_id"] == w["detailer499"].user_id


async def test_with_room_today_ctrl_s_books_it_today(ui_store, w) -> None:  # type: ignore[no-untyped-def]
    car = cosmetic_car(w)
    keys = flow(key("ctrl+p"), data("EL 555"), key("enter"), key("b"), key("ctrl+s"))
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await run(pilot, app, keys, "slowly")
    assert bookings_of(w, car) == [(w.rt["COSMETIC"], MONDAY, 2, "scheduled")]


# ------------------------------------------------------------------------------------------------
# book from the grid: ≤ 6 (was 14: one matching car still needed ↓ Enter)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOW)
async def test_book_from_the_grid_a_single_match_and_the_nearest_day(ui_store, w, how) -> None:  # type: ignore[no-untyped-def]
    """The cursor starts on the first row (cosmetic work, the team) and today; the day is full.
    The one car matching ORD-00002 is picked as its last digit is typed; ctrl+s is refused with
    the nearest day named and its key, ctrl+y books it there."""
    w.register(seller="seller499")
    car = w.register(seller="seller499")
    set_fields(w, car, status="at_prep_center")
    book(w, 0, 8, "detailer499", code="COSMETIC")  # the cosmetic team's Monday is full
    keys = flow(key("f4"), key("b"), data("ORD-00002"), key("ctrl+s"), key("ctrl+y"))
    assert keys.keys <= 6
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        if how == "slowly":
            await run(pilot, app, flow(*keys.steps[:4]), how)
            dialog = app.screen
            assert isinstance(dialog, BookingDialog) and dialog.car_id == car
            problem = str(dialog.query_one("#problem").render())
            assert "ctrl+y books it on Tue, 8 Jan 2030" in problem
            await run(pilot, app, flow(keys.steps[4]), how)
        else:
            await run(pilot, app, keys, how)
        assert not isinstance(app.screen, BookingDialog)
    assert bookings_of(w, car) == [(w.rt["COSMETIC"], TUESDAY, 2, "scheduled")]


# ------------------------------------------------------------------------------------------------
# stop my running clock after reopening on another day: 1 (was 6: ] five times and Space)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOW)
async def test_stop_my_running_clock_whatever_day_it_is_booked(ui_store, w, how) -> None:  # type: ignore[no-untyped-def]
    car = w.register(seller="seller499")
    today = book(w, 0, 2, car_id=car)
    saturday = book(w, 5, 2, car_id=car)
    w.db.run(timers.start, w["mechanic499"], saturday)  # working ahead, then the terminal closed
    clock.freeze(T0 + timedelta(hours=2))
    keys = flow(key("space"))
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MyJobsScreen) and screen.day == MONDAY
        table = screen.query_one(JobsTable)
        assert [j.booking_id for j in table.rows] == [saturday, today]  # on top
        assert table.current is not None and table.current.running
        await run(pilot, app, keys, how)
    (entry,) = rows(w, TimebankEntry)
    assert (entry["booking_id"], entry["hours"]) == (saturday, 2.0)
    assert entry["ended_at"] is not None


# ------------------------------------------------------------------------------------------------
# start / switch / stop a job: 1 / 2 / 1
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", HOW)
async def test_start_switch_stop_are_one_two_one(ui_store, w, how) -> None:  # type: ignore[no-untyped-def]
    first = book(w, 0, 2, start_time=(T0 + timedelta(hours=1)).time())
    second = book(w, 0, 2, start_time=(T0 + timedelta(hours=3)).time())
    start, switch, stop = flow(key("space")), flow(key("down"), key("space")), flow(key("space"))
    assert (start.keys, switch.keys, stop.keys) == (1, 2, 1)

    def clocking() -> list[int]:
        return [e["booking_id"] for e in rows(w, TimebankEntry) if e["ended_at"] is None]

    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await run(pilot, app, start, how)
        assert clocking() == [first]
        await run(pilot, app, switch, how)
        assert clocking() == [second]
        await run(pilot, app, stop, how)
    entries = rows(w, TimebankEntry)
    assert [(e["booking_id"], e["ended_at"] is not None) for e in entries] == [
        (first, True),
        (second, True),
    ]


# ------------------------------------------------------------------------------------------------
# inspection, every item ok but one: ≤ 6 + the note (was 20)
# ------------------------------------------------------------------------------------------------
def inspection_job(w: World) -> tuple[int, int]:
    """A car just arrived at 499 and its arrival inspection booked for the team today (work
    without a stage: Per sees it in his list and may clock it as one of the team)."""
    rt = w.db.run(
        admin.save_resource_type,
        None,
        code="INSPECTION",
        name="Arrival Inspection",
        requires_assignment=False,
        default_duration_hours=1,
    ).id
    w.rt["INSPECTION"] = rt
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=rt,
        date=w.day(0),
        allocated_hours=8,
    )
    car = w.register(seller="seller499", license_plate="EV 40404")
    for step in ("in_transit", "at_prep_center"):
        w.db.run(workflow.move_car, w["coordinator499"], car, step)
    job = book(w, 0, 1, None, code="INSPECTION", car_id=car)
    return car, job


INSPECT = flow(
    key("i"),  # the highlighted job's car
    key("i"),  # the first item: an issue
    data("2 mm left on the front tyres"),
    key("enter"),
    key("r"),  # the rest ok
    key("a"),  # approve
    key("enter"),
)


@pytest.mark.parametrize("how", HOW)
async def test_inspection_all_ok_but_one_and_the_job_is_done(ui_store, w, how) -> None:  # type: ignore[no-untyped-def]
    assert INSPECT.keys <= 6
    car, job = inspection_job(w)
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MyJobsScreen)
        assert [j.booking_id for j in screen.query_one(JobsTable).rows] == [job]
        await run(pilot, app, INSPECT, how)
        assert isinstance(app.screen, MyJobsScreen)
        assert job not in [j.booking_id for j in app.screen.query_one(JobsTable).rows]
    items = rows(w, InspectionChecklistItem, car_id=car)
    assert len(items) == len(inspection.DEFAULT_CHECKLIST)
    found = [(i["item_name"], i["status"], i["notes"]) for i in items if i["status"] != "ok"]
    assert found == [(inspection.DEFAULT_CHECKLIST[0], "issue", "2 mm left on the front tyres")]
    row = car_row(w, car)
    assert row["inspection_approved"] is True and row["inspection_completed_at"] is not None
    done = rows(w, ResourceBooking, id=job)[0]
    assert (done["status"], done["actual_hours"]) == ("completed", 0)


async def test_rest_ok_keeps_what_was_checked(ui_store, w) -> None:  # type: ignore[no-untyped-def]
    car, _job = inspection_job(w)
    names = inspection.DEFAULT_CHECKLIST
    w.db.run(inspection.record_item, w["mechanic499"], car, names[3], "critical", "Leaking")
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("i")
        await settle(pilot, app)
        assert isinstance(app.screen, InspectionScreen)
        assert f"r marks the {len(names) - 1} left ok" in text_of(app)
        await pilot.press("r")
        await settle(pilot, app)
        assert "a approves, f fails" in text_of(app)
    statuses = {i["item_name"]: i["status"] for i in rows(w, InspectionChecklistItem, car_id=car)}
    assert statuses[names[3]] == "critical"
    assert sorted(statuses.values()).count("ok") == len(names) - 1


# ------------------------------------------------------------------------------------------------
# the screens at 80x24
# ------------------------------------------------------------------------------------------------
async def test_the_booking_window_fits_80_columns(ui_store, w) -> None:  # type: ignore[no-untyped-def]
    car = cosmetic_car(w)
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await key_on_car(app, pilot, car, "b")
        assert isinstance(dialog, BookingDialog)
        for widget in dialog.query("*"):
            region = widget.region
            if widget.display and region.width:
                assert region.right <= 80, widget
        for name in ("car", "resource_type_id", "date", "estimated_hours", "user_id"):
            region = dialog.query_one(f"#{name}").region
            assert region.height >= 1 and region.bottom <= 23, name
        assert "Cosmetic Preparation" in str(dialog.query_one("#resource_type_id").value) or (
            dialog.query_one("#resource_type_id").value == w.rt["COSMETIC"]
        )


async def test_my_jobs_detail_line_is_clear_of_the_toasts_at_80x24(ui_store, w) -> None:  # type: ignore[no-untyped-def]
    car = w.register(seller="seller499", seller_notes="Customer wants the winter tyres fitted")
    book(w, 0, 2, car_id=car)
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot, app)
        await pilot.press("space")  # a toast: "Started: ..."
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MyJobsScreen)
        detail = screen.query_one("#detail").region
        assert "winter tyres" in text_of(app)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        for toast in toasts:
            assert not detail.overlaps(toast.region), (detail, toast.region)
