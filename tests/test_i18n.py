"""Norwegian and English: the catalog is complete, formats follow the reader's language, what is
typed is read in either, each user's language is theirs, and a notification reads in the language
of whoever reads it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from db import formats, i18n, notify, said, users
from db.errors import Invalid, NotAllowed
from db.models import Notification, User
from db.validate import hours, parse_date
from prepfloor.config import ConfigError, Locations, load_settings

TODAY = date(2026, 12, 5)  # a Saturday


def test_the_catalog_is_complete_and_compiled() -> None:
    """Every text marked in the code has a Norwegian translation with the same placeholders, and
    the .mo the app reads is made from the .po of now (``python tests/catalog.py check``)."""
    from catalog import problems

    found = problems()
    assert not found, "\n".join(found[:40])


def test_placeholders_are_checked() -> None:
    """The check itself: a translation that drops or renames a placeholder is caught."""
    from catalog import _fields

    assert _fields("{car} is ready.") == {"car"}
    assert _fields("{bil} er klar.") != _fields("{car} is ready.")
    assert _fields("{car is ready.") == {"<broken braces>"}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ("Sat 31 Oct", "7.5 h", "week 44", "2026-10-31", "7.5", "1,250.5")),
        ("nb", ("lør. 31. okt.", "7,5 t", "uke 44", "31.10.2026", "7,5", "1\xa0250,5")),
    ],
)
def test_formats_follow_the_language(lang: str, expected: tuple[str, ...]) -> None:
    i18n.use(lang)
    day = date(2026, 10, 31)
    shown = (
        formats.day(day),
        formats.hours(7.5),
        formats.week(day),
        formats.date_field(day),
        formats.hours_field(7.5),
        formats.number(1250.5),
    )
    assert shown == expected
    assert formats.clock(datetime(2026, 10, 31, 14, 5)) == "14:05"  # 24-hour in both


def test_the_words_kept_for_a_value_are_its_language_s_and_its_zone_s() -> None:
    """Formatted values are kept once made (Babel is slow and the same values recur); a value
    keeps its words per language, and a moment per zone: 23:30 UTC is the next day in Oslo."""
    from zoneinfo import ZoneInfo

    i18n.use("en")
    assert (formats.number(2.5), formats.fixed(2.5)) == ("2.5", "2.50")
    i18n.use("nb")
    assert (formats.number(2.5), formats.fixed(2.5)) == ("2,5", "2,50")
    assert formats.number(2.5, lang="en") == "2.5"
    late = datetime(2026, 10, 30, 23, 30, tzinfo=UTC)
    oslo = late.astimezone(ZoneInfo("Europe/Oslo"))
    assert late == oslo  # the same moment: equal, and equal as keys unless the zone is one
    i18n.use("en")
    assert (formats.day(late), formats.day(oslo)) == ("Fri 30 Oct", "Sat 31 Oct")
    assert (formats.day(oslo), formats.day(late)) == ("Sat 31 Oct", "Fri 30 Oct")


def test_words_follow_the_language() -> None:
    from db.vocab import CAR_STATUS_LABELS

    i18n.use("nb")
    assert CAR_STATUS_LABELS["ready_for_delivery"] == "Klar for levering"
    assert i18n._("Sign out") == "Logg ut"
    i18n.use("en")
    assert CAR_STATUS_LABELS["ready_for_delivery"] == "Ready for delivery"
    assert i18n._("Sign out") == "Sign out"


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("31.10.2025", date(2025, 10, 31)),
        ("2025-10-31", date(2025, 10, 31)),
        ("31.10.25", date(2025, 10, 31)),
        ("24.12", date(2026, 12, 24)),
        ("15.01", date(2027, 1, 15)),  # typed in December: January is next year's
        ("31.10", date(2026, 10, 31)),  # five weeks ago: this year's
        ("i dag", TODAY),
        ("i morgen", date(2026, 12, 6)),
        ("I  Morgen", date(2026, 12, 6)),
        ("i overmorgen", date(2026, 12, 7)),
        ("tomorrow", date(2026, 12, 6)),
        ("mandag", date(2026, 12, 7)),
        ("fre", date(2026, 12, 11)),
        ("friday", date(2026, 12, 11)),
        ("lørdag", TODAY),
        ("+3", date(2026, 12, 8)),
    ],
)
def test_days_are_read_as_either_language_types_them(typed: str, day: date) -> None:
    assert parse_date(typed, today=TODAY) == day


def test_a_day_that_cannot_be_read_says_how_to_type_it() -> None:
    i18n.use("nb")
    with pytest.raises(Invalid) as refused:
        parse_date("neste uke", today=TODAY)
    assert "30.11.2026" in str(refused.value) and "i morgen" in str(refused.value)
    i18n.use("en")
    with pytest.raises(Invalid) as refused:
        parse_date("31.02.2026", today=TODAY)
    assert "2026-11-30" in str(refused.value)


@pytest.mark.parametrize("typed", ["7,5", "7.5", "7,5 t", "7.5 h", "7,5t", "7,5 timer"])
def test_hours_with_a_decimal_comma_and_a_unit(typed: str) -> None:
    assert hours(typed) == 7.5


@pytest.mark.parametrize(
    ("value", "lang"),
    [
        ("nb_NO.UTF-8", "nb"),
        ("no", "nb"),
        ("nn_NO", "nb"),
        ("Norsk", "nb"),
        ("en_US.UTF-8", "en"),
        ("English", "en"),
        ("C", None),
        ("de_DE", None),
    ],
)
def test_language_names(value: str, lang: str | None) -> None:
    assert i18n.normalize(value) == lang


def test_the_user_then_the_site_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "nb_NO.UTF-8")
    assert i18n.choose(None, None) == "nb"
    assert i18n.choose(None, "en") == "en"
    assert i18n.choose("nb", "en") == "nb"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert i18n.choose(None, None) == "en"
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")  # a locale we do not speak: English
    monkeypatch.setenv("LANG", "nb_NO.UTF-8")
    assert i18n.from_environment() is None


def test_the_site_language_in_the_config_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    where = Locations(tmp_path / "user.toml", tmp_path / "site.toml", tmp_path / "data")
    (tmp_path / "site.toml").write_text('language = "nb"\n')
    assert load_settings("sqlite:///x.db", where).language == "nb"
    (tmp_path / "user.toml").write_text('language = "klingon"\n')
    with pytest.raises(ConfigError, match="klingon"):
        load_settings("sqlite:///x.db", where)


def test_each_user_sets_their_own_language(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    seller, mechanic = w["seller495"], w["mechanic499"]
    w.db.run(users.set_language, seller, seller.user_id, "nb")
    assert w.db.query(lambda s: s.get(User, seller.user_id).language) == "nb"
    with pytest.raises(NotAllowed):  # not someone else's
        w.db.run(users.set_language, mechanic, seller.user_id, "en")
    with pytest.raises(Invalid, match="nb"):
        w.db.run(users.set_language, seller, seller.user_id, "tysk")
    w.db.run(users.set_language, seller, seller.user_id, None)  # back to the site's
    assert w.db.query(lambda s: s.get(User, seller.user_id).language) is None


def test_a_notification_reads_in_its_readers_language(world) -> None:  # type: ignore[no-untyped-def]
    """A coordinator who reads Norwegian and another tool that reads ``message`` see the same
    notification each in their own words."""
    w = world
    w.register(vin="WBAJA51040CH12345", license_plate="EL 12345", order_number="ORD-7")
    note = w.db.query(
        lambda s: s.exec(
            __import__("sqlmodel").select(Notification).where(Notification.type == "new_order")
        ).first()
    )
    assert note.message == "New order: BMW X5 EL 12345 (order ORD-7) registered by Kari Selger."
    i18n.use("nb")
    assert said.shown(note.message, note.message_source) == (
        "Ny bestilling: BMW X5 EL 12345 (bestilling ORD-7) registrert av Kari Selger."
    )
    i18n.use("en")
    assert said.shown(note.message, note.message_source) == note.message
    # a row written by another tool (no source) is shown as it was written
    assert said.shown("Written by hand", None) == "Written by hand"
    assert said.shown("Written by hand", "{not json") == "Written by hand"


def test_values_in_a_stored_message_take_the_readers_formats() -> None:
    message = notify.Said(
        "{what} moved from {old} to {new} ({why}).",
        what=said.label("Work"),
        old=said.day(date(2026, 10, 30)),
        new=said.day(date(2026, 11, 2)),
        why="room",
    )
    again = said.load(message.to_json())
    assert again is not None
    assert again.render("en") == "Work moved from Fri 30 Oct to Mon 2 Nov (room)."
    assert again.render("nb") == "Arbeid flyttet fra fre. 30. okt. til man. 2. nov. (room)."
    at = said.load(
        notify.Said(
            "{hours} since {since}",
            hours=said.hours(10.25),
            since=said.moment(datetime(2026, 10, 30, 6, 0, tzinfo=UTC)),
        ).to_json()
    )
    assert at is not None and at.render("nb").startswith("10,25 t since")


def test_the_command_line_sets_a_users_language(world, store) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from prepfloor.cli import app as cli

    runner = CliRunner()
    done = runner.invoke(cli, ["users", "set-language", "seller495", "norsk", "--db", store.url])
    assert done.exit_code == 0, done.output
    assert "seller495 reads prepfloor in Norsk bokmål." in done.stdout
    assert world.db.query(lambda s: s.get(User, world["seller495"].user_id).language) == "nb"
    refused = runner.invoke(cli, ["users", "set-language", "seller495", "tysk", "--db", store.url])
    assert refused.exit_code == 1 and "nb (Norsk bokmål)" in refused.output
    cleared = runner.invoke(
        cli, ["users", "set-language", "seller495", "--clear", "--db", store.url]
    )
    assert cleared.exit_code == 0, cleared.output
    assert "reads prepfloor in the site's language" in cleared.stdout
    assert world.db.query(lambda s: s.get(User, world["seller495"].user_id).language) is None


def test_a_norwegian_site_speaks_norwegian_on_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The command's help and output in the site's language, chosen before the command line is
    made (a fresh process, as an admin at the shop server runs it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    config = tmp_path / "config" / "prepfloor"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('language = "nb"\n')
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path),
    }
    env.pop("PREPFLOOR_DATABASE_URL", None)
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "prepfloor"), "users", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Brukere: legg til" in shown and "set-language" in shown
