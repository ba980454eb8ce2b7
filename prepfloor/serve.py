"""``prepfloor serve``: the built-in SSH server.

Staff sign in with their SSH key; the SSH username is their prepfloor login.  There is no shell, no
command execution and no forwarding: an accepted session with a pty runs the app
(:mod:`prepfloor.serve_session`), the ``sftp`` subsystem opens the user's own file area
(:mod:`prepfloor.serve_files`), and nothing else is offered.

Processes (``pstree``: ``prepfloor serve`` ─ zygote ─ one child per session):

* this process holds the host key and the listening socket, checks keys against the database,
  counts failed logins per address, and for each session opens a pty pair, passes the slave side to
  the zygote and then copies bytes between the SSH channel and the pty's master side, forwarding
  window-size changes (the kernel signals the app with ``SIGWINCH``);
* the zygote (:mod:`prepfloor.serve_zygote`) is a fresh interpreter with a clean environment that
  has warmed up the app once and forks the sessions, so a login costs a fork, not a start-up;
* when the zygote dies it is started again; sessions already running are not its business (this
  process adopts them as a child subreaper and still reports their exit);
* stopping (SIGTERM or ctrl+c) asks every session's app to exit, waits a little, then ends the
  stragglers, so every client sees its session end.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh

from prepfloor.config import ServeSettings, Settings
from prepfloor.serve_files import FilesService, sftp_factory, sftp_session
from prepfloor.serve_session import AppSession
from prepfloor.serve_zygote import exited_children, settings_message

log = logging.getLogger("prepfloor.serve")

HOST_KEY_NAME = "ssh_host_ed25519_key"
STOP_GRACE_SECONDS = 5.0  # a stopping server waits this long for apps to exit
ZYGOTE_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "XDG_DATA_HOME", "PYTHONPATH")
PR_SET_CHILD_SUBREAPER = 36


def host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key, generated on first start (readable by the service user only)."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="prepfloor serve")
    old = os.umask(0o077)
    try:
        key.write_private_key(str(path))
        key.write_public_key(str(path) + ".pub")
    finally:
        os.umask(old)
    log.info("generated the host key %s (%s)", path, key.get_fingerprint())
    return key


class FailedLogins:
    """Failed logins per address; an address with too many recent ones is refused for a while."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        times = self._seen.setdefault(address, deque())
        cutoff = self.clock() - self.window
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())

    def blocked(self, address: str) -> bool:
        times = self._recent(address)
        if not times:
            self._seen.pop(address, None)
        return len(times) >= self.limit


class ZygoteProcess:
    """The zygote and the control socket to it."""

    def __init__(self, settings: Settings, on_message: Callable[[dict[str, Any]], None]) -> None:
        self.settings = settings
        self.on_message = on_message
        self.pid = 0
        self.sock: socket.socket | None = None
        self.ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(theirs.fileno(), True)
        environment = {k: os.environ[k] for k in ZYGOTE_ENV if k in os.environ}
        self.pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "prepfloor.serve_zygote", str(theirs.fileno())],
            environment,
            setsid=True,
            file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)],
        )
        theirs.close()
        ours.sendall(settings_message(self.settings))
        ours.setblocking(False)
        self.sock = ours
        loop.add_reader(ours.fileno(), self._readable)

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.detach()
            return
        message = json.loads(data)
        if "ready" in message:
            log.info(
                "zygote %s ready (warmed up in %s s)", message["ready"], message["warm_seconds"]
            )
            if not self.ready.done():
                self.ready.set_result(self.pid)
        self.on_message(message)

    def detach(self) -> None:
        """The zygote is gone: forget its socket; sessions wait for the next one to be ready."""
        if self.sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        if self.ready.done():
            self.ready = asyncio.get_running_loop().create_future()

    def spawn(self, request: dict[str, Any], pty_fd: int) -> None:
        assert self.sock is not None
        socket.send_fds(self.sock, [json.dumps(request).encode()], [pty_fd])

    def stop(self) -> None:
        self.detach()  # the zygote exits when the socket closes
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)


class Hub:
    """The server's state: the zygote, the sessions, the failed-login counts."""

    def __init__(self, settings: Settings, store: Any) -> None:
        self.settings = settings
        self.limits: ServeSettings = settings.serve
        self.store = store
        self.failures = FailedLogins(self.limits.failed_logins, self.limits.failed_window)
        self.sessions: dict[int, AppSession] = {}
        self.by_pid: dict[int, AppSession] = {}
        self.ids = itertools.count(1)
        self.stopping = False
        self.doors: set[Door] = set()  # the open connections
        self.zygote_starts: deque[float] = deque(maxlen=5)
        self.zygote = ZygoteProcess(settings, self._zygote_message)
        self.files = FilesService(settings.serve)

    def bound(self, port: int) -> None:
        """Listening on ``port``: the settings the sessions get say so, and where the users' files
        are and what the server is called are settled here, once, for every process."""
        limits = dataclasses.replace(
            self.limits,
            port=port,
            files=self.limits.files_root(),
            hostname=self.limits.server_name(),
        )
        self.settings = dataclasses.replace(self.settings, serve=limits)
        self.limits = limits
        self.zygote.settings = self.settings
        self.files.settings = limits

    # -- the zygote ------------------------------------------------------------------------------
    def start_zygote(self) -> None:
        self.zygote_starts.append(time.monotonic())
        self.zygote.start()
        log.info("zygote %s starting", self.zygote.pid)

    def _zygote_message(self, message: dict[str, Any]) -> None:
        if "started" in message:
            session = self.sessions.get(message["started"])
            if session is not None:
                self.by_pid[message["pid"]] = session
                session.started(message["pid"])
            else:  # the session closed while it was being forked
                with contextlib.suppress(ProcessLookupError):
                    os.kill(message["pid"], signal.SIGKILL)
        elif "exited" in message:
            self.child_exited(message["exited"], message["code"])

    def reap(self) -> None:
        """SIGCHLD: the zygote, or a session adopted after its zygote died."""
        for pid, code in exited_children():
            if pid == self.zygote.pid:
                self._zygote_died(code)
            else:
                self.child_exited(pid, code)

    def _zygote_died(self, code: int) -> None:
        self.zygote.detach()
        if self.stopping:
            return
        log.warning("zygote %s exited (%s); starting a new one", self.zygote.pid, code)
        loop = asyncio.get_running_loop()
        burst = len(self.zygote_starts) == 5 and time.monotonic() - self.zygote_starts[0] < 30
        loop.call_later(5.0 if burst else 0.0, self._restart_zygote)

    def _restart_zygote(self) -> None:
        if self.stopping:
            return
        self.start_zygote()
        for session in list(self.sessions.values()):
            session.zygote_restarted()  # a fork request the dead zygote did not answer is resent

    def child_exited(self, pid: int, code: int) -> None:
        session = self.by_pid.pop(pid, None)
        if session is not None:
            session.child_exited(code)

    # -- sessions --------------------------------------------------------------------------------
    def add(self, session: AppSession) -> int | None:
        """Register a session; None when the server is full."""
        if self.stopping or len(self.sessions) >= self.limits.max_sessions:
            return None
        number = next(self.ids)
        self.sessions[number] = session
        return number

    def remove(self, number: int | None) -> None:
        if number is not None:
            self.sessions.pop(number, None)

    async def key_login(self, login: str, fingerprint: str) -> Any:
        from db import users

        return await asyncio.to_thread(self.store.query, users.key_login, login, fingerprint)

    async def stop(self) -> None:
        """End every session (the app exits the normal way), then the zygote."""
        self.stopping = True
        live = list(self.sessions.values())
        log.info("stopping: ending %d session(s)", len(live))
        for session in live:
            session.end(signal.SIGTERM, "\r\nprepfloor: the server is stopping.\r\n")
            if not session.pid:
                session.close(1)  # not forked yet: nothing to wait for
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for session in list(self.sessions.values()):
            session.end(signal.SIGKILL, "")
            session.close(1)
        # each client, told its session's exit status, hangs up; the ones that do not are cut
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while self.doors and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for door in list(self.doors):
            door.conn.close()
        self.zygote.stop()


class Door(asyncssh.SSHServer):
    """One SSH connection: authentication by key, then app sessions and nothing else."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conn: Any = None
        self.address = "?"
        self.username = ""
        self.who: Any = None
        self.fingerprint = ""
        self.tried: list[str] = []

    def connection_made(self, conn: Any) -> None:
        self.conn = conn
        self.hub.doors.add(self)
        peer = conn.get_extra_info("peername") or ("?",)
        self.address = str(peer[0])
        if self.hub.failures.blocked(self.address):
            log.warning(
                "refused %s: too many failed logins (wait %g s)",
                self.address,
                self.hub.limits.failed_window,
            )
            self.who = False  # not a new failure: already counted
            conn.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.doors.discard(self)
        if self.who is None:
            self.hub.failures.failed(self.address)
            reason = "no key offered (only SSH keys are accepted)"
            if self.tried:
                reason = f"no registered key ({', '.join(self.tried)})"
            if exc is not None and "timeout" in str(exc).lower():
                reason = "login timeout"
            log.warning("refused login %r from %s: %s", self.username or "?", self.address, reason)

    def refused(self, what: str) -> None:
        log.warning("refused %s for %s from %s", what, self._login(), self.address)

    def _login(self) -> str:
        return self.who.login if self.who else self.username or "?"

    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        who = await self.hub.key_login(username, fingerprint)
        if who is None:
            if fingerprint not in self.tried:
                self.tried.append(fingerprint)
            return False
        self.who = who
        self.fingerprint = fingerprint
        return True

    def auth_completed(self) -> None:
        log.info("login %s from %s", self.who.login, self.address)

    def session_requested(self) -> Any:
        if not self.who:
            return False
        return Channel(self.hub, self)

    def files_session(self) -> Any:
        """The session for the sftp subsystem: the user's own files; None when refused."""
        if self.who.is_terminal:
            self.refused("sftp (a shared terminal account has no files)")
            return None
        factory = sftp_factory(self.hub.files, self.who.login, self.address, self._still_allowed)
        return sftp_session(factory)

    async def _still_allowed(self) -> str:
        """Why the signed-in user may no longer open their files ("" when they may)."""
        who = await self.hub.key_login(self.who.login, self.fingerprint)
        if who is None:
            return f"{self.who.login} is no longer an active user with this key."
        if who.is_terminal:
            return "a shared terminal account has no files."
        return ""

    def connection_requested(self, dest_host: str, dest_port: int, *args: Any) -> bool:
        self.refused(f"forwarding to {dest_host}:{dest_port}")
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        self.refused(f"remote forwarding of port {listen_port}")
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        self.refused("forwarding to a socket")
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        self.refused("remote forwarding of a socket")
        return False


class Channel(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """A session channel: the app (a shell on a pty), or the user's files when the client starts
    the sftp subsystem.  The client's request decides; until then, and for the app, every call goes
    to the app's session, which refuses what is not offered."""

    def __init__(self, hub: Hub, door: Door) -> None:
        self.door = door
        self.chan: Any = None
        self.inner: Any = AppSession(hub, door)

    def subsystem_requested(self, subsystem: str) -> bool:
        if subsystem != "sftp":
            return bool(self.inner.subsystem_requested(subsystem))
        files = self.door.files_session()
        if files is None:
            return False
        self.inner = files  # the app's session made nothing yet: it is simply dropped
        files.connection_made(self.chan)
        return bool(files.subsystem_requested(subsystem))

    def connection_made(self, chan: Any) -> None:
        self.chan = chan
        self.inner.connection_made(chan)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def session_started(self) -> None:
        self.inner.session_started()

    def data_received(self, data: Any, datatype: Any) -> None:
        self.inner.data_received(data, datatype)

    def eof_received(self) -> bool:
        return bool(self.inner.eof_received())

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return bool(self.inner.pty_requested(term_type, term_size, term_modes))

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.inner.terminal_size_changed(width, height, pixwidth, pixheight)

    def shell_requested(self) -> bool:
        return bool(self.inner.shell_requested())

    def exec_requested(self, command: str) -> bool:
        return bool(self.inner.exec_requested(command))

    def break_received(self, msec: int) -> bool:
        return bool(self.inner.break_received(msec))

    def signal_received(self, signal: str) -> None:
        self.inner.signal_received(signal)

    def soft_eof_received(self) -> None:
        self.inner.soft_eof_received()


def _become_subreaper() -> None:
    """Sessions orphaned by a dying zygote become our children, so their exit is still seen."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


async def serve(
    settings: Settings, store: Any, key_path: Path, ready: Callable[[str], None]
) -> int:
    """Run the server until SIGTERM or SIGINT; returns the exit code."""
    limits = settings.serve
    loop = asyncio.get_running_loop()
    _become_subreaper()
    hub = Hub(settings, store)
    loop.add_signal_handler(signal.SIGCHLD, hub.reap)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await asyncssh.create_server(
        lambda: Door(hub),
        limits.address,
        limits.port,
        server_host_keys=[host_key(key_path)],
        encoding=None,
        line_editor=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        allow_pty=True,
        login_timeout=limits.login_timeout or None,
        keepalive_interval=limits.keepalive or None,
        keepalive_count_max=3,
        reuse_address=True,
    )
    hub.bound(server.get_port())
    hub.start_zygote()  # once the port is ours: a server that cannot listen starts nothing
    bound = f"{limits.address}:{server.get_port()}"
    stopped = asyncio.ensure_future(stop.wait())
    warm = asyncio.ensure_future(asyncio.shield(hub.zygote.ready))
    await asyncio.wait({stopped, warm}, return_when=asyncio.FIRST_COMPLETED)
    if warm.done():
        ready(bound)
        log.info("listening on %s (database %s)", bound, settings.database)
    warm.cancel()
    await stopped
    server.close()
    await hub.stop()
    log.info("stopped")
    return 0


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s prepfloor serve: %(message)s", stream=sys.stderr
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
