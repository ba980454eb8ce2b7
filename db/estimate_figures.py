"""The manager's dashboard figures of the estimates (issue 20), per dealership (the car's selling
dealership) over the period: how long the seller took to decide (sent → decided: median and 90th
percentile, in hours) and the approved share (the approved lines' value / the decided lines'
value).  An estimate counts in the period it was decided in.  Enter on a row opens its cars.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from db.dashboard_tables import Behind, Row, Table, _col, _span, percentile
from db.grid import _ids
from db.i18n import N_, _
from db.period_cars import local_midnight, param_ts
from db.stages import days_sql
from db.vocab import ESTIMATE_DECIDED_STATES, sql_in

if TYPE_CHECKING:
    from db.fast import FastReader

DECIDED = sql_in(ESTIMATE_DECIDED_STATES)


def decided_estimates(
    fast: FastReader, ids: list[int], first: date, last: date
) -> list[tuple[int, int, int, float, int, int]]:
    """``(dealership_id, estimate_id, car_id, hours to decide, approved øre, decided øre)`` of the
    estimates of the cars of ``ids`` decided from ``first`` to ``last`` (local days)."""
    start = param_ts(fast, local_midnight(first))
    end = param_ts(fast, local_midnight(last + timedelta(days=1)))
    found = fast.rows(
        f"SELECT c.dealership_id, e.id, e.car_id, {days_sql(fast.dialect, 'e.sent_at', 'e.decided_at')}, "
        "coalesce(sum(CASE WHEN l.decision = 'approved' THEN l.amount_ore ELSE 0 END), 0), "
        "coalesce(sum(l.amount_ore), 0) "
        "FROM estimates e JOIN cars c ON c.id = e.car_id "
        "LEFT JOIN estimate_lines l ON l.estimate_id = e.id "
        f"WHERE e.state IN {DECIDED} AND c.dealership_id IN ({_ids(ids)}) "
        "AND e.decided_at >= :start AND e.decided_at < :end "
        "GROUP BY c.dealership_id, e.id, e.car_id, e.sent_at, e.decided_at ORDER BY e.id",
        {"start": start, "end": end},
    )
    return [
        (int(d), int(e), int(c), max(0.0, float(days or 0.0)) * 24, int(a), int(t))
        for d, e, c, days, a, t in found
    ]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def approvals(fast: FastReader, ids: list[int], first: date, last: date) -> Table:
    """The dashboard's table: per dealership, estimates decided, approval time, approved share."""
    names = {
        int(i): str(n)
        for i, n in fast.rows(
            f"SELECT id, dealership_name FROM dealership WHERE id IN ({_ids(ids)})"
        )
    }
    by_dealership: dict[int, list[tuple[int, int, int, float, int, int]]] = {}
    for row in decided_estimates(fast, ids, first, last):
        by_dealership.setdefault(row[0], []).append(row)
    rows = []
    for dealership_id, found in sorted(by_dealership.items(), key=lambda x: names.get(x[0], "")):
        hours = [r[3] for r in found]
        approved = sum(r[4] for r in found)
        decided = sum(r[5] for r in found)
        share = approved / decided if decided > 0 else None
        name = names.get(dealership_id, f"#{dealership_id}")
        car_ids = tuple(dict.fromkeys(r[2] for r in found))

        def source(car_ids: tuple[int, ...] = car_ids) -> tuple[tuple[int, ...], Any]:
            return car_ids, {}

        rows.append(
            Row(
                (name, len(found), median(hours), percentile(hours, 0.9), share),
                Behind(
                    _("Estimates · {dealership} · {period}").format(
                        dealership=name, period=_span(first, last)
                    ),
                    cars=source,
                ),
                "" if share is None else "green" if share >= 0.75 else "yellow",
            )
        )
    return Table(
        "approvals",
        _("Estimate approvals"),
        (
            _col(N_("Dealership"), "name"),
            _col(N_("Decided"), "int"),
            _col(N_("Median hours to decide"), "hours"),
            _col(N_("90th percentile hours"), "hours"),
            _col(N_("Approved share"), "pct"),
        ),
        rows,
        _(
            "Estimates of extra work decided in the period: hours from sent to decided, and the "
            "approved lines' value / the decided lines' value."
        ),
    )
