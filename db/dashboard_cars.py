"""The cars' tables of the manager's dashboard (:mod:`db.dashboard`): cars per status, time per
stage, SLA, and the bottleneck.

The cars being worked on are read one by one; those delivered or archived in the period and the
stays that ended in it are counted by the database (:class:`db.period_cars.PeriodCars`); the cars
behind a figure are read when it is opened.  Targets are ``dealership.sla_targets`` (days per
stage key); a dealership without its own follows its parent, then :data:`DEFAULT_TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from db import formats
from db.dashboard_tables import (
    LEVELS,
    YELLOW_SHARE,
    Behind,
    CarSource,
    Col,
    Row,
    Table,
    _col,
)
from db.fast import as_date
from db.i18n import N_, Labels, _, ngettext
from db.period_cars import PeriodCars, param_ts
from db.sla import DEFAULT_STAGE_TARGETS, SLA_LABELS, late_from, sla_state
from db.stages import STAGE_BY_KEY, STAGE_OF_STATUS, STAGES
from db.vocab import CAR_INACTIVE_STATUSES, CAR_STATUS_LABELS, CAR_STATUSES

if TYPE_CHECKING:
    from db.fast import FastReader

DEFAULT_TARGETS = DEFAULT_STAGE_TARGETS


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
            late = self.late[promised] = param_ts(self.fast, late_from(as_date(promised)))
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
    promised_cars = sla_cars["delivery"]
    # a few thousand cars: what depends on the status or the dealership is looked up once
    lanes = {
        status: (
            by_status[status],
            None if stage is None else stage.key,
            None if stage is None else waiting[stage.key],
            None if stage is None else sla_cars[stage.key],
        )
        for status in CAR_STATUSES
        for stage in (STAGE_OF_STATUS.get(status),)
    }
    limits: dict[tuple[Any, str], tuple[float, float]] = {}  # red above, yellow from
    for car_id, status, dealership_id, promised, elapsed in cars.open_cars():
        listed, key, stage_cars, stage_levels = lanes[status]
        listed.append(car_id)
        if key is not None and elapsed is not None:
            limit = limits.get((dealership_id, key))
            if limit is None:
                target = targets.get(dealership_id, default)[key]
                limit = limits[(dealership_id, key)] = (target, YELLOW_SHARE * target)
            level = "red" if elapsed > limit[0] else "yellow" if elapsed >= limit[1] else "green"
            stage_cars.append((car_id, elapsed, level))  # type: ignore[union-attr]
            stage_levels[level].append(car_id)  # type: ignore[index]
        if promised is not None and status != "draft":
            state = delivery(status, promised, None)
            if state != "none":
                promised_cars[bucket_of[state]].append(car_id)
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
                s.short,
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
        stage_rows[index] = stage_rows[index]._replace(level=stage_rows[index].level or "yellow")

    sla_rows = []
    promised = [("delivery", _("Promised delivery date"), _("Promised date"))]
    for key, label, short in [(s.key, s.label, s.short) for s in STAGES] + promised:
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
                short,
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
