"""Schema migrations (Alembic).  ``prepfloor db upgrade`` and the first start of a new database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from db import checkpoint
from db.engine import make_engine
from db.urls import normalize_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``.  Never drops rows.

    On SQLite the query planner's statistics are refreshed afterwards (``ANALYZE``, sampled): without
    them it can pick an index that reads every dealership's rows for one dealership's question.
    PostgreSQL keeps its own statistics.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        if engine.dialect.name == "sqlite":
            analyze(engine)
    finally:
        engine.dispose()


def analyze(engine: Engine) -> None:
    """Refresh SQLite's planner statistics (sampled: milliseconds even on a large file)."""
    with engine.begin() as connection:
        checkpoint.analyze(connection.exec_driver_sql)
