"""The totals the database keeps (db/totals.py), on SQLite and PostgreSQL: they follow every write,
through the rules or behind them; doctor finds them wrong or their triggers gone, and
``doctor --repair`` builds them again; the dashboard and the car counts read them exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from test_doctor import busy, errors, move, sql  # noqa: F401  (the fixture)

from db import clock, repair, totals
from db.access import car_scope_sql
from db.period_cars import PeriodCars, local_midnight, param_ts
from db.stages import STAGES, days_sql
from db.vocab import CAR_STATUSES
from world import World


def differences(w: World) -> dict[str, int]:
    return w.db.query(lambda s: totals.differences(s.connection()))


def kept_status(w: World, dealership_id: int, status: str) -> int:
    return int(
        w.db.query(
            lambda s: s.execute(
                text(
                    "SELECT coalesce(sum(cars), 0) FROM car_status_totals "
                    "WHERE dealership_id = :d AND status = :s"
                ),
                {"d": dealership_id, "s": status},
            ).scalar_one()
        )
    )


def test_the_totals_follow_the_writes_through_the_rules(busy: World) -> None:  # noqa: F811
    w = busy
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    car = w.ids["own"]  # type: ignore[attr-defined]
    before = kept_status(w, w.d["499"], "registered"), kept_status(w, w.d["499"], "in_transit")
    move(w, "seller499", car, "in_transit")
    after = kept_status(w, w.d["499"], "registered"), kept_status(w, w.d["499"], "in_transit")
    assert after == (before[0] - 1, before[1] + 1)
    stays = w.db.query(
        lambda s: {
            r[0]
            for r in s.execute(
                text("SELECT stage FROM car_stays WHERE car_id = :c"),
                {"c": w.ids["delivered"]},  # type: ignore[attr-defined]
            )
        }
    )
    assert {"registered", "in_transit", "inspection", "technical_prep"} <= stays
    held = w.db.query(
        lambda s: s.execute(
            text("SELECT sum(held_hours), sum(completed) FROM booking_day_totals")
        ).one()
    )
    assert held[1] == 1  # the technical job completed by the rules
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)


def test_writes_behind_the_rules_keep_them_too(busy: World) -> None:  # noqa: F811
    """psql, Directus or a script on the file: the database keeps the totals itself."""
    w = busy
    sql(w, "UPDATE cars SET status = 'archived' WHERE id = :id", id=w.ids["own"])  # type: ignore[attr-defined]
    sql(
        w,
        "UPDATE cars SET registered_at = registered_at - interval '1 day' WHERE id = :id"
        if w.db.engine.dialect.name == "postgresql"
        else "UPDATE cars SET registered_at = datetime(registered_at, '-1 day') WHERE id = :id",
        id=w.ids["delivered"],  # type: ignore[attr-defined]
    )
    sql(w, "UPDATE timebank_entries SET hours = hours + 0.25 WHERE ended_at IS NOT NULL")
    sql(w, "UPDATE resource_bookings SET estimated_hours = 4 WHERE id = :id", id=w.ids["shared"])  # type: ignore[attr-defined]
    sql(w, "DELETE FROM timebank_entries WHERE ended_at IS NULL")
    sql(w, "DELETE FROM resource_bookings WHERE status = 'cancelled'")
    sql(w, "DELETE FROM events WHERE car_id = :id", id=w.ids["draft"])  # type: ignore[attr-defined]
    sql(w, "DELETE FROM cars WHERE id = :id", id=w.ids["draft"])  # type: ignore[attr-defined]
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)


def test_doctor_finds_them_wrong_and_repair_builds_them_again(busy: World) -> None:  # noqa: F811
    w = busy
    sql(w, "UPDATE car_status_totals SET cars = cars + 3")
    sql(w, "DELETE FROM car_stays")
    if w.db.engine.dialect.name == "postgresql":
        sql(w, "DROP TRIGGER prepfloor_totals_clocks ON timebank_entries")
        trigger = "prepfloor_totals_clocks on timebank_entries"
    else:
        sql(w, "DROP TRIGGER prepfloor_totals_clocks_update")
        trigger = "prepfloor_totals_clocks_update"
    found = errors(w)
    assert any("car_status_totals" in e for e in found), found
    assert any("car_stays" in e for e in found), found
    assert any(trigger in e for e in found), found
    repaired = w.db.run(repair.repair)
    assert {"car_status_totals", "car_stays"} <= {r.table for r in repaired}
    assert errors(w) == []
    # the trigger is back: a clock changed behind the rules is counted again
    sql(w, "UPDATE timebank_entries SET hours = hours + 1 WHERE ended_at IS NOT NULL")
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    assert w.db.run(repair.repair) == []


def test_status_counts_are_the_scope_counts_for_every_user(busy: World, store: Any) -> None:  # noqa: F811
    w = busy
    reader = store.fast
    sql(
        w,
        "INSERT INTO car_access (car_id, dealership_id) VALUES (:car, :d)",
        car=w.ids["own"],
        d=w.d["400"],
    )  # type: ignore[attr-defined]
    for login, actor in w.actors.items():
        expected = dict.fromkeys(CAR_STATUSES, 0)
        where = car_scope_sql(actor, "c", dialect=reader.dialect)
        for status, n in reader.rows(
            f"SELECT c.status, count(*) FROM cars c WHERE {where} GROUP BY c.status"
        ):
            expected[str(status)] = int(n)
        assert reader.status_counts(actor) == expected, login


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns", "Europe/Oslo"])
@pytest.mark.parametrize("days", [1, 2, 30])
def test_stays_of_a_period_are_those_the_cars_say(
    busy: World,  # noqa: F811
    store: Any,
    zone: str,
    days: int,
) -> None:
    """The kept day totals (whole UTC days) and the stays at the period's ends (local midnights,
    whatever the zone's offset) add up to what the cars' own timestamps say."""
    reader = store.fast
    clock.set_zone(ZoneInfo(zone))
    try:
        today = clock.local_today()
        first = today - timedelta(days=days - 1)
        found = PeriodCars(reader, None, [], first, today, clock.utcnow()).stays()
        start = param_ts(reader, local_midnight(first))
        end = param_ts(reader, local_midnight(today + timedelta(days=1)))
        for s in STAGES:
            rows = reader.rows(
                f"SELECT {days_sql(reader.dialect, s.start, s.end)} FROM cars c "
                f"WHERE {s.end} >= :start AND {s.end} < :end AND {s.start} IS NOT NULL "
                "AND (c.status NOT IN ('delivered', 'archived') OR c.status_changed_at >= :start)",
                {"start": start, "end": end},
            )
            stays = sorted(float(r[0]) for r in rows if r[0] is not None)
            if not stays:
                assert s.key not in found
                continue
            n, total, p90 = found[s.key]
            assert n == len(stays)
            assert total == pytest.approx(sum(stays), rel=1e-12)
            assert p90 == stays[max(0, -(-9 * len(stays) // 10) - 1)]
    finally:
        clock.set_zone(UTC)


def test_a_stay_ending_either_side_of_a_utc_midnight_counts_in_its_local_day(
    busy: World,  # noqa: F811
    store: Any,
) -> None:
    """Kathmandu (UTC+5:45): a stay ended at 18:00 UTC belongs to the next local day."""
    w = busy
    reader = store.fast
    car = w.ids["delivered"]  # type: ignore[attr-defined]
    ended = datetime.combine(clock.utcnow().date(), datetime.min.time(), UTC) + timedelta(hours=18)
    sql(
        w,
        "UPDATE cars SET delivered_to_customer_at = :t WHERE id = :id",
        t=param_ts(reader, ended),
        id=car,
    )
    clock.set_zone(ZoneInfo("Asia/Kathmandu"))
    try:
        local_day: date = (ended + timedelta(hours=5, minutes=45)).date()
        for first, expected in ((local_day, 1), (local_day - timedelta(days=1), 1)):
            found = PeriodCars(
                reader, None, [], first, local_day, clock.utcnow() + timedelta(days=2)
            ).stays()
            assert found.get("ready_for_delivery", (0, 0, None))[0] == expected
        before = local_day - timedelta(days=1)
        found = PeriodCars(reader, None, [], before, before, clock.utcnow()).stays()
        assert found.get("ready_for_delivery", (0, 0, None))[0] == 0
    finally:
        clock.set_zone(UTC)
