"""The cars of the manager's dashboard over a period, as the database counts them.

A group's dashboard over 90 days stands on tens of thousands of cars, most of them delivered or
archived in the period.  Only the cars being worked on now (a few thousand) are read one by one,
from the index ``ix_cars_open``: how long each has been in its stage decides its SLA level.  The
rest is counted by the database: the cars delivered or archived in the period (the kept
``closed_day_totals``, :mod:`db.totals_closed`, and the first day's rest from ``ix_cars_closed``),
the stays that ended in it (the kept ``car_stays``, :mod:`db.totals`: their number, total and 90th
percentile), the handovers on time and late (``ix_cars_handed``: late depends on the reader's
zone) and the cars delivered without one (``ix_cars_waiting``).  The cars behind one of those
figures are read when it is opened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from db.grid import _ids, _param_day
from db.sla import sla_state
from db.stages import STAGES, days_sql
from db.totals import EARLY
from db.totals_closed import CARS_HANDED, CARS_WAITING
from db.totals_closed import TABLE as CLOSED_TOTALS
from db.vocab import CAR_INACTIVE_STATUSES, sql_in

if TYPE_CHECKING:
    from db.fast import FastReader

OPEN = f"c.status NOT IN {sql_in(CAR_INACTIVE_STATUSES)}"  # as ``ix_cars_open`` says it
CLOSED = f"c.status IN {sql_in(CAR_INACTIVE_STATUSES)}"  # as ``ix_cars_closed`` says it
P90 = 0.9
RUN_DAYS = 1100  # promised dates this far from today are compared in SQL; others car by car


def param_ts(fast: FastReader, at: datetime) -> Any:
    """A timestamp as a parameter: the stored UTC text on SQLite, aware on PostgreSQL."""
    if fast.dialect == "sqlite":
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


def local_midnight(day: date) -> datetime:
    from db.clock import zone

    return datetime(day.year, day.month, day.day, tzinfo=zone())


class PeriodCars:
    """The cars in scope (``root_id`` None: every car; else those of the dealerships ``ids`` or at
    their prep centers) from ``first`` to ``today`` (local days), ``now`` the moment of the
    figures."""

    def __init__(
        self,
        fast: FastReader,
        root_id: int | None,
        ids: list[int],
        first: date,
        today: date,
        now: datetime,
    ) -> None:
        self.fast = fast
        self.today = today
        self.bounds = (
            local_midnight(first).astimezone(UTC),
            local_midnight(today + timedelta(days=1)).astimezone(UTC),
        )
        self.params = {
            "start": param_ts(fast, self.bounds[0]),
            "end": param_ts(fast, self.bounds[1]),
        }
        self.now = param_ts(fast, now)
        self.cars_scope = self.stays_scope = "1=1"
        if root_id is not None:
            # on SQLite the scope is kept off the indexes by dealership (``+``): the dashboard's
            # own indexes read fewer rows
            plus = "+" if fast.dialect == "sqlite" else ""
            listed = _ids(ids)
            self.cars_scope = (
                f"({plus}c.dealership_id IN ({listed}) OR {plus}c.prep_center_id IN ({listed}))"
            )
            self.stays_scope = f"(s.dealership_id IN ({listed}) OR s.prep_center_id IN ({listed}))"
        self.delivery: Callable[[str, Any, Any], str] | None = None
        self._closed_found: dict[str, int] | None = None
        self._levels: dict[str, int] = {}
        # SQLite's planner would rather read ``ix_cars_status`` (every delivered car ever)
        sqlite = fast.dialect == "sqlite"
        self.open_index = " INDEXED BY ix_cars_open" if sqlite else ""
        self.closed_index = " INDEXED BY ix_cars_closed" if sqlite else ""
        self.handed_index = " INDEXED BY ix_cars_handed" if sqlite else ""
        self.waiting_index = " INDEXED BY ix_cars_waiting" if sqlite else ""
        self.days_index = " INDEXED BY ix_car_stays_days" if sqlite else ""

    # -- the cars being worked on --------------------------------------------------------------
    def open_cars(self) -> list[tuple[int, str, int, Any, float | None]]:
        """(id, status, dealership, promised date, days in the stage so far) of every car not
        delivered or archived, by id."""
        now_case = " ".join(
            f"WHEN c.status IN {sql_in(s.statuses)} THEN "
            f"{days_sql(self.fast.dialect, f'coalesce({s.start}, c.status_changed_at)', ':now')}"
            for s in STAGES
        )
        rows = self.fast.rows(
            "SELECT c.id, c.status, c.dealership_id, c.expected_delivery_date, "
            f"CASE {now_case} END FROM cars c{self.open_index} WHERE {OPEN} AND {self.cars_scope}",
            {"now": self.now},
        )
        rows.sort(key=lambda r: r[0])
        return rows  # type: ignore[return-value]

    # -- delivered and archived in the period --------------------------------------------------
    def _closed(self, more: str = "") -> str:
        return (
            f"FROM cars c{self.closed_index} WHERE {CLOSED} AND c.status_changed_at >= :start "
            f"AND {self.cars_scope}{more}"
        )

    def closed_counts(self) -> dict[str, int]:
        """Cars delivered and archived in the period, by status (read with the handovers'
        SLA, :meth:`delivery_counts`, in one pass)."""
        if self._closed_found is None:
            self._read_closed()
        assert self._closed_found is not None
        return self._closed_found

    def _read_closed(self) -> None:
        found = dict.fromkeys(CAR_INACTIVE_STATUSES, 0)
        for status, n in self._closed_counted():
            found[str(status)] += int(n)
        levels = {"green": 0, "yellow": 0, "red": 0}
        bucket_of = {"on_time": "green", "at_risk": "yellow", "late": "red"}
        # delivered without a handover time: the promised date decides (as of today)
        for waiting_day, n in self.fast.rows(
            f"SELECT c.expected_delivery_date, count(*) FROM cars c{self.waiting_index} "
            f"WHERE {CARS_WAITING} AND c.status_changed_at >= :start AND {self.cars_scope} "
            "GROUP BY c.expected_delivery_date",
            self.params,
        ):
            state = sla_state("delivered", waiting_day, None, self.today)
            if state != "none":
                levels[bucket_of[state]] += int(n)
        # handed over: late from db.sla.late_from of the promised date, in the reader's zone
        runs = _late_runs(self.today)
        params = dict(self.params)
        cases = []
        for i, (a, b, minutes) in enumerate(runs):
            params.update({f"a{i}": _param_day(self.fast, a), f"b{i}": _param_day(self.fast, b)})
            if self.fast.dialect == "sqlite":
                # the stored text of the moment: date() and a constant time are cheaper than
                # datetime() on tens of thousands of handovers
                days, rest = divmod(minutes, 24 * 60)
                if days == 0 or (days == 1 and rest == 0):
                    # no date() at all: the promised date's own text and a time, the midnight
                    # after it as its "24:00" (after every moment of that day, before the next)
                    hour = 24 * days + rest // 60
                    moment = f"c.expected_delivery_date || ' {hour:02d}:{rest % 60:02d}:00.000000'"
                else:
                    moment = (
                        f"date(c.expected_delivery_date, '{days:+d} days') "
                        f"|| ' {rest // 60:02d}:{rest % 60:02d}:00.000000'"
                    )
            else:
                moment = (
                    f"(c.expected_delivery_date::timestamp + interval '{minutes} minutes') "
                    "AT TIME ZONE 'UTC'"
                )
            cases.append(f"WHEN c.expected_delivery_date BETWEEN :a{i} AND :b{i} THEN {moment}")
        late = f"c.delivered_to_customer_at >= CASE {' '.join(cases)} END" if cases else "1=0"
        params.update(
            lo=_param_day(self.fast, runs[0][0] if runs else self.today),
            hi=_param_day(self.fast, runs[-1][1] if runs else self.today),
        )
        handed, n_late, outside = self.fast.rows(
            f"SELECT count(*), sum(CASE WHEN {late} THEN 1 ELSE 0 END), "
            "sum(CASE WHEN c.expected_delivery_date BETWEEN :lo AND :hi THEN 0 ELSE 1 END) "
            f"FROM cars c{self.handed_index} WHERE {CARS_HANDED} "
            f"AND c.status_changed_at >= :start AND {self.cars_scope}",
            params,
        )[0]
        levels["red"] += int(n_late or 0)
        levels["green"] += int(handed or 0) - int(n_late or 0)
        if outside:  # promised dates far from today: every car's own state
            levels = {"green": 0, "yellow": 0, "red": 0}
            for _car, _promised, state in self.delivered_states(sla_state):
                levels[bucket_of[state]] += 1
        self._closed_found = found
        self._levels = levels

    def _closed_counted(self) -> list[Any]:
        """(status, cars) delivered and archived since the period began: the whole UTC days from
        the kept ``closed_day_totals``, the first day's rest from the cars."""
        start = self.bounds[0]
        first_day = (start + timedelta(days=1)).date() if start.time() != time() else start.date()
        params = {
            **self.params,
            "d1": _param_day(self.fast, first_day),
            "t1": param_ts(self.fast, _utc_midnight(first_day)),
        }
        scope = self.stays_scope.replace("s.", "t.")
        found = self.fast.rows(
            f"SELECT t.status, sum(t.cars) FROM {CLOSED_TOTALS} t WHERE t.day >= :d1 "
            f"AND {scope} GROUP BY t.status",
            params,
        )
        if start < _utc_midnight(first_day):
            found += self.fast.rows(
                f"SELECT c.status, count(*) {self._closed(' AND c.status_changed_at < :t1')} "
                "GROUP BY c.status",
                params,
            )
        return found

    def closed_ids(self, status: str) -> tuple[tuple[int, ...], Mapping[int, str]]:
        rows = self.fast.rows(
            f"SELECT c.id {self._closed(' AND c.status = :status')} ORDER BY c.id",
            {**self.params, "status": status},
        )
        return tuple(int(r[0]) for r in rows), {}

    def delivery_counts(self, delivery: Callable[[str, Any, Any], str]) -> dict[str, int]:
        """The cars delivered in the period with a promised date, per SLA level (green: on
        time, red: late); ``delivery`` gives a car's state from its status, promised date and
        handover (:class:`db.dashboard._DeliveryStates`), for the cars behind the figure."""
        self.delivery = delivery
        self.closed_counts()
        return dict(self._levels)

    def delivered_states(
        self, state_of: Callable[..., str] | None = None
    ) -> list[tuple[int, Any, str]]:
        """(id, promised date, state) of the cars behind :meth:`delivery_counts`, by id."""
        state_of = state_of or self.delivery
        assert state_of is not None
        more = " AND c.status = 'delivered' AND c.expected_delivery_date IS NOT NULL"
        found = []
        for car_id, promised, handed_over in self.fast.rows(
            f"SELECT c.id, c.expected_delivery_date, c.delivered_to_customer_at "
            f"{self._closed(more)} ORDER BY c.id",
            self.params,
        ):
            if state_of is sla_state:
                state = sla_state("delivered", promised, handed_over, self.today)
            else:
                state = state_of("delivered", promised, handed_over)
            if state != "none":
                found.append((int(car_id), promised, state))
        return found

    # -- the stays that ended in the period ----------------------------------------------------
    def _stays(self, more: str = "", index: str = "", lo: str = ":start", hi: str = ":end") -> str:
        return (
            f"FROM car_stays s{index} WHERE s.ended_at >= {lo} AND s.ended_at < {hi} "
            "AND s.days IS NOT NULL AND (s.status NOT IN "
            f"{sql_in(CAR_INACTIVE_STATUSES)} OR s.status_changed_at >= :start) "
            f"AND {self.stays_scope}{more}"
        )

    def stays(self) -> dict[str, tuple[int, float, float | None]]:
        """Per stage the stays that ended in the period (of the cars being worked on, and of those
        delivered or archived in it): how many, their days in all, the 90th percentile (nearest
        rank: the stay 90 % of them did not exceed).  The whole UTC days of the period from the
        kept day totals, its ends (the local midnights) from the stays themselves."""
        start, end = self.bounds
        first_day = (start + timedelta(days=1)).date() if start.time() != time() else start.date()
        last_day = end.date()  # the whole days: first_day up to (not with) last_day
        found: dict[str, list[float]] = {s.key: [0, 0.0] for s in STAGES}
        keys = sql_in(tuple(s.key for s in STAGES))

        def add(rows: list[Any], sign: int = 1) -> None:
            for stage, n, total in rows:
                found[str(stage)][0] += sign * int(n)
                found[str(stage)][1] += sign * float(total or 0.0)

        if first_day < last_day:
            inner = {
                **self.params,
                "d1": _param_day(self.fast, first_day),
                "d2": _param_day(self.fast, last_day),
                "t1": param_ts(self.fast, _utc_midnight(first_day)),
                "t2": param_ts(self.fast, _utc_midnight(last_day)),
            }
            scope = self.stays_scope.replace("s.", "t.")
            # one statement (a round trip and a plan, not four), its parts added in this order
            parts = [
                "SELECT 0 AS part, t.stage, sum(t.stays), sum(t.days) FROM stay_day_totals t "
                f"WHERE t.day >= :d1 AND t.day < :d2 AND t.stage IN {keys} AND {scope} "
                "GROUP BY t.stage",
                *(
                    f"SELECT {n}, s.stage, count(*), sum(s.days) "
                    f"{self._stays(f' AND s.stage IN {keys}', lo=lo, hi=hi)} GROUP BY s.stage"
                    for n, (lo, hi) in ((1, (":start", ":t1")), (2, (":t2", ":end")))
                ),
                # stays of cars closed before the period that ended in it (none in a sound
                # history): taken out again
                "SELECT 3, s.stage, count(*), sum(s.days) FROM car_stays s "
                f"WHERE {EARLY.format(a='s.')} AND s.stage IN {keys} "
                "AND s.ended_at >= :t1 AND s.ended_at < :t2 AND s.days IS NOT NULL "
                "AND (s.status_changed_at IS NULL OR s.status_changed_at < :start) "
                f"AND {self.stays_scope} GROUP BY s.stage",
            ]
            rows = self.fast.rows(" UNION ALL ".join(parts), inner)
            rows.sort(key=lambda r: int(r[0]))
            for part, stage, n, total in rows:
                add([(stage, n, total)], -1 if int(part) == 3 else 1)
        else:
            add(
                self.fast.rows(
                    f"SELECT s.stage, count(*), sum(s.days) "
                    f"{self._stays(f' AND s.stage IN {keys}')} GROUP BY s.stage",
                    self.params,
                )
            )
        counted = [(stage, int(n), float(total)) for stage, (n, total) in found.items() if n > 0]
        # every stage's 90th percentile in one statement: the stay ``skip`` from the longest
        params = dict(self.params)
        walks = []
        for i, (stage, n, _total) in enumerate(counted):
            rank = max(0, math.ceil(P90 * n) - 1)  # from the shortest, as db.dashboard.percentile
            params.update({f"st{i}": stage, f"sk{i}": n - 1 - rank})
            walks.append(
                f"SELECT {i} AS i, (SELECT s.days "
                f"{self._stays(f' AND s.stage = :st{i}', self.days_index)} "
                f"ORDER BY s.days DESC LIMIT 1 OFFSET :sk{i})"
            )
        p90 = dict(self.fast.rows(" UNION ALL ".join(walks), params)) if walks else {}
        result: dict[str, tuple[int, float, float | None]] = {}
        for i, (stage, n, total) in enumerate(counted):
            value = p90.get(i)
            result[stage] = (n, total, None if value is None else float(value))
        return result

    def stay_ids(self, stage: str) -> list[tuple[int, float]]:
        """(car, days) of the stays of ``stage`` that ended in the period, by car."""
        return [
            (int(car_id), float(days))
            for car_id, days in self.fast.rows(
                f"SELECT s.car_id, s.days {self._stays(' AND s.stage = :stage')} ORDER BY s.car_id",
                {**self.params, "stage": stage},
            )
        ]


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@lru_cache(maxsize=4)
def _late_runs_of(today: date, zone_key: str) -> tuple[tuple[date, date, int], ...]:
    del zone_key  # the cache's key: the zone of :func:`db.sla.late_from`
    runs: list[list[Any]] = []
    day = today - timedelta(days=RUN_DAYS)
    while day <= today + timedelta(days=RUN_DAYS):
        minutes = _late_minutes(day)
        if minutes is None:
            break
        if runs and runs[-1][2] == minutes and runs[-1][1] == day - timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day, minutes])
        day += timedelta(days=1)
    return tuple((a, b, m) for a, b, m in runs)


def _late_runs(today: date) -> tuple[tuple[date, date, int], ...]:
    """Runs of promised dates around ``today`` with one offset each from their UTC midnight to
    :func:`db.sla.late_from` (summer time makes two runs a year)."""
    from db.clock import zone

    return _late_runs_of(today, repr(zone()))


def _late_minutes(promised: Any) -> int | None:
    """:func:`db.sla.late_from` of a promised date as minutes after the date's UTC midnight
    (whole minutes: every zone's offset is), None at the ends of the calendar."""
    from db.fast import as_date
    from db.sla import late_from

    day = as_date(promised)
    assert day is not None
    if not 1900 <= day.year <= 9000:
        return None
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    seconds = (late_from(day) - midnight).total_seconds()
    if seconds % 60:
        return None
    return int(seconds // 60)
