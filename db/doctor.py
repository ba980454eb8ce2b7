"""``prepfloor doctor``: check every invariant of DESIGN.md on the live database.

Errors are rules the code must never break (the ledger, one running timer, the workflow's
timestamps...).  Warnings are states the rules allow but someone should look at (a day overbooked
after a capacity cut, a weekly sharing cap lowered below what was already booked).

A message that quotes a stored value (a dealership's name, a VIN, a status, a day) quotes it
through :func:`db.text.shown`: one clean line, cut.  The database may hold anything another
program wrote, and doctor is run exactly when something looks wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session

from db import formats, validate
from db.clock import as_utc
from db.i18n import _
from db.repair import ACCESS_EXTRA, ACCESS_MISSING, PERSON_DRIFT, TEAM_DRIFT
from db.text import shown
from db.vocab import BOOKING_HOLDING_STATUSES, CAR_STATUSES, sql_in

EPS = 1e-6
HOLDING = sql_in(BOOKING_HOLDING_STATUSES)


def _n(value: object) -> str:
    """A stored number as the reader's language writes it (to the millionth: doctor looks for
    small differences)."""
    return formats.number(float(value), 6)  # type: ignore[arg-type]


def _h(value: object) -> str:
    """Stored hours with their unit (``7.5 h`` / ``7,5 t``)."""
    return formats.hours(float(value), 6)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    check: str
    message: str


def _rows(session: Session, sql: str, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    return [tuple(r) for r in session.execute(text(sql), params).all()]


def check_ledger(session: Session) -> Iterator[Finding]:
    for row_id, day, used, held in _rows(
        session,
        TEAM_DRIFT,
    ):
        if abs(float(used) - float(held)) > EPS:
            yield Finding(
                "error",
                "ledger",
                _(
                    "Team capacity #{id} ({day}): used_hours {used} but its bookings hold {held}."
                ).format(id=row_id, day=shown(day), used=_n(used), held=_n(held)),
            )
    for row_id, day, used, held in _rows(
        session,
        PERSON_DRIFT,
    ):
        if abs(float(used) - float(held)) > EPS:
            yield Finding(
                "error",
                "ledger",
                _(
                    "Personal capacity #{id} ({day}): used_hours {used} but its bookings hold "
                    "{held}."
                ).format(id=row_id, day=shown(day), used=_n(used), held=_n(held)),
            )
    for booking_id, day in _rows(
        session,
        f"""
        SELECT b.id, b.date FROM resource_bookings b
        WHERE b.status IN {HOLDING} AND NOT EXISTS (
            SELECT 1 FROM resource_capacities c WHERE c.dealership_id = b.provider_dealership_id
            AND c.resource_type_id = b.resource_type_id AND c.date = b.date AND c.user_id IS NULL)
        ORDER BY b.id LIMIT 50""",
    ):
        yield Finding(
            "error",
            "ledger",
            _("Booking #{id} ({day}) holds hours on a day with no team capacity row.").format(
                id=booking_id, day=shown(day)
            ),
        )
    for booking_id, day in _rows(
        session,
        f"""
        SELECT b.id, b.date FROM resource_bookings b
        WHERE b.status IN {HOLDING} AND b.user_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM resource_capacities c WHERE c.dealership_id = b.provider_dealership_id
            AND c.resource_type_id = b.resource_type_id AND c.date = b.date
            AND c.user_id = b.user_id)
        ORDER BY b.id LIMIT 50""",
    ):
        yield Finding(
            "error",
            "ledger",
            _(
                "Booking #{id} ({day}) is assigned to a person with no capacity row that day."
            ).format(id=booking_id, day=shown(day)),
        )
    for row_id, allocated, used, available in _rows(
        session,
        """
        SELECT id, allocated_hours, used_hours, available_hours FROM resource_capacities
        WHERE available_hours IS NULL OR abs(available_hours - (allocated_hours - used_hours)) > 1e-6
        LIMIT 50""",
    ):
        yield Finding(
            "error",
            "ledger",
            _(
                "Capacity #{id}: available_hours {available} is not allocated {allocated} - "
                "used {used}."
            ).format(id=row_id, available=shown(available), allocated=_n(allocated), used=_n(used)),
        )
    for row_id, day, allocated, used in _rows(
        session,
        """
        SELECT id, date, allocated_hours, used_hours FROM resource_capacities
        WHERE used_hours > allocated_hours + 1e-6 ORDER BY date LIMIT 50""",
    ):
        yield Finding(
            "warning",
            "overbooked",
            _(
                "Capacity #{id} ({day}) is overbooked: {used} booked of {allocated} "
                "(capacity was cut)."
            ).format(id=row_id, day=shown(day), used=_h(used), allocated=_h(allocated)),
        )


def check_timers(session: Session) -> Iterator[Finding]:
    for user_id, n in _rows(
        session,
        """
        SELECT user_id, count(*) FROM timebank_entries
        WHERE started_at IS NOT NULL AND ended_at IS NULL GROUP BY user_id HAVING count(*) > 1""",
    ):
        yield Finding(
            "error",
            "timers",
            _("User {user} has {count} running timers (one allowed).").format(
                user=shown(user_id), count=n
            ),
        )
    for (entry_id,) in _rows(
        session,
        """
        SELECT id FROM timebank_entries
        WHERE ended_at IS NOT NULL AND started_at IS NOT NULL AND ended_at < started_at LIMIT 50""",
    ):
        yield Finding(
            "error", "timers", _("Time entry #{id} ends before it starts.").format(id=entry_id)
        )
    for entry_id in _rows(
        session,
        """
        SELECT id FROM timebank_entries WHERE ended_at IS NOT NULL AND hours IS NULL LIMIT 50""",
    ):
        yield Finding(
            "error",
            "timers",
            _("Time entry #{id} is stopped but has no hours.").format(id=entry_id[0]),
        )
    for booking_id, actual, clocked in _rows(
        session,
        """
        SELECT b.id, b.actual_hours, coalesce(sum(t.hours), 0) FROM resource_bookings b
        JOIN timebank_entries t ON t.booking_id = b.id
        WHERE b.status = 'completed' GROUP BY b.id, b.actual_hours""",
    ):
        if actual is None or abs(float(actual) - float(clocked)) > 1e-3:
            yield Finding(
                "error",
                "timers",
                _("Booking #{id}: actual_hours {actual} but its time entries sum to {sum}.").format(
                    id=booking_id, actual=shown(actual), sum=formats.fixed(float(clocked), 2)
                ),
            )


def check_sharing(session: Session) -> Iterator[Finding]:
    for booking_id, provider, consumer in _rows(
        session,
        f"""
        SELECT b.id, b.provider_dealership_id, b.consumer_dealership_id FROM resource_bookings b
        WHERE b.provider_dealership_id <> b.consumer_dealership_id AND b.status IN {HOLDING}
        AND NOT EXISTS (SELECT 1 FROM resource_sharing s
            WHERE s.provider_dealership_id = b.provider_dealership_id
            AND s.consumer_dealership_id = b.consumer_dealership_id
            AND s.resource_type_id = b.resource_type_id)
        LIMIT 50""",
    ):
        yield Finding(
            "error",
            "sharing",
            _(
                "Booking #{id}: dealership {consumer} books at {provider} without a sharing "
                "agreement."
            ).format(id=booking_id, consumer=consumer, provider=provider),
        )
    weekly: dict[tuple[int, int, int, str], float] = {}
    for provider, consumer, rt, day, hours in _rows(
        session,
        f"""
        SELECT b.provider_dealership_id, b.consumer_dealership_id, b.resource_type_id, b.date,
               sum(b.estimated_hours)
        FROM resource_bookings b
        WHERE b.provider_dealership_id <> b.consumer_dealership_id AND b.status IN {HOLDING}
        GROUP BY b.provider_dealership_id, b.consumer_dealership_id, b.resource_type_id, b.date""",
    ):
        day_value = validate.parse_date(day) if isinstance(day, str) else day
        iso = day_value.isocalendar()  # type: ignore[union-attr]
        key = (provider, consumer, rt, f"{iso.year}-W{iso.week:02d}")
        weekly[key] = weekly.get(key, 0.0) + float(hours)
    caps = {
        (p, c, r): float(m)
        for p, c, r, m in _rows(
            session,
            """
        SELECT provider_dealership_id, consumer_dealership_id, resource_type_id, max_hours_per_week
        FROM resource_sharing""",
        )
    }
    for (provider, consumer, rt, week), hours in sorted(weekly.items()):
        cap = caps.get((provider, consumer, rt))
        if cap is not None and hours > cap + EPS:
            yield Finding(
                "warning",
                "sharing",
                _(
                    "{week}: dealership {consumer} holds {hours} at {provider} (type {type}), "
                    "over the weekly cap of {cap}."
                ).format(
                    week=week,
                    consumer=consumer,
                    hours=_h(hours),
                    provider=provider,
                    type=rt,
                    cap=_h(cap),
                ),
            )


def check_dealerships(session: Session) -> Iterator[Finding]:
    rows = _rows(
        session,
        """
        SELECT d.id, d.dealership_name, d.dealership_type, d.does_own_prep, d.prep_center_id,
               p.dealership_type, p.does_own_prep, d.parent_dealership_id
        FROM dealership d LEFT JOIN dealership p ON p.id = d.prep_center_id""",
    )
    parents = {r[0]: r[7] for r in rows}
    for did, name, kind, own, center, center_kind, center_own, _parent in rows:
        if kind == "sales_only" and not own and center is None:
            yield Finding(
                "error",
                "dealerships",
                _("{name} is sales-only without its own prep and has no prep center.").format(
                    name=shown(name)
                ),
            )
        if (
            center is not None
            and center != did
            and not (center_kind == "prep_center_only" or center_own)
        ):
            yield Finding(
                "error",
                "dealerships",
                _("{name}'s prep center does not do prep work.").format(name=shown(name)),
            )
    for did, name, *_rest in rows:
        if _in_cycle(parents, did):
            yield Finding(
                "error",
                "dealerships",
                _("{name} is part of a hierarchy loop.").format(name=shown(name)),
            )


def _in_cycle(parents: dict[int, int | None], start: int) -> bool:
    """Does walking up from ``start`` come back to it?"""
    seen: set[int] = set()
    current = parents.get(start)
    while current is not None and current not in seen:
        if current == start:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


# The stamp each status needs, and the stamps that must still be empty before a stage is reached.
_ORDER = list(CAR_STATUSES)


def _at_least(status: str, stage: str) -> bool:
    return _ORDER.index(status) >= _ORDER.index(stage) and status != "archived"


def check_cars(session: Session) -> Iterator[Finding]:
    rows = _rows(
        session,
        """
        SELECT id, status, vin, registered_at, in_transit_at, arrived_prep_center_at,
               inspection_completed_at, ready_for_delivery_at, delivered_to_customer_at, archived_at
        FROM cars""",
    )
    needs = [
        ("registered", 3, "registered_at"),
        ("at_prep_center", 5, "arrived_prep_center_at"),
        ("parts_ordered", 6, "inspection_completed_at"),
        ("ready_for_delivery", 7, "ready_for_delivery_at"),
        ("delivered", 8, "delivered_to_customer_at"),
    ]
    for row in rows:
        car_id, status, vin = row[0], row[1], row[2]
        for stage, index, name in needs:
            if _at_least(status, stage) and row[index] is None:
                yield Finding(
                    "error",
                    "cars",
                    _("Car #{id} is {status} but has no {stamp}.").format(
                        id=car_id, status=shown(status), stamp=name
                    ),
                )
        if status == "in_transit" and row[4] is None:
            yield Finding(
                "error",
                "cars",
                _("Car #{id} is {status} but has no {stamp}.").format(
                    id=car_id, status="in_transit", stamp="in_transit_at"
                ),
            )
        if status == "archived" and row[9] is None:
            yield Finding(
                "error",
                "cars",
                _("Car #{id} is {status} but has no {stamp}.").format(
                    id=car_id, status="archived", stamp="archived_at"
                ),
            )
        if row[7] is not None and status not in ("ready_for_delivery", "delivered", "archived"):
            yield Finding(
                "error",
                "cars",
                _("Car #{id} is {status} but has {stamp}.").format(
                    id=car_id, status=shown(status), stamp="ready_for_delivery_at"
                ),
            )
        if row[8] is not None and status not in ("delivered", "archived"):
            yield Finding(
                "error",
                "cars",
                _("Car #{id} is {status} but has {stamp}.").format(
                    id=car_id, status=shown(status), stamp="delivered_to_customer_at"
                ),
            )
        stamps = [as_utc(v) for v in (row[3], row[5], row[6], row[7], row[8]) if v is not None]
        if stamps != sorted(stamps):  # type: ignore[type-var]
            yield Finding(
                "error",
                "cars",
                _("Car #{id}: its workflow timestamps are out of order.").format(id=car_id),
            )
        if status != "draft" and validate.vin_problem(vin):
            yield Finding(
                "error",
                "cars",
                _("Car #{id}: {problem}").format(
                    id=car_id, problem=shown(validate.vin_problem(vin), 200)
                ),
            )
    for vin, n in _rows(
        session,
        """
        SELECT vin, count(*) FROM cars WHERE vin IS NOT NULL
        AND status NOT IN ('delivered', 'archived') GROUP BY vin HAVING count(*) > 1""",
    ):
        yield Finding(
            "error",
            "cars",
            _("VIN {vin} belongs to {count} active cars.").format(vin=shown(vin, 30), count=n),
        )
    for booking_id, car_id in _rows(
        session,
        """
        SELECT b.id, b.car_id FROM resource_bookings b JOIN cars c ON c.id = b.car_id
        WHERE b.consumer_dealership_id <> c.dealership_id LIMIT 50""",
    ):
        yield Finding(
            "error",
            "bookings",
            _("Booking #{id}: the consumer is not the dealership of car #{car}.").format(
                id=booking_id, car=car_id
            ),
        )


def check_car_access(session: Session) -> Iterator[Finding]:
    """``car_access`` holds exactly the providers of a car's bookings other than its owner and its
    prep center (the scoping rule reads it)."""
    for car_id, provider in _rows(
        session,
        f"{ACCESS_MISSING} LIMIT 50",
    ):
        yield Finding(
            "error",
            "car_access",
            _(
                "Dealership {dealership} works on car #{car} but cannot see it (car_access is "
                "missing the row)."
            ).format(dealership=provider, car=car_id),
        )
    for _id, car_id, dealership in _rows(
        session,
        f"{ACCESS_EXTRA} LIMIT 50",
    ):
        yield Finding(
            "error",
            "car_access",
            _("Dealership {dealership} sees car #{car} without a booking on it.").format(
                dealership=dealership, car=car_id
            ),
        )


def check_triggers(session: Session) -> Iterator[Finding]:
    """PostgreSQL: the triggers that keep the ledger and the audit for other writers
    (:mod:`db.triggers`) are all there and switched on."""
    from db import triggers

    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    missing = triggers.missing(connection)
    for name in sorted(missing):
        yield Finding(
            "error",
            "triggers",
            _(
                "The database trigger {name} is missing or switched off: other writers can "
                "break the ledger. Run prepfloor doctor --repair."
            ).format(name=name),
        )


def check_totals(session: Session) -> Iterator[Finding]:
    """The totals the database keeps for the dashboard and the car counts (:mod:`db.totals`):
    their triggers are there, and every kept row equals a fresh count of its rows."""
    from db import totals

    connection = session.connection()
    for name in sorted(totals.missing_triggers(connection)):
        yield Finding(
            "error",
            "totals",
            _(
                "The database trigger {name} is missing or switched off: the dashboard's totals "
                "stop following the changes. Run prepfloor doctor --repair."
            ).format(name=name),
        )
    for table, n in totals.differences(connection).items():
        if n:
            yield Finding(
                "error",
                "totals",
                _(
                    "The kept totals in {table} differ from their rows ({n} rows): the dashboard "
                    "and the car counts are wrong. Run prepfloor doctor --repair."
                ).format(table=table, n=n),
            )


def check_estimates(session: Session) -> Iterator[Finding]:
    from db.estimate_checks import findings

    for level, message in findings(session):
        yield Finding(level, "estimates", message)


def check_outbox(session: Session) -> Iterator[Finding]:
    """The messages to customers: a sent one is logged as a contact, one being sent is held."""
    from db.doctor_outbox import outbox_problems

    for message in outbox_problems(session):
        yield Finding("error", "outbox", message)


CHECKS = (
    check_triggers,
    check_totals,
    check_ledger,
    check_timers,
    check_sharing,
    check_dealerships,
    check_cars,
    check_car_access,
    check_estimates,
    check_outbox,
)


def run_checks(session: Session) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(session))
    return findings
