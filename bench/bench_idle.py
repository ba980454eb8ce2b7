"""What idle sessions cost: N real ``prepfloor`` processes, each in its own pty, signed in and left
alone.  A session hears of changes through the database itself (db/feed.py: PostgreSQL LISTEN, a
watch on the SQLite files) and asks nothing while nothing changes.

Prints, over a measured window after they have settled:

* the CPU the N sessions use together, as a share of one core, and per session;
* on PostgreSQL also the server's own CPU (the processes of the cluster the database is on, not
  every ``postgres`` process of the machine) and the transactions per second in the database;
* the sessions' memory (resident, sum and per session).

Target: 50 idle sessions together under 1% of one core, and no queries while nothing changes.
Usage: python bench/bench_idle.py --db /tmp/large.db [--sessions 50] [--seconds 30]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import code_version, current_database, load_note  # noqa: E402
from bench_tui import Session, ensure_os_user  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def postgres_pids(url: str) -> list[int]:
    """The processes of the cluster that serves ``url``: its postmaster and its children."""
    import psycopg
    from _common import libpq

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        data = conn.execute("SHOW data_directory").fetchone()[0]
    try:
        postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    found = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True)
    return [postmaster, *(int(p) for p in found.stdout.split())]


def pg_commits(url: str) -> int:
    import psycopg
    from _common import libpq

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def drain_forever(sessions: list[Session], stop: threading.Event) -> None:
    """Read every pty so that no session blocks on a full terminal buffer."""
    fds = {s.fd: s for s in sessions}
    while not stop.is_set():
        ready, _, _ = select.select(list(fds), [], [], 0.2)
        for fd in ready:
            try:
                os.read(fd, 65536)
            except OSError:
                fds.pop(fd, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=45.0, help="seconds to let them start")
    parser.add_argument(
        "--floor", action="store_true", help="then the same number of bare Textual apps"
    )
    args = parser.parse_args()
    url = current_database(args.db)
    ensure_os_user(url)
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"=== {dialect}: code {code_version()} ({load_note()}) ===")
    print(f"starting {args.sessions} sessions (120x40 ptys), settling {args.settle:g} s")
    sessions = []
    for _ in range(args.sessions):
        sessions.append(Session(url))
        time.sleep(0.2)
    stop = threading.Event()
    reader = threading.Thread(target=drain_forever, args=(sessions, stop), daemon=True)
    reader.start()
    time.sleep(args.settle)
    pids = [s.pid for s in sessions]
    alive = sum(1 for pid in pids if Path(f"/proc/{pid}").exists())
    server = postgres_pids(url) if dialect == "postgresql" else []
    c0, s0 = cpu_seconds(pids), cpu_seconds(server)
    q0 = pg_commits(url) if dialect == "postgresql" else 0
    t0 = time.perf_counter()
    time.sleep(args.seconds)
    wall = time.perf_counter() - t0
    c1, s1 = cpu_seconds(pids), cpu_seconds(server)
    q1 = pg_commits(url) if dialect == "postgresql" else 0
    memory = rss_mb(pids)
    stop.set()
    share = (c1 - c0) / wall * 100
    print(f"  sessions alive: {alive}/{args.sessions}; measured {wall:.1f} s ({load_note()})")
    print(
        f"  sessions' CPU together: {share:.2f}% of one core "
        f"({share / max(alive, 1):.3f}% per session)"
    )
    if dialect == "postgresql":
        print(
            f"  server CPU: {(s1 - s0) / wall * 100:.2f}% of one core; "
            f"{(q1 - q0) / wall:.1f} transactions/s"
        )
    print(
        f"  memory: {memory:.0f} MB resident together, {memory / max(alive, 1):.0f} MB per session"
    )
    for session in sessions:
        session.close()
    if args.floor:
        floor(args.sessions, args.seconds)


def floor(count: int, seconds: float) -> None:
    """The same number of bare Textual apps (bench/bare_app.py) through the same ptys: Textual's
    own idle cost, beside prepfloor's."""
    import pty

    app = str(ROOT / "bench" / "bare_app.py")
    pids, fds = [], []
    for _ in range(count):
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.execv(sys.executable, [sys.executable, app])
        pids.append(pid)
        fds.append(fd)
        time.sleep(0.05)

    class _Pty:
        def __init__(self, fd: int) -> None:
            self.fd = fd

    stop = threading.Event()
    reader = threading.Thread(
        target=drain_forever, args=([_Pty(fd) for fd in fds], stop), daemon=True
    )
    reader.start()
    time.sleep(15)
    c0, t0 = cpu_seconds(pids), time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    share = (cpu_seconds(pids) - c0) / wall * 100
    stop.set()
    print(
        f"  floor, {count} bare Textual apps in the same ptys: {share:.2f}% of one core "
        f"({share / max(count, 1):.3f}% per app)"
    )
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


if __name__ == "__main__":
    main()
