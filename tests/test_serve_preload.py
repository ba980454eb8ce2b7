"""The zygote of ``prepfloor serve`` loads, before it forks, everything a session runs: a session
forked the real way (:func:`prepfloor.serve_zygote._child`, on a pty or, for a browser, on a
socket, signed in as an admin) imports no module after the fork, on both engines.  A module first imported in a session is
loaded by every session again, in its own memory, and costs each login its import time.

The zygote runs in a fresh interpreter (its warm-up freezes the garbage collector and imports the
whole app), here as in the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from db import users
from db.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import fcntl, json, os, select, signal, struct, sys, termios, time

    from prepfloor import serve_zygote as z
    from prepfloor.config import Settings

    url, login, out, kind = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    settings = Settings(database=url, database_source="test")
    z.warm_up(settings)
    loaded = set(sys.modules)

    import prepfloor.serve_app as served

    base = served.BrowserApp if kind == "web" else served.ServedApp

    class Probe(base):
        def on_mount(self):
            super().on_mount()
            # after the first frame, the ORM's warm-up and the day's digest
            self.set_timer(2.0, self.report)

        def report(self):
            with open(out, "w") as handle:
                json.dump({"painted": bool(self.screen.children),
                           "imported": sorted(set(sys.modules) - loaded)}, handle)
            self.exit(0)

    # what run_session imports, in the child
    served.ServedApp = served.BrowserApp = Probe
    if kind == "web":  # a browser's session: a socket to the server, Textual's web packets
        import socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        master, slave = ours.detach(), theirs.detach()
        request = {"id": 1, "login": login, "web": True, "size": [120, 40]}
    else:
        master, slave = os.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        request = {"id": 1, "login": login, "term": "xterm-256color"}
    pid = os.fork()
    if pid == 0:
        os.close(master)
        z._child(request, slave, settings)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                screen = (screen + os.read(master, 65536))[-4000:]
            except OSError:
                pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            sys.exit(os.waitstatus_to_exitcode(status))
    os.kill(pid, signal.SIGKILL)
    sys.exit(f"the session did not end: {screen[-800:]!r}")
    """
)


@pytest.mark.parametrize("kind", ["ssh", "web"])
def test_a_session_imports_nothing_after_the_fork(db_url: str, tmp_path: Path, kind: str) -> None:
    store = Store(db_url)
    store.run(
        users.create_user, None, login="boss", display_name="Boss", role="admin",
        dealership_id=None,
    )  # fmt: skip
    store.close()
    out = tmp_path / "session.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url, "boss", str(out), kind],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["painted"]
    assert report["imported"] == []


def test_the_preload_list_names_the_session_side_and_not_the_server() -> None:
    from prepfloor.serve_zygote import NOT_IN_SESSIONS, PRELOAD, preload_modules

    names = preload_modules()
    assert names[: len(PRELOAD)] == list(PRELOAD)
    assert "prepfloor.serve_app" in names and "textual.drivers.linux_driver" in names
    assert {"screens.carlist", "db.inbox", "db.users"} <= set(names)
    assert not NOT_IN_SESSIONS & set(names)
    # the server's side (the SSH protocol) stays out of every session
    assert not [name for name in names if name in ("prepfloor.serve", "prepfloor.serve_door")]
