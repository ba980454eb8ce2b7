"""``prepfloor directus apply``: Directus's settings for prepfloor's collections (db/directus.py,
db/directus_apply.py).

On PostgreSQL, with Directus's own tables made as Directus 11.3.5 makes them
(``tests/directus_system.sql``; no Node needed): every status gets its vocabulary as choices, the
generated and kept fields are read-only, the bookkeeping tables are hidden, items are named by
their display templates, a second run changes nothing, and no row of Directus's own or of another
collection is touched.  SQLite and a database without Directus are refused with words that say
what to do.  The same against a running Directus: ``.ci/directus-e2e`` and test_directus_e2e.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import CheckConstraint
from sqlmodel import SQLModel
from typer.testing import CliRunner

import db.models  # noqa: F401  (every table on the metadata)
from conftest import _admin_exec, _with_database
from db import directus
from db.directus_apply import DirectusNotReady, apply
from db.urls import libpq_conninfo, normalize_url
from db.vocab import (
    BOOKING_STATUS_LABELS,
    BOOKING_STATUSES,
    CAR_STATUS_LABELS,
    CAR_STATUSES,
)
from prepfloor.cli import app as cli

SYSTEM_SQL = Path(__file__).with_name("directus_system.sql")
DIRECTUS_TABLES = ("directus_collections", "directus_fields", "directus_relations")
# What Directus 12 adds to the tables apply writes (its system migrations 20251012A
# add-field-searchable, 20260507A add-licensing, 20260512A add-autosave-revision-interval).
DIRECTUS_12_COLUMNS = (
    "ALTER TABLE directus_fields ADD COLUMN searchable boolean DEFAULT true NOT NULL",
    "ALTER TABLE directus_collections ADD COLUMN status character varying(255) "
    "DEFAULT 'active' NOT NULL",
    "ALTER TABLE directus_collections ADD COLUMN autosave_revision_interval real",
)
pg_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_conninfo(normalize_url(url)), autocommit=True)


@pytest.fixture
def pg(db_url: str) -> Iterator[str]:
    """A migrated prepfloor database on PostgreSQL with Directus's tables (and no Directus)."""
    with connect(db_url) as conn:
        conn.execute(SYSTEM_SQL.read_text())  # type: ignore[arg-type]  (our own file)
    yield db_url


def rows(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of one of Directus's tables, as text, in a fixed order."""
    key = {"directus_collections": "collection"}.get(table, "id")
    with connect(url) as conn:
        return [
            tuple(r)
            for r in conn.execute(
                f"SELECT t::text FROM {table} t ORDER BY {key}"  # type: ignore[arg-type]
            )
        ]


def field(url: str, collection: str, name: str) -> dict[str, Any]:
    with connect(url) as conn:
        cursor = conn.execute(
            "SELECT * FROM directus_fields WHERE collection = %s AND field = %s",
            (collection, name),
        )
        found = cursor.fetchall()
        assert len(found) == 1, (collection, name, found)
        names = [d.name for d in cursor.description or ()]
        return dict(zip(names, found[0], strict=True))


def collection(url: str, name: str) -> dict[str, Any]:
    with connect(url) as conn:
        cursor = conn.execute("SELECT * FROM directus_collections WHERE collection = %s", (name,))
        found = cursor.fetchone()
        assert found is not None, name
        names = [d.name for d in cursor.description or ()]
        return dict(zip(names, found, strict=True))


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["directus", "apply", *args])


# ------------------------------------------------------------------------------------------------
# What is written
# ------------------------------------------------------------------------------------------------
@pg_only
def test_every_status_is_a_dropdown_of_its_vocabulary(pg: str) -> None:
    apply(pg)
    for collection_name, values, labels in (
        ("cars", CAR_STATUSES, CAR_STATUS_LABELS),
        ("resource_bookings", BOOKING_STATUSES, BOOKING_STATUS_LABELS),
    ):
        status = field(pg, collection_name, "status")
        wanted = [{"text": labels.source(v), "value": v} for v in values]
        assert status["interface"] == "select-dropdown"
        assert status["options"]["choices"] == wanted
        assert status["display"] == "labels"
        assert status["display_options"]["choices"] == wanted
        # Directus itself refuses a value outside the vocabulary (400, not the database's 500)
        assert status["validation"] == {"_and": [{"status": {"_in": list(values)}}]}
        assert status["validation_message"].startswith("One of: ")
    nullable = field(pg, "cars", "car_type")
    assert nullable["options"]["allowNone"] is True
    assert nullable["validation"]["_and"][0]["car_type"]["_in"][-1] is None


@pg_only
def test_every_vocabulary_field_of_the_models_has_its_choices(pg: str) -> None:
    apply(pg)
    for (table, column), vocabulary in directus.VOCABULARIES.items():
        meta = field(pg, table, column)
        assert [c["value"] for c in meta["options"]["choices"]] == [
            v for v, _ in vocabulary.choices
        ]
        assert all(c["text"] for c in meta["options"]["choices"])
        assert meta["options"].get("allowOther", False) is (not vocabulary.closed)


@pg_only
def test_generated_and_kept_fields_are_read_only(pg: str) -> None:
    apply(pg)
    available = field(pg, "resource_capacities", "available_hours")
    assert available["readonly"] is True
    assert "allocated_hours - used_hours" in available["note"]
    used = field(pg, "resource_capacities", "used_hours")
    assert used["readonly"] is True and "Kept by the database" in used["note"]
    for table, name in (("cars", "created_at"), ("cars", "updated_at"), ("cars", "id")):
        assert field(pg, table, name)["readonly"] is True, (table, name)
    # the audit trail is read, not written
    for name in ("entity", "entity_id", "action", "changes", "writer", "occurred_at"):
        assert field(pg, "events", name)["readonly"] is True, name
    # secrets and file contents are out of sight
    for table, name in (
        ("users", "pin_hash"),
        ("users", "password_hash"),
        ("users", "badge_hash"),
        ("car_documents", "content"),
    ):
        meta = field(pg, table, name)
        assert meta["hidden"] is True and meta["readonly"] is True, (table, name)
    # what a car cannot be made without is asked for
    assert field(pg, "cars", "dealership_id")["required"] is True


@pg_only
def test_bookkeeping_is_hidden_and_the_business_is_not(pg: str) -> None:
    apply(pg)
    for name in ("user_keys", "car_access", "notification_preferences", "alembic_version"):
        assert collection(pg, name)["hidden"] is True, name
    for name in (
        "cars",
        "dealership",
        "users",
        "resource_bookings",
        "resource_capacities",
        "resource_sharing",
        "resource_types",
        "notifications",
        "events",
    ):
        assert collection(pg, name)["hidden"] is False, name
    assert collection(pg, "cars")["sort"] < collection(pg, "car_access")["sort"]


@pg_only
def test_items_are_named_by_their_display_templates(pg: str) -> None:
    apply(pg)
    assert collection(pg, "cars")["display_template"] == "{{brand}} {{model}} {{license_plate}}"
    assert collection(pg, "users")["display_template"] == "{{display_name}}"
    assert (
        collection(pg, "dealership")["display_template"]
        == "{{dealership_number}} {{dealership_name}}"
    )
    assert collection(pg, "cars")["icon"] == "directions_car"
    # a foreign key is a picker of the related item, named the same way
    dealer = field(pg, "cars", "dealership_id")
    assert dealer["special"] == "m2o" and dealer["interface"] == "select-dropdown-m2o"
    assert dealer["options"]["template"] == "{{dealership_number}} {{dealership_name}}"
    assert dealer["display"] == "related-values"
    seller = field(pg, "cars", "seller_id")
    assert seller["display_options"]["template"] == "{{display_name}}"


@pg_only
def test_a_cars_page_lists_its_bookings_and_history(pg: str) -> None:
    apply(pg)
    bookings = field(pg, "cars", "bookings")
    assert bookings["special"] == "o2m" and bookings["interface"] == "list-o2m"
    assert field(pg, "cars", "history")["readonly"] is True
    with connect(pg) as conn:
        found = set(
            conn.execute(
                "SELECT many_collection, many_field, one_collection, one_field "
                "FROM directus_relations"
            ).fetchall()
        )
    assert ("resource_bookings", "car_id", "cars", "bookings") in found
    assert ("events", "car_id", "cars", "history") in found
    assert len(found) == len(directus.LISTS)


# ------------------------------------------------------------------------------------------------
# Running it again; other rows; the admin's own settings
# ------------------------------------------------------------------------------------------------
@pg_only
def test_a_second_run_changes_nothing(pg: str) -> None:
    first = apply(pg)
    assert first.changes and all(c.created for c in first.changes)
    before = {t: rows(pg, t) for t in DIRECTUS_TABLES}
    second = apply(pg)
    assert second.changes == []
    assert {t: rows(pg, t) for t in DIRECTUS_TABLES} == before
    said = run_cli("--db", pg)
    assert said.exit_code == 0, said.output
    assert "nothing changed" in said.stdout
    assert {t: rows(pg, t) for t in DIRECTUS_TABLES} == before


@pg_only
def test_rows_of_directus_and_of_other_collections_are_not_touched(pg: str) -> None:
    with connect(pg) as conn:
        conn.execute(
            "INSERT INTO directus_collections (collection, icon, note, hidden) "
            "VALUES ('articles', 'article', 'the website', false), "
            "('directus_users', NULL, 'customised by the admin', true)"
        )
        conn.execute(
            "INSERT INTO directus_fields (collection, field, interface, options, readonly) "
            "VALUES ('articles', 'status', 'input', '{\"placeholder\": \"x\"}', false), "
            "('directus_users', 'email', 'input', NULL, true), "
            "('articles', 'car_id', NULL, NULL, false)"
        )
        conn.execute(
            "INSERT INTO directus_relations (many_collection, many_field, one_collection) "
            "VALUES ('articles', 'car_id', 'cars')"
        )
    others = {
        t: [r for r in rows(pg, t) if "articles" in r[0] or "directus_users" in r[0]]
        for t in DIRECTUS_TABLES
    }
    assert all(others.values())
    apply(pg)
    after = {
        t: [r for r in rows(pg, t) if "articles" in r[0] or "directus_users" in r[0]]
        for t in DIRECTUS_TABLES
    }
    assert after == others


@pg_only
def test_the_admins_own_settings_are_kept_and_prepfloors_are_put_back(pg: str) -> None:
    apply(pg)
    with connect(pg) as conn:
        # the admin: a half-width status with a placeholder, another icon and place for cars ...
        conn.execute(
            "UPDATE directus_fields SET width = 'half', "
            'options = (options::jsonb || \'{"placeholder": "Pick one"}\')::json '
            "WHERE collection = 'cars' AND field = 'status'"
        )
        conn.execute(
            "UPDATE directus_collections SET icon = 'star', sort = 99 WHERE collection = 'cars'"
        )
        # ... and, by mistake, a free text box and a shown bookkeeping table
        conn.execute(
            "UPDATE directus_fields SET interface = 'input', readonly = false "
            "WHERE collection = 'resource_capacities' AND field = 'available_hours'"
        )
        conn.execute(
            "UPDATE directus_collections SET hidden = false WHERE collection = 'car_access'"
        )
    outcome = apply(pg)
    assert {(c.name, c.columns) for c in outcome.changes} == {
        ("resource_capacities.available_hours", ("readonly",)),
        ("car_access", ("hidden",)),
    }
    status = field(pg, "cars", "status")
    assert status["width"] == "half" and status["options"]["placeholder"] == "Pick one"
    assert len(status["options"]["choices"]) == len(CAR_STATUSES)
    assert collection(pg, "cars")["icon"] == "star" and collection(pg, "cars")["sort"] == 99
    # an interface prepfloor has no opinion on stays the admin's
    assert field(pg, "resource_capacities", "available_hours")["interface"] == "input"
    assert collection(pg, "car_access")["hidden"] is True


@pg_only
def test_a_dry_run_says_what_it_would_write_and_writes_nothing(pg: str) -> None:
    said = run_cli("--dry-run", "--db", pg)
    assert said.exit_code == 0, said.output
    assert "added    cars.status" in said.stdout
    assert "dry run: nothing was changed" in said.stdout
    assert all(rows(pg, t) == [] for t in DIRECTUS_TABLES)
    done = run_cli("--db", pg)
    assert done.exit_code == 0, done.output
    assert "written" in done.stdout and "/utils/cache/clear?system" in done.stdout
    assert rows(pg, "directus_fields")


@pg_only
def test_directus_12s_extra_columns_are_left_to_their_defaults(pg: str) -> None:
    with connect(pg) as conn:
        for statement in DIRECTUS_12_COLUMNS:
            conn.execute(statement)  # type: ignore[arg-type]
    apply(pg)
    assert collection(pg, "cars")["status"] == "active"
    assert field(pg, "cars", "status")["searchable"] is True
    assert apply(pg).changes == []


# ------------------------------------------------------------------------------------------------
# Refusals
# ------------------------------------------------------------------------------------------------
def test_sqlite_is_refused(sqlite_url: str) -> None:
    said = run_cli("--db", sqlite_url)
    assert said.exit_code == 1
    assert "is a SQLite database" in said.output and "PostgreSQL" in said.output
    with pytest.raises(DirectusNotReady):
        apply(sqlite_url)
    # --db before the subcommand, as for every prepfloor command
    before = CliRunner().invoke(cli, ["--db", sqlite_url, "directus", "apply"])
    assert before.exit_code == 1 and "is a SQLite database" in before.output


@pg_only
def test_a_database_without_directus_is_refused(db_url: str) -> None:
    said = run_cli("--db", db_url)
    assert said.exit_code == 1
    assert "Directus has not been installed" in said.output
    assert "npx directus bootstrap" in said.output
    with connect(db_url) as conn:
        assert conn.execute("SELECT to_regclass('directus_fields')").fetchone() == (None,)


@pg_only
def test_a_database_without_prepfloor_is_refused(db_url: str, pg_server: str) -> None:
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin_exec(pg_server, f"CREATE DATABASE {name}")
    url = _with_database(pg_server, name)
    try:
        with connect(url) as conn:
            conn.execute(SYSTEM_SQL.read_text())  # type: ignore[arg-type]
        said = run_cli("--db", url)
        assert said.exit_code == 1
        assert "prepfloor db upgrade" in said.output
        assert rows(url, "directus_collections") == []
    finally:
        _admin_exec(pg_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pg_only
def test_a_role_that_may_not_write_directus_tables_is_told_which_to_use(pg: str) -> None:
    role = f"t_role_{uuid.uuid4().hex[:8]}"
    try:
        with connect(pg) as conn:
            conn.execute(f"CREATE ROLE {role} LOGIN")  # type: ignore[arg-type]
            conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")  # type: ignore[arg-type]
    except psycopg.errors.InsufficientPrivilege:
        pytest.skip("the test server's role may not create roles")
    try:
        base = normalize_url(pg).split("://", 1)[1]
        url = f"postgresql://{role}@{base.split('@', 1)[1]}"
        said = run_cli("--db", url)
        assert said.exit_code == 1, said.output
        assert "may not write Directus's tables" in said.output
        assert "Directus's database role" in said.output
        assert rows(pg, "directus_collections") == []
    finally:
        with connect(pg) as conn:
            conn.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")  # type: ignore[arg-type]
            conn.execute(f"DROP ROLE {role}")  # type: ignore[arg-type]


@pg_only
def test_a_wait_for_another_apply_is_bounded_and_said(pg: str) -> None:
    from db import fast
    from db.directus_apply import _LOCK_KEY

    holder = connect(pg)
    holder.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    before = fast.write_wait()
    fast.set_write_wait(0.3)
    try:
        said = run_cli("--db", pg)
    finally:
        fast.set_write_wait(before)
        holder.close()
    assert said.exit_code == 1, said.output
    assert "kept busy too long" in said.output and "nothing was changed" in said.output
    assert rows(pg, "directus_collections") == []


# ------------------------------------------------------------------------------------------------
# Derived from the code
# ------------------------------------------------------------------------------------------------
_IN = re.compile(r"^(?:(\w+) IS NULL OR )?(\w+) IN \((.*)\)$")


def test_every_check_of_a_vocabulary_has_the_same_choices() -> None:
    """Each ``column IN (...)`` CHECK constraint of the models is a closed vocabulary here with
    exactly its values, in the vocabulary's order."""
    checked = set()
    for table in SQLModel.metadata.sorted_tables:
        for constraint in table.constraints:
            if not isinstance(constraint, CheckConstraint):
                continue
            found = _IN.match(str(constraint.sqltext))
            if not found:
                continue
            column = found.group(2)
            values = [v.strip().strip("'") for v in found.group(3).split(",")]
            vocabulary = directus.VOCABULARIES[(table.name, column)]
            assert vocabulary.closed, (table.name, column)
            assert [v for v, _ in vocabulary.choices] == values, (table.name, column)
            checked.add((table.name, column))
    closed = {k for k, v in directus.VOCABULARIES.items() if v.closed}
    assert checked == closed
    assert ("cars", "status") in checked and ("resource_bookings", "status") in checked


def test_every_collection_has_a_display_template_naming_real_fields() -> None:
    tables = SQLModel.metadata.tables
    assert set(directus.DISPLAY_TEMPLATES) == set(tables)
    for name, template in directus.DISPLAY_TEMPLATES.items():
        fields = directus.template_fields(template)
        assert fields, name
        for path in fields:
            table = tables[name]
            *hops, last = path.split(".")
            for hop in hops:
                target = next(iter(table.columns[hop].foreign_keys)).column.table
                table = target
            assert last in table.columns, (name, path)


def test_the_lists_on_a_page_follow_real_foreign_keys_and_name_no_column() -> None:
    tables = SQLModel.metadata.tables
    for listing in directus.LISTS:
        many = tables[listing.many].columns[listing.many_field]
        assert next(iter(many.foreign_keys)).column.table.name == listing.collection
        assert listing.field not in tables[listing.collection].columns


def test_numeric_checks_become_validation_rules() -> None:
    assert directus.check_rule("hours", "hours >= 0") == ({"hours": {"_gte": 0}}, "0 or more.")
    assert directus.check_rule("quantity", "quantity > 0") == (
        {"quantity": {"_gt": 0}},
        "More than 0.",
    )
    assert directus.check_rule("priority", "priority BETWEEN 0 AND 100") == (
        {"priority": {"_between": [0, 100]}},
        "0 to 100.",
    )
    assert directus.check_rule("hours", "hours IS NULL OR hours >= 0") == (
        {"_or": [{"hours": {"_null": True}}, {"hours": {"_gte": 0}}]},
        "0 or more.",
    )
    assert directus.check_rule("ended_at", "ended_at IS NULL OR ended_at >= started_at") is None
    assert directus.check_rule("hours", "other >= 0") is None
    meta = {f.name: f.values for f in directus.field_metadata()}
    assert meta["resource_bookings.estimated_hours"]["validation"] == {
        "_and": [{"estimated_hours": {"_gt": 0}}]
    }
    assert meta["resource_sharing.priority"]["validation"] == {
        "_and": [{"priority": {"_between": [0, 100]}}]
    }
