"""The stages of a car's way through a prep center, as pairs of its timestamps.

A stage is a pair of the car's timestamps (SQL on ``cars c``): the one that opens the stay and the
one that closes it; the stages follow one another, waiting on parts is also counted inside
technical prep.  The manager's dashboard (:mod:`db.dashboard`) reads them, and the database keeps
every ended stay in ``car_stays`` (:mod:`db.totals`) by the same SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from db.i18n import _
from db.sla import STAGE_LABELS, STAGE_SHORT


@dataclass(frozen=True)
class Stage:
    key: str
    start: str  # the SQL (on ``cars c``) of the timestamp that opens the stay
    end: str  # and of the one that closes it
    statuses: tuple[str, ...]  # a car in one of these is in the stage now

    @property
    def label(self) -> str:
        """The stage's name in the language spoken now (:data:`db.sla.STAGE_LABELS`)."""
        return _(STAGE_LABELS[self.key])

    @property
    def short(self) -> str:
        """The stage in a word or two (:data:`db.sla.STAGE_SHORT`), where its name does not fit."""
        return STAGE_SHORT[self.key]

    def on(self, row: str) -> tuple[str, str]:
        """``start`` and ``end`` on another name of the car's row (``NEW`` in a trigger)."""
        return _on(self.start, row), _on(self.end, row)


def _on(sql: str, row: str) -> str:
    return re.sub(r"\bc\.", f"{row}.", sql)


STAGES: tuple[Stage, ...] = (
    Stage(
        "registered",
        "c.registered_at",
        "coalesce(c.in_transit_at, c.arrived_prep_center_at)",
        ("registered",),
    ),
    Stage(
        "in_transit",
        "c.in_transit_at",
        "c.arrived_prep_center_at",
        ("in_transit",),
    ),
    Stage(
        "inspection",
        "c.arrived_prep_center_at",
        "c.inspection_completed_at",
        ("at_prep_center", "inspection"),
    ),
    Stage(
        "parts",
        "c.parts_ordered_prep_at",
        "c.parts_arrived_prep_at",
        ("parts_ordered",),
    ),
    Stage(
        "technical_prep",
        "c.inspection_completed_at",
        "c.technical_completed_at",
        ("technical_prep",),
    ),
    Stage(
        "cosmetic_prep",
        "coalesce(c.technical_completed_at, c.inspection_completed_at)",
        "c.cosmetic_completed_at",
        ("cosmetic_prep",),
    ),
    Stage(
        "ready_for_delivery",
        "c.ready_for_delivery_at",
        "c.delivered_to_customer_at",
        ("ready_for_delivery",),
    ),
)
STAGE_BY_KEY: dict[str, Stage] = {s.key: s for s in STAGES}
STAGE_OF_STATUS: dict[str, Stage] = {status: s for s in STAGES for status in s.statuses}
# every column of ``cars`` a stage reads
STAGE_COLUMNS: tuple[str, ...] = tuple(
    sorted({m for s in STAGES for m in re.findall(r"\bc\.(\w+)", s.start + " " + s.end)})
)


def days_sql(dialect: str, start: str, end: str) -> str:
    """The days (a fraction) from ``start`` to ``end``, two timestamps."""
    if dialect == "sqlite":
        return f"(julianday({end}) - julianday({start}))"
    return f"(extract(epoch from ({end} - {start})) / 86400.0)::float8"
