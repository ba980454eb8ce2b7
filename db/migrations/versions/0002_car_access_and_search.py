"""car_access (who works on a car beyond its owner and prep center), the car search index, and an
index for the weekly sharing cap (and one capacity index less)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Both make the car list fast at 100,000 cars: the scope of a user becomes three indexed lookups
instead of a scan of the bookings, and a search by VIN, plate, order number or customer uses a
trigram index (SQLite FTS5, PostgreSQL pg_trgm) instead of reading every car.  Existing rows are
kept; both are filled from what is already there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.search at this revision (a migration must not change when the code does).
PLATE = "coalesce({r}license_plate, '')"
TEXT = (
    "coalesce({r}vin, '') || ' ' || " + PLATE + " || ' ' || "
    "replace(replace(" + PLATE + ", ' ', ''), '-', '') || ' ' || "
    "coalesce({r}order_number, '') || ' ' || coalesce({r}customer_name, '')"
)


def text_of(row: str = "") -> str:
    return TEXT.format(r=row)


def upgrade() -> None:
    op.create_table(
        "car_access",
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name=op.f("fk_car_access_car_id_cars")),
        sa.ForeignKeyConstraint(
            ["dealership_id"],
            ["dealership.id"],
            name=op.f("fk_car_access_dealership_id_dealership"),
        ),
        sa.PrimaryKeyConstraint("car_id", "dealership_id", name=op.f("pk_car_access")),
    )
    op.create_index("ix_car_access_dealership_id_car_id", "car_access", ["dealership_id", "car_id"])
    op.execute(
        "INSERT INTO car_access (car_id, dealership_id) "
        "SELECT DISTINCT b.car_id, b.provider_dealership_id FROM resource_bookings b "
        "JOIN cars c ON c.id = b.car_id "
        "WHERE b.provider_dealership_id <> c.dealership_id "
        "AND (c.prep_center_id IS NULL OR b.provider_dealership_id <> c.prep_center_id)"
    )
    # Without statistics SQLite used this index for the team rows of a dealership (every team row
    # of every dealership in the date range); the two unique indexes answer every capacity lookup.
    op.drop_index("ix_resource_capacities_user_id_date", table_name="resource_capacities")
    op.create_index(
        "ix_resource_bookings_sharing",
        "resource_bookings",
        ["provider_dealership_id", "consumer_dealership_id", "resource_type_id", "date"],
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE car_search USING fts5(search_text, tokenize='trigram', content='')"
        )
        op.execute(f"INSERT INTO car_search (rowid, search_text) SELECT id, {text_of()} FROM cars")
        op.execute(
            "CREATE TRIGGER cars_search_insert AFTER INSERT ON cars BEGIN "
            f"INSERT INTO car_search (rowid, search_text) VALUES (new.id, {text_of('new.')}); END"
        )
        op.execute(
            "CREATE TRIGGER cars_search_delete AFTER DELETE ON cars BEGIN "
            "INSERT INTO car_search (car_search, rowid, search_text) "
            f"VALUES ('delete', old.id, {text_of('old.')}); END"
        )
        op.execute(
            "CREATE TRIGGER cars_search_update AFTER UPDATE OF vin, license_plate, order_number, "
            "customer_name ON cars BEGIN "
            "INSERT INTO car_search (car_search, rowid, search_text) "
            f"VALUES ('delete', old.id, {text_of('old.')}); "
            f"INSERT INTO car_search (rowid, search_text) VALUES (new.id, {text_of('new.')}); END"
        )
    else:
        # pg_trgm is a trusted extension: the owner of the database may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            f"CREATE INDEX ix_cars_search_trgm ON cars USING gin ((lower({text_of()})) gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("cars_search_insert", "cars_search_delete", "cars_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS car_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_cars_search_trgm")
    op.drop_index("ix_resource_bookings_sharing", table_name="resource_bookings")
    op.create_index(
        "ix_resource_capacities_user_id_date", "resource_capacities", ["user_id", "date"]
    )
    op.drop_index("ix_car_access_dealership_id_car_id", table_name="car_access")
    op.drop_table("car_access")
