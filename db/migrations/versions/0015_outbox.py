"""the outbox of messages to customers, the dealerships' templates of them and their choices

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09

`outbox_messages`: one row per message to a car's customer (e-mail or SMS), from a milestone of
the car or written by hand, with its state (draft, queued, sending, sent, failed, cancelled), its
attempts, the sender that holds it and the customer contact it became (db/outbox.py).
`outbox_templates`: a dealership's own wording per milestone, language and channel.
`outbox_settings`: per dealership, the milestones that write a message, whether the seller
previews it first, the channel and the language.  New tables only: no rows change, and a
dealership without settings sends nothing by itself.  On PostgreSQL the audit's triggers are put
on the new tables (`db/triggers.py`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = "('email', 'sms')"
MILESTONES = "('registered', 'arrived', 'ready', 'delayed', 'estimate', 'manual')"
LANGUAGES = "('nb', 'en')"
STATES = "('draft', 'queued', 'sending', 'sent', 'failed', 'cancelled')"


def _now() -> sa.DateTime:
    """A timestamp column's type (UTC, with its zone)."""
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("milestone", sa.String(length=20), nullable=False),
        sa.Column("occasion", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=8), server_default="nb", nullable=False),
        sa.Column("state", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", _now(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", _now(), nullable=True),
        sa.Column("handing_over_at", _now(), nullable=True),
        sa.Column("sent_at", _now(), nullable=True),
        sa.Column("last_reply", sa.String(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _now(), nullable=True),
        sa.Column("updated_at", _now(), nullable=True),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_outbox_messages_channel")),
        sa.CheckConstraint(f"milestone IN {MILESTONES}", name=op.f("ck_outbox_messages_milestone")),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_outbox_messages_state")),
        sa.CheckConstraint(f"language IN {LANGUAGES}", name=op.f("ck_outbox_messages_language")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_messages_attempts")),
        sa.ForeignKeyConstraint(
            ["car_id"], ["cars.id"], name=op.f("fk_outbox_messages_car_id_cars")
        ),
        sa.ForeignKeyConstraint(
            ["dealership_id"],
            ["dealership.id"],
            name=op.f("fk_outbox_messages_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_outbox_messages_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["customer_communications.id"],
            name=op.f("fk_outbox_messages_contact_id_customer_communications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_car_id"), "outbox_messages", ["car_id"])
    op.create_index(
        "ix_outbox_messages_state_next_attempt_at", "outbox_messages", ["state", "next_attempt_at"]
    )
    op.create_index(
        "uq_outbox_messages_occasion",
        "outbox_messages",
        ["car_id", "milestone", "occasion"],
        unique=True,
        sqlite_where=sa.text("occasion IS NOT NULL"),
        postgresql_where=sa.text("occasion IS NOT NULL"),
    )
    op.create_table(
        "outbox_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _now(), nullable=True),
        sa.Column("updated_at", _now(), nullable=True),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_outbox_templates_channel")),
        sa.CheckConstraint(
            f"milestone IN {MILESTONES}", name=op.f("ck_outbox_templates_milestone")
        ),
        sa.CheckConstraint(f"language IN {LANGUAGES}", name=op.f("ck_outbox_templates_language")),
        sa.ForeignKeyConstraint(
            ["dealership_id"],
            ["dealership.id"],
            name=op.f("fk_outbox_templates_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_outbox_templates_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_templates")),
        sa.UniqueConstraint(
            "dealership_id",
            "milestone",
            "language",
            "channel",
            name=op.f("uq_outbox_templates_dealership_id_milestone_language_channel"),
        ),
    )
    op.create_table(
        "outbox_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=True),
        sa.Column("preview", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("channel", sa.String(length=10), server_default="email", nullable=False),
        sa.Column("language", sa.String(length=8), server_default="nb", nullable=False),
        sa.Column("updated_at", _now(), nullable=True),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_outbox_settings_channel")),
        sa.CheckConstraint(f"language IN {LANGUAGES}", name=op.f("ck_outbox_settings_language")),
        sa.ForeignKeyConstraint(
            ["dealership_id"],
            ["dealership.id"],
            name=op.f("fk_outbox_settings_dealership_id_dealership"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_settings")),
        sa.UniqueConstraint("dealership_id", name=op.f("uq_outbox_settings_dealership_id")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from db import triggers

        triggers.install(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("outbox_messages", "outbox_templates", "outbox_settings"):
            op.execute(f"DROP TRIGGER IF EXISTS prepfloor_audit ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS prepfloor_stamp ON {table}")
    op.drop_table("outbox_settings")
    op.drop_table("outbox_templates")
    op.drop_index("uq_outbox_messages_occasion", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_state_next_attempt_at", table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_car_id"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
