"""estimates of extra work on a car, approved or declined by the seller before it is done

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-09

* `estimates`: one per round of extra work on a car (draft, sent for approval, approved, declined,
  partly approved), who made and sent it, who decided and when, the customer's answer.  At most one
  draft per car (`uq_estimates_draft`).
* `estimate_lines`: a part (number, quantity, unit price) or labour (kind of work, hours, price per
  hour, the person), its price, the inspection finding it came from, its decision, and the parts
  order and booking made from it on approval.  Money in integer øre.

On PostgreSQL the new tables get the models' defaults and the audit and `updated_at` triggers
(`db/triggers.py`), as every table has.  No rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "('draft', 'sent', 'approved', 'declined', 'partly_approved')"
DECIDED = "('approved', 'declined', 'partly_approved')"
DEFAULTS: dict[tuple[str, str], str] = {
    ("estimates", "state"): "'draft'",
    ("estimate_lines", "decision"): "'pending'",
    ("estimate_lines", "amount_ore"): "0",
}
NOW = (
    ("estimates", "created_at"),
    ("estimates", "updated_at"),
    ("estimate_lines", "created_at"),
    ("estimate_lines", "updated_at"),
)


def upgrade() -> None:
    op.create_table(
        "estimates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("customer_answer", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_estimates_state")),
        sa.CheckConstraint(
            "state = 'draft' OR (sent_at IS NOT NULL AND sent_by_id IS NOT NULL)",
            name=op.f("ck_estimates_sent"),
        ),
        sa.CheckConstraint(
            f"(state IN {DECIDED}) = (decided_at IS NOT NULL AND decided_by_id IS NOT NULL)",
            name=op.f("ck_estimates_decided"),
        ),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name=op.f("fk_estimates_car_id_cars")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_estimates_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"], ["users.id"], name=op.f("fk_estimates_sent_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_estimates_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimates")),
    )
    op.create_index("ix_estimates_car_id", "estimates", ["car_id"])
    op.create_index("ix_estimates_decided_at", "estimates", ["decided_at"])
    op.create_index(
        "uq_estimates_draft",
        "estimates",
        ["car_id"],
        unique=True,
        sqlite_where=sa.text("state = 'draft'"),
        postgresql_where=sa.text("state = 'draft'"),
    )
    op.create_table(
        "estimate_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estimate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("part_number", sa.String(length=60), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("unit_price_ore", sa.Integer(), nullable=True),
        sa.Column("resource_type_id", sa.Integer(), nullable=True),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("hourly_rate_ore", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("amount_ore", sa.Integer(), nullable=False),
        sa.Column("inspection_item_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("parts_order_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('part', 'labour')", name=op.f("ck_estimate_lines_kind")),
        sa.CheckConstraint(
            "decision IN ('pending', 'approved', 'declined')",
            name=op.f("ck_estimate_lines_decision"),
        ),
        sa.CheckConstraint(
            "kind <> 'part' OR (quantity > 0 AND unit_price_ore >= 0 AND hours IS NULL "
            "AND resource_type_id IS NULL AND booking_id IS NULL)",
            name=op.f("ck_estimate_lines_part"),
        ),
        sa.CheckConstraint(
            "kind <> 'labour' OR (hours > 0 AND hourly_rate_ore >= 0 "
            "AND resource_type_id IS NOT NULL AND parts_order_id IS NULL)",
            name=op.f("ck_estimate_lines_labour"),
        ),
        sa.CheckConstraint("amount_ore >= 0", name=op.f("ck_estimate_lines_amount_ore")),
        sa.ForeignKeyConstraint(
            ["estimate_id"], ["estimates.id"], name=op.f("fk_estimate_lines_estimate_id_estimates")
        ),
        sa.ForeignKeyConstraint(
            ["resource_type_id"],
            ["resource_types.id"],
            name=op.f("fk_estimate_lines_resource_type_id_resource_types"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_estimate_lines_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_item_id"],
            ["inspection_checklist_items.id"],
            name=op.f("fk_estimate_lines_inspection_item_id_inspection_checklist_items"),
        ),
        sa.ForeignKeyConstraint(
            ["parts_order_id"],
            ["parts_orders.id"],
            name=op.f("fk_estimate_lines_parts_order_id_parts_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["resource_bookings.id"],
            name=op.f("fk_estimate_lines_booking_id_resource_bookings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimate_lines")),
    )
    op.create_index("ix_estimate_lines_estimate_id", "estimate_lines", ["estimate_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for (table, column), value in DEFAULTS.items():
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {value}')
        for table, column in NOW:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT now()')
        from db import triggers

        triggers.install(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("estimates", "estimate_lines"):
            op.execute(f"DROP TRIGGER IF EXISTS prepfloor_audit ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS prepfloor_stamp ON {table}")
    op.drop_table("estimate_lines")
    op.drop_table("estimates")
