"""Fixtures: one database per test, on SQLite and on PostgreSQL.

PostgreSQL comes from ``PREPFLOOR_TEST_PG_URL`` (a maintenance database on a server the tests may
create databases on; ``.ci/run`` sets it) or from a throwaway cluster started here.  When neither is
possible the PostgreSQL tests are skipped — unless ``PREPFLOOR_REQUIRE_PG=1``, which makes that an
error (CI must not pass by skipping them).
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from db import clock, i18n
from pgcluster import Cluster, start_cluster

# The tests read prepfloor in English unless a test chooses Norwegian: whatever the locale of the
# machine that runs them (and of the programs they start).
for _name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"

ENGINES = ("sqlite", "postgresql")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", autouse=True)
def _badge_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Badges are stored with a key kept outside the database (db/badges.py): the tests' own, never
    a file in the home folder of whoever runs them.  Programs the tests start inherit it."""
    if "PREPFLOOR_BADGE_KEY" not in os.environ:
        os.environ["PREPFLOOR_BADGE_KEY"] = str(tmp_path_factory.mktemp("keys") / "badge.key")


@pytest.fixture(scope="session", autouse=True)
def _write_lines(tmp_path_factory: pytest.TempPathFactory) -> None:
    """PostgreSQL's admission lines (db/gate.py), one file per database: the tests' databases
    keep theirs in the run's temporary folder, not the machine's."""
    import db.gate

    db.gate.LINES_FOLDER = str(tmp_path_factory.mktemp("lines"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a maintenance database on a PostgreSQL server for this test run."""
    url = os.environ.get("PREPFLOOR_TEST_PG_URL")
    if url:
        yield url
        return
    cluster: Cluster | None = None
    try:
        cluster = start_cluster()
    except Exception as error:  # no server binaries, no postgres user...
        if os.environ.get("PREPFLOOR_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL is required but could not be started: {error}")
        pytest.skip(f"PostgreSQL not available: {error}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


def _admin_exec(server_url: str, *statements: str) -> None:
    import psycopg

    from db.urls import libpq_conninfo, normalize_url

    with psycopg.connect(libpq_conninfo(normalize_url(server_url)), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _with_database(server_url: str, name: str) -> str:
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> str:
    """A migrated template database (one per xdist worker)."""
    from db.migrate import upgrade

    name = f"prepfloor_tmpl_{_worker()}"
    _admin_exec(pg_server, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    upgrade(_with_database(pg_server, name))
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    from db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def new_database(
    request: pytest.FixtureRequest,
    engine: str,
    tmp_path: Path,
    templates: tuple[str, str] = ("sqlite_template", "pg_template"),
) -> Iterator[str]:
    """A fresh database URL for one test: a copy of the template that the fixtures named in
    ``templates`` give (SQLite: a file; PostgreSQL: a database name), migrated and empty unless
    told otherwise."""
    if engine == "sqlite":
        template = request.getfixturevalue(templates[0])
        path = tmp_path / "prepfloor.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue(templates[1])
    name = f"t_{uuid.uuid4().hex[:16]}"
    _admin_exec(server, f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _with_database(server, name)
    finally:
        _admin_exec(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each engine (the test runs twice)."""
    yield from new_database(request, request.param, tmp_path)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database only (screens and CLI tests)."""
    yield from new_database(request, "sqlite", tmp_path)


@pytest.fixture
def store(db_url: str):  # type: ignore[no-untyped-def]
    from db.store import Store

    s = Store(db_url)
    yield s
    s.close()


@pytest.fixture
def db(store):  # type: ignore[no-untyped-def]
    return store.db


@pytest.fixture(autouse=True)
def _unfreeze_clock() -> Iterator[None]:
    yield
    clock.freeze(None)
    i18n.use("en")  # a test that chose Norwegian does not leave it to the next


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    """The small fixed world of ``tests/world.py`` on a fresh database."""
    from world import build_world

    return build_world(db)


@pytest.fixture
def ui_store(sqlite_url: str):  # type: ignore[no-untyped-def]
    """A store on a fresh SQLite database, for screen tests."""
    from db.store import Store

    s = Store(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def ui_world(ui_store):  # type: ignore[no-untyped-def]
    """The fixed world on the screen tests' SQLite database."""
    from world import build_world

    return build_world(ui_store.db)


@pytest.fixture
def coord_world(ui_store):  # type: ignore[no-untyped-def]
    """The fixed world on a Monday morning (UTC), capacity for two weeks (screen tests)."""
    from datetime import UTC

    from world import T0, build_world

    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield build_world(ui_store.db, days=14)
    finally:
        clock.freeze(None)
        clock.set_zone(None)
