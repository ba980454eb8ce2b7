"""Snapshots of the key screens (frozen clock, fixed data).  Look at the SVGs before accepting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from settling import settle

from db import clock, workflow
from prepfloor.app import make_app

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def fixed_world(ui_store):  # type: ignore[no-untyped-def]
    from world import build_world

    clock.freeze(T0)
    w = build_world(ui_store.db, days=3)
    cars = [
        ("WBAJA51040CH12345", "EL 12345", "BMW", "X5", "Nils Hansen", "ORD-24001"),
        ("YV1CZ59H241098765", "EV 55120", "Volvo", "XC60", "Berit Olsen", "ORD-24002"),
        ("WVWZZZ1KZ6W000111", "EK 40404", "Volkswagen", "Golf", "Per Berg", "ORD-24003"),
        ("VF1RFB00X57123456", "DN 77001", "Renault", "Megane E-Tech", "Ingrid Dahl", "ORD-24004"),
        ("WP0ZZZ99ZTS392124", "EL 99911", "Porsche", "Taycan", "Ola Nordmann", "ORD-24005"),
    ]
    ids = []
    for i, (vin, plate, brand, model, customer, order) in enumerate(cars):
        clock.freeze(T0 + timedelta(hours=i * 5))
        ids.append(
            w.register(
                vin=vin,
                license_plate=plate,
                brand=brand,
                model=model,
                customer_name=customer,
                order_number=order,
            )
        )
    clock.freeze(T0 + timedelta(days=1, hours=2))
    w.db.run(workflow.move_car, w["seller495"], ids[1], "in_transit")
    clock.freeze(T0 + timedelta(days=2, hours=1))
    w.db.run(workflow.move_car, w["coordinator499"], ids[2], "at_prep_center")
    w.db.run(workflow.move_car, w["mechanic499"], ids[2], "inspection")
    clock.freeze(T0 + timedelta(days=3, hours=4, minutes=30))
    return w


def test_car_list(snap_compare, ui_store, fixed_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.press("f2")  # the car list (a coordinator opens on the grid)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 24), run_before=ready)


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Input

    await settle(pilot, pilot.app)
    for field in pilot.app.screen.query(Input):  # a blinking cursor would make the picture flaky
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 32), (80, 24)], ids=["120x32", "80x24"])
def test_intake_form_empty(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=fixed_world["seller495"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("ctrl+n")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


# An order typed wrong: the VIN of a car already registered, then a bad value in each field.
BAD_ORDER = (
    ("license_plate", "ab-12"),
    ("model_year", "1899"),
    ("customer_phone", "12"),
    ("customer_email", "kari.example.no"),
)


def intake_with_errors(*more: tuple[str, str]):  # type: ignore[no-untyped-def]
    """The run_before of the intake form saved with :data:`BAD_ORDER` (and ``more`` fields)."""

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("ctrl+n")
        await _ready(pilot)
        await pilot.press(*"WBAJA51040CH12345", "tab")  # the VIN of a car already registered
        screen = pilot.app.screen
        for field, typed in (*BAD_ORDER, *more):
            screen.query_one(f"#{field}").focus()
            await pilot.press(*typed)
        await pilot.press("ctrl+s")
        await _ready(pilot)

    return ready


def steps(*done: Any):  # type: ignore[no-untyped-def]
    """A run_before: settle, then each step — keys to press (a tuple), or a function of the app
    (open a car, push a screen) — settling after each."""

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        for step in done:
            if isinstance(step, tuple):
                await pilot.press(*step)
            else:
                step(pilot.app)
            await _settled(pilot)

    return ready


@pytest.mark.parametrize("size", [(120, 32), (80, 24)], ids=["120x32", "80x24"])
def test_intake_form_with_errors(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=fixed_world["seller495"])
    assert snap_compare(app, terminal_size=size, run_before=intake_with_errors())


def test_car_view_with_parts_contacts_and_documents(  # type: ignore[no-untyped-def]
    snap_compare, ui_store, fixed_world
) -> None:
    from db import contacts, documents, parts

    w = fixed_world
    car_id = 1
    seller = w["seller495"]
    part = w.db.run(
        parts.order_part,
        seller,
        car_id,
        part_name="Winter wheel set 19in",
        part_number="36 11 5 A4E 123",
        supplier="Dekkmann Skien",
    )
    w.db.run(parts.order_part, seller, car_id, part_name="Floor mats", quantity=2)
    w.db.run(parts.set_part_status, seller, part.id, "arrived")
    w.db.run(
        contacts.log_contact,
        seller,
        car_id,
        type="call",
        message="Customer asked for delivery on Saturday; told her it depends on the wheels.",
    )
    w.db.run(
        documents.attach_document,
        seller,
        car_id,
        filename="faktura-ORD-24001.pdf",
        content=b"%PDF-1.4 " + b"x" * 2000,
    )
    app = make_app(ui_store, actor=seller)

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        pilot.app.open_car(car_id)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=(120, 80), run_before=ready)


def _coordinator_world(w) -> None:  # type: ignore[no-untyped-def]
    """Bookings at 499 on the snapshot week: a normal load, and Tuesday cut below its bookings."""
    from db import ledger

    later = clock.utcnow()
    clock.freeze(T0)  # booked on the Monday morning, looked at later in the week
    coordinator = w["coordinator499"]
    day = T0.date()
    tuesday = day + timedelta(days=1)
    for car_id, login, when, hours in (
        (1, "mechanic499", day, 6),
        (2, "mechanic2_499", day, 8),
        (3, "mechanic499", tuesday, 8),
        (4, "mechanic2_499", tuesday, 4),
    ):
        w.db.run(
            ledger.book,
            coordinator,
            car_id=car_id,
            resource_type_id=w.rt["TECH_PREP"],
            date=when,
            estimated_hours=hours,
            user_id=w[login].user_id,
        )
    clock.freeze(later)


@pytest.mark.parametrize("size", [(120, 24), (80, 24)], ids=["120x24", "80x24"])
def test_capacity_grid_week(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]
    _coordinator_world(fixed_world)
    app = make_app(ui_store, actor=fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("f4")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(120, 24), (80, 24)], ids=["120x24", "80x24"])
def test_capacity_grid_overbooked_week(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]
    from db import capacity

    w = fixed_world
    _coordinator_world(w)
    later = clock.utcnow()
    clock.freeze(T0)
    w.db.run(  # a mechanic off sick after the week was booked: Tuesday is overbooked
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=T0.date() + timedelta(days=1),
        allocated_hours=8,
        allow_overbook=True,
    )
    clock.freeze(later)
    app = make_app(ui_store, actor=w["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("f4")
        await _ready(pilot)
        await pilot.press("down", "down", "left", "left")  # the overbooked team cell (Tuesday)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(120, 32), (80, 24)], ids=["120x32", "80x24"])
def test_booking_form_with_an_error(snap_compare, ui_store, fixed_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        pilot.app.open_car(1)
        await _ready(pilot)
        await pilot.press("b")
        await _ready(pilot)
        pilot.app.screen.query_one("#estimated_hours").value = "1.3"
        await _ready(pilot)
        await pilot.press("ctrl+s")
        await _ready(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.fixture
def demo_world(ui_store):  # type: ignore[no-untyped-def]
    """The demo data as it stands on Friday 27 November 2026, 09:30 UTC."""
    from prepfloor.demo import build_demo

    at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    clock.set_zone(UTC)
    clock.freeze(at)
    build_demo(ui_store.db, today=at.date())
    yield ui_store
    clock.set_zone(None)


@pytest.mark.parametrize("tab", ["status", "sla"])
def test_manager_dashboard_on_the_demo(snap_compare, demo_world, tab: str) -> None:  # type: ignore[no-untyped-def]
    actor = demo_world.fast.actor("mona")
    app = make_app(demo_world, actor=actor)

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.press("f6")
        for _ in range(3):
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
        if tab == "sla":
            await pilot.press("right", "right")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 30), run_before=ready)


# ------------------------------------------------------------------------------------------------
# 80x24 (a workshop thin client) and the sizes above: the lists keep the columns that matter and
# mark the dropped ones (``+N »``), a VIN is whole, the header keeps the title, dialogs fit.
# ------------------------------------------------------------------------------------------------
SMALL = (80, 24)


def _car_id(store, vin: str) -> int:  # type: ignore[no-untyped-def]
    ((car_id,),) = store.fast.rows("SELECT id FROM cars WHERE vin = :vin", {"vin": vin})
    return int(car_id)


async def _settled(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await _ready(pilot)


def test_car_list_at_80x24(snap_compare, ui_store, fixed_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=fixed_world["coordinator499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f2")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_my_cars_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f3")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_our_cars_of_a_manager_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("magnus"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f3")
        await _settled(pilot)
        await pilot.press("end")  # the cursor on the last car: the list scrolls to it
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_car_view_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]
    car_id = _car_id(demo_world, "WBAJS6J73VY995991")  # parts ordered, bookings, a history
    app = make_app(demo_world, actor=demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        pilot.app.open_car(car_id)
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 32)], ids=["80x24", "120x32"])
def test_parts_dialog_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]
    car_id = _car_id(demo_world, "WBAJS6J73VY995991")
    app = make_app(demo_world, actor=demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        pilot.app.open_car(car_id)
        await _settled(pilot)
        await pilot.press("p")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_contact_form_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]
    car_id = _car_id(demo_world, "WBAJS6J73VY995991")
    app = make_app(demo_world, actor=demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        pilot.app.open_car(car_id)
        await _settled(pilot)
        await pilot.press("c")
        await _settled(pilot)
        await pilot.press("tab", "ctrl+s")  # nothing typed: the message beside the field
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_my_cars_filter_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("kari"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f3")
        await _settled(pilot)
        await pilot.press("f", "end")  # every choice fits; the last one highlighted
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


def test_inbox_at_80x24(snap_compare, demo_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("ola"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f8")
        await _settled(pilot)
        await pilot.press("down")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("tab", [0, 3], ids=["status", "workload"])
def test_manager_dashboard_at_80x24(snap_compare, demo_world, tab: int) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("mona"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f6")
        await _settled(pilot)
        for _ in range(tab):
            await pilot.press("right")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_sharing_view_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("ola"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        from screens.schedule import SharingScreen

        await _settled(pilot)
        pilot.app.push_screen(SharingScreen(pilot.app.session_ctx))
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 24)], ids=["80x24", "120x24"])
def test_sharing_requests_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("ola"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        from screens.schedule import RequestsScreen

        await _settled(pilot)
        ola = pilot.app.session_ctx.actor
        pilot.app.push_screen(
            RequestsScreen(pilot.app.session_ctx, ola.dealership_id, "499 Porsgrunn")
        )
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [SMALL, (120, 30)], ids=["80x24", "120x30"])
def test_sign_in_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world)  # nobody signed in: a shared terminal's first screen
    assert snap_compare(app, terminal_size=size, run_before=_settled)


@pytest.mark.parametrize("size", [SMALL, (120, 30)], ids=["80x24", "120x30"])
def test_help_of_my_jobs_on_the_demo(snap_compare, demo_world, size) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("per"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f1")
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("keys", ["", "u"], ids=["dealerships", "users"])
@pytest.mark.parametrize("size", [SMALL, (120, 30)], ids=["80x24", "120x30"])
def test_admin_on_the_demo(snap_compare, demo_world, size, keys) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_world, actor=demo_world.fast.actor("admin"))

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settled(pilot)
        await pilot.press("f7", *keys)
        await _settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)
