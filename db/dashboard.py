"""The manager's dashboard (US-1.7, US-7.3, improvement 6): where cars are stuck and how the
prep centers are loaded, for one dealership rolled up over its branches, over a period.

One read, :func:`dashboard`, gives every table the TUI shows, ``prepfloor report`` prints and a CSV
export writes; :func:`behind_cars` and :func:`behind_bookings` list what stands behind one row.  Plain SQL through
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
* **Estimate approvals** (:mod:`db.estimate_figures`): per dealership, the hours from an estimate
  sent to decided (median, 90th percentile) and the approved lines' value / the decided lines'.
* **Sharing**: per agreement and ISO week, hours booked against ``max_hours_per_week``
  (:func:`db.grid.sharing_usage`).

Targets are ``dealership.sla_targets`` (days per stage key); a dealership without its own follows
its parent, then :data:`DEFAULT_TARGETS`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from db import csvfile, formats, timebank
from db.access import Actor, descendants
from db.clock import iso_week_bounds, local_today, utcnow
from db.errors import NotAllowed
from db.fast import as_date, as_uid
from db.grid import BOOKING_COLUMNS, BOOKING_JOINS, BookingRow, _ids, _param_day, booking_row
from db.grid import sharing_usage as _sharing_usage
from db.i18n import N_, Labels, _, ngettext
from db.period_cars import PeriodCars, local_midnight, param_ts
from db.sla import DEFAULT_STAGE_TARGETS, SLA_LABELS, late_from, sla_state
from db.stages import STAGE_BY_KEY, STAGE_OF_STATUS, STAGES, days_sql
from db.stages import Stage as Stage
from db.vocab import (
    BOOKING_HOLDING_STATUSES,
    CAR_INACTIVE_STATUSES,
    CAR_STATUS_LABELS,
    CAR_STATUSES,
    ROLE_LABELS,
    sql_in,
)

if TYPE_CHECKING:
    from db.fast import CarRow, FastReader

PERIODS: tuple[int, ...] = (7, 30, 90)  # days a manager picks from
BEHIND_LIMIT = 2000  # rows a figure opens at most
YELLOW_SHARE = 0.75  # a stay is yellow from this share of its target


DEFAULT_TARGETS = DEFAULT_STAGE_TARGETS
LEVELS: tuple[str, ...] = ("green", "yellow", "red")


# ------------------------------------------------------------------------------------------------
# what the dashboard hands back
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    title: str  # as the reader's language writes it (the screen and ``prepfloor report``)
    kind: str = "text"  # text (short), name (a longer text), int, hours, days, pct, bar
    source: str = ""  # the title in English, the CSV's header (default: ``title``)

    @property
    def csv_title(self) -> str:
        return self.source or self.title


def _col(title: str, kind: str = "text") -> Col:
    """A column titled ``title`` (an English text marked with ``N_``), in the language spoken
    now; the CSV keeps the English title."""
    return Col(_(title), kind, title)


CarSource = Callable[[], tuple[tuple[int, ...], Mapping[int, str]]]


@dataclass(frozen=True)
class Behind:
    """What Enter on a row opens: ``kind`` ``cars`` (``cars()`` gives their ids and a note per
    car, worked out when first asked: a group's figures stand on tens of thousands of cars) or
    ``bookings`` (the list :func:`behind_bookings` reads by ``spec``)."""

    title: str
    kind: str = "cars"
    cars: CarSource | None = None
    spec: Mapping[str, Any] = field(default_factory=dict)
    _found: list[tuple[tuple[int, ...], Mapping[int, str]]] = field(
        default_factory=list, compare=False, repr=False
    )

    def _cars(self) -> tuple[tuple[int, ...], Mapping[int, str]]:
        if not self._found:
            self._found.append(self.cars() if self.cars is not None else ((), {}))
        return self._found[0]

    @property
    def ids(self) -> tuple[int, ...]:
        return self._cars()[0]

    @property
    def notes(self) -> Mapping[int, str]:
        return self._cars()[1]


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
    scope_name: str = ""  # the root's name ("Vest HQ"; "All dealerships"), for file names

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def file_name(self, table: Table) -> str:
        """``stages-porsgrunn-20261029-20261127.csv``: the table, the scope and the period."""
        import re

        name = self.scope_name or self.scope.split(" and ")[0]
        where = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        return f"{table.key}-{where or 'all'}-{self.first:%Y%m%d}-{self.last:%Y%m%d}.csv"


def format_value(kind: str, value: Any) -> str:
    """A cell as the TUI and ``prepfloor report`` show it (numbers as the reader's language
    writes them: ``1,234.5`` / ``1 234,5``)."""
    if value is None:
        return "—"
    if kind == "int":
        return formats.number(int(value), 0)
    if kind in ("hours", "days"):
        return formats.fixed(float(value), 1)
    if kind == "pct":
        return formats.percent(float(value))
    return str(value)


def csv_value(kind: str, value: Any) -> Any:
    """A cell of the CSV: numbers as numbers (hours and days with two decimals, percentages 0-100
    with one), text as text (:func:`db.csvfile.writer` makes it safe for a spreadsheet)."""
    if value is None:
        return ""
    if kind in ("hours", "days"):
        return csvfile.number(value, 2)
    if kind == "pct":
        return csvfile.number(float(value) * 100, 1)
    return value


def write_csv(table: Table, path_or_file: str | os.PathLike[str] | IO[str]) -> int:
    """One dashboard table as CSV (titles, then the values; percentages as numbers 0-100).  Text
    cells are written spreadsheet-safe (:mod:`db.csvfile`).  Machine-readable whatever the
    language: English titles, numbers with a decimal point."""
    columns = [c for c in table.columns if c.kind != "bar"]
    keep = [i for i, c in enumerate(table.columns) if c.kind != "bar"]

    def write(handle: IO[str]) -> int:
        out = csvfile.writer(handle)
        has_level = any(r.level for r in table.rows)
        out.writerow([c.csv_title for c in columns] + (["level"] if has_level else []))
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
) -> tuple[int | None, list[int], str, str]:
    """The root, the dealerships in scope, the scope in words ("Vest HQ and 2 branches") and the
    root's name (for a file name)."""
    names = {
        int(i): str(name) for i, name in fast.rows("SELECT id, dealership_name FROM dealership")
    }
    if root_id is None and not actor.all_dealerships:
        root_id = actor.dealership_id
    if root_id is None:
        ids = sorted(names)
        return None, ids, _("All dealerships"), "All dealerships"
    if not actor.sees_dealership(root_id):
        raise NotAllowed(_("You can only look at your own dealership and its branches."))
    ids = sorted(
        d for d in descendants(fast.parents(), root_id) if actor.sees_dealership(d) and d in names
    )
    branches = len(ids) - 1
    name = names.get(root_id, f"#{root_id}")
    scope = name
    if branches:
        scope = ngettext(
            "{dealership} and {n} branch", "{dealership} and {n} branches", branches
        ).format(dealership=name, n=branches)
    return root_id, ids, scope, name


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
_param_ts = param_ts
_local_midnight = local_midnight


def _days(fast: FastReader, start: str, end: str) -> str:
    return days_sql(fast.dialect, start, end)


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
    root_id, ids, scope, scope_name = _scope(fast, actor, root_id)
    now = utcnow()
    scoped = replace(actor, dealership_ids=frozenset(ids), all_dealerships=False, role="manager")
    # the cars' half on a second connection in another thread, the bookings' half here: both
    # are mostly the database's work, which runs outside Python's lock
    with ThreadPoolExecutor(max_workers=1) as pool:
        cars_half = pool.submit(_car_tables, fast.second(), root_id, ids, first, today, now)
        bookings_half = [
            _workload(fast, scoped, ids, today),
            _productivity(fast, scoped, first, today),
            _estimates(fast, ids, first, today),
            _sharing(fast, scoped, first, today),
            _approvals(fast, ids, first, today),
        ]
        cars = cars_half.result()
    tables = [*cars.tables, *bookings_half]
    return Dashboard(scope, root_id, tuple(ids), first, today, tables, cars.bottleneck, scope_name)


class Notes(Mapping[int, str]):
    """A note per car, written only for the cars a list shows (a group has tens of thousands)."""

    def __init__(self, raw: Mapping[int, Any], write: Callable[[Any], str]) -> None:
        self.raw = raw
        self.write = write

    def __getitem__(self, car_id: int) -> str:
        return self.write(self.raw[car_id])

    def __iter__(self) -> Iterator[int]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def _stage_cars(
    done: Callable[[], list[tuple[int, float]]], now_in: list[tuple[int, float, str]]
) -> tuple[tuple[int, ...], Mapping[int, str]]:
    """A stage's cars: those whose stay ended in the period, then those in it now."""
    raw: dict[int, tuple[Any, ...]] = {car_id: (d,) for car_id, d in done()}
    raw.update({car_id: (d, level) for car_id, d, level in now_in})
    return tuple(raw), Notes(raw, _stay_note)


def _listed(ids: list[int]) -> tuple[tuple[int, ...], Mapping[int, str]]:
    return tuple(ids), {}


def _delivery_cars(
    buckets: dict[str, list[int]],
    notes: dict[int, tuple[Any, str]],
    delivered: Callable[[], list[tuple[int, Any, str]]],
) -> tuple[tuple[int, ...], Mapping[int, str]]:
    """The promised date's cars: those not handed over (``buckets``) and those handed over in the
    period, red first, then yellow, then green, each by id."""
    merged = {level: list(ids) for level, ids in buckets.items()}
    raw = dict(notes)
    bucket_of = {"on_time": "green", "at_risk": "yellow", "late": "red"}
    for car_id, promised, state in delivered():
        merged[bucket_of[state]].append(car_id)
        raw[car_id] = (promised, state)
    for ids in merged.values():
        ids.sort()
    return _level_cars(merged, Notes(raw, _promise_note))


def _level_cars(
    buckets: dict[str, list[int]], notes: Mapping[int, str]
) -> tuple[tuple[int, ...], Mapping[int, str]]:
    """An SLA row's cars: red first, then yellow, then green."""
    return tuple(i for level in ("red", "yellow", "green") for i in buckets[level]), notes


# The levels as a car's note names them.
LEVEL_WORDS = Labels({"green": N_("green"), "yellow": N_("yellow"), "red": N_("red")})


def _stay_note(value: tuple[Any, ...]) -> str:
    days = formats.fixed(value[0], 1)
    if len(value) == 1:
        return _("stayed {days} d").format(days=days)
    level = LEVEL_WORDS[value[1]] if value[1] in LEVEL_WORDS else value[1]
    return _("there {days} d now · {level}").format(days=days, level=level)


def _promise_note(value: tuple[Any, str]) -> str:
    promised = as_date(value[0])
    assert promised is not None
    return _("promised {day} · {state}").format(
        day=formats.day_month(promised), state=_(SLA_LABELS[value[1]])
    )


class _DeliveryStates:
    """:func:`db.sla.sla_state` of many cars as the driver hands their columns back: the state of
    a car not handed over depends on its status and promised date only, and a handover is late
    from :func:`db.sla.late_from` of the promised date; both are worked out once per value."""

    def __init__(self, fast: FastReader, today: date) -> None:
        self.fast = fast
        self.today = today
        self.open: dict[tuple[str, Any], str] = {}
        self.late: dict[Any, Any] = {}

    def __call__(self, status: str, promised: Any, handed_over: Any) -> str:
        if handed_over is None:
            key = (status, promised)
            state = self.open.get(key)
            if state is None:
                state = self.open[key] = sla_state(status, as_date(promised), None, self.today)
            return state
        late = self.late.get(promised)
        if late is None:
            late = self.late[promised] = _param_ts(self.fast, late_from(as_date(promised)))
        return "late" if handed_over >= late else "on_time"


@dataclass
class _CarTables:
    tables: list[Table]
    bottleneck: str


def _car_tables(
    fast: FastReader, root_id: int | None, ids: list[int], first: date, today: date, now: datetime
) -> _CarTables:
    """The cars' tables: the cars being worked on read one by one (a few thousand, from
    ``ix_cars_open``), those delivered or archived in the period and the stays that ended in it
    counted by the database (``ix_cars_closed``, the kept ``car_stays``); the cars behind a
    figure are read when it is opened."""
    cars = PeriodCars(fast, root_id, ids, first, today, now)
    targets = targets_of(fast)
    default = dict(DEFAULT_TARGETS)
    shown = targets.get(root_id, default) if root_id is not None else default
    by_status: dict[str, list[int]] = {s: [] for s in CAR_STATUSES}
    waiting: dict[str, list[tuple[int, float, str]]] = {s.key: [] for s in STAGES}
    sla_cars: dict[str, dict[str, list[int]]] = {
        k: {level: [] for level in LEVELS} for k in [*STAGE_BY_KEY, "delivery"]
    }
    sla_notes: dict[int, tuple[Any, str]] = {}
    bucket_of = {"on_time": "green", "at_risk": "yellow", "late": "red"}
    delivery = _DeliveryStates(fast, today)
    for car_id, status, dealership_id, promised, elapsed in cars.open_cars():
        by_status[status].append(car_id)
        stage = STAGE_OF_STATUS.get(status)
        if stage is not None and elapsed is not None:
            level = level_of(elapsed, targets.get(dealership_id, default)[stage.key])
            waiting[stage.key].append((car_id, elapsed, level))
            sla_cars[stage.key][level].append(car_id)
        if promised is not None and status != "draft":
            state = delivery(status, promised, None)
            if state != "none":
                sla_cars["delivery"][bucket_of[state]].append(car_id)
                sla_notes[car_id] = (promised, state)
    closed = cars.closed_counts()
    handed_over = cars.delivery_counts(delivery)

    status_rows = []
    sizes = {s: closed.get(s, len(by_status[s])) for s in CAR_STATUSES}
    biggest = max(sizes.values(), default=0) or 1
    for status in CAR_STATUSES:
        size = sizes[status]
        label = CAR_STATUS_LABELS[status]
        if status in CAR_INACTIVE_STATUSES:
            label = _("{status} (in period)").format(status=label)
            source: CarSource = partial(cars.closed_ids, status)
        else:
            source = partial(_listed, by_status[status])
        status_rows.append(
            Row(
                (label, size, "█" * max(0, round(28 * size / biggest))),
                Behind(_("Cars · {status}").format(status=CAR_STATUS_LABELS[status]), cars=source),
            )
        )

    stage_rows = []
    averages: dict[str, float] = {}
    done = cars.stays()
    for s in STAGES:
        count, total, p90 = done.get(s.key, (0, 0.0, None))
        now_in = waiting[s.key]
        avg = total / count if count else None
        if avg is not None:
            averages[s.key] = avg
        over = sum(1 for _car, _days, level in now_in if level == "red")

        stage_rows.append(
            Row(
                (
                    s.label,
                    count,
                    avg,
                    p90,
                    len(now_in),
                    sum(d for _car, d, _level in now_in) / len(now_in) if now_in else None,
                    over,
                ),
                Behind(
                    _("Cars · {status}").format(status=s.label),
                    cars=partial(_stage_cars, partial(cars.stay_ids, s.key), now_in),
                ),
                "red" if over else "",
            )
        )
    bottleneck = ""
    if averages:
        key = max(averages, key=lambda k: averages[k])
        stage = STAGE_BY_KEY[key]
        there = len(waiting[key])
        bottleneck = ngettext(
            "Bottleneck: {stage} — {days} days on average in the period, {n} car there now",
            "Bottleneck: {stage} — {days} days on average in the period, {n} cars there now",
            there,
        ).format(stage=stage.label, days=formats.fixed(averages[key], 1), n=there)
        index = STAGES.index(stage)
        stage_rows[index] = replace(stage_rows[index], level=stage_rows[index].level or "yellow")

    sla_rows = []
    promised = [("delivery", _("Promised delivery date"))]
    for key, label in [(s.key, s.label) for s in STAGES] + promised:
        buckets = sla_cars[key]
        sizes = {level: len(buckets[level]) for level in LEVELS}
        if key == "delivery":
            for level, n in handed_over.items():
                sizes[level] += n
            source = partial(_delivery_cars, buckets, sla_notes, cars.delivered_states)
        else:
            notes = Notes({car_id: (d, lv) for car_id, d, lv in waiting[key]}, _stay_note)
            source = partial(_level_cars, buckets, notes)
        level = "red" if sizes["red"] else "yellow" if sizes["yellow"] else "green"
        if key in shown:
            target = _("{days} d").format(days=formats.number(shown[key]))
        else:
            target = _("date")
        sla_rows.append(
            Row(
                (label, target, sizes["green"], sizes["yellow"], sizes["red"]),
                Behind(_("SLA · {stage}").format(stage=label), cars=source),
                level if any(sizes.values()) else "",
            )
        )
    tables = [
        Table(
            "status",
            _("Cars per status"),
            (_col(N_("Status")), _col(N_("Cars"), "int"), Col("", "bar")),
            status_rows,
            _("Delivered and archived: cars that got there in the period."),
        ),
        Table(
            "stages",
            _("Time per stage"),
            (
                _col(N_("Stage")),
                _col(N_("Done"), "int"),
                _col(N_("Avg days"), "days"),
                _col(N_("P90 days"), "days"),
                _col(N_("Now"), "int"),
                _col(N_("Now avg days"), "days"),
                _col(N_("Over target"), "int"),
            ),
            stage_rows,
            bottleneck or _("No stay ended in the period."),
        ),
        Table(
            "sla",
            _("SLA"),
            (
                _col(N_("Stage")),
                _col(N_("Target")),
                _col(N_("Green"), "int"),
                _col(N_("Yellow"), "int"),
                _col(N_("Red"), "int"),
            ),
            sla_rows,
            _(
                "Cars in a stage against their dealership's target (yellow from {share}); "
                "the promised date: at risk 3 days before, late after."
            ).format(share=formats.percent(YELLOW_SHARE)),
        ),
    ]
    return _CarTables(tables, bottleneck)


def _week(day: date) -> date:
    return iso_week_bounds(day)[0]


def _workload(fast: FastReader, scoped: Actor, ids: list[int], today: date) -> Table:
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
    sums: dict[tuple[str, str, bool], float] = {}
    uids: dict[Any, str] = {}  # the driver's value -> the id as text (parsed once per person)
    late_days: dict[Any, bool] = {}  # a day as the driver hands it back: in next week?
    # capacity and booked: the people's own capacity rows (``used_hours`` is the sum of the
    # bookings that hold them, the ledger's rule)
    for user_id, day, allocated, used in fast.rows(
        "SELECT r.user_id, r.date, sum(r.allocated_hours), sum(r.used_hours) "
        f"FROM resource_capacities r WHERE r.dealership_id IN ({scope}) "
        # every kind of work named: the index by (dealership, work, day, person) reads the weeks
        "AND r.resource_type_id IN (SELECT t.id FROM resource_types t) "
        "AND r.user_id IS NOT NULL AND r.date >= :first AND r.date <= :last "
        "GROUP BY r.user_id, r.date",
        params,
    ):
        later = late_days.get(day)
        if later is None:
            later = late_days[day] = as_date(day) >= nxt  # type: ignore[operator]
        uid = uids.get(user_id) or uids.setdefault(user_id, as_uid(user_id))
        for kind, hours in (("capacity", allocated), ("booked", used)):
            key = (uid, kind, later)
            sums[key] = sums.get(key, 0.0) + float(hours or 0.0)
    clocked = timebank.clocked_totals(fast, scoped, this, this + timedelta(days=6), list(keys))
    for user_id, (hours, _productive) in clocked.items():
        sums[(user_id, "clocked", False)] = hours
    rows = []
    for key, (_user_id, name, role) in keys.items():
        values = [sums.get((key, kind, later), 0.0) for later in (False, True) for kind in _KINDS]
        cap, booked, clocked, cap2, booked2, _rest = values
        over = booked > cap + 1e-9 or booked2 > cap2 + 1e-9
        full = booked >= 0.9 * cap > 0 or booked2 >= 0.9 * cap2 > 0
        rows.append(
            Row(
                (name, _role(role), cap, booked, clocked, cap2, booked2),
                Behind(
                    _("Bookings · {person} · weeks {first}-{last}").format(
                        person=name, first=this.isocalendar()[1], last=nxt.isocalendar()[1]
                    ),
                    kind="bookings",
                    spec={"user_id": key, "first": this, "last": last},
                ),
                "red" if over else "yellow" if full else "green",
            )
        )
    return _workload_table(rows, this)


_KINDS = ("capacity", "booked", "clocked")


def _role(role: str) -> str:
    """A person's role in a figure table: ``mechanic`` / ``mekaniker``."""
    return ROLE_LABELS[role].lower() if role in ROLE_LABELS else role


def _span(first: date, last: date) -> str:
    """A period in a title: ``9 Dec-7 Jan`` / ``9. des.-7. jan.``."""
    return _("{first}-{last}").format(first=formats.day_month(first), last=formats.day_month(last))


def _week_col(title: str, week: int) -> Col:
    """A column of one ISO week (``title`` has a ``{week}``, marked with ``N_``)."""
    return Col(_(title).format(week=week), "hours", title.format(week=week))


_HOLDING = sql_in(BOOKING_HOLDING_STATUSES)


def _workload_table(rows: list[Row], monday: date) -> Table:
    w1, w2 = monday.isocalendar()[1], (monday + timedelta(days=7)).isocalendar()[1]
    return Table(
        "workload",
        _("Workload"),
        (
            _col(N_("Person")),
            _col(N_("Role")),
            _week_col(N_("W{week} capacity"), w1),
            _week_col(N_("W{week} booked"), w1),
            _week_col(N_("W{week} clocked"), w1),
            _week_col(N_("W{week} capacity"), w2),
            _week_col(N_("W{week} booked"), w2),
        ),
        rows,
        _(
            "Mechanics and detailers, this week (W{this}) and next (W{next}): hours of "
            "capacity, of bookings, clocked."
        ).format(this=w1, next=w2),
    )


def _productivity(fast: FastReader, scoped: Actor, first: date, last: date) -> Table:
    people = {
        as_uid(u): (name, role)
        for u, name, role in fast.rows(
            "SELECT u.id, u.display_name, u.role FROM users u "
            f"WHERE u.dealership_id IN ({_ids(sorted(scoped.dealership_ids))}) "
            "AND u.role IN ('mechanic', 'detailer') ORDER BY u.display_name"
        )
    }
    totals = timebank.clocked_totals(fast, scoped, first, last, list(people))
    rows = []
    for user_id, (name, role) in people.items():
        clocked, productive = totals.get(user_id, (0.0, 0.0))
        if clocked <= 0:
            continue
        ratio = timebank.productivity(productive, clocked)
        rows.append(
            Row(
                (name, _role(role), clocked, productive, ratio),
                Behind(
                    _("Bookings · {person} · {period}").format(
                        person=name, period=_span(first, last)
                    ),
                    kind="bookings",
                    spec={"user_id": user_id, "first": first, "last": last},
                ),
                "" if ratio is None else "green" if ratio >= 0.8 else "yellow",
            )
        )
    return Table(
        "productivity",
        _("Productivity"),
        (
            _col(N_("Person")),
            _col(N_("Role")),
            _col(N_("Clocked (attended)"), "hours"),
            _col(N_("Productive"), "hours"),
            _col(N_("Productivity"), "pct"),
        ),
        rows,
        _("Clocked hours on productive work / all clocked hours, in the period."),
    )


def _estimates(fast: FastReader, ids: list[int], first: date, last: date) -> Table:
    # the kept day totals of the bookings (db.totals)
    found = fast.rows(
        "SELECT t.resource_type_id, sum(t.completed), sum(t.completed_estimated), "
        "sum(t.completed_actual), sum(t.completed_over) FROM booking_day_totals t "
        f"WHERE t.provider_dealership_id IN ({_ids(ids)}) AND t.date >= :first "
        "AND t.date <= :last GROUP BY t.resource_type_id HAVING sum(t.completed) > 0",
        {"first": _param_day(fast, first), "last": _param_day(fast, last)},
    )
    names = {int(i): str(n) for i, n in fast.rows("SELECT id, name FROM resource_types")}
    rows = []
    for type_id, count, estimated, actual, over in sorted(
        found, key=lambda r: names.get(int(r[0]), "")
    ):
        name = names.get(int(type_id), f"#{type_id}")
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
                    _("Completed · {work} · {period}").format(work=name, period=_span(first, last)),
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
        _("Estimate accuracy"),
        (
            _col(N_("Work"), "name"),
            _col(N_("Completed"), "int"),
            _col(N_("Estimated"), "hours"),
            _col(N_("Actual"), "hours"),
            _col(N_("Actual / estimated"), "pct"),
            _col(N_("Over estimate"), "int"),
        ),
        rows,
        _("Completed bookings at the prep centers in scope, in the period."),
    )


def _approvals(fast: FastReader, ids: list[int], first: date, last: date) -> Table:
    from db.estimate_figures import approvals

    return approvals(fast, ids, first, last)


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
        year, week, _weekday = u.week_monday.isocalendar()
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
                    _("Sharing · {consumer} at {provider} · {work} · W{week}").format(
                        consumer=u.consumer, provider=u.provider, work=u.work, week=f"{week:02d}"
                    ),
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
        _("Sharing usage"),
        (
            _col(N_("Provider"), "name"),
            _col(N_("Consumer"), "name"),
            _col(N_("Work"), "name"),
            _col(N_("Week")),
            _col(N_("Booked"), "hours"),
            _col(N_("Cap"), "hours"),
            _col(N_("Used"), "pct"),
        ),
        rows,
        _(
            "Hours booked by one dealership at another's prep center per ISO week, against the "
            "agreement's weekly cap."
        ),
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
