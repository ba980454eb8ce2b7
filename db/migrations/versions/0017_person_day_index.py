"""a person's capacity rows by day, with their hours

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

`ix_resource_capacities_person_day` on the people's rows of `resource_capacities` (user_id,
date, dealership, kind of work, allocated and used hours).  A person's day over every kind of work
(the ledger's check while a booking holds the write lock, the nearest day with room after a
refusal) and their weeks (the dashboard's workload) are read from it alone, instead of from the
rows of every person of the dealership and kind of work in the days asked for.  An index only: no
rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_resource_capacities_person_day"
COLUMNS = ["user_id", "date", "dealership_id", "resource_type_id", "allocated_hours", "used_hours"]
PEOPLE = "user_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        NAME,
        "resource_capacities",
        COLUMNS,
        sqlite_where=sa.text(PEOPLE),
        postgresql_where=sa.text(PEOPLE),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="resource_capacities")
