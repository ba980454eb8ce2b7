"""the screen a user opens on when they sign in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

`users.start_mode` is the mode a user chose to open on (`cars`, `seller`, `coordinator`,
`workshop`, `manager` or `admin`; `db/modes.py` says which a role has).  NULL, as every existing
user gets: their role's own start screen.  No rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (as 0005): a batch (copy-and-move) of `users` fails on SQLite, where
    # every user foreign key of an existing database refers to the table.
    op.add_column("users", sa.Column("start_mode", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("start_mode")
