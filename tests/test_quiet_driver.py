"""The terminal driver whose input thread sleeps while nobody types (prepfloor/quiet_driver.py).

Run for real in a pty: keys still arrive, a lone Escape (which the parser must time out, as it
could be the start of a sequence) still backs out, and quitting ends the process at once (the
sleeping thread is woken, not left waiting for a key).  What it saves is measured by
``bench/bench_idle.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from ptyapp import KEYS, Terminal

from prepfloor.app import PrepfloorApp, _driver_class
from prepfloor.quiet_driver import QuietDriver


def test_the_app_chooses_the_quiet_driver(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert _driver_class() is QuietDriver
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.linux_driver:LinuxDriver")
    assert _driver_class() is None  # Textual's own choice, as Textual reads it
    assert PrepfloorApp.__init__ is not None


def _started(ui_world) -> Terminal:  # type: ignore[no-untyped-def]
    """prepfloor in a real terminal, signed in as the admin, its car list up."""
    ui_world.register("seller495", customer_name="Quiet Kunde")
    url = ui_world.db.engine.url.render_as_string(hide_password=False)
    terminal = Terminal(["--db", url, "--user", "admin"], {"TERM": "xterm-256color"}, (100, 30))
    terminal.wait_for("Quiet Kunde")
    terminal.quiet(0.5)
    return terminal


def _open_a_car_back_out_and_quit(terminal: Terminal) -> None:
    terminal.send(KEYS["enter"])  # open the car
    terminal.wait_for("Order and customer")
    terminal.quiet(0.5)
    terminal.send(KEYS["escape"])  # a lone Escape: back to the list
    terminal.wait_for("Search")
    terminal.quiet(0.5)
    terminal.send(KEYS["ctrl+q"])  # signed in at the sign-in screen: signs out first
    terminal.wait_for("Who are you?")
    terminal.quiet(0.5)
    terminal.send(KEYS["ctrl+q"])
    deadline = time.monotonic() + 10
    ended = 0
    while time.monotonic() < deadline and not ended:
        with contextlib.suppress(RuntimeError):  # the terminal closed: it has ended
            terminal.pump(0.1)
        ended, _status = os.waitpid(terminal.pid, os.WNOHANG)
    assert ended == terminal.pid  # quit: the input thread did not hold the process


def test_keys_a_lone_escape_and_quitting_in_a_real_terminal(ui_world) -> None:  # type: ignore[no-untyped-def]
    terminal = _started(ui_world)
    try:
        _open_a_car_back_out_and_quit(terminal)
    finally:
        terminal.close()


def test_a_sigcont_without_a_suspend_leaves_the_terminal_as_it_is(ui_world) -> None:  # type: ignore[no-untyped-def]
    """A terminal that hangs up (an SSH link dropped) sends SIGCONT with SIGHUP.  Textual resumed
    on every SIGCONT: it set the terminal up again and started a second input thread, which a
    served session's exit then waited for forever.  Only a suspend is resumed now: the app does
    not touch the terminal, keys arrive once, and quitting ends the process."""
    terminal = _started(ui_world)
    try:
        before = len(terminal.output)
        os.kill(terminal.pid, signal.SIGCONT)
        terminal.quiet(1.0)
        assert b"\x1b[?1049h" not in terminal.output[before:]  # not set up a second time
        _open_a_car_back_out_and_quit(terminal)
    finally:
        terminal.close()


def test_enter_typed_while_the_program_started_signs_in(ui_world) -> None:  # type: ignore[no-untyped-def]
    """Name, Enter, PIN, Enter typed before prepfloor had the terminal: the terminal's line mode
    turned each Enter into a line feed (what the tty does to a CR before a program sets raw
    mode).  They still sign the mechanic in."""
    from db import users

    w = ui_world
    w.db.run(users.set_pin, None, w["mechanic499"].user_id, "2468")
    url = w.db.engine.url.render_as_string(hide_password=False)
    terminal = Terminal(["--db", url], {"TERM": "xterm-256color"}, (100, 30))
    try:
        while not terminal.output:  # prepfloor has the terminal; its first screen is not up
            terminal.pump(0.01)
        terminal.send(b"Per Mekaniker\n2468\n")
        terminal.wait_for("My jobs")
    finally:
        terminal.close()


def test_a_line_feed_is_enter_and_a_paste_keeps_its_line_breaks() -> None:
    from textual import events

    from prepfloor.quiet_driver import typed_enter

    assert typed_enter(events.Key("ctrl+j", "\n")).key == "enter"
    assert typed_enter(events.Key("a", "a")).key == "a"
    assert typed_enter(events.Paste("a\nb")).text == "a\nb"
