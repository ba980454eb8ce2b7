"""The zygote of ``prepfloor serve``: one process that has imported and warmed up everything, and
forks one child per SSH session.

``prepfloor serve`` starts it as ``python -m prepfloor.serve_zygote FD`` with a clean environment:
it holds nothing of the server's (no host key, no listening socket, no client connections), only
the control socket ``FD`` (a ``SOCK_SEQPACKET`` pair).  Its life:

1. read the settings (the first message), import what a session runs (:data:`PRELOAD`, and every
   module of :data:`WARM_PACKAGES`: this list, not what ``prepfloor.app`` happens to import at
   its top, decides it), and run the app once headless as an admin up to its first frame, with
   the ORM reads and statements of a session's first seconds, so that imports, class set-up, the
   theme, the CSS, the translations and the compiled statements are paid once, here, and shared
   copy-on-write by every session (a session imports nothing after the fork: a test checks it);
2. close that run's database connections, wait for its threads, freeze the garbage collector's
   view of all that (a collection would otherwise touch, and so copy, every page in each child),
   make all of it immortal where Python has immortal objects (3.12 and 3.13: a session then
   writes no reference counts to it), and take the free space the run left in the C heap and in
   Python's small-object pools (:mod:`prepfloor.serve_heap`: a session filling those holes would
   copy every page around them);
3. say ``ready`` and wait, without any event loop, for ``spawn`` messages: each carries the
   session's pty (the slave side, as an fd) and who signed in.  Fork; the child makes the pty its
   controlling terminal and stdin/stdout/stderr, closes every other fd, opens its own database
   connections and runs the app as that user; its exit code is the app's.  Each exit is reported.

A crashing child only ends its own session.  The zygote exits when the server closes the socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import json
import logging
import os
import pkgutil
import select
import signal
import socket
import sys
import termios
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prepfloor import serve_heap
from prepfloor.config import Settings, apply_timezone
from prepfloor.serve_config import ServeSettings

log = logging.getLogger("prepfloor.serve")

# What a session runs, imported here once: the served app and the app it extends, the terminal
# driver of a session (the warm-up runs headless, so nothing else would import it) and Textual's
# reading of keys, the ORM.  Then every module of WARM_PACKAGES: every screen, and the rules the
# screens call.  Whatever a module imports lazily is warmed by the run of the app below.
PRELOAD = (
    "prepfloor.serve_app",
    "prepfloor.app",
    "prepfloor.quiet_driver",
    "textual.drivers.linux_driver",
    "textual.drivers._writer_thread",
    "textual._xterm_parser",
    "sqlalchemy.orm",
    # a browser's session: Textual's web driver and what it reads its input with
    "prepfloor.web_driver",
    "textual.drivers.web_driver",
    "textual.drivers._byte_stream",
    "textual.drivers._input_reader",
    "textual._binary_encode",
)
WARM_PACKAGES = ("screens", "db")
NOT_IN_SESSIONS = frozenset({"db.migrate"})  # sessions never migrate
SESSION_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "XDG_DATA_HOME")
CRASHED = 70  # the exit code of a session whose app raised


def settings_message(settings: Settings) -> bytes:
    """The first message to the zygote: the settings a session needs (of ``[serve]``: where the
    users' files are, their quota, and how staff reach the server, for the sftp commands shown)."""
    serve = settings.serve
    return json.dumps(
        {
            "database": settings.database,
            "database_source": settings.database_source,
            "timezone": settings.timezone,
            "language": settings.language,
            "shift_hours": settings.shift_hours,
            "idle_minutes": settings.idle_minutes,
            "write_wait": settings.write_wait,
            "serve": {
                "port": serve.port,
                "files": str(serve.files) if serve.files else None,
                "files_quota": serve.files_quota,
                "hostname": serve.hostname,
            },
        }
    ).encode()


def settings_from_message(message: bytes) -> Settings:
    """The settings :func:`settings_message` sent."""
    config = json.loads(message)
    serve = config.pop("serve", None) or {}
    files = serve.pop("files", None)
    config["serve"] = ServeSettings(**serve, files=Path(files) if files else None)
    return Settings(**config)


class _WarmUpApp:
    """Made on first use: :class:`ServedApp` minus the day's digest (a write; the warm-up only
    reads)."""

    cls: type | None = None

    @classmethod
    def get(cls) -> type:
        if cls.cls is None:
            from prepfloor.serve_app import ServedApp

            class WarmUpApp(ServedApp):
                def _deliver_digest(self, actor: Any) -> None:
                    return None

            cls.cls = WarmUpApp
        return cls.cls


_warm_stores: dict[str, Any] = {}  # database -> the warm-up's store, closed


def warm_up(settings: Settings) -> None:
    """Import everything, touch the ORM, and run the app once, headless, as an admin (the widest
    first screen) up to its first frame."""
    from sqlalchemy.orm import configure_mappers

    from db import users
    from db.store import Store

    for name in preload_modules():
        importlib.import_module(name)
    configure_mappers()
    _warm_languages(settings)
    store = Store(settings.database)
    store.warm()
    admin = store.fast.rows("SELECT login FROM users WHERE active AND role = 'admin' LIMIT 1")
    actor = store.query(users.trusted_actor, admin[0][0]) if admin else None
    app = _WarmUpApp.get()(store, settings, actor=actor)

    async def first_frame(pilot: Any) -> None:
        await pilot.pause()
        await pilot.pause(0.2)
        pilot.app.exit(0)

    app.run(headless=True, size=(120, 40), auto_pilot=first_frame)
    if actor is not None:
        # What a session does with the ORM in its first seconds, read only (a read session is
        # never committed): the day's digest check and the check of the user that comes first
        # in each of their writes (compiled here, not by the SQL compiler in every session).
        # Then a car's view, the screen most sessions open: read through the fast reader, its
        # rules and words made here once.
        from db import inbox, queries

        store.query(inbox.deliver_digest, actor)
        store.query(users.recheck, actor)
        store.query(users.recheck, actor)
        car = store.fast.rows("SELECT id FROM cars ORDER BY id DESC LIMIT 1")
        if car:
            queries.car_detail(store.fast, actor, car[0][0])
    # Closed, not dropped: no connection crosses the fork (each session opens its own), but the
    # engine and the statements it compiled during the warm-up are every session's, shared.
    store.close()
    _warm_stores[settings.database] = store
    del app, first_frame  # the warm-up run's app: garbage from here, not kept for ever below
    for thread in threading.enumerate():
        if thread is not threading.main_thread():
            thread.join(5)
    gc.collect()
    serve_heap.make_immortal()  # before the freeze: the collector lists what it holds until then
    gc.freeze()
    serve_heap.take_free_space()
    serve_heap.take_free_blocks()


def preload_modules() -> list[str]:
    """The modules the zygote imports before its warm-up run: :data:`PRELOAD`, then every module
    of :data:`WARM_PACKAGES` (but :data:`NOT_IN_SESSIONS`)."""
    names = list(PRELOAD)
    for package_name in WARM_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__, f"{package_name}."):
            if not module.ispkg and module.name not in NOT_IN_SESSIONS:
                names.append(module.name)
    return names


def _warm_languages(settings: Settings) -> None:
    """Every language's catalog and Babel data loaded once, here, for every session (a user
    may read another language than the site's); then the site's language is spoken."""
    from datetime import datetime

    from db import formats
    from db.i18n import LANGUAGES, choose, use

    for lang in LANGUAGES:
        use(lang)
        formats.moment(datetime(2030, 1, 7, 7, 0))
        formats.hours(7.5)
    use(choose(settings.language))


def exited_children() -> Iterator[tuple[int, int]]:
    """``(pid, exit code)`` of each child that has exited (the code is -N after signal N)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


def _close_fds_above_stderr() -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):
                os.close(fd)


def _std_streams() -> None:
    """New ``sys`` streams on fds 0-2 (the session's pty); Textual reads and writes these."""
    sys.stdin = sys.__stdin__ = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    out = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True)
    err = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err


def become_session(request: dict[str, Any], pty_fd: int) -> None:
    """In the forked child: the pty as controlling terminal and fds 0-2, nothing else open, the
    environment of a terminal session."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    logging.root.handlers.clear()  # the server's log is not the user's screen
    logging.root.addHandler(logging.NullHandler())
    os.setsid()
    fcntl.ioctl(pty_fd, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(pty_fd, fd)
    _close_fds_above_stderr()
    _std_streams()
    environment = {k: os.environ[k] for k in SESSION_ENV if k in os.environ}
    os.environ.clear()
    os.environ.update(environment)
    term = str(request.get("term") or "")
    ok = 0 < len(term) <= 64 and all(c.isalnum() or c in "._+-" for c in term)
    os.environ["TERM"] = term if ok else "xterm-256color"


def become_browser_session(request: dict[str, Any], sock_fd: int) -> None:
    """In the forked child of a browser's session: the socket to the server as fds 0 and 1 (the
    packets of Textual's web protocol), fd 2 the zygote's (the server's log: a crash's report
    goes there, as the page cannot show it), nothing else open."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    logging.root.handlers.clear()
    logging.root.addHandler(logging.NullHandler())
    os.setsid()
    os.dup2(sock_fd, 0)
    os.dup2(sock_fd, 1)
    _close_fds_above_stderr()
    _std_streams()
    environment = {k: os.environ[k] for k in SESSION_ENV if k in os.environ}
    os.environ.clear()
    os.environ.update(environment)
    width, height = request.get("size") or (80, 24)
    os.environ["COLUMNS"] = str(max(1, min(int(width), 1000)))
    os.environ["ROWS"] = str(max(1, min(int(height), 500)))


def run_session(request: dict[str, Any], settings: Settings) -> int:
    """The app for one session; its return code."""
    from db.i18n import _, choose, use
    from db.store import Store
    from prepfloor.serve_app import BrowserApp, ServedApp

    use(choose(settings.language))  # until someone signs in: the site's language
    # the warm-up's store (its engine and compiled statements; no connection is open) or a new
    # one: either way the session's connections are its own, opened after the fork
    store = _warm_stores.pop(settings.database, None) or Store(settings.database)
    actor = None
    if not request.get("terminal"):
        actor = store.fast.actor(request["login"])
        if actor is None:
            print(
                _("prepfloor: {login} is no longer an active user.").format(
                    login=repr(request["login"])
                ),
                flush=True,
            )
            return 1
    app = (BrowserApp if request.get("web") else ServedApp)(store, settings, actor=actor)
    app.run()
    store.close()
    return int(app.return_code or 0)


def _child(request: dict[str, Any], pty_fd: int, settings: Settings) -> None:
    code = CRASHED
    try:
        if request.get("web"):
            become_browser_session(request, pty_fd)
        else:
            become_session(request, pty_fd)
        code = run_session(request, settings)
    except BaseException:
        with contextlib.suppress(Exception):
            from db.i18n import _

            sys.stderr.write("\r\n" + _("prepfloor stopped on an error; sign in again.") + "\r\n")
            sys.stderr.write(traceback.format_exc().replace("\n", "\r\n"))
            sys.stderr.flush()
    finally:
        os._exit(code)


class Zygote:
    def __init__(self, control: socket.socket, settings: Settings) -> None:
        self.control = control
        self.settings = settings
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send(self, message: dict[str, Any]) -> None:
        self.control.sendall(json.dumps(message).encode())

    def spawn(self, request: dict[str, Any], pty_fd: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, pty_fd, self.settings)
        os.close(pty_fd)
        self.send({"started": request["id"], "pid": pid})

    def reap(self) -> None:
        for pid, code in exited_children():
            self.send({"exited": pid, "code": code})

    def serve(self) -> None:
        """Wait for spawn requests and child exits, until the server closes the socket."""
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        while True:
            try:
                readable, _w, _x = select.select([self.control, self.wake_r], [], [])
            except InterruptedError:
                continue
            if self.wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_r, 512)
                self.reap()
            if self.control in readable:
                message, fds, _flags, _addr = socket.recv_fds(self.control, 65536, 4)
                if not message:
                    return  # the server is gone or stopping
                request = json.loads(message)
                if len(fds) != 1:
                    for fd in fds:
                        os.close(fd)
                    continue
                self.spawn(request, fds[0])


def main(argv: list[str]) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s prepfloor serve: zygote: %(message)s"
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when sessions end
    serve_heap.one_arena()  # before the warm-up starts any thread
    control = socket.socket(fileno=int(argv[1]))
    settings = settings_from_message(control.recv(65536))
    apply_timezone(settings)
    started = time.perf_counter()
    warm_up(settings)
    zygote = Zygote(control, settings)
    try:
        zygote.send({"ready": os.getpid(), "warm_seconds": round(time.perf_counter() - started, 2)})
        zygote.serve()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server went away: so do we
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
