"""``prepfloor db adopt``: prepfloor on a business's existing Directus database (db/adopt.py).

The database is ``tests/directus_seed.sql``: the seed's seven collections as Directus 11 creates
them on PostgreSQL, its users and roles, a dealership, a car, a booking.  ``--check`` says what
adopting would do and changes nothing; a field prepfloor cannot use blocks adoption with the words
that say what to change; adopting keeps every Directus row, adds prepfloor's tables, copies the
staff into ``users`` and keeps the copy in step (trigger), after which the upgrade, doctor, the
store and the ledger work on it as on prepfloor's own database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from conftest import _admin_exec, _with_database
from db.urls import libpq_conninfo, normalize_url
from prepfloor.cli import app as cli

SEED_SQL = Path(__file__).with_name("directus_seed.sql")
ADA = uuid.UUID("9fc15ba7-9f48-4bbe-930e-2b16a9cf6bb0")  # Administrator
PER = uuid.UUID("2d3c4b5a-6978-4a1b-8c2d-3e4f5a6b7c8d")  # Planner, dealership 1
SIRI = uuid.UUID("7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d")  # Planner, suspended
DIRECTUS_COLLECTIONS = (
    "directus_roles",
    "directus_users",
    "dealership",
    "resource_types",
    "cars",
    "notifications",
    "resource_bookings",
    "resource_capacities",
    "resource_sharing",
)
OPTIONS = ("--role", "Planner=coordinator", "--dealership-field", "dealership_id")
runner = CliRunner()


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection as Directus has one: not prepfloor's (its triggers treat it as another tool)."""
    return psycopg.connect(libpq_conninfo(normalize_url(url)), autocommit=True)


def sql(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        cursor = conn.execute(statement, params or None)  # type: ignore[arg-type]
        return list(cursor.fetchall()) if cursor.description else []


def adopt_cli(url: str, *args: str) -> Any:
    return runner.invoke(cli, ["db", "adopt", "--db", url, *args])


@pytest.fixture
def directus_url(pg_server: str) -> Iterator[str]:
    """An empty database with the fixture loaded: Directus before prepfloor."""
    name = f"dx_{uuid.uuid4().hex[:16]}"
    _admin_exec(pg_server, f"CREATE DATABASE {name}")
    url = _with_database(pg_server, name)
    try:
        with connect(url) as conn:
            conn.execute(SEED_SQL.read_text())  # type: ignore[arg-type]  (our own file)
        yield url
    finally:
        _admin_exec(pg_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def adopted(directus_url: str) -> str:
    said = adopt_cli(directus_url, *OPTIONS)
    assert said.exit_code == 0, said.output
    return directus_url


def columns_of(url: str, table: str) -> list[str]:
    return [
        r[0]
        for r in sql(
            url,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = %s ORDER BY ordinal_position",
            table,
        )
    ]


def rows_of(url: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return sql(url, f"SELECT {listed} FROM {table} ORDER BY id")


def directus_rows(url: str, columns: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every Directus row, with the columns Directus made."""
    return {table: rows_of(url, table, cols) for table, cols in columns.items()}


def schema_of(url: str) -> list[tuple[Any, ...]]:
    """Tables, columns (type, nullable, default), constraints, indexes and triggers."""
    return [
        *sql(
            url,
            "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, "
            "column_default FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY 1, 2",
        ),
        *sql(url, "SELECT conname, conrelid::regclass::text FROM pg_constraint ORDER BY 1, 2"),
        *sql(
            url, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
        ),
        *sql(url, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"),
    ]


def line(output: str, where: str, level: str = "") -> str:
    """The report's line about ``where`` (a collection or ``collection.field``) at ``level``."""
    found = [
        ln for ln in output.splitlines() if ln.split()[1:2] == [where] and ln.startswith(level)
    ]
    assert len(found) == 1, (where, output)
    return found[0]


# ------------------------------------------------------------------------------------------------
# the check
# ------------------------------------------------------------------------------------------------
def test_check_says_what_adopting_would_do_and_changes_nothing(directus_url: str) -> None:
    columns = {t: columns_of(directus_url, t) for t in DIRECTUS_COLLECTIONS}
    before_rows, before_schema = directus_rows(directus_url, columns), schema_of(directus_url)
    said = adopt_cli(directus_url, "--check", *OPTIONS)
    assert said.exit_code == 0, said.output
    out = said.output
    # one line per field: present and compatible (a type Directus made differently included)
    assert line(out, "cars.vin").startswith("OK") and "character varying(17)" in out
    assert line(out, "cars.brand").startswith("OK")  # varchar(255) for prepfloor's 60
    assert line(out, "cars.estimated_cosmetic_hours").startswith("OK")  # numeric(10,5)
    assert line(out, "resource_types.default_duration_hours").startswith("ADD")  # real, NOT NULL
    assert "→ directus_users.id" in line(out, "cars.seller_id")
    assert line(out, "cars.seller_id").startswith("OK")
    # prepfloor's own fields and tables: will be added
    assert "will be added" in line(out, "cars.status_changed_at")
    assert "will be added" in line(out, "notifications.priority")
    assert "will be added" in line(out, "parts_orders")
    assert "will be added" in line(out, "events")
    assert "copy of directus_users (3 users, 2 active" in line(out, "users")
    assert "will be made required" in line(out, "cars.dealership_id")
    assert line(out, "resource_capacities.available_hours").startswith("NOTE")
    assert "'Planner' (2 users) → prepfloor coordinator (given with --role)" in out
    assert "'Administrator' (1 user) → prepfloor admin (same name)" in out
    assert not [ln for ln in out.splitlines() if ln.startswith(("BLOCK", "WARN"))], out
    assert "nothing blocks adopting" in out and "Nothing was changed" in out
    # nothing changed: not a row, not a column, constraint, index or trigger
    assert directus_rows(directus_url, columns) == before_rows
    assert schema_of(directus_url) == before_schema


def test_a_field_prepfloor_cannot_use_blocks_adoption_with_what_to_change(
    directus_url: str,
) -> None:
    sql(directus_url, "ALTER TABLE cars ALTER COLUMN vin TYPE varchar(10) USING left(vin, 10)")
    sql(directus_url, "ALTER TABLE resource_bookings ALTER COLUMN date TYPE text")
    sql(directus_url, "ALTER TABLE cars DROP COLUMN color")
    before = schema_of(directus_url)
    checked = adopt_cli(directus_url, "--check", *OPTIONS)
    assert checked.exit_code == 1
    vin = line(checked.output, "cars.vin", "BLOCK")
    assert "character varying(10)" in vin and "up to 17 characters" in vin
    assert "set its max length to 17 or more" in vin
    day = line(checked.output, "resource_bookings.date")
    assert day.startswith("BLOCK") and "is text: prepfloor needs Date (DATE)" in day
    assert "ALTER TABLE resource_bookings ALTER COLUMN date TYPE DATE USING date::DATE" in day
    color = line(checked.output, "cars.color")
    assert color.startswith("BLOCK") and "add the field color to cars" in color
    assert "adopting is blocked" in checked.output
    # without --check: refused the same way, nothing changed
    refused = adopt_cli(directus_url, *OPTIONS)
    assert refused.exit_code == 1 and "adopting is blocked" in refused.output
    assert schema_of(directus_url) == before


def test_rows_that_break_prepfloors_rules_are_listed_and_their_rule_left_out(
    directus_url: str,
) -> None:
    sql(
        directus_url,
        "INSERT INTO cars (id, vin, brand, dealership_id, status) VALUES "
        "(7, 'SHORTVIN', 'Volvo', 1, 'registered'), (8, NULL, 'Audi', 1, 'waiting')",
    )
    said = adopt_cli(directus_url, "--check", *OPTIONS)
    assert said.exit_code == 0, said.output
    warned = [ln for ln in said.output.splitlines() if ln.startswith("WARN")]
    assert any("1 row breaks prepfloor's rule status IN" in w and "(id 8)" in w for w in warned)
    assert any("2 cars past draft have a VIN prepfloor refuses (ids 7, 8" in w for w in warned)
    adopted = adopt_cli(directus_url, *OPTIONS)
    assert adopted.exit_code == 0, adopted.output
    names = {r[0] for r in sql(directus_url, "SELECT conname FROM pg_constraint")}
    assert "ck_cars_status" not in names and "ck_cars_car_type" in names
    # fixed in Directus, adopting again adds the rule
    sql(directus_url, "UPDATE cars SET status = 'registered' WHERE id = 8")
    again = adopt_cli(directus_url)
    assert again.exit_code == 0, again.output
    assert "already adopted" in again.output
    names = {r[0] for r in sql(directus_url, "SELECT conname FROM pg_constraint")}
    assert "ck_cars_status" in names


def test_sqlite_and_a_database_without_directus_are_refused(
    sqlite_url: str, pg_server: str
) -> None:
    said = adopt_cli(sqlite_url, "--check")
    assert said.exit_code == 1 and "PostgreSQL only" in said.output
    name = f"dx_{uuid.uuid4().hex[:16]}"
    _admin_exec(pg_server, f"CREATE DATABASE {name}")
    url = _with_database(pg_server, name)
    try:
        sql(url, "CREATE TABLE cars (id serial PRIMARY KEY, vin varchar(17))")
        said = adopt_cli(url)
        assert said.exit_code == 1
        assert "this is not a Directus database" in line(said.output, "directus_users")
        # and before adoption prepfloor says how to get there, instead of failing halfway
        bad = adopt_cli(url, "--role", "Planner")
        assert bad.exit_code == 1 and "DIRECTUS_ROLE_NAME=ROLE" in bad.output
    finally:
        _admin_exec(pg_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_database_of_prepfloors_own_has_nothing_to_adopt(store) -> None:  # type: ignore[no-untyped-def]
    url = store.url
    if not url.startswith("postgresql"):
        pytest.skip("adopting is for PostgreSQL; SQLite's refusal is tested above")
    said = adopt_cli(url, "--check")
    assert said.exit_code == 1
    assert "prepfloor's own already" in line(said.output, "alembic_version")


def test_before_adoption_start_and_upgrade_point_to_adopt(directus_url: str) -> None:
    from db.store import SchemaMismatch, Store

    store = Store(directus_url)
    try:
        with pytest.raises(SchemaMismatch, match="prepfloor db adopt"):
            store.ensure_schema()
    finally:
        store.close()
    said = runner.invoke(cli, ["db", "upgrade", "--db", directus_url])
    assert said.exit_code == 1 and "prepfloor db adopt --check" in said.output
    assert sql(directus_url, "SELECT to_regclass('alembic_version')") == [(None,)]


# ------------------------------------------------------------------------------------------------
# adopting
# ------------------------------------------------------------------------------------------------
def test_adopting_keeps_directus_rows_and_adds_prepfloor(directus_url: str) -> None:
    from db.schema import HEAD

    columns = {t: columns_of(directus_url, t) for t in DIRECTUS_COLLECTIONS}
    before = directus_rows(directus_url, columns)
    said = adopt_cli(directus_url, *OPTIONS)
    assert said.exit_code == 0, said.output
    assert f"adopted at schema {HEAD}, 3 Directus users copied" in said.output
    # every Directus row and column as it was; prepfloor's fields and tables beside them
    assert directus_rows(directus_url, columns) == before
    for table, cols in columns.items():
        assert columns_of(directus_url, table)[: len(cols)] == cols
    assert "status_changed_at" in columns_of(directus_url, "cars")
    assert sql(directus_url, "SELECT priority, digest FROM notifications") == [("medium", False)]
    for table in ("users", "parts_orders", "timebank_entries", "events", "car_access"):
        assert sql(directus_url, f"SELECT to_regclass('{table}') IS NOT NULL") == [(True,)]
    assert sql(directus_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert sql(directus_url, "SELECT count(*) FROM prepfloor_adoption") == [(1,)]
    # users: the staff as Directus has them, the role through the map, the dealership field
    assert sql(
        directus_url,
        "SELECT id, login, display_name, email, role, dealership_id, active FROM users "
        "ORDER BY login",
    ) == [
        (ADA, "ada", "Ada Admin", "ada@example.com", "admin", None, True),
        (PER, "per.planner", "Per Planner", "per.planner@example.com", "coordinator", 1, True),
        (SIRI, "siri", "Siri Suspended", "siri@example.com", "coordinator", 1, False),
    ]
    assert sql(directus_url, "SELECT directus_role, role FROM prepfloor_role_map ORDER BY 1") == [
        ("Administrator", "admin"),
        ("Planner", "coordinator"),
    ]


def test_the_copy_follows_directus_and_keeps_prepfloors_columns(adopted: str) -> None:
    from db import users
    from db.store import Store

    store = Store(adopted)
    try:
        assert store.ensure_schema() == "current"
        store.run(users.set_pin, None, PER, "4821")
        pin = sql(adopted, "SELECT pin_hash FROM users WHERE id = %s", PER)[0][0]
        # staff are added and changed in Directus, and prepfloor says so
        from db.errors import Invalid

        with pytest.raises(Invalid, match="Staff are kept in Directus"):
            store.run(
                users.create_user, None, login="x", display_name="X", role="seller",
                dealership_id=None,
            )  # fmt: skip
        assert pin and users.verify_secret("4821", pin)
        # Directus renames and moves the user: the copy follows, the PIN stays
        sql(adopted, "UPDATE directus_users SET first_name = 'Peder', email = 'peder@example.com' "
            "WHERE id = %s", PER)  # fmt: skip
        assert sql(
            adopted, "SELECT display_name, email, login, pin_hash FROM users WHERE id = %s", PER
        ) == [("Peder Planner", "peder@example.com", "per.planner", pin)]
        # Directus's sign-in writes last_access: not a copied column, nothing happens
        sql(adopted, "UPDATE directus_users SET last_access = now() WHERE id = %s", PER)
        # a new Directus user is copied, with a login made unique
        sql(
            adopted,
            "INSERT INTO directus_users (id, first_name, email, status, role) "
            "SELECT %s, 'Ada', 'ada@elsewhere.example', 'active', id FROM directus_roles "
            "WHERE name = 'Planner'",
            uuid.UUID(int=5),
        )
        assert sql(adopted, "SELECT login, role, active FROM users WHERE id = %s", uuid.UUID(int=5)) == [
            ("ada2", "coordinator", True)
        ]  # fmt: skip
        # suspended, then deleted in Directus: inactive in prepfloor, never deleted
        sql(adopted, "UPDATE directus_users SET status = 'suspended' WHERE id = %s", PER)
        assert sql(adopted, "SELECT active FROM users WHERE id = %s", PER) == [(False,)]
        sql(adopted, "UPDATE directus_users SET status = 'active' WHERE id = %s", PER)
        assert sql(adopted, "SELECT active FROM users WHERE id = %s", PER) == [(True,)]
        # a user with prepfloor history cannot be deleted in Directus (its relations would empty
        # prepfloor's required fields): suspending is the way, said in words
        with pytest.raises(psycopg.errors.RestrictViolation, match="suspend the user"):
            sql(adopted, "DELETE FROM directus_users WHERE id = %s", PER)
        sql(adopted, "DELETE FROM directus_users WHERE id = %s", SIRI)
        sql(adopted, "UPDATE directus_users SET status = 'active' WHERE id = %s", ADA)
        assert sql(adopted, "SELECT display_name, active FROM users WHERE id = %s", SIRI) == [
            ("Siri Suspended", False)
        ]
        # the role map is the database's: a role mapped anew is followed at once
        sql(
            adopted,
            "UPDATE prepfloor_role_map SET role = 'manager' WHERE directus_role = 'Planner'",
        )
        assert sql(adopted, "SELECT role FROM users WHERE id = %s", PER) == [("manager",)]
        # the copied columns are Directus's: changing them in prepfloor is refused
        with pytest.raises(psycopg.errors.CheckViolation, match="kept in Directus"):
            sql(adopted, "UPDATE users SET role = 'admin' WHERE id = %s", PER)
        with pytest.raises(psycopg.errors.CheckViolation, match="add the user there"):
            sql(
                adopted,
                "INSERT INTO users (id, login, display_name, role, active, failed_pin_attempts) "
                "VALUES (gen_random_uuid(), 'ghost', 'Ghost', 'admin', true, 0)",
            )
        # what Directus holds is data: control characters never reach prepfloor's copy
        sql(
            adopted,
            "UPDATE directus_users SET first_name = %s WHERE id = %s",
            "Per\x1b[31m\n[b]",
            PER,
        )
        assert sql(adopted, "SELECT display_name FROM users WHERE id = %s", PER) == [
            ("Per[31m [b] Planner",)
        ]
        # prepfloor's own columns stay prepfloor's to change
        sql(adopted, "UPDATE users SET language = 'nb' WHERE id = %s", PER)
        assert sql(adopted, "SELECT language, pin_hash FROM users WHERE id = %s", PER) == [
            ("nb", pin)
        ]
    finally:
        store.close()


def test_after_adopting_upgrade_doctor_and_the_ledger_work(adopted: str) -> None:
    from db import capacity, ledger
    from db.adopt import schema_differences
    from db.clock import local_today
    from db.engine import make_engine
    from db.schema import HEAD
    from db.store import Store

    upgraded = runner.invoke(cli, ["db", "upgrade", "--db", adopted])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema {HEAD} → {HEAD}" in upgraded.output
    doctor = runner.invoke(cli, ["doctor", "--db", adopted])
    assert doctor.exit_code == 0, doctor.output
    assert "0 error(s), 0 warning(s)" in doctor.output
    # the schema is prepfloor's, but for the types and user relations Directus made its own way
    engine = make_engine(adopted)
    try:
        with engine.connect() as connection:
            assert schema_differences(connection) == []
    finally:
        engine.dispose()
    # a coordinator signs in and books through prepfloor's rules
    store = Store(adopted)
    try:
        assert store.ensure_schema() == "current"
        per = store.fast.actor("per.planner")
        assert per is not None and per.role == "coordinator"
        day = local_today() + timedelta(days=3)
        store.run(
            capacity.set_capacity,
            per,
            dealership_id=1,
            resource_type_id=1,
            date=day,
            allocated_hours=8,
        )
        booking = store.run(
            ledger.book, per, resource_type_id=1, date=day, estimated_hours=2.5, car_id=1
        )
        assert booking.id == 2  # after Directus's booking #1: the sequence Directus made
        assert sql(
            adopted,
            "SELECT allocated_hours, used_hours, available_hours FROM resource_capacities "
            "WHERE date = %s AND user_id IS NULL",
            day,
        ) == [(8.0, 2.5, 5.5)]
        assert sql(adopted, "SELECT count(*) FROM events WHERE entity = 'resource_bookings'") == [
            (1,)
        ]
    finally:
        store.close()
    # a booking Directus writes is counted by the database's ledger too (migration 0011)
    sql(
        adopted,
        "INSERT INTO resource_bookings (car_id, resource_type_id, date, estimated_hours, "
        "provider_dealership_id, consumer_dealership_id) VALUES (1, 1, %s, 1.5, 1, 1)",
        day,
    )
    assert sql(
        adopted,
        "SELECT used_hours, available_hours FROM resource_capacities "
        "WHERE date = %s AND user_id IS NULL",
        day,
    ) == [(4.0, 4.0)]
    doctor = runner.invoke(cli, ["doctor", "--db", adopted])
    assert doctor.exit_code == 0, doctor.output


def test_adopting_twice_is_safe(adopted: str) -> None:
    from sqlalchemy import text

    from db.engine import make_engine

    before = schema_of(adopted)
    said = adopt_cli(adopted, *OPTIONS)
    assert said.exit_code == 0, said.output
    assert "already adopted on" in said.output
    assert not [ln for ln in said.output.splitlines() if ln.startswith(("ADD", "BLOCK"))]
    assert schema_of(adopted) == before
    checked = adopt_cli(adopted, "--check")
    assert checked.exit_code == 0 and "already adopted on" in checked.output
    # a new --role mapping is followed
    remapped = adopt_cli(adopted, "--role", "Administrator=manager")
    assert remapped.exit_code == 0, remapped.output
    assert sql(adopted, "SELECT role FROM users WHERE id = %s", ADA) == [("manager",)]
    engine = make_engine(adopted)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 3
    finally:
        engine.dispose()


def test_schema_comparisons_never_propose_dropping_directus_or_adoption_tables(
    adopted: str,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from db.engine import make_engine
    from db.schema import prepfloor_owns

    engine = make_engine(adopted)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": prepfloor_owns}
            )
            diffs = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    flat = [d for diff in diffs for d in (diff if isinstance(diff, list) else [diff])]
    dropped = [d for d in flat if d[0] in ("remove_table", "remove_column")]
    assert dropped == []
    touched = {getattr(d[1], "name", None) for d in flat if d[0].endswith("_table")}
    assert not touched & {"directus_users", "directus_roles", "prepfloor_role_map"}


def test_login_field_unmapped_roles_and_a_lost_trigger(directus_url: str) -> None:
    """``--login-field`` gives the login (followed on change); a Directus role nobody mapped
    leaves its users inactive until a later ``--role``; a trigger dropped by hand is found by
    ``--check`` and made again by adopting again."""
    sql(directus_url, "UPDATE directus_users SET external_identifier = 'PPLAN' WHERE id = %s", PER)
    sql(
        directus_url,
        "INSERT INTO directus_roles (id, name, icon) VALUES (%s, 'Verksted', 'build')",
        uuid.UUID(int=9),
    )
    sql(directus_url, "UPDATE directus_users SET role = %s WHERE id = %s", uuid.UUID(int=9), SIRI)
    sql(directus_url, "UPDATE directus_users SET status = 'active' WHERE id = %s", SIRI)
    checked = adopt_cli(directus_url, "--check", "--login-field", "external_identifier")
    assert checked.exit_code == 0, checked.output
    assert "'Verksted' (1 user) is not mapped" in checked.output
    assert "--role 'Verksted=mechanic'" in checked.output
    assert "'Planner' (1 user) is not mapped" in checked.output
    said = adopt_cli(directus_url, "--login-field", "external_identifier")
    assert said.exit_code == 0, said.output
    assert sql(directus_url, "SELECT id, login, active FROM users ORDER BY login") == [
        (ADA, "ada", True),
        (PER, "pplan", False),  # no role mapped: copied, not signed in
        (SIRI, "siri", False),
    ]
    sql(directus_url, "UPDATE directus_users SET external_identifier = 'per' WHERE id = %s", PER)
    assert sql(directus_url, "SELECT login FROM users WHERE id = %s", PER) == [("per",)]
    sql(directus_url, "DROP TRIGGER prepfloor_mirror_update ON directus_users")
    lost = adopt_cli(directus_url, "--check")
    assert "prepfloor_mirror_update on directus_users is missing" in lost.output
    mapped = adopt_cli(directus_url, "--role", "Verksted=mechanic", "--role", "Planner=coordinator")
    assert mapped.exit_code == 0, mapped.output
    assert "already adopted" in mapped.output
    assert sql(directus_url, "SELECT login, role, active FROM users ORDER BY login") == [
        ("ada", "admin", True),
        ("per", "coordinator", True),
        ("siri", "mechanic", True),
    ]
    sql(directus_url, "UPDATE directus_users SET status = 'suspended' WHERE id = %s", SIRI)
    assert sql(directus_url, "SELECT active FROM users WHERE id = %s", SIRI) == [(False,)]
