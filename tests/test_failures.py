"""Nothing fails silently: the database fails under each screen's main action (its disk full, its
server gone) and the user is told what failed, that nothing was saved and what to do; the form
keeps what was typed; the app keeps running and saves once the fault is gone.

The full disk is a real one: a small filesystem (tmpfs) holding the database, filled to the last
byte.  Where this machine does not let the tests mount one, SQLite's ``max_page_count`` gives the
same SQLITE_FULL error on the same writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import settling
from test_app import SIZE, text_of
from test_coordinator_ui import MONDAY, capacity, go_to_cell
from test_typeahead import burst

from db import clock
from db.failures import describe, is_database_fault
from db.models import Car, TimebankEntry
from db.store import Store
from prepfloor.app import make_app
from screens.capacity import CapacityScreen
from screens.intake import IntakeScreen
from screens.login import LoginScreen
from world import T0, World, book, build_world, rows


async def settle(pilot: Any, app: Any) -> None:
    """Until the keys, the workers (failed ones too: a draft saved on a full disk fails, and the
    app says so) and the repaint are done."""
    await settling.settle(pilot, app, failed_ok=True)


typed = settle  # every key of a burst handled and taken effect


# ------------------------------------------------------------------------------------------------
# what is said
# ------------------------------------------------------------------------------------------------
def test_what_a_failure_says() -> None:
    full = describe(sqlite3.OperationalError("database or disk is full"), "Saving the hours")
    assert full == (
        "Saving the hours failed: the database's disk is full. Nothing was saved. Tell your "
        "admin: the server needs free disk space."
    )
    said = describe(Exception("FATAL: sorry, too many clients already"))
    assert "no free connection" in said and "Nothing was saved" in said
    said = describe(Exception("connection failed: Connection refused"))
    assert "cannot be reached" in said
    assert "disk is full" in describe(OSError(errno.ENOSPC, "No space left on device"))
    odd = describe(RuntimeError("something new\nwith a second line"))
    assert "something new" in odd and "second line" not in odd and "Nothing was saved" in odd
    assert is_database_fault(sqlite3.OperationalError("x"))
    assert not is_database_fault(KeyError("a bug in prepfloor is not hidden"))


# ------------------------------------------------------------------------------------------------
# a full disk
# ------------------------------------------------------------------------------------------------
class Disk:
    """The database's filesystem: :meth:`fill` takes every free byte, :meth:`free` gives it back."""

    def __init__(self, db_path: Path, mounted: bool) -> None:
        self.db_path = db_path
        self.mounted = mounted
        self.filler = db_path.parent / "filler"

    def fill(self) -> None:
        if self.mounted:
            # The log emptied first, so that a save needs new space: a session checkpoints after
            # its writes (db.checkpoint), and a save that fits in the log's old space succeeds.
            with sqlite3.connect(self.db_path, timeout=10) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                for size in (65536, 512, 1):  # to the last byte
                    with contextlib.suppress(OSError):
                        while True:
                            os.write(fd, b"\0" * size)
            finally:
                os.close(fd)
        else:
            with sqlite3.connect(self.db_path) as conn:
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
            os.environ["PREPFLOOR_TEST_MAX_PAGES"] = str(pages)

    def free(self) -> None:
        if self.mounted:
            self.filler.unlink(missing_ok=True)
        else:
            os.environ.pop("PREPFLOOR_TEST_MAX_PAGES", None)


@pytest.fixture
def small_disk(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Store, World, Disk]]:
    """The fixed world (Monday 7 January 2030, UTC) on a database on a 6 MB filesystem."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )
    path = where / "prepfloor.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    store = Store(f"sqlite:///{path}")
    if not mounted:
        _limit_pages(store)
    clock.set_zone(UTC)
    clock.freeze(T0)
    disk = Disk(path, mounted)
    try:
        w = build_world(store.db, days=3)
        yield store, w, disk
    finally:
        disk.free()
        clock.freeze(None)
        clock.set_zone(None)
        store.close()
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)


def _limit_pages(store: Store) -> None:
    """Without a small filesystem: SQLite's page limit gives the same SQLITE_FULL."""
    from sqlalchemy import event

    @event.listens_for(store.db.engine, "begin")
    def _limit(conn: Any) -> None:
        pages = os.environ.get("PREPFLOOR_TEST_MAX_PAGES")
        if pages:
            conn.exec_driver_sql(f"PRAGMA max_page_count = {int(pages)}")
        else:
            conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")


def said(app: Any) -> str:
    """The toasts' texts, in lower case."""
    return " ".join(str(n.message) for n in app._notifications).lower()


async def test_a_grid_cell_on_a_full_disk_keeps_what_was_typed_and_saves_later(small_disk) -> None:  # type: ignore[no-untyped-def]
    store, w, disk = small_disk
    app = make_app(store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen)
        go_to_cell(app, "TECH_PREP", None, MONDAY, w)
        await settle(pilot, app)
        disk.fill()
        burst(app, "12\r")
        await typed(pilot, app)
        assert "the database's disk is full. nothing was saved" in said(app)
        edit = app.screen.query_one("#edit")
        assert edit.value == "12" and app.screen.query_one("#edit-bar").has_class("visible")
        assert capacity(w, "TECH_PREP", MONDAY)["allocated_hours"] == 16  # unchanged
        disk.free()
        burst(app, "\r")  # the same Enter again, once there is room
        await typed(pilot, app)
        assert not app.screen.query_one("#edit-bar").has_class("visible")
        assert app.is_running
    assert capacity(w, "TECH_PREP", MONDAY)["allocated_hours"] == 12


async def test_a_new_car_on_a_full_disk_stays_in_the_form(small_disk) -> None:  # type: ignore[no-untyped-def]
    store, w, disk = small_disk
    app = make_app(store, actor=w["seller495"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        burst(app, ["ctrl+n"])
        await typed(pilot, app)
        disk.fill()
        burst(app, [*"WBA11122233344477\t\tiX3\t495-777\tNora Berg", "ctrl+s"])
        await typed(pilot, app)
        assert isinstance(app.screen, IntakeScreen)
        assert app.screen.query_one("#customer_name").value == "Nora Berg"
        assert "disk is full" in said(app)
        assert not [c for c in rows(w, Car) if c["status"] != "draft"]
        disk.free()
        burst(app, ["ctrl+s"])
        await typed(pilot, app)
        assert not isinstance(app.screen, IntakeScreen)
    (car,) = [c for c in rows(w, Car) if c["vin"] == "WBA11122233344477"]
    assert car["status"] == "registered" and car["customer_name"] == "Nora Berg"


async def test_starting_a_job_on_a_full_disk_is_said_and_no_clock_runs(small_disk) -> None:  # type: ignore[no-untyped-def]
    store, w, disk = small_disk
    car = w.register(seller="seller499")
    book(w, 0, 2, car_id=car)
    app = make_app(store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        disk.fill()
        burst(app, " ")
        await typed(pilot, app)
        assert "disk is full" in said(app)
        assert rows(w, TimebankEntry) == []
        disk.free()
        burst(app, " ")
        await typed(pilot, app)
    assert len(rows(w, TimebankEntry)) == 1


async def test_the_write_path_loaded_ahead_fails_unsaid_and_the_first_save_loads_it(
    small_disk, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The mechanic's jobs load the write path in the background (Enter saves).  When that fails
    nothing the user did has failed: it is logged, not said, and the first start of a clock loads
    the write path itself and saves."""
    store, w, _disk = small_disk
    car = w.register(seller="seller499")
    book(w, 0, 2, car_id=car)
    tried: list[bool] = []

    def fails(self: Store) -> None:
        tried.append(True)
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(Store, "warm", fails)
    session = Store(store.url)  # a new session's: nothing written through it yet
    app = make_app(session, actor=w["mechanic499"])
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, app)
            await pilot.pause(0.6)  # the write path is loaded after the first frame
            await settle(pilot, app)
            assert tried == [True]
            assert said(app) == ""
            burst(app, " ")
            await typed(pilot, app)
            assert "started" in said(app)
    finally:
        session.close()
    assert len(rows(w, TimebankEntry)) == 1


async def test_a_late_answer_for_a_closed_form_is_logged_not_said(ui_store, coord_world) -> None:  # type: ignore[no-untyped-def]
    """A form's worker that answers after the form was saved and closed finds none of its widgets
    (Textual's NoMatches): nothing is left to show it in, so it is logged, not said.  (It was said
    as "The database failed ... Nothing was saved" over a booking that was saved.)  The same error
    on a form still open is said, as every failure is."""
    from types import SimpleNamespace

    from textual.css.query import NoMatches

    from screens.booking import BookingDialog

    w = coord_world
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settling.settle(pilot, app)
        await pilot.press("f4")
        await settling.settle(pilot, app)
        go_to_cell(app, "TECH_PREP", "mechanic499", MONDAY, w)
        await pilot.press("b")
        await settling.settle(pilot, app)
        form = app.screen
        assert isinstance(form, BookingDialog)

        def late(node: Any) -> Any:
            error = NoMatches("No nodes match 'SelectOverlay' on Select(id='user_id')")
            return SimpleNamespace(error=error, group="booking-people", name="_show", node=node)

        app.worker_failed(late(form.query_one("#user_id")))  # the form is open: said
        await settling.settle(pilot, app)
        assert "the database failed" in said(app)
        app.clear_notifications()
        await pilot.press("escape")
        await settling.settle(pilot, app)
        assert isinstance(app.screen, CapacityScreen) and form not in app.screen_stack
        app.worker_failed(late(form))  # closed: logged only
        await settling.settle(pilot, app)
        assert said(app) == ""


async def test_a_pin_sign_in_on_a_full_disk_is_said(small_disk) -> None:  # type: ignore[no-untyped-def]
    from db import users

    store, w, disk = small_disk
    w.db.run(users.set_pin, None, w["mechanic499"].user_id, "1234")
    app = make_app(store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        disk.fill()
        burst(app, [*"Per Mek", "enter", *"1234", "enter"])
        await typed(pilot, app)
        assert isinstance(app.screen, LoginScreen)
        assert "Signing in failed: the database's disk is full" in text_of(app)
        disk.free()
        burst(app, [*"1234", "enter"])  # a refused PIN is cleared: typed again
        await typed(pilot, app)
        assert not isinstance(app.screen, LoginScreen)


# ------------------------------------------------------------------------------------------------
# a database server that cannot be reached
# ------------------------------------------------------------------------------------------------
async def test_a_sign_in_screen_without_its_server_says_so_and_keeps_running() -> None:
    store = Store("postgresql://prepfloor@127.0.0.1:9/gone")  # nothing listens on port 9
    app = make_app(store)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot, app)
            assert isinstance(app.screen, LoginScreen)
            assert "the database server cannot be reached. nothing was saved" in said(app)
            assert app.is_running
            await pilot.press(*"per")
            await settle(pilot, app)
            assert app.screen.query_one("#filter").value == "per"  # still typing
    finally:
        store.close()


async def test_an_action_that_fails_on_the_database_is_said_and_the_session_goes_on(
    ui_store, coord_world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Textual ends the app when an action raises; a database fault in an action is said."""

    def broken(self: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(CapacityScreen, "action_today", broken)
    app = make_app(ui_store, actor=coord_world["coordinator499"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        await pilot.press("t")
        await settle(pilot, app)
        assert "the database's disk failed to read or write. nothing was saved" in said(app)
        assert app.is_running and isinstance(app.screen, CapacityScreen)
        await pilot.press("right")  # the screen still takes keys
        await settle(pilot, app)
        assert app.is_running


async def test_the_waiting_toast_comes_after_a_second_and_goes_when_the_save_is_through(
    ui_store, coord_world
) -> None:  # type: ignore[no-untyped-def]
    """Store.on_wait is called from the worker's thread: True after about a second of waiting,
    False when the write is through or refused; the toast follows it."""
    import asyncio

    app = make_app(ui_store, actor=coord_world["coordinator499"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, app)
        assert ui_store.on_wait == app._write_waiting
        await asyncio.to_thread(ui_store.on_wait, True)  # from a worker's thread
        await settle(pilot, app)
        assert "waiting for another terminal's change" in said(app)
        await asyncio.to_thread(ui_store.on_wait, False)
        await settle(pilot, app)
        assert "waiting for another terminal's change" not in said(app)
