"""The triggers that keep the totals of :mod:`db.totals`, on SQLite and PostgreSQL: the rules of
:mod:`db.totals` (and of :mod:`db.totals_weeks`, :mod:`db.totals_closed`) run by the database on
every write to the cars, the stays, the bookings and the clock entries.
"""

from __future__ import annotations

from db import totals_closed as closed
from db import totals_weeks as weeks
from db.totals import (
    BOOKING_SOURCES,
    CLOCK_SOURCES,
    STATUS_SOURCES,
    STAY_SOURCES,
    _booking_sync,
    _changed,
    _clock_sync,
    _status_add,
    _stay_day_add,
    _stays_insert,
)
from db.totals_own import pg_function as _pg_function

# ------------------------------------------------------------------------------------------------
# the triggers
# ------------------------------------------------------------------------------------------------
TRIGGERS = {  # name: table
    "prepfloor_totals_stays": "car_stays",
    "prepfloor_totals_cars": "cars",
    "prepfloor_totals_bookings": "resource_bookings",
    "prepfloor_totals_clocks": "timebank_entries",
    weeks.TRIGGER: "clocked_day_totals",
    closed.TRIGGER: "cars",
}
# the totals of their own modules, with their own triggers
_OWN = {weeks.TRIGGER: weeks, closed.TRIGGER: closed}
_SQLITE_TRIGGERS = [
    f"{name}_{op}"
    for name, table in TRIGGERS.items()
    if table != "car_stays" and name not in _OWN
    for op in ("insert", "update", "delete")
] + [
    "prepfloor_totals_cars_status",
    "prepfloor_totals_stays_insert",
    "prepfloor_totals_stays_delete",
    *weeks.SQLITE_TRIGGERS,
    *closed.SQLITE_TRIGGERS,
]


def sqlite_triggers() -> list[str]:
    stays_changed = _changed(STAY_SOURCES).replace("IS DISTINCT FROM", "IS NOT")
    status_changed = _changed(STATUS_SOURCES).replace("IS DISTINCT FROM", "IS NOT")
    bookings_changed = _changed(BOOKING_SOURCES).replace("IS DISTINCT FROM", "IS NOT")
    clocks_changed = _changed(CLOCK_SOURCES).replace("IS DISTINCT FROM", "IS NOT")
    return [
        "CREATE TRIGGER prepfloor_totals_cars_insert AFTER INSERT ON cars BEGIN "
        f"{_stays_insert('sqlite', 'NEW')}; {_status_add('NEW', 1)}; END",
        f"CREATE TRIGGER prepfloor_totals_cars_update AFTER UPDATE OF {', '.join(STAY_SOURCES)} "
        f"ON cars WHEN {stays_changed} BEGIN DELETE FROM car_stays WHERE car_id = OLD.id; "
        f"{_stays_insert('sqlite', 'NEW')}; END",
        "CREATE TRIGGER prepfloor_totals_cars_status AFTER UPDATE OF "
        f"{', '.join(STATUS_SOURCES)} ON cars WHEN {status_changed} BEGIN "
        f"{_status_add('OLD', -1)}; {_status_add('NEW', 1)}; END",
        "CREATE TRIGGER prepfloor_totals_cars_delete AFTER DELETE ON cars BEGIN "
        f"DELETE FROM car_stays WHERE car_id = OLD.id; {_status_add('OLD', -1)}; END",
        "CREATE TRIGGER prepfloor_totals_stays_insert AFTER INSERT ON car_stays BEGIN "
        f"{_stay_day_add('sqlite', 'NEW', 1)}; END",
        "CREATE TRIGGER prepfloor_totals_stays_delete AFTER DELETE ON car_stays BEGIN "
        f"{_stay_day_add('sqlite', 'OLD', -1)}; END",
        "CREATE TRIGGER prepfloor_totals_bookings_insert AFTER INSERT ON resource_bookings "
        f"BEGIN {_booking_sync('NEW')}; END",
        "CREATE TRIGGER prepfloor_totals_bookings_update AFTER UPDATE OF "
        f"{', '.join(BOOKING_SOURCES)} ON resource_bookings WHEN {bookings_changed} BEGIN "
        f"{_booking_sync('OLD')}; {_booking_sync('NEW')}; END",
        "CREATE TRIGGER prepfloor_totals_bookings_delete AFTER DELETE ON resource_bookings "
        f"BEGIN {_booking_sync('OLD')}; END",
        "CREATE TRIGGER prepfloor_totals_clocks_insert AFTER INSERT ON timebank_entries "
        f"BEGIN {_clock_sync('NEW')}; END",
        "CREATE TRIGGER prepfloor_totals_clocks_update AFTER UPDATE OF "
        f"{', '.join(CLOCK_SOURCES)} ON timebank_entries WHEN {clocks_changed} BEGIN "
        f"{_clock_sync('OLD')}; {_clock_sync('NEW')}; END",
        "CREATE TRIGGER prepfloor_totals_clocks_delete AFTER DELETE ON timebank_entries "
        f"BEGIN {_clock_sync('OLD')}; END",
        *weeks.sqlite_triggers(),
        *closed.sqlite_triggers(),
    ]


def pg_statements() -> list[str]:
    cars = f"""
IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ({_changed(STAY_SOURCES)})) THEN
    DELETE FROM car_stays WHERE car_id = OLD.id;
END IF;
IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ({_changed(STAY_SOURCES)})) THEN
    {_stays_insert("postgresql", "NEW")};
END IF;
IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ({_changed(STATUS_SOURCES)})) THEN
    {_status_add("OLD", -1)};
END IF;
IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ({_changed(STATUS_SOURCES)})) THEN
    {_status_add("NEW", 1)};
END IF;"""
    bookings = f"""
IF TG_OP = 'UPDATE' AND NOT ({_changed(BOOKING_SOURCES)}) THEN RETURN NULL; END IF;
IF TG_OP <> 'INSERT' THEN {_booking_sync("OLD")}; END IF;
IF TG_OP <> 'DELETE' THEN {_booking_sync("NEW")}; END IF;"""
    clocks = f"""
IF TG_OP = 'UPDATE' AND NOT ({_changed(CLOCK_SOURCES)}) THEN RETURN NULL; END IF;
IF TG_OP <> 'INSERT' THEN {_clock_sync("OLD")}; END IF;
IF TG_OP <> 'DELETE' THEN {_clock_sync("NEW")}; END IF;"""
    stays = f"""
IF TG_OP = 'DELETE' THEN {_stay_day_add("postgresql", "OLD", -1)}; END IF;
IF TG_OP = 'INSERT' THEN {_stay_day_add("postgresql", "NEW", 1)}; END IF;"""
    statements = [
        _pg_function("prepfloor_totals_stays", stays),
        _pg_function("prepfloor_totals_cars", cars),
        _pg_function("prepfloor_totals_bookings", bookings),
        _pg_function("prepfloor_totals_clocks", clocks),
        *(_pg_function(name, own.pg_body()) for name, own in _OWN.items()),
    ]
    watched = {
        "prepfloor_totals_cars": STAY_SOURCES,
        "prepfloor_totals_bookings": BOOKING_SOURCES,
        "prepfloor_totals_clocks": CLOCK_SOURCES,
    }
    statements.append(
        "CREATE TRIGGER prepfloor_totals_stays AFTER INSERT OR DELETE ON car_stays "
        "FOR EACH ROW EXECUTE FUNCTION prepfloor_totals_stays()"
    )
    statements.extend(own.pg_trigger() for own in _OWN.values())
    for name, table in TRIGGERS.items():
        if table == "car_stays" or name in _OWN:
            continue
        # At the commit, not at the write: a total's row is then locked only while the
        # transaction commits, not from the booking's INSERT (or the car's move) to its commit,
        # so two bookings of one day at one prep center do not wait for each other's other work.
        statements.append(
            f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF "
            f"{', '.join(watched[name])} ON {table} DEFERRABLE INITIALLY DEFERRED "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    return statements
