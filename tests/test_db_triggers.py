"""PostgreSQL keeps prepfloor's invariants for every writer (db/triggers.py, migration 0011).

A raw SQL client (psycopg, as ``psql``, a BI tool or Directus would write) books, moves, re-sizes,
cancels and deletes; the capacity ledger stays exact in the same transaction, an overbooking is
refused by the database, every write leaves its ``events`` row with the writer, ``updated_at`` is
set, ``prepfloor doctor`` finds nothing wrong, and every change is announced on the
``prepfloor_events`` channel.  prepfloor's own writes are left to its rules: no double count and no
second event.  Raw clients and prepfloor racing for the last hours never overbook.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import new_database
from db import doctor, triggers
from db.engine import Database
from db.urls import libpq_conninfo, normalize_url
from world import World, book, build_world, ledger_errors

APP = "raw-test"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from new_database(request, "postgresql", tmp_path)


@pytest.fixture
def w(pg_url: str) -> Iterator[World]:
    db = Database(pg_url)
    try:
        yield build_world(db, days=3)
    finally:
        db.engine.dispose()


def raw(w: World, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A client that is not prepfloor: plain psycopg, its own application name."""
    url = w.db.engine.url.render_as_string(hide_password=False)
    return psycopg.connect(
        libpq_conninfo(normalize_url(url)), autocommit=autocommit, application_name=APP
    )


def one(conn: psycopg.Connection[Any], sql: str, *params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else (row[0] if len(row) == 1 else row)


def used(w: World, day: int, login: str | None = None, code: str = "TECH_PREP") -> float:
    with raw(w) as conn:
        if login is None:
            return float(
                one(
                    conn,
                    "SELECT used_hours FROM resource_capacities WHERE dealership_id = %s "
                    "AND resource_type_id = %s AND date = %s AND user_id IS NULL",
                    w.d["499"],
                    w.rt[code],
                    w.day(day),
                )
            )
        return float(
            one(
                conn,
                "SELECT used_hours FROM resource_capacities WHERE dealership_id = %s "
                "AND resource_type_id = %s AND date = %s AND user_id = %s",
                w.d["499"],
                w.rt[code],
                w.day(day),
                w[login].user_id,
            )
        )


def insert_booking(
    conn: psycopg.Connection[Any],
    w: World,
    day: int,
    hours: float,
    login: str | None = "mechanic499",
    *,
    car_id: int | None = None,
    consumer: str = "499",
    code: str = "TECH_PREP",
) -> int:
    """A booking as another tool writes it: only the columns it must give (the rest are the
    database's defaults)."""
    return int(
        one(
            conn,
            "INSERT INTO resource_bookings (car_id, resource_type_id, date, estimated_hours, "
            "provider_dealership_id, consumer_dealership_id, user_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            car_id,
            w.rt[code],
            w.day(day),
            hours,
            w.d["499"],
            w.d[consumer],
            w[login].user_id if login else None,
        )
    )


def doctor_errors(w: World) -> list[str]:
    return [f.message for f in w.db.query(doctor.run_checks) if f.level == "error"]


def raw_events(w: World, entity: str | None = None) -> list[tuple[Any, ...]]:
    with raw(w) as conn:
        sql = (
            "SELECT entity, entity_id, action, changes, car_id, writer, user_id FROM events "
            "WHERE writer IS NOT NULL"
        )
        if entity:
            return conn.execute(sql + " AND entity = %s ORDER BY id", (entity,)).fetchall()
        return conn.execute(sql + " ORDER BY id").fetchall()


def test_the_triggers_are_installed_by_the_migration(w: World) -> None:
    with w.db.engine.connect() as conn:
        assert triggers.installed(conn) == triggers.expected()


def test_a_raw_client_books_moves_resizes_cancels_and_deletes_and_the_ledger_follows(
    w: World,
) -> None:
    with raw(w) as conn:
        first = insert_booking(conn, w, 0, 3)
        assert (used(w, 0), used(w, 0, "mechanic499")) == (3, 3)
        # moved to the next day and to the other mechanic
        conn.execute(
            "UPDATE resource_bookings SET date = %s, user_id = %s WHERE id = %s",
            (w.day(1), w["mechanic2_499"].user_id, first),
        )
        assert (used(w, 0), used(w, 0, "mechanic499")) == (0, 0)
        assert (used(w, 1), used(w, 1, "mechanic2_499")) == (3, 3)
        # longer, on the same rows
        conn.execute("UPDATE resource_bookings SET estimated_hours = 5 WHERE id = %s", (first,))
        assert (used(w, 1), used(w, 1, "mechanic2_499")) == (5, 5)
        second = insert_booking(conn, w, 1, 2, "mechanic499")
        assert (used(w, 1), used(w, 1, "mechanic499")) == (7, 2)
        conn.execute("UPDATE resource_bookings SET status = 'cancelled' WHERE id = %s", (first,))
        assert (used(w, 1), used(w, 1, "mechanic2_499")) == (2, 0)
        conn.execute("DELETE FROM resource_bookings WHERE id = %s", (second,))
        assert (used(w, 1), used(w, 1, "mechanic499")) == (0, 0)
    assert ledger_errors(w) == []
    assert doctor_errors(w) == []
    actions = [(e[0], e[2]) for e in raw_events(w, "resource_bookings")]
    assert actions == [
        ("resource_bookings", "create"),
        ("resource_bookings", "update"),
        ("resource_bookings", "update"),
        ("resource_bookings", "create"),
        ("resource_bookings", "update"),
        ("resource_bookings", "delete"),
    ]
    moved = raw_events(w, "resource_bookings")[1]
    assert moved[3]["date"] == [w.day(0).isoformat(), w.day(1).isoformat()]
    assert moved[5] == f"postgres ({APP})" and moved[6] is None
    # the capacity rows the ledger changed have their events too
    assert raw_events(w, "resource_capacities")


def test_an_overbooking_from_a_raw_client_is_refused_by_the_database(w: World) -> None:
    with raw(w) as conn:
        insert_booking(conn, w, 0, 6)
        before = (used(w, 0), used(w, 0, "mechanic499"))
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            insert_booking(conn, w, 0, 3)  # the mechanic has 8 h
        assert "the bookings would hold 9" in str(refused.value)
        assert (used(w, 0), used(w, 0, "mechanic499")) == before
        with pytest.raises(psycopg.errors.CheckViolation, match="has no capacity"):
            insert_booking(conn, w, 30, 1, None, code="WASH")  # no capacity that day
        # a booking made longer than the person's day
        booking_id = one(conn, "SELECT max(id) FROM resource_bookings")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "UPDATE resource_bookings SET estimated_hours = 9 WHERE id = %s", (booking_id,)
            )
        assert one(conn, "SELECT count(*) FROM resource_bookings") == 1
    assert doctor_errors(w) == []


def test_a_raw_client_keeps_the_sharing_rules_and_the_cars_consumer(w: World) -> None:
    car = w.register("seller495")  # a 495 car: 499 does its prep for up to 40 h a week
    # two days of one ISO week (the weekly cap counts per week): on a Sunday, Monday and Tuesday
    day = 1 if w.day(0).isoweekday() == 7 else 0
    with raw(w) as conn:
        with pytest.raises(psycopg.errors.CheckViolation, match="consumer_dealership_id must be"):
            insert_booking(conn, w, day, 2, car_id=car, consumer="499")
        insert_booking(conn, w, day, 2, car_id=car, consumer="495")
        with pytest.raises(psycopg.errors.CheckViolation, match="no enabled sharing agreement"):
            insert_booking(conn, w, 0, 1, "detailer499", consumer="495", code="COSMETIC")
        conn.execute(
            "UPDATE resource_sharing SET max_hours_per_week = 3 WHERE consumer_dealership_id = %s",
            (w.d["495"],),
        )
        with pytest.raises(psycopg.errors.CheckViolation, match="may use 3"):
            insert_booking(conn, w, day + 1, 2, car_id=car, consumer="495")
    assert doctor_errors(w) == []


def test_used_hours_cannot_be_written_by_hand_and_hours_not_cut_below_the_bookings(
    w: World,
) -> None:
    with raw(w) as conn:
        insert_booking(conn, w, 0, 4)
        team = one(
            conn,
            "SELECT id FROM resource_capacities WHERE date = %s AND user_id IS NULL "
            "AND resource_type_id = %s",
            w.day(0),
            w.rt["TECH_PREP"],
        )
        conn.execute("UPDATE resource_capacities SET used_hours = 0 WHERE id = %s", (team,))
        assert used(w, 0) == 4
        with pytest.raises(psycopg.errors.CheckViolation, match="cannot go below"):
            conn.execute(
                "UPDATE resource_capacities SET allocated_hours = 3 WHERE id = %s", (team,)
            )
        conn.execute("UPDATE resource_capacities SET allocated_hours = 12 WHERE id = %s", (team,))
        assert one(conn, "SELECT available_hours FROM resource_capacities WHERE id = %s", team) == 8
    assert doctor_errors(w) == []


def test_car_access_follows_raw_bookings_at_a_third_dealership(w: World) -> None:
    car = w.register("seller495")
    with raw(w) as conn:
        # HQ (400) does prep too: an agreement and a day of hours, written by the raw client
        conn.execute(
            "INSERT INTO resource_sharing (provider_dealership_id, consumer_dealership_id, "
            "resource_type_id, max_hours_per_week) VALUES (%s, %s, %s, 10)",
            (w.d["400"], w.d["495"], w.rt["WASH"]),
        )
        conn.execute(
            "INSERT INTO resource_capacities (dealership_id, resource_type_id, date, "
            "allocated_hours) VALUES (%s, %s, %s, 4)",
            (w.d["400"], w.rt["WASH"], w.day(0)),
        )
        booking_id = one(
            conn,
            "INSERT INTO resource_bookings (car_id, resource_type_id, date, estimated_hours, "
            "provider_dealership_id, consumer_dealership_id) VALUES (%s, %s, %s, 1, %s, %s) "
            "RETURNING id",
            car,
            w.rt["WASH"],
            w.day(0),
            w.d["400"],
            w.d["495"],
        )
        assert (
            one(conn, "SELECT dealership_id FROM car_access WHERE car_id = %s", car) == w.d["400"]
        )
        assert doctor_errors(w) == []
        conn.execute("DELETE FROM resource_bookings WHERE id = %s", (booking_id,))
        assert one(conn, "SELECT count(*) FROM car_access WHERE car_id = %s", car) == 0
    assert doctor_errors(w) == []


def test_raw_writes_of_other_tables_leave_events_and_updated_at(w: World) -> None:
    car = w.register("seller495")
    with raw(w) as conn:
        stamp = one(conn, "SELECT updated_at FROM cars WHERE id = %s", car)
        conn.execute("UPDATE cars SET customer_name = 'Ola [b]Nordmann' WHERE id = %s", (car,))
        assert one(conn, "SELECT updated_at FROM cars WHERE id = %s", car) > stamp
        conn.execute("UPDATE users SET pin_hash = 'secret' WHERE login = 'seller495'")
        # a write that changes nothing but the time stamp is no event
        conn.execute("UPDATE cars SET updated_at = now() WHERE id = %s", (car,))
    (update,) = raw_events(w, "cars")
    assert update[2] == "update" and update[4] == car
    assert update[3] == {"customer_name": [f"Customer {car}", "Ola [b]Nordmann"]}
    # the car's history names the writer, and says what it changed
    from db import queries

    detail = queries.car_detail(w.fast, w["admin"], car)
    assert detail.events[0].who == f"postgres ({APP})"
    assert "Ola [b]Nordmann" in detail.events[0].text
    (user,) = raw_events(w, "users")
    assert user[3] == {"pin_hash": [None, "(not shown)"]}  # said, never copied
    assert doctor_errors(w) == []


def test_prepfloor_writes_are_counted_once_and_audited_once(w: World) -> None:
    booking_id = book(w, 0, 3)
    assert (used(w, 0), used(w, 0, "mechanic499")) == (3, 3)
    assert raw_events(w) == []  # the triggers left prepfloor's write to its rules
    with raw(w) as conn:
        assert (
            one(
                conn,
                "SELECT count(*) FROM events WHERE entity = 'resource_bookings' AND entity_id = %s",
                str(booking_id),
            )
            == 1
        )
    assert doctor_errors(w) == []


def test_every_event_is_announced_when_it_commits(w: World) -> None:
    with raw(w) as listener, raw(w, autocommit=False) as writer:
        listener.execute(f"LISTEN {triggers.CHANNEL}")
        insert_booking(writer, w, 0, 1)
        assert list(listener.notifies(timeout=0.3)) == []  # not before the commit
        writer.commit()
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=2)]
        booking_id = book(w, 1, 1)
        heard += [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
    entities = [p.split()[1] for p in heard]
    assert "resource_bookings" in entities[:2]
    assert heard[-1].split()[1:] == ["resource_bookings", "-", "book"]
    with raw(w) as conn:
        newest = one(conn, "SELECT max(id) FROM events")
    assert int(heard[-1].split()[0]) == newest
    assert booking_id


def test_raw_clients_and_prepfloor_racing_for_the_last_hours_never_overbook(w: World) -> None:
    """Four raw clients and four prepfloor sessions, each wanting 3 h of a mechanic's 8 h and of
    the team's 16 h on one day, all at once: at most two win, the ledger stays exact."""
    url = w.db.engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def raw_racer() -> None:
        with raw(w) as conn:
            barrier.wait(timeout=30)
            try:
                insert_booking(conn, w, 2, 3)
                result = "ok"
            except psycopg.errors.CheckViolation:
                result = "refused"
        with lock:
            outcomes.append(result)

    def prepfloor_racer() -> None:
        from db import ledger
        from db.errors import DoesNotFit

        db = Database(url)
        try:
            with db.read() as session:
                session.connection()
            barrier.wait(timeout=30)
            try:
                db.run(
                    ledger.book,
                    w["coordinator499"],
                    resource_type_id=w.rt["TECH_PREP"],
                    date=w.day(2),
                    estimated_hours=3,
                    user_id=w["mechanic499"].user_id,
                )
                result = "ok"
            except DoesNotFit:
                result = "refused"
        finally:
            db.engine.dispose()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=raw_racer) for _ in range(4)]
    threads += [threading.Thread(target=prepfloor_racer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok", "ok"] + ["refused"] * 6
    assert (used(w, 2), used(w, 2, "mechanic499")) == (6, 6)
    assert ledger_errors(w) == []
    assert doctor_errors(w) == []


def test_doctor_finds_a_switched_off_trigger_and_repair_makes_it_again(w: World) -> None:
    from db import repair

    with raw(w) as conn:
        conn.execute("ALTER TABLE resource_bookings DISABLE TRIGGER prepfloor_ledger")
        conn.execute("DROP TRIGGER prepfloor_audit ON cars")
    found = doctor_errors(w)
    assert any("prepfloor_ledger on resource_bookings" in m for m in found)
    assert any("prepfloor_audit on cars" in m for m in found)
    fixed = w.db.run(repair.repair)
    assert {r.row_id for r in fixed} >= {
        "prepfloor_ledger on resource_bookings",
        "prepfloor_audit on cars",
    }
    assert doctor_errors(w) == []
    with raw(w) as conn:
        insert_booking(conn, w, 0, 2)
    assert used(w, 0) == 2


def test_every_table_of_prepfloor_is_audited_and_stamped() -> None:
    """A new table needs its triggers (a new migration calling ``triggers.install``)."""
    from sqlmodel import SQLModel

    import db.models  # noqa: F401

    tables = SQLModel.metadata.tables
    assert set(triggers.AUDITED) == set(tables) - {"events"}
    assert set(triggers.STAMPED) == {t for t in triggers.AUDITED if "updated_at" in tables[t].c}


def test_another_tools_role_that_may_only_read_the_audit_still_leaves_its_events(
    w: World,
) -> None:
    """Directus's own role: rows of the business tables, but ``events`` and ``car_access`` read
    only.  Its booking still keeps the ledger and writes its events row (the triggers run as the
    tables' owner), naming the role it signed in as; it cannot rewrite the audit."""
    import uuid

    role = f"tool_{uuid.uuid4().hex[:8]}"
    with raw(w) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        )
        conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON events, car_access FROM {role}")
        conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    url = w.db.engine.url.set(username=role).render_as_string(hide_password=False)
    try:
        with psycopg.connect(
            libpq_conninfo(normalize_url(url)), autocommit=True, application_name="tool"
        ) as tool:
            insert_booking(tool, w, 0, 2)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                tool.execute("UPDATE events SET action = 'nothing'")
        assert used(w, 0) == 2
        (event,) = raw_events(w, "resource_bookings")
        assert event[5] == f"{role} (tool)"
        assert doctor_errors(w) == []
    finally:
        with raw(w) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
