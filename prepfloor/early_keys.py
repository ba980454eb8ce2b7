"""Keys typed while prepfloor starts reach it as typed.

Until Textual puts the terminal in raw mode (a few tenths of a second after ``prepfloor`` is
started), the terminal is in its ordinary mode, and keys typed in that time wait in its buffer for
the app, changed by the terminal on the way in:

- with flow control on, ``ctrl+s`` (book, save) is taken by the terminal itself to stop the output
  and ``ctrl+q`` to start it again;
- Enter becomes a newline, which the app reads as ``ctrl+j``: a search or sign-in typed ahead is
  never submitted;
- the line is held and edited by the terminal (Backspace, ``ctrl+u``, ``ctrl+w`` act there, not
  in the field they were meant for);
- every key is echoed onto the screen, where it is left behind.

A booking typed in one go with the start (``prepfloor``, Enter, then the keys of a booking ending
in ``ctrl+s``: a fast typist, an SSH link that catches up) lost its ``ctrl+s``.

:func:`keep_early_keys` puts the terminal's input in the mode Textual will set (:func:`as_typed`)
first thing, before the imports; the terminal's own settings come back when the process ends
(Textual restores its own, which it read after this, when the app exits).  ``ctrl+c`` still stops
a start that hangs (a database that does not answer).  ``prepfloor serve`` gives each session's
terminal the same input mode, ``ctrl+c`` included, before the app runs on it
(``prepfloor/serve_session.py``).
"""

from __future__ import annotations

import atexit
import contextlib
import sys
from typing import Any


def keep_early_keys() -> None:
    """Flow control and echo off on the terminal prepfloor runs in, until the process ends."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        return
    try:
        if not sys.stdin.isatty():
            return
        fd = sys.stdin.fileno()
        before = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        return
    after = as_typed(before, signals=True)
    try:
        termios.tcsetattr(fd, termios.TCSANOW, after)
    except termios.error:
        return
    atexit.register(_restore, fd, before)


def as_typed(attrs: list[Any], *, signals: bool) -> list[Any]:
    """Terminal settings ``attrs`` (``termios.tcgetattr``'s list) with the input as Textual reads
    it: every key passed on at once and unchanged, nothing echoed.  The output is left alone.
    With ``signals`` kept, ``ctrl+c`` still interrupts the process."""
    import termios

    after = list(attrs)
    after[0] &= ~(  # iflag
        termios.IXON | termios.IXOFF  # ctrl+s and ctrl+q are keys
        | termios.ICRNL | termios.INLCR | termios.IGNCR  # Enter stays Enter
    )  # fmt: skip
    lflag = termios.ECHO | termios.ICANON | termios.IEXTEN  # no echo; no line held and edited
    after[3] &= ~(lflag if signals else lflag | termios.ISIG)
    after[6] = list(after[6])
    after[6][termios.VMIN] = 1  # each key as it comes
    after[6][termios.VTIME] = 0
    return after


def _restore(fd: int, before: list[object]) -> None:
    import termios

    with contextlib.suppress(OSError, termios.error):  # the terminal is gone
        termios.tcsetattr(fd, termios.TCSADRAIN, before)
