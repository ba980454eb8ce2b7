"""kept totals and indexes for the whole group's dashboard

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

* `clocked_week_totals`: the hours of `clocked_day_totals` per ISO week (its Monday), kept by a
  trigger on the day totals (`db/totals_weeks.py`).  The dashboard's productivity reads a period's
  whole weeks from it.
* `closed_day_totals`: cars delivered or archived per UTC day of their status change, status,
  dealership and prep center, kept by triggers on `cars` (`db/totals_closed.py`).  The dashboard
  counts a period's closed cars from it.
* `ix_cars_handed`, `ix_cars_waiting`: the cars delivered against a promised date, handed over or
  not yet: whether a handover was late is worked out from these alone.
* `ix_clocked_day_totals_date`: the day totals of every person by date (the ends of a period).
* `ix_car_stays_early` covers what the dashboard reads of it (PostgreSQL filtered a month's stays
  rather than read it).

Both tables are kept in the same transaction as the change they count and built here from the
existing rows.  No business rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HANDED = (
    "status = 'delivered' AND expected_delivery_date IS NOT NULL "
    "AND delivered_to_customer_at IS NOT NULL"
)
WAITING = (
    "status = 'delivered' AND expected_delivery_date IS NOT NULL "
    "AND delivered_to_customer_at IS NULL"
)
INDEXES = (
    (
        "ix_cars_handed",
        [
            "status_changed_at",
            "expected_delivery_date",
            "delivered_to_customer_at",
            "dealership_id",
            "prep_center_id",
            "status",
        ],
        HANDED,
    ),
    (
        "ix_cars_waiting",
        [
            "status_changed_at",
            "expected_delivery_date",
            "dealership_id",
            "prep_center_id",
            "status",
            "delivered_to_customer_at",
        ],
        WAITING,
    ),
)


def upgrade() -> None:
    from db import totals_closed, totals_own, totals_weeks

    for name, columns, where in INDEXES:
        op.create_index(
            name, "cars", columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
        )
    totals_own.install(op.get_bind(), totals_weeks)
    totals_own.install(op.get_bind(), totals_closed)
    # the stays of cars closed early, covered: PostgreSQL read a month's stays instead
    op.execute("DROP INDEX IF EXISTS ix_car_stays_early")
    op.execute(early_index(op.get_bind().dialect.name))


def early_index(dialect: str) -> str:
    early = (
        "status IN ('delivered', 'archived') AND (status_changed_at IS NULL "
        "OR status_changed_at < ended_at)"
    )
    rest = "days, status, status_changed_at, dealership_id, prep_center_id"
    if dialect == "postgresql":
        return (
            "CREATE INDEX ix_car_stays_early ON car_stays (stage, ended_at) "
            f"INCLUDE ({rest}) WHERE {early}"
        )
    return f"CREATE INDEX ix_car_stays_early ON car_stays (stage, ended_at, {rest}) WHERE {early}"


def downgrade() -> None:
    from db import totals_closed, totals_own, totals_weeks

    totals_own.uninstall(op.get_bind(), totals_closed)
    totals_own.uninstall(op.get_bind(), totals_weeks)
    op.execute("DROP INDEX IF EXISTS ix_clocked_day_totals_date")
    for name, _columns, _where in INDEXES:
        op.drop_index(name, table_name="cars")
    op.execute("DROP INDEX IF EXISTS ix_car_stays_early")
    op.execute(
        "CREATE INDEX ix_car_stays_early ON car_stays (stage, ended_at) WHERE status IN "
        "('delivered', 'archived') AND (status_changed_at IS NULL OR status_changed_at < ended_at)"
    )
