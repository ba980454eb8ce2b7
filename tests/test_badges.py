"""Badges (db/badges.py, db/users.py: sign_in_badge, set_badge) on SQLite and PostgreSQL: stored
with a key kept outside the database, unknown badges counted per sign-in place and refused for a
while after too many, a user locked by wrong PINs refused by badge too, every sign-in and refusal
an event and a log line; and the sign-in screen saying so."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from db import badges, users
from db.errors import LoginRefused
from db.models import Event, User
from db.store import Store
from world import World, at, frozen_world

BADGE = "0042"


@pytest.fixture
def w(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:  # type: ignore[no-untyped-def]
    # SQLite: the key beside the database file (the default); PostgreSQL: a key file of the test's
    # own (the default there is the user's data folder)
    if db.dialect == "postgresql":
        monkeypatch.setenv(badges.KEY_ENV, str(tmp_path / "badge.key"))
    else:
        monkeypatch.delenv(badges.KEY_ENV, raising=False)
    with frozen_world(db, days=2) as world:
        yield world


def stored(w: World, login: str) -> str | None:
    return w.db.query(lambda s: users.by_login(s, login).badge_hash)


def events_of(w: World, action: str) -> list[Event]:
    return w.db.query(lambda s: list(s.exec(select(Event).where(Event.action == action)).all()))


def sign_in(w: World, badge: str, terminal: str | None = None) -> Any:
    return w.db.run(users.sign_in_badge, badge, terminal=terminal)


# ------------------------------------------------------------------------------------------------
# storage
# ------------------------------------------------------------------------------------------------
def test_a_badge_is_stored_with_a_key_outside_the_database(w: World) -> None:
    w.db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    value = stored(w, "detailer499")
    assert value is not None and value.startswith("hmac$")
    plain = hashlib.sha256(BADGE.encode()).hexdigest()
    assert plain not in value and BADGE not in value
    # whoever holds a copy of the database but not the key cannot find the badge by hashing every
    # candidate: not with SHA-256, not with HMAC under any key but the one kept outside
    guess_key = secrets.token_bytes(32)
    for n in range(10_000):
        candidate = f"{n:04d}"
        digest = hashlib.sha256(candidate.encode()).hexdigest()
        assert digest not in value
        assert hmac.new(guess_key, candidate.encode(), hashlib.sha256).hexdigest() not in value
    path = w.db.query(badges.key_path)
    assert path is not None and path.is_file()
    assert path.stat().st_mode & 0o077 in (0, 0o040)  # the owner's (and the database's group's)
    assert sign_in(w, BADGE).login == "detailer499"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a copy of the file
def test_a_copy_of_the_database_without_the_key_signs_no_badge_in(w: World, tmp_path: Path) -> None:
    w.db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    copy = tmp_path / "copy" / "prepfloor.db"
    copy.parent.mkdir()
    with (
        closing(sqlite3.connect(str(w.db.engine.url.database))) as source,
        closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)  # the whole database, write-ahead log included
    store = Store(f"sqlite:///{copy}")
    try:
        with pytest.raises(LoginRefused, match="Badge not known on this machine"):
            store.run(users.sign_in_badge, BADGE)
        # with the key copied too, the copy works (the key is the whole secret)
        key = Path(str(w.db.engine.url.database) + badges.KEY_SUFFIX)
        shutil.copy(key, str(copy) + badges.KEY_SUFFIX)
        assert store.run(users.sign_in_badge, BADGE).login == "detailer499"
    finally:
        store.close()


def test_an_old_plain_digest_still_signs_in_and_is_rewritten(w: World) -> None:
    uid = w["detailer499"].user_id

    def old_style(s: Any) -> None:
        user = s.get(User, uid)
        user.badge_hash = "sha256$" + hashlib.sha256(BADGE.encode()).hexdigest()
        s.add(user)

    w.db.run(old_style)
    assert sign_in(w, f" {BADGE} ").login == "detailer499"
    value = stored(w, "detailer499")
    assert value is not None and value.startswith("hmac$")
    assert sign_in(w, BADGE).login == "detailer499"
    # an old digest is still another user's badge
    w.db.run(old_style)
    with pytest.raises(Exception, match="already Dina"):
        w.db.run(users.set_badge, None, w["mechanic499"].user_id, BADGE)


# ------------------------------------------------------------------------------------------------
# unknown badges per place
# ------------------------------------------------------------------------------------------------
def test_too_many_unknown_badges_close_the_place_to_badges_for_a_while(w: World) -> None:
    w.db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    for attempt in range(1, badges.UNKNOWN_LIMIT):
        at(seconds=10 * attempt)
        with pytest.raises(LoginRefused, match=r"Badge not known\. Sign in with your name and PIN"):
            sign_in(w, f"99{attempt:02d}")
    at(minutes=1)
    with pytest.raises(LoginRefused, match="Too many unknown badges here: wait 5 minutes"):
        sign_in(w, "9999")
    # closed: the right badge too, with the same words, and that is not counted as unknown
    at(minutes=3)
    with pytest.raises(LoginRefused, match="Too many unknown badges here: wait 3 minutes, or sign"):
        sign_in(w, BADGE)
    assert len(events_of(w, "badge_unknown")) == badges.UNKNOWN_LIMIT
    blocked = events_of(w, "badge_blocked")
    assert len(blocked) == 1 and blocked[0].changes == {"place": badges.place(None)}
    # a name and PIN still sign in meanwhile
    w.db.run(users.set_pin, None, w["detailer499"].user_id, "2468")
    assert w.db.run(users.sign_in, "detailer499", "2468").login == "detailer499"
    # a restarted session (a new store on the same database) still finds the place closed
    again = Store(w.db.url)
    try:
        with pytest.raises(LoginRefused, match="Too many unknown badges here"):
            again.run(users.sign_in_badge, BADGE)
    finally:
        again.close()
    at(minutes=6, seconds=1)
    assert sign_in(w, BADGE).login == "detailer499"


def test_the_count_is_per_place(w: World) -> None:
    w.db.run(
        users.create_user, None, login="workshop1", display_name="Workshop terminal 1",
        role="mechanic", dealership_id=w.d["499"],
    )  # fmt: skip
    w.db.run(users.set_terminal, None, w.db.query(users.trusted_actor, "workshop1").user_id, True)
    w.db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    for _ in range(badges.UNKNOWN_LIMIT):
        with pytest.raises(LoginRefused):
            sign_in(w, "7777", terminal="workshop1")
    with pytest.raises(LoginRefused, match="Too many unknown badges here"):
        sign_in(w, BADGE, terminal="workshop1")
    assert sign_in(w, BADGE).login == "detailer499"  # another place: open


def test_unknown_badges_spread_over_time_close_nothing(w: World) -> None:
    w.db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    for attempt in range(2 * badges.UNKNOWN_LIMIT):
        at(minutes=2 * attempt)
        with pytest.raises(LoginRefused, match="Badge not known"):
            sign_in(w, "9999")
    assert sign_in(w, BADGE).login == "detailer499"


# ------------------------------------------------------------------------------------------------
# the lock-out of wrong PINs holds for badges
# ------------------------------------------------------------------------------------------------
def test_a_user_locked_by_wrong_pins_is_refused_by_badge(w: World) -> None:
    uid = w["detailer499"].user_id
    w.db.run(users.set_pin, None, uid, "2468")
    w.db.run(users.set_badge, None, uid, BADGE)
    for _ in range(users.MAX_PIN_FAILURES):
        with pytest.raises(LoginRefused):
            w.db.run(users.sign_in, "detailer499", "1111")
    at(minutes=1)
    with pytest.raises(
        LoginRefused, match="Too many wrong PINs or passwords: Dina Klargjør is locked until 07:05"
    ):
        sign_in(w, BADGE)
    refused = [e for e in events_of(w, "sign_in_failed") if e.changes]
    assert [e.changes["by"] for e in refused] == ["badge"]
    assert not events_of(w, "badge_unknown")  # a known badge: the place's count is untouched
    at(minutes=6)
    assert sign_in(w, BADGE).login == "detailer499"


# ------------------------------------------------------------------------------------------------
# events and log lines
# ------------------------------------------------------------------------------------------------
def test_every_badge_sign_in_and_refusal_is_an_event_and_a_log_line(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="prepfloor.sign_in")
    w.db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    sign_in(w, BADGE)
    signed = [e for e in events_of(w, "sign_in") if e.changes and e.changes.get("by") == "badge"]
    assert len(signed) == 1
    with pytest.raises(LoginRefused):
        sign_in(w, "4711")
    unknown = events_of(w, "badge_unknown")
    assert len(unknown) == 1 and unknown[0].entity == "sign_in"
    lines = [r.getMessage() for r in caplog.records if r.name == "prepfloor.sign_in"]
    assert any("detailer499 signed in by badge at" in line for line in lines)
    assert any("refused a badge at" in line and "unknown" in line for line in lines)
    assert not any(BADGE in line or "4711" in line for line in lines)  # never the number
    # PIN sign-ins are logged as well
    w.db.run(users.set_pin, None, w["mechanic499"].user_id, "1234")
    with pytest.raises(LoginRefused):
        w.db.run(users.sign_in, "mechanic499", "0000")
    w.db.run(users.sign_in, "mechanic499", "1234")
    lines = [r.getMessage() for r in caplog.records if r.name == "prepfloor.sign_in"]
    assert any("refused mechanic499 by PIN" in line for line in lines)
    assert any("mechanic499 signed in by PIN" in line for line in lines)


# ------------------------------------------------------------------------------------------------
# the sign-in screen
# ------------------------------------------------------------------------------------------------
async def test_the_sign_in_screen_says_when_badges_are_refused_here(  # type: ignore[no-untyped-def]
    ui_store, ui_world
) -> None:
    from test_app import SIZE, settle

    from prepfloor.app import make_app
    from screens.login import LoginScreen

    ui_store.run(
        users.create_user, None, login="workshop1", display_name="Workshop terminal 1",
        role="mechanic", dealership_id=ui_world.d["499"],
    )  # fmt: skip
    ui_store.run(users.set_terminal, None, ui_store.fast.actor("workshop1").user_id, True)
    ui_store.run(users.set_badge, None, ui_world["detailer499"].user_id, BADGE)

    def message(app: Any) -> str:
        return str(app.screen.query_one("#message").render())

    app = make_app(ui_store, terminal="workshop1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        for n in range(badges.UNKNOWN_LIMIT - 1):
            await pilot.press(*f"99{n:02d}", "enter")
            await settle(pilot, app)
            assert "Badge not known" in message(app)
        await pilot.press(*"9999", "enter")
        await settle(pilot, app)
        assert "Too many unknown badges here: wait 5 minutes" in message(app)
        await pilot.press(*BADGE, "enter")  # the right badge waits too
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert "Too many unknown badges here" in message(app)
        assert "sign in with your name and PIN" in message(app)
    # the app started again at that terminal: still closed to badges
    app = make_app(ui_store, terminal="workshop1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press(*BADGE, "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert "Too many unknown badges here" in message(app)


# ------------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------------
def test_set_badge_on_the_command_line_says_where_the_key_is_and_refuses_a_taken_badge(
    ui_store: Any, ui_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import prepfloor.config
    from prepfloor.cli import app

    monkeypatch.delenv(prepfloor.config.ENV_URL, raising=False)
    monkeypatch.delenv(badges.KEY_ENV, raising=False)
    runner = CliRunner()
    url = ui_store.url
    result = runner.invoke(app, ["users", "set-badge", "detailer499", BADGE, "--db", url])
    assert result.exit_code == 0, result.output
    assert "Badge set for detailer499." in result.stdout
    key = Path(str(ui_store.db.engine.url.database) + badges.KEY_SUFFIX)
    assert str(key) in result.stdout and key.is_file()
    result = runner.invoke(app, ["users", "set-badge", "mechanic499", BADGE, "--db", url])
    assert result.exit_code == 1
    assert "That badge is already Dina Klargjør's." in result.output
    assert ui_store.run(users.sign_in_badge, BADGE).login == "detailer499"
