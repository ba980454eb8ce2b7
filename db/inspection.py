"""The inspection checklist (US-1.4, improvement 3): what was checked on a car, what was found, and
the inspection's result.

Each line is an ``inspection_checklist_items`` row, one per car and item name (recording an item
again replaces its result).  The first result moves a car that is at the prep center into
inspection; :func:`finish_inspection` needs every item of :data:`DEFAULT_CHECKLIST` recorded and
sets the car's ``inspection_approved``, ``inspection_completed_at`` and ``inspection_notes``.  A
finding becomes a parts order (:func:`issue_to_parts`) or extra work booked through the ledger
(:func:`issue_to_booking`); either counts as dealing with a critical finding, so the inspection
can then be approved.  Finishing the inspection (approved or failed) completes the car's booked
inspection work (:func:`is_inspection_work`), so it is no longer offered to anyone to take.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from db import car_schedule, events, ledger, nearest, notify, parts, timers, validate, workflow
from db.access import Actor
from db.clock import local_today, utcnow
from db.engine import for_update
from db.errors import Invalid, NotAllowed, NotFound, WorkflowRefused
from db.i18n import N_, _
from db.models import (
    Car,
    Event,
    InspectionChecklistItem,
    PartsOrder,
    ResourceBooking,
    ResourceType,
    User,
)
from db.vocab import BOOKING_HOLDING_STATUSES, CAR_STATUS_LABELS, CHECKLIST_STATUSES, WORKER_ROLES

# The default items, stored in English (``item_name``) whatever the language; a screen shows an
# item in the reader's language with :func:`item_label` (or :attr:`ChecklistLine.label`).
DEFAULT_CHECKLIST: tuple[str, ...] = (
    N_("Tire tread depth"),
    N_("Tire pressure"),
    N_("Brake pads and discs"),
    N_("Brake fluid level"),
    N_("Oil level"),
    N_("Coolant level"),
    N_("Lights and indicators"),
    N_("Wipers and washer fluid"),
    N_("Battery / 12 V"),
    N_("Warning lights on the dashboard"),
    N_("Paint scratches and dents"),
    N_("Interior and upholstery"),
    N_("Charging port and cable (EVs)"),
)
# The words of the findings written into the car's inspection notes (stored: English).
STATUS_LABELS: dict[str, str] = {"ok": "OK", "issue": "Issue", "critical": "Critical"}
# The statuses of booked work that is still to do.
_OPEN_WORK = ("scheduled", "confirmed", "in_progress")
ITEM_NAME_MAX = 120
ENTITY = "inspection_checklist_items"
_DEFAULT_BY_KEY = {name.casefold(): name for name in DEFAULT_CHECKLIST}
_DEFAULTS = frozenset(DEFAULT_CHECKLIST)


def item_label(name: str) -> str:
    """An item's name as the reader reads it: a default item in the language spoken, any other
    as it was typed."""
    return _(name) if name in _DEFAULTS else name


def _default_item(text: str) -> str | None:
    """The default item ``text`` names, in English or in the language spoken (any case)."""
    key = text.casefold()
    found = _DEFAULT_BY_KEY.get(key)
    if found is None:
        found = next((n for n in DEFAULT_CHECKLIST if _(n).casefold() == key), None)
    return found


@dataclass(frozen=True)
class ChecklistLine:
    """One line of a car's checklist; ``status`` None: not checked yet."""

    item_name: str
    status: str | None
    notes: str | None
    checked_by: str | None  # the checker's name
    checked_at: datetime | None
    item_id: int | None

    @property
    def finding(self) -> bool:
        return self.status in ("issue", "critical")

    @property
    def label(self) -> str:
        """The item's name in the language spoken (a default item translated)."""
        return item_label(self.item_name)


def clean_item_name(value: str | None) -> str:
    """The item's name as stored: a default item in its own (English) spelling, also when it is
    typed in the language spoken; any other trimmed."""
    text = validate.clean_text(value)
    if text is None:
        raise Invalid(_("Name the item checked (e.g. Tire tread depth)."), "item_name")
    if len(text) > ITEM_NAME_MAX:
        raise Invalid(
            _("An item name is at most {limit} characters.").format(limit=ITEM_NAME_MAX),
            "item_name",
        )
    return _default_item(text) or text


def _items(session: Session, car_id: int) -> dict[str, InspectionChecklistItem]:
    """The car's recorded items by name (case-insensitive key; the newest if there are two)."""
    found = session.exec(
        select(InspectionChecklistItem)
        .where(InspectionChecklistItem.car_id == car_id)
        .order_by(InspectionChecklistItem.id)  # type: ignore[arg-type]
    ).all()
    return {item.item_name.casefold(): item for item in found}


def checklist(session: Session, actor: Actor, car_id: int) -> list[ChecklistLine]:
    """The car's checklist: every default item in its order (``status`` None until checked), then
    the other items recorded for the car, in the order they were first recorded."""
    workflow.load_car(session, actor, car_id)
    items = _items(session, car_id)
    checker_ids = {i.checked_by_id for i in items.values() if i.checked_by_id is not None}
    names: dict[uuid.UUID, str] = {}
    if checker_ids:
        names = dict(
            session.exec(
                select(User.id, User.display_name).where(User.id.in_(checker_ids))  # type: ignore[attr-defined]
            ).all()
        )

    def line(name: str, item: InspectionChecklistItem | None) -> ChecklistLine:
        if item is None:
            return ChecklistLine(name, None, None, None, None, None)
        return ChecklistLine(
            item.item_name,
            item.status,
            item.notes,
            names.get(item.checked_by_id) if item.checked_by_id else None,
            item.checked_at,
            item.id,
        )

    lines = [line(name, items.pop(name.casefold(), None)) for name in DEFAULT_CHECKLIST]
    extra = sorted(items.values(), key=lambda i: i.id or 0)
    return lines + [line(i.item_name, i) for i in extra]


def _prep_car(session: Session, actor: Actor, car_id: int) -> Car:
    car = workflow.load_car(session, actor, car_id, lock=True)
    if not workflow.side_ok(session, actor, car, workflow.PREP):
        raise NotAllowed(_("Only the prep center of this car can record its inspection."))
    return car


def record_item(
    session: Session,
    actor: Actor,
    car_id: int,
    item_name: str,
    status: str,
    notes: str | None = None,
) -> InspectionChecklistItem:
    """Record one checklist result (ok, issue or critical; a finding needs a note).  Recording an
    item again replaces its result.  The first result moves a car at the prep center into
    inspection."""
    actor.require("inspection.record")
    car = _prep_car(session, actor, car_id)
    name = clean_item_name(item_name)
    status = (status or "").strip().lower()
    if status not in CHECKLIST_STATUSES:
        raise Invalid(_("A checked item is OK, an issue or critical."), "status")
    note = (notes or "").strip() or None
    if status != "ok" and note is None:
        raise Invalid(
            _("Say what is wrong with {item} (a note), so the next person knows.").format(
                item=item_label(name).lower()
            ),
            "notes",
        )
    if car.status not in ("at_prep_center", "inspection"):
        raise WorkflowRefused(
            _(
                "The car is at “{status}”; the checklist is filled in when the car is at the "
                "prep center or in inspection."
            ).format(status=CAR_STATUS_LABELS[car.status])
        )
    if car.status == "at_prep_center":
        why = workflow.refusal(session, actor, car, "inspection")
        if why is not None:
            raise why
        workflow.apply_move(session, actor, car, "inspection")
    now = utcnow()
    item = _items(session, car_id).get(name.casefold())
    before: dict[str, Any] = {}
    if item is None:
        item = InspectionChecklistItem(car_id=car_id, item_name=name)
        action = "record"
    else:
        before = {"status": item.status, "notes": item.notes}
        action = "recheck"
    item.status = status
    item.notes = note
    item.checked_by_id = actor.user_id
    item.checked_at = now
    session.add(item)
    session.flush()
    changes: dict[str, Any] = {"item_name": name}
    changes.update(events.diff(before, {"status": status, "notes": note}))
    events.record(session, actor, ENTITY, item.id, action, changes, car_id=car_id)
    return item


def record_rest_ok(session: Session, actor: Actor, car_id: int) -> list[InspectionChecklistItem]:
    """Every item of :data:`DEFAULT_CHECKLIST` not checked yet is OK (the checklist's "rest ok"
    key), in one transaction and with an event each, as :func:`record_item` records them; the
    items already checked keep their result.  Returns the items recorded (none: all were)."""
    actor.require("inspection.record")
    _prep_car(session, actor, car_id)
    items = _items(session, car_id)
    rest = [name for name in DEFAULT_CHECKLIST if name.casefold() not in items]
    return [record_item(session, actor, car_id, name, "ok") for name in rest]


# ------------------------------------------------------------------------------------------------
# the result
# ------------------------------------------------------------------------------------------------
def _dealt_with(session: Session, items: list[InspectionChecklistItem]) -> set[int]:
    """The items (ids) that became a parts order that is not cancelled or a booking that still
    holds its hours."""
    if not items:
        return set()
    found = session.exec(
        select(Event.entity_id, Event.action, Event.changes).where(
            Event.entity == ENTITY,
            Event.entity_id.in_([str(i.id) for i in items]),  # type: ignore[attr-defined]
            Event.action.in_(("to_parts", "to_booking")),  # type: ignore[attr-defined]
        )
    ).all()
    dealt: set[int] = set()
    for entity_id, action, changes in found:
        changes = changes or {}
        if action == "to_parts":
            order = session.get(PartsOrder, changes.get("parts_order_id"))
            if order is not None and order.status != "cancelled":
                dealt.add(int(entity_id))
        else:
            booking = session.get(ResourceBooking, changes.get("booking_id"))
            if booking is not None and booking.status in BOOKING_HOLDING_STATUSES:
                dealt.add(int(entity_id))
    return dealt


def finish_inspection(
    session: Session, actor: Actor, car_id: int, *, approved: bool, notes: str | None = None
) -> Car:
    """Record the inspection's result: approved (passed) or not (failed).

    Every default item must be checked first, and a critical finding must be fixed (checked again
    as OK), have parts ordered or repair work booked before the inspection can be approved.
    ``notes`` become the car's inspection notes; without them the findings are written there.
    Approved with technical work already booked, the car moves on to technical prep (or waits for
    its parts).
    """
    actor.require("inspection.record")
    car = _prep_car(session, actor, car_id)
    if car.status != "inspection":
        raise WorkflowRefused(
            _(
                "The car is at “{status}”; an inspection is finished while the car is in "
                "inspection."
            ).format(status=CAR_STATUS_LABELS[car.status])
        )
    items = _items(session, car_id)
    missing = [name for name in DEFAULT_CHECKLIST if name.casefold() not in items]
    if missing:
        raise Invalid(
            _("Check these items first: {items}.").format(
                items=", ".join(item_label(name) for name in missing)
            ),
            "checklist",
        )
    ordered = sorted(items.values(), key=lambda i: i.id or 0)
    critical = [i for i in ordered if i.status == "critical"]
    issues = [i for i in ordered if i.status == "issue"]
    if approved:
        dealt = _dealt_with(session, critical)
        open_ = [item_label(i.item_name) for i in critical if i.id not in dealt]
        if open_:
            raise Invalid(
                _(
                    "Critical: {items}. Fix it and check it again, order parts or book the "
                    "repair first; or record the inspection as failed."
                ).format(items=", ".join(open_)),
                "approved",
            )
    now = utcnow()
    text = (notes or "").strip() or None
    if text is None and (critical or issues):  # stored: in English, as the items are
        text = "\n".join(
            f"{STATUS_LABELS[i.status]}: {i.item_name} — {i.notes}" for i in critical + issues
        )
    before = {
        "inspection_approved": car.inspection_approved,
        "inspection_completed_at": car.inspection_completed_at,
        "inspection_notes": car.inspection_notes,
    }
    car.inspection_approved = bool(approved)
    car.inspection_completed_at = now
    if text is not None:
        car.inspection_notes = text
    car.updated_at = now
    session.add(car)
    session.flush()
    after = {
        "inspection_approved": car.inspection_approved,
        "inspection_completed_at": now,
        "inspection_notes": car.inspection_notes,
    }
    events.record(
        session,
        actor,
        "cars",
        car.id,
        "inspection",
        events.diff(before, after),
        car_id=car.id,
    )
    notify.inspection_finished(
        session,
        actor,
        car,
        approved=bool(approved),
        critical=[i.item_name for i in critical],
        issues=[i.item_name for i in issues],
    )
    _complete_inspection_work(session, actor, car_id, now)
    if approved and timers._open_work(session, car_id, "technical"):
        car_schedule._advance_on_booking(session, actor, car_id)
    return car


def is_inspection_work(code: str | None, name: str | None, prep_stage: str | None) -> bool:
    """Is a resource type the inspection itself (the demo's ``INSPECTION``, "Arrival
    Inspection")?  Work outside the two prep stages whose code starts with ``INSPECT`` or whose
    name says "inspection"."""
    if prep_stage is not None:
        return False
    return (code or "").upper().startswith("INSPECT") or "inspection" in (name or "").casefold()


def _inspection_condition() -> Any:
    return (
        ResourceType.prep_stage.is_(None)  # type: ignore[union-attr]
        & (
            func.upper(ResourceType.code).startswith("INSPECT")
            | func.lower(ResourceType.name).contains("inspection")
        )
    )


def _complete_inspection_work(session: Session, actor: Actor, car_id: int, now: datetime) -> None:
    """The car's inspection work still to do is done now: every clock on it stops, its hours are
    what was clocked, and it is completed (an event each), as :func:`db.timers.complete` does."""
    open_work = session.exec(
        for_update(
            select(ResourceBooking)
            .where(
                ResourceBooking.car_id == car_id,
                col(ResourceBooking.status).in_(_OPEN_WORK),
                col(ResourceBooking.resource_type_id).in_(
                    select(ResourceType.id).where(_inspection_condition())
                ),
            )
            .order_by(col(ResourceBooking.id))
        )
    ).all()
    for booking in open_work:
        timers.finish_booking(session, actor, booking, now, reason="inspection finished")


# ------------------------------------------------------------------------------------------------
# findings become parts orders or extra work
# ------------------------------------------------------------------------------------------------
def _finding(session: Session, actor: Actor, item_id: int) -> tuple[InspectionChecklistItem, Car]:
    missing = NotFound(
        _("Checklist item #{id} does not exist or is not on one of your cars.").format(id=item_id)
    )
    item = session.get(InspectionChecklistItem, item_id)
    if item is None:
        raise missing
    try:
        car = workflow.load_car(session, actor, item.car_id, lock=True)
    except NotFound:
        raise missing from None
    if item.status not in ("issue", "critical"):
        raise Invalid(
            _("{item} is OK; only an issue or a critical finding needs parts or work.").format(
                item=item_label(item.item_name)
            ),
            "status",
        )
    return item, car


def issue_to_parts(
    session: Session, actor: Actor, item_id: int, *, part_name: str | None = None
) -> PartsOrder:
    """Order a part for a finding, as the prep center (the part is named after the item unless
    told otherwise; the item's note goes with the order)."""
    actor.require("parts.order")
    item, car = _finding(session, actor, item_id)
    order = parts.order_part(
        session,
        actor,
        car.id,  # type: ignore[arg-type]
        part_name=(part_name or "").strip() or item.item_name,
        ordered_by="prep_center",
        notes=item.notes,
    )
    events.record(
        session,
        actor,
        ENTITY,
        item.id,
        "to_parts",
        {"item_name": item.item_name, "parts_order_id": order.id, "part_name": order.part_name},
        car_id=car.id,
    )
    return order


def _work_type(session: Session, stage: str, resource_type_id: int | None) -> ResourceType:
    if resource_type_id is not None:
        rt = session.get(ResourceType, resource_type_id)
        if rt is None:
            raise NotFound(_("That resource type does not exist."))
        return rt
    rt = session.exec(
        select(ResourceType)
        .where(ResourceType.prep_stage == stage, ResourceType.active, ResourceType.bookable)
        .order_by(ResourceType.id)  # type: ignore[arg-type]
    ).first()
    if rt is None:
        if stage == "cosmetic":
            why = _("No bookable cosmetic work is set up; an admin can add a resource type for it.")
        else:
            why = _(
                "No bookable technical work is set up; an admin can add a resource type for it."
            )
        raise Invalid(why, "resource_type_id")
    return rt


def issue_to_booking(
    session: Session,
    actor: Actor,
    item_id: int,
    *,
    hours: float | str,
    user_id: uuid.UUID | None = None,
    resource_type_id: int | None = None,
) -> ResourceBooking:
    """Book the repair of a finding as extra work on the car at its prep center, through the
    ledger, on the first day from today that has room.

    A mechanic books technical work (a detailer cosmetic work) for themselves; a coordinator
    books technical work for ``user_id`` (needed when the work requires a person).  The work is
    the first active, bookable type of that stage unless ``resource_type_id`` says which.
    """
    actor.require("booking.extra")
    item, car = _finding(session, actor, item_id)
    if not workflow.side_ok(session, actor, car, workflow.PREP):
        raise NotAllowed(_("Only the prep center of this car can book work from its inspection."))
    if car.prep_center_id is None:
        raise Invalid(_("The car has no prep center to do the work."), "prep_center_id")
    amount = validate.hours(hours, "hours")
    stage = "cosmetic" if actor.role == "detailer" else "technical"
    rt = _work_type(session, stage, resource_type_id)
    worker = user_id
    if actor.role in WORKER_ROLES.get(rt.prep_stage, WORKER_ROLES[None]):
        worker = actor.user_id
    if worker is None and rt.requires_assignment:
        raise Invalid(_("{work} needs a person: pick who does it.").format(work=rt.name), "user_id")
    # The first day from today with room on the team row, the person's row and any sharing cap:
    # the nearest day to yesterday.  None found: book today, and the ledger words the refusal.
    day = nearest.nearest_day(
        session,
        provider_id=car.prep_center_id,
        consumer_id=car.dealership_id,
        resource_type_id=rt.id,  # type: ignore[arg-type]
        hours=amount,
        around=local_today() - timedelta(days=1),
        user_id=worker,
    )
    # stored with the booking: in English, as the item's name
    note = f"Extra work from the inspection: {item.item_name} ({item.status})"
    if item.notes:
        note += f": {item.notes}"
    booking = ledger.book(
        session,
        actor,
        resource_type_id=rt.id,  # type: ignore[arg-type]
        date=day or local_today(),
        estimated_hours=amount,
        car_id=car.id,
        provider_dealership_id=car.prep_center_id,
        user_id=worker,
        notes=note,
        action="booking.extra",
    )
    events.record(
        session,
        actor,
        ENTITY,
        item.id,
        "to_booking",
        {"item_name": item.item_name, "booking_id": booking.id, "date": booking.date},
        car_id=car.id,
    )
    return booking
