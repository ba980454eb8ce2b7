"""PostgreSQL keeps the ledger, the audit and updated_at for every writer, and announces changes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

A group that shares its PostgreSQL database with Directus, a BI tool or a script with psql needs
the database itself to keep what prepfloor promises: a booking written by another client keeps the
capacity rows' `used_hours` exact and may not overbook, every write by another client leaves its
`events` row (with the writer: `events.writer`, new), `updated_at` is set, and every change is
announced to the open sessions (LISTEN/NOTIFY).  The functions and triggers are in
`db/triggers.py`; prepfloor's own connections are marked and their writes are left to its rules.

On SQLite prepfloor is the only writer: only `events.writer` is added.  No rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("writer", sa.String(length=120), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from db import triggers

        triggers.install(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from db import triggers

        triggers.drop(bind)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("writer")
