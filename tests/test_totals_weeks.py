"""The clocked hours kept per person and ISO week (db/totals_weeks.py), on SQLite and PostgreSQL:
the week totals follow clock entries written behind the rules (moved to another week, deleted),
doctor finds a wrong week or its trigger gone and repair builds them again, migration 0016's
install builds them from the entries, and :func:`db.timebank.clocked_totals` (whole weeks from
the week totals, the days at the ends from the day totals) equals a sum of the entries for any
period and scope."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from test_doctor import busy, errors, sql  # noqa: F401  (the fixture)

from db import repair, timebank, totals, totals_own, totals_weeks
from db.models import TimebankEntry
from world import T0, World

MONDAY = T0.date() - timedelta(days=T0.weekday())


def differences(w: World) -> dict[str, int]:
    return w.db.query(lambda s: totals.differences(s.connection()))


def add_entries(w: World) -> list[int]:
    """Closed entries of two people over five weeks around T0, of productive and other work
    (cosmetic work counted as not productive here)."""
    sql(
        w,
        "UPDATE resource_types SET is_productive = :no WHERE id = :id",
        no=False,
        id=w.rt["COSMETIC"],
    )
    ids = []

    def write(s: Any) -> None:
        for n, offset in enumerate(range(-30, 5, 2)):
            for person, code, hours in (
                ("mechanic499", "TECH_PREP", 1.25 + n / 8),
                ("mechanic499", "COSMETIC", 0.5),
                ("mechanic2_499", "WASH", 0.75 + n / 16),
            ):
                entry = TimebankEntry(
                    user_id=w[person].user_id,
                    date=T0.date() + timedelta(days=offset),
                    resource_type_id=w.rt[code],
                    hours=hours,
                )
                s.add(entry)
                s.flush()
                ids.append(int(entry.id))

    w.db.run(write)
    return ids


def week_hours(w: World, person: str, monday: date, code: str) -> float:
    user = uuid.UUID(str(w[person].user_id))
    param = user.hex if w.db.engine.dialect.name == "sqlite" else user

    def read(s: Any) -> float:
        return float(
            s.execute(
                text(
                    "SELECT coalesce(sum(hours), 0) FROM clocked_week_totals WHERE user_id = :u "
                    "AND week = :w AND resource_type_id = :t"
                ),
                {"u": param, "w": monday, "t": w.rt[code]},
            ).scalar_one()
        )

    return w.db.query(read)


def entries_sum(w: World, first: date, last: date) -> dict[str, tuple[float, float]]:
    """Per person, the closed entries' hours from ``first`` to ``last``: all, productive."""

    def read(s: Any) -> dict[str, tuple[float, float]]:
        found: dict[str, list[float]] = {}
        for user_id, hours, productive in s.execute(
            text(
                "SELECT e.user_id, e.hours, t.is_productive FROM timebank_entries e "
                "JOIN resource_types t ON t.id = e.resource_type_id WHERE e.hours IS NOT NULL "
                "AND (e.ended_at IS NOT NULL OR e.started_at IS NULL) "
                "AND e.date >= :first AND e.date <= :last"
            ),
            {"first": first, "last": last},
        ):
            key = timebank._uid(user_id)
            entry = found.setdefault(str(key), [0.0, 0.0])
            entry[0] += float(hours)
            if productive:
                entry[1] += float(hours)
        return {k: (round(a, 4), round(b, 4)) for k, (a, b) in found.items()}

    return w.db.query(read)


def test_week_totals_follow_entries_moved_and_deleted_behind_the_rules(busy: World) -> None:  # noqa: F811
    w = busy
    ids = add_entries(w)
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    before = week_hours(w, "mechanic499", MONDAY - timedelta(days=14), "TECH_PREP")
    assert before > 0
    # an entry moved two weeks on, another deleted: both weeks are recomputed
    moved = ids[0]
    sql(
        w,
        "UPDATE timebank_entries SET date = :d WHERE id = :id",
        d=T0.date() - timedelta(days=2),
        id=moved,
    )
    sql(w, "DELETE FROM timebank_entries WHERE id = :id", id=ids[3])
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    # an entry's hours changed by psql or Directus
    sql(w, "UPDATE timebank_entries SET hours = hours + 2 WHERE id = :id", id=ids[-1])
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)


def test_doctor_finds_a_wrong_week_and_repair_builds_it_again(busy: World) -> None:  # noqa: F811
    w = busy
    add_entries(w)
    sql(w, "UPDATE clocked_week_totals SET hours = hours + 1")
    if w.db.engine.dialect.name == "postgresql":
        sql(w, "DROP TRIGGER prepfloor_totals_clock_weeks ON clocked_day_totals")
        trigger = "prepfloor_totals_clock_weeks on clocked_day_totals"
    else:
        sql(w, "DROP TRIGGER prepfloor_totals_clock_weeks_update")
        trigger = "prepfloor_totals_clock_weeks_update"
    found = errors(w)
    assert any("clocked_week_totals" in e for e in found), found
    assert any(trigger in e for e in found), found
    repaired = w.db.run(repair.repair)
    assert "clocked_week_totals" in {r.table for r in repaired}
    assert errors(w) == []
    # the trigger is back: hours changed behind the rules are counted in their week again
    sql(w, "UPDATE timebank_entries SET hours = hours + 1 WHERE ended_at IS NOT NULL")
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)


def test_the_migration_builds_the_weeks_from_the_entries(busy: World) -> None:  # noqa: F811
    w = busy
    add_entries(w)
    w.db.run(lambda s: totals_own.uninstall(s.connection(), totals_weeks))
    w.db.run(lambda s: totals_own.install(s.connection(), totals_weeks))
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)
    assert w.db.query(lambda s: totals.missing_triggers(s.connection())) == set()
    w.db.run(lambda s: totals_own.install(s.connection(), totals_weeks))  # again: no harm
    assert differences(w) == dict.fromkeys(totals.TABLES, 0)


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (0, 1),  # one Monday
        (2, 3),  # inside a week
        (0, 7),  # exactly one week
        (-5, 7),  # Wednesday to Tuesday: no whole week
        (-12, 14),  # one whole week and parts of two
        (-28, 28),  # four whole weeks
        (-29, 30),  # the dashboard's 30 days
        (-89, 90),  # and its 90
    ],
)
def test_clocked_totals_are_the_entries_of_the_period(
    busy: World,  # noqa: F811
    store: Any,
    start: int,
    days: int,
) -> None:
    w = busy
    add_entries(w)
    first = T0.date() + timedelta(days=start)
    last = first + timedelta(days=days - 1)
    expected = entries_sum(w, first, last)
    assert expected or days < 3
    reader = store.fast
    assert timebank.clocked_totals(reader, w["admin"], first, last) == expected
    # a manager sees their dealership's people; asked for one person, only them
    manager = w["manager499"]
    mine = timebank.clocked_totals(reader, manager, first, last)
    assert mine == {k: v for k, v in expected.items() if k in mine}
    one = str(w["mechanic499"].user_id)
    assert timebank.clocked_totals(reader, manager, first, last, [one]) == {
        k: v for k, v in expected.items() if k == one
    }
