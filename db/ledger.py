"""The capacity ledger: the bookings people make — book, cancel, mark no-show, move, confirm.

A booking holds hours on the team row and the assigned person's row; one that does not fit is
refused with the nearest day that has room.  The ledger's other modules: :mod:`db.holding` (the
hours a booking holds: the rule and its race safety), :mod:`db.nearest` (the nearest day with
room), :mod:`db.ledger_rows` (its rows and inputs, read), :mod:`db.capacity` (setting a day's
hours) and :mod:`db.car_schedule` (what a car's bookings do to the car).

Only the provider plans its people: moving a booking to another day, time or person, or changing
its length, is for the coordinators of the dealership that does the work (and admins).  The
consumer may cancel its own request.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from datetime import date, time
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, bindparam, insert
from sqlmodel import Session, select

from db import car_access, events, formats, notify, validate
from db.access import Actor
from db.admin import does_prep
from db.car_schedule import _advance_on_booking, _resync_car, sync_car_schedule
from db.clock import local_today, utcnow
from db.engine import for_update
from db.errors import DoesNotFit, Invalid, NotAllowed, NotFound, PrepfloorError, Stale
from db.holding import Claim, _hold, _release
from db.hot import Hot
from db.i18n import N_, _
from db.ledger_rows import (
    BOOKINGS,
    CARS,
    DEALERSHIPS,
    PERSON_COLUMNS,
    TYPES,
    USERS,
    _check_person,
    _person_id,
    _required_day,
    status_word,
)
from db.models import Dealership, ResourceBooking, ResourceType
from db.said import Said
from db.users import recheck
from db.vocab import CAR_STATUS_LABELS

OPEN_STATUSES = ("scheduled", "confirmed")


_TYPE_COLUMNS = (
    TYPES.c.id,
    TYPES.c.name,
    TYPES.c.active,
    TYPES.c.bookable,
    TYPES.c.requires_assignment,
    TYPES.c.default_duration_hours,
    TYPES.c.prep_stage,
)
_TYPE = Hot(select(*_TYPE_COLUMNS).where(TYPES.c.id == bindparam("id")))

# the kind of work and the person as rows of their own, made from another read (_joined)
_KIND_OF_WORK = namedtuple("_KIND_OF_WORK", [column.name for column in _TYPE_COLUMNS])  # type: ignore[misc]
_PERSON_ROW = namedtuple("_PERSON_ROW", [column.name for column in PERSON_COLUMNS])  # type: ignore[misc]


# The provider, and the person asked for (``person_`` columns, NULL when none is or there is no
# such user): one read, a round trip fewer for a booking on PostgreSQL.
_PROVIDER_AND_PERSON = Hot(
    select(
        DEALERSHIPS.c.active,
        DEALERSHIPS.c.dealership_type,
        DEALERSHIPS.c.does_own_prep,
        *(column.label(f"person_{column.name}") for column in PERSON_COLUMNS),
    )
    .select_from(
        DEALERSHIPS.outerjoin(USERS, USERS.c.id == bindparam("user", type_=USERS.c.id.type))
    )
    .where(DEALERSHIPS.c.id == bindparam("id"))
)


def _joined(row: Row[Any], prefix: str, shape: Any) -> Any:
    """The columns another table gave ``row`` in an outer join (labelled ``prefix`` + the
    column's name) as a row of ``shape`` (their own names); None when it gave none (its first
    column, the id, is NULL)."""
    values = [getattr(row, f"{prefix}{name}") for name in shape._fields]
    return None if values[0] is None else shape._make(values)


# The car to book, locked, with what its notifications name it and its dealership by (and the
# same unlocked); the kind of work in the same read (``rt_`` columns, NULL when there is no such
# kind): two round trips fewer for a booking on PostgreSQL.
_CONSUMER = DEALERSHIPS.alias("consumer")
_CAR_ROW = (
    select(
        *notify.CAR_NAME_COLUMNS,
        CARS.c.dealership_id,
        CARS.c.prep_center_id,
        CARS.c.status,
        _CONSUMER.c.dealership_number.label("consumer_number"),
        _CONSUMER.c.dealership_name.label("consumer_name"),
        *(column.label(f"rt_{column.name}") for column in _TYPE_COLUMNS),
    )
    .select_from(
        CARS.outerjoin(_CONSUMER, _CONSUMER.c.id == CARS.c.dealership_id).outerjoin(
            TYPES, TYPES.c.id == bindparam("rt")
        )
    )
    .where(CARS.c.id == bindparam("id"))
)
_CAR = Hot(_CAR_ROW.with_for_update(of=CARS))
_CAR_READ = Hot(_CAR_ROW)
_BOOKING_COLUMNS = (
    "car_id",
    "resource_type_id",
    "date",
    "start_time",
    "estimated_hours",
    "provider_dealership_id",
    "consumer_dealership_id",
    "user_id",
    "status",
    "notes",
    "created_at",
    "updated_at",
)
_INSERT_BOOKING = Hot(
    insert(BOOKINGS)
    .values({name: bindparam(name) for name in _BOOKING_COLUMNS})
    .returning(BOOKINGS.c.id)
)


def _bookable_type(conn: Connection, resource_type_id: int, car: Row[Any] | None = None) -> Any:
    """The kind of work, if it can be booked (``car``: the car's read, which has it too)."""
    if car is None:
        rt: Any = _TYPE.first(conn, {"id": resource_type_id})
    else:
        rt = _joined(car, "rt_", _KIND_OF_WORK)
    if rt is None:
        raise NotFound(_("That resource type does not exist."))
    if not rt.active:
        raise Invalid(
            _("{work} is switched off; an admin can switch it on.").format(work=rt.name),
            "resource_type_id",
        )
    if not rt.bookable:
        raise Invalid(
            _("{work} cannot be booked in the calendar.").format(work=rt.name), "resource_type_id"
        )
    return rt


def _car_to_book(session: Session, actor: Actor, car_id: int, car: Row[Any] | None) -> Row[Any]:
    """The car's row (as :func:`_inputs` read it), if the actor may see it (the scoping rule of
    ``load_car``)."""
    if car is None or not (
        actor.sees_car(car.dealership_id, car.prep_center_id)
        or actor.sees_car(None, None, car_access.providers(session, car.id))
    ):
        raise NotFound(
            _("Car #{car} does not exist or is not one of your dealership's cars.").format(
                car=car_id
            )
        )
    return car


class _Inputs(NamedTuple):
    """A booking's inputs, checked: what :func:`book` writes and :func:`fits` checks."""

    rt: Any  # a row of _TYPE's columns
    car: Row[Any] | None
    day: date
    start_time: time | None
    hours: float
    provider_id: int
    consumer_id: int
    user_id: uuid.UUID | None


def _inputs(
    session: Session,
    actor: Actor,
    *,
    resource_type_id: int,
    date: date,
    estimated_hours: float | str | None = None,
    car_id: int | None = None,
    start_time: time | None = None,
    provider_dealership_id: int | None = None,
    consumer_dealership_id: int | None = None,
    user_id: uuid.UUID | None = None,
    action: str = "booking.create",
    lock: bool = True,
) -> _Inputs:
    """Check a booking's inputs (raises what is wrong); ``lock``: the car's row too."""
    actor.require(action)
    date = _required_day(date, "date")
    start_time = validate.parse_time(start_time, "start_time")
    user_id = _person_id(user_id)
    conn = session.connection()
    car_row = None
    if car_id is not None:  # the car (locked: ``lock``) and the kind of work in one read
        car_row = (_CAR if lock else _CAR_READ).first(conn, {"id": car_id, "rt": resource_type_id})
    rt = _bookable_type(conn, resource_type_id, car_row)
    hours = validate.hours(
        estimated_hours if estimated_hours not in (None, "") else rt.default_duration_hours,
        "estimated_hours",
    )
    if date < local_today():
        raise Invalid(_("That day is in the past; pick today or a later day."), "date")
    car = None
    if car_id is not None:
        car = _car_to_book(session, actor, car_id, car_row)
        if car.status in ("draft", "delivered", "archived"):
            status = CAR_STATUS_LABELS[car.status].lower()
            raise Invalid(
                _("A car that is {status} cannot be booked.").format(status=status), "car_id"
            )
        consumer_id = car.dealership_id
        provider_id = provider_dealership_id or car.prep_center_id
    else:
        consumer_id = consumer_dealership_id or actor.dealership_id
        provider_id = provider_dealership_id or actor.dealership_id
    if consumer_id is None or provider_id is None:
        raise Invalid(_("Pick the dealership that does the work."), "provider_dealership_id")
    if not (actor.sees_dealership(consumer_id) or actor.sees_dealership(provider_id)):
        raise NotAllowed(_("You can only book work for your own dealership or at it."))
    provider = _PROVIDER_AND_PERSON.first(conn, {"id": provider_id, "user": user_id})
    if provider is None or not provider.active or not does_prep(provider):  # type: ignore[arg-type]
        raise Invalid(
            _("The provider must be an active dealership that does prep work."),
            "provider_dealership_id",
        )
    if rt.requires_assignment and user_id is None:
        raise Invalid(_("{work} needs a person assigned.").format(work=rt.name), "user_id")
    if user_id is not None:
        person = _joined(provider, "person_", _PERSON_ROW)
        _check_person(session, user_id, provider_id, rt.prep_stage, rt.name, person)
    return _Inputs(rt, car, date, start_time, hours, provider_id, consumer_id, user_id)


def book(
    session: Session,
    actor: Actor,
    *,
    resource_type_id: int,
    date: date,
    estimated_hours: float | str | None = None,
    car_id: int | None = None,
    start_time: time | None = None,
    provider_dealership_id: int | None = None,
    consumer_dealership_id: int | None = None,
    user_id: uuid.UUID | None = None,
    notes: str | None = None,
    action: str = "booking.create",
) -> ResourceBooking:
    """Book work.  Refused (with the nearest day that has room) when it does not fit.

    ``action`` is the permission the booking needs: ``booking.create`` (a coordinator), or
    ``booking.extra`` for the extra work a mechanic books from an inspection finding
    (:func:`db.inspection.issue_to_booking`); every other rule is the same.  Through
    :meth:`db.engine.Database.run` on SQLite a booking that does not fit is refused by
    :func:`fits` before the write lock is taken (``book.precheck``)."""
    given = _inputs(
        session,
        actor,
        resource_type_id=resource_type_id,
        date=date,
        estimated_hours=estimated_hours,
        car_id=car_id,
        start_time=start_time,
        provider_dealership_id=provider_dealership_id,
        consumer_dealership_id=consumer_dealership_id,
        user_id=user_id,
        action=action,
        lock=True,
    )
    rt, car, date, hours = given.rt, given.car, given.day, given.hours
    provider_id, consumer_id, user_id = given.provider_id, given.consumer_id, given.user_id
    start_time = given.start_time
    conn = session.connection()
    now = utcnow()
    values = {
        "car_id": car_id,
        "resource_type_id": rt.id,
        "date": date,
        "start_time": start_time,
        "estimated_hours": hours,
        "provider_dealership_id": provider_id,
        "consumer_dealership_id": consumer_id,
        "user_id": user_id,
        "status": "scheduled",
        "notes": (notes or "").strip() or None,
        "created_at": now,
        "updated_at": now,
    }
    booking_id = int(_INSERT_BOOKING.scalar(conn, values))
    events.record(
        session,
        actor,
        "resource_bookings",
        booking_id,
        "book",
        {
            "car_id": car_id,
            "resource_type": rt.name,
            "date": date,
            "start_time": start_time,
            "estimated_hours": hours,
            "provider": provider_id,
            "consumer": consumer_id,
            "user_id": user_id,
        },
        car_id=car_id,
    )
    if provider_id != consumer_id:
        notify.booking_requested(
            session,
            actor,
            booking_id,
            provider_id=provider_id,
            consumer_id=consumer_id,
            work=rt.name,
            day=date,
            hours=hours,
            car_id=car_id,
            car=car,
            consumer=None
            if car is None
            else formats.label_of(car.consumer_number, car.consumer_name),
        )
    if car is not None:
        car_access.note_provider(session, car, provider_id)  # type: ignore[arg-type]
        if rt.prep_stage is not None:
            sync_car_schedule(session, car.id, rt.prep_stage)
            if rt.prep_stage == "technical" and car.status == "inspection":
                _advance_on_booking(session, actor, car.id)
    # The hours last: on PostgreSQL the capacity rows stay locked from here until the commit,
    # so everything else the booking writes is done before they are taken.  The new booking is
    # already in this transaction; the checks leave it out (``booking_id``).
    claim = Claim(provider_id, consumer_id, rt.id, date, hours, user_id, start_time, booking_id)
    _hold(session, claim, rt.name)
    # what was written, as a model (not in the session; its values checked above): made without
    # the model's validation, which took 80 us of a booking's 1 ms of CPU on SQLite
    return ResourceBooking.model_construct(id=booking_id, **values)


def fits(session: Session, actor: Actor, *, notes: str | None = None, **given: Any) -> None:
    """Would :func:`book` with these arguments fit?  Raises the :class:`DoesNotFit` that
    :func:`book` would raise, read in ``session`` (one consistent snapshot), locking and writing
    nothing; every other problem is left for :func:`book` to say in its own transaction.

    A refusal writes nothing, so it needs no write lock: refused at a snapshot, it is the refusal
    the booking would have met had it run then.  On SQLite :meth:`db.engine.Database.run` calls
    this before the write waits for the write lock, so the bookings that do not fit no longer hold
    up the ones that do; a booking that fits here is checked again under the lock."""
    try:
        checked = _inputs(session, actor, lock=False, **given)
        recheck(session, actor, lock=False)
        claim = Claim(
            checked.provider_id,
            checked.consumer_id,
            checked.rt.id,
            checked.day,
            checked.hours,
            checked.user_id,
            checked.start_time,
        )
        _hold(session, claim, checked.rt.name, dry=True)
    except DoesNotFit:
        raise
    except PrepfloorError:
        return


book.precheck = fits  # type: ignore[attr-defined]


def load_booking(
    session: Session, actor: Actor, booking_id: int, *, lock: bool = False
) -> ResourceBooking:
    stmt = select(ResourceBooking).where(ResourceBooking.id == booking_id)
    if lock:
        stmt = for_update(stmt)
    booking = session.exec(stmt).first()
    if booking is None or not (
        actor.sees_dealership(booking.provider_dealership_id)
        or actor.sees_dealership(booking.consumer_dealership_id)
    ):
        raise NotFound(
            _("Booking #{booking} does not exist or is not one you can see.").format(
                booking=booking_id
            )
        )
    return booking


def _expect(booking: ResourceBooking, expected_status: str | None) -> None:
    if expected_status is not None and booking.status != expected_status:
        raise Stale(
            _(
                "Someone else changed this booking meanwhile (it is now {status}). "
                "Look at it again."
            ).format(status=status_word(booking.status))
        )


def cancel(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    reason: str,
    no_show: bool = False,
    expected_status: str | None = None,
) -> ResourceBooking:
    """Cancel a booking or mark it no-show, with a reason; its hours are released."""
    actor.require("booking.change")
    booking = load_booking(session, actor, booking_id, lock=True)
    _expect(booking, expected_status)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why (for the notes)."), "reason")
    if booking.status not in OPEN_STATUSES:
        if no_show:
            refusal = _("A booking that is {status} cannot be marked no-show.")
        else:
            refusal = _("A booking that is {status} cannot be cancelled.")
        raise Invalid(refusal.format(status=status_word(booking.status)))
    if no_show and not actor.sees_dealership(booking.provider_dealership_id):
        raise NotAllowed(
            _(
                "Only the dealership that does the work can mark a booking no-show; "
                "you can cancel your request."
            )
        )
    status = "no_show" if no_show else "cancelled"
    # in English in the booking's notes (stored); the notification translates it for its reader
    label = N_("No-show") if no_show else N_("Cancelled")
    return close_booking(session, actor, booking, status=status, label=label, reason=reason)


def close_booking(
    session: Session,
    actor: Actor,
    booking: ResourceBooking,
    *,
    status: str,
    label: str,
    reason: str,
    action: str | None = None,
) -> ResourceBooking:
    """End a locked, open booking (``status`` cancelled or no-show): give its hours back, note
    ``"<label>: <reason>"`` and record the event (``action``, by default the new status).
    ``label`` is English (the notes are stored); the notification gives it in its reader's
    language."""
    assert status in ("cancelled", "no_show") and booking.status in OPEN_STATUSES
    _release(session, Claim.of(booking))
    old = booking.status
    booking.status = status
    booking.notes = "\n".join(x for x in (booking.notes, f"{label}: {reason}") if x)
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        action or booking.status,
        {"status": [old, booking.status], "reason": reason},
        car_id=booking.car_id,
    )
    if action is None:  # a decline tells the consumer itself
        notify.booking_closed(session, actor, booking, Said(label), reason)
    _resync_car(session, booking)
    return booking


def move(
    session: Session,
    actor: Actor,
    booking_id: int,
    *,
    date: date | None = None,
    user_id: uuid.UUID | str | None = "keep",
    start_time: time | str | None = "keep",
    estimated_hours: float | str | None = None,
    expected_status: str | None = None,
    tell: bool = True,
) -> ResourceBooking:
    """Move a booking to another day, person, time or length; capacity follows in one
    transaction.  The people assigned before and after are told, unless ``tell`` is off (a
    caller that tells them itself, with its reason).  Only the provider plans its days and people:
    a consumer's coordinator may cancel its request, not move it."""
    actor.require("booking.change")
    if date is not None:
        date = _required_day(date, "date")
    if start_time != "keep":
        start_time = validate.parse_time(start_time, "start_time")  # type: ignore[arg-type]
    if user_id != "keep":
        user_id = _person_id(user_id)
    booking = load_booking(session, actor, booking_id, lock=True)
    if not actor.sees_dealership(booking.provider_dealership_id):
        provider = session.get(Dealership, booking.provider_dealership_id)
        if provider is not None:
            refusal = _(
                "Only {provider}'s coordinators plan its days and people, so only they can move "
                "this booking. Ask them, or cancel your request and book again."
            ).format(provider=provider.dealership_name)
        else:
            refusal = _(
                "Only the provider's coordinators plan its days and people, so only they can "
                "move this booking. Ask them, or cancel your request and book again."
            )
        raise NotAllowed(refusal)
    _expect(booking, expected_status)
    if booking.status not in OPEN_STATUSES:
        raise Invalid(
            _("A booking that is {status} cannot be moved.").format(
                status=status_word(booking.status)
            )
        )
    rt = session.get(ResourceType, booking.resource_type_id)
    assert rt is not None
    before = {
        "date": booking.date,
        "user_id": booking.user_id,
        "start_time": booking.start_time,
        "estimated_hours": booking.estimated_hours,
    }
    new_day = date or _required_day(booking.date, "date")
    if new_day < local_today():
        raise Invalid(_("That day is in the past; pick today or a later day."), "date")
    new_user = booking.user_id if user_id == "keep" else user_id
    if rt.requires_assignment and new_user is None:
        raise Invalid(_("{work} needs a person assigned.").format(work=rt.name), "user_id")
    if new_user is not None and new_user != booking.user_id:
        _check_person(session, new_user, booking.provider_dealership_id, rt.prep_stage, rt.name)  # type: ignore[arg-type]
    _release(session, Claim.of(booking))
    booking.date = new_day
    booking.user_id = new_user  # type: ignore[assignment]
    if start_time != "keep":
        booking.start_time = start_time  # type: ignore[assignment]  # checked above
    if estimated_hours not in (None, ""):
        booking.estimated_hours = validate.hours(estimated_hours, "estimated_hours")
    _hold(session, Claim.of(booking), rt.name)
    booking.updated_at = utcnow()
    session.add(booking)
    session.flush()
    after = {
        "date": booking.date,
        "user_id": booking.user_id,
        "start_time": booking.start_time,
        "estimated_hours": booking.estimated_hours,
    }
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        "move",
        events.diff(before, after),
        car_id=booking.car_id,
    )
    if tell:
        notify.booking_rescheduled(session, actor, booking, before)
    _resync_car(session, booking)
    return booking


def confirm(session: Session, actor: Actor, booking_id: int) -> ResourceBooking:
    """The provider confirms a scheduled booking."""
    actor.require("booking.change")
    booking = load_booking(session, actor, booking_id, lock=True)
    if not actor.sees_dealership(booking.provider_dealership_id):
        raise NotAllowed(_("Only the dealership that does the work can confirm the booking."))
    if booking.status != "scheduled":
        raise Invalid(
            _("Only a scheduled booking can be confirmed; this one is {status}.").format(
                status=status_word(booking.status)
            )
        )
    booking.status = "confirmed"
    booking.updated_at = utcnow()
    session.add(booking)
    events.record(
        session,
        actor,
        "resource_bookings",
        booking.id,
        "confirm",
        {"status": ["scheduled", "confirmed"]},
        car_id=booking.car_id,
    )
    return booking
