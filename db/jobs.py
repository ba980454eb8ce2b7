"""Reads for the workshop screen (mechanic and detailer): my jobs, the open jobs I may take or
clock as one of the team, and my running clock; and which kind of work a car's stage calls for.

Plain SQL through :class:`db.fast.FastReader`, no ORM (the screen repaints on every change of the
feed, and :func:`running_timer` is polled about once a second).  Each statement uses an index:
``resource_bookings`` by person and day or by provider and day, ``timebank_entries`` by booking and
the partial unique index of the running clocks.  Values come back as Python values on both engines
(user ids as ``str(uuid.UUID)``, timestamps aware UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from db.access import Actor
from db.clock import as_utc, local_today
from db.grid import _EPS, PERSON_DAY_HOURS, _day, _param_day, _time, _uid, car_label
from db.i18n import _
from db.vocab import BOOKING_HOLDING_STATUSES, PREP_STAGES, WORKER_ROLES, sql_in

if TYPE_CHECKING:
    from collections.abc import Sequence

    from db.fast import FastReader, TypeRow

# the statuses of a job still to do (a worker's list); completed ones of the days come last
ACTIVE_STATUSES: tuple[str, ...] = ("scheduled", "confirmed", "in_progress")
_MINE_STATUSES = (*ACTIVE_STATUSES, "completed")
# what a job must be for someone to take it (db.timers.take): not yet started by anyone
TAKEABLE_STATUSES: tuple[str, ...] = ("scheduled", "confirmed")


def work_stage(car_status: str | None) -> str:
    """The kind of prep work a car at this stage is booked for: cosmetic once it is in cosmetic
    prep, technical before (and for any other status)."""
    return "cosmetic" if car_status == "cosmetic_prep" else "technical"


def work_type_for(types: Sequence[TypeRow], car_status: str | None) -> int | None:
    """The work a booking for a car at this stage defaults to: the first of ``types`` (bookable,
    by name) of the stage :func:`work_stage` names, else ``None``."""
    stage = work_stage(car_status)
    return next((t.id for t in types if t.prep_stage == stage), None)


@dataclass(frozen=True)
class JobRow:
    """One job on a worker's list."""

    booking_id: int
    car_id: int | None
    date: date
    start_time: time | None
    estimated_hours: float
    clocked_hours: float  # the booking's closed entries, everyone's
    running_since: datetime | None  # this user's running clock on this job
    status: str  # the booking's status
    work: str
    resource_type_id: int
    prep_stage: str | None
    plate: str | None
    brand: str | None
    model: str | None
    vin_tail: str | None
    car_label: str
    car_status: str | None
    parts_waiting: bool
    parts_reason: str | None
    seller_notes: str | None
    booking_notes: str | None
    technical_notes: str | None
    cosmetic_notes: str | None
    user_id: str | None
    person: str | None
    mine: bool
    # work the team shares (no person needed): anyone of the kind may clock it without taking it
    team: bool = False
    # not mine, and :func:`db.timers.take` would give it to me (the day has room for me)
    takeable: bool = False

    @property
    def work_notes(self) -> str | None:
        """The car's notes of this job's stage (technical or cosmetic work), else ``None``."""
        if self.prep_stage == "technical":
            return self.technical_notes
        if self.prep_stage == "cosmetic":
            return self.cosmetic_notes
        return None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def open(self) -> bool:
        """Still to do (scheduled, confirmed or in progress)."""
        return self.status in ACTIVE_STATUSES


def parts_reason(
    seller_ordered: Any, seller_arrived: Any, prep_ordered: Any, prep_arrived: Any
) -> str | None:
    """Why the car still waits on parts, from its four parts timestamps (also the rule's words:
    :func:`db.workflow.waiting_on_parts` gives it an ORM car's)."""
    seller = seller_ordered is not None and seller_arrived is None
    prep = prep_ordered is not None and prep_arrived is None
    if seller and prep:
        return _(
            "The car is still waiting for parts ordered by the seller and parts ordered by the "
            "prep center."
        )
    if seller:
        return _("The car is still waiting for parts ordered by the seller.")
    if prep:
        return _("The car is still waiting for parts ordered by the prep center.")
    return None


_JOB_COLUMNS = (
    "b.id, b.car_id, b.date, b.start_time, b.estimated_hours, "
    "(SELECT coalesce(sum(e.hours), 0) FROM timebank_entries e WHERE e.booking_id = b.id "
    " AND e.ended_at IS NOT NULL), "
    "(SELECT e.started_at FROM timebank_entries e WHERE e.booking_id = b.id AND e.user_id = :me "
    " AND e.started_at IS NOT NULL AND e.ended_at IS NULL), "
    "b.status, t.name, b.resource_type_id, t.prep_stage, c.license_plate, c.brand, c.model, "
    "c.vin, c.order_number, c.status, c.parts_ordered_seller_at, c.parts_arrived_seller_at, "
    "c.parts_ordered_prep_at, c.parts_arrived_prep_at, c.seller_notes, b.notes, "
    "c.technical_notes, c.cosmetic_notes, b.user_id, u.display_name, t.requires_assignment, "
    "b.provider_dealership_id"
)
_JOB_JOINS = (
    "FROM resource_bookings b "
    "JOIN resource_types t ON t.id = b.resource_type_id "
    "LEFT JOIN cars c ON c.id = b.car_id "
    "LEFT JOIN users u ON u.id = b.user_id"
)
# Untimed jobs after timed ones, on both engines (SQLite sorts NULL first, PostgreSQL last).
_ORDER = "ORDER BY b.date, b.start_time IS NULL, b.start_time, b.id"


def _job(r: tuple[Any, ...], mine: bool) -> JobRow:
    vin = r[14]
    return JobRow(
        booking_id=int(r[0]),
        car_id=r[1],
        date=_day(r[2]),
        start_time=_time(r[3]),
        estimated_hours=float(r[4]),
        clocked_hours=round(float(r[5] or 0.0), 4),
        running_since=as_utc(r[6]),
        status=r[7],
        work=r[8],
        resource_type_id=int(r[9]),
        prep_stage=r[10],
        plate=r[11],
        brand=r[12],
        model=r[13],
        vin_tail=vin[-6:] if vin else None,
        car_label=car_label(r[12], r[13], r[11], vin, r[15], r[1]),
        car_status=r[16],
        parts_waiting=parts_reason(r[17], r[18], r[19], r[20]) is not None,
        parts_reason=parts_reason(r[17], r[18], r[19], r[20]),
        seller_notes=r[21],
        booking_notes=r[22],
        technical_notes=r[23],
        cosmetic_notes=r[24],
        user_id=_uid(r[25]),
        person=r[26],
        mine=mine,
        team=not r[27],
    )


def stages_for(role: str) -> tuple[str, ...]:
    """The prep stages whose work a role does (technical: mechanic, cosmetic: detailer)."""
    return tuple(s for s in PREP_STAGES if role in WORKER_ROLES[s])


def may_take_work(role: str) -> bool:
    """Does the role take open jobs at all (mechanics and detailers)?"""
    return role in WORKER_ROLES[None]


def my_jobs(fast: FastReader, actor: Actor, first: date, days: int = 1) -> list[JobRow]:
    """The actor's jobs from ``first`` for ``days`` days, the open jobs they may take or clock,
    and on top the job their clock runs on, whatever its day.

    In this order: the job of the actor's running clock (any day; ``running_since`` set); the
    actor's scheduled, confirmed and in-progress bookings (by day, start time with untimed last,
    id); then the unassigned open bookings at the actor's dealership (as provider) of a kind the
    actor does (technical work for a mechanic, cosmetic for a detailer, work without a stage for
    both), ``mine=False``, that the actor can act on: those :func:`db.timers.take` would give them
    (``takeable``: not started, not past, and their own row of that work has room that day, see
    :func:`_takeable`) and the team's work that needs no person (``team``: Space clocks it
    without taking it); then the actor's completed bookings of those days.
    """
    days = max(0, int(days))
    if days == 0:
        return []
    params: dict[str, Any] = {
        "me": fast.uid(actor.user_id),
        "first": _param_day(fast, first),
        "end": _param_day(fast, first + timedelta(days=days)),
    }
    mine_rows = fast.rows(
        f"SELECT {_JOB_COLUMNS} {_JOB_JOINS} "
        "WHERE b.user_id = :me AND b.date >= :first AND b.date < :end "
        f"AND b.status IN {sql_in(_MINE_STATUSES)} {_ORDER}",
        params,
    )
    mine = [_job(r, True) for r in mine_rows]
    active = [j for j in mine if j.status != "completed"]
    done = [j for j in mine if j.status == "completed"]
    others: list[JobRow] = []
    if actor.dealership_id is not None and may_take_work(actor.role):
        stages = stages_for(actor.role)
        kind = "t.prep_stage IS NULL"
        if stages:
            kind = f"(t.prep_stage IS NULL OR t.prep_stage IN {sql_in(stages)})"
        open_rows = fast.rows(
            f"SELECT {_JOB_COLUMNS} {_JOB_JOINS} "
            "WHERE b.provider_dealership_id = :d AND b.date >= :first AND b.date < :end "
            f"AND b.user_id IS NULL AND b.status IN {sql_in(ACTIVE_STATUSES)} AND {kind} "
            f"{_ORDER}",
            {**params, "d": int(actor.dealership_id)},
        )
        if open_rows:
            room = _Room.read(fast, actor, params)
            for r in open_rows:
                job = _job(r, False)
                if room.fits(job):
                    others.append(replace(job, takeable=True))
                elif job.team:
                    others.append(job)
    listed = active + others + done
    running = _running_job(fast, actor)
    if running is not None:
        listed = [running, *(j for j in listed if j.booking_id != running.booking_id)]
    return listed


def _running_job(fast: FastReader, actor: Actor) -> JobRow | None:
    """The job the actor's clock runs on, whatever its day (one statement on the running clocks'
    index); ``None`` when no clock runs or it runs on no booking."""
    found = fast.rows(
        f"SELECT {_JOB_COLUMNS} {_JOB_JOINS} "
        "WHERE b.id = (SELECT e.booking_id FROM timebank_entries e WHERE e.user_id = :me "
        " AND e.started_at IS NOT NULL AND e.ended_at IS NULL)",
        {"me": fast.uid(actor.user_id)},
    )
    if not found:
        return None
    row = found[0]
    return _job(row, _uid(row[25]) == str(actor.user_id))


@dataclass
class _Room:
    """What :func:`db.timers.take` checks of the taker's days, read once for a list of open
    jobs: their own capacity rows at the dealership (free hours per work and day), their day
    (every kind of work together, at most :data:`db.grid.PERSON_DAY_HOURS`), the team rows, and
    their own timed bookings (a person is not in two places at once).  The ledger
    (:mod:`db.holding`) decides when the job is taken; this only keeps off the list what it
    would refuse."""

    today: date
    person_free: dict[tuple[int, date], float]
    person_day: dict[date, float]
    team_free: dict[tuple[int, date], float]
    timed: dict[date, list[tuple[time, time]]]

    @classmethod
    def read(cls, fast: FastReader, actor: Actor, params: dict[str, Any]) -> _Room:
        at = {**params, "d": int(actor.dealership_id or 0)}
        person_free: dict[tuple[int, date], float] = {}
        person_day: dict[date, float] = {}
        team_free: dict[tuple[int, date], float] = {}
        for rt, day, user, allocated, used in fast.rows(
            "SELECT resource_type_id, date, user_id, allocated_hours, used_hours "
            "FROM resource_capacities WHERE dealership_id = :d AND date >= :first "
            "AND date < :end AND (user_id = :me OR user_id IS NULL)",
            at,
        ):
            key = (int(rt), _day(day))
            free = float(allocated) - float(used)
            if user is None:
                team_free[key] = free
            else:
                person_free[key] = free
                person_day[key[1]] = person_day.get(key[1], 0.0) + float(used)
        timed: dict[date, list[tuple[time, time]]] = {}
        for day, start, hours in fast.rows(
            "SELECT date, start_time, estimated_hours FROM resource_bookings "
            "WHERE user_id = :me AND date >= :first AND date < :end "
            f"AND status IN {sql_in(BOOKING_HOLDING_STATUSES)} AND start_time IS NOT NULL",
            params,
        ):
            begin = _time(start)
            assert begin is not None
            timed.setdefault(_day(day), []).append((begin, _end(begin, float(hours))))
        return cls(local_today(), person_free, person_day, team_free, timed)

    def fits(self, job: JobRow) -> bool:
        """Would the ledger let the actor take ``job`` (as :func:`db.timers.take` asks it)?"""
        if job.status not in TAKEABLE_STATUSES or job.date < self.today:
            return False
        key = (job.resource_type_id, job.date)
        hours = job.estimated_hours
        free = self.person_free.get(key)
        if free is None or free + _EPS < hours:
            return False
        if self.person_day.get(job.date, 0.0) + hours > PERSON_DAY_HOURS + _EPS:
            return False
        if self.team_free.get(key, -1.0) < -_EPS:  # the team row is overbooked (after a cut)
            return False
        if job.start_time is not None:
            end = _end(job.start_time, hours)
            for other_start, other_end in self.timed.get(job.date, []):
                if job.start_time < other_end and other_start < end:
                    return False
        return True


def _end(start: time, hours: float) -> time:
    """When work started at ``start`` ends (23:59 at the latest), as the ledger counts it."""
    moment = datetime.combine(date(2000, 1, 1), start) + timedelta(hours=hours)
    return time(23, 59) if moment.date() > date(2000, 1, 1) else moment.time()


# ------------------------------------------------------------------------------------------------
# the running clock
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunningTimer:
    """A person's running clock, as the workshop screens show it."""

    entry_id: int
    booking_id: int | None
    started_at: datetime
    work: str
    car_label: str
    car_id: int | None
    kept: bool = False  # the person chose to keep it running past the shift (resolve_forgotten)
    flagged: bool = False  # it was flagged as forgotten (flag_forgotten notified)

    def hours(self, now: datetime) -> float:
        """How long it has run at ``now`` (aware)."""
        return max((now - self.started_at).total_seconds(), 0.0) / 3600.0


def running_timer(fast: FastReader, user_id: Any) -> RunningTimer | None:
    """The person's running clock, or ``None``: one statement on the running clocks' index."""
    found = fast.rows(
        "SELECT e.id, e.booking_id, e.started_at, t.name, c.brand, c.model, c.license_plate, "
        "c.vin, c.order_number, b.car_id, "
        "EXISTS (SELECT 1 FROM events v WHERE v.entity = 'timebank_entries' "
        " AND v.entity_id = CAST(e.id AS TEXT) AND v.action = 'keep'), "
        "EXISTS (SELECT 1 FROM events v WHERE v.entity = 'timebank_entries' "
        " AND v.entity_id = CAST(e.id AS TEXT) AND v.action = 'flag') "
        "FROM timebank_entries e "
        "JOIN resource_types t ON t.id = e.resource_type_id "
        "LEFT JOIN resource_bookings b ON b.id = e.booking_id "
        "LEFT JOIN cars c ON c.id = b.car_id "
        "WHERE e.user_id = :u AND e.started_at IS NOT NULL AND e.ended_at IS NULL",
        {"u": fast.uid(user_id)},
    )
    if not found:
        return None
    r = found[0]
    started = as_utc(r[2])
    assert started is not None
    return RunningTimer(
        entry_id=int(r[0]),
        booking_id=None if r[1] is None else int(r[1]),
        started_at=started,
        work=r[3],
        car_label=car_label(r[4], r[5], r[6], r[7], r[8], r[9]),
        car_id=r[9],
        kept=bool(r[10]),
        flagged=bool(r[11]),
    )
