"""What reading prepfloor in Norwegian costs, beside English, through a real pseudo-terminal.

The bench user (the OS login name, an admin: added if missing) signs in with ``users.language``
set to ``en`` and to ``nb`` in turn (runs interleaved, so that both meet the same machine), and
this prints for each language:

* cold start to the first painted car list (the first car's VIN on screen), median of N runs;
* keypress-to-repaint in the car list: cursor down/up (the next car's VIN painted), p50/p99;
* f1 to the help painted (every key's label put into words) and Escape back, p50/p99;
* f2/f3 between two modes (a whole screen of labels, dates and hours), p50/p99;
* the load average of the machine before and after.

Usage: python bench/bench_language.py --db bench/out/large.db [--runs 7] [--keys 40]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import current_database  # noqa: E402
from bench_tui import Session, ensure_os_user, ms, newest_cars  # noqa: E402

HELP_TITLE = {"en": b"This help", "nb": b"Denne hjelpen"}
SELLER_TITLE = {"en": b"Seller", "nb": b"Selger"}


def set_language(url: str, language: str) -> None:
    from db import users
    from db.store import Store

    store = Store(url)
    user = store.fast.actor(getpass.getuser())
    store.run(users.set_language, None, user.user_id, language)
    store.close()


def measure(url: str, language: str, runs: int, keys: int) -> dict[str, list[float]]:
    (first_vin, _), (second_vin, _), _last = newest_cars(url)
    set_language(url, language)
    starts = []
    for _ in range(runs):
        session = Session(url)
        session.read_until(first_vin.encode(), timeout=60)
        starts.append(time.perf_counter() - session.t0)
        session.close()
    session = Session(url)
    session.read_until(first_vin.encode(), timeout=60)
    time.sleep(3.0)  # the ORM loads after the first frame; a user reads the screen first
    session.drain(0.5)
    down, up, helps, modes = [], [], [], []
    for _ in range(keys):
        down.append(session.key(b"\x1b[B", second_vin.encode()))
        up.append(session.key(b"\x1b[A", first_vin.encode()))
    for _ in range(max(3, keys // 4)):
        helps.append(session.key(b"\x1bOP", HELP_TITLE[language]))  # f1
        session.key(b"\x1b", first_vin.encode())
    for _ in range(max(3, keys // 4)):
        modes.append(session.key(b"\x1bOR", SELLER_TITLE[language]))  # f3: Seller
        modes.append(session.key(b"\x1bOQ", first_vin.encode()))  # f2: every car
    session.close()
    return {"start": starts, "down": down, "up": up, "help": helps, "modes": modes}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keys", type=int, default=40, help="presses per key kind")
    args = parser.parse_args()
    url = current_database(args.db)
    ensure_os_user(url)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    figures: dict[str, dict[str, list[float]]] = {"en": {}, "nb": {}}
    rounds = 2
    for _ in range(rounds):  # interleaved: en, nb, en, nb
        for language in ("en", "nb"):
            found = measure(url, language, max(1, args.runs // rounds), args.keys // rounds)
            for name, values in found.items():
                figures[language].setdefault(name, []).extend(values)
    set_language(url, "")
    for language, name in (("en", "English"), ("nb", "Norwegian")):
        f = figures[language]
        print(f"--- {name} ({language})")
        print(
            f"cold start to first painted car list: median {statistics.median(f['start']):.3f} s "
            f"(min {min(f['start']):.3f}, max {max(f['start']):.3f}, n={len(f['start'])})"
        )
        print(f"cursor down            {ms(f['down'])}")
        print(f"cursor up              {ms(f['up'])}")
        print(f"f1: the help painted   {ms(f['help'])}")
        print(f"f3/f2: another mode    {ms(f['modes'])}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
