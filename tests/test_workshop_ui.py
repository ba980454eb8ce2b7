"""Workshop mode by keys: one key starts and stops, switching jobs stops the first, completing moves
the car on, a clock started in one app shows in another, a clock outlives its session, the
forgotten-clock choice, taking an open job, and the inspection checklist with a failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_app import SIZE, settle, text_of

from db import capacity, clock, jobs, timers, workflow
from db.models import Car, InspectionChecklistItem, Notification, ResourceBooking, TimebankEntry
from prepfloor.app import make_app
from screens.dialogs import ChoiceDialog
from screens.forms import FormDialog
from screens.inspection import InspectionScreen
from screens.workshop import JobsTable, MyJobsScreen
from world import T0, at, book, booking, build_world, rows, set_fields


@pytest.fixture
def shop(ui_store):  # type: ignore[no-untyped-def]
    """The fixed world on a Monday morning (UTC); Per (mechanic499) has two cars to do today."""
    from datetime import UTC

    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        w = build_world(ui_store.db, days=7)
        w.cars = [w.register(seller="seller499") for _ in range(2)]  # type: ignore[attr-defined]
        w.jobs = [  # type: ignore[attr-defined]
            book(w, 0, 2, car_id=car, start_time=(T0 + timedelta(hours=1 + 2 * i)).time())
            for i, car in enumerate(w.cars)  # type: ignore[attr-defined]
        ]
        yield w
    finally:
        clock.freeze(None)
        clock.set_zone(None)


def entries(w: Any) -> list[dict[str, Any]]:
    return rows(w, TimebankEntry)


def running(w: Any) -> list[dict[str, Any]]:
    return [e for e in entries(w) if e["ended_at"] is None]


async def jobs_screen(app: Any, pilot: Any) -> MyJobsScreen:
    await settle(pilot, app)
    assert isinstance(app.screen, MyJobsScreen)  # a mechanic signs in to their jobs
    return app.screen


async def test_one_key_starts_and_stops_and_switching_stops_the_first(ui_store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    first, second = w.jobs
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await jobs_screen(app, pilot)
        table = screen.query_one(JobsTable)
        assert [j.booking_id for j in table.rows] == [first, second]
        await pilot.press("space")  # start the first
        await settle(pilot, app)
        assert [e["booking_id"] for e in running(w)] == [first]
        assert "RUNNING" in text_of(app)
        at(minutes=30)
        await pilot.press("space")  # the same key stops it
        await settle(pilot, app)
        assert running(w) == [] and entries(w)[0]["hours"] == 0.5
        await pilot.press("space")  # restart
        await settle(pilot, app)
        at(minutes=45)
        await pilot.press("down", "space")  # the second job: the first stops first
        await settle(pilot, app)
        assert [e["booking_id"] for e in running(w)] == [second]
        closed = [e for e in entries(w) if e["booking_id"] == first]
        assert sorted(e["hours"] for e in closed) == [0.25, 0.5]
    assert booking(w, first)["status"] == "in_progress"


async def test_completing_sums_the_hours_and_moves_the_car_on(ui_store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    car, job = w.cars[0], w.jobs[0]
    for target in ("at_prep_center", "inspection"):
        w.db.run(workflow.move_car, w["coordinator499"], car, target)
    set_fields(w, car, inspection_completed_at=clock.utcnow(), inspection_approved=True)
    w.db.run(workflow.move_car, w["coordinator499"], car, "technical_prep")
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await jobs_screen(app, pilot)
        await pilot.press("space")
        await settle(pilot, app)
        at(hours=1, minutes=30)
        await pilot.press("c")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"brakes bled, new wipers", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MyJobsScreen)
    done = booking(w, job)
    assert done["status"] == "completed" and done["actual_hours"] == 1.5
    car_row = w.db.query(lambda s: s.get(Car, car).model_dump())
    assert car_row["status"] == "cosmetic_prep" and car_row["technical_completed_at"] is not None
    assert "brakes bled" in car_row["technical_notes"]


async def test_a_clock_started_in_one_app_runs_in_another_and_outlives_its_session(
    ui_store, shop
) -> None:  # type: ignore[no-untyped-def]
    w = shop
    first = make_app(ui_store, actor=w["mechanic499"])
    async with first.run_test(size=SIZE) as pilot:
        await jobs_screen(first, pilot)
        await pilot.press("space")
        await settle(pilot, first)
    # the terminal is gone (the app ended without stopping anything): the clock still runs
    assert [e["booking_id"] for e in running(w)] == [w.jobs[0]]
    at(hours=2)
    second = make_app(ui_store, actor=w["mechanic499"])
    async with second.run_test(size=SIZE) as pilot:
        screen = await jobs_screen(second, pilot)
        assert screen.timer is not None and screen.timer.booking_id == w.jobs[0]
        assert "02:00:00" in str(screen.query_one("#clock").value)
        await pilot.press("space")  # stop it here
        await settle(pilot, second)
    (entry,) = entries(w)
    assert entry["ended_at"] is not None and entry["hours"] == 2.0


async def test_the_other_terminal_sees_the_clock_within_a_second(ui_store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    watcher = make_app(ui_store, actor=w["mechanic499"])
    async with watcher.run_test(size=SIZE) as pilot:
        screen = await jobs_screen(watcher, pilot)
        assert screen.timer is None
        w.db.run(timers.start, w["mechanic499"], w.jobs[1])  # the same person, another terminal
        await pilot.pause(1.3)
        await settle(pilot, watcher)
        assert screen.timer is not None and screen.timer.booking_id == w.jobs[1]


async def test_a_forgotten_clock_is_stopped_at_the_end_of_the_shift(ui_store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    w.db.run(timers.start, w["mechanic499"], w.jobs[0])
    at(days=1, hours=2)  # 26 hours later
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")  # stop it at the end of the shift
        await settle(pilot, app)
    (entry,) = entries(w)
    assert entry["hours"] == 10.0  # the default shift
    told = rows(w, Notification, type="timer_forgotten")
    assert {n["user_id"] for n in told} >= {w["mechanic499"].user_id, w["coordinator499"].user_id}


async def test_taking_an_open_job(ui_store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    car = w.register(seller="seller499")
    open_job = book(w, 0, 1, person=None, code="WASH", car_id=car)
    w.db.run(  # Per has an hour of washing today on his own row
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["WASH"],
        date=w.day(0),
        allocated_hours=1,
        user_id=w["mechanic499"].user_id,
    )
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await jobs_screen(app, pilot)
        table = screen.query_one(JobsTable)
        index = [j.booking_id for j in table.rows].index(open_job)
        assert not table.rows[index].mine and table.rows[index].takeable
        assert "1 open to take (t)" in text_of(app)
        table.cursor = index
        await pilot.press("t")
        await settle(pilot, app)
    assert booking(w, open_job)["user_id"] == w["mechanic499"].user_id
    assert running(w) == []


async def test_the_teams_work_is_clocked_without_taking_it(ui_store, shop) -> None:  # type: ignore[no-untyped-def]
    """Washing needs no person: Per has no washing hours of his own, so he cannot take it (it is
    not offered as "open (t)"), but Space clocks it as one of the team."""
    w = shop
    car = w.register(seller="seller499")
    open_job = book(w, 0, 1, person=None, code="WASH", car_id=car)
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await jobs_screen(app, pilot)
        table = screen.query_one(JobsTable)
        index = [j.booking_id for j in table.rows].index(open_job)
        assert not table.rows[index].takeable and table.rows[index].team
        assert "open to take" not in text_of(app) and "1 team jobs (Space)" in text_of(app)
        table.cursor = index
        await pilot.press("t")  # nothing to take: the key that works is said
        await settle(pilot, app)
        assert any("Space starts its clock" in n.message for n in app._notifications)
        await pilot.press("space")
        await settle(pilot, app)
        assert [e["booking_id"] for e in running(w)] == [open_job]
        assert table.current is not None and table.current.booking_id == open_job
        await pilot.press("space")  # the same key stops it
        await settle(pilot, app)
    assert running(w) == [] and booking(w, open_job)["user_id"] is None


async def test_the_inspection_checklist_with_a_failure_tells_the_coordinator(
    ui_store, shop
) -> None:  # type: ignore[no-untyped-def]
    w = shop
    car = w.cars[0]
    w.db.run(workflow.move_car, w["coordinator499"], car, "at_prep_center")
    app = make_app(ui_store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await jobs_screen(app, pilot)
        await pilot.press("i")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, InspectionScreen)
        count = len(screen.table.rows)
        await pilot.press("x")  # the first item is critical
        await settle(pilot, app)
        await pilot.press(*"1 mm tread left", "enter")
        await settle(pilot, app)
        for _ in range(count - 1):
            await pilot.press("o")
            await settle(pilot, app)
        await pilot.press("a")  # approving with a critical item is refused
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press("escape", "f")
        await settle(pilot, app)
        await pilot.press(*"tyres must be replaced", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MyJobsScreen)
    items = rows(w, InspectionChecklistItem, car_id=car)
    assert len(items) == count and [i["status"] for i in items].count("critical") == 1
    car_row = w.db.query(lambda s: s.get(Car, car).model_dump())
    assert car_row["inspection_approved"] is False and car_row["inspection_completed_at"]
    told = rows(w, Notification, car_id=car, type="inspection_done")
    coordinator = [n for n in told if n["user_id"] == w["coordinator499"].user_id]
    assert coordinator and coordinator[0]["priority"] == "high"
    assert (
        "1 mm tread left" in coordinator[0]["message"]
        or items[0]["item_name"] in coordinator[0]["message"]
    )
    assert all(b["status"] != "cancelled" for b in rows(w, ResourceBooking, car_id=car))


@pytest.mark.parametrize("size", [(120, 24), (80, 24)], ids=["120x24", "80x24"])
def test_job_list_with_a_running_clock_snapshot(snap_compare, ui_store, shop, size) -> None:  # type: ignore[no-untyped-def]
    w = shop
    w.db.run(timers.start, w["mechanic499"], w.jobs[0])
    at(hours=1, minutes=23, seconds=45)
    app = make_app(ui_store, actor=w["mechanic499"])

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", [(120, 28), (80, 24)], ids=["120x28", "80x24"])
def test_inspection_checklist_snapshot(snap_compare, ui_store, shop, size) -> None:  # type: ignore[no-untyped-def]
    from db import inspection

    w = shop
    car = w.cars[0]
    w.db.run(workflow.move_car, w["coordinator499"], car, "at_prep_center")
    per = w["mechanic499"]
    names = inspection.DEFAULT_CHECKLIST
    w.db.run(
        inspection.record_item, per, car, names[0], "critical", "1.5 mm left on the front tyres"
    )
    w.db.run(inspection.record_item, per, car, names[1], "ok")
    w.db.run(inspection.record_item, per, car, names[2], "issue", "Rear discs worn, pads fine")
    app = make_app(ui_store, actor=per)

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, pilot.app)
        await pilot.press("i")
        await settle(pilot, pilot.app)

    assert snap_compare(app, terminal_size=size, run_before=ready)


async def test_the_jobs_list_says_there_are_none_only_once_it_has_read_them(  # type: ignore[no-untyped-def]
    ui_store, shop, monkeypatch
) -> None:
    """While Pål's jobs are being read (a slow server), the list does not claim "No jobs this
    day"; once read, his day without jobs says so."""
    from test_typeahead import held_rule

    entered, release = held_rule(monkeypatch, jobs, "my_jobs")
    app = make_app(ui_store, actor=shop["mechanic2_499"])
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(200):
                if entered.is_set():
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            table = app.screen.query_one(JobsTable)
            assert "No jobs" not in _first_line(table)
            release.set()
            await settle(pilot, app)
            assert "No jobs this day" in _first_line(table)
    finally:
        release.set()


def _first_line(table: Any) -> str:
    return "".join(segment.text for segment in table.render_line(0))
