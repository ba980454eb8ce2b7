"""totals kept by the database for the manager's dashboard and the car counts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

* `car_stays`, `car_status_totals`, `booking_day_totals`, `clocked_day_totals`: kept by triggers
  (SQLite and PostgreSQL) in the same transaction as the change they count, whoever writes
  (`db/totals.py`), built here from the existing rows.
* `ix_cars_open` (cars not delivered or archived) and `ix_cars_closed` (delivered and archived,
  by when): the dashboard reads the cars it needs from these indexes alone.

No business rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSED = "status IN ('delivered', 'archived')"
OPEN = "status NOT IN ('delivered', 'archived')"
OPEN_COLUMNS = [
    "status",
    "dealership_id",
    "prep_center_id",
    "expected_delivery_date",
    "status_changed_at",
    "registered_at",
    "in_transit_at",
    "arrived_prep_center_at",
    "parts_ordered_prep_at",
    "inspection_completed_at",
    "technical_completed_at",
    "ready_for_delivery_at",
]
CLOSED_COLUMNS = [
    "status_changed_at",
    "status",
    "dealership_id",
    "prep_center_id",
    "expected_delivery_date",
    "delivered_to_customer_at",
]


def upgrade() -> None:
    from db import totals

    for name, columns, where in (
        ("ix_cars_open", OPEN_COLUMNS, OPEN),
        ("ix_cars_closed", CLOSED_COLUMNS, CLOSED),
    ):
        op.create_index(
            name,
            "cars",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
            postgresql_include=["id"],
        )
    totals.install(op.get_bind())


def downgrade() -> None:
    from db import totals

    totals.uninstall(op.get_bind())
    op.drop_index("ix_cars_closed", table_name="cars")
    op.drop_index("ix_cars_open", table_name="cars")
