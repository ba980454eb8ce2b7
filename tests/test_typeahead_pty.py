"""Whole key sequences written to the real ``prepfloor`` in one go, with the machine under load.

A paste, a badge or barcode reader, or an SSH link that stalls and then catches up delivers a
person's keys all at once.  Each flow below is typed twice on copies of the same database: once
slowly (each key after the screen has gone quiet: the reference) and then several times in a
single write to the pty while busy loops load every CPU.  Every burst must leave exactly the rows
the slow typing left: not a key in the wrong field, not one lost, not one doubled.  A flaky pass
is a fail, so each burst round is a separate assertion.

``PREPFLOOR_PTY_ROUNDS`` sets the burst rounds per flow (3 by default); ``bench/bench_typeahead.py``
runs the same flows many more times and prints the figures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from ptyapp import Flow, cpu_load, difference, run, screen, state
from test_keystrokes import inspection_job

from db import capacity, timers, users
from db.engine import Database
from db.fast import FastReader
from world import World, book, build_world, set_fields

ROUNDS = int(os.environ.get("PREPFLOOR_PTY_ROUNDS", "3"))
LOAD = max(2, os.cpu_count() or 2)  # busy loops: every CPU taken
BADGE = "0047119923"  # what Dina's badge reader types, then Enter
pytestmark = pytest.mark.xdist_group("pty")  # one worker: the busy loops load the whole machine


def build_floor(db: Database) -> World:
    """The small world (today is the real today: the program runs on the real clock) and what
    the flows work on: a car in cosmetic prep, a car at the prep center, an arrival inspection
    for the team, a registered car to move, a job for Pål (PIN 1234), a job for Dina (badge),
    Mats's clock running on a job booked three days ahead, two jobs today for Mikkel."""
    w = build_world(db, days=14)
    for login, name in (("mechanic3_499", "Mats Mekaniker"), ("mechanic4_499", "Mikkel Mekaniker")):
        db.run(
            users.create_user,
            None,
            login=login,
            display_name=name,
            role="mechanic",
            dealership_id=w.d["499"],
        )
        w.actors[login] = db.query(users.trusted_actor, login)
        for offset in range(5):
            db.run(
                capacity.set_capacity,
                w["coordinator499"],
                dealership_id=w.d["499"],
                resource_type_id=w.rt["TECH_PREP"],
                date=w.day(offset),
                allocated_hours=8,
                user_id=w[login].user_id,
            )
    cosmetic = w.register(seller="seller499", license_plate="EL 55555")
    set_fields(w, cosmetic, status="cosmetic_prep")
    arrived = w.register(seller="seller499", license_plate="EL 66666")
    set_fields(w, arrived, status="at_prep_center")
    inspection_job(w)  # EV 40404 arrived, its inspection booked for the team today
    w.register(seller="seller499", license_plate="EL 88888")  # registered: to be moved on
    pals = w.register(seller="seller499", license_plate="EL 12121")
    book(w, 0, 2, "mechanic2_499", car_id=pals)
    book(w, 0, 2, "detailer499", code="COSMETIC", car_id=cosmetic)
    db.run(users.set_pin, None, w["mechanic2_499"].user_id, "1234")
    db.run(users.set_badge, None, w["detailer499"].user_id, BADGE)
    ahead = w.register(seller="seller499", license_plate="EL 30303")
    book(w, 0, 2, "mechanic3_499", car_id=ahead)
    db.run(timers.start, w["mechanic3_499"], book(w, 3, 2, "mechanic3_499", car_id=ahead))
    two = w.register(seller="seller499", license_plate="EL 40404")
    for hour in (8, 11):
        book(w, 0, 2, "mechanic4_499", car_id=two, start_time=time(hour, 0))
    return w


def count(sql: str, by: int = 1) -> Callable[[Any], Callable[[Any], bool]]:
    """A flow is done when ``sql`` counts ``by`` more than it did before the keys."""

    def arm(reader: Any) -> Callable[[Any], bool]:
        before = reader.rows(sql, {})[0][0]
        return lambda r: r.rows(sql, {})[0][0] >= before + by

    return arm


CARS = count("SELECT count(*) FROM cars WHERE status <> 'draft'")  # a draft is saved on the way
BOOKINGS = count("SELECT count(*) FROM resource_bookings")
CLOCKS = count("SELECT count(*) FROM timebank_entries")
STOPPED = count("SELECT count(*) FROM timebank_entries WHERE ended_at IS NOT NULL")
STOPPED_TWICE = count("SELECT count(*) FROM timebank_entries WHERE ended_at IS NOT NULL", by=2)
CAPACITY_SET = count("SELECT count(*) FROM events WHERE entity = 'resource_capacities'")
MOVED = count("SELECT count(*) FROM events WHERE action = 'status'")
INSPECTED = count("SELECT count(*) FROM cars WHERE inspection_completed_at IS NOT NULL")

Changed = dict[str, list[tuple[str, ...]]]


def has(table: str, *values: str, rows: int = 1) -> Callable[[Changed], bool]:
    """The slow typing left ``rows`` new rows in ``table`` holding ``values`` (what the keys
    mean)."""
    return lambda changed: (
        sum(row[0] != "-" and all(v in row for v in values) for row in changed.get(table, []))
        >= rows
    )


@dataclass(frozen=True)
class Data:
    """What the user types (a VIN, a note), and the Tab that ends it: not counted as keys."""

    text: str


@dataclass(frozen=True)
class Task:
    user: str  # --user ("": the sign-in screen)
    ready: str  # shown on the start screen
    parts: tuple[str | Data, ...]  # a key name, or typed data
    marker: Callable[[Any], Callable[[Any], bool]]  # armed before the keys: done when true
    expect: Callable[[Changed], bool]  # what the slow typing must leave
    budget: int | None = None  # the keystroke budget (beyond the data), if it has one

    @property
    def keys(self) -> tuple[str, ...]:
        out: list[str] = []
        for part in self.parts:
            out.extend(part.text if isinstance(part, Data) else [part])
        return tuple(out)

    @property
    def counted(self) -> int:
        """The keys beyond the data typed."""
        return sum(not isinstance(part, Data) for part in self.parts)


def task(user: str, ready: str, *parts: str | Data, **kw: Any) -> Task:
    return Task(user, ready, parts, **kw)


TASKS: dict[str, Task] = {
    # every field of an order, in the form's order; Tab over the brand the VIN filled and the type
    "intake": task(
        "seller495",
        "My cars",
        "ctrl+n",
        Data("WBA11122233344477\t"),
        "tab",
        Data("iX3\t495-777\tNora Berg"),
        "tab",
        "tab",
        Data("EL 77777\t2025\tRed"),
        "ctrl+s",
        marker=CARS,
        expect=has("cars", "WBA11122233344477", "EL 77777", "BMW", "iX3", "2025", "Red"),
    ),
    # the budget: the required fields, the data + ≤ 3
    "register a car": task(
        "seller495",
        "My cars",
        "ctrl+n",
        Data("WBA11122233344478\t"),
        "tab",
        Data("iX3\t495-778\tNora Berg"),
        "ctrl+s",
        marker=CARS,
        expect=has("cars", "WBA11122233344478", "BMW", "iX3", "495-778", "registered"),
        budget=3,
    ),
    # find the car, b (the work follows its stage), Tab to the hours, 3 h, book
    "booking from a car": task(
        "coordinator499",
        "Capacity",
        "ctrl+p",
        Data("EL 55555"),
        "enter",
        "b",
        "tab",
        "tab",
        "tab",
        Data("3"),
        "ctrl+s",
        marker=BOOKINGS,
        expect=has("bookings", "WBA00000000000001", "COSMETIC", "3.0", "detailer499"),
    ),
    "book the next free slot, cosmetic prep": task(
        "coordinator499",
        "Capacity",
        "ctrl+p",
        Data("EL 555"),
        "enter",
        "b",
        "ctrl+s",  # today has room (a full day: the refusal names the next, ctrl+y books it)
        marker=BOOKINGS,
        expect=has("bookings", "WBA00000000000001", "COSMETIC", "2.0", "scheduled"),
        budget=5,
    ),
    # the grid's cursor is on today's first row; the one car matching is picked
    "book from the grid": task(
        "coordinator499",
        "Capacity",
        "b",
        Data("EL 66666"),
        "ctrl+s",
        "ctrl+y",
        marker=BOOKINGS,
        expect=has("bookings", "WBA00000000000002", "scheduled"),
        budget=6,
    ),
    "grid cell edit": task(
        "coordinator499",
        "Capacity",
        Data("17"),
        "enter",
        marker=CAPACITY_SET,
        expect=has("capacities", "17.0"),
    ),
    "sign-in by name and PIN, start a job": task(
        "",
        "Who are you",
        Data("pål"),
        "enter",
        Data("1234"),
        "enter",
        "space",
        marker=CLOCKS,
        expect=has("clocks", "mechanic2_499"),
    ),
    "sign-in by badge, start a job": task(
        "",
        "Who are you",
        Data(BADGE),
        "enter",
        "space",
        marker=CLOCKS,
        expect=has("clocks", "detailer499"),
    ),
    "inspection, every item ok but one": task(
        "mechanic499",
        "My jobs",
        "i",
        "i",
        Data("2 mm left on the front tyres"),
        "enter",
        "r",
        "a",
        "enter",
        marker=INSPECTED,
        expect=has("checklist", "Tire tread depth", "issue", "2 mm left on the front tyres"),
        budget=6,
    ),
    "status move": task(
        "coordinator499",
        "Capacity",
        "ctrl+p",
        Data("EL 88888"),
        "enter",
        "s",
        "enter",
        marker=MOVED,
        expect=has("cars", "EL 88888", "in_transit"),
    ),
    "stop my running clock": task(
        "mechanic3_499",
        "My jobs",
        "space",
        marker=STOPPED,
        expect=lambda changed: ("mechanic3_499", "1", "0") in changed.get("clocks", []),
        budget=1,
    ),
    # start (1), switch (2), stop (1): the issue keeps them so
    "start, switch, stop": task(
        "mechanic4_499",
        "My jobs",
        "space",
        "down",
        "space",
        "space",
        marker=STOPPED_TWICE,
        expect=has("clocks", "mechanic4_499", "0", rows=2),
        budget=4,
    ),
}


def floor_file(template: Path, path: Path) -> Path:
    """The floor in a SQLite file at ``path``, from a migrated empty ``template``."""
    shutil.copy(template, path)
    db = Database(f"sqlite:///{path}")
    try:
        build_floor(db)
    finally:
        db.dispose()
    return path


@pytest.fixture(scope="module")
def floor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the floor; each run works on its own copy."""
    template = request.getfixturevalue("sqlite_template")
    return floor_file(template, tmp_path_factory.mktemp("floor") / "floor.db")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The program's own folders, away from the user's."""
    return folders(tmp_path)


def folders(where: Path) -> dict[str, str]:
    return {
        "XDG_DATA_HOME": str(where / "data"),
        "XDG_CONFIG_HOME": str(where / "config"),
        "XDG_STATE_HOME": str(where / "state"),
    }


def typed(
    floor: Path,
    where: Path,
    name: str,
    *,
    burst: bool,
    env: dict[str, str],
    size: tuple[int, int] = (100, 30),
    early: bool = False,
) -> tuple[Changed, float]:
    """Run task ``name`` on a fresh copy of the floor: what it changed, and the seconds from the
    first key until the database had the change."""
    job = TASKS[name]
    copy = where / f"{name.replace(' ', '-').replace(',', '')}-{'burst' if burst else 'slow'}.db"
    shutil.copy(floor, copy)
    key = Path(
        f"{floor}.badge-key"
    )  # the badges' key beside the file (without PREPFLOOR_BADGE_KEY)
    if key.exists():
        shutil.copy(key, f"{copy}.badge-key")
    url = f"sqlite:///{copy}"
    before = state(url)
    reader = FastReader(url)
    try:
        done = job.marker(reader)
    finally:
        reader.close()
    took = run(
        url,
        Flow(name, job.user, job.ready, job.keys, done),
        burst=burst,
        size=size,
        env=env,
        early=early,
    )
    changed = difference(before, state(url))
    copy.unlink()
    return changed, took


@pytest.mark.parametrize("name", list(TASKS))
def test_a_burst_under_load_leaves_what_slow_typing_leaves(
    floor: Path, tmp_path: Path, env: dict[str, str], name: str
) -> None:
    slow, _ = typed(floor, tmp_path, name, burst=False, env=env)
    assert TASKS[name].expect(slow), f"{name}: typed slowly, it left {slow}"
    with cpu_load(LOAD):
        for round_ in range(ROUNDS):
            burst, _ = typed(floor, tmp_path, name, burst=True, env=env)
            assert burst == slow, f"{name}, burst {round_ + 1} of {ROUNDS}"


@pytest.mark.parametrize(
    "name", ["register a car", "grid cell edit", "sign-in by name and PIN, start a job"]
)
def test_a_burst_typed_while_prepfloor_starts_waits_for_its_first_screen(
    floor: Path, tmp_path: Path, env: dict[str, str], name: str
) -> None:
    """Keys written the moment prepfloor has the terminal, before its first screen is drawn (a
    user who types while the SSH session opens): each reaches the screen it was meant for."""
    slow, _ = typed(floor, tmp_path, name, burst=False, env=env)
    for round_ in range(ROUNDS):
        early, _ = typed(floor, tmp_path, name, burst=True, env=env, early=True)
        assert early == slow, f"{name}, typed while it starts, round {round_ + 1} of {ROUNDS}"


def test_each_task_is_within_its_keystroke_budget() -> None:
    over = {n: (t.counted, t.budget) for n, t in TASKS.items() if t.budget and t.counted > t.budget}
    assert not over, over


def test_a_failure_shows_the_screen_the_user_would_have_seen() -> None:
    """What a failed flow prints: Textual's output put where its cursor moves sent it, styles
    dropped, the later frame over the earlier one."""
    output = b"\x1b[?1049h\x1b[1;1Hold frame\x1b[2;3H\x1b[1mab\x1b[0mc\x1b[1;1Hnew\r\n\xc3\xa5"
    assert screen(output, (12, 3)) == "new frame\nå abc\n"
