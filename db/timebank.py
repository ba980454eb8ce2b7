"""The time bank (improvement 2): clocked and estimated hours per person, day and kind of work,
their totals and productivity, and a CSV for payroll.

Plain SQL through :class:`db.fast.FastReader` (four statements whatever the period): the clocked
hours are the closed ``timebank_entries`` (a running clock counts once it is stopped), the
estimated hours the person's bookings that hold capacity (not cancelled, not no-show).  Who sees
whom: a mechanic or detailer (or a seller) only themselves; a coordinator or manager the people of
the dealerships they see; an admin everyone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, TYPE_CHECKING, Any

from db import csvfile
from db.access import Actor
from db.grid import _day, _param_day, _uid
from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

if TYPE_CHECKING:
    from db.fast import FastReader

CSV_COLUMNS: tuple[str, ...] = (
    "person",
    "date",
    "work",
    "productive",
    "clocked_hours",
    "estimated_hours",
)


@dataclass(frozen=True)
class HoursRow:
    """One person's hours of one kind of work on one day."""

    user_id: str
    person: str
    day: date
    resource_type_id: int
    work: str
    productive: bool
    clocked: float
    estimated: float


def _scope(
    fast: FastReader, actor: Actor, user_ids: list[str] | None
) -> tuple[str, dict[str, Any]]:
    """A condition on ``users u`` keeping the people the actor may see (and asked for)."""
    params: dict[str, Any] = {}
    if actor.role == "admin" or actor.all_dealerships:
        where = "1=1"
    elif actor.role in ("coordinator", "manager"):
        ids = ", ".join(str(int(i)) for i in sorted(actor.dealership_ids)) or "NULL"
        where = f"u.dealership_id IN ({ids})"
    else:
        where = "u.id = :me"
        params["me"] = fast.uid(actor.user_id)
    if user_ids is not None:
        keys = []
        for n, user_id in enumerate(user_ids):
            params[f"p{n}"] = fast.uid(user_id)
            keys.append(f":p{n}")
        where += f" AND u.id IN ({', '.join(keys) or 'NULL'})"
    return where, params


def hours(
    fast: FastReader,
    actor: Actor,
    first: date,
    last: date,
    user_ids: list[str] | None = None,
) -> list[HoursRow]:
    """Clocked and estimated hours per person, day and kind of work from ``first`` to ``last``
    (both included), for the people the actor sees (``user_ids``: only these of them).  A line
    exists when either number is there; by person (name), day, work (name)."""
    if last < first:
        return []
    where, params = _scope(fast, actor, user_ids)
    params.update(first=_param_day(fast, first), last=_param_day(fast, last))
    people = {
        _uid(r[0]): str(r[1])
        for r in fast.rows(f"SELECT u.id, u.display_name FROM users u WHERE {where}", params)
    }
    if not people:
        return []
    clocked = fast.rows(
        "SELECT e.user_id, e.date, e.resource_type_id, sum(e.hours) FROM timebank_entries e "
        f"JOIN users u ON u.id = e.user_id WHERE {where} "
        "AND e.date >= :first AND e.date <= :last AND e.hours IS NOT NULL "
        "AND (e.ended_at IS NOT NULL OR e.started_at IS NULL) "
        "GROUP BY e.user_id, e.date, e.resource_type_id",
        params,
    )
    estimated = fast.rows(
        "SELECT b.user_id, b.date, b.resource_type_id, sum(b.estimated_hours) "
        f"FROM resource_bookings b JOIN users u ON u.id = b.user_id WHERE {where} "
        "AND b.date >= :first AND b.date <= :last "
        f"AND b.status IN {sql_in(BOOKING_HOLDING_STATUSES)} "
        "GROUP BY b.user_id, b.date, b.resource_type_id",
        params,
    )
    types = {
        int(r[0]): (str(r[1]), bool(r[2]))
        for r in fast.rows("SELECT id, name, is_productive FROM resource_types")
    }
    sums: dict[tuple[str, date, int], list[float]] = {}
    for column, found in ((0, clocked), (1, estimated)):
        for user_id, day, rt_id, total in found:
            key = (str(_uid(user_id)), _day(day), int(rt_id))
            sums.setdefault(key, [0.0, 0.0])[column] += float(total or 0.0)
    result = [
        HoursRow(
            user_id=user_id,
            person=people.get(user_id, user_id),
            day=day,
            resource_type_id=rt_id,
            work=types.get(rt_id, (f"#{rt_id}", False))[0],
            productive=types.get(rt_id, ("", False))[1],
            clocked=round(values[0], 4),
            estimated=round(values[1], 4),
        )
        for (user_id, day, rt_id), values in sums.items()
    ]
    result.sort(key=lambda r: (r.person.casefold(), r.user_id, r.day, r.work.casefold()))
    return result


# ------------------------------------------------------------------------------------------------
# totals
# ------------------------------------------------------------------------------------------------
def summary(rows: Iterable[HoursRow]) -> dict[str, dict[str, Any]]:
    """Per person, keyed by name (in the order of ``rows``; a second person of the same name gets
    " (2)"): ``{"user_id", "clocked"`` (every closed entry), ``"productive"`` (clocked on productive
    work), ``"estimated"`` (their bookings' estimates), ``"productivity"`` (productive / clocked,
    0..1; ``None`` with nothing clocked)``}``."""
    sums: dict[str, list[Any]] = {}
    for r in rows:
        entry = sums.setdefault(r.user_id, [r.person, 0.0, 0.0, 0.0])
        entry[1] += r.clocked
        entry[2] += r.clocked if r.productive else 0.0
        entry[3] += r.estimated
    result: dict[str, dict[str, Any]] = {}
    for user_id, (person, clocked, productive, estimated) in sums.items():
        name, n = person, 1
        while name in result:
            n += 1
            name = f"{person} ({n})"
        result[name] = {
            "user_id": user_id,
            "clocked": round(clocked, 4),
            "productive": round(productive, 4),
            "estimated": round(estimated, 4),
            "productivity": productivity(productive, clocked),
        }
    return result


def productivity(productive: float, clocked: float) -> float | None:
    """Clocked hours on productive work / every clocked (attended) hour, 0..1; None with nothing
    clocked."""
    return round(productive / clocked, 4) if clocked > 0 else None


def clocked_totals(
    fast: FastReader,
    actor: Actor,
    first: date,
    last: date,
    user_ids: list[str] | None = None,
) -> dict[str, tuple[float, float]]:
    """Per person the actor sees (and asked for: ``user_ids``; user id as text): their closed
    entries' hours from ``first`` to ``last``, all and on productive work.  One statement over the
    kept totals (:mod:`db.totals`): the period's whole ISO weeks from ``clocked_week_totals``, the
    days before and after them from ``clocked_day_totals`` (the dashboard's productivity of a
    whole group over 90 days: some 20,000 rows instead of 80,000)."""
    if last < first:
        return {}
    where, params = _scope(fast, actor, None)
    # the people in scope as one set the database builds once (not a list of ids per person)
    people = "" if where == "1=1" else f" AND e.user_id IN (SELECT u.id FROM users u WHERE {where})"
    monday = first + timedelta(days=-first.weekday() % 7)  # the first whole week's Monday
    after = last - timedelta(days=(last.weekday() + 1) % 7)  # the last whole week's Sunday
    params.update(first=_param_day(fast, first), last=_param_day(fast, last))
    day_rows = "SELECT e.user_id, e.resource_type_id, e.hours FROM clocked_day_totals e WHERE "
    if monday + timedelta(days=6) <= after:
        params.update(monday=_param_day(fast, monday), sunday=_param_day(fast, after))
        params["last_monday"] = _param_day(fast, after - timedelta(days=6))
        parts = [
            "SELECT e.user_id, e.resource_type_id, e.hours FROM clocked_week_totals e "
            f"WHERE e.week >= :monday AND e.week <= :last_monday{people}"
        ]
        if first < monday:
            parts.append(f"{day_rows}e.date >= :first AND e.date < :monday{people}")
        if after < last:
            parts.append(f"{day_rows}e.date > :sunday AND e.date <= :last{people}")
    else:
        parts = [f"{day_rows}e.date >= :first AND e.date <= :last{people}"]
    productive = sorted(
        int(r[0]) for r in fast.rows("SELECT id FROM resource_types WHERE is_productive")
    )
    # the kinds of work named (not joined: tens of thousands of rows need no lookup each)
    rows = fast.rows(
        "SELECT p.user_id, sum(p.hours), sum(CASE WHEN p.resource_type_id IN "
        f"({', '.join(map(str, productive)) or 'NULL'}) THEN p.hours ELSE 0 END) "
        f"FROM ({' UNION ALL '.join(parts)}) p GROUP BY p.user_id",
        params,
    )
    wanted = None if user_ids is None else {str(_uid(u)) for u in user_ids}
    totals: dict[str, list[float]] = {}
    for user_id, hours, productive in rows:
        text = str(_uid(user_id))
        if wanted is None or text in wanted:
            totals[text] = [float(hours or 0.0), float(productive or 0.0)]
    return {k: (round(v[0], 4), round(v[1], 4)) for k, v in totals.items()}


# ------------------------------------------------------------------------------------------------
# CSV for payroll
# ------------------------------------------------------------------------------------------------
def write_csv(rows: Iterable[HoursRow], path_or_file: str | os.PathLike[str] | IO[str]) -> int:
    """Write ``rows`` as CSV (a header, then person, date, work, productive yes/no, clocked and
    estimated hours with two decimals) to a path or an open text file; returns the rows written."""
    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "w", newline="", encoding="utf-8") as handle:
            return _write(rows, handle)
    return _write(rows, path_or_file)


def _write(rows: Iterable[HoursRow], handle: IO[str]) -> int:
    """Names and kinds of work are text cells written spreadsheet-safe (:mod:`db.csvfile`); the
    hours are numbers."""
    writer = csvfile.writer(handle)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for r in rows:
        writer.writerow(
            [
                r.person,
                r.day.isoformat(),
                r.work,
                "yes" if r.productive else "no",
                csvfile.number(r.clocked, 2),
                csvfile.number(r.estimated, 2),
            ]
        )
        count += 1
    return count
