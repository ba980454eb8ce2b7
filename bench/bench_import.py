"""A large import and the other terminals: how long ``prepfloor import cars`` takes, and how long a
registration made meanwhile from another process waits.

For each engine it builds the tests' small world (``tests/world.py``) in a fresh database, writes a
CSV file of ``--rows`` valid cars for ``seller495``, and then:

* registers ``--idle`` cars from another OS process with nothing else running (the floor);
* starts that process again, registering a car every ``--every`` seconds (as ``seller499``,
  through ``Database.run`` and ``db.cars.register_car``, as the intake form does), and imports the
  file in this process with ``db.transfer.import_csv``;
* prints the import's duration and the registrations' waits (from the call to its return) that
  started during the import: how many, median, 90th percentile and maximum.

``--code REV`` measures ``db/transfer.py`` as it is at git revision ``REV`` (e.g. ``HEAD`` before a
change that is not committed yet) instead of the working tree: the file is loaded from ``git show``
into a module of its own; the rest of ``db`` is the working tree's.

Usage::

    python bench/bench_import.py [--rows 10000] [--engine sqlite|postgresql|both] [--code HEAD]

PostgreSQL comes from a throwaway cluster (``tests/pgcluster.py``).  Figures only: nothing here
asserts.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import (  # noqa: E402
    code_version,
    create_pg_database,
    load_note,
    percentile,
    throwaway_cluster,
    with_database,
)

HEADER = "vin,brand,model,model_year,color,order_number,customer_name,customer_phone\n"


def write_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(rows):
            out.write(
                f"WBAXMP{n:011d},BMW,i4 eDrive40,2026,Alpine White,IMP-{n:06d},"
                f"Customer {n},+47 912 {n % 100:02d} {n % 1000:03d}\n"
            )


def transfer_module(revision: str | None) -> ModuleType:
    """``db.transfer`` from the working tree, or as it is at ``revision``."""
    if revision is None:
        import db.transfer

        return db.transfer
    source = subprocess.run(
        ["git", "show", f"{revision}:db/transfer.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    spec = importlib.util.spec_from_loader("db._transfer_at_revision", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile(source, f"{revision}:db/transfer.py", "exec"), module.__dict__)
    return module


# ------------------------------------------------------------------------------------------------
# the other terminal: a separate OS process registering cars
# ------------------------------------------------------------------------------------------------
def registrant(url: str, every: float, limit: int, prefix: str, stop: Any, out: Any) -> None:
    """Register a car every ``every`` seconds until ``stop`` is set (or ``limit`` cars); put
    ``[(started, seconds), ...]`` (``time.time()`` at the start of each) on ``out``."""
    from db import cars
    from db.store import Store

    store = Store(url)
    actor = store.fast.actor("seller499")
    assert actor is not None
    store.db.query(lambda s: s.connection())  # connect before the first timing
    waits: list[tuple[float, float]] = []
    n = 0
    while not stop.is_set() and n < limit:
        started = time.time()
        t0 = time.perf_counter()
        store.db.run(
            cars.register_car,
            actor,
            vin=f"WBAREG{prefix}{n:010d}",
            brand="BMW",
            model="X1",
            order_number=f"REG-{prefix}{n:06d}",
            customer_name=f"Walk-in {n}",
        )
        waits.append((started, time.perf_counter() - t0))
        n += 1
        time.sleep(every)
    store.close() if hasattr(store, "close") else None
    out.put(waits)


def run_registrant(
    url: str, every: float, limit: int, prefix: str
) -> tuple[Any, Any, multiprocessing.Process]:
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    out = ctx.Queue()
    process = ctx.Process(target=registrant, args=(url, every, limit, prefix, stop, out))
    process.start()
    return stop, out, process


# ------------------------------------------------------------------------------------------------
def measure(url: str, label: str, args: argparse.Namespace) -> None:
    from db.engine import Database
    from db.migrate import upgrade
    from world import build_world

    upgrade(url)
    database = Database(url)
    world = build_world(database)
    transfer = transfer_module(args.code)
    with tempfile.TemporaryDirectory(prefix="prepfloor-import-") as folder:
        path = Path(folder) / "cars.csv"
        write_file(path, args.rows)

        stop, out, process = run_registrant(url, 0.05, args.idle, "A")
        idle = [w for _s, w in out.get()]
        process.join()

        time.sleep(0.5)
        stop, out, process = run_registrant(url, args.every, 10**9, "B")
        time.sleep(2.0)  # the process is up and registering before the import starts
        started = time.time()
        t0 = time.perf_counter()
        outcome = "ok"
        try:
            count = transfer.import_csv(database, world["seller495"], "cars", path)
        except Exception as error:  # print it: a figure, not a test
            count = 0
            outcome = f"{type(error).__name__}: {str(error)[:200]}"
        took = time.perf_counter() - t0
        ended = time.time()
        time.sleep(max(1.0, args.every * 2))
        stop.set()
        waits = out.get()
        process.join()
    database.dispose()

    during = [w for s, w in waits if started <= s <= ended]
    print(f"\n{label}: {args.rows:,} cars imported ({outcome}; {count:,} rows)")
    print(
        f"  import duration                      {took:8.2f} s   ({args.rows / took:,.0f} rows/s)"
    )
    print(
        f"  registration, nothing else running   median {statistics.median(idle) * 1000:8.1f} ms"
        f"   max {max(idle) * 1000:8.1f} ms   (n={len(idle)})"
    )
    if during:
        print(
            f"  registration during the import       median "
            f"{statistics.median(during) * 1000:8.1f} ms   p90 {percentile(during, 90) * 1000:8.1f} ms"
            f"   max {max(during) * 1000:8.1f} ms   (n={len(during)})"
        )
    else:
        longest = max(w for _s, w in waits)
        print(
            "  registration during the import       none started during it; the longest wait "
            f"was {longest:.2f} s (n={len(waits)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--every", type=float, default=0.25, help="seconds between registrations")
    parser.add_argument("--idle", type=int, default=20, help="registrations with nothing running")
    parser.add_argument("--code", help="measure db/transfer.py at this git revision")
    parser.add_argument(
        "--batch-seconds",
        type=float,
        help="db.import_run.BATCH_SECONDS and BATCH_SECONDS_POSTGRESQL (working tree only)",
    )
    parser.add_argument("--pause", type=float, help="db.import_run.PAUSE_SECONDS (idem)")
    args = parser.parse_args()
    if args.batch_seconds is not None or args.pause is not None:
        from db import import_run

        if args.batch_seconds is not None:
            import_run.BATCH_SECONDS = args.batch_seconds
            import_run.BATCH_SECONDS_POSTGRESQL = args.batch_seconds
        if args.pause is not None:
            import_run.PAUSE_SECONDS = args.pause
    if args.code:
        settings = f" · db/transfer.py at {args.code}"
    else:
        from db import import_run

        settings = (
            f" · batches of {import_run.BATCH_SECONDS} s (PostgreSQL "
            f"{import_run.BATCH_SECONDS_POSTGRESQL} s), pause {import_run.PAUSE_SECONDS} s"
        )
    print(f"prepfloor import bench · code {code_version()}{settings} · {load_note()}")
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="prepfloor-import-db-") as folder:
            measure(f"sqlite:///{folder}/bench.db", "SQLite", args)
    if args.engine in ("postgresql", "both"):
        with throwaway_cluster() as server:
            url = with_database(server, "bench_import")
            create_pg_database(url, drop=True)
            measure(url, "PostgreSQL", args)
    print(f"\n{load_note()}")


if __name__ == "__main__":
    main()
