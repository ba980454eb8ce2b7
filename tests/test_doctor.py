"""``prepfloor doctor`` (db/doctor.py) on SQLite and PostgreSQL: a database written only through the
rules is clean; data changed behind the rules' back is reported, each kind as an error."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from db import admin, capacity, clock, delivery, doctor, ledger, ledger_rows, timers, workflow
from db.models import Car
from world import T0, World, at, build_world


def move(w: World, login: str, car_id: int, *targets: str) -> None:
    for target in targets:
        w.db.run(workflow.move_car, w[login], car_id, target)


def inspect(w: World, car_id: int) -> None:
    def write(s: Any) -> None:
        car = s.get(Car, car_id)
        car.inspection_completed_at = clock.utcnow()
        car.inspection_approved = True
        s.add(car)

    w.db.run(write)


def book(w: World, code: str, person: str | None, hours: float, **kw: Any) -> int:
    return w.db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt[code],
        date=w.day(0),
        estimated_hours=hours,
        user_id=w[person].user_id if person else None,
        **kw,
    ).id


@pytest.fixture
def busy(db) -> Any:  # type: ignore[no-untyped-def]
    """A world with a day's work done through the rules only: cars in many states, bookings
    completed, cancelled and marked no-show, a running timer, a shared booking of 497."""
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        w = build_world(db, days=3)
        ids: dict[str, int] = {}
        # a 495 car all the way to archived, with clocked technical work
        car = ids["delivered"] = w.register("seller495")
        at(minutes=10)
        move(w, "seller495", car, "in_transit")
        at(minutes=20)
        move(w, "mechanic499", car, "at_prep_center", "inspection")
        at(minutes=30)
        inspect(w, car)
        ids["tech"] = book(w, "TECH_PREP", "mechanic499", 2, car_id=car)
        at(minutes=40)
        w.db.run(timers.start, w["mechanic499"], ids["tech"])
        at(hours=2)
        w.db.run(timers.complete, w["mechanic499"], ids["tech"])
        at(hours=2, minutes=10)
        move(w, "coordinator499", car, "ready_for_delivery")
        at(hours=2, minutes=40)
        w.db.run(delivery.record_milestone, w["seller495"], car, "delivered_to_dealership_at")
        at(hours=3)
        move(w, "seller495", car, "delivered", "archived")
        # 497's work on the shared TECH_PREP, still booked
        ids["shared"] = book(w, "TECH_PREP", "mechanic2_499", 3, consumer_dealership_id=w.d["497"])
        # a 499 car with a cancelled wash and a no-show
        car = ids["own"] = w.register("seller499")
        for no_show in (False, True):
            wash = book(w, "WASH", None, 1, car_id=car)
            w.db.run(ledger.cancel, w["coordinator499"], wash, reason="moved", no_show=no_show)
        ids["wash"] = book(w, "WASH", None, 0.5, car_id=car)
        at(hours=4)
        w.db.run(timers.start, w["mechanic2_499"], ids["wash"])  # still running
        # a draft without a VIN yet
        from db import cars

        ids["draft"] = w.db.run(cars.save_draft, w["seller495"], brand="Audi").id
        w.ids = ids  # type: ignore[attr-defined]
        yield w
    finally:
        clock.freeze(None)
        clock.set_zone(None)


def findings(w: World) -> list[doctor.Finding]:
    return w.db.query(doctor.run_checks)


def errors(w: World) -> list[str]:
    return [f.message for f in findings(w) if f.level == "error"]


def sql(w: World, statement: str, **params: Any) -> None:
    w.db.run(lambda s: s.execute(text(statement), params))


def team_row_id(w: World, code: str = "TECH_PREP") -> int:
    row = w.db.query(ledger_rows.capacity_row, w.d["499"], w.rt[code], w.day(0))
    return row.id


def test_a_database_written_through_the_rules_is_clean(busy: World) -> None:
    assert findings(busy) == []
    # the rules did write what the checks look at
    counts = busy.db.query(
        lambda s: s.execute(
            text(
                "SELECT (SELECT count(*) FROM resource_bookings), "
                "(SELECT count(*) FROM timebank_entries WHERE ended_at IS NULL), "
                "(SELECT count(*) FROM cars WHERE status = 'archived')"
            )
        ).one()
    )
    assert tuple(counts) == (5, 1, 1)


def test_allowed_but_odd_states_are_warnings(busy: World) -> None:
    w = busy
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(0),
        allocated_hours=1,
        allow_overbook=True,
    )
    agreement = w.db.query(
        lambda s: s.scalar(
            text("SELECT id FROM resource_sharing WHERE consumer_dealership_id = :c"),
            {"c": w.d["497"]},
        )
    )
    w.db.run(admin.save_sharing, None, agreement, max_hours_per_week=2, below_booked_ok=True)
    found = findings(w)
    assert [f.level for f in found] == ["warning", "warning"]
    assert {f.check for f in found} == {"overbooked", "sharing"}
    assert any("over the weekly cap of 2 h" in f.message for f in found)


CORRUPTIONS: list[tuple[str, Any, str]] = [
    (
        "team used_hours off",
        lambda w: sql(
            w,
            "UPDATE resource_capacities SET used_hours = used_hours + 1 WHERE id = :id",
            id=team_row_id(w),
        ),
        "Team capacity #{team} ({day0}): used_hours 6 but its bookings hold 5.",
    ),
    (
        "person used_hours off",
        lambda w: sql(
            w,
            "UPDATE resource_capacities SET used_hours = 0 "
            "WHERE user_id IS NOT NULL AND used_hours > 0",
        ),
        "but its bookings hold 2.",
    ),
    (
        "a team row missing",
        lambda w: sql(w, "DELETE FROM resource_capacities WHERE id = :id", id=team_row_id(w)),
        "holds hours on a day with no team capacity row",
    ),
    (
        "registered without registered_at",
        lambda w: sql(w, "UPDATE cars SET registered_at = NULL WHERE id = :id", id=w.ids["own"]),
        "Car #{own} is registered but has no registered_at.",
    ),
    (
        "delivered without the handover stamp",
        lambda w: sql(
            w,
            "UPDATE cars SET status = 'delivered', delivered_to_customer_at = NULL WHERE id = :id",
            id=w.ids["delivered"],
        ),
        "Car #{delivered} is delivered but has no delivered_to_customer_at.",
    ),
    (
        "archived without archived_at",
        lambda w: sql(
            w, "UPDATE cars SET archived_at = NULL WHERE id = :id", id=w.ids["delivered"]
        ),
        "Car #{delivered} is archived but has no archived_at.",
    ),
    (
        "ready stamp on a car still in prep",
        lambda w: sql(
            w,
            "UPDATE cars SET status = 'technical_prep' WHERE id = :id",
            id=w.ids["delivered"],
        ),
        "Car #{delivered} is technical_prep but has ready_for_delivery_at.",
    ),
    (
        "a registered car with a bad VIN",
        lambda w: sql(w, "UPDATE cars SET vin = 'WBA123' WHERE id = :id", id=w.ids["own"]),
        "Car #{own}: VIN has 6 characters; it needs exactly 17.",
    ),
    (
        "a cross-dealership booking without agreement",
        lambda w: sql(
            w,
            "DELETE FROM resource_sharing WHERE consumer_dealership_id = :c",
            c=w.d["497"],
        ),
        "Booking #{shared}: dealership {d497} books at {d499} without a sharing agreement.",
    ),
    (
        "a booking whose consumer is not the car's dealership",
        lambda w: sql(
            w,
            "UPDATE resource_bookings SET consumer_dealership_id = :c WHERE id = :id",
            c=w.d["400"],
            id=w.ids["wash"],
        ),
        "Booking #{wash}: the consumer is not the dealership of car #{own}.",
    ),
    (
        "a sales-only dealership without prep center",
        lambda w: sql(
            w, "UPDATE dealership SET prep_center_id = NULL WHERE id = :id", id=w.d["495"]
        ),
        "Kristiansand Vest is sales-only without its own prep and has no prep center.",
    ),
    (
        "a prep center that does not do prep",
        lambda w: sql(
            w, "UPDATE dealership SET does_own_prep = :f WHERE id = :id", f=False, id=w.d["499"]
        ),
        "Kristiansand Vest's prep center does not do prep work.",
    ),
    (
        "a hierarchy loop",
        lambda w: sql(
            w,
            "UPDATE dealership SET parent_dealership_id = :p WHERE id = :id",
            p=w.d["495"],
            id=w.d["400"],
        ),
        "Vest HQ is part of a hierarchy loop.",
    ),
    (
        "actual hours that are not the clocked hours",
        lambda w: sql(
            w,
            "UPDATE resource_bookings SET actual_hours = actual_hours + 1 WHERE id = :id",
            id=w.ids["tech"],
        ),
        "Booking #{tech}: actual_hours",
    ),
    (
        "a car shown to a dealership that does not work on it",
        lambda w: sql(
            w,
            "INSERT INTO car_access (car_id, dealership_id) VALUES (:car, :d)",
            car=w.ids["own"],
            d=w.d["400"],
        ),
        "Dealership {d400} sees car #{own} without a booking on it.",
    ),
    (
        "a stopped entry without hours",
        lambda w: sql(w, "UPDATE timebank_entries SET hours = NULL WHERE ended_at IS NOT NULL"),
        "is stopped but has no hours.",
    ),
]


@pytest.mark.parametrize(("what", "corrupt", "words"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_data_changed_behind_the_rules_is_an_error(
    busy: World, what: str, corrupt: Any, words: str
) -> None:
    w = busy
    assert errors(w) == []
    corrupt(w)
    expected = words.format(
        team=team_row_id(w) if "{team}" in words else "",
        day0=w.day(0).isoformat(),
        d497=w.d["497"],
        d499=w.d["499"],
        d400=w.d["400"],
        **w.ids,  # type: ignore[attr-defined]
    )
    found = errors(w)
    assert any(expected in message for message in found), (what, found)


def test_timestamps_out_of_order_are_an_error(busy: World) -> None:
    w = busy
    car_id = w.ids["delivered"]  # type: ignore[attr-defined]

    def write(s: Any) -> None:
        car = s.get(Car, car_id)
        car.registered_at = T0 + timedelta(days=1)  # registered after it was delivered
        s.add(car)

    w.db.run(write)
    assert f"Car #{car_id}: its workflow timestamps are out of order." in errors(w)


def test_repair_rebuilds_what_a_writer_behind_the_rules_broke(busy: World) -> None:
    """A SQL client (or another tool on the SQLite file) changed bookings and capacity rows
    without the rules: ``doctor --repair`` rebuilds the derived rows from their sources, logs an
    event for each, and the doctor is clean again; a second repair finds nothing."""
    from db import repair

    w = busy
    access_before = w.db.query(
        lambda s: sorted(s.execute(text("SELECT car_id, dealership_id FROM car_access")).all())
    )
    sql(
        w,
        "UPDATE resource_capacities SET used_hours = used_hours + 2.5 WHERE id = :id",
        id=team_row_id(w),
    )
    sql(  # hours changed on a booking: its team row and its person's row no longer add up
        w,
        "UPDATE resource_bookings SET estimated_hours = estimated_hours + 1 WHERE id = :id",
        id=w.ids["shared"],
    )
    sql(w, "DELETE FROM car_access")
    sql(
        w,
        "INSERT INTO car_access (car_id, dealership_id) VALUES (:car, :d)",
        car=w.ids["own"],
        d=w.d["400"],
    )
    assert any("used_hours" in e for e in errors(w))
    repaired = w.db.run(repair.repair)
    assert errors(w) == []
    assert (
        w.db.query(
            lambda s: sorted(s.execute(text("SELECT car_id, dealership_id FROM car_access")).all())
        )
        == access_before
    )
    capacity_rows = [r for r in repaired if r.table == "resource_capacities"]
    # the team row (set by hand, and its booking grew) and the booking's person's row
    assert len(capacity_rows) == 2 and team_row_id(w) in {r.row_id for r in capacity_rows}
    logged = w.db.query(
        lambda s: s.execute(
            text("SELECT count(*) FROM events WHERE CAST(changes AS TEXT) LIKE '%doctor --repair%'")
        ).scalar_one()
    )
    assert logged == len(repaired)
    assert w.db.run(repair.repair) == []


def test_doctor_repair_on_the_command_line(busy: World) -> None:
    from typer.testing import CliRunner

    from prepfloor.cli import app as cli

    w = busy
    sql(
        w,
        "UPDATE resource_capacities SET used_hours = used_hours + 2.5 WHERE id = :id",
        id=team_row_id(w),
    )
    runner = CliRunner()
    url = str(w.db.engine.url.render_as_string(hide_password=False))
    found = runner.invoke(cli, ["doctor", "--db", url])
    assert found.exit_code == 1 and "used_hours" in found.stdout
    fixed = runner.invoke(cli, ["doctor", "--repair", "--db", url])
    assert fixed.exit_code == 0, fixed.output
    assert f"Capacity #{team_row_id(w)}: used_hours" in fixed.stdout
    assert "1 row repaired." in fixed.stdout and "0 error(s)" in fixed.stdout
