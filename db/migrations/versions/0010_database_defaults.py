"""defaults in the database, for writers other than prepfloor (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

prepfloor fills every default itself, but a group that shares its PostgreSQL database with
another tool (Directus, a script with psql) needs the defaults in the database: a car created with
only the columns Directus asks for gets its status (`draft`), its `created_at`, and so on; a user
created there gets an id.  The values are the models' own defaults (a test keeps the two equal).

On SQLite prepfloor is the only writer (the README says so), and SQLite cannot change a column's
default without copying the table, which its foreign keys forbid: nothing changes there.  No rows
change on either engine.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column) -> the SQL default, as the models default them
DEFAULTS: dict[tuple[str, str], str] = {
    ("dealership", "dealership_type"): "'sales_and_prep'",
    ("dealership", "does_own_prep"): "false",
    ("dealership", "active"): "true",
    ("resource_types", "active"): "true",
    ("resource_types", "is_productive"): "true",
    ("resource_types", "bookable"): "true",
    ("resource_types", "requires_assignment"): "false",
    ("resource_types", "default_duration_hours"): "1.0",
    ("resource_sharing", "enabled"): "true",
    ("resource_sharing", "max_hours_per_week"): "0.0",
    ("resource_sharing", "priority"): "50",
    ("users", "id"): "gen_random_uuid()",
    ("users", "active"): "true",
    ("users", "failed_pin_attempts"): "0",
    ("cars", "car_type"): "'new'",
    ("cars", "status"): "'draft'",
    ("resource_capacities", "allocated_hours"): "0.0",
    ("resource_capacities", "used_hours"): "0.0",
    ("car_documents", "type"): "'other'",
    ("car_documents", "filesize"): "0",
    ("inspection_checklist_items", "status"): "'ok'",
    ("notifications", "read"): "false",
    ("notifications", "priority"): "'medium'",
    ("parts_orders", "quantity"): "1",
    ("parts_orders", "status"): "'ordered'",
    ("parts_orders", "ordered_by"): "'prep_center'",
    ("resource_bookings", "status"): "'scheduled'",
}
# when a row was made: now
NOW: tuple[tuple[str, str], ...] = (
    ("dealership", "created_at"),
    ("dealership", "updated_at"),
    ("resource_types", "created_at"),
    ("resource_types", "updated_at"),
    ("resource_sharing", "created_at"),
    ("resource_sharing", "updated_at"),
    ("users", "created_at"),
    ("users", "updated_at"),
    ("cars", "created_at"),
    ("cars", "updated_at"),
    ("notification_preferences", "updated_at"),
    ("resource_capacities", "created_at"),
    ("resource_capacities", "updated_at"),
    ("user_keys", "created_at"),
    ("events", "occurred_at"),
    ("notifications", "created_at"),
    ("parts_orders", "created_at"),
    ("parts_orders", "updated_at"),
    ("resource_bookings", "created_at"),
    ("resource_bookings", "updated_at"),
    ("timebank_entries", "created_at"),
    ("timebank_entries", "updated_at"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for (table, column), value in DEFAULTS.items():
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {value}')
    for table, column in NOW:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT now()')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in (*DEFAULTS, *NOW):
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')
