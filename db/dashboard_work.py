"""The bookings' tables of the manager's dashboard (:mod:`db.dashboard`): workload (capacity,
booked and clocked hours per person, this ISO week and next), productivity, estimate accuracy,
estimate approvals and sharing usage, from the kept totals (:mod:`db.totals`) and the capacity
rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from db import timebank
from db.access import Actor
from db.clock import iso_week_bounds
from db.dashboard_tables import Behind, Row, Table, _col, _role, _span, _week_col
from db.fast import as_uid
from db.grid import _ids, _param_day
from db.grid import sharing_usage as _sharing_usage
from db.i18n import N_, _

if TYPE_CHECKING:
    from db.fast import FastReader


def _week(day: date) -> date:
    return iso_week_bounds(day)[0]


def _workload(fast: FastReader, scoped: Actor, ids: list[int], today: date) -> Table:
    roles: dict[str, str] = {}  # a role in the reader's words, looked up once
    this = _week(today)
    nxt = this + timedelta(days=7)
    last = nxt + timedelta(days=6)
    scope = _ids(ids)
    params = {"first": _param_day(fast, this), "last": _param_day(fast, last)}
    who = f"u.dealership_id IN ({scope}) AND u.role IN ('mechanic', 'detailer') AND u.active"
    people = fast.rows(
        f"SELECT u.id, u.display_name, u.role FROM users u WHERE {who} ORDER BY u.display_name"
    )
    if not people:
        return _workload_table([], this)
    keys = {as_uid(p[0]): p for p in people}
    sums: dict[tuple[str, str, bool], float] = {}
    # capacity and booked: the people's own capacity rows (``used_hours`` is the sum of the
    # bookings that hold them, the ledger's rule), summed per person and week by the database,
    # person by person from ``ix_resource_capacities_person_day``
    for user_id, later, allocated, used in fast.rows(
        "SELECT r.user_id, CASE WHEN r.date >= :next THEN 1 ELSE 0 END, sum(r.allocated_hours), "
        "sum(r.used_hours) FROM resource_capacities r "
        f"WHERE r.user_id IN (SELECT u.id FROM users u WHERE {who}) "
        f"AND r.dealership_id IN ({scope}) AND r.date >= :first AND r.date <= :last "
        "GROUP BY r.user_id, CASE WHEN r.date >= :next THEN 1 ELSE 0 END",
        {**params, "next": _param_day(fast, nxt)},
    ):
        uid = as_uid(user_id)
        assert uid is not None
        sums[(uid, "capacity", bool(later))] = float(allocated or 0.0)
        sums[(uid, "booked", bool(later))] = float(used or 0.0)
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
                (
                    name,
                    roles.get(role) or roles.setdefault(role, _role(role)),
                    cap,
                    booked,
                    clocked,
                    cap2,
                    booked2,
                ),
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
    roles: dict[str, str] = {}  # a role in the reader's words, looked up once
    people = {
        as_uid(u): (name, role)
        for u, name, role in fast.rows(
            "SELECT u.id, u.display_name, u.role FROM users u "
            f"WHERE u.dealership_id IN ({_ids(sorted(scoped.dealership_ids))}) "
            "AND u.role IN ('mechanic', 'detailer') ORDER BY u.display_name"
        )
    }
    totals = timebank.clocked_totals(fast, scoped, first, last, list(people))
    period = _span(first, last)  # formatted once: the language's date patterns are slow
    rows = []
    for user_id, (name, role) in people.items():
        clocked, productive = totals.get(user_id, (0.0, 0.0))
        if clocked <= 0:
            continue
        ratio = timebank.productivity(productive, clocked)
        rows.append(
            Row(
                (
                    name,
                    roles.get(role) or roles.setdefault(role, _role(role)),
                    clocked,
                    productive,
                    ratio,
                ),
                Behind(
                    _("Bookings · {person} · {period}").format(person=name, period=period),
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


def _estimates(
    fast: FastReader, ids: list[int], first: date, last: date, *, every: bool = False
) -> Table:
    """``every``: ``ids`` are every dealership (no condition on them: the day totals are read
    by date alone, from their own index)."""
    # the kept day totals of the bookings (db.totals)
    scope = "" if every else f"t.provider_dealership_id IN ({_ids(ids)}) AND "
    found = fast.rows(
        "SELECT t.resource_type_id, sum(t.completed), sum(t.completed_estimated), "
        "sum(t.completed_actual), sum(t.completed_over) FROM booking_day_totals t "
        f"WHERE {scope}t.date >= :first "
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
    title = _("Sharing · {consumer} at {provider} · {work} · W{week}")
    weeks_seen: dict[date, tuple[str, str, date]] = {}  # Monday: its label, number, Sunday
    for u in _sharing_usage(fast, scoped, monday, weeks, empty_from=current):
        if u.booked <= 0 and u.week_monday < current:
            continue
        share = u.booked / u.max_hours_per_week if u.max_hours_per_week > 0 else None
        level = (
            "red" if u.left < -1e-9 else "yellow" if share is not None and share >= 0.8 else "green"
        )
        seen = weeks_seen.get(u.week_monday)
        if seen is None:
            year, number, _weekday = u.week_monday.isocalendar()
            seen = weeks_seen[u.week_monday] = (
                f"{year}-W{number:02d}",
                f"{number:02d}",
                u.week_monday + timedelta(days=6),
            )
        label, number_text, sunday = seen
        rows.append(
            Row(
                (u.provider, u.consumer, u.work, label, u.booked, u.max_hours_per_week, share),
                Behind(
                    title.format(
                        consumer=u.consumer, provider=u.provider, work=u.work, week=number_text
                    ),
                    kind="bookings",
                    spec={
                        "provider": u.provider_id,
                        "consumer": u.consumer_id,
                        "resource_type_id": u.resource_type_id,
                        "first": u.week_monday,
                        "last": sunday,
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
