"""The migrations build exactly the tables of ``db/models.py``, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401
from db.migrate import head_revision, upgrade
from db.schema import HEAD


def test_head_constant_matches_migrations() -> None:
    assert head_revision() == HEAD
    assert HEAD.isdigit()  # revisions are numbered so start-up can compare them without Alembic


def test_migrated_schema_matches_models(store) -> None:  # type: ignore[no-untyped-def]
    with store.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_twice_changes_nothing_and_keeps_rows(store, world) -> None:  # type: ignore[no-untyped-def]
    before = store.fast.status_counts(world["admin"])
    car_id = world.register()
    upgrade(store.url)
    assert store.fast.schema_revision() == HEAD
    after = store.fast.status_counts(world["admin"])
    assert after["registered"] == before["registered"] + 1
    assert car_id


def test_seed_names_are_the_table_and_column_names() -> None:
    tables = SQLModel.metadata.tables
    for name in (
        "cars",
        "dealership",
        "notifications",
        "resource_types",
        "resource_bookings",
        "resource_capacities",
        "resource_sharing",
        "users",
        "timebank_entries",
        "parts_orders",
        "inspection_checklist_items",
        "customer_communications",
        "car_documents",
        "events",
    ):
        assert name in tables
    columns = tables["resource_capacities"].columns
    for name in (
        "dealership_id",
        "resource_type_id",
        "date",
        "allocated_hours",
        "used_hours",
        "available_hours",
        "user_id",
        "recurrence_pattern",
    ):
        assert name in columns
    assert "max_hours_per_week" in tables["resource_sharing"].columns
