"""The bench scripts' own guard: they measure only a database at the code's schema."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from _common import current_database

from db.schema import HEAD
from db.urls import sqlite_path


def test_a_bench_measures_a_current_database_and_stops_at_an_older_one(sqlite_url: str) -> None:
    assert current_database(sqlite_url) == sqlite_url

    older = f"{int(HEAD) - 1:04d}"
    with sqlite3.connect(sqlite_path(sqlite_url)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (older,))
    with pytest.raises(SystemExit) as stopped:
        current_database(sqlite_url)
    said = str(stopped.value)
    assert f"at schema {older}, this code's is {HEAD}" in said
    assert f"prepfloor db upgrade --db {sqlite_url}" in said
