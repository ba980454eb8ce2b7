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

The tables are made in :mod:`db.dashboard_cars` (the cars') and :mod:`db.dashboard_work` (the
bookings' and clocks'); what they hand back is :mod:`db.dashboard_tables`.

Targets are ``dealership.sla_targets`` (days per stage key); a dealership without its own follows
its parent, then :data:`DEFAULT_TARGETS`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from db.access import Actor, descendants
from db.clock import local_today, utcnow
from db.dashboard_cars import DEFAULT_TARGETS as DEFAULT_TARGETS
from db.dashboard_cars import LEVEL_WORDS as LEVEL_WORDS
from db.dashboard_cars import _car_tables
from db.dashboard_cars import _DeliveryStates as _DeliveryStates
from db.dashboard_cars import effective_targets as effective_targets
from db.dashboard_cars import targets_of as targets_of
from db.dashboard_tables import LEVELS as LEVELS
from db.dashboard_tables import YELLOW_SHARE as YELLOW_SHARE
from db.dashboard_tables import Behind as Behind
from db.dashboard_tables import Col as Col
from db.dashboard_tables import Dashboard as Dashboard
from db.dashboard_tables import Row as Row
from db.dashboard_tables import Table as Table
from db.dashboard_tables import csv_value as csv_value
from db.dashboard_tables import format_value as format_value
from db.dashboard_tables import level_of as level_of
from db.dashboard_tables import percentile as percentile
from db.dashboard_tables import write_csv as write_csv
from db.dashboard_work import _approvals, _estimates, _productivity, _sharing, _workload
from db.errors import NotAllowed
from db.grid import BOOKING_COLUMNS, BOOKING_JOINS, BookingRow, _ids, _param_day, booking_row
from db.i18n import _, ngettext
from db.stages import Stage as Stage
from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

if TYPE_CHECKING:
    from db.fast import CarRow, FastReader

_HOLDING = sql_in(BOOKING_HOLDING_STATUSES)

PERIODS: tuple[int, ...] = (7, 30, 90)  # days a manager picks from
BEHIND_LIMIT = 2000  # rows a figure opens at most


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
    # the scope as a manager of the dealerships in it sees it; every dealership: no condition
    scoped = replace(
        actor, dealership_ids=frozenset(ids), all_dealerships=root_id is None, role="manager"
    )
    # the cars' half on a second connection in another thread, the bookings' half here: both
    # are mostly the database's work, which runs outside Python's lock, so the database works on
    # both at once; every read planned for its own period (FastReader.custom_plans)
    with fast.custom_plans(), ThreadPoolExecutor(max_workers=1) as pool:
        cars_half = pool.submit(_car_tables, fast.second(), root_id, ids, first, today, now)
        bookings_half = [
            _workload(fast, scoped, ids, today),
            _productivity(fast, scoped, first, today),
            _estimates(fast, ids, first, today, every=root_id is None),
            _sharing(fast, scoped, first, today),
            _approvals(fast, ids, first, today),
        ]
        cars = cars_half.result()
    tables = [*cars.tables, *bookings_half]
    return Dashboard(scope, root_id, tuple(ids), first, today, tables, cars.bottleneck, scope_name)


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
