"""Keys typed while prepfloor starts, before Textual has the terminal in raw mode
(prepfloor/early_keys.py): ``ctrl+s`` and ``ctrl+q`` reach the program instead of being taken by
the terminal's flow control, Enter stays Enter and Backspace a key (the terminal does not edit the
line), nothing is echoed, and the terminal's own settings come back at exit.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import termios
import time

import pytest

CHILD = """
import sys, termios
sys.path.insert(0, {root!r})
if {keep}:
    from prepfloor.early_keys import keep_early_keys
    keep_early_keys()
print("ready", flush=True)
line = sys.stdin.buffer.readline()
print("got", line.hex(), flush=True)
"""


def _read_until(fd: int, pattern: bytes, seconds: float = 20.0) -> bytes:
    """What the child writes, until ``pattern`` (a regular expression) has come whole."""
    out = b""
    deadline = time.monotonic() + seconds
    while not re.search(pattern, out) and time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child has ended
            break
        out += chunk
    return out


TYPED = b"\x13x\x11\x7fy\r\n"  # ctrl+s, x, ctrl+q, Backspace, y, Enter; a newline ends the read


def _typed_at_start(keep: bool) -> tuple[bytes, list[int], list[int]]:
    """Start a child on a terminal, type :data:`TYPED` as it starts: what it read, and the
    terminal's settings before it ran and after it ended."""
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=root, keep=keep)],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    _read_until(master, rb"ready\r?\n")
    os.write(master, TYPED)
    out = _read_until(master, rb"got [0-9a-f]*\r?\n")
    child.wait(timeout=20)
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    found = re.search(rb"got ([0-9a-f]*)\r?\n", out)
    assert found is not None, out
    return bytes.fromhex(found.group(1).decode()), before, after


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux terminal")
def test_ctrl_s_and_ctrl_q_typed_while_it_starts_reach_the_program() -> None:
    got, before, after = _typed_at_start(keep=True)
    assert got == TYPED
    assert after == before  # flow control, line editing and echo back as they were
    assert before[0] & termios.IXON and before[0] & termios.ICRNL
    assert before[3] & termios.ECHO and before[3] & termios.ICANON


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux terminal")
def test_without_it_the_terminal_takes_them() -> None:
    """What the terminal does on its own: flow control swallows ctrl+s and ctrl+q, Backspace
    erases the x in the terminal's line, and Enter becomes a newline (the app's ``ctrl+j``)."""
    got, _before, _after = _typed_at_start(keep=False)
    assert got == b"y\n"
