"""Nothing waits forever: a write held up by another terminal's change is given up with
:class:`db.errors.HeldUp` after ``write_wait`` seconds, nothing of it saved, on SQLite and on
PostgreSQL; and on PostgreSQL one session holds one server connection.

The frozen writer is another OS process (``spawn``) that opens a write transaction -- on SQLite
it holds the write gate and ``BEGIN IMMEDIATE``, on PostgreSQL it locks the capacity rows with
``SELECT ... FOR UPDATE`` -- and then stops itself with ``SIGSTOP`` (a hung terminal, a debugger).
Waits are checked by their outcome, with generous limits, never by the clock.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from typing import Any

import pytest

from db import ledger
from db.engine import Database
from db.errors import Busy, HeldUp
from db.store import Store
from world import build_world, ledger_errors

WAIT = 1.5  # the write_wait of the tests' writers, seconds
HANG = 60  # a write still waiting after this long counts as waiting forever


# ------------------------------------------------------------------------------------------------
# the frozen writer: another OS process
# ------------------------------------------------------------------------------------------------
def _frozen_writer(url: str, ready: Any) -> None:
    """Open a write transaction, change something, and stop (``SIGSTOP``) inside it; once
    continued (``SIGCONT``), commit."""
    from sqlalchemy import text

    from db.engine import Database

    db = Database(url)
    with db.write() as session:
        if db.dialect == "postgresql":
            session.execute(text("SELECT id FROM resource_capacities FOR UPDATE"))
        session.execute(
            text("UPDATE dealership SET location = 'frozen writer' WHERE dealership_number = '400'")
        )
        ready.set()
        os.kill(os.getpid(), signal.SIGSTOP)
    db.dispose()


def _start_frozen_writer(url: str) -> mp.process.BaseProcess:
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    process = ctx.Process(target=_frozen_writer, args=(url, ready), daemon=True)
    process.start()
    assert ready.wait(HANG), "the writer never opened its transaction"
    deadline = time.monotonic() + HANG  # until it has stopped itself
    while _state(process.pid) != "T" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _state(process.pid) == "T", "the writer did not stop"
    return process


def _state(pid: int | None) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _bounded(call: Any) -> Any:
    """``call()`` in a thread: its result or error, or a failure when it is still waiting after
    :data:`HANG` seconds (today's gate waited forever)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    if thread.is_alive():
        pytest.fail(f"the write was still waiting after {HANG} s: nothing bounds the wait")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _counts(db: Database) -> tuple[int, int, float]:
    """Bookings, events and the hours used on every capacity row."""
    from sqlalchemy import text

    def read(session: Any) -> tuple[int, int, float]:
        bookings = session.execute(text("SELECT count(*) FROM resource_bookings")).scalar()
        events = session.execute(text("SELECT count(*) FROM events")).scalar()
        used = session.execute(
            text("SELECT coalesce(sum(used_hours), 0) FROM resource_capacities")
        ).scalar()
        return int(bookings), int(events), float(used)

    return db.query(read)


def _book(db: Database, w: Any, hours: float = 2) -> Any:
    return db.run(
        ledger.book,
        w["coordinator499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(1),
        estimated_hours=hours,
        user_id=w["mechanic499"].user_id,
    )


def test_a_frozen_writer_holds_a_booking_up_for_the_limit_not_forever(db_url: str) -> None:
    """A writer stopped inside its transaction: a booking from here is refused with HeldUp
    within the limit, the screen is told it is waiting, nothing of it is saved; once the writer
    goes on, the next booking is saved."""
    setup = Database(db_url)
    w = build_world(setup, days=3)
    setup.dispose()
    db = Database(db_url, write_wait=WAIT)
    w.db = db
    before = _counts(db)
    told: list[bool] = []
    db.on_wait = told.append
    writer = _start_frozen_writer(db_url)
    try:
        with pytest.raises(HeldUp) as refused:
            _bounded(lambda: _book(db, w))
        assert isinstance(refused.value, Busy)
        assert "nothing was saved" in str(refused.value)
        assert "Another terminal's change has held the database" in str(refused.value)
        assert refused.value.seconds < HANG
        assert told == [True, False]  # "waiting..." was said, and then it was over
        assert _counts(db) == before  # nothing half-saved
        with pytest.raises(HeldUp):  # and again: still refused, still bounded
            _bounded(lambda: _book(db, w))
    finally:
        os.kill(writer.pid, signal.SIGCONT)  # type: ignore[arg-type]
        writer.join(HANG)
    assert writer.exitcode == 0
    booking = _bounded(lambda: _book(db, w))
    assert booking.id is not None
    bookings, _events, used = _counts(db)
    assert (bookings, used) == (before[0] + 1, before[2] + 2 * 2)  # team row + person's row
    assert ledger_errors(w) == []
    location = db.query(
        lambda s: s.execute(
            __import__("sqlalchemy").text(
                "SELECT location FROM dealership WHERE dealership_number = '400'"
            )
        ).scalar()
    )
    assert location == "frozen writer"  # the writer's own change was kept, once it went on
    db.dispose()


def test_a_killed_frozen_writer_leaves_nothing_and_frees_the_database(db_url: str) -> None:
    """The frozen writer killed (not continued): its change is gone, the next write is saved."""
    setup = Database(db_url)
    w = build_world(setup, days=3)
    setup.dispose()
    db = Database(db_url, write_wait=WAIT)
    w.db = db
    writer = _start_frozen_writer(db_url)
    try:
        with pytest.raises(HeldUp):
            _bounded(lambda: _book(db, w))
    finally:
        writer.kill()
        writer.join(HANG)
    assert _bounded(lambda: _book(db, w)).id is not None
    assert ledger_errors(w) == []
    db.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_row_lock_on_postgresql_ends_in_the_same_refusal(db_url: str) -> None:
    """PostgreSQL: another connection holds the capacity row (``FOR UPDATE``, transaction left
    open); a booking through ``Database.run`` ends with HeldUp within ``lock_timeout``."""
    import psycopg

    from db.urls import libpq_conninfo, normalize_url

    db = Database(db_url, write_wait=WAIT)
    w = build_world(db, days=3)
    before = _counts(db)
    with psycopg.connect(libpq_conninfo(normalize_url(db_url))) as other:
        other.execute("SELECT id FROM resource_capacities WHERE date = %s FOR UPDATE", (w.day(1),))
        with pytest.raises(HeldUp, match="nothing was saved"):
            _bounded(lambda: _book(db, w))
        assert _counts(db) == before
        other.rollback()
    assert _book(db, w).id is not None
    assert ledger_errors(w) == []
    db.dispose()


def test_threads_of_one_process_wait_bounded_too(tmp_path: Any, sqlite_url: str) -> None:
    """SQLite: a write of this process holding the gate holds up another thread's write for the
    limit, not forever (the gate's thread lock is bounded as well)."""
    setup = Database(sqlite_url)
    w = build_world(setup, days=3)
    setup.dispose()
    db = Database(sqlite_url, write_wait=WAIT)
    w.db = db
    inside, go = threading.Event(), threading.Event()

    def slow(session: Any) -> None:
        inside.set()
        assert go.wait(HANG)

    holder = threading.Thread(target=lambda: db.run(slow), daemon=True)
    holder.start()
    assert inside.wait(HANG)
    try:
        with pytest.raises(HeldUp):
            _bounded(lambda: _book(db, w))
    finally:
        go.set()
        holder.join(HANG)
    assert _book(db, w).id is not None
    db.dispose()


# ------------------------------------------------------------------------------------------------
# PostgreSQL: one connection per session
# ------------------------------------------------------------------------------------------------
def _backends(admin: Any) -> int:
    """Connections to this database other than ``admin``'s own."""
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    ).fetchone()
    return int(row[0])


def _settled(admin: Any, expected: int) -> int:
    """The count once closed connections have gone (a backend exits a moment after)."""
    deadline = time.monotonic() + 10
    count = _backends(admin)
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        count = _backends(admin)
    return count


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_signed_in_session_holds_one_postgresql_connection(db_url: str) -> None:
    """A session: first screen from the fast reader, the ORM warmed up, typical reads, a write,
    the change feed's poll from its own thread and reads from worker threads at the same time:
    at most one backend connection for the whole session (2.4-2.8 before)."""
    import psycopg

    from db import cars, users
    from db.urls import libpq_conninfo, normalize_url

    setup = Database(db_url)
    build_world(setup, days=3)
    setup.dispose()
    with psycopg.connect(libpq_conninfo(normalize_url(db_url)), autocommit=True) as admin:
        assert _settled(admin, 0) == 0
        store = Store(db_url)
        seen: list[int] = []
        actor = store.fast.actor("seller495")  # sign-in: the fast reader first
        assert actor is not None
        store.fast.sign_in_list()
        store.fast.latest_event_id()
        seen.append(_backends(admin))
        store.warm()  # the ORM layer, after the first frame
        seen.append(_backends(admin))
        store.query(users.by_login, "seller495")
        car = store.run(
            cars.register_car,
            actor,
            vin="WBA00000000000777",
            brand="BMW",
            model="X5",
            order_number="ORD-777",
            customer_name="One Connection",
        )
        seen.append(_backends(admin))
        errors: list[BaseException] = []
        stop = threading.Event()

        def feed() -> None:  # the app's change-feed thread
            while not stop.is_set():
                try:
                    store.fast.latest_event_id()
                except BaseException as error:
                    errors.append(error)
                time.sleep(0.005)

        def worker(n: int) -> None:  # screens' thread workers: reads and writes
            try:
                for i in range(5):
                    store.fast.sign_in_list()
                    store.query(users.by_login, "seller495")
                    store.run(
                        cars.register_car,
                        actor,
                        vin=f"WBA0000000{n:03d}{i:04d}",
                        brand="BMW",
                        model="X1",
                        order_number=f"ORD-{n}-{i}",
                        customer_name=f"Worker {n}",
                    )
                    seen.append(_backends(admin))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=feed, daemon=True)]
        threads += [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads[1:]:
            thread.join(HANG)
        stop.set()
        threads[0].join(HANG)
        assert errors == []
        assert car.id is not None
        seen.append(_backends(admin))
        print(f"backend connections of one session, sampled: {seen}")
        assert max(seen) <= 1, seen
        store.close()
        assert _settled(admin, 0) == 0
