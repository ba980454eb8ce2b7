"""SSH public keys of users, and the shared-terminal flag of a user (for `prepfloor serve`)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

`user_keys` holds the public keys a user signs in with over `prepfloor serve` (one row per key; a
fingerprint belongs to one user only).  `users.is_terminal` marks a shared workshop account: its
SSH sessions open the sign-in screen instead of signing the account in.  Existing users get no keys
and are not terminals.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key_type", sa.String(length=60), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("comment", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_keys_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_keys")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_user_keys_fingerprint")),
    )
    op.create_index(op.f("ix_user_keys_user_id"), "user_keys", ["user_id"], unique=False)
    # A plain ADD COLUMN: a batch (copy-and-move) of `users` fails on SQLite, where every user
    # foreign key of an existing database refers to the table.
    op.add_column(
        "users",
        sa.Column("is_terminal", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_terminal")
    op.drop_index(op.f("ix_user_keys_user_id"), table_name="user_keys")
    op.drop_table("user_keys")
