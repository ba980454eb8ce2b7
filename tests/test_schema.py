"""The migrations build exactly the tables of ``db/models.py``, on both engines."""

from __future__ import annotations

import pytest
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
    from db.schema import prepfloor_owns

    with store.db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": prepfloor_owns}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_another_tools_tables_are_never_proposed_for_dropping(store) -> None:  # type: ignore[no-untyped-def]
    """A group that runs Directus (or a BI tool) on prepfloor's database: a schema comparison,
    as ``alembic revision --autogenerate`` makes it, proposes nothing about their tables."""
    from sqlalchemy import text

    from db.schema import prepfloor_owns

    with store.db.engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE directus_users (id VARCHAR(36) PRIMARY KEY, email TEXT)")
        )
        connection.execute(
            text("CREATE TABLE directus_fields (id INTEGER PRIMARY KEY, field TEXT)")
        )
        connection.execute(text("CREATE INDEX directus_users_email ON directus_users (email)"))
    with store.db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": prepfloor_owns}
        )
        assert compare_metadata(context, SQLModel.metadata) == []
        # without the filter the comparison would drop them: the test would catch a lost filter
        bare = MigrationContext.configure(connection, opts={"compare_type": True})
        dropped = {
            d[1].name for d in compare_metadata(bare, SQLModel.metadata) if d[0] == "remove_table"
        }
        assert {"directus_users", "directus_fields"} <= dropped


def test_every_table_has_a_single_column_primary_key() -> None:
    """Directus (and most tools) address a row by one key: a two-column key hides the table's
    items (``car_access`` had one: 403 in Directus)."""

    several = {
        t.name: [c.name for c in t.primary_key.columns]
        for t in SQLModel.metadata.sorted_tables
        if len(t.primary_key.columns) != 1
    }
    assert several == {}


def test_the_search_migration_uses_the_search_text_of_the_code() -> None:
    """0002 froze a copy of db.search's text; if the code's text changes, a migration must too."""
    import importlib.util
    from pathlib import Path

    from db import search

    path = (
        Path(search.__file__).parent / "migrations" / "versions" / "0002_car_access_and_search.py"
    )
    spec = importlib.util.spec_from_file_location("m0002", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for prefix in ("", "new.", "old."):
        assert migration.text_of(prefix) == search.search_text_sql(prefix)


def test_upgrade_from_the_first_schema_keeps_rows_and_fills_the_new_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from db.access import Actor
    from db.engine import Database
    from db.fast import CarQuery, FastReader

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    db = Database(url)
    # a world on the old schema, written with plain SQL where the new code would touch car_access
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dealership (id, dealership_number, dealership_name, "
                "dealership_type, does_own_prep, active) VALUES "
                "(1, '499', 'Porsgrunn', 'sales_and_prep', 1, 1), "
                "(2, '498', 'Skien', 'prep_center_only', 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO resource_types (id, code, name, active, is_productive, "
                "bookable, requires_assignment, default_duration_hours) VALUES "
                "(1, 'WASH', 'Vehicle Washing', 1, 0, 1, 0, 1)"
            )
        )
        # a user that a car refers to: a later migration that copies `users` to change it
        # would fail on these foreign keys
        conn.execute(
            text(
                "INSERT INTO users (id, login, display_name, role, dealership_id, active, "
                "failed_pin_attempts) VALUES ('0123456789abcdef0123456789abcdef', 'kari', "
                "'Kari', 'seller', 1, 1, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cars (id, vin, license_plate, customer_name, dealership_id, "
                "prep_center_id, status, seller_id) VALUES (1, 'WBA00000000000001', 'EL 12345', "
                "'Berit Olsen', 1, 1, 'registered', '0123456789abcdef0123456789abcdef')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO resource_bookings (car_id, resource_type_id, date, "
                "estimated_hours, provider_dealership_id, consumer_dealership_id, "
                "status) VALUES (1, 1, '2030-01-07', 1, 2, 1, 'scheduled')"
            )
        )
    db.dispose()
    upgrade(url)
    fast = FastReader(url)
    assert fast.schema_revision() == HEAD
    assert fast.rows("SELECT car_id, dealership_id FROM car_access") == [(1, 2)]
    assert fast.rows("SELECT login, is_terminal FROM users") == [("kari", 0)]

    skien = Actor(
        user_id=__import__("uuid").uuid4(),
        login="x",
        display_name="x",
        role="coordinator",
        dealership_id=2,
        dealership_ids=frozenset({2}),
    )
    assert fast.car_count(skien, CarQuery()) == 1  # Skien works on the car: it sees it
    assert fast.car_count(skien, CarQuery(search="el12345")) == 1  # the search index was filled
    assert fast.car_count(skien, CarQuery(search="olsen")) == 1
    fast.close()


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


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_has_the_models_defaults(store) -> None:  # type: ignore[no-untyped-def]
    """Another writer on the PostgreSQL database (Directus, psql) gets the defaults prepfloor
    would give: every scalar default of the models is the column's default in the database, and
    the times a row was made default to now."""
    from sqlalchemy import text

    wanted = {
        (t.name, c.name): c.default.arg
        for t in SQLModel.metadata.sorted_tables
        for c in t.columns
        if c.default is not None and getattr(c.default, "is_scalar", False) and not c.primary_key
    }
    with store.db.engine.connect() as connection:
        found = {
            (table, column): default
            for table, column, default in connection.execute(
                text(
                    "SELECT table_name, column_name, column_default "
                    "FROM information_schema.columns WHERE table_schema = current_schema()"
                )
            )
        }
        for (table, column), value in wanted.items():
            default = found[(table, column)]
            assert default is not None, (table, column)
            shown = default.split("::")[0].strip("'")
            assert shown == str(value).lower() or float(shown) == value, (table, column, default)
    assert found[("cars", "created_at")] == "now()"
    assert "gen_random_uuid" in found[("users", "id")]
    # a car as Directus creates it: only the columns without a default
    with store.db.engine.begin() as write:
        dealer = write.execute(
            text(
                "INSERT INTO dealership (dealership_number, dealership_name) "
                "VALUES ('900', 'Directus test') RETURNING id, active, dealership_type"
            )
        ).one()
        assert dealer[1] is True and dealer[2] == "sales_and_prep"
        car = write.execute(
            text(
                "INSERT INTO cars (dealership_id, brand) VALUES (:d, 'Volvo') "
                "RETURNING status, car_type, created_at IS NOT NULL"
            ),
            {"d": dealer[0]},
        ).one()
        assert tuple(car) == ("draft", "new", True)
