"""``prepfloor serve`` end to end: the real server process, real OpenSSH clients (``ssh -tt`` in a
pty), a SQLite database with the small world and registered keys.  The users' files (SFTP) are
tested in tests/test_serve_files.py.

Nothing here asserts on wall-clock time: what must happen "within a second" is polled for with a
generous limit, so a slow CI machine is slower, not red.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from tty import setraw
from typing import Any

import pytest

from db import users
from db.engine import Database
from prepfloor.config import ConfigError, Locations, load_settings
from prepfloor.serve import FailedLogins

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client is needed"),
]

PREPFLOOR = str(Path(sys.executable).parent / "prepfloor")
ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=]*[A-Za-z~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)
CURSOR_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
LIMIT = 30.0  # seconds: generous, for waits that take well under a second on a quiet machine
SECRET = "PREPFLOOR_TEST_SERVER_SECRET"


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 22000:
            return port


def wait_for(condition: Callable[[], Any], what: str, limit: float = LIMIT) -> Any:
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Running (a zombie is not running: it is only waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def fd_targets(pid: int) -> set[str]:
    targets = set()
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            targets.add(os.readlink(entry))
    return targets


def make_key(directory: Path, name: str) -> Path:
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


# ------------------------------------------------------------------------------------------------
# the server and its clients
# ------------------------------------------------------------------------------------------------
class Server:
    """``prepfloor serve`` as a process, its log in a file."""

    def __init__(
        self,
        base: Path,
        url: str,
        web: dict[str, Any] | None = None,
        outbox: dict[str, Any] | None = None,
        **serve: Any,
    ):
        self.base = base
        self.url = url
        self.port = free_port()
        config = base / "config" / "prepfloor" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        settings = {"login_timeout": 20, **serve}
        lines = ["[serve]", *(f"{name} = {value}" for name, value in settings.items())]
        self.web_url = ""
        if web:  # browsers too (tests/test_web.py)
            lines += ["[web]", *(f"{name} = {value!r}" for name, value in web.items())]
            self.web_url = f"http://127.0.0.1:{web['port']}"
        if outbox:  # messages to customers (tests/test_outbox_sms.py)
            lines += ["[outbox]", *(f"{name} = {value!r}" for name, value in outbox.items())]
        config.write_text("\n".join(lines) + "\n")
        self.log_path = base / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREPFLOOR_")}
        env.update(
            XDG_CONFIG_HOME=str(base / "config"),
            XDG_DATA_HOME=str(base / "data"),
            **{SECRET: "the server's secret"},
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [PREPFLOOR, "serve", "--db", url, "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self.wait_log(r"listening on 127\.0\.0\.1:\d+", limit=90)

    @property
    def host_key(self) -> Path:
        return self.base / "data" / "prepfloor" / "ssh_host_ed25519_key"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, limit: float = LIMIT, after: int = 0) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited: {self.log()}")
            return re.search(pattern, self.log()[after:])

        return wait_for(found, f"{pattern!r} in the server's log")

    def zygote_pid(self) -> int:
        return int(re.findall(r"zygote (\d+) ready", self.log())[-1])

    def session_pid(self, login: str, after: int = 0) -> int:
        match = self.wait_log(
            rf"session \d+: {login} from 127\.0\.0\.1 runs as pid (\d+)", after=after
        )
        return int(match.group(1))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


class Client:
    """An OpenSSH client process in a pty, as a user's terminal runs it."""

    def __init__(self, server: Server, login: str, key: Path | None, *extra: str,
                 size: tuple[int, int] = (100, 30), tty: bool = True,
                 raw: bool = False) -> None:  # fmt: skip
        argv = [
            "ssh", "-tt" if tty else "-T", "-F", "/dev/null", "-p", str(server.port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentityAgent=none",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20",
        ]  # fmt: skip
        if key is not None:
            argv += ["-i", str(key)]
        argv += [*extra, f"{login}@127.0.0.1"]
        self.raw = b""
        self.status: int | None = None
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the client, in its own session with the pty as its terminal
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        if raw:  # keys written at once go to the server as they are (ssh sets this later)
            setraw(self.fd)
        self.resize(*size)

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def pump(self, seconds: float = 0.05) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            try:
                self.raw += os.read(self.fd, 65536)
            except OSError as error:
                if error.errno != errno.EIO:
                    raise
                self.reap(block=True)
        self.reap()

    def reap(self, block: bool = False) -> None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)

    @property
    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def wait_text(self, text: str, limit: float = LIMIT) -> None:
        deadline = time.monotonic() + limit
        while text not in self.text:
            if self.status is not None or time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on the screen; got: {self.text[-2000:]!r}")
            self.pump()

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait_exit(self, limit: float = LIMIT) -> int:
        deadline = time.monotonic() + limit
        while self.status is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the client did not exit; screen: {self.text[-2000:]!r}")
            self.pump()
        while True:  # what was still in the pty
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.raw += chunk
        return self.status

    def kill(self) -> None:
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            self.reap(block=True)
        os.close(self.fd)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, Any]:
    """A database with the small world; keys for admin, mechanic499 and a terminal account."""
    from world import build_world

    base = tmp_path_factory.mktemp("serve")
    path = base / "prepfloor.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    world = build_world(db)
    keys = {}
    for login in ("admin", "mechanic499", "detailer499", "seller495"):
        keys[login] = make_key(base, f"id_{login}")
        db.run(users.add_key, None, world[login].user_id, Path(f"{keys[login]}.pub").read_text())
    db.run(users.set_terminal, None, world["detailer499"].user_id, True)
    keys["stranger"] = make_key(base, "id_stranger")
    db.dispose()
    return {"base": base, "url": url, "keys": keys}


@pytest.fixture(scope="module")
def server(shop: dict[str, Any]) -> Iterator[Server]:
    served = Server(shop["base"] / "main", shop["url"], failed_logins=1000)
    yield served
    served.stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        client.kill()


def login(server: Server, shop: dict[str, Any], clients: list[Client], who: str,
          *extra: str, key: str | None = None, **kw: Any) -> Client:  # fmt: skip
    client = Client(server, who, shop["keys"][key or who], *extra, **kw)
    clients.append(client)
    return client


NAMES = {"admin": "Ada Admin", "mechanic499": "Per Mekaniker"}


def signed_in(server: Server, shop: Any, clients: list[Client], who: str,
              **kw: Any) -> tuple[Client, int]:  # fmt: skip
    """A session of ``who`` with their first screen up; the client and the session's pid."""
    mark = len(server.log())
    client = login(server, shop, clients, who, **kw)
    client.wait_text(NAMES[who])
    return client, server.session_pid(who, after=mark)


# ------------------------------------------------------------------------------------------------
# logging in
# ------------------------------------------------------------------------------------------------
def test_login_by_key_shows_the_users_first_screen(server: Server, shop: Any, clients: Any) -> None:
    mark = len(server.log())
    client, pid = signed_in(server, shop, clients, "admin")
    client.wait_text("Cars")
    assert alive(pid)
    assert "login admin from 127.0.0.1" in server.log()
    # the session is a child of the zygote, not a new program: its parent is the zygote
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert parent == server.zygote_pid()

    client.send(b"\x11")  # ctrl+q: the app's return code is the session's exit status
    assert client.wait_exit() == 0
    wait_for(lambda: not alive(pid), "the session process to end")
    server.wait_log(r"session \d+: admin from 127\.0\.0\.1 ended \(exit code 0\)", after=mark)


def test_a_mechanic_lands_on_their_jobs(server: Server, shop: Any, clients: Any) -> None:
    client = login(server, shop, clients, "mechanic499")
    client.wait_text("Per Mekaniker")
    client.wait_text("Workshop")


def test_a_terminal_account_opens_the_sign_in_screen(
    server: Server, shop: Any, clients: Any
) -> None:
    client = login(server, shop, clients, "detailer499")
    client.wait_text("Who are you?")
    assert "Dina Klargjør ·" not in client.text  # not signed in as the account itself
    assert "(terminal: sign-in screen)" in server.log()


def test_unknown_key_and_wrong_user_are_refused_and_logged(
    server: Server, shop: Any, clients: Any
) -> None:
    stranger = login(server, shop, clients, "admin", key="stranger")
    assert stranger.wait_exit() == 255
    assert "Permission denied (publickey)" in stranger.text
    fingerprint = users.parse_public_key(
        Path(f"{shop['keys']['stranger']}.pub").read_text()
    ).fingerprint
    server.wait_log(
        rf"refused login 'admin' from 127\.0\.0\.1: no registered key \({re.escape(fingerprint)}\)"
    )
    # mechanic499's key does not open admin's account
    other = login(server, shop, clients, "admin", key="mechanic499")
    assert other.wait_exit() == 255
    nobody = login(server, shop, clients, "nobody", key="admin")
    assert nobody.wait_exit() == 255
    server.wait_log(r"refused login 'nobody' from 127\.0\.0\.1")


def test_passwords_are_not_offered(server: Server, shop: Any, clients: Any) -> None:
    client = login(
        server, shop, clients, "admin",
        "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password,keyboard-interactive",
    )  # fmt: skip
    assert client.wait_exit() == 255
    assert "Permission denied (publickey)" in client.text
    server.wait_log(r"refused login 'admin' from 127\.0\.0\.1: no key offered")


# ------------------------------------------------------------------------------------------------
# nothing but the app
# ------------------------------------------------------------------------------------------------
def ssh_run(
    server: Server, shop: Any, *args: str, program: str = "ssh"
) -> subprocess.CompletedProcess[str]:
    options = [
        "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none", "-i", str(shop["keys"]["admin"]),
    ]  # fmt: skip
    port = ["-P" if program == "sftp" else "-p", str(server.port)]
    return subprocess.run(
        [program, *port, *options, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_commands_are_refused(server: Server, shop: Any) -> None:
    done = ssh_run(server, shop, "admin@127.0.0.1", "id")
    assert done.returncode == 255
    assert "uid=" not in done.stdout
    assert "exec request failed" in done.stderr
    server.wait_log(r"refused command 'id' for admin from 127\.0\.0\.1")


def test_no_subsystem_but_sftp(server: Server, shop: Any) -> None:
    """SFTP opens the user's own files (tests/test_serve_files.py); any other subsystem is
    refused and logged."""
    done = ssh_run(server, shop, "-s", "admin@127.0.0.1", "netconf")
    assert done.returncode == 255 and "subsystem request failed" in done.stderr
    server.wait_log(r"refused subsystem 'netconf' for admin from 127\.0\.0\.1")


def test_port_forwarding_is_refused(server: Server, shop: Any) -> None:
    local = ssh_run(server, shop, "-W", f"127.0.0.1:{server.port}", "admin@127.0.0.1")
    assert local.returncode == 255
    assert "SSH-2.0" not in local.stdout  # nothing was connected through the server
    server.wait_log(rf"refused forwarding to 127\.0\.0\.1:{server.port} for admin")
    remote = ssh_run(
        server,
        shop,
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-R",
        "0:127.0.0.1:9",
        "admin@127.0.0.1",
    )
    assert remote.returncode == 255
    assert "remote port forwarding failed" in remote.stderr
    server.wait_log(r"refused remote forwarding of port 0 for admin")


def test_a_session_without_a_terminal_is_refused(server: Server, shop: Any) -> None:
    done = ssh_run(server, shop, "-T", "admin@127.0.0.1")
    assert done.returncode == 1
    assert "prepfloor needs a terminal" in done.stderr
    server.wait_log(r"refused a session without a terminal for admin")


def test_sessions_hold_no_server_fds_or_environment(
    server: Server, shop: Any, clients: Any
) -> None:
    _, pid = signed_in(server, shop, clients, "admin")
    mine = fd_targets(pid)
    shared = (fd_targets(server.process.pid) | fd_targets(server.zygote_pid())) - {
        "/dev/null", "/dev/ptmx"
    }  # fmt: skip
    assert {t for t in mine if t.startswith(("socket:", "pipe:"))} & shared == set()
    assert str(server.host_key) not in mine
    assert not any("ssh_host" in t for t in mine)
    terminal = {os.readlink(f"/proc/{pid}/fd/{n}") for n in (0, 1, 2)}
    assert len(terminal) == 1 and terminal.pop().startswith("/dev/pts/")
    environment = Path(f"/proc/{pid}/environ").read_bytes()
    assert SECRET.encode() not in environment
    assert b"ssh_host" not in environment


# ------------------------------------------------------------------------------------------------
# window size, hang-ups, crashes, the zygote
# ------------------------------------------------------------------------------------------------
def test_keys_typed_as_the_session_opens_reach_the_app_as_typed(
    server: Server, shop: Any, clients: Any
) -> None:
    """A seller types a whole new car the moment ssh starts, before the app has its terminal
    (an SSH link that stalls, then catches up): the keys wait and reach the form as typed, and
    ``ctrl+s`` saves the car instead of being taken by the terminal's flow control."""
    vin = "WBA11122233344479"
    client = login(server, shop, clients, "seller495", raw=True)
    client.send(b"\x0e" + f"{vin}\t\tiX3\t495-779\tNora Berg".encode() + b"\x13")
    client.wait_text("Kari Selger")

    def saved() -> bool:
        client.pump()
        with sqlite3.connect(shop["url"].removeprefix("sqlite:///")) as con:
            found = con.execute("SELECT status FROM cars WHERE vin = ?", (vin,)).fetchall()
            return found == [("registered",)]  # not a draft kept while the form was open

    wait_for(saved, "the car typed ahead to be registered")
    client.send(b"\x11")
    assert client.wait_exit() == 0
    assert vin not in client.text.split("Kari Selger")[0]  # nothing typed was echoed back


def pty_size(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/fd/0", "rb", buffering=0) as tty:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(tty, termios.TIOCGWINSZ, b"\0" * 8))
    return cols, rows


def footer_on_row(raw: bytes, rows: int) -> bool:
    """A frame put the footer (its "Help" key) on row ``rows`` and nothing was painted below it
    since: the app laid itself out for a terminal of that height."""
    moves = [(m.start(), m.end(), int(m.group(1))) for m in CURSOR_MOVE.finditer(raw)]
    for i, (_, end_of_move, row) in enumerate(moves):
        if row != rows:
            continue
        end = moves[i + 1][0] if i + 1 < len(moves) else len(raw)
        if b"Help" in ANSI.sub(b"", raw[end_of_move:end]):
            return not any(later > rows for _, _, later in moves[i:])
    return False


def test_the_window_size_and_every_resize_reach_the_app(
    server: Server, shop: Any, clients: Any
) -> None:
    client, pid = signed_in(server, shop, clients, "admin", size=(100, 30))
    assert pty_size(pid) == (100, 30)
    wait_for(lambda: (client.pump(), footer_on_row(client.raw, 30))[1], "a 30-row frame")

    for cols, rows in ((80, 20), (120, 40)):
        since = len(client.raw)
        client.resize(cols, rows)
        wait_for(lambda c=cols, r=rows: pty_size(pid) == (c, r), f"the pty at {cols}x{rows}")
        wait_for(
            lambda r=rows, b=since: (client.pump(), footer_on_row(client.raw[b:], r))[1],
            f"a frame of {rows} rows",
        )


def test_a_killed_client_takes_its_session_process_with_it(
    server: Server, shop: Any, clients: Any
) -> None:
    mark = len(server.log())
    client, pid = signed_in(server, shop, clients, "mechanic499")
    os.kill(client.pid, signal.SIGKILL)
    client.reap(block=True)
    wait_for(lambda: not alive(pid), "the session process to end")
    server.wait_log(r"session \d+: mechanic499 from 127\.0\.0\.1 hung up", after=mark)


def test_a_crashing_session_leaves_the_others_and_the_next_login(
    server: Server, shop: Any, clients: Any
) -> None:
    bystander, bystander_pid = signed_in(server, shop, clients, "mechanic499")

    victim, pid = signed_in(server, shop, clients, "admin")
    zygote = server.zygote_pid()
    os.kill(pid, signal.SIGSEGV)
    assert victim.wait_exit() == 128 + signal.SIGSEGV
    assert "stopped unexpectedly" in victim.text
    server.wait_log(rf"session \d+: admin from 127\.0\.0\.1 ended \(signal {signal.SIGSEGV}\)")

    assert alive(zygote) and server.zygote_pid() == zygote
    assert alive(bystander_pid) and bystander.status is None
    signed_in(server, shop, clients, "admin")
    bystander.send(b"\x11")
    assert bystander.wait_exit() == 0


def test_a_killed_zygote_is_replaced_and_running_sessions_carry_on(
    server: Server, shop: Any, clients: Any
) -> None:
    running, running_pid = signed_in(server, shop, clients, "mechanic499")

    old = server.zygote_pid()
    mark = len(server.log())
    os.kill(old, signal.SIGKILL)
    # a login right away waits for the new zygote instead of failing
    early = login(server, shop, clients, "admin")
    server.wait_log(rf"zygote {old} exited", after=mark)
    new = int(server.wait_log(r"zygote (\d+) ready", after=mark).group(1))
    assert new != old and alive(new)
    early.wait_text("Ada Admin")

    signed_in(server, shop, clients, "admin")
    assert alive(running_pid) and running.status is None
    running.send(b"\x11")  # its exit is still seen (the server adopted it)
    assert running.wait_exit() == 0
    wait_for(lambda: not alive(running_pid), "the adopted session to end")
    server.wait_log(r"session \d+: mechanic499 from 127\.0\.0\.1 ended \(exit code 0\)", after=mark)


# ------------------------------------------------------------------------------------------------
# limits and stopping (servers of their own)
# ------------------------------------------------------------------------------------------------
def test_failed_logins_from_an_address_are_limited(shop: Any, clients: Any) -> None:
    strict = Server(shop["base"] / "strict", shop["url"], failed_logins=2, failed_window=600)
    try:
        for _ in range(2):
            refused = Client(strict, "admin", shop["keys"]["stranger"])
            clients.append(refused)
            assert refused.wait_exit() == 255
        # now even the right key is turned away from this address, and that is logged
        blocked = Client(strict, "admin", shop["keys"]["admin"])
        clients.append(blocked)
        assert blocked.wait_exit() == 255
        assert "Ada Admin" not in blocked.text
        strict.wait_log(r"refused 127\.0\.0\.1: too many failed logins")
        assert "login admin from" not in strict.log()
    finally:
        assert strict.stop() == 0


def test_max_sessions_and_stopping_ends_every_session(shop: Any, clients: Any) -> None:
    small = Server(shop["base"] / "small", shop["url"], max_sessions=2, login_timeout=3)
    try:
        # a connection that never signs in is dropped after the login timeout, and logged
        with socket.create_connection(("127.0.0.1", small.port), timeout=LIMIT) as idle:
            assert idle.recv(256).startswith(b"SSH-2.0-")
            wait_for(lambda: idle.recv(256) == b"", "the silent connection to be dropped")
        small.wait_log(r"refused login '\?' from 127\.0\.0\.1: login timeout")

        first, first_pid = signed_in(small, shop, clients, "admin")
        second, second_pid = signed_in(small, shop, clients, "mechanic499")

        third = login(small, shop, clients, "admin")
        assert third.wait_exit() == 1
        assert "the server is full" in third.text
        small.wait_log(r"refused all 2 sessions in use for admin from 127\.0\.0\.1")
        zygote = small.zygote_pid()

        small.process.send_signal(signal.SIGTERM)
        for client in (first, second):
            assert client.wait_exit() == 0  # the app exited the normal way
            assert "the server is stopping" in client.text
    finally:
        code = small.stop()
    assert code == 0
    for pid in (first_pid, second_pid, zygote):
        wait_for(lambda p=pid: not alive(p), f"process {pid} to end")
    assert "stopped" in small.log()


def test_a_client_that_stops_answering_keepalives_loses_its_session(
    shop: Any, clients: Any
) -> None:
    lively = Server(shop["base"] / "keepalive", shop["url"], keepalive=1)
    try:
        client, pid = signed_in(lively, shop, clients, "mechanic499")
        os.kill(client.pid, signal.SIGSTOP)  # frozen: its TCP link stays up, SSH is silent
        try:
            lively.wait_log(r"session \d+: mechanic499 from 127\.0\.0\.1 hung up")
            wait_for(lambda: not alive(pid), "the session process to end")
        finally:
            os.kill(client.pid, signal.SIGCONT)
    finally:
        assert lively.stop() == 0


# ------------------------------------------------------------------------------------------------
# pieces
# ------------------------------------------------------------------------------------------------
def test_a_port_in_use_is_said_plainly_and_starts_nothing(shop: Any, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
        done = subprocess.run(
            [PREPFLOOR, "serve", "--db", shop["url"], "--port", str(port)],
            capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"prepfloor: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "zygote" not in done.stderr and "Traceback" not in done.stderr


def test_failed_logins_are_counted_per_address_within_the_window() -> None:
    now = [0.0]
    failures = FailedLogins(limit=3, window=60, clock=lambda: now[0])
    for _ in range(2):
        failures.failed("10.0.0.5")
    assert not failures.blocked("10.0.0.5")
    failures.failed("10.0.0.5")
    assert failures.blocked("10.0.0.5")
    assert not failures.blocked("10.0.0.6")
    now[0] = 61
    assert not failures.blocked("10.0.0.5")


def test_serve_settings_from_the_config_file(tmp_path: Path) -> None:
    where = Locations(tmp_path / "user.toml", tmp_path / "site.toml", tmp_path / "data")
    settings = load_settings("x.db", where)
    assert (settings.serve.address, settings.serve.port) == ("127.0.0.1", 2222)
    where.site_config.write_text(
        '[serve]\naddress = "0.0.0.0"\nport = 2022\nmax_sessions = 8\nkeepalive = 0\n'
    )
    serve = load_settings("x.db", where).serve
    assert (serve.address, serve.port, serve.max_sessions, serve.keepalive) == (
        "0.0.0.0",
        2022,
        8,
        0,
    )
    for bad, says in (
        ("port = 70000", "at most 65535"),
        ("port = 'ssh'", "whole number"),
        ("max_sessions = 0", "at least 1"),
        ("login_timeout = -1", "cannot be negative"),
        ("colour = 'red'", "no setting 'colour'"),
    ):
        where.site_config.write_text(f"[serve]\n{bad}\n")
        with pytest.raises(ConfigError, match=says):
            load_settings("x.db", where)


async def test_served_sessions_have_no_commands_that_act_on_the_server(
    ui_store: Any, ui_world: Any
) -> None:
    from prepfloor.serve_app import ServedApp

    app = ServedApp(ui_store, None, actor=ui_world["admin"])
    async with app.run_test() as pilot:
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert "Screenshot" not in titles and "Quit" in titles
        assert app.check_action("screenshot", ()) is False
        assert app.check_action("suspend_process", ()) is False
        assert app.deliver_text(__import__("io").StringIO("x")) is None
        with pytest.raises(PermissionError):
            app.save_screenshot()
