"""Reads for the capacity grid, a cell's bookings, the sharing queue and sharing usage.

Plain SQL through :class:`db.fast.FastReader` (``sqlite3`` or ``psycopg``), no ORM: these lists are
repainted on every change of the feed.  Each read is a handful of statements whatever the size of the
grid, and each statement can use an index (``resource_capacities`` by dealership, type and day;
``resource_bookings`` by provider or consumer and day, or by the sharing key).

Both dialects: SQLite keeps UUIDs as 32 hex digits and hands dates, times and timestamps back as
text; PostgreSQL hands back ``uuid.UUID``, ``date``, ``time`` and aware ``datetime``.  Everything
returned here is the Python value (user ids as ``str(uuid.UUID)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from db import formats
from db.access import Actor
from db.clock import as_utc, local_today
from db.fast import as_date, as_time, as_uid
from db.i18n import _
from db.vocab import BOOKING_HOLDING_STATUSES, WORKER_ROLES, sql_in

if TYPE_CHECKING:
    from db.fast import FastReader

_EPS = 1e-9
HOLDING_SQL = sql_in(BOOKING_HOLDING_STATUSES)
# One person's day: the most hours a person may have set on their own capacity rows of one day,
# and booked on one day, every kind of work together (the ledger's rule, :mod:`db.holding` and
# :mod:`db.capacity`; here because this light module shows it too).
PERSON_DAY_HOURS = 24.0


# ------------------------------------------------------------------------------------------------
# values as the drivers hand them back
# ------------------------------------------------------------------------------------------------
def _day(value: Any) -> date:
    day = as_date(value)
    assert day is not None
    return day


_time = as_time
_uid = as_uid


def _param_day(fast: FastReader, day: date) -> Any:
    """A date as a parameter: ISO text on SQLite (how it is stored), a date on PostgreSQL."""
    return day.isoformat() if fast.dialect == "sqlite" else day


def _ids(values: Any) -> str:
    """Integer ids formatted into an ``IN (...)`` list (never empty)."""
    return ", ".join(str(int(v)) for v in values) or "NULL"


def _scope_ids(fast: FastReader, actor: Actor) -> list[int]:
    """The dealerships the actor sees; for an admin every dealership, listed, so that the
    per-dealership indexes still serve the statement."""
    if actor.all_dealerships:
        return [int(r[0]) for r in fast.rows("SELECT id FROM dealership")]
    return sorted(actor.dealership_ids)


# ------------------------------------------------------------------------------------------------
# the week grid
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridCell:
    """One capacity row: its allocated and used hours."""

    allocated: float
    used: float

    @property
    def available(self) -> float:
        return self.allocated - self.used

    @property
    def load(self) -> str:
        """free, filling, full, over (booked beyond a cut) or closed (no hours that day)."""
        if self.used > self.allocated + _EPS:
            return "over"
        if self.allocated <= _EPS:
            return "closed"
        if self.used <= _EPS:
            return "free"
        if self.used >= self.allocated - _EPS:
            return "full"
        return "filling"


@dataclass(frozen=True)
class GridRow:
    """One line of the grid: a resource type's team row (``user_id`` None) or one person's."""

    resource_type_id: int
    code: str
    name: str
    user_id: str | None
    label: str
    cells: dict[date, GridCell | None]
    requires_assignment: bool
    prep_stage: str | None


@dataclass(frozen=True)
class Grid:
    dealership_id: int
    days: list[date]
    rows: list[GridRow]


def week_grid(fast: FastReader, dealership_id: int, first: date, days: int = 7) -> Grid:
    """The capacity of a dealership from ``first`` for ``days`` days: per bookable, active type
    (by name) its team row, then one row per person with capacity of that type in the range (by
    name).  A day without a capacity row is ``None``.  Two statements."""
    span = [first + timedelta(days=n) for n in range(max(0, days))]
    # Names are sorted here, not in SQL: the engines' collations disagree ("Pål" vs "Per").
    types = sorted(
        fast.rows(
            "SELECT id, code, name, requires_assignment, prep_stage FROM resource_types "
            "WHERE bookable AND active"
        ),
        key=lambda t: (str(t[2]).lower(), int(t[0])),
    )
    if not types or not span:
        return Grid(dealership_id, span, [])
    params = {
        "d": int(dealership_id),
        "first": _param_day(fast, span[0]),
        "last": _param_day(fast, span[-1]),
    }
    in_types = _ids(t[0] for t in types)
    # Two halves so that each uses its partial unique index (team rows, person rows).
    found = fast.rows(
        "SELECT c.resource_type_id, NULL, NULL, c.date, c.allocated_hours, c.used_hours "
        "FROM resource_capacities c WHERE c.dealership_id = :d AND c.user_id IS NULL "
        f"AND c.resource_type_id IN ({in_types}) AND c.date >= :first AND c.date <= :last "
        "UNION ALL "
        "SELECT c.resource_type_id, c.user_id, u.display_name, c.date, c.allocated_hours, "
        "c.used_hours FROM resource_capacities c JOIN users u ON u.id = c.user_id "
        "WHERE c.dealership_id = :d AND c.user_id IS NOT NULL "
        f"AND c.resource_type_id IN ({in_types}) AND c.date >= :first AND c.date <= :last",
        params,
    )
    team: dict[int, dict[date, GridCell]] = {}
    people: dict[int, dict[str, tuple[str, dict[date, GridCell]]]] = {}
    for rt_id, user_id, name, day, allocated, used in found:
        cell = GridCell(float(allocated or 0.0), float(used or 0.0))
        if user_id is None:
            team.setdefault(int(rt_id), {})[_day(day)] = cell
        else:
            uid = _uid(user_id)
            assert uid is not None
            entry = people.setdefault(int(rt_id), {}).setdefault(uid, (str(name), {}))
            entry[1][_day(day)] = cell
    rows: list[GridRow] = []
    for rt_id, code, name, requires_assignment, prep_stage in types:
        rt_id = int(rt_id)
        lines = [(None, name, team.get(rt_id, {}))]
        persons = sorted(people.get(rt_id, {}).items(), key=lambda p: (p[1][0].lower(), p[0]))
        lines.extend((uid, label, cells) for uid, (label, cells) in persons)
        rows.extend(
            GridRow(
                rt_id,
                code,
                name,
                user_id,
                label,
                {d: cells.get(d) for d in span},
                bool(requires_assignment),
                prep_stage,
            )
            for user_id, label, cells in lines
        )
    return Grid(dealership_id, span, rows)


# ------------------------------------------------------------------------------------------------
# bookings as lists show them
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookingRow:
    id: int
    car_id: int | None
    car_label: str
    order_number: str | None
    date: date
    start_time: time | None
    estimated_hours: float
    actual_hours: float | None
    resource_type_id: int
    work: str
    user_id: str | None
    person: str | None
    status: str
    provider_dealership_id: int
    consumer_dealership_id: int
    consumer: str
    priority: int | None  # the sharing agreement's priority; None for the provider's own work
    notes: str | None
    created_at: datetime | None
    provider: str = ""

    @property
    def holding(self) -> bool:
        """Does the booking hold capacity (not cancelled, not no-show)?"""
        return self.status in BOOKING_HOLDING_STATUSES


def car_label(
    brand: str | None,
    model: str | None,
    plate: str | None,
    vin: str | None,
    order_number: str | None,
    car_id: int | None,
) -> str:
    """'BMW X5 EL 12345'; without a plate the VIN's last six, then the order number (in the
    language spoken now: ``No car`` / ``Ingen bil``)."""
    if car_id is None:
        return _("No car")
    what = " ".join(x for x in (brand, model) if x)
    ident = plate or (vin[-6:] if vin else None) or order_number or f"#{car_id}"
    return f"{what} {ident}" if what else ident


BOOKING_COLUMNS = (
    "b.id, b.car_id, c.brand, c.model, c.license_plate, c.vin, c.order_number, b.date, "
    "b.start_time, b.estimated_hours, b.actual_hours, b.resource_type_id, t.name, b.user_id, "
    "u.display_name, b.status, b.provider_dealership_id, b.consumer_dealership_id, "
    "cd.dealership_number, cd.dealership_name, s.priority, b.notes, b.created_at, "
    "pd.dealership_number, pd.dealership_name"
)
BOOKING_JOINS = (
    "FROM resource_bookings b "
    "JOIN resource_types t ON t.id = b.resource_type_id "
    "JOIN dealership cd ON cd.id = b.consumer_dealership_id "
    "JOIN dealership pd ON pd.id = b.provider_dealership_id "
    "LEFT JOIN cars c ON c.id = b.car_id "
    "LEFT JOIN users u ON u.id = b.user_id "
    "LEFT JOIN resource_sharing s ON s.provider_dealership_id = b.provider_dealership_id "
    "AND s.consumer_dealership_id = b.consumer_dealership_id "
    "AND s.resource_type_id = b.resource_type_id"
)
# Untimed bookings after timed ones, on both engines (SQLite sorts NULL first, PostgreSQL last).
_BY_TIME = "b.start_time IS NULL, b.start_time, b.id"


def booking_row(r: tuple[Any, ...]) -> BookingRow:
    """A row of ``SELECT BOOKING_COLUMNS BOOKING_JOINS`` as a :class:`BookingRow`."""
    own = r[16] == r[17]
    return BookingRow(
        id=int(r[0]),
        car_id=r[1],
        car_label=car_label(r[2], r[3], r[4], r[5], r[6], r[1]),
        order_number=r[6],
        date=_day(r[7]),
        start_time=_time(r[8]),
        estimated_hours=float(r[9]),
        actual_hours=None if r[10] is None else float(r[10]),
        resource_type_id=int(r[11]),
        work=r[12],
        user_id=_uid(r[13]),
        person=r[14],
        status=r[15],
        provider_dealership_id=int(r[16]),
        consumer_dealership_id=int(r[17]),
        consumer=f"{r[18]} {r[19]}",
        priority=None if own or r[20] is None else int(r[20]),
        notes=r[21],
        created_at=as_utc(r[22]),
        provider=f"{r[23]} {r[24]}",
    )


def cell_bookings(
    fast: FastReader,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    user_id: str | None,
) -> list[BookingRow]:
    """The bookings behind one grid cell, every status: those that hold hours first, then the
    cancelled and no-shows; each by start time (untimed last).  A person's cell: theirs only."""
    params: dict[str, Any] = {
        "d": int(dealership_id),
        "rt": int(resource_type_id),
        "day": _param_day(fast, day),
    }
    person = ""
    if user_id is not None:
        person = "AND b.user_id = :user "
        params["user"] = fast.uid(user_id)
    rows = fast.rows(
        f"SELECT {BOOKING_COLUMNS} {BOOKING_JOINS} "
        "WHERE b.provider_dealership_id = :d AND b.date = :day AND b.resource_type_id = :rt "
        f"{person}"
        f"ORDER BY CASE WHEN b.status IN {HOLDING_SQL} THEN 0 ELSE 1 END, {_BY_TIME}",
        params,
    )
    return [booking_row(r) for r in rows]


# ------------------------------------------------------------------------------------------------
# people and providers for a booking form
# ------------------------------------------------------------------------------------------------
def _worker_roles(fast: FastReader, resource_type_id: int) -> set[str]:
    found = fast.rows(
        "SELECT prep_stage FROM resource_types WHERE id = :rt", {"rt": int(resource_type_id)}
    )
    stage = found[0][0] if found else None
    return WORKER_ROLES.get(stage, WORKER_ROLES[None])


def has_room(free: float, hours: float) -> bool:
    """Whether ``free`` hours hold a booking of ``hours`` (to the rounding of stored hours)."""
    return free + _EPS >= hours


def people_with_room(
    fast: FastReader,
    dealership_id: int,
    resource_type_id: int,
    day: date,
    hours: float,
    *,
    keep: str | None = None,
) -> list[tuple[str, str, float]]:
    """(user id, name, free hours) of the active people who do this work at the dealership and
    have at least ``hours`` free that day on their own capacity row and in their day (every kind
    of work together, at most :data:`PERSON_DAY_HOURS`); most free first.  ``keep``: that person
    too (with their free hours) even without the room, when they have a row that day."""
    roles = _worker_roles(fast, resource_type_id)
    rows = fast.rows(
        "SELECT u.id, u.display_name, c.allocated_hours - c.used_hours, "
        "(SELECT sum(o.used_hours) FROM resource_capacities o WHERE o.dealership_id = :d "
        " AND o.resource_type_id IN (SELECT id FROM resource_types) AND o.date = :day "
        " AND o.user_id = c.user_id) "
        "FROM resource_capacities c JOIN users u ON u.id = c.user_id "
        "WHERE c.dealership_id = :d AND c.resource_type_id = :rt AND c.date = :day "
        "AND c.user_id IS NOT NULL AND u.active AND u.dealership_id = :d "
        f"AND u.role IN {sql_in(tuple(sorted(roles)))} "
        "AND (c.allocated_hours - c.used_hours >= :hours OR c.user_id = :keep)",
        {
            "d": int(dealership_id),
            "rt": int(resource_type_id),
            "day": _param_day(fast, day),
            "hours": float(hours),
            "keep": fast.uid(keep) if keep is not None else None,
        },
    )
    found = [
        (str(_uid(r[0])), str(r[1]), min(float(r[2]), PERSON_DAY_HOURS - float(r[3] or 0.0)))
        for r in rows
    ]
    found = [p for p in found if has_room(p[2], float(hours)) or p[0] == keep]
    found.sort(key=lambda p: (-p[2], p[1].lower(), p[0]))
    return found


def people_for_type(
    fast: FastReader, dealership_id: int, resource_type_id: int
) -> list[tuple[str, str]]:
    """(user id, name) of every active person at the dealership who does this work, by name."""
    roles = _worker_roles(fast, resource_type_id)
    rows = fast.rows(
        "SELECT id, display_name FROM users WHERE active AND dealership_id = :d "
        f"AND role IN {sql_in(tuple(sorted(roles)))}",
        {"d": int(dealership_id)},
    )
    found = [(str(_uid(r[0])), str(r[1])) for r in rows]
    found.sort(key=lambda p: (p[1].lower(), p[0]))
    return found


def _sharing_words(max_hours: float, priority: int) -> str:
    return _("sharing: {hours}/week, priority {priority}").format(
        hours=formats.hours(float(max_hours)), priority=int(priority)
    )


def providers_for(
    fast: FastReader, consumer_id: int, resource_type_id: int
) -> list[tuple[int, str, str]]:
    """Where a dealership can book this work: (dealership id, "number name", why), the why in
    the language spoken now.

    Its own prep center first — itself when it does prep ("own prep center"), else its
    ``prep_center_id`` when an enabled agreement covers this work ("prep center; sharing: ...") —
    then every other active prep dealership with an enabled agreement for this work, by
    number.  A provider the ledger would refuse (no enabled agreement) is left out.
    """
    me = fast.rows(
        "SELECT id, dealership_number, dealership_name, prep_center_id, active, "
        "(dealership_type = 'prep_center_only' OR does_own_prep) FROM dealership WHERE id = :c",
        {"c": int(consumer_id)},
    )
    if not me:
        return []
    _id, number, name, prep_center_id, active, does_prep = me[0]
    agreements = fast.rows(
        "SELECT d.id, d.dealership_number, d.dealership_name, s.max_hours_per_week, s.priority "
        "FROM resource_sharing s JOIN dealership d ON d.id = s.provider_dealership_id "
        "WHERE s.consumer_dealership_id = :c AND s.resource_type_id = :rt AND s.enabled "
        "AND d.active AND (d.dealership_type = 'prep_center_only' OR d.does_own_prep) "
        "ORDER BY d.dealership_number",
        {"c": int(consumer_id), "rt": int(resource_type_id)},
    )
    found: list[tuple[int, str, str]] = []
    if does_prep and active:
        found.append((int(consumer_id), f"{number} {name}", _("own prep center")))
    shared = {int(a[0]): a for a in agreements}
    if not found and prep_center_id is not None and int(prep_center_id) in shared:
        a = shared.pop(int(prep_center_id))
        why = _("prep center; {sharing}").format(sharing=_sharing_words(a[3], a[4]))
        found.append((int(a[0]), f"{a[1]} {a[2]}", why))
    for a in shared.values():
        if int(a[0]) != int(consumer_id):
            found.append((int(a[0]), f"{a[1]} {a[2]}", _sharing_words(a[3], a[4])))
    return found


# ------------------------------------------------------------------------------------------------
# sharing: the provider's queue, usage against the caps, the cross-dealership bookings
# ------------------------------------------------------------------------------------------------
def sharing_queue(
    fast: FastReader,
    actor: Actor,
    provider_id: int,
    *,
    since: date | None = None,
    limit: int = 1000,
) -> list[BookingRow]:
    """The requests waiting at a provider: scheduled (not yet confirmed) bookings of other
    dealerships from ``since`` (default today), highest agreement priority first (80 before 50),
    then the oldest request.  Empty when the actor does not see the provider."""
    if not actor.sees_dealership(provider_id):
        return []
    rows = fast.rows(
        f"SELECT {BOOKING_COLUMNS} {BOOKING_JOINS} "
        "WHERE b.provider_dealership_id = :p AND b.date >= :since AND b.status = 'scheduled' "
        "AND b.consumer_dealership_id <> b.provider_dealership_id "
        "ORDER BY coalesce(s.priority, -1) DESC, b.created_at, b.id LIMIT :limit",
        {
            "p": int(provider_id),
            "since": _param_day(fast, since or local_today()),
            "limit": int(limit),
        },
    )
    return [booking_row(r) for r in rows]


class UsageRow(NamedTuple):
    """One agreement in one ISO week: the hours its bookings hold against the weekly cap.  A
    named tuple: a group's dashboard makes thousands (a frozen dataclass cost 4 µs each)."""

    provider_id: int
    provider: str
    consumer_id: int
    consumer: str
    resource_type_id: int
    work: str
    week_monday: date
    booked: float
    max_hours_per_week: float
    priority: int
    enabled: bool

    @property
    def left(self) -> float:
        return self.max_hours_per_week - self.booked


def sharing_usage(
    fast: FastReader,
    actor: Actor,
    first_monday: date,
    weeks: int,
    *,
    empty_from: date | None = None,
) -> list[UsageRow]:
    """Per agreement the actor sees (as provider or consumer; an admin every one) and per ISO week
    from the week of ``first_monday``: the hours of the bookings that hold capacity (scheduled,
    confirmed, in progress, completed) against ``max_hours_per_week``.  By provider, consumer,
    work, week; weeks with nothing booked are there with 0 (``empty_from``: only from that
    Monday on)."""
    monday = first_monday - timedelta(days=first_monday.weekday())
    weeks = max(0, int(weeks))
    if weeks == 0:
        return []
    last = monday + timedelta(days=7 * weeks - 1)
    if actor.all_dealerships:
        scope = "1=1"
    else:
        ids = _ids(sorted(actor.dealership_ids))
        scope = f"(s.provider_dealership_id IN ({ids}) OR s.consumer_dealership_id IN ({ids}))"
    agreements = fast.rows(
        "SELECT s.id, s.provider_dealership_id, pd.dealership_number, pd.dealership_name, "
        "s.consumer_dealership_id, cd.dealership_number, cd.dealership_name, s.resource_type_id, "
        "t.name, s.max_hours_per_week, s.priority, s.enabled FROM resource_sharing s "
        "JOIN dealership pd ON pd.id = s.provider_dealership_id "
        "JOIN dealership cd ON cd.id = s.consumer_dealership_id "
        "JOIN resource_types t ON t.id = s.resource_type_id "
        f"WHERE {scope}"
    )
    agreements.sort(key=lambda a: (str(a[2]), str(a[5]), str(a[8]).lower(), int(a[0])))
    if not agreements:
        return []
    # the hours held per day, kept by the database (db.totals: the bookings in HOLDING_SQL),
    # summed per ISO week by it
    from db.totals_weeks import monday_sql

    monday_of = monday_sql(fast.dialect, "b.date")
    sums = fast.rows(
        f"SELECT s.id, {monday_of}, sum(b.held_hours) FROM resource_sharing s "
        "JOIN booking_day_totals b ON b.provider_dealership_id = s.provider_dealership_id "
        "AND b.consumer_dealership_id = s.consumer_dealership_id "
        "AND b.resource_type_id = s.resource_type_id "
        f"WHERE s.id IN ({_ids(a[0] for a in agreements)}) "
        "AND b.date >= :first AND b.date <= :last "
        f"GROUP BY s.id, {monday_of}",
        {"first": _param_day(fast, monday), "last": _param_day(fast, last)},
    )
    booked = {
        (int(agreement_id), _day(week)): float(hours or 0.0) for agreement_id, week, hours in sums
    }
    result: list[UsageRow] = []
    mondays = [monday + timedelta(days=7 * n) for n in range(weeks)]
    for a in agreements:
        agreement_id, provider, consumer = int(a[0]), f"{a[2]} {a[3]}", f"{a[5]} {a[6]}"
        fixed = (int(a[1]), provider, int(a[4]), consumer, int(a[7]), a[8])
        cap, priority, enabled = float(a[9]), int(a[10]), bool(a[11])
        for week in mondays:
            booked_hours = booked.get((agreement_id, week), 0.0)
            if booked_hours <= 0 and empty_from is not None and week < empty_from:
                continue
            result.append(UsageRow(*fixed, week, booked_hours, cap, priority, enabled))
    return result


def cross_bookings(
    fast: FastReader, actor: Actor, first: date, last: date, *, limit: int | None = None
) -> list[BookingRow]:
    """The bookings one dealership has at another's prep center (provider is not the consumer),
    every status, from ``first`` to ``last``, where the actor sees the provider or the consumer;
    by day, start time.  ``limit``: at most that many (an admin's week of a large group is
    thousands)."""
    ids = _ids(_scope_ids(fast, actor))
    params: dict[str, Any] = {"first": _param_day(fast, first), "last": _param_day(fast, last)}
    tail = ""
    if limit is not None:
        tail = " LIMIT :limit"
        params["limit"] = int(limit)
    rows = fast.rows(
        f"SELECT {BOOKING_COLUMNS} {BOOKING_JOINS} "
        f"WHERE (b.provider_dealership_id IN ({ids}) OR b.consumer_dealership_id IN ({ids})) "
        "AND b.date >= :first AND b.date <= :last "
        "AND b.consumer_dealership_id <> b.provider_dealership_id "
        f"ORDER BY b.date, {_BY_TIME}{tail}",
        params,
    )
    return [booking_row(r) for r in rows]
