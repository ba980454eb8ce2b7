"""notification preferences (mute a type, or take its low-priority notes as a daily digest), and
the digest flag of a notification

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Existing notifications are kept and stay ordinary (digest false); nobody has a preference yet.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "mode IN ('mute', 'digest')", name=op.f("ck_notification_preferences_mode")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint(
            "user_id", "type", name=op.f("uq_notification_preferences_user_id_type")
        ),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("digest", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("digest")
    op.drop_table("notification_preferences")
