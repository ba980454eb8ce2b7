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

    url, login, kind, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
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


def _run_in_fresh_interpreter(script: str, *args: str, tmp_path: Path, name: str) -> dict:
    """Run ``script`` in a new Python with the project importable; it writes its report, a JSON
    object, to the path given as its last argument.  Returns that report."""
    out = tmp_path / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args, str(out)],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("kind", ["ssh", "web"])
def test_a_session_imports_nothing_after_the_fork(db_url: str, tmp_path: Path, kind: str) -> None:
    store = Store(db_url)
    store.run(
        users.create_user, None, login="boss", display_name="Boss", role="admin",
        dealership_id=None,
    )  # fmt: skip
    store.close()
    report = _run_in_fresh_interpreter(
        SCRIPT, db_url, "boss", kind, tmp_path=tmp_path, name="session"
    )
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


HEAP_SCRIPT = textwrap.dedent(
    """
    import json, os, sqlite3, struct, sys

    from prepfloor import serve_heap, serve_zygote as z
    from prepfloor.config import Settings

    url, path, fill, out = sys.argv[1], sys.argv[2], sys.argv[3] == "fill", sys.argv[4]
    if not fill:  # the control: the zygote as it would be without serve_heap
        serve_heap.take_free_space = lambda: None
    z.warm_up(Settings(database=url, database_source="test"))

    def heap():
        for line in open("/proc/self/maps"):
            if line.rstrip().endswith("[heap]"):
                low, high = line.split()[0].split("-")
                return int(low, 16), int(high, 16)

    def private_pages(low, high):  # pages of the heap this process no longer shares
        with open("/proc/self/pagemap", "rb") as pagemap:
            pagemap.seek(low // 4096 * 8)
            data = pagemap.read((high - low) // 4096 * 8)
        flags = struct.unpack(f"<{len(data) // 8}Q", data)
        return sum(1 for v in flags if v >> 63 and (v >> 56) & 1)

    low, high = heap()  # the zygote's heap: anything above it is the session's own
    pid = os.fork()
    if pid == 0:
        before = private_pages(low, high)
        connection = sqlite3.connect(path)  # a session's connection: it reads the schema
        connection.execute("SELECT count(*) FROM users").fetchall()
        with open(out, "w") as handle:
            json.dump({"copied": private_pages(low, high) - before}, handle)
        os._exit(0)
    os.waitpid(pid, 0)
    """
)


def test_a_session_s_new_connection_leaves_the_zygote_s_heap_shared(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A session's new SQLite connection parses the whole schema into small blocks of C memory.
    Placed in the holes the zygote's warm-up left in its heap, they copied ~880 of its pages
    (3.5 MB) into each session; from the top of the heap, they copy a handful."""
    if not os.access("/proc/self/pagemap", os.R_OK) or sys.platform != "linux":
        pytest.skip("needs Linux's /proc/self/pagemap")
    Store(sqlite_url).close()
    path = sqlite_url.removeprefix("sqlite:///")
    copied = {
        mode: _run_in_fresh_interpreter(
            HEAP_SCRIPT, sqlite_url, path, mode, tmp_path=tmp_path, name=mode
        )["copied"]
        for mode in ("fill", "control")
    }
    assert copied["fill"] < 64, copied
    assert copied["control"] > 4 * max(copied["fill"], 16), copied  # the measure sees copies


COPIES_SCRIPT = textwrap.dedent(
    """
    import gc, json, os, struct, sys

    from prepfloor import serve_heap, serve_zygote as z
    from prepfloor.config import Settings

    url, control, work, out = sys.argv[1:5]
    if control != "-":  # the control: the zygote as it would be without that step
        setattr(serve_heap, control, lambda: 0)
    z.warm_up(Settings(database=url, database_source="test"))

    def anonymous():  # the zygote's anonymous memory and heap: its objects are there
        spans = []
        for line in open("/proc/self/maps"):
            fields = line.split()
            if "w" in fields[1] and (len(fields) == 5 or fields[5] == "[heap]"):
                low, high = fields[0].split("-")
                spans.append((int(low, 16), int(high, 16)))
        return spans

    def pages(spans, exclusive):  # the pages present (and only this process's, if exclusive)
        found = set()
        with open("/proc/self/pagemap", "rb") as pagemap:
            for low, high in spans:
                pagemap.seek(low // 4096 * 8)
                data = pagemap.read((high - low) // 4096 * 8)
                flags = struct.unpack(f"<{len(data) // 8}Q", data)
                found.update(
                    low // 4096 + i
                    for i, v in enumerate(flags)
                    if v >> 63 and (not exclusive or (v >> 56) & 1)
                )
        return found

    spans = anonymous()
    zygotes = pages(spans, exclusive=False)  # a new page of the session's own is no copy
    pid = os.fork()
    if pid == 0:
        gc.disable()
        before = pages(spans, exclusive=True) & zygotes
        if work == "objects":
            # what a session makes as it starts: small objects of every size (widgets' dicts,
            # segments' tuples, strings)
            made = [
                ({"n": n}, [n] * (n % 40), (n, str(n)), "x" * (n % 300), bytes(n % 450))
                for n in range(40_000)
            ]
        else:
            # what a session uses of the zygote's: every module's functions, classes, constants
            made = [list(vars(module).values()) for module in list(sys.modules.values())]
        with open(out, "w") as handle:
            copied = (pages(spans, exclusive=True) & zygotes) - before
            json.dump({"copied": len(copied), "made": len(made)}, handle)
        os._exit(0)
    os.waitpid(pid, 0)
    """
)


def _copied(url: str, tmp_path: Path, work: str, control: str) -> dict[str, int]:
    """The zygote's pages a forked session copies doing ``work``: with the zygote as it is, and
    without its step ``control`` (a function of :mod:`prepfloor.serve_heap`)."""
    if not os.access("/proc/self/pagemap", os.R_OK) or sys.platform != "linux":
        pytest.skip("needs Linux's /proc/self/pagemap")
    Store(url).close()
    return {
        name: _run_in_fresh_interpreter(
            COPIES_SCRIPT, url, off, work, tmp_path=tmp_path, name=f"{work}-{name}"
        )["copied"]
        for name, off in (("as_is", "-"), ("control", control))
    }


def test_a_session_s_new_objects_leave_the_zygote_s_pages_shared(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The warm-up run's objects, freed, leave holes in pymalloc's pools between objects that
    live on.  A session's new objects placed there copied those pages into each session; taken
    by the zygote (``serve_heap.take_free_blocks``), they go to pools of the session's own."""
    copied = _copied(sqlite_url, tmp_path, "objects", "take_free_blocks")
    # measured: 80-94 against 507-524 pages on Python 3.11, 40-41 against 107-122 on 3.12 and 3.13
    assert copied["control"] > 100, copied  # the measure sees the copies
    assert copied["as_is"] * 2 < copied["control"], copied


@pytest.mark.skipif(
    not (3, 12) <= sys.version_info[:2] <= (3, 13), reason="immortal objects: Python 3.12, 3.13"
)
def test_a_session_using_the_zygote_s_objects_leaves_their_pages_shared(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Every reference a session takes to one of the zygote's objects writes its count, and
    copies its page.  Made immortal in the zygote (``serve_heap.make_immortal``), they are
    never counted: a session that holds every value of every module copies almost none."""
    copied = _copied(sqlite_url, tmp_path, "references", "make_immortal")
    assert copied["control"] > 1000, copied  # the measure sees the copies
    assert copied["as_is"] * 10 < copied["control"], copied
