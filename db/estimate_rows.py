"""Estimates of extra work, read: money in øre, a line's price, an estimate's totals, and the
estimates of a car as a screen shows them.  The rules that write them are :mod:`db.estimates`.

Money is integer øre (1 NOK = 100 øre) everywhere in the code and the database: sums are exact on
both engines.  :func:`parse_nok` reads what a person types (``1 250,50``, ``1250.5``, ``kr 900``).
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from db.errors import Invalid
from db.i18n import _
from db.models import Estimate, EstimateLine, InspectionChecklistItem, ResourceType, User

# The price of an hour of labour when the line does not say: ``PREPFLOOR_LABOUR_RATE_NOK`` (whole
# or decimal NOK), else this.  Copied onto each labour line when it is made, so that a later
# change of the setting never changes an estimate that was sent.
DEFAULT_HOURLY_RATE_ORE = 1_200_00
RATE_SETTING = "PREPFLOOR_LABOUR_RATE_NOK"
MAX_ORE = 10_000_000_00  # ten million NOK: more is a typing mistake
_CURRENCY = re.compile(r"(?i)\b(nok|kr)\b\.?|[\s\u00a0\u202f']")


def parse_nok(value: str | int | float | Decimal | None, field: str = "price") -> int:
    """An amount in NOK as typed (``1 250,50`` or ``1250.5``; two decimals at most) → øre."""
    message = _("A price is an amount in NOK, e.g. 1250 or 1 250,50.")
    if value is None or isinstance(value, bool):
        raise Invalid(message, field)
    text = _CURRENCY.sub("", str(value))
    if "," in text and "." in text:  # the first mark separates thousands
        first = "," if text.index(",") < text.index(".") else "."
        text = text.replace(first, "")
    text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise Invalid(message, field) from None
    if not amount.is_finite() or amount < 0:
        raise Invalid(message, field)
    ore = amount * 100
    if ore != ore.to_integral_value():
        raise Invalid(_("A price has at most two decimals (øre)."), field)
    if ore > MAX_ORE:
        raise Invalid(_("A price is at most 10 000 000 NOK."), field)
    return int(ore)


def default_hourly_rate_ore() -> int:
    """The setting's price of an hour (:data:`RATE_SETTING`), or :data:`DEFAULT_HOURLY_RATE_ORE`
    when it is not set or not an amount."""
    raw = os.environ.get(RATE_SETTING, "").strip()
    if raw:
        try:
            return parse_nok(raw, "hourly_rate")
        except Invalid:
            pass
    return DEFAULT_HOURLY_RATE_ORE


def labour_amount(hours: float, rate_ore: int) -> int:
    """Hours (quarter hours) times the price of an hour, to the nearest øre (half up)."""
    quarters = round(hours * 4)
    return (quarters * rate_ore + 2) // 4


def part_amount(quantity: int, unit_ore: int) -> int:
    return quantity * unit_ore


def line_amount(line: EstimateLine) -> int:
    """What a line costs, from its own figures."""
    if line.kind == "part":
        return part_amount(line.quantity or 0, line.unit_price_ore or 0)
    return labour_amount(line.hours or 0.0, line.hourly_rate_ore or 0)


@dataclass(frozen=True)
class Totals:
    """An estimate's sums in øre: every line, and by decision."""

    total: int = 0
    approved: int = 0
    declined: int = 0
    pending: int = 0
    parts: int = 0
    labour: int = 0


def totals_of(lines: list[LineView] | list[EstimateLine]) -> Totals:
    sums = {"approved": 0, "declined": 0, "pending": 0, "part": 0, "labour": 0}
    for line in lines:
        amount = line.amount_ore
        sums[line.decision] += amount
        sums[line.kind] += amount
    return Totals(
        total=sums["part"] + sums["labour"],
        approved=sums["approved"],
        declined=sums["declined"],
        pending=sums["pending"],
        parts=sums["part"],
        labour=sums["labour"],
    )


@dataclass(frozen=True)
class LineView:
    id: int
    kind: str
    description: str
    part_number: str | None
    quantity: int | None
    unit_price_ore: int | None
    resource_type_id: int | None
    work: str | None  # the kind of work's name
    hours: float | None
    hourly_rate_ore: int | None
    user_id: uuid.UUID | None
    person: str | None
    amount_ore: int
    decision: str
    finding: str | None  # the inspection item it came from
    inspection_item_id: int | None
    parts_order_id: int | None
    booking_id: int | None


@dataclass(frozen=True)
class EstimateView:
    id: int
    car_id: int
    state: str
    created_by: str | None
    created_at: datetime | None
    sent_at: datetime | None
    sent_by: str | None
    decided_at: datetime | None
    decided_by: str | None
    customer_answer: str | None
    notes: str | None
    lines: tuple[LineView, ...]

    @property
    def totals(self) -> Totals:
        return totals_of(list(self.lines))


def lines_of(session: Session, estimate_ids: list[int]) -> dict[int, list[EstimateLine]]:
    if not estimate_ids:
        return {}
    found: dict[int, list[EstimateLine]] = {i: [] for i in estimate_ids}
    for line in session.exec(
        select(EstimateLine)
        .where(col(EstimateLine.estimate_id).in_(estimate_ids))
        .order_by(col(EstimateLine.id))
    ):
        found[line.estimate_id].append(line)
    return found


def views(session: Session, estimates: list[Estimate]) -> list[EstimateView]:
    """The estimates with their lines and the names they refer to, in a few statements."""
    by_estimate = lines_of(session, [e.id for e in estimates if e.id is not None])
    lines = [line for group in by_estimate.values() for line in group]
    people = {e.created_by_id for e in estimates} | {e.sent_by_id for e in estimates}
    people |= {e.decided_by_id for e in estimates} | {line.user_id for line in lines}
    people.discard(None)
    names: dict[uuid.UUID, str] = {}
    if people:
        names = dict(
            session.exec(select(User.id, User.display_name).where(col(User.id).in_(people))).all()  # type: ignore[arg-type]
        )
    type_ids = {line.resource_type_id for line in lines if line.resource_type_id is not None}
    works: dict[int, str] = {}
    if type_ids:
        works = dict(
            session.exec(
                select(ResourceType.id, ResourceType.name).where(col(ResourceType.id).in_(type_ids))
            ).all()  # type: ignore[arg-type]
        )
    item_ids = {line.inspection_item_id for line in lines if line.inspection_item_id is not None}
    items: dict[int, str] = {}
    if item_ids:
        items = dict(
            session.exec(
                select(InspectionChecklistItem.id, InspectionChecklistItem.item_name).where(
                    col(InspectionChecklistItem.id).in_(item_ids)
                )
            ).all()  # type: ignore[arg-type]
        )

    def name(user_id: uuid.UUID | None) -> str | None:
        return names.get(user_id) if user_id is not None else None

    def line_view(line: EstimateLine) -> LineView:
        return LineView(
            id=line.id,  # type: ignore[arg-type]
            kind=line.kind,
            description=line.description,
            part_number=line.part_number,
            quantity=line.quantity,
            unit_price_ore=line.unit_price_ore,
            resource_type_id=line.resource_type_id,
            work=works.get(line.resource_type_id) if line.resource_type_id else None,
            hours=line.hours,
            hourly_rate_ore=line.hourly_rate_ore,
            user_id=line.user_id,
            person=name(line.user_id),
            amount_ore=line.amount_ore,
            decision=line.decision,
            finding=items.get(line.inspection_item_id) if line.inspection_item_id else None,
            inspection_item_id=line.inspection_item_id,
            parts_order_id=line.parts_order_id,
            booking_id=line.booking_id,
        )

    return [
        EstimateView(
            id=e.id,  # type: ignore[arg-type]
            car_id=e.car_id,
            state=e.state,
            created_by=name(e.created_by_id),
            created_at=e.created_at,
            sent_at=e.sent_at,
            sent_by=name(e.sent_by_id),
            decided_at=e.decided_at,
            decided_by=name(e.decided_by_id),
            customer_answer=e.customer_answer,
            notes=e.notes,
            lines=tuple(line_view(line) for line in by_estimate.get(e.id or 0, [])),
        )
        for e in estimates
    ]


def labour_choices(
    session: Session, car_id: int
) -> tuple[list[tuple[str, int]], list[tuple[str, uuid.UUID]]]:
    """What a labour line of the car's estimate can be: the bookable kinds of work (name, id) and
    the mechanics and detailers of the car's prep center (name, id)."""
    from db.models import Car

    types = session.exec(
        select(ResourceType.name, ResourceType.id)
        .where(ResourceType.active, ResourceType.bookable)
        .order_by(col(ResourceType.prep_stage).is_(None), col(ResourceType.name))
    ).all()
    car = session.get(Car, car_id)
    people: list[tuple[str, uuid.UUID]] = []
    if car is not None and car.prep_center_id is not None:
        people = list(
            session.exec(
                select(User.display_name, User.id)
                .where(
                    User.dealership_id == car.prep_center_id,
                    User.active,
                    col(User.role).in_(("mechanic", "detailer")),
                )
                .order_by(col(User.display_name))
            ).all()
        )
    return list(types), people  # type: ignore[arg-type]
