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
* each connection is a :class:`~prepfloor.serve_door.Door` (key check, then app sessions or the
  user's files);
* it keeps within limits (:mod:`prepfloor.serve_limits`): sessions in all and per user, failed
  logins per address (refused keys only), and open files (raised to the hard limit at start;
  connections that would not fit are turned away with a message, and said once a minute);
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

from db.i18n import _, ngettext
from prepfloor.config import Settings
from prepfloor.serve_config import ServeSettings
from prepfloor.serve_door import Door
from prepfloor.serve_files import FilesService
from prepfloor.serve_limits import (
    OUT_OF_FILES,
    OUT_OF_RESOURCES,
    FailedLogins,
    FileRoom,
    Notices,
    raise_file_limit,
)
from prepfloor.serve_session import AppSession
from prepfloor.serve_zygote import exited_children, settings_message

__all__ = ["FailedLogins", "Hub", "serve"]

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
    """The server's state: the zygote, the sessions, the failed-login counts, the limits."""

    def __init__(self, settings: Settings, store: Any, file_limit: int = 0) -> None:
        self.settings = settings
        self.limits: ServeSettings = settings.serve
        self.store = store
        self.failures = FailedLogins(self.limits.failed_logins, self.limits.failed_window)
        self.notices = Notices()
        self.file_limit = file_limit
        self.room = FileRoom(file_limit)
        self.sessions: dict[int, AppSession] = {}
        self.by_pid: dict[int, AppSession] = {}
        self.ids = itertools.count(1)
        self.stopping = False
        self.doors: set[Door] = set()  # the open connections
        self.zygote_starts: deque[float] = deque(maxlen=5)
        self.zygote = ZygoteProcess(settings, self._zygote_message)
        self.files = FilesService(settings.serve)
        self.web: Any = None  # the web server (prepfloor.serve_web), when [web] has a port
        self.web_downloads: dict[str, Any] = {}  # delivery key -> its browser session

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
        try:
            self.start_zygote()
        except OSError as error:  # out of files or processes: try again, the sessions wait
            self.out_of_resources(error, "the zygote could not be started; trying again in 5 s")
            asyncio.get_running_loop().call_later(5.0, self._restart_zygote)
            return
        for session in list(self.sessions.values()):
            session.zygote_restarted()  # a fork request the dead zygote did not answer is resent

    def child_exited(self, pid: int, code: int) -> None:
        session = self.by_pid.pop(pid, None)
        if session is not None:
            session.child_exited(code)

    # -- sessions --------------------------------------------------------------------------------
    def refusal(self, login: str) -> tuple[str, str]:
        """Why a new session of ``login`` cannot start: what the log says and what the user is
        told (in the server's language); ``("", "")`` when it can."""
        if self.stopping:
            return "a session while stopping", _("prepfloor: the server is stopping.") + "\r\n"
        if len(self.sessions) >= self.limits.max_sessions:
            return (
                f"all {self.limits.max_sessions} sessions in use",
                _("prepfloor: the server is full; try again in a minute.") + "\r\n",
            )
        cap = self.limits.max_sessions_per_user
        if sum(1 for s in self.sessions.values() if s.login == login) >= cap:
            return (
                f"a {_ordinal(cap + 1)} session ({cap} per user)",
                ngettext(
                    "You have {count} prepfloor session open already; close one first.",
                    "You have {count} prepfloor sessions open already; close one first.",
                    cap,
                ).format(count=cap)
                + "\r\n",
            )
        return "", ""

    def add(self, session: AppSession) -> int:
        """Register a session (that :meth:`refusal` let in); its number."""
        number = next(self.ids)
        self.sessions[number] = session
        return number

    def remove(self, number: int | None) -> None:
        if number is not None:
            self.sessions.pop(number, None)

    async def key_login(self, login: str, fingerprint: str) -> Any:
        from db import users

        return await asyncio.to_thread(self.store.query, users.key_login, login, fingerprint)

    # -- running out of open files ---------------------------------------------------------------
    def out_of_files(self, what: str) -> None:
        """Said once a minute, however many connections meet it."""
        limit = f"limit {self.file_limit}" if self.file_limit else "the limit"
        self.notices.warn("files", f"too many open files ({limit}): {what}")

    def out_of_resources(self, error: OSError, what: str) -> None:
        if error.errno in OUT_OF_FILES:
            self.out_of_files(what)
        else:
            self.notices.warn(f"errno {error.errno}", f"{error.strerror or error}: {what}")

    def room_for_a_connection(self) -> bool:
        return self.room.fits()

    def loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """asyncio's report of an error nobody caught.  Running out of descriptors or memory
        (``accept`` fails, and asyncio retries it each second) is one line a minute; anything
        else is asyncio's own report."""
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in OUT_OF_RESOURCES:
            self.out_of_resources(error, "new connections wait or are turned away until some close")
            return
        loop.default_exception_handler(context)

    async def stop(self) -> None:
        """End every session (the app exits the normal way), then the zygote."""
        self.stopping = True
        live = list(self.sessions.values())
        log.info("stopping: ending %d session(s)", len(live))
        for session in live:
            session.end(signal.SIGTERM, "\r\n" + _("prepfloor: the server is stopping.") + "\r\n")
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


def _become_subreaper() -> None:
    """Sessions orphaned by a dying zygote become our children, so their exit is still seen."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


async def serve(
    settings: Settings, store: Any, key_path: Path, ready: Callable[[str], None]
) -> int:
    """Run the server until SIGTERM or SIGINT; returns the exit code."""
    limits = settings.serve
    loop = asyncio.get_running_loop()
    _become_subreaper()
    file_limit, before = raise_file_limit()
    if file_limit:
        raised = f" (raised from {before})" if before != file_limit else ""
        log.info("open files: limit %d%s", file_limit, raised)
    else:
        log.info("open files: no limit")
    hub = Hub(settings, store, file_limit)
    loop.set_exception_handler(hub.loop_exception)
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
    bound = f"{limits.address}:{server.get_port()}"
    web_server = None
    if settings.web.port:
        from prepfloor.serve_web import WebServer

        web_server = WebServer(hub, settings.web)
        try:
            web_port = await web_server.start()
        except OSError:
            server.close()
            raise
        scheme = "https" if settings.web.tls else "http"
        bound += f" and {scheme}://{settings.web.address}:{web_port}"
    hub.start_zygote()  # once the ports are ours: a server that cannot listen starts nothing
    sender = None
    if settings.outbox.configured:  # messages to customers: a thread of this process
        from prepfloor.outbox_send import start_thread

        sender = start_thread(settings.database, settings.outbox)
    stopped = asyncio.ensure_future(stop.wait())
    warm = asyncio.ensure_future(asyncio.shield(hub.zygote.ready))
    await asyncio.wait({stopped, warm}, return_when=asyncio.FIRST_COMPLETED)
    if warm.done():
        ready(bound)
        log.info("listening on %s (database %s)", bound, settings.database)
    warm.cancel()
    await stopped
    server.close()
    if sender is not None:
        sender[1].set()
        await asyncio.to_thread(sender[0].join, 10)
    await hub.stop()
    if web_server is not None:
        await web_server.stop()
    log.info("stopped")
    return 0


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s prepfloor serve: %(message)s", stream=sys.stderr
    )
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
