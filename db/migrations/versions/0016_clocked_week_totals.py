"""clocked hours kept per person, ISO week and kind of work

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

* `clocked_week_totals`: the hours of `clocked_day_totals` per ISO week (its Monday), kept by a
  trigger on the day totals in the same transaction (`db/totals_weeks.py`), built here from the
  existing clock entries.  The dashboard's productivity reads a period's whole weeks from it.

No business rows change.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from db import totals_weeks

    totals_weeks.install(op.get_bind())


def downgrade() -> None:
    from db import totals_weeks

    totals_weeks.uninstall(op.get_bind())
