"""Estimates of extra work, read: money in øre, a line's price, an estimate's totals, and the
estimates of a car as a screen shows them (read by :func:`db.queries.car_estimates`, without the
ORM).  The rules that write them are :mod:`db.estimates`.

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
from typing import TYPE_CHECKING

from db.errors import Invalid
from db.i18n import _

if TYPE_CHECKING:
    from db.models import EstimateLine

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
