"""Settings in layers: --db > PREPFLOOR_DATABASE_URL > user config > site config > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from prepfloor.config import ENV_URL, ConfigError, Locations, load_settings


@pytest.fixture
def where(tmp_path: Path) -> Locations:
    return Locations(
        user_config=tmp_path / "user" / "config.toml",
        site_config=tmp_path / "site" / "config.toml",
        data_dir=tmp_path / "data",
    )


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_default_is_a_file_in_the_user_data_folder(where: Locations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(ENV_URL, raising=False)
    settings = load_settings(None, where)
    assert settings.database == str(where.data_dir / "prepfloor.db")
    assert settings.database_source == "default"
    assert settings.shift_hours == 10.0


def test_each_layer_wins_over_the_next(where: Locations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(ENV_URL, raising=False)
    write(where.site_config, 'database = "/srv/prepfloor/site.db"\ntimezone = "Europe/Oslo"\n')
    assert load_settings(None, where).database == "/srv/prepfloor/site.db"
    write(where.user_config, 'database = "/home/kari/own.db"\nshift_hours = 8\n')
    settings = load_settings(None, where)
    assert settings.database == "/home/kari/own.db"
    assert settings.timezone == "Europe/Oslo"  # from the site file, not overridden
    assert settings.shift_hours == 8.0
    monkeypatch.setenv(ENV_URL, "postgresql://prepfloor@db/prepfloor")
    assert load_settings(None, where).database == "postgresql://prepfloor@db/prepfloor"
    settings = load_settings("/tmp/flag.db", where)
    assert (settings.database, settings.database_source) == ("/tmp/flag.db", "--db")


def test_bad_files_are_named_in_the_message(where: Locations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(ENV_URL, raising=False)
    write(where.user_config, "database = \n")
    with pytest.raises(ConfigError, match=r"config\.toml"):
        load_settings(None, where)
    write(where.user_config, 'timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="not a known time zone"):
        load_settings(None, where)
    write(where.user_config, 'shift_hours = "long"\n')
    with pytest.raises(ConfigError, match="shift_hours"):
        load_settings(None, where)


def test_urls_are_normalized() -> None:
    from db.urls import describe, normalize_url

    assert normalize_url("postgres://u:secret@h:5433/p") == "postgresql+psycopg://u:secret@h:5433/p"
    assert normalize_url("/srv/x.db") == "sqlite:////srv/x.db"
    assert "secret" not in describe("postgresql://u:secret@h:5433/p")
    with pytest.raises(ValueError, match="SQLite and PostgreSQL"):
        normalize_url("mysql://x/y")


def test_without_a_configured_zone_the_machines_zone_is_used_by_name(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A July time gets the machine zone's summer time, a January one its winter time (the
    offset of the day the program happens to run is not the offset of every date)."""
    from datetime import UTC, datetime

    from db import clock

    monkeypatch.setattr(clock, "_zone", None)
    monkeypatch.setattr(clock, "_machine", None)
    monkeypatch.setenv("TZ", "Europe/Oslo")
    assert clock.local(datetime(2026, 7, 1, 8, 0, tzinfo=UTC)).hour == 10  # +02:00
    assert clock.local(datetime(2026, 1, 15, 8, 0, tzinfo=UTC)).hour == 9  # +01:00
    monkeypatch.setenv("TZ", "CET-1CEST")  # a POSIX rule, not a zone name: /etc/localtime then
    from zoneinfo import ZoneInfo

    assert isinstance(clock.machine_zone(), ZoneInfo)  # a zone with its rules, not an offset
    monkeypatch.setattr(clock, "_machine", None)
