"""The TUI as a user meets it, measured through a real pseudo-terminal.

Starts the real ``prepfloor`` command in a pty (120x40, xterm-256color) on the given database, as a
user whose login is the OS login name (added if missing), and prints:

* cold start to the first painted car list (the first car's VIN on screen), median of N runs,
  taking turns with its floor (a bare Textual app through the same pty), and the CPU seconds of
  each until its first frame (which the machine's other work does not stretch);
* keypress-to-repaint in the car list: cursor down/up, page down/up, End (the last page, fetched
  from the database), Home, and search (the sixth character of a VIN's tail, from the key to the
  one matching car painted): p50/p99, measured 3 s after the first frame;
* peak resident memory of the session (VmHWM) after all that, then after its first write (the help's
  ``s``: open on this screen from now on), which loads the ORM;
* a car's view in a fresh session: from Enter on the first car of the list to its view drawn, the
  first car of the session and the next one, and the session's VmHWM after both (N runs).

The sources of the tree the bench belongs to are compiled first (as an installed prepfloor's are),
and the bench says which tree the ``prepfloor`` command starts (``PYTHONPATH`` decides).

Usage: python bench/bench_tui.py --db bench/out/large.db [--runs 7]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import getpass
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from _common import load_note

ROOT = Path(__file__).resolve().parent.parent
PREPFLOOR = str(Path(sys.executable).parent / "prepfloor")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def ensure_os_user(url: str) -> None:
    """The bench signs in as the OS login name, like an SSH user on the shop server."""
    sys.path.insert(0, str(ROOT))
    from db import users
    from db.store import Store

    store = Store(url)
    login = getpass.getuser()
    if store.fast.actor(login) is None:
        store.run(
            users.create_user,
            None,
            login=login,
            display_name="Bench Admin",
            role="admin",
            dealership_id=None,
        )
    store.close()


class Session:
    """One prepfloor process in a pty."""

    def __init__(self, url: str, cols: int = 120, rows: int = 40) -> None:
        self.t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.environ["COLORTERM"] = "truecolor"
            os.execv(PREPFLOOR, [PREPFLOOR, "--db", url])
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.buffer = b""

    def read_until(self, pattern: bytes, timeout: float = 30.0) -> float:
        """Seconds from now until ``pattern`` appears in the (escape-stripped) output."""
        start = time.perf_counter()
        self.buffer = b""
        while True:
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                raise TimeoutError(f"{pattern!r} not seen; last output: {self.text()[-300:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                raise TimeoutError("prepfloor exited") from None
            self.buffer += chunk
            if pattern in ANSI.sub(b"", self.buffer):
                return time.perf_counter() - start

    def text(self) -> str:
        return ANSI.sub(b"", self.buffer).decode(errors="replace")

    def drain(self, quiet: float = 0.3) -> None:
        """Read until the screen has been quiet for ``quiet`` seconds."""
        while True:
            ready, _, _ = select.select([self.fd], [], [], quiet)
            if not ready:
                return
            try:
                os.read(self.fd, 65536)
            except OSError:
                return

    def key(self, data: bytes, pattern: bytes | None = None, timeout: float = 10.0) -> float:
        """Seconds from the key to the repaint: to ``pattern`` on screen, or to the first frame."""
        self.drain(0.15)
        start = time.perf_counter()
        os.write(self.fd, data)
        self.buffer = b""
        if pattern is None:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                raise TimeoutError("no repaint")
            os.read(self.fd, 65536)
        else:
            self.read_until(pattern, timeout)
        return time.perf_counter() - start

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the prepfloor process (the child of the pty)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        kb = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return kb / 1024

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return kb / 1024

    def close(self) -> None:
        try:
            os.write(self.fd, b"\x11")  # ctrl+q
            deadline = time.time() + 5
            while time.time() < deadline:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                self.drain(0.1)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass
        os.close(self.fd)


def prepare_tree() -> None:
    """Compile the tree's sources, as an installed prepfloor's are: a shell that sets
    ``PYTHONDONTWRITEBYTECODE`` would otherwise time the compiling of every module at every start.
    Then say which tree the ``prepfloor`` command imports."""
    import compileall

    for package in ("prepfloor", "screens", "db"):
        compileall.compile_dir(ROOT / package, quiet=1)
    started = subprocess.run(
        [sys.executable, "-c", "import prepfloor, os; print(os.path.dirname(prepfloor.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    note = "" if Path(started) == ROOT / "prepfloor" else f"  (NOT this tree, {ROOT})"
    print(f"prepfloor starts from {started}{note}; {load_note()}")


def newest_cars(url: str, n: int = 2) -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT))
    from db.fast import FastReader

    fast = FastReader(url)
    rows = fast.rows(
        f"SELECT vin, license_plate FROM cars WHERE status <> 'archived' ORDER BY id DESC LIMIT {n}"
    )
    oldest = fast.rows("SELECT vin FROM cars WHERE status <> 'archived' ORDER BY id ASC LIMIT 1")
    fast.close()
    return [(r[0], r[1]) for r in rows] + [(oldest[0][0], "")]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def ms(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values) * 1000:7.1f} ms   p99 {pct(values, 0.99) * 1000:7.1f} ms"
        f"   (n={len(values)})"
    )


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of ``pid`` so far (the scheduler's nanoseconds): what a start cost
    whatever else the machine is doing, beside the wall-clock time that other work stretches."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[0])
    return total / 1e9


def bare_start(cols: int = 120, rows: int = 40) -> tuple[float, float]:
    """Seconds from the fork to the first frame of a bare Textual app, through a pty as
    :class:`Session` starts prepfloor, and its CPU seconds until then."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLORTERM"] = "truecolor"
        os.execv(sys.executable, [sys.executable, str(ROOT / "bench" / "bare_app.py")])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    seen = b""
    try:
        while b"Cars" not in ANSI.sub(b"", seen):
            ready, _, _ = select.select([fd], [], [], 30)
            if not ready:
                raise TimeoutError("the bare app never painted")
            seen += os.read(fd, 65536)
        return time.perf_counter() - t0, cpu_seconds(pid)
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def instructions(argv: list[str], needle: str, cols: int = 120, rows: int = 40) -> int:
    """Instructions the program runs from its start to its first frame showing ``needle``
    (valgrind's callgrind, every thread; ``bench/first_frame`` ends it at that frame), through a
    pty as :class:`Session` starts prepfloor.  Unlike seconds, the count does not move with what
    else the machine is doing (runs differ by about 0.5 %, as threads interleave)."""
    with tempfile.TemporaryDirectory(prefix="prepfloor-bench-") as folder:
        log = Path(folder) / "callgrind.log"
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.environ["COLORTERM"] = "truecolor"
            os.environ["PREPFLOOR_BENCH_STOP_AT"] = needle
            paths = [str(ROOT / "bench" / "first_frame"), os.environ.get("PYTHONPATH", "")]
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
            tool = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
            os.execvp("valgrind", [*tool, f"--log-file={log}", *argv])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        deadline = time.monotonic() + 600
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if ready:
                    with contextlib.suppress(OSError):
                        os.read(fd, 65536)
                if os.waitpid(pid, os.WNOHANG)[0]:
                    pid = 0
                    break
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        found = re.findall(r"Collected : (\d+)", log.read_text(errors="replace"))
        if pid or not found:
            raise RuntimeError(f"no count from valgrind for {argv[-1]}")
        return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keys", type=int, default=60, help="presses per key kind")
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="also count the instructions of N cold starts of each under valgrind (~15 s each)",
    )
    args = parser.parse_args()
    prepare_tree()
    ensure_os_user(args.db)
    (first_vin, _), (second_vin, _), (last_vin, _) = newest_cars(args.db)
    if args.instructions:
        ours, floor = [], []
        for _ in range(args.instructions):
            ours.append(instructions([sys.executable, PREPFLOOR, "--db", args.db], first_vin))
            bare_app = str(ROOT / "bench" / "bare_app.py")
            floor.append(instructions([sys.executable, bare_app], "Cars"))
        print(
            f"instructions to the first painted car list (valgrind): "
            f"{statistics.median(ours) / 1e6:,.0f} M (runs {', '.join(f'{n / 1e6:,.0f}' for n in ours)}); "
            f"bare Textual app {statistics.median(floor) / 1e6:,.0f} M; prepfloor is "
            f"{statistics.median(ours) / statistics.median(floor):.3f}x"
        )

    starts, cpus, bare, bare_cpus = [], [], [], []
    for _ in range(args.runs):  # taking turns with the floor: both see the same machine
        session = Session(args.db)
        session.read_until(first_vin.encode(), timeout=60)
        starts.append(time.perf_counter() - session.t0)
        cpus.append(cpu_seconds(session.pid))
        session.close()
        seconds, cpu = bare_start()
        bare.append(seconds)
        bare_cpus.append(cpu)
    median = statistics.median
    print(
        f"cold start to first painted car list: median {median(starts):.3f} s "
        f"(min {min(starts):.3f}, max {max(starts):.3f}, n={len(starts)}); "
        f"CPU until then {median(cpus):.3f} s"
    )
    print(
        f"  floor, a bare Textual app (bench/bare_app.py) through the same pty, in turns: median "
        f"{median(bare):.3f} s, CPU {median(bare_cpus):.3f} s; prepfloor is "
        f"{median(starts) / median(bare):.2f}x (CPU {median(cpus) / median(bare_cpus):.2f}x)"
    )

    session = Session(args.db)
    session.read_until(first_vin.encode(), timeout=60)
    time.sleep(3.0)  # the ORM loads in the background after the first frame; a user reads first
    session.drain(0.5)
    down, up, pgdn, pgup, end, home, search = [], [], [], [], [], [], []
    for _ in range(args.keys):
        down.append(session.key(b"\x1b[B", second_vin.encode()))
        up.append(session.key(b"\x1b[A", first_vin.encode()))
    for _ in range(args.keys // 3):
        pgdn.append(session.key(b"\x1b[6~"))
        pgup.append(session.key(b"\x1b[5~", first_vin.encode()))
    for _ in range(max(3, args.keys // 6)):
        end.append(session.key(b"\x1b[F", last_vin.encode()))
        home.append(session.key(b"\x1b[H", first_vin.encode()))
    tail = last_vin[-6:]
    for _ in range(max(3, args.keys // 6)):
        session.key(b"/", b"Search")
        session.key(tail[:-1].encode(), b"matching")  # the first five characters...
        search.append(session.key(tail[-1:].encode(), b"1 car matching"))  # ...and the sixth
        session.key(b"\x1b", first_vin.encode())  # escape clears the search
    if os.environ.get("BENCH_TRACE"):
        print(
            "slowest downs (index, ms):",
            sorted(((round(v * 1000, 1), i) for i, v in enumerate(down)), reverse=True)[:5],
        )
    print(f"cursor down            {ms(down)}")
    print(f"cursor up              {ms(up)}")
    print(f"page down              {ms(pgdn)}")
    print(f"page up                {ms(pgup)}")
    print(f"end (last page)        {ms(end)}")
    print(f"home (first page)      {ms(home)}")
    print(f"search: the 6th character of a VIN tail until its one car is painted  {ms(search)}")
    print(f"peak memory of the session (VmHWM): {session.peak_rss_mb():.1f} MB")
    session.key(b"\x1bOP", b"when you sign in, from now on")  # f1: the help
    session.key(b"s", b"From now on you open on", timeout=30)  # a write: the ORM loads
    session.drain(1.0)
    print(
        f"  after its first write (the ORM loaded): VmHWM {session.peak_rss_mb():.1f} MB, "
        f"now {session.rss_mb():.1f} MB"
    )
    session.close()

    first_views, next_views, view_peaks, view_cpus = [], [], [], []
    for _ in range(args.runs):
        session = Session(args.db)
        session.read_until(first_vin.encode(), timeout=60)
        time.sleep(1.0)  # a user reads the list before opening a car
        session.drain(0.3)
        first_views.append(session.key(b"\r", b"Order and customer", timeout=30))
        session.key(b"\x1b", first_vin.encode())
        session.key(b"\x1b[B", second_vin.encode())
        session.drain(0.5)
        cpu = cpu_seconds(session.pid)
        next_views.append(session.key(b"\r", b"Order and customer", timeout=30))
        session.drain(0.5)  # until the view has settled (its later layouts, the header's clock)
        view_cpus.append(cpu_seconds(session.pid) - cpu)
        view_peaks.append(session.peak_rss_mb())
        session.close()
    print(f"a session's first car view, Enter to drawn   {ms(first_views)}")
    print(f"  its next car view                          {ms(next_views)}")
    print(f"  CPU of the next view until it has settled: {ms(view_cpus)}")
    print(f"  VmHWM after both: median {statistics.median(view_peaks):.1f} MB")
    print(load_note())


if __name__ == "__main__":
    main()
