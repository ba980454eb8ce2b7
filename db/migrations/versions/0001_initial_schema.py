"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 10:31:31.781789
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dealership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealership_number", sa.String(length=20), nullable=False),
        sa.Column("dealership_name", sa.String(length=120), nullable=False),
        sa.Column("location", sa.String(length=120), nullable=True),
        sa.Column("dealership_type", sa.String(length=20), nullable=False),
        sa.Column("brand", sa.String(length=60), nullable=True),
        sa.Column("does_own_prep", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("parent_dealership_id", sa.Integer(), nullable=True),
        sa.Column("prep_center_id", sa.Integer(), nullable=True),
        sa.Column("brand_colors", sa.JSON(), nullable=True),
        sa.Column("logo", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "dealership_type IN ('sales_only', 'prep_center_only', 'sales_and_prep')",
            name=op.f("ck_dealership_dealership_type"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_dealership_id"],
            ["dealership.id"],
            name=op.f("fk_dealership_parent_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["prep_center_id"],
            ["dealership.id"],
            name=op.f("fk_dealership_prep_center_id_dealership"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dealership")),
        sa.UniqueConstraint("dealership_number", name=op.f("uq_dealership_dealership_number")),
    )
    with op.batch_alter_table("dealership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dealership_parent_dealership_id"), ["parent_dealership_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dealership_prep_center_id"), ["prep_center_id"], unique=False
        )

    op.create_table(
        "resource_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("icon", sa.String(length=40), nullable=True),
        sa.Column("color", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_productive", sa.Boolean(), nullable=False),
        sa.Column("bookable", sa.Boolean(), nullable=False),
        sa.Column("requires_assignment", sa.Boolean(), nullable=False),
        sa.Column("default_duration_hours", sa.Float(), nullable=False),
        sa.Column("prep_stage", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "prep_stage IS NULL OR prep_stage IN ('technical', 'cosmetic')",
            name=op.f("ck_resource_types_prep_stage"),
        ),
        sa.CheckConstraint(
            "default_duration_hours >= 0", name=op.f("ck_resource_types_default_duration_hours")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_types")),
        sa.UniqueConstraint("code", name=op.f("uq_resource_types_code")),
    )
    op.create_table(
        "resource_sharing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_dealership_id", sa.Integer(), nullable=False),
        sa.Column("consumer_dealership_id", sa.Integer(), nullable=False),
        sa.Column("resource_type_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("max_hours_per_week", sa.Float(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "max_hours_per_week >= 0", name=op.f("ck_resource_sharing_max_hours_per_week")
        ),
        sa.CheckConstraint("priority BETWEEN 0 AND 100", name=op.f("ck_resource_sharing_priority")),
        sa.CheckConstraint(
            "provider_dealership_id <> consumer_dealership_id",
            name=op.f("ck_resource_sharing_distinct"),
        ),
        sa.ForeignKeyConstraint(
            ["consumer_dealership_id"],
            ["dealership.id"],
            name=op.f("fk_resource_sharing_consumer_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_dealership_id"],
            ["dealership.id"],
            name=op.f("fk_resource_sharing_provider_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_type_id"],
            ["resource_types.id"],
            name=op.f("fk_resource_sharing_resource_type_id_resource_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_sharing")),
        sa.UniqueConstraint(
            "provider_dealership_id",
            "consumer_dealership_id",
            "resource_type_id",
            name=op.f(
                "uq_resource_sharing_provider_dealership_id_consumer_dealership_id_resource_type_id"
            ),
        ),
    )
    with op.batch_alter_table("resource_sharing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_sharing_consumer_dealership_id"),
            ["consumer_dealership_id"],
            unique=False,
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("badge_hash", sa.String(length=200), nullable=True),
        sa.Column("failed_pin_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('seller', 'coordinator', 'mechanic', 'detailer', 'manager', 'admin')",
            name=op.f("ck_users_role"),
        ),
        sa.ForeignKeyConstraint(
            ["dealership_id"], ["dealership.id"], name=op.f("fk_users_dealership_id_dealership")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("badge_hash", name=op.f("uq_users_badge_hash")),
        sa.UniqueConstraint("login", name=op.f("uq_users_login")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_dealership_id"), ["dealership_id"], unique=False)

    op.create_table(
        "cars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("license_plate", sa.String(length=20), nullable=True),
        sa.Column("brand", sa.String(length=60), nullable=True),
        sa.Column("model", sa.String(length=80), nullable=True),
        sa.Column("model_year", sa.Integer(), nullable=True),
        sa.Column("color", sa.String(length=40), nullable=True),
        sa.Column("order_number", sa.String(length=40), nullable=True),
        sa.Column("customer_name", sa.String(length=120), nullable=True),
        sa.Column("customer_phone", sa.String(length=40), nullable=True),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Uuid(), nullable=True),
        sa.Column("car_type", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("accessories", sa.JSON(), nullable=True),
        sa.Column("seller_notes", sa.String(), nullable=True),
        sa.Column("prep_center_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_technical_date", sa.Date(), nullable=True),
        sa.Column("scheduled_technical_time", sa.Time(), nullable=True),
        sa.Column("scheduled_cosmetic_date", sa.Date(), nullable=True),
        sa.Column("scheduled_cosmetic_time", sa.Time(), nullable=True),
        sa.Column("estimated_technical_hours", sa.Float(), nullable=True),
        sa.Column("estimated_cosmetic_hours", sa.Float(), nullable=True),
        sa.Column("assigned_mechanic_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_detailer_id", sa.Uuid(), nullable=True),
        sa.Column("parts_ordered_seller_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parts_arrived_seller_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parts_ordered_prep_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parts_arrived_prep_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parts_notes", sa.String(), nullable=True),
        sa.Column("arrived_prep_center_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inspection_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inspection_approved", sa.Boolean(), nullable=True),
        sa.Column("inspection_notes", sa.String(), nullable=True),
        sa.Column("technical_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("technical_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cosmetic_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cosmetic_completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("technical_notes", sa.String(), nullable=True),
        sa.Column("cosmetic_notes", sa.String(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_for_delivery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_to_dealership_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sold_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_to_customer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_delivery_date", sa.Date(), nullable=True),
        sa.Column("in_transit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "car_type IS NULL OR car_type IN ('new', 'used', 'demo', 'certified')",
            name=op.f("ck_cars_car_type"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'registered', 'in_transit', 'at_prep_center', 'inspection', 'parts_ordered', 'technical_prep', 'cosmetic_prep', 'ready_for_delivery', 'delivered', 'archived')",
            name=op.f("ck_cars_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_detailer_id"], ["users.id"], name=op.f("fk_cars_assigned_detailer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_mechanic_id"], ["users.id"], name=op.f("fk_cars_assigned_mechanic_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dealership_id"], ["dealership.id"], name=op.f("fk_cars_dealership_id_dealership")
        ),
        sa.ForeignKeyConstraint(
            ["prep_center_id"], ["dealership.id"], name=op.f("fk_cars_prep_center_id_dealership")
        ),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], name=op.f("fk_cars_seller_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cars")),
    )
    with op.batch_alter_table("cars", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cars_assigned_detailer_id"), ["assigned_detailer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cars_assigned_mechanic_id"), ["assigned_mechanic_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cars_customer_name"), ["customer_name"], unique=False)
        batch_op.create_index(
            "ix_cars_dealership_id_status", ["dealership_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cars_license_plate"), ["license_plate"], unique=False)
        batch_op.create_index(batch_op.f("ix_cars_order_number"), ["order_number"], unique=False)
        batch_op.create_index(
            "ix_cars_prep_center_id_status", ["prep_center_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cars_seller_id"), ["seller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cars_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_cars_status_changed_at"), ["status_changed_at"], unique=False
        )
        batch_op.create_index(
            "uq_cars_vin_active",
            ["vin"],
            unique=True,
            sqlite_where=sa.text("vin IS NOT NULL AND status NOT IN ('delivered', 'archived')"),
            postgresql_where=sa.text("vin IS NOT NULL AND status NOT IN ('delivered', 'archived')"),
        )

    op.create_table(
        "resource_capacities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.Column("resource_type_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("allocated_hours", sa.Float(), nullable=False),
        sa.Column("used_hours", sa.Float(), nullable=False),
        sa.Column(
            "available_hours",
            sa.Float(),
            sa.Computed("allocated_hours - used_hours", persisted=True),
            nullable=True,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("recurrence_pattern", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "allocated_hours >= 0", name=op.f("ck_resource_capacities_allocated_hours")
        ),
        sa.CheckConstraint("used_hours >= 0", name=op.f("ck_resource_capacities_used_hours")),
        sa.ForeignKeyConstraint(
            ["dealership_id"],
            ["dealership.id"],
            name=op.f("fk_resource_capacities_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_type_id"],
            ["resource_types.id"],
            name=op.f("fk_resource_capacities_resource_type_id_resource_types"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_resource_capacities_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_capacities")),
    )
    with op.batch_alter_table("resource_capacities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resource_capacities_user_id_date", ["user_id", "date"], unique=False
        )
        batch_op.create_index(
            "uq_resource_capacities_person",
            ["dealership_id", "resource_type_id", "date", "user_id"],
            unique=True,
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_resource_capacities_team",
            ["dealership_id", "resource_type_id", "date"],
            unique=True,
            sqlite_where=sa.text("user_id IS NULL"),
            postgresql_where=sa.text("user_id IS NULL"),
        )

    op.create_table(
        "car_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("filesize", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "type IN ('invoice', 'photo', 'checklist', 'other')", name=op.f("ck_car_documents_type")
        ),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name=op.f("fk_car_documents_car_id_cars")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_car_documents_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_car_documents")),
    )
    with op.batch_alter_table("car_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_car_documents_car_id"), ["car_id"], unique=False)

    op.create_table(
        "customer_communications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("customer_name", sa.String(length=120), nullable=True),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "type IN ('sms', 'email', 'call')", name=op.f("ck_customer_communications_type")
        ),
        sa.ForeignKeyConstraint(
            ["car_id"], ["cars.id"], name=op.f("fk_customer_communications_car_id_cars")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_customer_communications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_communications")),
    )
    with op.batch_alter_table("customer_communications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_communications_car_id"), ["car_id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("car_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name=op.f("fk_events_car_id_cars")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_events_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_car_id"), ["car_id"], unique=False)
        batch_op.create_index("ix_events_entity_entity_id", ["entity", "entity_id"], unique=False)

    op.create_table(
        "inspection_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("item_name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("checked_by_id", sa.Uuid(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('ok', 'issue', 'critical')",
            name=op.f("ck_inspection_checklist_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["car_id"], ["cars.id"], name=op.f("fk_inspection_checklist_items_car_id_cars")
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["users.id"],
            name=op.f("fk_inspection_checklist_items_checked_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_checklist_items")),
    )
    with op.batch_alter_table("inspection_checklist_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inspection_checklist_items_car_id"), ["car_id"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')",
            name=op.f("ck_notifications_priority"),
        ),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name=op.f("fk_notifications_car_id_cars")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_car_id"), ["car_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_user_id_read_created_at",
            ["user_id", "read", "created_at"],
            unique=False,
        )

    op.create_table(
        "parts_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("part_name", sa.String(length=120), nullable=False),
        sa.Column("part_number", sa.String(length=60), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("ordered_by", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ordered_by IN ('seller', 'prep_center')", name=op.f("ck_parts_orders_ordered_by")
        ),
        sa.CheckConstraint(
            "status IN ('ordered', 'in_transit', 'arrived', 'installed', 'cancelled')",
            name=op.f("ck_parts_orders_status"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_parts_orders_quantity")),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name=op.f("fk_parts_orders_car_id_cars")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts_orders")),
    )
    with op.batch_alter_table("parts_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parts_orders_car_id"), ["car_id"], unique=False)

    op.create_table(
        "resource_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=True),
        sa.Column("resource_type_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("estimated_hours", sa.Float(), nullable=False),
        sa.Column("provider_dealership_id", sa.Integer(), nullable=False),
        sa.Column("consumer_dealership_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actual_hours", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('scheduled', 'confirmed', 'in_progress', 'completed', 'cancelled', 'no_show')",
            name=op.f("ck_resource_bookings_status"),
        ),
        sa.CheckConstraint(
            "actual_hours IS NULL OR actual_hours >= 0",
            name=op.f("ck_resource_bookings_actual_hours"),
        ),
        sa.CheckConstraint(
            "estimated_hours > 0", name=op.f("ck_resource_bookings_estimated_hours")
        ),
        sa.ForeignKeyConstraint(
            ["car_id"], ["cars.id"], name=op.f("fk_resource_bookings_car_id_cars")
        ),
        sa.ForeignKeyConstraint(
            ["consumer_dealership_id"],
            ["dealership.id"],
            name=op.f("fk_resource_bookings_consumer_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_dealership_id"],
            ["dealership.id"],
            name=op.f("fk_resource_bookings_provider_dealership_id_dealership"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_type_id"],
            ["resource_types.id"],
            name=op.f("fk_resource_bookings_resource_type_id_resource_types"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_resource_bookings_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_bookings")),
    )
    with op.batch_alter_table("resource_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_bookings_car_id"), ["car_id"], unique=False)
        batch_op.create_index(
            "ix_resource_bookings_consumer_date", ["consumer_dealership_id", "date"], unique=False
        )
        batch_op.create_index(
            "ix_resource_bookings_provider_date", ["provider_dealership_id", "date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resource_bookings_resource_type_id"), ["resource_type_id"], unique=False
        )
        batch_op.create_index(
            "ix_resource_bookings_user_id_date", ["user_id", "date"], unique=False
        )

    op.create_table(
        "timebank_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("resource_type_id", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_timebank_entries_order")
        ),
        sa.CheckConstraint("hours IS NULL OR hours >= 0", name=op.f("ck_timebank_entries_hours")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["resource_bookings.id"],
            name=op.f("fk_timebank_entries_booking_id_resource_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_type_id"],
            ["resource_types.id"],
            name=op.f("fk_timebank_entries_resource_type_id_resource_types"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_timebank_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timebank_entries")),
    )
    with op.batch_alter_table("timebank_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timebank_entries_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index("ix_timebank_entries_user_id_date", ["user_id", "date"], unique=False)
        batch_op.create_index(
            "uq_timebank_entries_running",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("started_at IS NOT NULL AND ended_at IS NULL"),
            postgresql_where=sa.text("started_at IS NOT NULL AND ended_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("timebank_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_timebank_entries_running",
            sqlite_where=sa.text("started_at IS NOT NULL AND ended_at IS NULL"),
            postgresql_where=sa.text("started_at IS NOT NULL AND ended_at IS NULL"),
        )
        batch_op.drop_index("ix_timebank_entries_user_id_date")
        batch_op.drop_index(batch_op.f("ix_timebank_entries_booking_id"))

    op.drop_table("timebank_entries")
    with op.batch_alter_table("resource_bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_bookings_user_id_date")
        batch_op.drop_index(batch_op.f("ix_resource_bookings_resource_type_id"))
        batch_op.drop_index("ix_resource_bookings_provider_date")
        batch_op.drop_index("ix_resource_bookings_consumer_date")
        batch_op.drop_index(batch_op.f("ix_resource_bookings_car_id"))

    op.drop_table("resource_bookings")
    with op.batch_alter_table("parts_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parts_orders_car_id"))

    op.drop_table("parts_orders")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_read_created_at")
        batch_op.drop_index(batch_op.f("ix_notifications_car_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("inspection_checklist_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_checklist_items_car_id"))

    op.drop_table("inspection_checklist_items")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_entity_entity_id")
        batch_op.drop_index(batch_op.f("ix_events_car_id"))

    op.drop_table("events")
    with op.batch_alter_table("customer_communications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_communications_car_id"))

    op.drop_table("customer_communications")
    with op.batch_alter_table("car_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_car_documents_car_id"))

    op.drop_table("car_documents")
    with op.batch_alter_table("resource_capacities", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_resource_capacities_team",
            sqlite_where=sa.text("user_id IS NULL"),
            postgresql_where=sa.text("user_id IS NULL"),
        )
        batch_op.drop_index(
            "uq_resource_capacities_person",
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_resource_capacities_user_id_date")

    op.drop_table("resource_capacities")
    with op.batch_alter_table("cars", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_cars_vin_active",
            sqlite_where=sa.text("vin IS NOT NULL AND status NOT IN ('delivered', 'archived')"),
            postgresql_where=sa.text("vin IS NOT NULL AND status NOT IN ('delivered', 'archived')"),
        )
        batch_op.drop_index(batch_op.f("ix_cars_status_changed_at"))
        batch_op.drop_index(batch_op.f("ix_cars_status"))
        batch_op.drop_index(batch_op.f("ix_cars_seller_id"))
        batch_op.drop_index("ix_cars_prep_center_id_status")
        batch_op.drop_index(batch_op.f("ix_cars_order_number"))
        batch_op.drop_index(batch_op.f("ix_cars_license_plate"))
        batch_op.drop_index("ix_cars_dealership_id_status")
        batch_op.drop_index(batch_op.f("ix_cars_customer_name"))
        batch_op.drop_index(batch_op.f("ix_cars_assigned_mechanic_id"))
        batch_op.drop_index(batch_op.f("ix_cars_assigned_detailer_id"))

    op.drop_table("cars")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_dealership_id"))

    op.drop_table("users")
    with op.batch_alter_table("resource_sharing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_sharing_consumer_dealership_id"))

    op.drop_table("resource_sharing")
    op.drop_table("resource_types")
    with op.batch_alter_table("dealership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dealership_prep_center_id"))
        batch_op.drop_index(batch_op.f("ix_dealership_parent_dealership_id"))

    op.drop_table("dealership")
