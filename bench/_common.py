"""Helpers shared by the bench scripts: paths, database addresses, a throwaway PostgreSQL cluster,
timing and figures.  Nothing here asserts: benchmarks print."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for entry in (ROOT, ROOT / "tests"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))


def database_url(value: str) -> str:
    """A path or URL as prepfloor's normalized URL (``sqlite:///...`` or ``postgresql+psycopg://``)."""
    from db.urls import normalize_url

    return normalize_url(value)


def current_database(value: str) -> str:
    """:func:`database_url` of an existing database a bench measures, which must be at this code's
    schema (``db.schema.HEAD``), as prepfloor itself requires when it opens one
    (``Store.ensure_schema``).  A bench that opened an older one directly would measure the code
    without the indexes its statements are planned for, and print figures that look like the
    code's own; so it stops instead, and says how to upgrade the database."""
    from db.fast import FastReader
    from db.schema import HEAD

    url = database_url(value)
    fast = FastReader(url)
    try:
        revision = fast.schema_revision()
    finally:
        fast.close()
    if revision != HEAD:
        sys.exit(
            f"{value} is at schema {revision or '(none)'}, this code's is {HEAD}: upgrade it first "
            f"(prepfloor db upgrade --db {value}), then measure."
        )
    return url


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def libpq(url: str) -> str:
    from db.urls import libpq_conninfo

    return libpq_conninfo(url)


def _with_database(url: str, name: str) -> str:
    """``url`` naming another database on the same server (a socket folder in the query string,
    ``?host=/run/postgresql``, is kept)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def database_name(url: str) -> str:
    """The database a PostgreSQL URL names (the file of a SQLite URL)."""
    from sqlalchemy.engine import make_url

    return str(make_url(url).database or "")


def create_pg_database(url: str, *, drop: bool) -> None:
    """Create the database ``url`` names on its server (dropping it first when ``drop``)."""
    import psycopg

    name = database_name(url)
    admin = libpq(_with_database(url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A PostgreSQL cluster for the run (``tests/pgcluster.py``): yields its maintenance URL."""
    from pgcluster import start_cluster

    cluster = start_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()


def with_database(server_url: str, name: str) -> str:
    return _with_database(server_url, name)


# ------------------------------------------------------------------------------------------------
# timing and figures
# ------------------------------------------------------------------------------------------------
class Stopwatch:
    """Prints the time of each step (``with watch("cars"): ...``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    @contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        took = time.perf_counter() - t0
        self.steps.append((label, took))
        print(f"  {label:<38} {took:8.2f} s", flush=True)

    def total(self) -> float:
        return time.perf_counter() - self.started


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0-100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    """Run ``fn`` ``runs`` times; the times in ms and the last result."""
    times: list[float] = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


def summary_ms(times: Sequence[float]) -> str:
    return (
        f"p50 {statistics.median(times):8.2f} ms   p99 {percentile(times, 99):8.2f} ms   "
        f"max {max(times):8.2f} ms   (n={len(times)})"
    )


def load_note() -> str:
    """The machine's load, printed beside figures (other work on the machine skews them)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} on {os.cpu_count()} CPUs"


@contextmanager
def watchdog(driver_connection: Any, seconds: float) -> Iterator[threading.Event]:
    """Interrupt the statement running on a ``sqlite3`` or ``psycopg`` connection after
    ``seconds``; the event says whether it fired."""
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        if hasattr(driver_connection, "interrupt"):
            driver_connection.interrupt()  # sqlite3
        else:
            driver_connection.cancel()  # psycopg

    timer = threading.Timer(seconds, fire)
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def code_version() -> str:
    """The commit of the code being measured, and whether ``db/`` has uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    dirty = git("status", "--porcelain", "--", "db")
    return commit + (" + uncommitted changes in db/" if dirty else "")


@contextmanager
def writable_copy(url: str) -> Iterator[str]:
    """A bench that writes gets a copy of the database (removed after), so that a second run
    starts from the same rows as the first (not with the weeks' sharing caps used up): a SQLite
    file is copied, a PostgreSQL database is made from it as a template.

    The copy is written to disk before the bench starts: otherwise the kernel writes its gigabyte
    back some 30 s later (``vm.dirty_expire_centisecs``), in the middle of the measured seconds, and
    every commit's sync to disk waits behind it (a stall of about a second, seen in both engines'
    p99 until 2026-12-06)."""
    if not url.startswith("sqlite"):
        import uuid

        import psycopg

        name = f"{database_name(url)}_run_{uuid.uuid4().hex[:8]}"
        admin = libpq(_with_database(url, "postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_name(url)}"')
            with suppress(psycopg.Error):  # a role that may not: the server's own checkpoint
                conn.execute("CHECKPOINT")
        os.sync()  # a server on this machine: its files too
        print(f"copied {database_name(url)} to {name} (the bench writes to it)")
        try:
            yield _with_database(url, name)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            from db.gate import admission_path
            from db.urls import database_key

            with suppress(OSError):  # the copy's line of writes (db/gate.py) goes with it
                os.unlink(admission_path(database_key(_with_database(url, name))))
        return
    import shutil
    import tempfile

    source = Path(url.split("///", 1)[1])
    workdir = tempfile.mkdtemp(prefix="prepfloor-bench-")
    copy = Path(workdir) / source.name
    print(f"copying {source} to {copy} (the bench writes to it)")
    shutil.copy(source, copy)
    os.sync()
    try:
        yield f"sqlite:///{copy}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def until(
    condition: Callable[[], bool], limit: float = 20.0, what: str = "the screen"
) -> None:
    """Wait (in a headless app's event loop) until ``condition()`` holds; the benches time this."""
    import asyncio

    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} did not follow")
        await asyncio.sleep(0.0005)
