"""Car orders: start a draft, register, edit.  Validation and the dealership's prep-center rule."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from db import car_access, events, formats, validate, workflow
from db.access import Actor, may_sell_for
from db.admin import does_prep
from db.car_rules import REQUIRED_TO_REGISTER, registration_problems
from db.clock import utcnow
from db.errors import Invalid, InvalidFields, NotAllowed, Stale
from db.i18n import N_, Labels, _
from db.limits import NOTE_LIMIT, limit
from db.models import Car, Dealership, User
from db.vocab import CAR_INACTIVE_STATUSES, CAR_STATUS_LABELS, CAR_TYPES, sql_in

# What the selling side may edit, and what the prep center may edit.
ORDER_FIELDS: tuple[str, ...] = (
    "vin",
    "license_plate",
    "brand",
    "model",
    "model_year",
    "color",
    "order_number",
    "customer_name",
    "customer_phone",
    "customer_email",
    "dealership_id",
    "seller_id",
    "car_type",
    "accessories",
    "seller_notes",
    "expected_delivery_date",
)
PREP_FIELDS: tuple[str, ...] = (
    "technical_notes",
    "cosmetic_notes",
    "parts_notes",
    "inspection_notes",
)

NOTE_FIELDS: tuple[str, ...] = ("seller_notes", *PREP_FIELDS)

# The other fields a message names (a text that is too long).
FIELD_LABELS = Labels(
    {
        "license_plate": N_("License plate"),
        "color": N_("Color"),
        "customer_phone": N_("Customer phone"),
        "customer_email": N_("Customer email"),
        "seller_notes": N_("Seller notes"),
        "technical_notes": N_("Technical notes"),
        "cosmetic_notes": N_("Cosmetic notes"),
        "parts_notes": N_("Parts notes"),
        "inspection_notes": N_("Inspection notes"),
    }
)


def _clean_one(name: str, value: Any) -> Any:
    """One field cleaned and checked (raises Invalid)."""
    if name == "vin":
        return validate.vin(value) if validate.clean_text(value) else None
    if name == "license_plate":
        return validate.license_plate(value)
    if name == "model_year":
        return validate.model_year(value)
    if name == "customer_email":
        return validate.email(value)
    if name == "customer_phone":
        return validate.phone(value)
    if name == "car_type":
        text = validate.clean_text(value)
        if text is not None and text.lower() not in CAR_TYPES:
            raise Invalid(
                _("Car type is one of: {types}.").format(types=", ".join(CAR_TYPES)), name
            )
        return text.lower() if text else None
    if name == "expected_delivery_date":
        return validate.parse_date(value, name)
    if name == "accessories":
        if value is None:
            return None
        items = [validate.clean_text(str(v)) for v in value]
        return [v for v in items if v] or None
    if name == "dealership_id":
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise Invalid(_("Pick one of your dealerships."), name) from None
    if name == "seller_id":
        if value in (None, ""):
            return None
        try:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            raise Invalid(_("Pick the seller from the list."), name) from None
    if name in ("brand", "model", "color", "order_number", "customer_name"):
        return validate.clean_text(value)
    if name in ("seller_notes", *PREP_FIELDS):
        text = (value or "").strip()
        return text or None
    raise Invalid(_("{field} is not a field prepfloor knows.").format(field=name), name)


def clean_fields(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean every field given; return the clean values and a message per bad field."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in raw.items():
        try:
            clean[name] = _clean_one(name, value)
        except Invalid as problem:
            errors[name] = problem.message
            continue
        most = limit("cars", name) or (NOTE_LIMIT if name in NOTE_FIELDS else None)
        if isinstance(clean[name], str) and most is not None and len(clean[name]) > most:
            label = (
                REQUIRED_TO_REGISTER.get(name)
                or FIELD_LABELS.get(name)
                or name.replace("_", " ").capitalize()
            )
            errors[name] = _("{field}: at most {most} characters ({typed} typed).").format(
                field=label,
                most=formats.number(most, 0),
                typed=formats.number(len(clean[name]), 0),
            )
    return clean, errors


# The statuses as literal SQL, the very words of the partial unique index on ``cars.vin``: with
# bound parameters instead, neither SQLite nor PostgreSQL can tell that the index applies and both
# read every car (30 ms at 100,000 cars, per registration).
_ACTIVE_VIN = text(f"cars.status NOT IN {sql_in(CAR_INACTIVE_STATUSES)}")


def active_car_with_vin(session: Session, vin: str, exclude_id: int | None = None) -> Car | None:
    stmt = select(Car).where(Car.vin == vin, _ACTIVE_VIN)
    if exclude_id is not None:
        stmt = stmt.where(Car.id != exclude_id)
    return session.exec(stmt).first()


class DuplicateVin(Invalid):
    """The VIN belongs to a car that is still being worked on.  ``car_id`` is that car."""

    def __init__(self, car: Car) -> None:
        status = CAR_STATUS_LABELS[car.status].lower()
        if car.order_number:
            message = _(
                "This VIN already belongs to order {order} ({status}). "
                "Open that car instead of registering it again."
            ).format(order=car.order_number, status=status)
        else:
            message = _(
                "This VIN already belongs to car #{car} ({status}). "
                "Open that car instead of registering it again."
            ).format(car=car.id, status=status)
        super().__init__(message, "vin")
        self.car_id = car.id


def prep_center_for(dealership: Dealership) -> int | None:
    """Where a dealership's cars are prepared: itself if it does prep, else its prep center."""
    if does_prep(dealership):
        return dealership.id
    return dealership.prep_center_id


def _apply(session: Session, actor: Actor, car: Car, clean: dict[str, Any]) -> dict[str, list[Any]]:
    """Set cleaned fields on ``car`` after the checks that need the database."""
    if clean.get("vin"):
        other = active_car_with_vin(session, clean["vin"], car.id)
        if other is not None:
            raise DuplicateVin(other)
    if "dealership_id" in clean:
        dealership_id = clean["dealership_id"] or actor.dealership_id
        dealership = session.get(Dealership, dealership_id) if dealership_id else None
        if dealership is None or not actor.sees_dealership(dealership.id):
            raise Invalid(_("Pick one of your dealerships."), "dealership_id")
        if not dealership.active:
            raise Invalid(
                _("{dealership} is not active.").format(dealership=dealership.dealership_name),
                "dealership_id",
            )
        clean["dealership_id"] = dealership.id
        clean["prep_center_id"] = prep_center_for(dealership)
    if clean.get("seller_id") is not None:
        seller = session.get(User, clean["seller_id"])
        if seller is None or not seller.active or seller.role not in ("seller", "manager"):
            raise Invalid(_("The seller must be an active seller or manager."), "seller_id")
    seller_id = clean.get("seller_id", car.seller_id)
    dealership_id = clean.get("dealership_id", car.dealership_id)
    if seller_id is not None and ("seller_id" in clean or dealership_id != car.dealership_id):
        _check_seller_of(session, seller_id, dealership_id)
    before = {k: getattr(car, k) for k in clean}
    for name, value in clean.items():
        setattr(car, name, value)
    changes = events.diff(before, clean)
    if car.id is not None and ("dealership_id" in changes or "prep_center_id" in changes):
        car_access.rebuild(session, car)
    return changes


def _check_seller_of(session: Session, seller_id: uuid.UUID, dealership_id: int | None) -> None:
    """The seller of a car sells for its dealership: a seller of that dealership, or a manager
    who sees it (their dealership or one of its branches).  Anyone else would get the car and its
    customer in their own list."""
    seller = session.get(User, seller_id)
    dealership = session.get(Dealership, dealership_id) if dealership_id else None
    if seller is None or dealership is None:
        raise Invalid(_("Pick the seller from the list."), "seller_id")
    if seller.role not in ("seller", "manager"):
        raise Invalid(_("The seller must be an active seller or manager."), "seller_id")
    parents: dict[int, int | None] = {}
    if seller.role == "manager":
        parents = dict(session.exec(select(Dealership.id, Dealership.parent_dealership_id)).all())  # type: ignore[arg-type]
    if may_sell_for(seller.role, seller.dealership_id, dealership.id, parents):
        return
    here = f"{dealership.dealership_number} {dealership.dealership_name}"
    home = session.get(Dealership, seller.dealership_id) if seller.dealership_id else None
    where = f"{home.dealership_number} {home.dealership_name}" if home else _("no dealership")
    if seller.role == "manager":
        message = _(
            "{seller} manages {home}, which does not cover {here}: pick a seller of {here}."
        )
    else:
        message = _("{seller} sells for {home}, not for {here}: pick a seller of {here}.")
    raise Invalid(message.format(seller=seller.display_name, home=where, here=here), "seller_id")


def _check_version(car: Car, expected_updated_at: datetime | None) -> None:
    if expected_updated_at is not None and car.updated_at != expected_updated_at:
        raise Stale(
            _(
                "Someone else saved this car after you opened it. Your changes were not saved; "
                "the screen now shows their values."
            )
        )


def save_draft(session: Session, actor: Actor, car_id: int | None = None, **fields: Any) -> Car:
    """Start or update a draft order.  Fields that do not pass validation yet are kept as typed
    only where that is harmless (text); a bad VIN, year, email or phone is left out, not stored."""
    actor.require("car.draft")
    unknown = set(fields) - set(ORDER_FIELDS)
    if unknown:
        raise Invalid(
            _("{fields} cannot be set on an order.").format(fields=", ".join(sorted(unknown)))
        )
    clean, _errors = clean_fields(fields)
    now = utcnow()
    if car_id is None:
        car = Car(
            status="draft",
            created_at=now,
            dealership_id=actor.dealership_id or 0,
            seller_id=actor.user_id if actor.role == "seller" else None,
        )
        clean.setdefault("dealership_id", actor.dealership_id)
        if actor.role == "seller":
            clean.setdefault("seller_id", actor.user_id)
    else:
        car = workflow.load_car(session, actor, car_id, lock=True)
        if car.status != "draft":
            raise Stale(_("This order is no longer a draft; open the car to edit it."))
    changes = _apply(session, actor, car, clean)
    car.updated_at = now
    car.status_changed_at = car.status_changed_at or now
    session.add(car)
    try:
        session.flush()
    except IntegrityError as error:
        raise Invalid(
            _("This VIN already belongs to a car that is being worked on."), "vin"
        ) from error
    events.record(
        session,
        actor,
        "cars",
        car.id,
        "draft" if car_id is None else "update",
        changes,
        car_id=car.id,
    )
    return car


def register_car(session: Session, actor: Actor, car_id: int | None = None, **fields: Any) -> Car:
    """Register an order: validate everything, status ``registered``, notify the prep center.

    With ``car_id`` a draft is completed (its stored fields count; ``fields`` override them).
    """
    actor.require("car.register")
    unknown = set(fields) - set(ORDER_FIELDS)
    if unknown:
        raise Invalid(
            _("{fields} cannot be set on an order.").format(fields=", ".join(sorted(unknown)))
        )
    clean, errors = clean_fields(fields)
    if errors:
        raise InvalidFields(errors)
    now = utcnow()
    if car_id is None:
        car = Car(status="draft", created_at=now, dealership_id=actor.dealership_id or 0)
        clean.setdefault("dealership_id", actor.dealership_id)
        if actor.role == "seller":
            clean.setdefault("seller_id", actor.user_id)
        clean.setdefault("car_type", "new")
    else:
        car = workflow.load_car(session, actor, car_id, lock=True)
        if car.status != "draft":
            raise Stale(_("This order is already registered."))
        if "dealership_id" not in clean:
            clean["dealership_id"] = car.dealership_id
    changes = _apply(session, actor, car, clean)
    if car.seller_id is not None and "seller_id" not in clean:  # a draft's seller, from before
        _check_seller_of(session, car.seller_id, car.dealership_id)
    problems = registration_problems(car)
    if problems:
        raise InvalidFields(problems)
    car.updated_at = now
    car.status_changed_at = car.status_changed_at or now
    session.add(car)
    try:
        session.flush()
    except IntegrityError as error:
        raise Invalid(
            _("This VIN already belongs to a car that is being worked on."), "vin"
        ) from error
    if car_id is None:
        events.record(session, actor, "cars", car.id, "create", changes, car_id=car.id)
    elif changes:
        events.record(session, actor, "cars", car.id, "update", changes, car_id=car.id)
    return workflow.apply_move(session, actor, car, "registered")


def update_car(
    session: Session,
    actor: Actor,
    car_id: int,
    *,
    expected_updated_at: datetime | None = None,
    **fields: Any,
) -> Car:
    """Edit a car.  Order fields by the selling side, prep notes by the prep center."""
    car = workflow.load_car(session, actor, car_id, lock=True)
    _check_version(car, expected_updated_at)
    order = {k: v for k, v in fields.items() if k in ORDER_FIELDS}
    prep = {k: v for k, v in fields.items() if k in PREP_FIELDS}
    unknown = set(fields) - set(order) - set(prep)
    if unknown:
        raise Invalid(
            _("{fields} cannot be edited here.").format(fields=", ".join(sorted(unknown)))
        )
    if order:
        actor.require("car.edit_order")
        if not workflow.side_ok(session, actor, car, workflow.OWNER):
            raise NotAllowed(_("Only the selling dealership can change the order details."))
        if car.status in CAR_INACTIVE_STATUSES:
            raise NotAllowed(_("A delivered or archived car cannot be changed."))
    if prep:
        actor.require("car.edit_prep")
        if not workflow.side_ok(session, actor, car, workflow.PREP):
            raise NotAllowed(_("Only the prep center of this car can change its prep notes."))
    clean, errors = clean_fields({**order, **prep})
    if errors:
        raise InvalidFields(errors)
    if car.status != "draft":
        missing = {
            k: _("{label} is required.").format(label=REQUIRED_TO_REGISTER[k])
            for k in REQUIRED_TO_REGISTER
            if k in clean and clean[k] in (None, "")
        }
        if missing:
            raise InvalidFields(missing)
    changes = _apply(session, actor, car, clean)
    if not changes:
        return car
    car.updated_at = utcnow()
    session.add(car)
    try:
        session.flush()
    except IntegrityError as error:
        raise Invalid(
            _("This VIN already belongs to a car that is being worked on."), "vin"
        ) from error
    events.record(session, actor, "cars", car.id, "update", changes, car_id=car.id)
    return car


def stage_started_at(car: Car) -> datetime | None:
    """When the car entered its current status."""
    return car.status_changed_at or car.created_at
