"""Configuration by admins: dealerships (type logic, hierarchy), resource types, sharing agreements.

``actor`` None is the server's administrator on the command line (``prepfloor`` subcommands, demo).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from db import events, formats, sla, validate
from db.access import Actor, descendants
from db.clock import utcnow
from db.errors import Invalid, InvalidFields, NotFound
from db.i18n import _
from db.models import Dealership, ResourceSharing, ResourceType
from db.vocab import DEALERSHIP_TYPES, PREP_STAGES

DEALERSHIP_FIELDS = (
    "dealership_number",
    "dealership_name",
    "location",
    "dealership_type",
    "brand",
    "does_own_prep",
    "active",
    "parent_dealership_id",
    "prep_center_id",
    "brand_colors",
    "logo",
    "sla_targets",
)


def does_prep(dealership: Dealership) -> bool:
    """A dealership that can be a prep center."""
    return dealership.dealership_type == "prep_center_only" or bool(dealership.does_own_prep)


def dealership_problems(session: Session, d: Dealership) -> dict[str, str]:
    """The dealership type logic of the seed and the hierarchy rule (field → message)."""
    problems: dict[str, str] = {}
    targets = sla.targets_problem(d.sla_targets)
    if targets:
        problems["sla_targets"] = targets
    if not (d.dealership_number or "").strip():
        problems["dealership_number"] = _("Dealership number is required.")
    else:
        clash = session.exec(
            select(Dealership).where(
                Dealership.dealership_number == d.dealership_number, Dealership.id != d.id
            )
        ).first()
        if clash is not None:
            problems["dealership_number"] = _("Number {number} is already {name}.").format(
                number=d.dealership_number, name=clash.dealership_name
            )
    if not (d.dealership_name or "").strip():
        problems["dealership_name"] = _("Name is required.")
    if d.dealership_type not in DEALERSHIP_TYPES:
        problems["dealership_type"] = _("Type is one of: {types}.").format(
            types=", ".join(DEALERSHIP_TYPES)
        )
    if d.dealership_type == "sales_only" and d.does_own_prep:
        problems["does_own_prep"] = _("A sales-only dealership does not do its own prep.")
    if d.dealership_type == "prep_center_only" and d.prep_center_id not in (None, d.id):
        problems["prep_center_id"] = _(
            "A prep center does its own prep: leave the prep center empty."
        )
    if d.dealership_type == "sales_only" and not d.does_own_prep and d.prep_center_id is None:
        problems["prep_center_id"] = _(
            "A sales-only dealership must name the prep center that prepares its cars."
        )
    if d.prep_center_id is not None and d.prep_center_id != d.id:
        center = session.get(Dealership, d.prep_center_id)
        if center is None:
            problems["prep_center_id"] = _("That prep center does not exist.")
        elif not does_prep(center):
            problems["prep_center_id"] = _("{dealership} does not do prep work.").format(
                dealership=center.dealership_name
            )
    if d.parent_dealership_id is not None:
        if d.parent_dealership_id == d.id:
            problems["parent_dealership_id"] = _("A dealership cannot be its own headquarters.")
        elif session.get(Dealership, d.parent_dealership_id) is None:
            problems["parent_dealership_id"] = _("That headquarters does not exist.")
        elif d.id is not None:
            parents = dict(
                session.exec(select(Dealership.id, Dealership.parent_dealership_id)).all()
            )
            parents.pop(d.id, None)
            if d.parent_dealership_id in descendants({**parents, d.id: None}, d.id):
                problems["parent_dealership_id"] = _(
                    "That would make a loop: the headquarters is already a branch of this "
                    "dealership."
                )
    return problems


def save_dealership(
    session: Session, actor: Actor | None, dealership_id: int | None = None, **fields: Any
) -> Dealership:
    """Create or edit a dealership."""
    if actor is not None:
        actor.require("dealership.configure")
    unknown = set(fields) - set(DEALERSHIP_FIELDS)
    if unknown:
        raise Invalid(
            _("{fields} is not a dealership field.").format(fields=", ".join(sorted(unknown)))
        )
    now = utcnow()
    if dealership_id is None:
        d = Dealership(dealership_number="", dealership_name="", created_at=now)
        before: dict[str, Any] = {}
    else:
        found = session.get(Dealership, dealership_id)
        if found is None:
            raise NotFound(
                _("Dealership #{dealership} does not exist.").format(dealership=dealership_id)
            )
        d = found
        before = {k: getattr(d, k) for k in fields}
    for name, value in fields.items():
        if isinstance(value, str) and name not in ("brand_colors",):
            value = validate.clean_text(value)
        setattr(d, name, value)
    # Check before anything is flushed: a bad id or a clashing number must come back as a message
    # beside its field, not as a constraint error from an autoflush.
    with session.no_autoflush:
        problems = dealership_problems(session, d)
    if problems:
        raise InvalidFields(problems)
    d.updated_at = now
    session.add(d)
    session.flush()
    events.record(
        session,
        actor,
        "dealership",
        d.id,
        "create" if dealership_id is None else "update",
        events.diff(before, {k: getattr(d, k) for k in fields}),
    )
    return d


def save_sla_targets(
    session: Session, actor: Actor | None, dealership_id: int, days: dict[str, str]
) -> Dealership:
    """Set a dealership's days per stage from what was typed per stage key (``"2"``, ``"1,5"``);
    an empty stage follows the parent's target (else prepfloor's default).  Every stage's
    problem comes back beside it; nothing is saved unless all are right."""
    targets: dict[str, float] = {}
    problems: dict[str, str] = {}
    for key, text in days.items():
        if key not in sla.STAGE_LABELS:
            problems[key] = _("{stage} is not a stage.").format(stage=repr(key))
            continue
        if not (text or "").strip():
            continue
        try:
            value = float(text.replace(",", ".").strip())
        except ValueError:
            problems[key] = _("Days are a number, e.g. {whole} or {half}.").format(
                whole=formats.number(2), half=formats.number(1.5)
            )
            continue
        problem = sla.targets_problem({key: value})
        if problem:
            problems[key] = problem
        else:
            targets[key] = value
    if problems:
        raise InvalidFields(problems)
    return save_dealership(session, actor, dealership_id, sla_targets=targets or None)


RESOURCE_TYPE_FIELDS = (
    "code",
    "name",
    "description",
    "icon",
    "color",
    "active",
    "is_productive",
    "bookable",
    "requires_assignment",
    "default_duration_hours",
    "prep_stage",
)


def save_resource_type(
    session: Session, actor: Actor | None, resource_type_id: int | None = None, **fields: Any
) -> ResourceType:
    if actor is not None:
        actor.require("resource_type.configure")
    unknown = set(fields) - set(RESOURCE_TYPE_FIELDS)
    if unknown:
        raise Invalid(
            _("{fields} is not a resource type field.").format(fields=", ".join(sorted(unknown)))
        )
    now = utcnow()
    if resource_type_id is None:
        rt = ResourceType(code="", name="", created_at=now)
    else:
        found = session.get(ResourceType, resource_type_id)
        if found is None:
            raise NotFound(
                _("Resource type #{resource_type} does not exist.").format(
                    resource_type=resource_type_id
                )
            )
        rt = found
    before = {k: getattr(rt, k) for k in fields}
    for name, value in fields.items():
        setattr(rt, name, value)
    with session.no_autoflush:  # see save_dealership
        problems: dict[str, str] = {}
        rt.code = (rt.code or "").strip().upper()
        if not rt.code:
            problems["code"] = _("Code is required (e.g. TECH_PREP).")
        elif session.exec(
            select(ResourceType).where(ResourceType.code == rt.code, ResourceType.id != rt.id)
        ).first():
            problems["code"] = _("Code {code} is already used.").format(code=rt.code)
        if not (rt.name or "").strip():
            problems["name"] = _("Name is required.")
        rt.color = (rt.color or "").strip().lower() or None
        color = validate.color_problem(rt.color)
        if color:
            problems["color"] = color
        rt.icon = (rt.icon or "").strip() or None
        if rt.icon and len(rt.icon) > 40:
            problems["icon"] = _(
                "An icon is a name or a symbol (e.g. wrench), 40 characters at most."
            )
        try:
            rt.default_duration_hours = validate.hours(
                rt.default_duration_hours, "default_duration_hours", allow_zero=True
            )
        except Invalid as problem:
            problems["default_duration_hours"] = problem.message
        if rt.prep_stage is not None and rt.prep_stage not in PREP_STAGES:
            problems["prep_stage"] = _("Prep stage is one of: {stages} (or empty).").format(
                stages=", ".join(PREP_STAGES)
            )
    if problems:
        raise InvalidFields(problems)
    rt.updated_at = now
    session.add(rt)
    session.flush()
    events.record(
        session,
        actor,
        "resource_types",
        rt.id,
        "create" if resource_type_id is None else "update",
        events.diff(before, {k: getattr(rt, k) for k in fields}),
    )
    return rt


SHARING_FIELDS = (
    "provider_dealership_id",
    "consumer_dealership_id",
    "resource_type_id",
    "enabled",
    "max_hours_per_week",
    "priority",
    "notes",
)


def save_sharing(
    session: Session,
    actor: Actor | None,
    sharing_id: int | None = None,
    *,
    below_booked_ok: bool = False,
    **fields: Any,
) -> ResourceSharing:
    """Create or edit a sharing agreement: the provider must do prep, priority 0-100.  Lowering the
    weekly cap below what is already booked this ISO week is refused with those bookings listed,
    unless ``below_booked_ok`` (the admin has seen them; nothing booked moves)."""
    if actor is not None:
        actor.require("sharing.configure")
    unknown = set(fields) - set(SHARING_FIELDS)
    if unknown:
        raise Invalid(
            _("{fields} is not a sharing field.").format(fields=", ".join(sorted(unknown)))
        )
    now = utcnow()
    if sharing_id is None:
        s = ResourceSharing(
            provider_dealership_id=0, consumer_dealership_id=0, resource_type_id=0, created_at=now
        )
    else:
        found = session.get(ResourceSharing, sharing_id)
        if found is None:
            raise NotFound(
                _("Sharing agreement #{agreement} does not exist.").format(agreement=sharing_id)
            )
        s = found
    before = {k: getattr(s, k) for k in fields}
    for name, value in fields.items():
        setattr(s, name, value)
    with session.no_autoflush:  # see save_dealership
        problems: dict[str, str] = {}
        provider = session.get(Dealership, s.provider_dealership_id)
        consumer = session.get(Dealership, s.consumer_dealership_id)
        if provider is None:
            problems["provider_dealership_id"] = _("Pick the provider.")
        elif not does_prep(provider):
            problems["provider_dealership_id"] = _("{dealership} does not do prep work.").format(
                dealership=provider.dealership_name
            )
        if consumer is None:
            problems["consumer_dealership_id"] = _("Pick the consumer.")
        elif s.consumer_dealership_id == s.provider_dealership_id:
            problems["consumer_dealership_id"] = _(
                "Provider and consumer must be different dealerships."
            )
        if session.get(ResourceType, s.resource_type_id) is None:
            problems["resource_type_id"] = _("Pick the resource type.")
        else:
            clash = session.exec(
                select(ResourceSharing).where(
                    ResourceSharing.provider_dealership_id == s.provider_dealership_id,
                    ResourceSharing.consumer_dealership_id == s.consumer_dealership_id,
                    ResourceSharing.resource_type_id == s.resource_type_id,
                    ResourceSharing.id != s.id,
                )
            ).first()
            if clash is not None:
                problems["resource_type_id"] = _(
                    "These dealerships already have an agreement for this type."
                )
        try:
            s.max_hours_per_week = validate.hours(
                s.max_hours_per_week, "max_hours_per_week", allow_zero=True, maximum=24.0 * 7 * 100
            )
        except Invalid as problem:
            problems["max_hours_per_week"] = problem.message
        if not isinstance(s.priority, int) or not 0 <= s.priority <= 100:
            problems["priority"] = _("Priority is a whole number from 0 to 100.")
    if problems:
        raise InvalidFields(problems)
    if sharing_id is not None and not below_booked_ok:
        _check_cap_against_bookings(session, s)
    s.updated_at = now
    session.add(s)
    session.flush()
    events.record(
        session,
        actor,
        "resource_sharing",
        s.id,
        "create" if sharing_id is None else "update",
        events.diff(before, {k: getattr(s, k) for k in fields}),
    )
    return s


def _check_cap_against_bookings(session: Session, s: ResourceSharing) -> None:
    """Refuse (with the bookings named) a cap below the hours booked this ISO week."""
    from db.clock import iso_week_bounds, local_today
    from db.models import Car, ResourceBooking
    from db.vocab import BOOKING_HOLDING_STATUSES

    monday, sunday = iso_week_bounds(local_today())
    held = session.exec(
        select(ResourceBooking, Car)
        .join(Car, Car.id == ResourceBooking.car_id, isouter=True)
        .where(
            ResourceBooking.provider_dealership_id == s.provider_dealership_id,
            ResourceBooking.consumer_dealership_id == s.consumer_dealership_id,
            ResourceBooking.resource_type_id == s.resource_type_id,
            ResourceBooking.status.in_(BOOKING_HOLDING_STATUSES),  # type: ignore[attr-defined]
            ResourceBooking.date >= monday,
            ResourceBooking.date <= sunday,
        )
        .order_by(ResourceBooking.date, ResourceBooking.id)  # type: ignore[arg-type]
    ).all()
    booked = sum(b.estimated_hours for b, _car in held)
    if booked <= s.max_hours_per_week:
        return
    lines = []
    for b, car in held[:8]:
        what = " ".join(x for x in (car.brand, car.model, car.license_plate) if x) if car else ""
        what = what or _("booking #{booking}").format(booking=b.id)
        lines.append(f"{formats.day(b.date)} {what} {formats.hours(b.estimated_hours)}")
    listed = "; ".join(lines)
    if len(held) > 8:
        listed = _("{bookings} and {n} more").format(bookings=listed, n=len(held) - 8)
    raise CapBelowBooked(
        _(
            "{booked} are already booked this week under this agreement, more than {cap}: "
            "{bookings}. They stay booked; save again to lower the cap for the weeks to come."
        ).format(
            booked=formats.hours(booked),
            cap=formats.hours(s.max_hours_per_week),
            bookings=listed,
        ),
        "max_hours_per_week",
    )


class CapBelowBooked(Invalid):
    """A weekly cap lowered below this week's bookings (shown beside the cap; saving again
    confirms it)."""
