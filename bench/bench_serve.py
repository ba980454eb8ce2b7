"""``prepfloor serve`` against OpenSSH's sshd + a fresh ``prepfloor`` process per login, in the same
run, with real ``ssh -tt`` clients in ptys (120x40) on the demo database.

Prints, for each server:

* one login to the first painted screen (the car list with its count line), median of N;
* N simultaneous logins (32) until every client shows that screen;
* the CPU seconds the server side spent on those logins (every process of the server's tree:
  sshd and its session processes and the prepfloor processes; or prepfloor serve, its zygote and
  the sessions), measured while the sessions are up;
* server memory per session: PSS of the server's whole process tree with the N sessions up, minus
  the idle server, over N: when the last one has painted, and 3 s later (each session has loaded
  its ORM by then; this is the figure a shop server lives with).
* with ``--views N`` (``prepfloor serve`` only): one session's memory as it opens and closes N car
  views, one car after another down the list (Enter, Escape, Down), every 20 views: what a
  coordinator's session grows to over a day (the demo's list has 46 cars: a car is opened again
  after 46 views).

sshd is OpenSSH's server (``apt-get install -y openssh-server``); the bench runs it on a port of
its own with a config of its own (ForceCommand runs prepfloor), as the user running the bench, and
stops it at the end.  Without sshd only ``prepfloor serve`` is measured.

Usage: python bench/bench_serve.py [--runs 10] [--at-once 32] [--db FILE.db] [--views 200]
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
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from _common import ROOT, code_version, load_note
from bench_idle import cpu_seconds

PREPFLOOR = str(Path(sys.executable).parent / "prepfloor")
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)
PAINTED = "cars · all cars".encode()  # the car list's count line: the list has its rows
COLS, ROWS = 120, 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen[bytes], limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


# ------------------------------------------------------------------------------------------------
# the database, the user, the key
# ------------------------------------------------------------------------------------------------
def prepare(workdir: Path, source: Path | None = None) -> tuple[str, str, Path]:
    """A copy of ``source`` (a SQLite file), else a new demo database, with an admin whose login
    is the OS login name (sshd signs them in by that name) and a key registered for them; the URL,
    the login and the private key."""
    sys.path.insert(0, str(ROOT))
    from db import users
    from db.store import Store
    from prepfloor.demo import ensure_demo

    url = f"sqlite:///{workdir / 'bench.db'}"
    if source is None:
        ensure_demo(url)
    else:
        shutil.copy(source, workdir / "bench.db")
    login = getpass.getuser()
    key = workdir / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    store = Store(url)
    actor = store.fast.actor(login)
    if actor is None:
        store.run(
            users.create_user, None, login=login, display_name="Bench Admin", role="admin",
            dealership_id=None,
        )  # fmt: skip
        actor = store.fast.actor(login)
    assert actor is not None
    store.run(users.add_key, None, actor.user_id, Path(f"{key}.pub").read_text())
    store.close()
    return url, login, key


# ------------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------------
class Backend:
    name = ""
    process: subprocess.Popen[bytes]
    port = 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Served(Backend):
    name = "prepfloor serve"

    def __init__(self, workdir: Path, url: str, web_port: int = 0) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(XDG_DATA_HOME=str(workdir / "data"), XDG_CONFIG_HOME=str(workdir / "config"))
        config = workdir / "config" / "prepfloor" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "[serve]\nmax_sessions = 200\nmax_sessions_per_user = 200\nfailed_logins = 1000\n"
            + (f"[web]\nport = {web_port}\n" if web_port else "")  # bench_web.py: browsers too
        )
        self.log = (workdir / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [PREPFLOOR, "serve", "--db", url, "--port", str(self.port)],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        wait_port(self.port, self.process)


class OpenSSH(Backend):
    name = "sshd + prepfloor"

    def __init__(self, workdir: Path, url: str, key: Path) -> None:
        self.port = free_port()
        host_key = workdir / "sshd_host_ed25519_key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True
        )
        authorized = workdir / "authorized_keys"
        authorized.write_text(Path(f"{key}.pub").read_text())
        config = workdir / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized}\nPubkeyAuthentication yes\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "PermitRootLogin prohibit-password\nStrictModes no\nPidFile none\nPrintMotd no\n"
            "PrintLastLog no\nMaxStartups 100\nMaxSessions 100\nLogLevel ERROR\n"
            f"ForceCommand exec {PREPFLOOR} --db {url}\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
            stderr=(workdir / "sshd.log").open("wb"),
        )  # fmt: skip
        wait_port(self.port, self.process)


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
        total += int(match.group(1)) if match else 0
    return total / 1024


# ------------------------------------------------------------------------------------------------
# clients
# ------------------------------------------------------------------------------------------------
class Client:
    def __init__(self, backend: Backend, login: str, key: Path) -> None:
        argv = [
            "ssh", "-tt", "-F", "/dev/null", "-p", str(backend.port), "-i", str(key),
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", f"{login}@127.0.0.1",
        ]  # fmt: skip
        self.started = time.perf_counter()
        self.painted: float | None = None
        self.buffer = b""
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm-256color"
            os.execvp(argv[0], argv)
        fcntl_winsize(self.fd)

    def read(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            raise RuntimeError(f"the session ended: {ANSI.sub(b'', self.buffer)[-400:]!r}")
        if self.painted is None:
            self.buffer = (self.buffer + chunk)[-200_000:]
            if PAINTED in ANSI.sub(b"", self.buffer):
                self.painted = time.perf_counter() - self.started
                self.buffer = b""

    def quit(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, b"\x11")  # ctrl+q

    def reap(self, limit: float = 10) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            pump([self], 0.05, quiet=True)
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def fcntl_winsize(fd: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))


def pump(clients: list[Client], seconds: float, quiet: bool = False) -> None:
    """Read whatever the clients have (a client that is not read stalls its session)."""
    by_fd = {c.fd: c for c in clients}
    ready, _, _ = select.select(list(by_fd), [], [], seconds)
    for fd in ready:
        try:
            by_fd[fd].read()
        except RuntimeError:
            if not quiet:
                raise


def pump_for(clients: list[Client], seconds: float) -> None:
    """Keep reading the clients for ``seconds`` (a session that ends meanwhile raises)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        pump(clients, left)


def until_painted(clients: list[Client], limit: float = 180) -> float:
    start = time.perf_counter()
    while any(c.painted is None for c in clients):
        if time.perf_counter() - start > limit:
            raise TimeoutError("not every login painted its screen")
        pump([c for c in clients if c.painted is None], 0.5)
    return time.perf_counter() - start


def one_login(backend: Backend, login: str, key: Path) -> float:
    client = Client(backend, login, key)
    until_painted([client], 60)
    assert client.painted is not None
    pump([client], 0.2, quiet=True)
    client.quit()
    client.reap()
    return client.painted


def at_once(backend: Backend, login: str, key: Path, n: int) -> tuple[float, float, float, float]:
    """Seconds until all ``n`` painted, CPU seconds of the server's tree, and PSS MB per session
    when all have painted and 3 s later."""
    time.sleep(1.0)
    idle = tree(backend.process.pid)
    idle_pss = pss_mb(idle)
    cpu_before = cpu_seconds(idle)
    clients = [Client(backend, login, key) for _ in range(n)]
    seconds = until_painted(clients)
    busy = tree(backend.process.pid)
    cpu = cpu_seconds(busy) - cpu_before
    at_paint = (pss_mb(busy) - idle_pss) / n
    pump_for(clients, 3.0)
    settled = (pss_mb(tree(backend.process.pid)) - idle_pss) / n
    for client in clients:
        client.quit()
    for client in clients:
        client.reap()
    return seconds, cpu, at_paint, settled


def car_views(backend: Backend, login: str, key: Path, n: int) -> list[tuple[int, float]]:
    """PSS MB of one session (the server's tree, minus the idle server) as it opens and closes
    ``n`` car views down the car list: after its first screen, then every 20 views."""
    time.sleep(1.0)
    idle_pss = pss_mb(tree(backend.process.pid))
    client = Client(backend, login, key)
    until_painted([client], 60)
    pump_for([client], 3.0)
    os.write(client.fd, b"\x1b[B")  # down: from the search field into the list
    pump_for([client], 0.3)
    figures = [(0, pss_mb(tree(backend.process.pid)) - idle_pss)]
    for view in range(1, n + 1):
        for keys, wait in ((b"\r", 0.45), (b"\x1b", 0.35), (b"\x1b[B", 0.1)):
            os.write(client.fd, keys)
            pump_for([client], wait)
        if view % 20 == 0:
            figures.append((view, pss_mb(tree(backend.process.pid)) - idle_pss))
    client.quit()
    client.reap()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="single logins per server")
    parser.add_argument("--at-once", type=int, default=32, help="simultaneous logins")
    parser.add_argument("--db", type=Path, help="a SQLite file to copy (default: a new demo)")
    parser.add_argument("--views", type=int, default=0, help="car views in one served session")
    args = parser.parse_args()

    load_before = load_note()
    workdir = Path(tempfile.mkdtemp(prefix="prepfloor-bench-serve-"))
    url, login, key = prepare(workdir, args.db)
    backends: list[Backend] = [Served(workdir, url)]
    if Path(SSHD).exists():
        backends.append(OpenSSH(workdir, url, key))
    else:
        print(f"no sshd at {SSHD} (apt-get install -y openssh-server): serve only")
    try:
        for backend in backends:
            one_login(backend, login, key)  # the first login of each, not counted
        singles: dict[str, list[float]] = {b.name: [] for b in backends}
        for _ in range(args.runs):  # interleaved, so that both see the same machine
            for backend in backends:
                singles[backend.name].append(one_login(backend, login, key))
        bursts = {b.name: at_once(b, login, key, args.at_once) for b in backends}
        views = car_views(backends[0], login, key, args.views) if args.views else []
    finally:
        for backend in backends:
            backend.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    what = args.db or "the demo database"
    print(f"\nprepfloor serve vs OpenSSH + a fresh prepfloor, {COLS}x{ROWS}, {what}")
    print(f"code {code_version()}; before: {load_before}; after: {load_note()}")
    names = [b.name for b in backends]
    print(f"{'':44}" + "".join(f"{name:>20}" for name in names) + f"{'target':>12}")

    def row(label: str, values: list[str], target: str) -> None:
        print(f"{label:44}" + "".join(f"{v:>20}" for v in values) + f"{target:>12}")

    row(
        f"one login to first screen (median of {args.runs})",
        [f"{statistics.median(singles[n]):.3f} s" for n in names],
        "≤ 0.35 s",
    )
    row(
        "  (min / max)",
        [f"{min(singles[n]):.2f} / {max(singles[n]):.2f}" for n in names],
        "",
    )
    row(
        f"{args.at_once} logins at once, until all painted",
        [f"{bursts[n][0]:.2f} s" for n in names],
        "≤ 4 s",
    )
    row(
        f"CPU seconds for those {args.at_once} (server side)",
        [f"{bursts[n][1]:.1f} s" for n in names],
        "",
    )
    row("server memory per session (PSS), at paint", [f"{bursts[n][2]:.1f} MB" for n in names], "")
    row(
        "server memory per session (PSS), 3 s later",
        [f"{bursts[n][3]:.1f} MB" for n in names],
        "≤ 15 MB",
    )

    if views:
        print(f"\none served session opening and closing {args.views} car views (PSS):")
        print("  " + "  ".join(f"{view}: {mb:.1f} MB" for view, mb in views))


if __name__ == "__main__":
    main()
