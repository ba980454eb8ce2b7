"""The manager's dashboard at the large database's size.

Prints the time of :func:`db.dashboard.dashboard` (every table the ``f6`` screen and ``prepfloor
report`` show) for:

* the whole group: an admin, every dealership (20 in ``build_large.py``), over 90 and 30 days;
* the HQ manager with the most cars in scope (a dealership and its branches), over 90 days;
* one dealership's manager, over 30 days;

and the figures behind one row (a stage's cars, a person's bookings).
Usage: python bench/bench_dashboard.py --db /tmp/large.db [--runs 20]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import code_version, current_database, load_note, summary_ms, timed  # noqa: E402


def managers(store: Any) -> list[Any]:
    """Every active manager as an actor, the widest scope first."""
    logins = [
        r[0] for r in store.fast.rows("SELECT login FROM users WHERE role = 'manager' AND active")
    ]
    actors = [store.fast.actor(login) for login in logins]
    return sorted(actors, key=lambda a: -len(a.dealership_ids))


def admin(store: Any) -> Any:
    login = store.fast.rows("SELECT login FROM users WHERE role = 'admin' AND active LIMIT 1")[0][0]
    return store.fast.actor(login)


def run(store: Any, label: str, actor: Any, days: int, runs: int) -> Any:
    from db import dashboard

    dashboard.dashboard(store.fast, actor, days=days)  # warm the connection and the caches
    times, data = timed(lambda: dashboard.dashboard(store.fast, actor, days=days), runs)
    cars = sum(r.values[1] for r in data.table("status").rows)
    print(
        f"  {label:<44} {len(data.dealership_ids):>2} dealerships, {cars:>6,} cars, "
        f"{days:>2} days: {summary_ms(times)}"
    )
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = current_database(args.db)

    from db.store import Store

    store = Store(url)
    print(f"prepfloor {code_version()} · {store.fast.dialect} · {load_note()}")
    print("\n(a) db.dashboard.dashboard: every table of the dashboard")
    group = run(store, "the group (admin, every dealership)", admin(store), 90, args.runs)
    run(store, "the group (admin, every dealership)", admin(store), 30, args.runs)
    found = managers(store)
    hq = found[0]
    run(store, f"HQ manager {hq.login}", hq, 90, args.runs)
    single = next((m for m in found if len(m.dealership_ids) == 1), found[-1])
    run(store, f"one dealership's manager {single.login}", single, 30, args.runs)

    from db import dashboard

    print("\n(b) the rows behind one figure (Enter)")
    stages = group.table("stages").rows
    busiest = max(stages, key=lambda r: len(r.behind.ids))
    times, cars = timed(lambda: dashboard.behind_cars(store.fast, busiest.behind), args.runs)
    print(f"  cars of '{busiest.values[0]}' ({len(cars):,} shown): {summary_ms(times)}")
    people = group.table("workload").rows
    if people:
        row = people[0]
        times, rows = timed(
            lambda: dashboard.behind_bookings(store.fast, admin(store), row.behind), args.runs
        )
        print(
            f"  bookings of {row.values[0]} this week and next ({len(rows)}): {summary_ms(times)}"
        )
    store.close()


if __name__ == "__main__":
    main()
