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


def _loaded_with(tree: ast.Module) -> set[str]:
    """The ``db`` modules a module of ``db`` imports while it is itself imported: not those
    imported in a function (when it is called) or for type checking only."""
    found: set[str] = set()
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("db."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "db":
                found.update(f"db.{a.name}" for a in node.names)
            elif node.module.startswith("db."):
                found.add(node.module)
        todo.extend(ast.iter_child_nodes(node))
    return found


def test_the_modules_of_db_import_each_other_in_no_circle() -> None:
    """A session loads its write path in a thread while a save's worker may import its own rule
    (:meth:`db.store.Store.warm`).  Two threads importing at once wait for each other only where
    modules import each other in a circle; so there is none, or a save could fail at random."""
    graph = {
        f"db.{path.stem}": _loaded_with(ast.parse(path.read_text(), str(path)))
        for path in (ROOT / "db").glob("*.py")
    }
    assert sum(len(deps) for deps in graph.values()) > 100  # the walk found the imports
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(graph.get(module, ())):
            assert dep not in path, " -> ".join([*path, dep])
            if dep not in done:
                visit(dep, [*path, dep])
        done.add(module)

    for module in sorted(graph):
        visit(module, [module])


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
