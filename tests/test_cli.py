"""The ``prepfloor`` command line against a real database (both engines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import prepfloor.commands
import prepfloor.config
from db import ledger, users
from db.schema import HEAD
from db.text import one_line, shown
from prepfloor.cli import app
from prepfloor.config import Locations

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own config files and data folder stay out of the tests."""
    where = Locations(
        user_config=tmp_path / "config" / "config.toml",
        site_config=tmp_path / "site" / "config.toml",
        data_dir=tmp_path / "data",
    )
    monkeypatch.setattr(prepfloor.config, "locations", lambda: where)
    monkeypatch.setattr(prepfloor.commands, "locations", lambda: where)
    monkeypatch.delenv(prepfloor.config.ENV_URL, raising=False)


def cli(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=input)


def test_users_add_list_set_pin(world: Any, store: Any) -> None:
    url = store.url
    result = cli(
        "users", "add", "olga", "--name", "Olga Nilsen", "--role", "mechanic",
        "--dealership", "499", "--email", "olga@example.no", "--db", url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Added olga (mechanic)." in result.stdout

    result = cli("users", "list", "--db", url)
    assert result.exit_code == 0, result.output
    assert "olga" in result.stdout and "Olga Nilsen" in result.stdout
    assert "coordinator499" in result.stdout

    result = cli("users", "set-pin", "olga", "--db", url, input="1234\n1234\n")
    assert result.exit_code == 0, result.output
    assert "PIN set for olga." in result.stdout
    actor = world.db.run(users.sign_in, "olga", "1234")
    assert actor.role == "mechanic" and actor.dealership_id == world.d["499"]

    result = cli("users", "set-pin", "olga", "--db", url, input="1234\n4321\n")
    assert result.exit_code == 1
    assert "differ" in result.stderr

    result = cli("users", "set-pin", "olga", "--clear", "--db", url)
    assert result.exit_code == 0
    assert world.db.run(users.sign_in, "olga", None).login == "olga"


def test_users_add_refusals(world: Any, store: Any) -> None:
    result = cli("users", "add", "x", "--name", "X", "--role", "mechanic", "--dealership", "1",
                 "--db", store.url)  # fmt: skip
    assert result.exit_code == 1 and "no dealership number 1" in result.stderr
    result = cli("users", "add", "seller495", "--name", "Again", "--role", "seller",
                 "--dealership", "495", "--db", store.url)  # fmt: skip
    assert result.exit_code == 1 and "already a user" in result.stderr
    result = cli("users", "add", "pia", "--name", "Pia", "--role", "detailer", "--dealership",
                 "499", "--pin", "--db", store.url, input="12\n12\n")  # fmt: skip
    assert result.exit_code == 1 and "4 to 8 digits" in result.stderr


def test_doctor_clean_then_corrupted(world: Any, store: Any) -> None:
    world.db.run(
        ledger.book,
        world["coordinator499"],
        resource_type_id=world.rt["TECH_PREP"],
        date=world.day(1),
        estimated_hours=4,
        user_id=world["mechanic499"].user_id,
    )
    result = cli("doctor", "--db", store.url)
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.stdout

    with world.db.write() as session:
        session.execute(
            text(
                "UPDATE resource_capacities SET used_hours = used_hours + 3 "
                "WHERE id = (SELECT min(id) FROM resource_capacities)"
            )
        )
    result = cli("doctor", "--db", store.url)
    assert result.exit_code == 1
    assert "ledger" in result.stdout and "1 error(s)" in result.stdout


def test_export(world: Any, store: Any, tmp_path: Path) -> None:
    world.register()
    result = cli("export", "cars", "--format", "json", "--db", store.url)
    assert result.exit_code == 0, result.output
    cars = json.loads(result.stdout)
    assert [c["order_number"] for c in cars] == ["ORD-00001"]

    target = tmp_path / "capacities.csv"
    result = cli("export", "resource_capacities", "-o", str(target), "--db", store.url)
    assert result.exit_code == 0, result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,dealership_id,resource_type_id,date,allocated_hours")
    assert f"{len(lines) - 1} rows of resource_capacities written" in result.stderr

    result = cli("export", "users", "--db", store.url)
    assert "pin_hash" not in result.stdout and "admin" in result.stdout

    nowhere = tmp_path / "nope.csv"
    result = cli("export", "carz", "-o", str(nowhere), "--db", store.url)
    assert result.exit_code == 1 and "There is no table 'carz'" in result.stderr
    assert not nowhere.exists()
    result = cli("export", "cars", "--format", "xml", "--db", store.url)
    assert result.exit_code == 1 and "csv, json" in result.stderr


def test_import(world: Any, store: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "vin,brand,model,order_number,customer_name\n"
        "WBA71AW010F123456,BMW,i4,1,Kari Nordmann\n"
        "WBA71AW010F12345,BMW,i4,2,Per Hansen\n"
        "WBA71AW010F999999,BMW,,3,Ola Berg\n",
        encoding="utf-8",
    )
    result = cli("import", "cars", str(bad), "--as", "seller495", "--db", store.url)
    assert result.exit_code == 1
    assert "row 3: VIN has 16 characters" in result.stderr
    assert "row 4: Model is required." in result.stderr
    assert "nothing imported: 2 bad row(s)" in result.stderr
    assert world.db.query(lambda s: s.scalar(text("SELECT count(*) FROM cars"))) == 0

    good = tmp_path / "good.csv"
    good.write_text(bad.read_text().replace("F12345,", "F123457,").replace(",,3", ",i5,3"))
    result = cli("import", "cars", str(good), "--as", "seller495", "--db", store.url)
    assert result.exit_code == 0, result.output
    assert "Imported 3 cars" in result.stdout
    assert world.db.query(lambda s: s.scalar(text("SELECT count(*) FROM cars"))) == 3

    result = cli("import", "cars", str(good), "--as", "nobody", "--db", store.url)
    assert result.exit_code == 1 and "not an active prepfloor user" in result.stderr
    result = cli("import", "cars", str(good), "--as", "mechanic499", "--db", store.url)
    assert result.exit_code == 1 and "Only a seller, manager or admin" in result.stderr


def test_db_upgrade_on_a_current_database(store: Any) -> None:
    result = cli("db", "upgrade", "--db", store.url)
    assert result.exit_code == 0, result.output
    assert f"schema {HEAD} → {HEAD}" in result.stdout
    assert store.fast.schema_revision() == HEAD


def test_demo_without_the_tui(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "demo.db"
    result = cli("--db", str(path), "demo", "--no-tui")
    assert result.exit_code == 0, result.output
    assert "Demo database ready" in result.stderr
    assert path.exists()
    result = cli("--db", str(path), "doctor")
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.stdout
    result = cli("--db", str(path), "demo", "--no-tui")  # there already: used as it is
    assert result.exit_code == 0 and "ready" not in result.stderr
    result = cli("--db", str(path), "users", "list")
    assert "kari" in result.stdout and "ola" in result.stdout


# ------------------------------------------------------------------------------------------------
# what a command prints from the database is data: never markup, never terminal control
# ------------------------------------------------------------------------------------------------
MARKUP = ("[/]", "[@click=app.quit]x[/]", "[link=http://x]y[/link]")
CONTROL = ("\x1b]52;c;aGk=\x07", "\x1b]0;title\x07", "\x1b[2J", "\x9b31m", "\x00")


def _hostile(dialect: str, *parts: str) -> str:
    """Words with markup and terminal control, as another program may write them (PostgreSQL
    cannot store NUL in text: left out there)."""
    text = " ".join(parts)
    return text.replace("\x00", "") if dialect == "postgresql" else text


def _sql(world: Any, statement: str, **params: Any) -> None:
    with world.db.write() as session:
        session.execute(text(statement), params)


@pytest.fixture
def hostile(world: Any, store: Any) -> dict[str, str]:
    """Hostile names written straight into the database with SQL, past every rule."""
    dialect = store.dialect
    long = "W" * (10_000 if dialect == "sqlite" else 120)  # PostgreSQL: the column's length
    values = {
        "mechanic499": _hostile(dialect, "Tor Lunde", *MARKUP[:2]),
        "mechanic2_499": _hostile(dialect, MARKUP[2], *CONTROL, "end"),
        "detailer499": long,
        "dealership": _hostile(dialect, "Porsgrunn", MARKUP[0], CONTROL[0], CONTROL[2]),
        "sales_only": _hostile(dialect, "Skien [/]", CONTROL[1], CONTROL[4]),
        "work": _hostile(dialect, "Tech [link=http://x]y[/link]", CONTROL[2]),
        "customer": _hostile(dialect, "Kari [/] [@click=app.quit]x[/]", *CONTROL),
        "comment": _hostile(dialect, "laptop [/]", CONTROL[1], "[link=http://x]y[/link]"),
    }
    for login in ("mechanic499", "mechanic2_499", "detailer499"):
        _sql(world, "UPDATE users SET display_name = :v WHERE login = :l", v=values[login], l=login)
    _sql(world, "UPDATE dealership SET dealership_name = :v WHERE dealership_number = '499'",
         v=values["dealership"])  # fmt: skip
    _sql(  # a sales-only dealership without a prep center: doctor names it
        world,
        "UPDATE dealership SET dealership_name = :v, prep_center_id = NULL "
        "WHERE dealership_number = '497'",
        v=values["sales_only"],
    )
    _sql(world, "UPDATE resource_types SET name = :v WHERE code = 'TECH_PREP'", v=values["work"])
    car_id = world.register()
    _sql(
        world, "UPDATE cars SET customer_name = :v WHERE id = :id", v=values["customer"], id=car_id
    )
    user_id = world.db.query(
        lambda s: s.execute(text("SELECT id FROM users WHERE login = 'seller495'")).scalar()
    )
    _sql(
        world,
        "INSERT INTO user_keys (user_id, key_type, public_key, fingerprint, comment, created_at) "
        "VALUES (:u, 'ssh-ed25519', 'AAAA', 'SHA256:hostile', :c, NULL)",
        u=user_id,
        c=values["comment"],
    )
    return values


def assert_plain(result: Any) -> str:
    """No crash, and nothing in the output a terminal would act on."""
    out = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    for control in ("\x1b", "\x00", "\x07", "\x9b"):
        assert control not in out, (control, out[:2000])
    return out


def test_users_list_and_keys_print_names_as_typed(hostile: dict[str, str], store: Any) -> None:
    result = runner.invoke(app, ["users", "list", "--db", store.url], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = assert_plain(result)
    assert "Tor Lunde [/] [@click=app.quit]x[/]" in out
    assert one_line(hostile["mechanic2_499"]) in out
    assert "[link=http://x]y[/link] ]52;c;aGk=" in out
    assert one_line(hostile["dealership"]) in out
    assert "W" * 50 + "…" in out and "W" * 70 not in out  # a 10,000-character name is cut
    assert len(max(out.splitlines(), key=len)) <= 250

    result = cli("users", "keys", "seller495", "--db", store.url)
    assert result.exit_code == 0, result.output
    out = assert_plain(result)
    assert f"SHA256:hostile  {one_line(hostile['comment'])}" in out
    assert "laptop [/] ]0;title" in out


def test_doctor_quotes_stored_names_as_plain_text(hostile: dict[str, str], store: Any) -> None:
    result = cli("doctor", "--db", store.url)
    assert result.exit_code == 1, result.output  # the dealership without a prep center
    out = assert_plain(result)
    assert f"{one_line(hostile['sales_only'])} is sales-only without its own prep" in out
    assert "Skien [/] ]0;title" in out


def test_report_prints_names_as_plain_text(
    hostile: dict[str, str], store: Any, tmp_path: Path
) -> None:
    args = ["report", "--as", "manager499", "--width", "250", "--db", store.url]
    result = cli(*args, "--csv", str(tmp_path / "csv"))
    assert result.exit_code == 0, result.output
    out = assert_plain(result)
    assert f"{one_line(hostile['dealership'])} · " in out  # the scope line
    assert "Porsgrunn [/] ]52;c;aGk=" in out
    assert "Tor Lunde [/] [@click=app.quit]x[/]" in out  # the workload table
    written = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "csv").iterdir())
    assert "Tor Lunde [/] [@click=app.quit]x[/]" in written
    assert "\x1b" not in written and "\x00" not in written


def test_import_errors_and_export_print_plain_text(
    hostile: dict[str, str], store: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cars.csv"
    path.write_text(
        "vin,brand,model,order_number,customer_name,dealership_number\n"
        "WBA71AW010F123456,BMW,i4,1,Kari,[/]\x1b]52;c;aGk=\x07\x1b[2J\n"
        f"WBA71AW010F654321,BMW,i4,2,Kari,{'[link=http://x]y[/link]' * 500}\n",
        encoding="utf-8",
    )
    result = cli("import", "cars", str(path), "--as", "seller495", "--db", store.url)
    assert result.exit_code == 1
    out = assert_plain(result)
    assert "row 2: There is no dealership number [/]]52;c;aGk=[2J." in out
    assert f"row 3: There is no dealership number {shown('[link=http://x]y[/link]' * 500)}." in out
    assert "[link=http://x]y[/link][link=http://x]" in out

    result = cli("export", "cars", "--db", store.url)  # CSV to the terminal
    assert result.exit_code == 0, result.output
    out = assert_plain(result)
    assert one_line(hostile["customer"]) in out
    assert "Kari [/] [@click=app.quit]x[/] ]52;c;aGk=" in out

    result = cli("export", "cars", "--format", "json", "--db", store.url)
    assert result.exit_code == 0, result.output
    out = assert_plain(result)
    (car,) = json.loads(result.stdout)
    assert car["customer_name"] == hostile["customer"]  # JSON: the data as stored, escaped


def test_users_list_with_a_bracket_in_a_name_does_not_crash(world: Any, store: Any) -> None:
    _sql(world, "UPDATE users SET display_name = 'Tor Lunde [/]' WHERE login = 'seller495'")
    result = cli("users", "list", "--db", store.url)
    assert result.exit_code == 0, result.output
    assert "Tor Lunde [/]" in result.stdout


def test_a_plain_start_is_read_without_typer_and_anything_else_goes_to_typer() -> None:
    from prepfloor.cli import plain_start

    assert plain_start([]) == {}
    assert plain_start(["--db", "x.db"]) == {"db": "x.db"}
    assert plain_start(["--db=postgresql://h/db", "--user", "olga"]) == {
        "db": "postgresql://h/db",
        "user": "olga",
    }
    assert plain_start(["-u", "olga", "--user=per"]) == {"user": "per"}  # the last one, as Click
    for typer_reads_it in (
        ["--help"],
        ["-h"],
        ["users", "list"],
        ["--db", "x.db", "doctor"],
        ["--db"],  # Typer says what is missing
        ["--db", "--user"],
        ["-u=olga"],
        ["--verbose"],
    ):
        assert plain_start(typer_reads_it) is None, typer_reads_it
