"""car_access gets a one-column key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Every table has a single-column primary key, so that Directus (and other tools that address a row
by one key) can read and write each collection: `car_access` had a two-column key (car, dealership),
and Directus ignored the table (403 on its items).  It gets an `id` key; the pair stays unique
(`uq_car_access_car_id_dealership_id`).  Every row is kept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_car_access_dealership_id_car_id"
UNIQUE = "uq_car_access_car_id_dealership_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE car_access DROP CONSTRAINT pk_car_access")
        op.execute("ALTER TABLE car_access ADD COLUMN id SERIAL")
        op.execute("ALTER TABLE car_access ADD CONSTRAINT pk_car_access PRIMARY KEY (id)")
        op.create_unique_constraint(UNIQUE, "car_access", ["car_id", "dealership_id"])
        return
    # SQLite cannot change a primary key: a new table, the rows copied, the old one dropped
    # (nothing refers to car_access, so no foreign key is in the way)
    op.create_table(
        "car_access_new",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name="fk_car_access_car_id_cars"),
        sa.ForeignKeyConstraint(
            ["dealership_id"], ["dealership.id"], name="fk_car_access_dealership_id_dealership"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_car_access"),
        sa.UniqueConstraint("car_id", "dealership_id", name=UNIQUE),
    )
    op.execute(
        "INSERT INTO car_access_new (car_id, dealership_id) "
        "SELECT car_id, dealership_id FROM car_access ORDER BY car_id, dealership_id"
    )
    op.drop_index(INDEX, table_name="car_access")
    op.drop_table("car_access")
    op.rename_table("car_access_new", "car_access")
    op.create_index(INDEX, "car_access", ["dealership_id", "car_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(UNIQUE, "car_access", type_="unique")
        op.execute("ALTER TABLE car_access DROP CONSTRAINT pk_car_access")
        op.execute("ALTER TABLE car_access DROP COLUMN id")
        op.execute(
            "ALTER TABLE car_access ADD CONSTRAINT pk_car_access PRIMARY KEY (car_id, dealership_id)"
        )
        return
    op.create_table(
        "car_access_old",
        sa.Column("car_id", sa.Integer(), nullable=False),
        sa.Column("dealership_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["car_id"], ["cars.id"], name="fk_car_access_car_id_cars"),
        sa.ForeignKeyConstraint(
            ["dealership_id"], ["dealership.id"], name="fk_car_access_dealership_id_dealership"
        ),
        sa.PrimaryKeyConstraint("car_id", "dealership_id", name="pk_car_access"),
    )
    op.execute(
        "INSERT INTO car_access_old (car_id, dealership_id) "
        "SELECT car_id, dealership_id FROM car_access"
    )
    op.drop_index(INDEX, table_name="car_access")
    op.drop_table("car_access")
    op.rename_table("car_access_old", "car_access")
    op.create_index(INDEX, "car_access", ["dealership_id", "car_id"])
