"""``prepfloor doctor --repair``: rebuild what prepfloor derives from other rows, after a writer
that does not go through its rules changed the database (a SQL client, a script, another tool on
the SQLite file, where prepfloor is meant to be the only writer).

What is derived, and so can be rebuilt exactly:

- ``resource_capacities.used_hours``: the hours of the bookings that hold the row (team rows: every
  holding booking of the day; a person's row: theirs), and with it ``available_hours``;
- ``car_access``: the providers of a car's bookings other than its owner and its prep center;
- PostgreSQL: the triggers that keep these for other writers (:mod:`db.triggers`), when one was
  dropped or switched off;
- the totals the database keeps for the dashboard and the car counts (:mod:`db.totals`), and
  their triggers, when a kept row differs from its rows or a trigger is missing.

What cannot be rebuilt (a booking on a day with no capacity row, a timer's hours, a car's
timestamps) is left to ``prepfloor doctor`` to report and to a person to decide.

The repair holds the bookings still while it counts (SQLite: the write transaction; PostgreSQL:
a lock on the three tables that lets readers go on), so that a booking made meanwhile is either
counted or waits.  Every row it changes gets an event (the audit says who repaired what: the
command line).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session

from db import events
from db.i18n import _
from db.vocab import BOOKING_HOLDING_STATUSES, sql_in

HOLDING = sql_in(BOOKING_HOLDING_STATUSES)
EPS = 1e-6

# The drift queries, shared with ``prepfloor doctor`` (db/doctor.py), which reports what this
# rebuilds.
TEAM_DRIFT = f"""
    SELECT c.id, c.date, c.used_hours, coalesce(h.held, 0)
    FROM resource_capacities c
    LEFT JOIN (SELECT provider_dealership_id AS p, resource_type_id AS t, date AS d,
                      sum(estimated_hours) AS held
               FROM resource_bookings WHERE status IN {HOLDING}
               GROUP BY provider_dealership_id, resource_type_id, date) h
        ON h.p = c.dealership_id AND h.t = c.resource_type_id AND h.d = c.date
    WHERE c.user_id IS NULL AND abs(c.used_hours - coalesce(h.held, 0)) > {EPS}
    ORDER BY c.id"""
PERSON_DRIFT = f"""
    SELECT c.id, c.date, c.used_hours, coalesce(h.held, 0)
    FROM resource_capacities c
    LEFT JOIN (SELECT provider_dealership_id AS p, resource_type_id AS t, date AS d,
                      user_id AS u, sum(estimated_hours) AS held
               FROM resource_bookings WHERE status IN {HOLDING} AND user_id IS NOT NULL
               GROUP BY provider_dealership_id, resource_type_id, date, user_id) h
        ON h.p = c.dealership_id AND h.t = c.resource_type_id AND h.d = c.date
        AND h.u = c.user_id
    WHERE c.user_id IS NOT NULL AND abs(c.used_hours - coalesce(h.held, 0)) > {EPS}
    ORDER BY c.id"""
ACCESS_MISSING = """
    SELECT DISTINCT b.car_id, b.provider_dealership_id FROM resource_bookings b
    JOIN cars c ON c.id = b.car_id
    WHERE b.provider_dealership_id <> c.dealership_id
    AND (c.prep_center_id IS NULL OR b.provider_dealership_id <> c.prep_center_id)
    AND NOT EXISTS (SELECT 1 FROM car_access a
        WHERE a.car_id = b.car_id AND a.dealership_id = b.provider_dealership_id)
    ORDER BY b.car_id, b.provider_dealership_id"""
ACCESS_EXTRA = """
    SELECT a.id, a.car_id, a.dealership_id FROM car_access a WHERE NOT EXISTS (
        SELECT 1 FROM resource_bookings b
        WHERE b.car_id = a.car_id AND +b.provider_dealership_id = a.dealership_id)
    ORDER BY a.id"""


@dataclass(frozen=True)
class Repaired:
    table: str
    row_id: object
    what: str  # in the reader's words


def repair(session: Session) -> list[Repaired]:
    """Rebuild the derived rows that differ from what their sources say; what was changed.  Run
    as a write (``Store.run``); the command line is the actor of its events."""
    connection = session.connection()
    done: list[Repaired] = []
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "LOCK TABLE resource_bookings, resource_capacities, car_access, cars, "
                "timebank_entries IN SHARE ROW EXCLUSIVE MODE"
            )
        )
        from db import triggers

        missing = triggers.missing(connection)
        if missing:
            triggers.install(connection)
            for name in sorted(missing):
                done.append(
                    Repaired("pg_trigger", name, _("Trigger {name}: made again.").format(name=name))
                )
    for sql in (TEAM_DRIFT, PERSON_DRIFT):
        for row_id, _day, used, held in connection.execute(text(sql)).all():
            connection.execute(
                text("UPDATE resource_capacities SET used_hours = :held WHERE id = :id"),
                {"held": float(held), "id": row_id},
            )
            events.record(
                session,
                None,
                "resource_capacities",
                row_id,
                "update",
                {"used_hours": [float(used), float(held)], "repaired": "doctor --repair"},
            )
            done.append(
                Repaired(
                    "resource_capacities",
                    row_id,
                    _("Capacity #{id}: used_hours {used} → {held}, as its bookings hold.").format(
                        id=row_id, used=f"{float(used):g}", held=f"{float(held):g}"
                    ),
                )
            )
    done.extend(_totals_repaired(connection))
    for car_id, dealership_id in connection.execute(text(ACCESS_MISSING)).all():
        connection.execute(
            text("INSERT INTO car_access (car_id, dealership_id) VALUES (:car, :dealership)"),
            {"car": car_id, "dealership": dealership_id},
        )
        said = _("Car #{car}: dealership {dealership} works on it and may see it again.")
        done.append(_access_repaired(session, "create", car_id, dealership_id, said))
    for row_id, car_id, dealership_id in connection.execute(text(ACCESS_EXTRA)).all():
        connection.execute(text("DELETE FROM car_access WHERE id = :id"), {"id": row_id})
        said = _("Car #{car}: dealership {dealership} has no booking on it any more.")
        done.append(_access_repaired(session, "delete", car_id, dealership_id, said))
    return done


def _access_repaired(
    session: Session, action: str, car_id: int, dealership_id: int, words: str
) -> Repaired:
    """The event of a repaired ``car_access`` row, and its line for the report."""
    events.record(
        session,
        None,
        "car_access",
        f"{car_id}:{dealership_id}",
        action,
        {"repaired": "doctor --repair"},
        car_id=car_id,
    )
    return Repaired("car_access", car_id, words.format(car=car_id, dealership=dealership_id))


def _totals_repaired(connection: object) -> list[Repaired]:
    """Build the kept totals again when one differs from its rows or a trigger is missing."""
    from db import totals

    missing = totals.missing_triggers(connection)
    wrong = {t: n for t, n in totals.differences(connection).items() if n}
    if not missing and not wrong:
        return []
    totals.rebuild(connection)
    return [
        Repaired(
            table, None, _("Kept totals {table}: built again from their rows.").format(table=table)
        )
        for table in sorted(wrong) or sorted(totals.TABLES)
    ]
