"""Clocking: a timer is a ``timebank_entries`` row with ``started_at`` and no ``ended_at``.

One running timer per person (a partial unique index backs the rule).  Starting a job stops the
person's other timer in the same transaction.  A person's clock is serialised (:func:`lock_clock`):
two terminals of one person pressing start at the same instant run one after the other, and the
second sees the first's clock and switches from it, on SQLite and on PostgreSQL alike.  Completing a job sums its entries into
``actual_hours`` and moves the car on.  A timer left running past the shift is flagged and is
corrected only with a reason, as an event.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from db import car_schedule, events, formats, holding, ledger, ledger_rows, notify, workflow
from db.access import Actor
from db.clock import local, local_today, utcnow, zone
from db.engine import for_update
from db.errors import Invalid, NotAllowed, NotFound, TimerError
from db.i18n import _
from db.models import Car, Event, ResourceBooking, ResourceType, TimebankEntry, User
from db.vocab import BOOKING_STATUS_LABELS, ROLE_LABELS, WORKER_ROLES

DEFAULT_SHIFT_HOURS = 10.0
RUNNING_CONSTRAINT = "uq_timebank_entries_running"
_CLOCK_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


def clock_key(user_id: uuid.UUID | str) -> int:
    """The advisory lock key of one person's clock (64 bits of a hash of the person; a key space
    of its own beside :func:`db.holding.person_day_key`)."""
    uid = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    digest = hashlib.blake2b(uid.bytes, digest_size=8, person=b"prepfloor-clock").digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_clock(session: Session, user_id: uuid.UUID) -> None:
    """Serialise everything that starts or stops this person's clock, before it is read.

    PostgreSQL: a transaction-level advisory lock on the person (held until commit; taken first in
    the transaction, before any row lock, so it never waits in a circle).  A second start waits,
    then reads the first's clock as committed and switches from it; without the lock both would
    read "no clock" and the second insert would break the one-running-clock index.  A row lock
    would not do: there is no running row to lock yet.  SQLite: nothing to do (the write
    transaction holds the database's write lock).
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(_CLOCK_LOCK, {"key": clock_key(user_id)})


def _one_clock_refusal(error: IntegrityError) -> TimerError | None:
    """The one-running-clock index refused an insert: the words for the person (else None)."""
    text = str(error.orig if error.orig is not None else error)
    # PostgreSQL names the index; SQLite names its column (the only unique index on it alone)
    if RUNNING_CONSTRAINT not in text and "timebank_entries.user_id" not in text:
        return None
    return TimerError(
        _(
            "Your clock was started on another job at the same moment (another terminal?); "
            "nothing changed here. Look at the running clock and press again if needed."
        )
    )


def running(session: Session, user_id: uuid.UUID, *, lock: bool = False) -> TimebankEntry | None:
    """The person's running timer, if any."""
    stmt = select(TimebankEntry).where(
        TimebankEntry.user_id == user_id,
        TimebankEntry.started_at.is_not(None),  # type: ignore[union-attr]
        TimebankEntry.ended_at.is_(None),  # type: ignore[union-attr]
    )
    if lock:
        stmt = for_update(stmt)
    return session.exec(stmt).first()


def _hours_between(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0) / 3600.0, 4)


def _close(
    session: Session,
    actor: Actor,
    entry: TimebankEntry,
    end: datetime,
    action: str,
    reason: str | None = None,
) -> TimebankEntry:
    assert entry.started_at is not None
    if end < entry.started_at:
        raise Invalid(
            _("The end cannot be before the start ({start}).").format(
                start=formats.short_moment(local(entry.started_at))
            ),
            "ended_at",
        )
    entry.ended_at = end
    entry.hours = _hours_between(entry.started_at, end)
    entry.updated_at = utcnow()
    session.add(entry)
    session.flush()
    changes: dict[str, object] = {"ended_at": [None, end], "hours": [None, entry.hours]}
    if reason:
        changes["reason"] = reason
    car_id = None
    if entry.booking_id is not None:
        booking = session.get(ResourceBooking, entry.booking_id)
        car_id = booking.car_id if booking else None
    events.record(session, actor, "timebank_entries", entry.id, action, changes, car_id=car_id)
    return entry


def _startable(session: Session, actor: Actor, booking: ResourceBooking) -> ResourceType:
    rt = session.get(ResourceType, booking.resource_type_id)
    assert rt is not None
    if booking.user_id not in (None, actor.user_id):
        raise NotAllowed(_("This job is assigned to someone else."))
    if booking.user_id is None and rt.requires_assignment:
        raise NotAllowed(
            _("This job needs a person assigned by a coordinator before it can start.")
        )
    if not actor.sees_dealership(booking.provider_dealership_id):
        raise NotAllowed(_("This job is done at another dealership."))
    if booking.status not in ("scheduled", "confirmed", "in_progress"):
        raise TimerError(
            _("A job that is {status} cannot be started.").format(
                status=_status_word(booking.status)
            )
        )
    if booking.car_id is not None:
        car = session.get(Car, booking.car_id)
        if car is not None:
            waiting = workflow.waiting_on_parts(car)
            if waiting and rt.prep_stage == "technical":
                raise TimerError(_("{reason} Start when the parts are in.").format(reason=waiting))
    return rt


def _status_word(status: str) -> str:
    """A booking's status as a word in a sentence: ``completed``, ``no-show``."""
    if status in BOOKING_STATUS_LABELS:
        return BOOKING_STATUS_LABELS[status].lower()
    return status.replace("_", " ")


def start(session: Session, actor: Actor, booking_id: int) -> TimebankEntry:
    """Start the clock on a job (stopping the person's other job first)."""
    actor.require("timer.own")
    lock_clock(session, actor.user_id)
    booking = session.exec(
        for_update(select(ResourceBooking).where(ResourceBooking.id == booking_id))
    ).first()
    if booking is None:
        raise NotFound(_("Job #{id} does not exist.").format(id=booking_id))
    rt = _startable(session, actor, booking)
    now = utcnow()
    current = running(session, actor.user_id, lock=True)
    if current is not None:
        if current.booking_id == booking_id:
            raise TimerError(_("This job's clock is already running."))
        _close(session, actor, current, now, "stop")
    entry = TimebankEntry(
        user_id=actor.user_id,
        date=local_today(),
        resource_type_id=booking.resource_type_id,
        booking_id=booking.id,
        started_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    try:
        session.flush()
    except IntegrityError as error:  # a start that did not come through lock_clock
        refusal = _one_clock_refusal(error)
        if refusal is None:
            raise
        raise refusal from error
    if booking.status != "in_progress":
        old = booking.status
        booking.status = "in_progress"
        booking.updated_at = now
        session.add(booking)
        events.record(
            session,
            actor,
            "resource_bookings",
            booking.id,
            "start",
            {"status": [old, "in_progress"]},
            car_id=booking.car_id,
        )
    if booking.car_id is not None and rt.prep_stage in ("technical", "cosmetic"):
        car = session.get(Car, booking.car_id)
        field = f"{rt.prep_stage}_started_at"
        if car is not None and getattr(car, field) is None:
            setattr(car, field, now)
            car.updated_at = now
            session.add(car)
            events.record(
                session, actor, "cars", car.id, "update", {field: [None, now]}, car_id=car.id
            )
    session.flush()
    events.record(
        session,
        actor,
        "timebank_entries",
        entry.id,
        "start",
        {"booking_id": booking.id, "started_at": now},
        car_id=booking.car_id,
    )
    return entry


def stop(session: Session, actor: Actor) -> TimebankEntry:
    """Stop the person's running clock."""
    actor.require("timer.own")
    lock_clock(session, actor.user_id)
    current = running(session, actor.user_id, lock=True)
    if current is None:
        raise TimerError(_("No clock is running."))
    return _close(session, actor, current, utcnow(), "stop")


def booking_hours(session: Session, booking_id: int) -> float:
    total = session.scalar(
        select(func.coalesce(func.sum(TimebankEntry.hours), 0.0)).where(
            TimebankEntry.booking_id == booking_id
        )
    )
    return round(float(total or 0.0), 4)


def finish_booking(
    session: Session,
    actor: Actor,
    booking: ResourceBooking,
    now: datetime,
    notes: str | None = None,
    reason: str | None = None,
) -> None:
    """Complete a job the caller has locked: every clock on it stops with it (a shared job may
    have several people on it), so that its actual hours are the sum of all its entries and none
    keeps running on a completed job; an event says so (with ``reason`` when another act, such as
    a finished inspection, completed it)."""
    clocks = session.exec(
        for_update(
            select(TimebankEntry)
            .where(
                TimebankEntry.booking_id == booking.id,
                TimebankEntry.started_at.is_not(None),  # type: ignore[union-attr]
                TimebankEntry.ended_at.is_(None),  # type: ignore[union-attr]
            )
            .order_by(TimebankEntry.id)  # type: ignore[arg-type]
        )
    ).all()
    for current in clocks:
        _close(session, actor, current, now, "stop")
    old = booking.status
    booking.actual_hours = booking_hours(session, booking.id)  # type: ignore[arg-type]
    booking.completed_at = now
    booking.status = "completed"
    if notes and notes.strip():
        booking.notes = "\n".join(x for x in (booking.notes, notes.strip()) if x)
    booking.updated_at = now
    session.add(booking)
    session.flush()
    changes: dict[str, Any] = {"status": [old, "completed"], "actual_hours": booking.actual_hours}
    if reason:
        changes["reason"] = reason
    events.record(
        session, actor, "resource_bookings", booking.id, "complete", changes, car_id=booking.car_id
    )


def complete(
    session: Session, actor: Actor, booking_id: int, notes: str | None = None
) -> ResourceBooking:
    """Finish a job: stop its clock, sum the hours, stamp the car and move it on."""
    actor.require("timer.own")
    lock_clock(session, actor.user_id)
    booking = session.exec(
        for_update(select(ResourceBooking).where(ResourceBooking.id == booking_id))
    ).first()
    if booking is None:
        raise NotFound(_("Job #{id} does not exist.").format(id=booking_id))
    rt = _startable(session, actor, booking)
    finish_booking(session, actor, booking, utcnow(), notes)
    if booking.car_id is not None and rt.prep_stage in ("technical", "cosmetic"):
        _advance_car(session, actor, booking.car_id, rt.prep_stage, notes)
    return booking


def _open_work(session: Session, car_id: int, stage: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ResourceBooking)
            .join(ResourceType, ResourceType.id == ResourceBooking.resource_type_id)
            .where(
                ResourceBooking.car_id == car_id,
                ResourceType.prep_stage == stage,
                ResourceBooking.status.in_(("scheduled", "confirmed", "in_progress")),  # type: ignore[attr-defined]
            )
        )
        or 0
    )


def _advance_car(
    session: Session, actor: Actor, car_id: int, stage: str, notes: str | None
) -> None:
    car = session.get(Car, car_id)
    if car is None or _open_work(session, car_id, stage):
        return
    now = utcnow()
    notes_field = f"{stage}_notes"
    if notes and notes.strip():
        setattr(
            car, notes_field, "\n".join(x for x in (getattr(car, notes_field), notes.strip()) if x)
        )
    if stage == "technical" and car.status == "technical_prep":
        target = "cosmetic_prep"
    elif (
        stage == "cosmetic"
        and car.status == "cosmetic_prep"
        and not _open_work(session, car_id, "technical")
    ):
        target = "ready_for_delivery"
    else:
        field = f"{stage}_completed_at"
        if getattr(car, field) is None:
            setattr(car, field, now)
            car.updated_at = now
            session.add(car)
            events.record(
                session, actor, "cars", car.id, "update", {field: [None, now]}, car_id=car.id
            )
        return
    if workflow.refusal(session, actor, car, target) is None:
        workflow.apply_move(session, actor, car, target)


def forgotten(
    session: Session, user_id: uuid.UUID, shift_hours: float = DEFAULT_SHIFT_HOURS
) -> TimebankEntry | None:
    """The person's running timer if it has run longer than a shift."""
    entry = running(session, user_id)
    if entry is None or entry.started_at is None:
        return None
    if utcnow() - entry.started_at > timedelta(hours=shift_hours):
        return entry
    return None


def correct(
    session: Session, actor: Actor, entry_id: int, *, ended_at: datetime, reason: str
) -> TimebankEntry:
    """Set the real end of an entry (a forgotten timer, a wrong stop), with a reason.

    The person may correct their own running timer; a coordinator or manager any entry in scope.
    """
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the time is corrected."), "reason")
    entry = session.exec(
        for_update(select(TimebankEntry).where(TimebankEntry.id == entry_id))
    ).first()
    if entry is None:
        raise NotFound(_("Time entry #{id} does not exist.").format(id=entry_id))
    own_running = entry.user_id == actor.user_id and entry.ended_at is None
    if not own_running:
        actor.require("timer.correct")
        booking = session.get(ResourceBooking, entry.booking_id) if entry.booking_id else None
        if booking is not None and not actor.sees_dealership(booking.provider_dealership_id):
            raise NotAllowed(_("This time entry belongs to another dealership."))
    if ended_at > utcnow():
        raise Invalid(_("The end cannot be in the future."), "ended_at")
    if entry.ended_at is None:
        return _close(session, actor, entry, ended_at, "correct", reason)
    assert entry.started_at is not None
    if ended_at < entry.started_at:
        raise Invalid(_("The end cannot be before the start."), "ended_at")
    old_end, old_hours = entry.ended_at, entry.hours
    entry.ended_at = ended_at
    entry.hours = _hours_between(entry.started_at, ended_at)
    entry.updated_at = utcnow()
    session.add(entry)
    session.flush()
    events.record(
        session,
        actor,
        "timebank_entries",
        entry.id,
        "correct",
        {"ended_at": [old_end, ended_at], "hours": [old_hours, entry.hours], "reason": reason},
    )
    if entry.booking_id is not None:
        booking = session.get(ResourceBooking, entry.booking_id)
        if booking is not None and booking.status == "completed":
            booking.actual_hours = booking_hours(session, booking.id)  # type: ignore[arg-type]
            session.add(booking)
    return entry


# ------------------------------------------------------------------------------------------------
# taking an open job
# ------------------------------------------------------------------------------------------------
def take(session: Session, actor: Actor, booking_id: int) -> ResourceBooking:
    """A mechanic or detailer takes an unassigned open job of their kind at their own dealership.

    The hours move onto the person's own capacity row through the ledger (refused with the nearest
    day that has room when their day is full); the car's schedule fields follow.
    """
    actor.require("job.take")
    booking = session.exec(
        for_update(select(ResourceBooking).where(ResourceBooking.id == booking_id))
    ).first()
    if booking is None:
        raise NotFound(_("Job #{id} does not exist.").format(id=booking_id))
    if booking.provider_dealership_id != actor.dealership_id:
        raise NotAllowed(_("This job is done at another dealership; take jobs at your own."))
    if booking.user_id == actor.user_id:
        raise TimerError(_("This job is already yours."))
    if booking.user_id is not None:
        person = session.get(User, booking.user_id)
        if person is None:
            raise NotAllowed(_("This job is already assigned to someone else."))
        raise NotAllowed(
            _("This job is already assigned to {name}.").format(name=person.display_name)
        )
    if booking.status == "in_progress":
        raise TimerError(_("Someone is already working on this job; start its clock to join in."))
    if booking.status not in ledger.OPEN_STATUSES:
        raise TimerError(
            _("A job that is {status} cannot be taken any more.").format(
                status=_status_word(booking.status)
            )
        )
    if booking.date < local_today():
        raise TimerError(
            _("This job was for {day}; ask a coordinator to move it first.").format(
                day=formats.day(booking.date)
            )
        )
    rt = session.get(ResourceType, booking.resource_type_id)
    assert rt is not None
    roles = WORKER_ROLES.get(rt.prep_stage, WORKER_ROLES[None])
    if actor.role not in roles:
        raise NotAllowed(
            _("{work} is done by a {roles}; you are signed in as {role}.").format(
                work=rt.name, roles=_role_words(sorted(roles)), role=_role_word(actor.role)
            )
        )
    ledger_rows._check_person(
        session, actor.user_id, booking.provider_dealership_id, rt.prep_stage, rt.name
    )
    holding._release(session, holding.Claim.of(booking))
    booking.user_id = actor.user_id
    holding._hold(session, holding.Claim.of(booking), rt.name)
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        "take",
        {"user_id": [None, actor.user_id]},
        car_id=booking.car_id,
    )
    car_schedule._resync_car(session, booking)
    return booking


# ------------------------------------------------------------------------------------------------
# forgotten clocks: the person's own choice, and the flag
# ------------------------------------------------------------------------------------------------
FORGOTTEN_CHOICES: tuple[str, ...] = ("shift_end", "at", "keep")


def resolve_forgotten(
    session: Session,
    actor: Actor,
    entry_id: int,
    choice: str,
    *,
    ended_at: datetime | None = None,
    shift_hours: float = DEFAULT_SHIFT_HOURS,
) -> TimebankEntry:
    """The person answers for their own clock that has run past the shift.

    ``shift_end``: it ends ``shift_hours`` after it started; ``at``: it ends at ``ended_at`` (the
    time the person types; a naive time is the site's local time); ``keep``: it keeps running (the
    person really is still at it), and an event records that choice.  An end goes through
    :func:`correct`, so it is an event with a reason, never a silent rewrite.
    """
    actor.require("timer.own")
    if choice not in FORGOTTEN_CHOICES:
        raise Invalid(
            _(
                "Choose: stop it at the end of the shift, type the time you stopped, or keep it "
                "running."
            ),
            "choice",
        )
    entry = session.exec(
        for_update(select(TimebankEntry).where(TimebankEntry.id == entry_id))
    ).first()
    if entry is None:
        raise NotFound(_("Time entry #{id} does not exist.").format(id=entry_id))
    if entry.user_id != actor.user_id:
        raise NotAllowed(_("This is someone else's clock; a coordinator can correct it."))
    if entry.ended_at is not None or entry.started_at is None:
        raise TimerError(_("This clock is already stopped."))
    ran = utcnow() - entry.started_at
    if ran <= timedelta(hours=shift_hours):
        raise TimerError(
            _("This clock has run {ran}, not past the shift ({shift}); stop it as usual.").format(
                ran=formats.hours(ran.total_seconds() / 3600, 1), shift=formats.hours(shift_hours)
            )
        )
    if choice == "keep":
        events.record(
            session,
            actor,
            "timebank_entries",
            entry.id,
            "keep",
            {"running_hours": round(ran.total_seconds() / 3600, 2), "shift_hours": shift_hours},
            car_id=_car_of(session, entry),
        )
        return entry
    if choice == "shift_end":
        end = entry.started_at + timedelta(hours=shift_hours)
        reason = "stopped at the end of the shift"  # stored in the event: English
    else:
        if ended_at is None:
            raise Invalid(_("Type the time you stopped."), "ended_at")
        end = ended_at if ended_at.tzinfo is not None else ended_at.replace(tzinfo=zone())
        if end <= entry.started_at:
            raise Invalid(
                _("The end must be after the start ({start}).").format(
                    start=formats.moment(local(entry.started_at))
                ),
                "ended_at",
            )
        reason = f"end time typed by {actor.display_name}"
    return correct(session, actor, entry.id, ended_at=end, reason=reason)  # type: ignore[arg-type]


def _role_word(role: str) -> str:
    """A role as a word in a sentence: ``mechanic``."""
    return ROLE_LABELS[role].lower() if role in ROLE_LABELS else role


def _role_words(roles: list[str]) -> str:
    """Roles as words in a sentence: ``mechanic``, ``detailer or mechanic``."""
    words = [_role_word(r) for r in roles]
    if len(words) < 2:
        return "".join(words)
    return _("{some} or {last}").format(some=", ".join(words[:-1]), last=words[-1])


def _car_of(session: Session, entry: TimebankEntry) -> int | None:
    if entry.booking_id is None:
        return None
    booking = session.get(ResourceBooking, entry.booking_id)
    return booking.car_id if booking else None


def _flagged(session: Session, entry_id: int) -> bool:
    return (
        session.exec(
            select(Event.id).where(
                Event.entity == "timebank_entries",
                Event.entity_id == str(entry_id),
                Event.action == "flag",
            )
        ).first()
        is not None
    )


def flag_forgotten(
    session: Session,
    actor: Actor | None,
    user_id: uuid.UUID,
    shift_hours: float = DEFAULT_SHIFT_HOURS,
) -> TimebankEntry | None:
    """The person's running clock when it has run past the shift, else ``None``.

    The first time a clock is found forgotten, the person and their dealership's coordinators are
    notified (``timer_forgotten``, high) and a ``flag`` event is written; a clock is flagged once.
    Any session may call it (the workshop screen when it sees the clock, a coordinator's screen).
    """
    entry = forgotten(session, user_id, shift_hours)
    if entry is None:
        return None
    entry = running(session, user_id, lock=True)  # one flag when two sessions look at once
    if entry is None or entry.started_at is None:
        return None
    assert entry.id is not None
    if _flagged(session, entry.id):
        return entry
    person = session.get(User, user_id)
    assert person is not None
    work, car = "work", None  # the notification's words are stored: English
    booking = session.get(ResourceBooking, entry.booking_id) if entry.booking_id else None
    rt = session.get(ResourceType, entry.resource_type_id)
    if rt is not None:
        work = rt.name
    if booking is not None and booking.car_id is not None:
        car = session.get(Car, booking.car_id)
    ran = round((utcnow() - entry.started_at).total_seconds() / 3600, 1)
    sent = notify.timer_forgotten(session, entry, person, work, car, ran)
    events.record(
        session,
        actor,
        "timebank_entries",
        entry.id,
        "flag",
        {"running_hours": ran, "shift_hours": shift_hours, "notified": sent},
        car_id=car.id if car else None,
    )
    return entry
