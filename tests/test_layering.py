"""The layering of DESIGN.md, proved: prepfloor → screens → db; db knows no Textual; screens open
no transactions and write no SQL; the first screen does not load the ORM."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_db_imports_no_textual_and_nothing_above_it() -> None:
    for path, names in imports_of("db").items():
        assert not names & {"textual", "screens", "prepfloor", "rich"}, path


def test_screens_do_not_reach_up_or_around_db() -> None:
    for path, names in imports_of("screens").items():
        assert "prepfloor" not in names, path
        assert not names & {"sqlalchemy", "sqlmodel", "sqlite3", "psycopg", "alembic"}, path


def test_screens_write_no_sql_and_open_no_transactions() -> None:
    for path in (ROOT / "screens").rglob("*.py"):
        source = path.read_text()
        for word in ("session.commit", ".begin(", "SELECT ", "INSERT ", "UPDATE ", "DELETE "):
            assert word not in source, f"{path.name}: {word}"


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return result.stdout.strip()


def test_the_rules_load_without_textual() -> None:
    code = (
        "import sys, db.engine, db.ledger, db.workflow, db.timers, db.doctor, db.cars, db.users;"
        "print('textual' in sys.modules)"
    )
    assert run(code) == "False"


def test_the_first_screen_does_not_load_the_orm() -> None:
    code = (
        "import sys, prepfloor.cli, prepfloor.app, screens.cars, screens.login, "
        "db.languages, db.i18n, db.formats, db.said, db.modes;"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'pydantic') "
        "if m in sys.modules))"
    )
    assert run(code) == "[]"


def test_the_plain_start_loads_no_command_line_library() -> None:
    """``prepfloor`` alone opens the TUI without Typer or Click (they cost a third of a bare
    Textual app's start); the subcommands still have them."""
    code = (
        "import sys, prepfloor.cli, prepfloor.launch, prepfloor.app, screens.cars;"
        "assert prepfloor.cli.plain_start(['--db', 'x.db', '-u', 'olga']) is not None;"
        "print(sorted(m for m in ('typer', 'click') if m in sys.modules))"
    )
    assert run(code) == "[]"
    assert run("import sys, prepfloor.cli; prepfloor.cli.app; print('typer' in sys.modules)") == (
        "True"
    )


def test_the_plain_start_reads_no_server_settings(tmp_path: Path) -> None:
    """The ``[serve]``, ``[web]`` and ``[outbox]`` settings are read when first asked for: a
    plain start, which never asks, does not import their modules (their classes cost some 6 ms
    before the first frame).  A config file that has such a table still has it checked when the
    settings are loaded."""
    where = (
        "from pathlib import Path; from prepfloor.config import Locations, load_settings;"
        f"w = Locations(Path({str(tmp_path / 'user.toml')!r}), Path({str(tmp_path / 'site.toml')!r}),"
        f" Path({str(tmp_path)!r}));"
    )
    code = (
        "import sys, prepfloor.cli, prepfloor.launch, prepfloor.app, screens.cars;"
        + where
        + "s = load_settings('x.db', w);"
        "print(sorted(m for m in ('prepfloor.serve_config', 'prepfloor.outbox_config') "
        "if m in sys.modules), s.serve.port, s.outbox.configured)"
    )
    assert run(code) == "[] 2222 False"  # and read, with their defaults, when asked for
    (tmp_path / "site.toml").write_text("[serve]\nport = 0\n")
    refused = where + (
        "from prepfloor.config import ConfigError\n"
        "try:\n    load_settings('x.db', w)\nexcept ConfigError as e:\n    print(e)"
    )
    assert run(refused) == "[serve] port must be a whole number of at least 1"
