"""Seller mode at the large database's size: the intake form, saving a car, a car view with 200
events, and the seller's own list.

Prints, for the rules (through ``Database.run`` / ``Database.query``, as the screens call them):

* registering a car (validation, duplicate-VIN check, prep center, event, notification);
* the car view's read of a car with 200 events (``db.queries.car_detail``);
* a seller's and a manager's My cars list (``FastReader.my_cars``);

and for the screens (a headless app, 120x40, in this process; from the key to the screen ready):

* ctrl+n to the intake form mounted with the cursor in the VIN field;
* ctrl+s on a filled form to the registered car's view loaded;
* opening the view of the car with 200 events until its data is shown.

A SQLite database is copied first (the bench writes cars and events); a PostgreSQL one is written
to as it is.  Usage: python bench/bench_seller.py --db /tmp/large.db [--runs 20]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import (  # noqa: E402
    code_version,
    current_database,
    load_note,
    percentile,
    summary_ms,
    timed,
    until,
    writable_copy,
)

VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def vin_for(n: int) -> str:
    """A valid, unused VIN: WBA + 14 characters from n."""
    tail = []
    for _ in range(14):
        n, r = divmod(n, len(VIN_CHARS))
        tail.append(VIN_CHARS[r])
    return "WBA" + "".join(reversed(tail))


def car_fields(n: int) -> dict[str, Any]:
    return {
        "vin": vin_for(7_000_000 + n),
        "license_plate": f"BN {10000 + n % 90000}",
        "brand": "BMW",
        "model": "i5 eDrive40",
        "model_year": "2026",
        "color": "Grey",
        "order_number": f"BENCH-{n:06d}",
        "customer_name": f"Bench Customer {n}",
        "customer_phone": "+47 900 11 222",
        "customer_email": "bench@example.no",
        "car_type": "new",
        "accessories": ["Winter wheels", "Floor mats"],
        "seller_notes": "Measured by bench_seller.py",
        "expected_delivery_date": "2027-02-01",
    }


def pick_users(store: Any) -> tuple[Any, Any]:
    """A seller of a sales-only dealership (the busiest case: the car goes elsewhere for prep)
    and a manager."""
    rows = store.fast.rows(
        "SELECT u.login, u.role FROM users u JOIN dealership d ON d.id = u.dealership_id "
        "WHERE u.active AND u.role IN ('seller', 'manager') "
        "ORDER BY d.does_own_prep, u.role DESC, u.login"
    )
    seller = next(login for login, role in rows if role == "seller")
    manager = next(login for login, role in rows if role == "manager")
    return store.fast.actor(seller), store.fast.actor(manager)


def rules(store: Any, seller: Any, manager: Any, runs: int) -> int:
    from db import cars, queries

    print("\n(a) the rules")
    counter = iter(range(1_000_000))

    def register() -> Any:
        return store.run(cars.register_car, seller, **car_fields(next(counter)))

    register()  # the first write opens the engine and warms the statements
    times, car = timed(register, runs)
    print(f"  register a car                         {summary_ms(times)}")

    # a car with 200 events: 199 edits after its registration
    car_id = car.id
    for i in range(199):
        store.run(cars.update_car, seller, car_id, color=f"Grey {i}")
    times, detail = timed(lambda: queries.car_detail(store.fast, seller, car_id), runs)
    print(f"  car view data, {len(detail.events)} events              {summary_ms(times)}")
    for who, actor in (("seller", seller), ("manager", manager)):
        times, rows = timed(lambda a=actor: store.fast.my_cars(a), runs)
        print(f"  My cars, {who:<8} ({len(rows):>5,} cars)      {summary_ms(times)}")
    return int(car_id)


async def screens(store: Any, seller: Any, car_id: int, runs: int) -> None:
    from prepfloor.app import make_app
    from screens.car_detail import CarDetailScreen
    from screens.intake import IntakeScreen

    print("\n(b) the screens (headless app, 120x40, in this process)")
    app = make_app(store, actor=seller)

    def detail_shown() -> bool:
        screen = app.screen
        return isinstance(screen, CarDetailScreen) and screen.detail is not None

    opened: list[float] = []
    saved: list[float] = []
    viewed: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.6)
        await app.workers.wait_for_complete()
        for n in range(runs + 1):
            t0 = time.perf_counter()
            app.action_new_car()
            await until(
                lambda: (
                    isinstance(app.screen, IntakeScreen)
                    and app.screen.is_mounted
                    and app.focused is not None
                    and app.focused.id == "vin"
                )
            )
            took = time.perf_counter() - t0
            form = app.screen
            await pilot.pause()
            fields = car_fields(500_000 + n)
            form._filling = True
            for name in ("vin", "license_plate", "brand", "model", "model_year", "color"):
                form.query_one(f"#{name}").value = fields[name]
            for name in ("order_number", "customer_name", "customer_phone", "customer_email"):
                form.query_one(f"#{name}").value = fields[name]
            form._filling = False
            await pilot.pause()
            t1 = time.perf_counter()
            form.action_save()
            await until(detail_shown)
            took_save = time.perf_counter() - t1
            if n:  # the first of each is the cold one (imports); left out
                opened.append(took * 1000)
                saved.append(took_save * 1000)
            app.pop_screen()
            await pilot.pause()
        for n in range(runs + 1):
            t0 = time.perf_counter()
            app.open_car(car_id)
            await until(detail_shown)
            if n:
                viewed.append((time.perf_counter() - t0) * 1000)
            events = len(app.screen.detail.events)
            app.pop_screen()
            await pilot.pause()
    print(f"  ctrl+n to the intake form ready        {summary_ms(opened)}")
    print(f"  ctrl+s to the registered car shown     {summary_ms(saved)}")
    print(f"  car view with {events} events shown      {summary_ms(viewed)}")
    print(
        f"  (medians: open {statistics.median(opened):.1f} ms, save {statistics.median(saved):.1f} ms, "
        f"view {statistics.median(viewed):.1f} ms; p99 view {percentile(viewed, 99):.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True, help="a database built by bench/build_large.py")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with writable_copy(current_database(args.db)) as url:
        run(url, args.runs)


def run(url: str, runs: int) -> None:
    from db.store import Store

    store = Store(url)
    print(f"=== {store.dialect}: code {code_version()} ({load_note()}) ===")
    counts = store.fast.rows("SELECT (SELECT count(*) FROM cars), (SELECT count(*) FROM events)")
    print(f"cars {counts[0][0]:,}, events {counts[0][1]:,}")
    store.warm()
    seller, manager = pick_users(store)
    print(f"seller {seller.login} (dealership {seller.dealership_id}), manager {manager.login}")
    car_id = rules(store, seller, manager, runs)
    asyncio.run(screens(store, seller, car_id, runs))
    store.close()


if __name__ == "__main__":
    main()
