"""The manager's dashboard (US-1.7, US-7.3, improvement 6): where cars are stuck and how the
prep centers are loaded, for one dealership rolled up over its branches, over a period.

One read, :func:`dashboard`, gives every table the TUI shows, ``prepfloor report`` prints and a CSV
export writes; :func:`behind` lists the cars or bookings behind one row.  Plain SQL through
:class:`db.fast.FastReader`, a handful of statements whatever the size of the group:

* **Cars per status**: now; delivered and archived cars counted when they got there in the period.
* **Time per stage** from the cars' timestamps (a stage is a pair of them, :data:`STAGES`; the
  stages follow one another, waiting on parts is also counted inside technical prep): the
  stays that ended in the period, their average and 90th percentile in days; the cars in the stage
  now, how long they have been there, how many are past the dealership's target for the stage.
* **SLA**: per stage green / yellow / red against the target (yellow from 75 % of it), and the
  promised delivery date (:func:`db.sla.sla_state`: on time / at risk / late).
* **Bottleneck**: the stage whose finished stays took longest on average in the period.
* **Workload**: per mechanic and detailer, capacity vs booked vs clocked, this ISO week and next.
* **Productivity**: clocked productive hours / all clocked (attended) hours, per person, in the
  period (:mod:`db.timebank`).
* **Estimate accuracy**: completed bookings of the period per kind of work, actual vs estimated.
* **Sharing**: per agreement and ISO week, hours booked against ``max_hours_per_week``
  (:func:`db.grid.sharing_usage`).

Targets are ``dealership.sla_targets`` (days per stage key); a dealership without its own follows
its parent, then :data:`DEFAULT_TARGETS`.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from db import timebank
from db.access import Actor, descendants
from db.clock import as_utc, local_today, utcnow
from db.errors import NotAllowed
from db.fast import as_date, as_uid
from db.grid import BOOKING_COLUMNS, BOOKING_JOINS, BookingRow, _ids, _param_day, booking_row
from db.grid import sharing_usage as _sharing_usage
from db.sla import DEFAULT_STAGE_TARGETS, SLA_LABELS, STAGE_LABELS, sla_state
from db.vocab import BOOKING_HOLDING_STATUSES, CAR_STATUS_LABELS, CAR_STATUSES, sql_in

if TYPE_CHECKING:
    from db.fast import CarRow, FastReader

PERIODS: tuple[int, ...] = (7, 30, 90)  # days a manager picks from
BEHIND_LIMIT = 2000  # rows a figure opens at most
YELLOW_SHARE = 0.75  # a stay is yellow from this share of its target


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    start: str  # the SQL (on ``cars c``) of the timestamp that opens the stay
    end: str  # and of the one that closes it
    statuses: tuple[str, ...]  # a car in one of these is in the stage now


STAGES: tuple[Stage, ...] = (
    Stage(
        "registered",
        STAGE_LABELS["registered"],
        "c.registered_at",
        "coalesce(c.in_transit_at, c.arrived_prep_center_at)",
        ("registered",),
    ),
    Stage(
        "in_transit",
        STAGE_LABELS["in_transit"],
        "c.in_transit_at",
        "c.arrived_prep_center_at",
        ("in_transit",),
    ),
    Stage(
        "inspection",
        STAGE_LABELS["inspection"],
        "c.arrived_prep_center_at",
        "c.inspection_completed_at",
        ("at_prep_center", "inspection"),
    ),
    Stage(
        "parts",
        STAGE_LABELS["parts"],
        "c.parts_ordered_prep_at",
        "c.parts_arrived_prep_at",
        ("parts_ordered",),
    ),
    Stage(
        "technical_prep",
        STAGE_LABELS["technical_prep"],
        "c.inspection_completed_at",
        "c.technical_completed_at",
        ("technical_prep",),
    ),
    Stage(
        "cosmetic_prep",
        STAGE_LABELS["cosmetic_prep"],
        "coalesce(c.technical_completed_at, c.inspection_completed_at)",
        "c.cosmetic_completed_at",
        ("cosmetic_prep",),
    ),
    Stage(
        "ready_for_delivery",
        STAGE_LABELS["ready_for_delivery"],
        "c.ready_for_delivery_at",
        "c.delivered_to_customer_at",
        ("ready_for_delivery",),
    ),
)
STAGE_BY_KEY: dict[str, Stage] = {s.key: s for s in STAGES}
STAGE_OF_STATUS: dict[str, Stage] = {status: s for s in STAGES for status in s.statuses}
DEFAULT_TARGETS = DEFAULT_STAGE_TARGETS
LEVELS: tuple[str, ...] = ("green", "yellow", "red")


# ------------------------------------------------------------------------------------------------
# what the dashboard hands back
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    title: str
    kind: str = "text"  # text (short), name (a longer text), int, hours, days, pct, bar


@dataclass(frozen=True)
class Behind:
    """What Enter on a row opens: ``kind`` ``cars`` (``ids`` with a note per car) or one of the
    booking lists (``bookings`` with ``spec``)."""

    title: str
    kind: str = "cars"
    ids: tuple[int, ...] = ()
    notes: Mapping[int, str] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    values: tuple[Any, ...]
    behind: Behind | None = None
    level: str = ""  # green / yellow / red, or "" (no judgement)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[Col, ...]
    rows: list[Row]
    note: str = ""


@dataclass(frozen=True)
class Dashboard:
    scope: str  # "Vest HQ and 2 branches"
    root_id: int | None
    dealership_ids: tuple[int, ...]
    first: date
    last: date
    tables: list[Table]
    bottleneck: str  # one line, "" when no stay ended in the period

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def format_value(kind: str, value: Any) -> str:
    """A cell as the TUI and ``prepfloor report`` show it."""
    if value is None:
        return "—"
    if kind == "int":
        return f"{int(value):,}"
    if kind in ("hours", "days"):
        return f"{float(value):,.1f}"
    if kind == "pct":
        return f"{float(value) * 100:.0f}%"
    return str(value)


def csv_value(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind in ("hours", "days"):
        return f"{float(value):.2f}"
    if kind == "pct":
        return f"{float(value) * 100:.1f}"
    return value


def write_csv(table: Table, path_or_file: str | os.PathLike[str] | IO[str]) -> int:
    """One dashboard table as CSV (titles, then the values; percentages as numbers 0-100)."""
    columns = [c for c in table.columns if c.kind != "bar"]
    keep = [i for i, c in enumerate(table.columns) if c.kind != "bar"]

    def write(handle: IO[str]) -> int:
        out = csv.writer(handle)
        has_level = any(r.level for r in table.rows)
        out.writerow([c.title for c in columns] + (["level"] if has_level else []))
        for row in table.rows:
            cells = [csv_value(table.columns[i].kind, row.values[i]) for i in keep]
            out.writerow(cells + ([row.level] if has_level else []))
        return len(table.rows)

    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "w", newline="", encoding="utf-8") as handle:
            return write(handle)
    return write(path_or_file)


# ------------------------------------------------------------------------------------------------
# scope and targets
# ------------------------------------------------------------------------------------------------
def roots(fast: FastReader, actor: Actor) -> list[tuple[int, str]]:
    """The dealerships the actor may look at (id, "number name"), their own first."""
    actor.require("report.view")
    seen = [d for d in fast.dealerships(None) if actor.sees_dealership(d[0])]
    seen.sort(key=lambda d: (d[0] != actor.dealership_id, d[1]))
    return seen


def _scope(
    fast: FastReader, actor: Actor, root_id: int | None
) -> tuple[int | None, list[int], str]:
    names = {
        int(i): str(name) for i, name in fast.rows("SELECT id, dealership_name FROM dealership")
    }
    if root_id is None and not actor.all_dealerships:
        root_id = actor.dealership_id
    if root_id is None:
        ids = sorted(names)
        return None, ids, "All dealerships"
    if not actor.sees_dealership(root_id):
        raise NotAllowed("You can only look at your own dealership and its branches.")
    ids = sorted(
        d for d in descendants(fast.parents(), root_id) if actor.sees_dealership(d) and d in names
    )
    branches = len(ids) - 1
    scope = names.get(root_id, f"#{root_id}")
    if branches:
        scope += f" and {branches} branch{'es' if branches > 1 else ''}"
    return root_id, ids, scope


def effective_targets(
    targets: Mapping[int, Mapping[str, Any] | None], parents: Mapping[int, int | None]
) -> dict[int, dict[str, float]]:
    """Per dealership the days per stage: its own, else its nearest ancestor's, else the default
    (stage by stage)."""
    result: dict[int, dict[str, float]] = {}
    for dealership_id in parents:
        merged = dict(DEFAULT_TARGETS)
        chain: list[int] = []
        at: int | None = dealership_id
        while at is not None and at not in chain:
            chain.append(at)
            at = parents.get(at)
        for d in reversed(chain):  # the root first, the dealership's own last
            for key, days in (targets.get(d) or {}).items():
                if key in merged and days is not None:
                    merged[key] = float(days)
        result[dealership_id] = merged
    return result


def targets_of(fast: FastReader) -> dict[int, dict[str, float]]:
    """Every dealership's days per stage (:func:`effective_targets` of the stored ones)."""
    return effective_targets(fast.json_column("sla_targets"), fast.parents())


def level_of(days: float, target: float) -> str:
    if days > target:
        return "red"
    if days >= YELLOW_SHARE * target:
        return "yellow"
    return "green"


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.9: the stay 90 % of the cars did not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# ------------------------------------------------------------------------------------------------
# SQL by dialect
# ------------------------------------------------------------------------------------------------
def _param_ts(fast: FastReader, at: datetime) -> Any:
    """A timestamp as a parameter: the stored UTC text on SQLite, aware on PostgreSQL."""
    if fast.dialect == "sqlite":
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


def _days(fast: FastReader, start: str, end: str) -> str:
    if fast.dialect == "sqlite":
        return f"(julianday({end}) - julianday({start}))"
    return f"(extract(epoch from ({end} - {start})) / 86400.0)"


def _local_midnight(day: date) -> datetime:
    from db.clock import zone

    return datetime(day.year, day.month, day.day, tzinfo=zone())


# ------------------------------------------------------------------------------------------------
# the dashboard
# ------------------------------------------------------------------------------------------------
def dashboard(
    fast: FastReader,
    actor: Actor,
    *,
    root_id: int | None = None,
    days: int = 30,
    today: date | None = None,
) -> Dashboard:
    """Every table of the dashboard for ``root_id`` and its branches (default: the actor's own
    dealership; an admin's: every dealership) over the ``days`` up to ``today`` (local)."""
    actor.require("report.view")
    days = max(1, int(days))
    today = today or local_today()
    first = today - timedelta(days=days - 1)
    root_id, ids, scope = _scope(fast, actor, root_id)
    now = utcnow()
    cars = _car_tables(fast, root_id, ids, first, today, now)
    scoped = replace(actor, dealership_ids=frozenset(ids), all_dealerships=False, role="manager")
    tables = [
        *cars.tables,
        _workload(fast, ids, today),
        _productivity(fast, scoped, first, today),
        _estimates(fast, ids, first, today),
        _sharing(fast, scoped, first, today),
    ]
    return Dashboard(scope, root_id, tuple(ids), first, today, tables, cars.bottleneck)


@dataclass
class _CarTables:
    tables: list[Table]
    bottleneck: str


def _car_tables(
    fast: FastReader, root_id: int | None, ids: list[int], first: date, today: date, now: datetime
) -> _CarTables:
    start = _param_ts(fast, _local_midnight(first))
    end = _param_ts(fast, _local_midnight(today + timedelta(days=1)))
    now_p = _param_ts(fast, now)
    spans = ", ".join(
        f"CASE WHEN {s.end} >= :start AND {s.end} < :end AND {s.start} IS NOT NULL "
        f"THEN {_days(fast, s.start, s.end)} END"
        for s in STAGES
    )
    now_case = " ".join(
        f"WHEN c.status IN {sql_in(s.statuses)} THEN "
        f"{_days(fast, f'coalesce({s.start}, c.status_changed_at)', ':now')}"
        for s in STAGES
    )
    scope = _ids(ids)
    rows = fast.rows(
        f"SELECT c.id, c.status, c.dealership_id, c.expected_delivery_date, "
        f"CASE WHEN c.status = 'delivered' THEN c.delivered_to_customer_at END, "
        f"CASE {now_case} END, {spans} FROM cars c "
        f"WHERE (c.dealership_id IN ({scope}) OR c.prep_center_id IN ({scope})) "
        "AND (c.status NOT IN ('delivered', 'archived') OR c.status_changed_at >= :start)",
        {"start": start, "end": end, "now": now_p},
    )
    targets = targets_of(fast)
    default = dict(DEFAULT_TARGETS)
    shown = targets.get(root_id, default) if root_id is not None else default
    by_status: dict[str, list[int]] = {s: [] for s in CAR_STATUSES}
    done: dict[str, list[tuple[int, float]]] = {s.key: [] for s in STAGES}
    waiting: dict[str, list[tuple[int, float, str]]] = {s.key: [] for s in STAGES}
    sla_cars: dict[str, dict[str, list[int]]] = {}
    sla_notes: dict[int, str] = {}
    n_stages = len(STAGES)
    for r in rows:
        car_id, status = int(r[0]), str(r[1])
        by_status.setdefault(status, []).append(car_id)
        for i in range(n_stages):
            value = r[6 + i]
            if value is not None:
                done[STAGES[i].key].append((car_id, max(0.0, float(value))))
        stage = STAGE_OF_STATUS.get(status)
        if stage is not None and r[5] is not None:
            elapsed = max(0.0, float(r[5]))
            target = targets.get(int(r[2]), default)[stage.key]
            level = level_of(elapsed, target)
            waiting[stage.key].append((car_id, elapsed, level))
            sla_cars.setdefault(stage.key, {k: [] for k in LEVELS})[level].append(car_id)
        if r[3] is not None and status not in ("draft", "archived"):
            state = sla_state(status, as_date(r[3]), as_utc(r[4]), today)
            if state != "none":
                bucket = {"on_time": "green", "at_risk": "yellow", "late": "red"}[state]
                sla_cars.setdefault("delivery", {k: [] for k in LEVELS})[bucket].append(car_id)
                sla_notes[car_id] = f"promised {as_date(r[3]):%d %b} · {SLA_LABELS[state]}"

    status_rows = []
    biggest = max((len(v) for v in by_status.values()), default=0) or 1
    for status in CAR_STATUSES:
        found = by_status.get(status, [])
        label = CAR_STATUS_LABELS[status]
        if status in ("delivered", "archived"):
            label += " (in period)"
        status_rows.append(
            Row(
                (label, len(found), "█" * max(0, round(28 * len(found) / biggest))),
                Behind(f"Cars · {CAR_STATUS_LABELS[status]}", ids=tuple(found)),
            )
        )

    stage_rows = []
    averages: dict[str, float] = {}
    for s in STAGES:
        stays = [d for _, d in done[s.key]]
        now_in = waiting[s.key]
        avg = sum(stays) / len(stays) if stays else None
        if avg is not None:
            averages[s.key] = avg
        over = sum(1 for _, _, level in now_in if level == "red")
        notes = {car_id: f"stayed {d:.1f} d" for car_id, d in done[s.key]}
        notes.update({car_id: f"there {d:.1f} d now · {lv}" for car_id, d, lv in now_in})
        stage_rows.append(
            Row(
                (
                    s.label,
                    len(stays),
                    avg,
                    percentile(stays, 0.9),
                    len(now_in),
                    sum(d for _, d, _ in now_in) / len(now_in) if now_in else None,
                    over,
                ),
                Behind(f"Cars · {s.label}", ids=tuple(notes), notes=notes),
                "red" if over else "",
            )
        )
    bottleneck = ""
    if averages:
        key = max(averages, key=lambda k: averages[k])
        stage = STAGE_BY_KEY[key]
        there = len(waiting[key])
        bottleneck = (
            f"Bottleneck: {stage.label} — {averages[key]:.1f} days on average in the period, "
            f"{there} car{'s' if there != 1 else ''} there now"
        )
        index = STAGES.index(stage)
        stage_rows[index] = replace(stage_rows[index], level=stage_rows[index].level or "yellow")

    sla_rows = []
    for key, label in [(s.key, s.label) for s in STAGES] + [("delivery", "Promised delivery date")]:
        buckets = sla_cars.get(key, {k: [] for k in LEVELS})
        notes = {}
        if key == "delivery":
            notes = {i: sla_notes[i] for k in LEVELS for i in buckets[k]}
        else:
            notes = {car_id: f"{d:.1f} d · {lv}" for car_id, d, lv in waiting[key]}
        level = "red" if buckets["red"] else "yellow" if buckets["yellow"] else "green"
        target = f"{shown[key]:g} d" if key in shown else "date"
        sla_rows.append(
            Row(
                (label, target, len(buckets["green"]), len(buckets["yellow"]), len(buckets["red"])),
                Behind(
                    f"SLA · {label}",
                    ids=tuple(i for k in ("red", "yellow", "green") for i in buckets[k]),
                    notes=notes,
                ),
                level if any(buckets.values()) else "",
            )
        )
    tables = [
        Table(
            "status",
            "Cars per status",
            (Col("Status"), Col("Cars", "int"), Col("", "bar")),
            status_rows,
            "Delivered and archived: cars that got there in the period.",
        ),
        Table(
            "stages",
            "Time per stage",
            (
                Col("Stage"),
                Col("Done", "int"),
                Col("Avg days", "days"),
                Col("P90 days", "days"),
                Col("Now", "int"),
                Col("Now avg days", "days"),
                Col("Over target", "int"),
            ),
            stage_rows,
            bottleneck or "No stay ended in the period.",
        ),
        Table(
            "sla",
            "SLA",
            (
                Col("Stage"),
                Col("Target"),
                Col("Green", "int"),
                Col("Yellow", "int"),
                Col("Red", "int"),
            ),
            sla_rows,
            "Cars in a stage against their dealership's target (yellow from "
            f"{YELLOW_SHARE:.0%}); the promised date: at risk 3 days before, late after.",
        ),
    ]
    return _CarTables(tables, bottleneck)


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _workload(fast: FastReader, ids: list[int], today: date) -> Table:
    this = _week(today)
    nxt = this + timedelta(days=7)
    last = nxt + timedelta(days=6)
    scope = _ids(ids)
    params = {"first": _param_day(fast, this), "last": _param_day(fast, last)}
    people = fast.rows(
        "SELECT u.id, u.display_name, u.role FROM users u "
        f"WHERE u.dealership_id IN ({scope}) AND u.role IN ('mechanic', 'detailer') "
        "AND u.active ORDER BY u.display_name"
    )
    if not people:
        return _workload_table([], this)
    keys = {as_uid(p[0]): p for p in people}
    in_people = f"u.dealership_id IN ({scope}) AND u.role IN ('mechanic', 'detailer')"
    sums: dict[tuple[str, str, bool], float] = {}

    def add(kind: str, found: list[tuple[Any, ...]]) -> None:
        for user_id, day, hours in found:
            key = (as_uid(user_id), kind, as_date(day) >= nxt)  # type: ignore[operator]
            sums[key] = sums.get(key, 0.0) + float(hours or 0.0)

    add(
        "capacity",
        fast.rows(
            "SELECT r.user_id, r.date, sum(r.allocated_hours) FROM resource_capacities r "
            f"JOIN users u ON u.id = r.user_id WHERE {in_people} "
            "AND r.date >= :first AND r.date <= :last GROUP BY r.user_id, r.date",
            params,
        ),
    )
    add(
        "booked",
        fast.rows(
            "SELECT b.user_id, b.date, sum(b.estimated_hours) FROM resource_bookings b "
            f"JOIN users u ON u.id = b.user_id WHERE {in_people} "
            f"AND b.date >= :first AND b.date <= :last AND b.status IN {_HOLDING} "
            "GROUP BY b.user_id, b.date",
            params,
        ),
    )
    add(
        "clocked",
        fast.rows(
            "SELECT e.user_id, e.date, sum(e.hours) FROM timebank_entries e "
            f"JOIN users u ON u.id = e.user_id WHERE {in_people} "
            "AND e.date >= :first AND e.date <= :last AND e.hours IS NOT NULL "
            "AND (e.ended_at IS NOT NULL OR e.started_at IS NULL) GROUP BY e.user_id, e.date",
            params,
        ),
    )
    rows = []
    for key, (_user_id, name, role) in keys.items():
        values = [sums.get((key, kind, later), 0.0) for later in (False, True) for kind in _KINDS]
        cap, booked, clocked, cap2, booked2, _ = values
        over = booked > cap + 1e-9 or booked2 > cap2 + 1e-9
        full = booked >= 0.9 * cap > 0 or booked2 >= 0.9 * cap2 > 0
        rows.append(
            Row(
                (name, role, cap, booked, clocked, cap2, booked2),
                Behind(
                    f"Bookings · {name} · weeks {this.isocalendar()[1]}-{nxt.isocalendar()[1]}",
                    kind="bookings",
                    spec={"user_id": key, "first": this, "last": last},
                ),
                "red" if over else "yellow" if full else "green",
            )
        )
    return _workload_table(rows, this)


_KINDS = ("capacity", "booked", "clocked")
_HOLDING = sql_in(BOOKING_HOLDING_STATUSES)


def _workload_table(rows: list[Row], monday: date) -> Table:
    w1, w2 = monday.isocalendar()[1], (monday + timedelta(days=7)).isocalendar()[1]
    return Table(
        "workload",
        "Workload",
        (
            Col("Person"),
            Col("Role"),
            Col(f"W{w1} capacity", "hours"),
            Col(f"W{w1} booked", "hours"),
            Col(f"W{w1} clocked", "hours"),
            Col(f"W{w2} capacity", "hours"),
            Col(f"W{w2} booked", "hours"),
        ),
        rows,
        f"Mechanics and detailers, this week (W{w1}) and next (W{w2}): hours of capacity, "
        "of bookings, clocked.",
    )


def _productivity(fast: FastReader, scoped: Actor, first: date, last: date) -> Table:
    people = {
        as_uid(u): (name, role)
        for u, name, role in fast.rows(
            "SELECT u.id, u.display_name, u.role FROM users u "
            f"WHERE u.dealership_id IN ({_ids(sorted(scoped.dealership_ids))}) "
            "AND u.role IN ('mechanic', 'detailer')"
        )
    }
    totals = timebank.summary(timebank.hours(fast, scoped, first, last, list(people)))
    rows = []
    for name, t in totals.items():
        if t["clocked"] <= 0 and t["estimated"] <= 0:
            continue
        ratio = t["productivity"]
        rows.append(
            Row(
                (name, people[t["user_id"]][1], t["clocked"], t["productive"], ratio),
                Behind(
                    f"Bookings · {name} · {first:%d %b}-{last:%d %b}",
                    kind="bookings",
                    spec={"user_id": t["user_id"], "first": first, "last": last},
                ),
                "" if ratio is None else "green" if ratio >= 0.8 else "yellow",
            )
        )
    return Table(
        "productivity",
        "Productivity",
        (
            Col("Person"),
            Col("Role"),
            Col("Clocked (attended)", "hours"),
            Col("Productive", "hours"),
            Col("Productivity", "pct"),
        ),
        rows,
        "Clocked hours on productive work / all clocked hours, in the period.",
    )


def _estimates(fast: FastReader, ids: list[int], first: date, last: date) -> Table:
    scope = _ids(ids)
    found = fast.rows(
        "SELECT b.resource_type_id, t.name, count(*), sum(b.estimated_hours), "
        "sum(b.actual_hours), "
        "sum(CASE WHEN b.actual_hours > b.estimated_hours THEN 1 ELSE 0 END) "
        "FROM resource_bookings b JOIN resource_types t ON t.id = b.resource_type_id "
        f"WHERE b.provider_dealership_id IN ({scope}) AND b.date >= :first AND b.date <= :last "
        "AND b.status = 'completed' AND b.actual_hours IS NOT NULL "
        "GROUP BY b.resource_type_id, t.name",
        {"first": _param_day(fast, first), "last": _param_day(fast, last)},
    )
    rows = []
    for type_id, name, count, estimated, actual, over in sorted(found, key=lambda r: str(r[1])):
        estimated, actual = float(estimated or 0.0), float(actual or 0.0)
        ratio = actual / estimated if estimated > 0 else None
        level = ""
        if ratio is not None:
            level = (
                "green" if abs(ratio - 1) <= 0.1 else "yellow" if abs(ratio - 1) <= 0.25 else "red"
            )
        rows.append(
            Row(
                (name, int(count), estimated, actual, ratio, int(over or 0)),
                Behind(
                    f"Completed · {name} · {first:%d %b}-{last:%d %b}",
                    kind="bookings",
                    spec={
                        "resource_type_id": int(type_id),
                        "first": first,
                        "last": last,
                        "completed": True,
                        "providers": tuple(ids),
                    },
                ),
                level,
            )
        )
    return Table(
        "estimates",
        "Estimate accuracy",
        (
            Col("Work", "name"),
            Col("Completed", "int"),
            Col("Estimated", "hours"),
            Col("Actual", "hours"),
            Col("Actual / estimated", "pct"),
            Col("Over estimate", "int"),
        ),
        rows,
        "Completed bookings at the prep centers in scope, in the period.",
    )


def _sharing(fast: FastReader, scoped: Actor, first: date, today: date) -> Table:
    monday = _week(first)
    weeks = (_week(today) - monday).days // 7 + 2  # through next week
    current = _week(today)
    rows = []
    for u in _sharing_usage(fast, scoped, monday, weeks):
        if u.booked <= 0 and u.week_monday < current:
            continue
        share = u.booked / u.max_hours_per_week if u.max_hours_per_week > 0 else None
        level = (
            "red" if u.left < -1e-9 else "yellow" if share is not None and share >= 0.8 else "green"
        )
        year, week, _ = u.week_monday.isocalendar()
        rows.append(
            Row(
                (
                    u.provider,
                    u.consumer,
                    u.work,
                    f"{year}-W{week:02d}",
                    u.booked,
                    u.max_hours_per_week,
                    share,
                ),
                Behind(
                    f"Sharing · {u.consumer} at {u.provider} · {u.work} · W{week:02d}",
                    kind="bookings",
                    spec={
                        "provider": u.provider_id,
                        "consumer": u.consumer_id,
                        "resource_type_id": u.resource_type_id,
                        "first": u.week_monday,
                        "last": u.week_monday + timedelta(days=6),
                    },
                ),
                level if u.enabled else "",
            )
        )
    return Table(
        "sharing",
        "Sharing usage",
        (
            Col("Provider", "name"),
            Col("Consumer", "name"),
            Col("Work", "name"),
            Col("Week"),
            Col("Booked", "hours"),
            Col("Cap", "hours"),
            Col("Used", "pct"),
        ),
        rows,
        "Hours booked by one dealership at another's prep center per ISO week, against the "
        "agreement's weekly cap.",
    )


# ------------------------------------------------------------------------------------------------
# the rows behind a figure
# ------------------------------------------------------------------------------------------------
def behind_cars(fast: FastReader, behind: Behind) -> list[CarRow]:
    """The cars behind a figure (at most :data:`BEHIND_LIMIT`), in the figure's order."""
    return fast.cars_by_id(list(behind.ids[:BEHIND_LIMIT]))


def behind_bookings(fast: FastReader, actor: Actor, behind: Behind) -> list[BookingRow]:
    """The bookings behind a figure (at most :data:`BEHIND_LIMIT`), by day and start."""
    actor.require("report.view")
    spec = behind.spec
    where = ["b.date >= :first", "b.date <= :last"]
    params: dict[str, Any] = {
        "first": _param_day(fast, spec["first"]),
        "last": _param_day(fast, spec["last"]),
        "limit": BEHIND_LIMIT,
    }
    if "user_id" in spec:
        where.append("b.user_id = :user")
        params["user"] = fast.uid(spec["user_id"])
        where.append(f"b.status IN {_HOLDING}")
    if "resource_type_id" in spec:
        where.append("b.resource_type_id = :rt")
        params["rt"] = int(spec["resource_type_id"])
    if spec.get("completed"):
        where.append("b.status = 'completed' AND b.actual_hours IS NOT NULL")
    if "providers" in spec:
        where.append(f"b.provider_dealership_id IN ({_ids(spec['providers'])})")
    if "provider" in spec:
        where.append(
            "b.provider_dealership_id = :provider AND b.consumer_dealership_id = :consumer"
        )
        params.update(provider=int(spec["provider"]), consumer=int(spec["consumer"]))
        where.append(f"b.status IN {_HOLDING}")
    rows = [
        booking_row(r)
        for r in fast.rows(
            f"SELECT {BOOKING_COLUMNS} {BOOKING_JOINS} WHERE {' AND '.join(where)} "
            "ORDER BY b.date, b.start_time IS NULL, b.start_time, b.id LIMIT :limit",
            params,
        )
    ]
    return [
        r
        for r in rows
        if actor.sees_dealership(r.provider_dealership_id)
        or actor.sees_dealership(r.consumer_dealership_id)
    ]
