"""per-stage SLA targets of a dealership

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

`dealership.sla_targets` maps a car status to the days a car may spend in it (e.g.
``{"inspection": 1, "technical_prep": 3}``).  Existing dealerships get none: they follow their
parent's targets, else prepfloor's defaults.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dealership") as batch:
        batch.add_column(sa.Column("sla_targets", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dealership") as batch:
        batch.drop_column("sla_targets")
