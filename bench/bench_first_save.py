"""A session's first save, measured through a real pseudo-terminal.

A session that only reads never loads the write path (SQLAlchemy's ORM, the models, the engine);
the first save of a session used to load it on its own key (about 0.7 s of CPU).  A screen whose
keys save now loads it in the background when it is shown.  This bench starts the real
``prepfloor`` command in a pty (120x40) on a copy of a database, signed in as the OS login name
(added as an admin if missing), and for each run:

* opens the first car of the list (Enter) and its messages to the customer (``m``, a read: from
  the key to the message's row drawn; the copy has one message on every car), then Escape;
* with ``--estimates``, then its estimates (``w``: from the key to the line of the newest one
  drawn; the copy has a draft with one line on every car), then Escape.  An admin's keys there
  change estimates, so that screen loads the write path in the background (0.4 s after it is
  shown): the first save below then finds it loaded;
* presses ``s`` (the dialog of the car's next status) and,
  after ``--look`` seconds (the user reading the choices), Enter: the first save, from the key to
  "Moved to ..." on screen;
* does the same once more: the next save;
* prints them, and the session's peak resident memory (VmHWM) after the messages (before ``s``)
  and at the end.

``--look 0`` sends ``s`` and Enter together, as keys typed ahead arrive.  Each run works on a
fresh copy (the moves change the car).  Without ``--db`` the database is a new demo database.

Usage: python bench/bench_first_save.py [--db FILE] [--runs 5] [--look 1.0] [--estimates]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_tui import PREPFLOOR, Session, ensure_os_user

MOVED = b"Moved to "
RECIPIENT = "customer@example.no"  # the message given to every car of the copy
LINE = "Bench wiper blades"  # the line of the estimate given to every car (``--estimates``)
TOAST_SECONDS = 5.5  # a toast stays 5 s (Textual's NOTIFICATION_TIMEOUT)


def demo_database(folder: Path) -> Path:
    """A new demo database in ``folder`` (:func:`prepfloor.demo.ensure_demo`)."""
    from prepfloor.demo import ensure_demo

    path = folder / "demo.db"
    ensure_demo(f"sqlite:///{path}")
    return path


def with_messages(copy: Path) -> None:
    """One message to the customer on every car of the copy (a demo database has none)."""
    with sqlite3.connect(copy) as connection:
        connection.execute(
            "INSERT INTO outbox_messages (car_id, dealership_id, channel, recipient, subject, "
            "body, milestone, language, state, attempts, created_at) SELECT id, dealership_id, "
            "'email', ?, 'Your car', 'Hello', 'registered', 'en', 'sent', 1, "
            "'2026-12-07 10:00:00' FROM cars",
            (RECIPIENT,),
        )


def with_estimates(copy: Path) -> None:
    """A draft estimate with one part line (:data:`LINE`) on every car of the copy, the newest."""
    with sqlite3.connect(copy) as connection:
        connection.execute("DELETE FROM estimate_lines WHERE estimate_id IN "
                           "(SELECT id FROM estimates WHERE state = 'draft')")  # fmt: skip
        connection.execute("DELETE FROM estimates WHERE state = 'draft'")  # one draft per car
        connection.execute(
            "INSERT INTO estimates (car_id, state, notes, created_at, updated_at) "
            "SELECT id, 'draft', 'bench', '2026-12-07 10:00:00', '2026-12-07 10:00:00' FROM cars"
        )
        connection.execute(
            "INSERT INTO estimate_lines (estimate_id, kind, description, quantity, "
            "unit_price_ore, amount_ore, decision, created_at) SELECT id, 'part', ?, 2, 25000, "
            "50000, 'pending', '2026-12-07 10:00:00' FROM estimates WHERE notes = 'bench'",
            (LINE,),
        )


def one_run(
    source: Path, folder: Path, look: float, estimates: bool = False
) -> tuple[float, float | None, float, float, float, float]:
    """(messages s, estimates s (``estimates``), first save s, next save s, VmHWM MB after the
    reads, at the end)."""
    copy = folder / "run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, copy)
    with_messages(copy)
    if estimates:
        with_estimates(copy)
    url = f"sqlite:///{copy}"
    ensure_os_user(url)
    session = Session(url)
    try:
        session.read_until(b"VIN", timeout=60)
        time.sleep(1.0)  # the user reads the list
        session.key(b"\r", b"Order and customer", timeout=30)
        time.sleep(1.0)  # and the car
        messages = session.key(b"m", RECIPIENT.encode(), timeout=30)
        time.sleep(0.5)
        session.key(b"\x1b", b"Order and customer", timeout=30)
        time.sleep(1.0)
        opened = None
        if estimates:
            opened = session.key(b"w", LINE.encode(), timeout=30)
            time.sleep(1.0)
            session.key(b"\x1b", b"Order and customer", timeout=30)
            time.sleep(1.0)
        before = session.peak_rss_mb()
        saves = []
        for _ in range(2):
            if look > 0:
                session.key(b"s", b"Move from", timeout=30)
                time.sleep(look)
                saves.append(session.key(b"\r", MOVED, timeout=30))
            else:
                saves.append(session.key(b"s\r", MOVED, timeout=30))
            time.sleep(TOAST_SECONDS)  # its "Moved to" gone: the next one is the next save's
            session.drain(0.5)
        return messages, opened, saves[0], saves[1], before, session.peak_rss_mb()
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLite file to copy for each run (default: a demo database)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--look", type=float, default=1.0, help="seconds between s and Enter")
    parser.add_argument(
        "--estimates", action="store_true", help="also open the car's estimates (w) before s"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="prepfloor-first-save-") as tmp:
        folder = Path(tmp)
        source = Path(args.db) if args.db else demo_database(folder)
        print(f"prepfloor: {PREPFLOOR} (sources: {os.environ.get('PYTHONPATH') or 'installed'})")
        print(f"database: {source if args.db else 'a new demo database'}; look {args.look:g} s")
        reads, opens, firsts, nexts = [], [], [], []
        for _ in range(args.runs):
            messages, opened, first, following, before, after = one_run(
                source, folder, args.look, args.estimates
            )
            reads.append(messages)
            firsts.append(first)
            nexts.append(following)
            shown = ""
            if opened is not None:
                opens.append(opened)
                shown = f"estimates {opened * 1000:5.0f} ms; "
            print(
                f"  messages {messages * 1000:5.0f} ms; {shown}first save {first * 1000:6.0f} ms, "
                f"next {following * 1000:5.0f} ms; VmHWM {before:.1f} MB after the reads, "
                f"{after:.1f} MB at the end",
                flush=True,
            )
        estimates = f"estimates p50 {statistics.median(opens) * 1000:.0f} ms, " if opens else ""
        print(
            f"messages p50 {statistics.median(reads) * 1000:.0f} ms, {estimates}"
            f"first save p50 {statistics.median(firsts) * 1000:.0f} ms, "
            f"next save p50 {statistics.median(nexts) * 1000:.0f} ms ({args.runs} runs)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
