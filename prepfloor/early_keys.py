"""Keys typed while prepfloor starts reach it as typed.

Until Textual puts the terminal in raw mode (a few tenths of a second after ``prepfloor`` is
started), the terminal is in its ordinary mode, and keys typed in that time wait in its buffer for
the app.  Two of them never arrive: with flow control on, ``ctrl+s`` (book, save) is taken by the
terminal itself to stop the output and ``ctrl+q`` to start it again; and every key is echoed onto
the shell's screen, where it is left behind after prepfloor exits.  A booking typed in one go with
the start (``prepfloor``, Enter, then the keys of a booking ending in ``ctrl+s``: a fast typist, an
SSH link that catches up) lost its ``ctrl+s``.

:func:`keep_early_keys` switches flow control and echo off first thing, before the imports; the
terminal's own settings come back when the process ends (Textual restores its own, which it read
after this, when the app exits).
"""

from __future__ import annotations

import atexit
import contextlib
import sys


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
    after = list(before)
    after[0] &= ~(termios.IXON | termios.IXOFF)  # iflag: ctrl+s and ctrl+q are keys
    after[3] &= ~termios.ECHO  # lflag: what is typed is not echoed under the first screen
    try:
        termios.tcsetattr(fd, termios.TCSANOW, after)
    except termios.error:
        return
    atexit.register(_restore, fd, before)


def _restore(fd: int, before: list[object]) -> None:
    import termios

    with contextlib.suppress(OSError, termios.error):  # the terminal is gone
        termios.tcsetattr(fd, termios.TCSADRAIN, before)
