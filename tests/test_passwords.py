"""Passwords (db/users.py: set_password; db/login.py: sign_in_password; db/lockout.py) on SQLite and
PostgreSQL: stored as a slow hash, checked with one refusal for every reason so that no login can be
probed, wrong ones counted in the one lock-out that wrong PINs count in, one's own changed only with
the current one, no secret in an event or a log line; ``prepfloor users set-password``; and the
admin's form and "Change my password" by keys."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from settling import settle
from sqlmodel import select
from textual.widgets import Input

from db import lockout, users
from db.errors import Invalid, LoginRefused, NotAllowed, WrongSecret
from db.models import Event
from prepfloor.app import make_app
from screens.admin import UsersScreen
from screens.forms import FormDialog
from world import T0, World, at, frozen_world

SECRET = "correct horse battery"
OTHER = "staple and a horse"
GENERIC = "Wrong login or password."


@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    with frozen_world(db, days=2) as world:
        yield world


def row(w: World, login: str) -> dict[str, Any]:
    return w.db.query(lambda s: users.by_login(s, login).model_dump())


def events_of(w: World, action: str) -> list[Event]:
    return w.db.query(
        lambda s: list(s.exec(select(Event).where(Event.action == action).order_by(Event.id)))
    )


def set_password(w: World, login: str, password: str | None, actor: Any = None, **kw: Any) -> Any:
    return w.db.run(users.set_password, actor, w[login].user_id, password, **kw)


def sign_in(w: World, login: str, password: str | None, **kw: Any) -> Any:
    return w.db.run(users.sign_in_password, login, password, **kw)


def refusal(w: World, login: str, password: str | None) -> str:
    with pytest.raises(LoginRefused) as refused:
        sign_in(w, login, password)
    return str(refused.value)


# ------------------------------------------------------------------------------------------------
# setting and checking
# ------------------------------------------------------------------------------------------------
def test_a_password_is_stored_as_a_slow_hash_and_signs_in(w: World) -> None:
    set_password(w, "seller495", SECRET)
    stored = row(w, "seller495")["password_hash"]
    assert stored.startswith("scrypt$16384$8$1$") and SECRET not in stored
    assert users.verify_secret(SECRET, stored)
    assert row(w, "seller495")["pin_hash"] is None  # a password is not a PIN
    actor = sign_in(w, "Seller495 ", SECRET, address="192.0.2.7")
    assert (actor.login, actor.role, actor.dealership_id) == ("seller495", "seller", w.d["495"])
    (done,) = events_of(w, "sign_in")
    assert done.changes == {"by": "password", "address": "192.0.2.7"}
    (said,) = events_of(w, "set_password")
    assert said.changes == {"password": "set"} and said.user_id is None  # the command line


def test_what_a_password_must_be(w: World) -> None:
    for typed, words in (
        ("short pw", "at least 10 characters [(]8 typed[)]"),
        (" " * 12, "only spaces"),
        ("Coordinator499", "cannot be the login"),
        (" coordinator499 ", "cannot be the login"),
        ("x" * 201, "at most 200 characters [(]201 typed[)]"),
    ):
        with pytest.raises(Invalid, match=words) as refused:
            set_password(w, "coordinator499", typed)
        assert refused.value.field == "password"
    assert row(w, "coordinator499")["password_hash"] is None
    set_password(w, "coordinator499", "  ten chars ")  # spaces count, as typed
    assert sign_in(w, "coordinator499", "  ten chars ").login == "coordinator499"
    assert refusal(w, "coordinator499", "ten chars") == GENERIC
    set_password(w, "coordinator499", "y" * 200)


def test_clearing_a_password_ends_sign_in_by_password(w: World) -> None:
    set_password(w, "seller495", SECRET)
    set_password(w, "seller495", "")
    assert row(w, "seller495")["password_hash"] is None
    assert refusal(w, "seller495", SECRET) == GENERIC
    assert [e.changes for e in events_of(w, "set_password")] == [
        {"password": "set"},
        {"password": "cleared"},
    ]


def test_unknown_inactive_passwordless_and_wrong_are_refused_alike(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_password(w, "seller495", SECRET)
    set_password(w, "seller499", SECRET)
    seller499 = w["seller499"]
    w.db.run(
        users.update_user,
        None,
        seller499.user_id,
        display_name="Siri Salg",
        role="seller",
        dealership_id=w.d["499"],
        active=False,
    )
    checked: list[str] = []
    real = lockout.verify_nothing
    monkeypatch.setattr(lockout, "verify_nothing", lambda s: checked.append(s) or real(s))
    said = {
        "unknown": refusal(w, "nobody", SECRET),
        "empty login": refusal(w, "  ", SECRET),
        "inactive": refusal(w, "seller499", SECRET),
        "no password": refusal(w, "coordinator499", SECRET),
        "wrong": refusal(w, "seller495", OTHER),
        "none given": refusal(w, "seller495", None),
    }
    assert set(said.values()) == {GENERIC}, said
    # a hash is checked where there is nothing to check against: as slow as a known login
    assert checked == [SECRET] * 4
    # only the wrong password of a user who has one counts towards a lock-out
    assert row(w, "coordinator499")["failed_pin_attempts"] == 0
    assert row(w, "seller495")["failed_pin_attempts"] == 2


def test_shared_terminal_accounts_have_passwords_too(w: World) -> None:
    """A workshop PC's browser signs in as the terminal account."""
    terminal = w["mechanic2_499"]
    w.db.run(users.set_terminal, None, terminal.user_id, True)
    set_password(w, "mechanic2_499", SECRET, w["admin"])
    assert sign_in(w, "mechanic2_499", SECRET).login == "mechanic2_499"


# ------------------------------------------------------------------------------------------------
# one lock-out, PINs and passwords together
# ------------------------------------------------------------------------------------------------
def test_wrong_passwords_are_counted_and_lock_the_user_out(w: World) -> None:
    set_password(w, "seller495", SECRET)
    for attempt in range(1, lockout.MAX_PIN_FAILURES):
        assert refusal(w, "seller495", OTHER) == GENERIC
        # the count is kept although the sign-in was refused (and its transaction raised)
        assert row(w, "seller495")["failed_pin_attempts"] == attempt
    assert refusal(w, "seller495", OTHER) == GENERIC  # the fifth: locked, said the same way
    assert row(w, "seller495")["locked_until"] == T0 + timedelta(minutes=5)
    at(minutes=4)
    said = refusal(w, "seller495", SECRET)  # even the right one waits out the lock
    assert said == (
        "Too many wrong PINs or passwords: seller495 is locked until 07:05. "
        "Ask a coordinator or wait."
    )
    assert "Kari" not in said  # the login as typed, not the person's name
    assert len(events_of(w, "sign_in_failed")) == 6
    at(minutes=6)
    assert sign_in(w, "seller495", SECRET).login == "seller495"
    assert (row(w, "seller495")["failed_pin_attempts"], row(w, "seller495")["locked_until"]) == (
        0,
        None,
    )


def test_a_lock_by_passwords_refuses_the_pin_and_the_reverse(w: World) -> None:
    set_password(w, "mechanic499", SECRET)
    w.db.run(users.set_pin, None, w["mechanic499"].user_id, "2468")
    for _ in range(lockout.MAX_PIN_FAILURES):
        refusal(w, "mechanic499", OTHER)
    with pytest.raises(LoginRefused, match="Too many wrong PINs or passwords: Per Mekaniker"):
        w.db.run(users.sign_in, "mechanic499", "2468")

    at(minutes=6)  # the lock is over; now wrong PINs
    for _ in range(lockout.MAX_PIN_FAILURES):
        with pytest.raises(LoginRefused, match="Wrong PIN"):
            w.db.run(users.sign_in, "mechanic499", "1111")
    assert refusal(w, "mechanic499", SECRET).startswith("Too many wrong PINs or passwords")

    at(minutes=12)  # and one count for both: three wrong PINs and two wrong passwords lock
    for _ in range(3):
        with pytest.raises(LoginRefused):
            w.db.run(users.sign_in, "mechanic499", "1111")
    refusal(w, "mechanic499", OTHER)
    assert row(w, "mechanic499")["failed_pin_attempts"] == 4
    refusal(w, "mechanic499", OTHER)
    assert row(w, "mechanic499")["locked_until"] == T0 + timedelta(minutes=17)


def test_setting_a_password_lifts_a_lock_out(w: World) -> None:
    set_password(w, "seller495", SECRET)
    for _ in range(lockout.MAX_PIN_FAILURES):
        refusal(w, "seller495", OTHER)
    set_password(w, "seller495", OTHER, w["admin"])
    assert row(w, "seller495")["locked_until"] is None
    assert sign_in(w, "seller495", OTHER).login == "seller495"


# ------------------------------------------------------------------------------------------------
# who sets whose
# ------------------------------------------------------------------------------------------------
def test_ones_own_password_is_changed_with_the_current_one(w: World) -> None:
    kari = w["seller495"]
    set_password(w, "seller495", SECRET, kari)  # none yet: nothing to confirm
    with pytest.raises(Invalid, match="current password first") as missing:
        set_password(w, "seller495", OTHER, kari)
    assert missing.value.field == "current"
    assert row(w, "seller495")["failed_pin_attempts"] == 0  # an empty field is not a guess
    with pytest.raises(WrongSecret, match=r"Wrong password\. 4 tries left") as wrong:
        set_password(w, "seller495", OTHER, kari, current="not it at all")
    assert wrong.value.field == "current"
    assert row(w, "seller495")["failed_pin_attempts"] == 1  # counted, and kept
    assert users.verify_secret(SECRET, row(w, "seller495")["password_hash"])  # unchanged
    (failed,) = events_of(w, "sign_in_failed")
    assert failed.changes == {"by": "current_password"} and failed.user_id == kari.user_id
    set_password(w, "seller495", OTHER, kari, current=SECRET)
    assert row(w, "seller495")["failed_pin_attempts"] == 0
    assert sign_in(w, "seller495", OTHER).login == "seller495"
    set_password(w, "seller495", None, kari, current=OTHER)  # one's own may be cleared
    assert row(w, "seller495")["password_hash"] is None


def test_wrong_current_passwords_lock_like_wrong_sign_ins(w: World) -> None:
    kari = w["seller495"]
    set_password(w, "seller495", SECRET)
    for _ in range(lockout.MAX_PIN_FAILURES - 1):
        with pytest.raises(WrongSecret):
            set_password(w, "seller495", OTHER, kari, current="guess guess")
    with pytest.raises(WrongSecret, match="Kari Selger is locked for 5 minutes"):
        set_password(w, "seller495", OTHER, kari, current="guess guess")
    with pytest.raises(Invalid, match="locked until 07:05"):
        set_password(w, "seller495", OTHER, kari, current=SECRET)
    assert refusal(w, "seller495", SECRET).startswith("Too many wrong PINs or passwords")


def test_a_seller_cannot_set_anothers_password_an_admin_can(w: World) -> None:
    with pytest.raises(NotAllowed):
        set_password(w, "seller499", SECRET, w["seller495"])
    with pytest.raises(NotAllowed):
        set_password(w, "seller495", SECRET, w["coordinator499"])
    assert row(w, "seller499")["password_hash"] is None
    set_password(w, "seller495", SECRET, w["admin"])
    set_password(w, "seller495", OTHER, w["admin"])  # no current password asked of an admin
    assert sign_in(w, "seller495", OTHER).login == "seller495"
    said = events_of(w, "set_password")[-1]
    assert said.user_id == w["admin"].user_id


# ------------------------------------------------------------------------------------------------
# no secret anywhere
# ------------------------------------------------------------------------------------------------
def test_no_password_in_an_event_or_a_log_line(w: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prepfloor.sign_in")
    kari = w["seller495"]
    set_password(w, "seller495", SECRET, kari)
    sign_in(w, "seller495", SECRET, address="198.51.100.4")
    for typed in (OTHER, "a third guess", SECRET + "!"):
        refusal(w, "seller495", typed)
    refusal(w, "nobody", OTHER)
    with pytest.raises(WrongSecret):
        set_password(w, "seller495", OTHER, kari, current="my old guess")
    stored = row(w, "seller495")["password_hash"]
    secrets = (SECRET, OTHER, "a third guess", "my old guess", stored.split("$")[-1])
    everything = json.dumps(
        w.db.query(lambda s: [e.changes for e in s.exec(select(Event))]), ensure_ascii=False
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "prepfloor.sign_in"]
    for secret in secrets:
        assert secret not in everything
        assert not any(secret in line for line in lines), secret
    assert "seller495 signed in by password from 198.51.100.4" in lines
    assert "refused seller495 by password: wrong password (4 tries left before a lock-out)" in lines
    assert "refused 'nobody' by password: unknown login" in lines
    assert any("refused seller495 a new password: wrong current password" in x for x in lines)


def test_an_address_is_one_clean_line(w: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prepfloor.sign_in")
    set_password(w, "seller495", SECRET)
    sign_in(w, "seller495", SECRET, address="10.0.0.1\nforged line")
    (done,) = events_of(w, "sign_in")
    assert done.changes == {"by": "password", "address": "10.0.0.1 forged line"}
    assert not any("\n" in r.getMessage() for r in caplog.records)


def test_a_password_written_by_another_client_is_never_copied(w: World) -> None:
    """PostgreSQL's audit (db/triggers.py, made again by migration 0013) says that it changed."""
    if w.db.dialect != "postgresql":
        pytest.skip("the audit of other clients' writes is PostgreSQL's")
    import psycopg

    from db.urls import libpq_conninfo, normalize_url

    url = w.db.engine.url.render_as_string(hide_password=False)
    with psycopg.connect(libpq_conninfo(normalize_url(url)), autocommit=True) as conn:
        conn.execute("UPDATE users SET password_hash = 'secret' WHERE login = 'seller495'")
        (changes,) = conn.execute(
            "SELECT changes FROM events WHERE writer IS NOT NULL AND entity = 'users'"
        ).fetchone()
    assert changes == {"password_hash": [None, "(not shown)"]}


# ------------------------------------------------------------------------------------------------
# prepfloor users set-password
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The command line, with the machine's own config files and data folder kept out."""
    from typer.testing import CliRunner

    import prepfloor.commands
    import prepfloor.config
    from prepfloor.cli import app
    from prepfloor.config import Locations

    where = Locations(
        user_config=tmp_path / "config" / "config.toml",
        site_config=tmp_path / "site" / "config.toml",
        data_dir=tmp_path / "data",
    )
    monkeypatch.setattr(prepfloor.config, "locations", lambda: where)
    monkeypatch.setattr(prepfloor.commands, "locations", lambda: where)
    monkeypatch.delenv(prepfloor.config.ENV_URL, raising=False)
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(app, list(args), input=input)


def test_users_set_password_by_a_pipe(w: World, cli: Any) -> None:
    url = w.db.url
    done = cli("users", "set-password", "seller495", "--db", url, input=f"{SECRET}\n{SECRET}\n")
    assert done.exit_code == 0, done.output
    assert "Password set for seller495." in done.stdout
    assert SECRET not in done.output
    assert sign_in(w, "seller495", SECRET).login == "seller495"

    one_line = cli("users", "set-password", "seller495", "--db", url, input=f"{OTHER}\n")
    assert one_line.exit_code == 0, one_line.output
    assert sign_in(w, "seller495", OTHER).login == "seller495"

    differ = cli("users", "set-password", "seller495", "--db", url, input=f"{SECRET}\nother one\n")
    assert differ.exit_code == 1 and "differ" in differ.stderr
    short = cli("users", "set-password", "seller495", "--db", url, input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.stderr
    empty = cli("users", "set-password", "seller495", "--db", url, input="")
    assert empty.exit_code == 1 and "no password" in empty.stderr
    nobody = cli("users", "set-password", "nobody", "--db", url, input=f"{SECRET}\n")
    assert nobody.exit_code == 1 and "no active user" in nobody.stderr
    assert sign_in(w, "seller495", OTHER).login == "seller495"  # all of those changed nothing

    cleared = cli("users", "set-password", "seller495", "--clear", "--db", url)
    assert cleared.exit_code == 0 and "Password cleared for seller495." in cleared.stdout
    assert row(w, "seller495")["password_hash"] is None


# ------------------------------------------------------------------------------------------------
# in the app, by keys
# ------------------------------------------------------------------------------------------------
def masked(app: Any, *names: str) -> bool:
    return all(app.screen.query_one(f"#{name}", Input).password for name in names)


def message(app: Any, field: str) -> str:
    return str(app.screen.query_one(f"#msg-{field}").render())


async def test_an_admin_sets_a_password_in_the_users_list(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["admin"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("f7")
        await settle(pilot, app)
        await pilot.press("u")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, UsersScreen)
        assert "Password" in str(screen.query_one("TableHeader").render())
        screen.table.cursor = [r.login for r in screen.table.rows].index("seller495")
        await pilot.press("w")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormDialog)
        assert [f.name for f in form.fields] == ["password", "repeat"]  # no current: not hers
        assert masked(app, "password", "repeat")
        await pilot.press(*SECRET, "tab", *"not the same one", "enter")
        await settle(pilot, app)
        assert app.screen is form and "differ" in message(app, "repeat")
        assert SECRET not in app.export_screenshot()  # typed, never shown
        assert row(ui_world, "seller495")["password_hash"] is None
        form.query_one("#repeat").value = ""
        await pilot.press(*SECRET, "enter")
        await settle(pilot, app)
        assert app.screen is screen
        (kari,) = [r for r in screen.table.rows if r.login == "seller495"]
        assert kari.has_password
    stored = row(ui_world, "seller495")["password_hash"]
    assert stored is not None and users.verify_secret(SECRET, stored)


async def test_change_my_password_from_the_palette(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    kari = ui_world["seller495"]
    ui_store.run(users.set_password, None, kari.user_id, SECRET)
    app = make_app(ui_store, actor=kari)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p", *"change my password")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormDialog)
        assert [f.name for f in form.fields] == ["current", "password", "repeat"]
        assert masked(app, "current", "password", "repeat")
        await pilot.press(*"not my password", "tab", *OTHER, "tab", *OTHER, "enter")
        await settle(pilot, app)
        assert app.screen is form
        assert "Wrong password. 4 tries left" in message(app, "current")
        # counted, and kept although the change was refused
        assert row(ui_world, "seller495")["failed_pin_attempts"] == 1
        form.query_one("#current").value = ""
        form.query_one("#current").focus()
        await settle(pilot, app)
        await pilot.press(*SECRET, "ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, FormDialog)
    kept = row(ui_world, "seller495")
    assert users.verify_secret(OTHER, kept["password_hash"]) and kept["failed_pin_attempts"] == 0


async def test_a_first_password_asks_for_no_current_one(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["mechanic499"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+p", *"my password")
        await settle(pilot, app)
        await pilot.press("enter")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, FormDialog)
        assert [f.name for f in form.fields] == ["password", "repeat"]
        await pilot.press("enter", "enter")  # nothing typed: one's own is not cleared by a slip
        await settle(pilot, app)
        assert app.screen is form and message(app, "password") != ""
        await pilot.press(*"short", "tab", *"short", "enter")
        await settle(pilot, app)
        assert app.screen is form and "at least 10 characters" in message(app, "password")
        form.query_one("#password").value = ""
        form.query_one("#repeat").value = ""
        form.query_one("#password").focus()
        await settle(pilot, app)
        await pilot.press(*SECRET, "tab", *SECRET, "enter")
        await settle(pilot, app)
        assert not isinstance(app.screen, FormDialog)
    stored = row(ui_world, "mechanic499")["password_hash"]
    assert stored is not None and users.verify_secret(SECRET, stored)
