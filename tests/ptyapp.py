"""The real ``prepfloor`` program in a pseudo-terminal, driven by keys the way a terminal sends them.

Keys go in one at a time, each after the screen has gone quiet (a person typing), or all at once
in one write (a paste, a badge or barcode reader, an SSH link that stalls and then catches up).
The database is compared afterwards: what a flow changed must be the same both ways.  Used by
``tests/test_typeahead_pty.py`` and ``bench/bench_typeahead.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREPFLOOR = str(Path(sys.executable).parent / "prepfloor")
SEQUENCES = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)

# What a terminal (xterm) sends for each key.
KEYS: dict[str, bytes] = {
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "enter": b"\r",
    "escape": b"\x1b",
    "backspace": b"\x7f",
    "space": b" ",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "f1": b"\x1bOP",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f6": b"\x1b[17~",
    "f7": b"\x1b[18~",
    "f8": b"\x1b[19~",
    "f9": b"\x1b[20~",
    **{f"ctrl+{c}": bytes([ord(c) - 96]) for c in "abdefgklnopqrstuvwxy"},
}


def encode(keys: Sequence[str]) -> list[bytes]:
    """Key names (``"tab"``, ``"ctrl+s"``, ``"f4"``) as they are, any other string one key per
    character."""
    out: list[bytes] = []
    for key in keys:
        if key in KEYS:
            out.append(KEYS[key])
        else:
            out.extend(ch.encode() for ch in key)
    return out


def visible(output: bytes) -> str:
    """The characters a terminal shows of ``output`` (its sequences taken out)."""
    return SEQUENCES.sub(b"", output).decode(errors="replace")


CURSOR_TO = re.compile(rb"\x1b\[(\d*)(?:;(\d*))?H")  # move the cursor to row;column


def screen(output: bytes, size: tuple[int, int]) -> str:
    """The screen ``output`` leaves, as lines of text: enough of a terminal for what Textual
    writes (the cursor moved to a row and column, then text; every other sequence is style).
    For failure messages: what the user would have seen, not the stream's last bytes."""
    cols, rows = size
    grid = [[" "] * cols for _ in range(rows)]
    row = col = position = 0
    for match in SEQUENCES.finditer(output):
        row, col = _write(grid, output[position : match.start()], row, col)
        move = CURSOR_TO.fullmatch(match.group(0))
        if move:
            row = max(0, min(rows - 1, int(move.group(1) or 1) - 1))
            col = max(0, min(cols - 1, int(move.group(2) or 1) - 1))
        position = match.end()
    _write(grid, output[position:], row, col)
    return "\n".join("".join(line).rstrip() for line in grid)


def _write(grid: list[list[str]], data: bytes, row: int, col: int) -> tuple[int, int]:
    for char in data.decode(errors="replace"):
        if char == "\r":
            col = 0
        elif char == "\n":
            row = min(len(grid) - 1, row + 1)
        elif char >= " " and col < len(grid[0]):
            grid[row][col] = char
            col += 1
    return row, col


class Terminal:
    """One ``prepfloor`` process in a pty of ``size`` (columns, rows)."""

    def __init__(self, args: Sequence[str], env: dict[str, str], size: tuple[int, int]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child
            os.environ.update(env)
            os.execv(PREPFLOOR, [PREPFLOOR, *args])
        self.pid, self.fd, self.size = pid, fd, size
        cols, rows = size
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.output = b""
        self._mark = 0

    def _read(self, timeout: float) -> bool:
        if not select.select([self.fd], [], [], timeout)[0]:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            raise RuntimeError("prepfloor exited") from None
        self.output += chunk
        return bool(chunk)

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        """Until ``text`` is shown (in what was written since the last :meth:`send`)."""
        deadline = time.monotonic() + timeout
        while text not in visible(self.output[self._mark :]):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{text!r} never shown; the screen:\n{self.screen()}")
            self._read(min(left, 0.2))

    def screen(self) -> str:
        """What the terminal shows now (:func:`screen`)."""
        return screen(self.output, self.size)

    def quiet(self, seconds: float = 0.15, most: float = 3.0) -> None:
        """Until nothing was written for ``seconds`` (at most ``most`` seconds)."""
        deadline = time.monotonic() + most
        while time.monotonic() < deadline:
            if not self._read(seconds):
                return

    def send(self, data: bytes) -> None:
        self._mark = len(self.output)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._read(left)

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):  # RuntimeError: it has quit
            os.write(self.fd, KEYS["ctrl+q"])
            self.pump(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self.fd)


@contextlib.contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """``processes`` busy loops for as long as the block runs (a loaded shop server)."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------------
# flows
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flow:
    """Keys a person types from a start screen, and how to tell they have all taken effect."""

    name: str
    user: str  # --user: preselected on the sign-in screen (no PIN: signed in at once)
    ready: str  # text on the start screen once it is up
    keys: tuple[str, ...]
    done: Callable[[Any], bool]  # (a FastReader) -> the flow's change is in the database
    before: tuple[str, ...] = ()  # keys typed one by one to reach the start (not measured)
    extra: dict[str, str] = field(default_factory=dict)


def run(
    url: str,
    flow: Flow,
    *,
    burst: bool,
    size: tuple[int, int] = (100, 30),
    env: dict[str, str] | None = None,
    timeout: float = 40.0,
    early: bool = False,
) -> float:
    """Type ``flow``'s keys into a fresh prepfloor on ``url``: one by one, each after the screen
    went quiet, or in one write.  Returns the seconds from the first key until the database showed
    the flow's change (``TimeoutError`` if it never did).  ``early``: the burst is written the
    moment prepfloor has taken the terminal (its first output), before its first screen."""
    from db.fast import FastReader

    args = ["--db", url, *(["--user", flow.user] if flow.user else [])]
    terminal = Terminal(args, {"TERM": "xterm-256color", **(env or {})}, size)
    reader = FastReader(url)
    try:
        if early:
            while not terminal.output:
                terminal.pump(0.01)
        else:
            terminal.wait_for(flow.ready)
            terminal.quiet(0.3)
        for key in encode(flow.before):
            terminal.send(key)
            terminal.quiet()
        keys = encode(flow.keys)
        start = time.monotonic()
        if burst:
            terminal.send(b"".join(keys))
        else:
            for key in keys:
                terminal.send(key)
                terminal.quiet()
        deadline = start + timeout
        while not flow.done(reader):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{flow.name}: the change never reached the database; the screen:\n"
                    f"{terminal.screen()}"
                )
            terminal.pump(0.1)
        took = time.monotonic() - start
        terminal.quiet(0.6, most=10.0)  # what follows the change (a second, unwanted save)
        return took
    finally:
        terminal.close()
        reader.close()


# ------------------------------------------------------------------------------------------------
# what a flow leaves in the database
# ------------------------------------------------------------------------------------------------
STATE: dict[str, str] = {
    "cars": (
        "SELECT vin, license_plate, brand, model, model_year, color, order_number, customer_name, "
        "customer_phone, customer_email, car_type, status, seller_notes, inspection_approved, "
        "inspection_notes, expected_delivery_date FROM cars"
    ),
    "bookings": (
        "SELECT c.vin, t.code, b.date, b.start_time, b.estimated_hours, u.login, b.status, "
        "b.provider_dealership_id, b.consumer_dealership_id, b.notes FROM resource_bookings b "
        "LEFT JOIN cars c ON c.id = b.car_id JOIN resource_types t ON t.id = b.resource_type_id "
        "LEFT JOIN users u ON u.id = b.user_id"
    ),
    "capacities": (
        "SELECT d.dealership_number, t.code, c.date, u.login, c.allocated_hours, c.used_hours "
        "FROM resource_capacities c JOIN dealership d ON d.id = c.dealership_id "
        "JOIN resource_types t ON t.id = c.resource_type_id LEFT JOIN users u ON u.id = c.user_id"
    ),
    "checklist": (
        "SELECT c.vin, i.item_name, i.status, i.notes FROM inspection_checklist_items i "
        "JOIN cars c ON c.id = i.car_id"
    ),
    "parts": (
        "SELECT c.vin, p.part_name, p.part_number, p.quantity, p.status FROM parts_orders p "
        "JOIN cars c ON c.id = p.car_id"
    ),
    "sign_in": "SELECT login, failed_pin_attempts, locked_until IS NOT NULL FROM users",
    "clocks": (
        "SELECT u.login, b.id IS NOT NULL, t.ended_at IS NULL FROM timebank_entries t "
        "JOIN users u ON u.id = t.user_id LEFT JOIN resource_bookings b ON b.id = t.booking_id"
    ),
}


def state(url: str) -> dict[str, list[tuple[str, ...]]]:
    """The rows a flow can change, without ids or times, sorted: two runs of the same keys on
    copies of the same database must leave the same state."""
    from db.fast import FastReader

    reader = FastReader(url)
    try:
        return {
            name: sorted(tuple(str(v) for v in row) for row in reader.rows(sql, {}))
            for name, sql in STATE.items()
        }
    finally:
        reader.close()


def difference(
    before: dict[str, list[tuple[str, ...]]], after: dict[str, list[tuple[str, ...]]]
) -> dict[str, list[tuple[str, ...]]]:
    """What changed: per table, the rows that are new or gone (gone ones marked ``-``), each as
    often as it changed (two equal new rows are two rows)."""
    changed: dict[str, list[tuple[str, ...]]] = {}
    for name in STATE:
        old, new = Counter(before[name]), Counter(after[name])
        rows = sorted((new - old).elements()) + sorted(
            ("-", *row) for row in (old - new).elements()
        )
        if rows:
            changed[name] = rows
    return changed
