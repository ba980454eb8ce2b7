"""The demo database: built by the rules, clean for ``doctor``, and what the seed describes."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from db import users
from db.clock import as_utc
from db.doctor import run_checks
from db.engine import Database
from db.errors import PrepfloorError
from db.store import Store
from db.vocab import CAR_STATUSES, ROLES
from prepfloor.demo import build_demo, ensure_demo, plan_demo

TODAY = date(2026, 3, 4)  # a Wednesday: work under way, a vacation day next week


def rows(database: Database, sql: str, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    with database.read() as session:
        return [tuple(r) for r in session.execute(text(sql), params).all()]


def one(database: Database, sql: str, **params: object) -> object:
    return rows(database, sql, **params)[0][0]


def check_doctor_finds_nothing(demo: Database) -> None:
    findings = demo.query(run_checks)
    assert [f.message for f in findings if f.level == "error"] == []
    assert [f.message for f in findings] == []  # no overbooked day, no cap exceeded either


def check_cars_over_every_status(demo: Database) -> None:
    counts = dict(rows(demo, "SELECT status, count(*) FROM cars GROUP BY status"))
    assert set(counts) == set(CAR_STATUSES)
    assert 50 <= sum(counts.values()) <= 80
    # active VINs are valid and unique (doctor checks it too); order numbers are set
    assert one(demo, "SELECT count(*) FROM cars WHERE status <> 'draft' AND vin IS NULL") == 0
    assert one(demo, "SELECT count(*) FROM cars WHERE order_number IS NULL") == 0
    assert (
        one(demo, "SELECT count(*) FROM cars WHERE status <> 'draft' AND customer_phone IS NULL")
        == 0
    )


def check_timestamps_follow_the_status(demo: Database) -> None:
    cars = rows(
        demo,
        "SELECT status, registered_at, arrived_prep_center_at, inspection_completed_at, "
        "technical_started_at, technical_completed_at, cosmetic_completed_at, "
        "ready_for_delivery_at, delivered_to_customer_at, archived_at, expected_delivery_date "
        "FROM cars",
    )
    order = list(CAR_STATUSES)
    for status, registered, arrived, inspected, t_start, t_done, c_done, ready, delivered, archived, expected in cars:  # fmt: skip
        stage = order.index(status)
        if status == "draft":
            assert registered is None
            continue
        if status != "archived":
            assert registered is not None
            assert expected is not None
        if order.index("at_prep_center") <= stage < order.index("archived"):
            assert arrived is not None
        if order.index("parts_ordered") <= stage < order.index("archived"):
            assert inspected is not None
        if order.index("cosmetic_prep") <= stage < order.index("archived"):
            assert t_start is not None and t_done is not None
        if status in ("ready_for_delivery", "delivered"):
            assert c_done is not None and ready is not None
        if status == "delivered":
            assert delivered is not None
        if status == "archived":
            assert archived is not None
        if status in ("registered", "in_transit", "at_prep_center", "inspection"):
            assert t_start is None and ready is None


def check_history_of_every_car(demo: Database) -> None:
    """Each status a car reached is an event with who did it, in order."""
    cars = rows(demo, "SELECT id, status FROM cars")
    events = rows(
        demo,
        "SELECT car_id, user_id, changes, occurred_at FROM events "
        "WHERE entity = 'cars' AND action = 'status' ORDER BY id",
    )
    moves: dict[int, list[tuple[object, object]]] = {}
    for car_id, user_id, changes, occurred_at in events:
        assert user_id is not None
        moves.setdefault(car_id, []).append((changes, occurred_at))
    for car_id, status in cars:
        if status == "draft":
            assert car_id not in moves
            continue
        history = moves[car_id]
        last = history[-1][0]
        last = json.loads(last) if isinstance(last, str) else last
        assert last["status"][1] == status
        times = [as_utc(at) for _, at in history]
        assert times == sorted(times)


def check_dealerships_follow_the_seed(demo: Database) -> None:
    by_number = {
        r[0]: r[1:]
        for r in rows(
            demo,
            "SELECT dealership_number, id, dealership_name, dealership_type, does_own_prep, "
            "prep_center_id, parent_dealership_id, brand_colors FROM dealership",
        )
    }
    kv_id, kv_name, kv_type, kv_own, kv_prep, _parent, _colors = by_number["495"]
    pg_id, pg_name, pg_type, pg_own, _prep, _parent, pg_colors = by_number["499"]
    assert (kv_name, kv_type, bool(kv_own)) == ("Kristiansand Vest", "sales_only", False)
    assert kv_prep == pg_id
    assert (pg_name, pg_type, bool(pg_own)) == ("Porsgrunn", "sales_and_prep", True)
    types = [v[2] for v in by_number.values()]
    assert "prep_center_only" in types
    assert types.count("sales_only") >= 2
    parents = [v[5] for v in by_number.values() if v[5] is not None]
    assert len(parents) >= 2  # a headquarters with branches
    colors = json.loads(pg_colors) if isinstance(pg_colors, str) else pg_colors
    assert colors["primary"].startswith("#") and "secondary" in colors and "accent" in colors
    assert kv_id != pg_id


def check_resource_types(demo: Database) -> None:
    types = {
        r[0]: r[1:]
        for r in rows(
            demo,
            "SELECT code, name, is_productive, bookable, requires_assignment, prep_stage "
            "FROM resource_types",
        )
    }
    assert types["TECH_PREP"] == ("Technical Preparation", True, True, True, "technical")
    assert types["COSMETIC"][0] == "Cosmetic Preparation" and types["COSMETIC"][4] == "cosmetic"
    wash = types["WASH"]
    assert wash[0] == "Vehicle Washing" and not wash[1] and not wash[3]
    lunch = types["LUNCH"]
    assert lunch[0] == "Lunch Break" and not lunch[1] and lunch[3]
    assert {"INSPECTION", "ACCESSORY_FIT"} <= set(types)


def check_sharing_agreements(demo: Database) -> None:
    agreements = rows(
        demo,
        "SELECT p.dealership_number, c.dealership_number, t.code, s.max_hours_per_week, "
        "s.priority, s.enabled FROM resource_sharing s "
        "JOIN dealership p ON p.id = s.provider_dealership_id "
        "JOIN dealership c ON c.id = s.consumer_dealership_id "
        "JOIN resource_types t ON t.id = s.resource_type_id",
    )
    tech = {
        (p, c): (h, prio, bool(on)) for p, c, code, h, prio, on in agreements if code == "TECH_PREP"
    }
    assert tech[("499", "495")] == (40, 50, True)
    assert (20, 80, True) in [v for (p, c), v in tech.items() if p == "499" and c != "495"]
    # cross-dealership bookings exist and stay under their caps (doctor warns otherwise)
    assert (
        one(
            demo,
            "SELECT count(*) FROM resource_bookings "
            "WHERE provider_dealership_id <> consumer_dealership_id AND status = 'completed'",
        )
        > 0
    )


def check_capacity_from_a_weekly_pattern(demo: Database) -> None:
    team = rows(
        demo,
        "SELECT c.date, c.allocated_hours, c.recurrence_pattern FROM resource_capacities c "
        "JOIN resource_types t ON t.id = c.resource_type_id "
        "JOIN dealership d ON d.id = c.dealership_id "
        "WHERE t.code = 'TECH_PREP' AND d.dealership_number = '499' AND c.user_id IS NULL "
        "ORDER BY c.date",
    )
    days = [date.fromisoformat(str(d)) for d, _h, _p in team]
    assert all(d.weekday() < 5 for d in days)
    assert days[0] <= TODAY - timedelta(weeks=4) + timedelta(days=2)
    assert days[-1] >= TODAY + timedelta(weeks=6) - timedelta(days=3)
    assert {h for _d, h, _p in team} == {16.0, 8.0}  # 8 h on the mechanic's day off
    assert sum(1 for _d, _h, p in team if p is not None) >= len(team) - 1
    vacation = rows(
        demo,
        "SELECT c.date, u.role FROM resource_capacities c JOIN users u ON u.id = c.user_id "
        "WHERE c.allocated_hours = 0",
    )
    assert len(vacation) == 1 and vacation[0][1] == "mechanic"
    cosmetic = one(
        demo,
        "SELECT max(c.allocated_hours) FROM resource_capacities c "
        "JOIN resource_types t ON t.id = c.resource_type_id WHERE t.code = 'COSMETIC' "
        "AND c.user_id IS NULL",
    )
    assert cosmetic == 8.0


def check_users_of_every_role(demo: Database) -> None:
    people = rows(demo, "SELECT login, role, pin_hash, dealership_id FROM users")
    assert {role for _l, role, _p, _d in people} == set(ROLES)
    assert all(login == login.lower() for login, *_ in people)
    assert ("admin", "admin") in [(login, role) for login, role, *_ in people]
    for login, role, pin_hash, dealership_id in people:
        if role in ("mechanic", "detailer"):
            assert pin_hash is not None and users.verify_secret("1234", pin_hash), login
        else:
            assert pin_hash is None, login
        assert (dealership_id is None) == (role == "admin")
    assert {"kari", "ola"} <= {login for login, *_ in people}


def check_bookings_and_the_time_bank(demo: Database) -> None:
    statuses = dict(rows(demo, "SELECT status, count(*) FROM resource_bookings GROUP BY status"))
    assert {"scheduled", "completed", "cancelled", "no_show"} <= set(statuses)
    completed = rows(
        demo,
        "SELECT b.id, b.actual_hours, sum(t.hours), count(t.id) FROM resource_bookings b "
        "LEFT JOIN timebank_entries t ON t.booking_id = b.id WHERE b.status = 'completed' "
        "GROUP BY b.id, b.actual_hours",
    )
    assert completed
    for _id, actual, clocked, entries in completed:
        assert entries >= 1
        assert abs(float(actual) - float(clocked)) < 1e-6
    cancelled = rows(
        demo, "SELECT notes FROM resource_bookings WHERE status IN ('cancelled', 'no_show')"
    )
    assert all(notes and ("Cancelled:" in notes or "No-show:" in notes) for (notes,) in cancelled)
    future = one(
        demo,
        "SELECT count(*) FROM resource_bookings WHERE date > :today "
        "AND status IN ('scheduled', 'confirmed')",
        today=TODAY,
    )
    assert future > 5
    running = rows(
        demo,
        "SELECT u.role FROM timebank_entries t JOIN users u ON u.id = t.user_id "
        "WHERE t.ended_at IS NULL",
    )
    assert len(running) <= 1 and all(role == "mechanic" for (role,) in running)


def check_the_rest_of_the_floor(demo: Database) -> None:
    for table in (
        "parts_orders",
        "inspection_checklist_items",
        "customer_communications",
        "notifications",
    ):
        assert one(demo, f"SELECT count(*) FROM {table}") > 0, table
    assert one(demo, "SELECT count(*) FROM notifications WHERE NOT read") > 0
    assert one(demo, "SELECT count(*) FROM cars WHERE parts_ordered_prep_at IS NOT NULL") == one(
        demo,
        "SELECT count(DISTINCT car_id) FROM parts_orders WHERE ordered_by = 'prep_center'",
    )


CHECKS = (
    check_doctor_finds_nothing,
    check_cars_over_every_status,
    check_timestamps_follow_the_status,
    check_history_of_every_car,
    check_dealerships_follow_the_seed,
    check_resource_types,
    check_sharing_agreements,
    check_capacity_from_a_weekly_pattern,
    check_users_of_every_role,
    check_bookings_and_the_time_bank,
    check_the_rest_of_the_floor,
)


def test_demo_follows_the_seed(db: Database, request: pytest.FixtureRequest) -> None:
    """One build per engine (it takes a couple of seconds), every check on it."""
    build_demo(db, today=TODAY)
    for check in CHECKS:
        check(db)
    if db.dialect == "postgresql":
        # deterministic given the seed and the day, whatever the engine
        from conftest import new_database

        urls = new_database(request, "sqlite", request.getfixturevalue("tmp_path"))
        again = Database(next(urls))
        try:
            build_demo(again, today=TODAY)
            assert fingerprint(again) == fingerprint(db)
        finally:
            again.dispose()


def fingerprint(database: Database) -> list[tuple[str, ...]]:
    cars = rows(
        database,
        "SELECT vin, status, order_number, customer_name, registered_at FROM cars ORDER BY id",
    )
    bookings = rows(
        database,
        "SELECT car_id, date, start_time, estimated_hours, status FROM resource_bookings "
        "ORDER BY id",
    )
    return [(*map(str, r[:4]), str(as_utc(r[4]))) for r in cars] + [
        tuple(str(v)[:8] if i == 2 else str(v) for i, v in enumerate(r)) for r in bookings
    ]


def _small_demo(database: Database, **_kwargs: object) -> None:
    """A stand-in for build_demo where only ensure_demo's own logic is under test."""
    from db import admin, events
    from prepfloor.demo import DEMO_MARKER

    def run(session) -> None:  # type: ignore[no-untyped-def]
        admin.save_dealership(
            session,
            None,
            dealership_number="499",
            dealership_name="Porsgrunn",
            dealership_type="sales_and_prep",
            does_own_prep=True,
        )
        events.record(session, None, *DEMO_MARKER)

    database.run(run)


def test_ensure_demo_builds_reuses_and_resets(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prepfloor.demo

    monkeypatch.setattr(prepfloor.demo, "build_demo", _small_demo)
    # SQLite: a file that does not exist yet (nor its folder); PostgreSQL: an empty database
    url = str(tmp_path / "data" / "demo.db") if db_url.startswith("sqlite") else db_url
    assert ensure_demo(url) is True
    store = Store(url)
    try:
        assert store.fast.rows("SELECT count(*) FROM dealership")[0][0] == 1
        with store.db.write() as session:
            session.execute(text("UPDATE dealership SET dealership_name = 'Changed'"))
    finally:
        store.close()
    assert ensure_demo(url) is False  # already there: left alone
    store = Store(url)
    try:
        assert store.fast.rows("SELECT dealership_name FROM dealership")[0][0] == "Changed"
    finally:
        store.close()
    assert ensure_demo(url, reset=True) is True  # thrown away and built again
    store = Store(url)
    try:
        assert store.fast.rows("SELECT dealership_name, id FROM dealership") == [("Porsgrunn", 1)]
    finally:
        store.close()


def test_ensure_demo_never_wipes_real_data(db_url: str) -> None:
    store = Store(db_url)
    store.run(
        users.create_user, None, login="bob", display_name="Bob", role="admin", dealership_id=None
    )
    store.close()
    assert ensure_demo(db_url) is False  # it has data: no demo on top of it
    with pytest.raises(PrepfloorError, match="real prepfloor data"):
        ensure_demo(db_url, reset=True)
    store = Store(db_url)
    try:
        assert store.fast.rows("SELECT login FROM users") == [("bob",)]
    finally:
        store.close()


def test_reset_leaves_a_file_that_is_not_a_database_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list")
    with pytest.raises(PrepfloorError, match="not a prepfloor database"):
        ensure_demo(str(path), reset=True)
    assert path.read_text() == "shopping list"


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 30, 8, 42),  # Monday 08:42: no car could be waiting at the prep center
        datetime(2026, 11, 30, 15, 13),  # Monday afternoon: a cosmetic job could not be placed
        datetime(2026, 12, 4, 9, 0),
        datetime(2026, 12, 5, 9, 56),  # a Saturday morning
    ],
    ids=lambda t: t.strftime("%a-%H%M"),
)
def test_the_demo_can_be_planned_at_any_time(now: datetime) -> None:
    """`prepfloor demo` builds the demo for the moment it is asked: at some moments a car could not
    reach its planned status and the build failed ('could not place car 18 at at_prep_center');
    such a car now takes the nearest status that can be reached."""
    _days, plans, steps = plan_demo(now)
    assert len(plans) > 50 and steps
    assert {p.target for p in plans} >= {"draft", "registered", "technical_prep", "delivered"}
