"""SLA tracking (improvement 6): is a car on time for the delivery date promised to the customer?

Pure functions (no SQLAlchemy): lists compute the state from a few columns they already show.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from db.clock import as_utc, local, zone
from db.i18n import N_, Labels, _

SLA_STATES: tuple[str, ...] = ("none", "on_time", "at_risk", "late")
SLA_LABELS = Labels(
    {
        "none": "—",
        "on_time": N_("On time"),
        "at_risk": N_("At risk"),
        "late": N_("Late"),
    }
)
AT_RISK_DAYS = 3


def _day(value: date | str | None) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        try:
            return local(value).date()
        except OverflowError:  # at the very end (or start) of the calendar
            return value.date()
    return date.fromisoformat(str(value)[:10])


# The ends of time, for a promised date at the ends of the calendar (9999-12-31 stored by another
# program): never late, or late from the start.  A list shows such a car, it does not fail on it.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_START_OF_TIME = datetime.min.replace(tzinfo=UTC)


def late_from(expected: date) -> datetime:
    """The moment a handover is late: the local midnight after the promised date (UTC).  A date
    at the ends of the calendar gives the first or last moment there is (never an overflow)."""
    try:
        after = expected + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=zone()).astimezone(UTC)
    except OverflowError:
        return _END_OF_TIME if expected.year > 1 else _START_OF_TIME


def sla_state(
    status: str,
    expected_delivery_date: date | str | None,
    delivered_to_customer_at: datetime | str | None,
    today: date,
    *,
    at_risk_days: int = AT_RISK_DAYS,
) -> str:
    """``none``, ``on_time``, ``at_risk`` or ``late``.

    * No promised date, a draft (nothing promised yet) or an order archived without a handover
      (cancelled): ``none``.
    * Handed over: ``late`` when the handover's local date is after the promised date.
    * Not handed over: ``late`` once the promised date has passed; a car ready for delivery is
      otherwise on time; ``at_risk`` when ``at_risk_days`` or fewer days are left.
    """
    expected = _day(expected_delivery_date)
    if expected is None or status == "draft":
        return "none"
    handed_over = as_utc(delivered_to_customer_at)
    if handed_over is not None:
        return "late" if handed_over >= late_from(expected) else "on_time"
    if status == "archived":
        return "none"
    if today > expected:
        return "late"
    if status == "ready_for_delivery":
        return "on_time"
    if (expected - today).days <= at_risk_days:
        return "at_risk"
    return "on_time"


# ------------------------------------------------------------------------------------------------
# per-stage targets (days a car may spend in a stage; ``dealership.sla_targets``)
# ------------------------------------------------------------------------------------------------
STAGE_LABELS = Labels(
    {
        "registered": N_("Registered, waiting for transport"),
        "in_transit": N_("In transit"),
        "inspection": N_("Arrived, until inspected"),
        "parts": N_("Waiting on parts"),
        "technical_prep": N_("Inspected, until technical done"),
        "cosmetic_prep": N_("Until cosmetic done"),
        "ready_for_delivery": N_("Ready, until handed over"),
    }
)
# The same stages in a word or two (a form's labels).
STAGE_SHORT = Labels(
    {
        "registered": N_("Registered"),
        "in_transit": N_("In transit"),
        "inspection": N_("Inspection"),
        "parts": N_("Parts wait"),
        "technical_prep": N_("Technical"),
        "cosmetic_prep": N_("Cosmetic"),
        "ready_for_delivery": N_("Ready"),
    }
)
# Days a car may spend in a stage where a dealership has set nothing (nor its parents).
DEFAULT_STAGE_TARGETS: dict[str, float] = {
    "registered": 5,
    "in_transit": 5,
    "inspection": 2,
    "parts": 7,
    "technical_prep": 3,
    "cosmetic_prep": 2,
    "ready_for_delivery": 3,
}
MAX_TARGET_DAYS = 365


def targets_problem(targets: object) -> str | None:
    """Why ``targets`` cannot be a dealership's ``sla_targets`` (None: it can, or it is empty)."""
    if targets is None:
        return None
    if not isinstance(targets, dict):
        return _("SLA targets are days per stage.")
    for key, days in targets.items():
        if key not in STAGE_LABELS:
            return _("{key} is not a stage (stages: {stages}).").format(
                key=repr(key), stages=", ".join(STAGE_LABELS)
            )
        if days is None:
            continue
        if isinstance(days, bool) or not isinstance(days, int | float):
            return _("The target of {stage} is a number of days.").format(
                stage=STAGE_LABELS[key].lower()
            )
        if not 0 < days <= MAX_TARGET_DAYS:
            return _("The target of {stage} is more than 0 and at most {days} days.").format(
                stage=STAGE_LABELS[key].lower(), days=MAX_TARGET_DAYS
            )
    return None
