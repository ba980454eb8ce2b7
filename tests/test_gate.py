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
