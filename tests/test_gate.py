"""The SQLite write gate (db.gate): one writer at a time, in the order they came, bounded waits, and
a writer that gives up or dies never stops the line."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from db.errors import HeldUp
from db.gate import FlockGate, WriteGate, gate_for

CTX = mp.get_context("fork")
LONG = 20.0  # seconds: a bound for waits that should end at once


def _count(db: str, n: int) -> None:
    """Add 1 to a number in a file ``n`` times, read-modify-write, under the gate."""
    gate = gate_for(db)
    for _ in range(n):
        with gate.held(time.monotonic() + LONG):
            path = Path(db + ".count")
            value = int(path.read_text() or 0)
            time.sleep(0.0002)
            path.write_text(str(value + 1))


@pytest.mark.parametrize("kind", [WriteGate, FlockGate])
def test_one_writer_at_a_time(tmp_path: Path, kind: type, monkeypatch: Any) -> None:
    import db.gate

    monkeypatch.setattr(db.gate, "gate_for", kind)
    db_path = str(tmp_path / "prepfloor.db")
    Path(db_path + ".count").write_text("0")
    workers = [CTX.Process(target=_count, args=(db_path, 100)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(LONG * 3)
    assert [w.exitcode for w in workers] == [0] * 8
    assert Path(db_path + ".count").read_text() == "800"  # no two were ever in at once


def test_linux_gets_the_line() -> None:
    assert type(gate_for("/tmp/x.db")) is WriteGate


def _enter(db: str, name: str, log: Any, ready: Any, hold: float, deadline: float) -> None:
    """Stand in line; once in, write ``name`` to the log and stay ``hold`` seconds."""
    gate = gate_for(db)
    ready.set()
    try:
        with gate.held(time.monotonic() + deadline):
            log.put((name, time.monotonic()))
            time.sleep(hold)
    except HeldUp:
        log.put((name + " gave up", time.monotonic()))


def _tickets(db: str) -> int:
    """The next ticket of the line (:class:`WriteGate`'s counter, bytes 0-7 of the lock file)."""
    try:
        return int.from_bytes(Path(db + ".lock").read_bytes()[:8].ljust(8, b"\0"), "little")
    except FileNotFoundError:
        return 0


def _start(db: str, name: str, log: Any, hold: float = 0.0, deadline: float = LONG) -> Any:
    """A writer, started once it has its place in the line (its ticket taken): the next one
    comes after it.  (A fixed pause was not enough on a loaded machine.)"""
    taken = _tickets(db)
    ready = CTX.Event()
    p = CTX.Process(target=_enter, args=(db, name, log, ready, hold, deadline))
    p.start()
    assert ready.wait(LONG)
    limit = time.monotonic() + LONG
    while _tickets(db) <= taken:
        assert time.monotonic() < limit, f"{name} took no ticket"
        time.sleep(0.01)
    return p


def _names(log: Any, n: int) -> list[str]:
    """The first ``n`` to go in (or give up), in the order they did: by the time each noted (a
    queue's entries from several processes can arrive out of that order)."""
    entries = [log.get(timeout=LONG) for _ in range(n)]
    return [name for name, _at in sorted(entries, key=lambda entry: entry[1])]


def test_writers_go_in_the_order_they_came(tmp_path: Path) -> None:
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    first = _start(db, "first", log, hold=1.0)
    later = [_start(db, f"w{i}", log) for i in range(6)]
    assert _names(log, 7) == ["first", "w0", "w1", "w2", "w3", "w4", "w5"]
    for p in [first, *later]:
        p.join(LONG)


def test_nobody_overtakes_the_next_in_line(tmp_path: Path) -> None:
    """The next in line is stopped (a slow machine, a process that cannot run just then) when the
    holder leaves: the one behind it waits for its turn instead of going in first.  (A plain flock
    lets whoever runs first in.)"""
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    holder = _start(db, "holder", log, hold=2.0)
    assert log.get(timeout=LONG)[0] == "holder"
    nxt = _start(db, "next", log)
    behind = _start(db, "behind", log)
    os.kill(nxt.pid, signal.SIGSTOP)
    holder.join(LONG)
    time.sleep(1.0)
    assert log.empty()  # "behind" did not go in while "next" could not run
    os.kill(nxt.pid, signal.SIGCONT)
    assert _names(log, 2) == ["next", "behind"]
    for p in (nxt, behind):
        p.join(LONG)


def test_a_writer_that_gives_up_passes_its_turn_on(tmp_path: Path) -> None:
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    holder = _start(db, "holder", log, hold=1.5)
    quitter = _start(db, "quitter", log, deadline=0.3)  # gives up while the holder is in
    after = _start(db, "after", log)
    assert _names(log, 3) == ["holder", "quitter gave up", "after"]
    for p in (holder, quitter, after):
        p.join(LONG)


def test_a_writer_killed_inside_or_in_line_does_not_stop_the_line(tmp_path: Path) -> None:
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    holder = _start(db, "holder", log, hold=60)  # stays in: killed below
    waiter = _start(db, "waiter", log)  # killed while in line
    last = _start(db, "last", log)
    assert log.get(timeout=LONG)[0] == "holder"
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.join(LONG)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(LONG)
    assert log.get(timeout=LONG)[0] == "last"
    last.join(LONG)
    assert last.exitcode == 0


def test_threads_of_one_process_share_its_place_and_a_given_up_turn(tmp_path: Path) -> None:
    """A writer of this process that gave up leaves its helper in line; the next writer of the
    process takes that place instead of a new ticket, and gets in once the holder leaves."""
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    holder = _start(db, "holder", log, hold=1.0)
    assert log.get(timeout=LONG)[0] == "holder"
    gate = gate_for(db)
    began = time.monotonic()
    with pytest.raises(HeldUp), gate.held(time.monotonic() + 0.2):
        pass
    assert time.monotonic() - began < LONG
    with gate.held(time.monotonic() + LONG):
        entered = time.monotonic()
    assert entered - began >= 0.5  # only after the holder let go
    holder.join(LONG)


def _overlap(db: str, lanes: int, log: Any, hold: float) -> None:
    """Go in through a gate of ``lanes``, note when, stay ``hold`` seconds, note the leaving."""
    gate = WriteGate(db, lanes=lanes)
    with gate.held(time.monotonic() + LONG):
        log.put(("in", time.monotonic()))
        time.sleep(hold)
        log.put(("out", time.monotonic()))


def _most_at_once(log: Any, n: int) -> int:
    marks = sorted((log.get(timeout=LONG) for _ in range(2 * n)), key=lambda mark: mark[1])
    inside = most = 0
    for kind, _at in marks:
        inside += 1 if kind == "in" else -1
        most = max(most, inside)
    return most


@pytest.mark.parametrize("lanes", [1, 3])
def test_a_gate_of_lanes_lets_that_many_in_at_once_never_more(tmp_path: Path, lanes: int) -> None:
    """PostgreSQL's admission (db.engine): as many writers at once as the gate has lanes."""
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    workers = [CTX.Process(target=_overlap, args=(db, lanes, log, 0.4)) for _ in range(8)]
    for w in workers:
        w.start()
    assert _most_at_once(log, 8) == lanes
    for w in workers:
        w.join(LONG)
    assert [w.exitcode for w in workers] == [0] * 8


def test_an_admission_gate_lets_a_writer_go_on_without_its_turn(tmp_path: Path) -> None:
    """``or_go``: past its deadline a writer goes on without the gate (the database's own locks
    keep the write exact); its place in line passes the turn on, so the line still moves."""
    db = str(tmp_path / "prepfloor.db")
    log = CTX.Queue()
    holder = _start(db, "holder", log, hold=1.5)
    assert log.get(timeout=LONG)[0] == "holder"
    gate = gate_for(db)
    with gate.held(time.monotonic() + 0.2, or_go=True):
        went_on = log.empty()  # in, while the holder still is
    assert went_on
    after = _start(db, "after", log)
    assert _names(log, 1) == ["after"]  # once the holder left, past the given-up turn
    for p in (holder, after):
        p.join(LONG)


def test_the_admission_gate_of_a_database_is_one_file_every_user_can_open(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import tempfile

    import db.gate
    from db.gate import admission_for

    monkeypatch.setattr(db.gate, "LINES_FOLDER", None)  # the machine's temporary folder
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = os.umask(0o077)
    try:
        gate = admission_for("db1.example:5432/prepfloor", 4)
        assert gate is not None and gate.lanes == 4
        with gate.held(time.monotonic() + LONG):
            pass
    finally:
        os.umask(old)
    path = Path(gate.path)
    assert path.parent == tmp_path
    assert path.stat().st_mode & 0o777 == 0o666  # whatever the umask of its first user
    again = admission_for("db1.example:5432/prepfloor", 4)
    other = admission_for("db1.example:5432/training", 4)
    assert again is not None and other is not None
    assert again.path == gate.path and other.path != gate.path
    assert admission_for("db1.example:5432/prepfloor", 0) is None
