"""Type-ahead and keystroke budgets, measured on the real ``prepfloor`` in a pseudo-terminal.

For each task of ``tests/test_typeahead_pty.py`` (the issue's keystroke budgets and the flows where
early keys used to land in the wrong place) it prints:

* the keys the task takes beyond the data typed, and its budget where it has one;
* the rows the task leaves when typed slowly (each key after the screen went quiet): the reference;
* ``--rounds`` runs with the whole key sequence written to the pty at once while ``--load`` busy
  loops keep every CPU taken, at 100x30 and at 80x24: how many left exactly the reference's rows,
  and the seconds from the write until the database had the change (median and maximum).

Usage::

    python bench/bench_typeahead.py [--rounds 10] [--load N] [--task NAME ...]

Figures only: nothing here asserts (``tests/test_typeahead_pty.py`` does, with fewer rounds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import _common  # noqa: F401  (puts the repository and tests/ on the path)


def main() -> None:
    from ptyapp import cpu_load
    from test_typeahead_pty import TASKS, floor_file, folders, typed

    from db.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="bursts per task and size")
    parser.add_argument("--load", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--task", action="append", choices=sorted(TASKS), help="only these")
    args = parser.parse_args()
    names = args.task or list(TASKS)

    where = Path(tempfile.mkdtemp(prefix="prepfloor-typeahead-"))
    upgrade(f"sqlite:///{where / 'empty.db'}")
    floor = floor_file(where / "empty.db", where / "floor.db")
    env = folders(where)
    print(f"{os.cpu_count()} CPUs, {args.load} busy loops during the bursts, {args.rounds} rounds")
    print(
        f"{'task':<40} {'keys':>4} {'budget':>6}  {'size':<6} {'same':>7} {'median':>7} {'max':>6}"
    )
    wrong_total = 0
    for name in names:
        job = TASKS[name]
        slow, _ = typed(floor, where, name, burst=False, env=env)
        good = job.expect(slow)
        budget = str(job.budget) if job.budget else "-"
        for size in ((100, 30), (80, 24)):
            if size == (80, 24):
                slow, _ = typed(floor, where, name, burst=False, env=env, size=size)
            times: list[float] = []
            same = 0
            with cpu_load(args.load):
                for _ in range(args.rounds):
                    try:
                        burst, took = typed(floor, where, name, burst=True, env=env, size=size)
                    except TimeoutError:
                        continue
                    times.append(took)
                    same += burst == slow
            wrong_total += args.rounds - same
            median = f"{statistics.median(times):.2f}s" if times else "-"
            most = f"{max(times):.2f}s" if times else "-"
            label = f"{size[0]}x{size[1]}"
            print(
                f"{name:<40} {job.counted:>4} {budget:>6}  {label:<6} "
                f"{same:>3}/{args.rounds:<3} {median:>7} {most:>6}"
                + ("" if good else "  (the slow typing itself left the wrong rows)")
            )
    print(f"bursts that left other rows than slow typing: {wrong_total}")
    load1, load5, _ = os.getloadavg()
    print(f"load average at the end: {load1:.2f} {load5:.2f}")


if __name__ == "__main__":
    main()
