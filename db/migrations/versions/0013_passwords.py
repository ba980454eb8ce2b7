"""each user's password, for signing in from a web browser

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

`users.password_hash` is a user's password as a slow salted hash (scrypt, as `pin_hash`), set with
`prepfloor users set-password`, by an admin in the users list or by the user themselves; NULL, as
every existing user gets: no password, so no sign-in by password.  A wrong password counts towards
the same lock-out as a wrong PIN (`failed_pin_attempts`, `locked_until`).

On PostgreSQL the audit's functions are made again (`db/triggers.py`): a password written by
another client is said to have changed in its `events` row, never copied, as a PIN is.
No rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (as 0005, 0007, 0008): a batch (copy-and-move) of `users` fails on
    # SQLite, where every user foreign key of an existing database refers to the table.
    op.add_column("users", sa.Column("password_hash", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from db import triggers

        triggers.install(bind)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
