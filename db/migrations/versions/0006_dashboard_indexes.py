"""indexes for the manager's dashboard over a group's months of bookings and clocked hours

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

* `ix_resource_bookings_completed` (completed bookings only): estimate accuracy reads the index,
  not the table.
* `ix_resource_bookings_sharing` gains `status` and `estimated_hours`: the weekly use of an
  agreement (the ledger's cap check and the sharing usage) is read from the index alone.
* `ix_timebank_entries_closed` (closed entries only): productivity sums hours from the index.

No rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPLETED = sa.text("status = 'completed'")
CLOSED = sa.text("ended_at IS NOT NULL OR started_at IS NULL")
SHARING = ["provider_dealership_id", "consumer_dealership_id", "resource_type_id", "date"]


def upgrade() -> None:
    op.create_index(
        "ix_resource_bookings_completed",
        "resource_bookings",
        ["date", "provider_dealership_id", "resource_type_id", "estimated_hours", "actual_hours"],
        sqlite_where=COMPLETED,
        postgresql_where=COMPLETED,
    )
    op.drop_index("ix_resource_bookings_sharing", table_name="resource_bookings")
    op.create_index(
        "ix_resource_bookings_sharing",
        "resource_bookings",
        [*SHARING, "status", "estimated_hours"],
    )
    op.create_index(
        "ix_timebank_entries_closed",
        "timebank_entries",
        ["user_id", "date", "resource_type_id", "hours"],
        sqlite_where=CLOSED,
        postgresql_where=CLOSED,
    )


def downgrade() -> None:
    op.drop_index("ix_timebank_entries_closed", table_name="timebank_entries")
    op.drop_index("ix_resource_bookings_sharing", table_name="resource_bookings")
    op.create_index("ix_resource_bookings_sharing", "resource_bookings", SHARING)
    op.drop_index("ix_resource_bookings_completed", table_name="resource_bookings")
