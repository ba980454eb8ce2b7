"""The manager's dashboard against hand-computed figures on a small fixed world, on both engines.

Monday 7 January 2030 07:00 UTC (``T0``), the 30 days from 9 December 2029.  Cars of 495 (a
branch of 400 HQ) prepared at 499, with their timestamps set by hand:

====  ===============  =====================================================================
car   status           stays (days)                                 now
====  ===============  =====================================================================
A     cosmetic_prep    registered 2, in transit 3, inspection 1,   cosmetic 1 (target 2: green)
                       technical 3 (inspected → technical done)
B     parts_ordered    registered 4, in transit 4, inspection 0.5  parts 11 (target 7: red)
C     delivered        ready 4 (registered 40 days ago: outside)   handed over after the promise
D     registered       —                                           registered 6 (5: red),
                                                                   promised in 2 days (at risk)
E     in_transit       registered 1                                in transit 4 (5: yellow)
G     technical_prep   (a car of 499 itself: not in 400's scope)
====  ===============  =====================================================================
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest

from db import admin, dashboard
from db.errors import NotAllowed
from db.models import ResourceBooking, TimebankEntry
from world import T0, World, book, frozen_world, set_fields


def _days(n: float):  # type: ignore[no-untyped-def]
    return T0 - timedelta(days=n)


@pytest.fixture
def w(store) -> Iterator[World]:  # type: ignore[no-untyped-def]
    with frozen_world(store.db, days=14) as world:
        cars = {key: world.register() for key in "ABCDEG"}
        world.cars = cars  # type: ignore[attr-defined]
        set_fields(
            world,
            cars["A"],
            status="cosmetic_prep",
            registered_at=_days(10),
            in_transit_at=_days(8),
            arrived_prep_center_at=_days(5),
            inspection_completed_at=_days(4),
            technical_started_at=_days(3),
            technical_completed_at=_days(1),
            status_changed_at=_days(1),
        )
        set_fields(
            world,
            cars["B"],
            status="parts_ordered",
            registered_at=_days(20),
            in_transit_at=_days(16),
            arrived_prep_center_at=_days(12),
            inspection_completed_at=_days(11.5),
            parts_ordered_prep_at=_days(11),
            status_changed_at=_days(11),
        )
        set_fields(
            world,
            cars["C"],
            status="delivered",
            registered_at=_days(40),
            in_transit_at=_days(35),
            ready_for_delivery_at=_days(6),
            delivered_to_customer_at=_days(2),
            status_changed_at=_days(2),
            expected_delivery_date=world.day(-3),
        )
        set_fields(
            world,
            cars["D"],
            registered_at=_days(6),
            status_changed_at=_days(6),
            expected_delivery_date=world.day(2),
        )
        set_fields(
            world,
            cars["E"],
            status="in_transit",
            registered_at=_days(5),
            in_transit_at=_days(4),
            status_changed_at=_days(4),
            expected_delivery_date=world.day(20),
        )
        # G belongs to 499 itself (400's manager does not see it)
        set_fields(world, cars["G"], dealership_id=world.d["499"], status="technical_prep")
        yield world


def _work(w: World) -> dict[str, int]:
    """Bookings, completions and clocked hours for the workload, productivity and accuracy."""
    a = w.cars["A"]  # type: ignore[attr-defined]
    ids = {
        "today_m1": book(w, 0, 3.0, "mechanic499", car_id=a),
        "today_m2": book(w, 0, 4.0, "mechanic2_499", car_id=a),
        "next_m1": book(w, 8, 2.0, "mechanic499", car_id=a),
    }

    def write(s):  # type: ignore[no-untyped-def]
        for key, actual in (("today_m1", 3.6), ("today_m2", 3.0)):
            b = s.get(ResourceBooking, ids[key])
            b.status, b.actual_hours = "completed", actual
            s.add(b)
        m1 = w["mechanic499"].user_id
        for code, hours in (("TECH_PREP", 2.5), ("WASH", 1.0)):
            s.add(
                TimebankEntry(
                    user_id=m1,
                    date=w.today,
                    resource_type_id=w.rt[code],
                    hours=hours,
                    started_at=T0 - timedelta(hours=4),
                    ended_at=T0 - timedelta(hours=4) + timedelta(hours=hours),
                )
            )

    w.db.run(write)
    return ids


def values(table: dashboard.Table, first: str) -> tuple:  # type: ignore[type-arg]
    (row,) = [r for r in table.rows if r.values[0] == first]
    return tuple(round(v, 4) if isinstance(v, float) else v for v in row.values)


def test_cars_per_status_and_time_per_stage(w: World) -> None:
    d = dashboard.dashboard(w.fast, w["manager400"], days=30)
    assert d.scope == "Vest HQ and 2 branches"
    assert (d.first, d.last) == (w.day(-29), w.day(0))
    counts = {r.values[0]: r.values[1] for r in d.table("status").rows}
    assert counts["Registered"] == 1
    assert counts["In transit"] == 1
    assert counts["Parts ordered"] == 1
    assert counts["Cosmetic prep"] == 1
    assert counts["Technical prep"] == 0  # G is 499's own car
    assert counts["Delivered (in period)"] == 1

    stages = d.table("stages")
    # stage: done, avg, p90, now, now avg, over target
    assert values(stages, "Registered, waiting for transport")[1:] == (3, 2.3333, 4.0, 1, 6.0, 1)
    assert values(stages, "In transit")[1:] == (2, 3.5, 4.0, 1, 4.0, 0)
    assert values(stages, "Arrived, until inspected")[1:] == (2, 0.75, 1.0, 0, None, 0)
    assert values(stages, "Waiting on parts")[1:] == (0, None, None, 1, 11.0, 1)
    assert values(stages, "Inspected, until technical done")[1:] == (1, 3.0, 3.0, 0, None, 0)
    assert values(stages, "Until cosmetic done")[1:] == (0, None, None, 1, 1.0, 0)
    assert values(stages, "Ready, until handed over")[1:] == (1, 4.0, 4.0, 0, None, 0)
    assert d.bottleneck.startswith("Bottleneck: Ready, until handed over — 4.0 days")

    # Enter on a stage lists its cars, with how long each stayed or has been there
    parts = next(r for r in stages.rows if r.values[0] == "Waiting on parts")
    assert parts.behind is not None
    assert parts.behind.ids == (w.cars["B"],)  # type: ignore[attr-defined]
    assert parts.behind.notes[w.cars["B"]] == "there 11.0 d now · red"  # type: ignore[attr-defined]
    listed = dashboard.behind_cars(w.fast, parts.behind)
    assert [c.id for c in listed] == [w.cars["B"]]  # type: ignore[attr-defined]


def test_sla_against_targets_and_the_promised_date(w: World) -> None:
    d = dashboard.dashboard(w.fast, w["manager400"], days=30)
    sla = d.table("sla")
    # stage, target, green, yellow, red
    assert values(sla, "Registered, waiting for transport") == (
        "Registered, waiting for transport",
        "5 d",
        0,
        0,
        1,
    )
    assert values(sla, "In transit") == ("In transit", "5 d", 0, 1, 0)
    assert values(sla, "Waiting on parts") == ("Waiting on parts", "7 d", 0, 0, 1)
    assert values(sla, "Until cosmetic done") == ("Until cosmetic done", "2 d", 1, 0, 0)
    assert values(sla, "Promised delivery date")[2:] == (1, 1, 1)  # E on time, D at risk, C late
    delivery = next(r for r in sla.rows if r.values[0] == "Promised delivery date")
    assert delivery.level == "red"
    assert delivery.behind.ids[0] == w.cars["C"]  # type: ignore[union-attr, attr-defined]

    # 495's own targets (a branch's set its parent's aside): 10 days in transit makes E green,
    # 8 registered days D yellow (6 >= 0.75 * 8)
    w.db.run(
        admin.save_dealership,
        w["admin"],
        w.d["495"],
        sla_targets={"in_transit": 10, "registered": 8},
    )
    d = dashboard.dashboard(w.fast, w["manager400"], days=30)
    sla = d.table("sla")
    assert values(sla, "In transit")[2:] == (1, 0, 0)
    assert values(sla, "Registered, waiting for transport")[2:] == (0, 1, 0)
    # the HQ row shows HQ's target (its own: the defaults)
    assert values(sla, "In transit")[1] == "5 d"


def test_workload_productivity_and_estimates(w: World) -> None:
    ids = _work(w)
    d = dashboard.dashboard(w.fast, w["manager499"], days=30)
    work = d.table("workload")
    # person, role, W2 capacity, booked, clocked, W3 capacity, booked (8 h a day, 7 days)
    assert values(work, "Per Mekaniker")[1:] == ("mechanic", 56.0, 3.0, 3.5, 56.0, 2.0)
    assert values(work, "Pål Mekaniker")[1:] == ("mechanic", 56.0, 4.0, 0.0, 56.0, 0.0)
    assert [c.title for c in work.columns][2] == "W2 capacity"
    m1 = next(r for r in work.rows if r.values[0] == "Per Mekaniker")
    listed = dashboard.behind_bookings(w.fast, w["manager499"], m1.behind)  # type: ignore[attr-defined, arg-type]
    assert sorted(b.id for b in listed) == sorted([ids["today_m1"], ids["next_m1"]])

    prod = d.table("productivity")
    # clocked (attended), productive, productivity
    assert values(prod, "Per Mekaniker")[2:] == (3.5, 2.5, 0.7143)

    est = d.table("estimates")
    # work, completed, estimated, actual, actual/estimated, over estimate
    assert values(est, "Technical Preparation") == ("Technical Preparation", 2, 7.0, 6.6, 0.9429, 1)
    row = est.rows[0]
    listed = dashboard.behind_bookings(w.fast, w["manager499"], row.behind)  # type: ignore[attr-defined, arg-type]
    assert sorted(b.id for b in listed) == sorted([ids["today_m1"], ids["today_m2"]])

    sharing = d.table("sharing")
    this_week = [r for r in sharing.rows if r.values[3] == "2030-W02"]
    used = {(r.values[1], r.values[2]): r.values[4:] for r in this_week}
    assert used[("495 Kristiansand Vest", "Technical Preparation")] == (7.0, 40.0, 0.175)
    assert used[("497 Skien", "Technical Preparation")] == (0.0, 20.0, 0.0)
    (w2,) = [r for r in this_week if r.values[1] == "495 Kristiansand Vest"]
    listed = dashboard.behind_bookings(w.fast, w["manager499"], w2.behind)  # type: ignore[attr-defined, arg-type]
    assert sorted(b.id for b in listed) == sorted([ids["today_m1"], ids["today_m2"]])
    (w3,) = [r for r in sharing.rows if r.values[3] == "2030-W03" and r.values[1].startswith("495")]
    assert w3.values[4] == 2.0  # next week's booking

    # the whole group (an admin: every dealership, read without a condition on them) has the
    # same people and work, as nothing is booked elsewhere
    group = dashboard.dashboard(w.fast, w["admin"], days=30)
    assert values(group.table("workload"), "Per Mekaniker") == values(work, "Per Mekaniker")
    assert group.table("estimates").rows[0].values == est.rows[0].values


def test_scope_period_export_and_who_may_look(w: World) -> None:
    fast = w.fast
    # 499's manager sees the cars prepared at 499 (all six), 400's does not see G
    d499 = dashboard.dashboard(fast, w["manager499"], days=30)
    assert sum(r.values[1] for r in d499.table("status").rows) == 6
    # a 7-day period drops the stays that ended earlier (B's in transit 16-12 days ago)
    d7 = dashboard.dashboard(fast, w["manager400"], days=7)
    assert values(d7.table("stages"), "In transit")[1:3] == (1, 3.0)
    # a branch alone
    d495 = dashboard.dashboard(fast, w["manager400"], root_id=w.d["495"], days=30)
    assert d495.scope == "Kristiansand Vest"
    with pytest.raises(NotAllowed):
        dashboard.dashboard(fast, w["manager400"], root_id=w.d["499"])
    with pytest.raises(NotAllowed):
        dashboard.dashboard(fast, w["seller495"])
    # CSV: titles, values, the level
    out = io.StringIO()
    dashboard.write_csv(d7.table("stages"), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Stage,Done,Avg days,P90 days,Now,Now avg days,Over target,level"
    assert "In transit,1,3.00,3.00,1,4.00,0," in lines


def test_report_prints_the_same_figures_without_the_tui(w: World, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from prepfloor.cli import app

    runner = CliRunner()
    args = ["report", "--db", store.url, "--as", "manager400", "--width", "140"]
    result = runner.invoke(app, [*args, "--table", "stages", "--csv", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Vest HQ and 2 branches · Sun, 9 Dec 2029 to Mon, 7 Jan 2030" in out
    assert "Bottleneck: Ready, until handed over — 4.0 days" in out
    line = next(x for x in out.splitlines() if "In transit" in x)
    assert line.split("│")[3:9] == [
        "    2 ",
        "      3.5 ",
        "      4.0 ",
        "   1 ",
        "          4.0 ",
        "           0 ",
    ]
    assert "Workload" not in out  # only the table asked for
    (written,) = tmp_path.glob("stages-vest-hq-20291209-20300107.csv")
    assert "In transit,2,3.50,4.00,1,4.00,0," in written.read_text().splitlines()

    refused = runner.invoke(app, [*args, "--table", "nonsense"])
    assert refused.exit_code == 1 and "no table nonsense" in refused.output
    seller = runner.invoke(app, ["report", "--db", store.url, "--as", "seller495"])
    assert seller.exit_code == 1
    assert "manager" in seller.output  # who may look at the figures
    branch = runner.invoke(app, [*args, "--dealership", "495", "--table", "status"])
    assert branch.exit_code == 0 and "Kristiansand Vest ·" in branch.stdout
