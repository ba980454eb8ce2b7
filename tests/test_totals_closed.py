"""Cars delivered or archived kept per UTC day (db/totals_closed.py), on SQLite and PostgreSQL: the
kept counts follow cars changed behind the rules, and the dashboard's closed cars of a period (the
whole UTC days from the kept counts, the first day's rest from the cars, the handovers from
``ix_cars_handed`` and ``ix_cars_waiting``) are what the cars say, car by car, in zones either
side of UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from db import clock, repair, totals
from db.period_cars import PeriodCars, local_midnight
from db.sla import late_from, sla_state
from world import T0, World, frozen_world, set_fields

ZONES = ["UTC", "Europe/Oslo", "America/St_Johns", "Asia/Kathmandu"]


def differences(w: World) -> dict[str, int]:
    return w.db.query(lambda s: totals.differences(s.connection()))


def sql(w: World, statement: str, **params: Any) -> None:
    w.db.run(lambda s: s.execute(text(statement), params))


@pytest.fixture
def closed(store: Any) -> Iterator[World]:
    """Cars delivered and archived around T0: handed over on time, late, exactly at the moment
    they turn late and a microsecond before; delivered without a handover (promised in the past,
    soon, later, never); archived; closed long before."""
    with frozen_world(store.db, days=3) as w:
        promised = T0.date() - timedelta(days=4)
        zone = ZoneInfo("Europe/Oslo")
        cars = {}
        handovers = {
            "on_time": T0 - timedelta(days=6),
            "late": T0 - timedelta(days=1),
            "at_the_moment": late_from(promised).astimezone(UTC),
            "just_before": late_from(promised).astimezone(UTC) - timedelta(microseconds=1),
            # Oslo's late moment, whichever zone reads: on time in one, late in another
            "oslo_midnight": datetime.combine(
                promised + timedelta(days=1), datetime.min.time(), zone
            ).astimezone(UTC),
        }
        for n, (key, handed) in enumerate(handovers.items()):
            cars[key] = w.register()
            set_fields(
                w,
                cars[key],
                status="delivered",
                expected_delivery_date=promised,
                delivered_to_customer_at=handed,
                status_changed_at=T0 - timedelta(hours=3 + 7 * n),
            )
        for key, days in (("waiting_past", -3), ("waiting_soon", 1), ("waiting_later", 30)):
            cars[key] = w.register()
            set_fields(
                w,
                cars[key],
                status="delivered",
                expected_delivery_date=T0.date() + timedelta(days=days),
                status_changed_at=T0 - timedelta(days=2, hours=5),
            )
        cars["never_promised"] = w.register()
        set_fields(w, cars["never_promised"], status="delivered", status_changed_at=T0)
        for key, back in (("archived", timedelta(days=9)), ("long_ago", timedelta(days=400))):
            cars[key] = w.register()
            set_fields(w, cars[key], status="archived", status_changed_at=T0 - back)
        # closed at the minutes either side of a UTC midnight inside the period
        for key, minutes in (("before_midnight", -1), ("at_midnight", 0)):
            cars[key] = w.register()
            midnight = datetime.combine(T0.date() - timedelta(days=2), datetime.min.time(), UTC)
            set_fields(
                w,
                cars[key],
                status="archived",
                status_changed_at=midnight + timedelta(minutes=minutes),
            )
        w.cars = cars  # type: ignore[attr-defined]
        yield w


def test_the_kept_counts_follow_cars_changed_behind_the_rules(closed: World) -> None:
    w = closed
    cars = w.cars  # type: ignore[attr-defined]
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    kept = w.db.query(
        lambda s: s.execute(text("SELECT sum(cars) FROM closed_day_totals")).scalar_one()
    )
    assert kept == 13
    sql(w, "UPDATE cars SET status_changed_at = NULL WHERE id = :id", id=cars["archived"])
    sql(w, "UPDATE cars SET dealership_id = :d WHERE id = :id", d=w.d["499"], id=cars["late"])
    sql(w, "UPDATE cars SET status = 'ready_for_delivery' WHERE id = :id", id=cars["on_time"])
    sql(w, "UPDATE cars SET status = 'archived' WHERE id = :id", id=cars["waiting_soon"])
    for table in ("events", "notifications", "car_access"):
        sql(w, f"DELETE FROM {table} WHERE car_id = :id", id=cars["long_ago"])
    sql(w, "DELETE FROM cars WHERE id = :id", id=cars["long_ago"])
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    # doctor finds a wrong count, repair builds it again
    sql(w, "UPDATE closed_day_totals SET cars = cars + 1")
    assert differences(w)["closed_day_totals"] > 0
    repaired = w.db.run(repair.repair)
    assert "closed_day_totals" in {r.table for r in repaired}
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("days", [1, 3, 30])
def test_the_period_closed_cars_are_those_the_cars_say(closed: World, zone: str, days: int) -> None:
    w = closed
    reader = w.fast
    clock.set_zone(ZoneInfo(zone))
    try:
        today = clock.local_today()
        first = today - timedelta(days=days - 1)
        start = local_midnight(first).astimezone(UTC)
        expected = {"delivered": 0, "archived": 0}
        levels = {"green": 0, "yellow": 0, "red": 0}
        bucket = {"on_time": "green", "at_risk": "yellow", "late": "red"}
        for _id, status, changed, promised, handed in reader.rows(
            "SELECT id, status, status_changed_at, expected_delivery_date, "
            "delivered_to_customer_at FROM cars WHERE status IN ('delivered', 'archived') "
            "AND status_changed_at IS NOT NULL"
        ):
            if clock.as_utc(changed) < start:
                continue
            expected[status] += 1
            if status == "delivered" and promised is not None:
                state = sla_state(
                    status,
                    _day(promised),
                    handed,
                    today,
                )
                if state != "none":
                    levels[bucket[state]] += 1
        cars = PeriodCars(reader, None, [], first, today, clock.utcnow())
        assert cars.closed_counts() == expected
        assert cars.delivery_counts(lambda *a: "none") == levels
        assert sum(expected.values()) > 0
    finally:
        clock.set_zone(UTC)


def _day(value: Any) -> Any:
    from db.fast import as_date

    return as_date(value)
