"""The demo database: a Norwegian dealership group, its two prep centers and ten weeks of work.

``prepfloor demo`` calls :func:`ensure_demo`; tests call :func:`build_demo` on a fresh database.

What is in it (every name follows ``seed/user-stories.md``):

* Dealerships: 490 Bilgruppen Sør HQ (the headquarters; every other dealership is its branch),
  499 Porsgrunn (sales and prep, does its own prep), 495 Kristiansand Vest and 497 Arendal (sales
  only, prepared by 499), 498 Prep Center Skien (prep center only) and 496 Larvik (sales only,
  prepared by 498).  BMW and MINI brands with ``brand_colors``.
* Resource types TECH_PREP, COSMETIC, WASH, LUNCH, INSPECTION and ACCESSORY_FIT, and the seed's
  sharing agreements (499→495 TECH_PREP 40 h/week priority 50, 499→497 TECH_PREP 20 h/week
  priority 80) plus the ones the other kinds of work need; one agreement is switched off.
* Users of every role (logins are lower-case first names; mechanics and detailers have PIN 1234,
  everyone else none; ``admin`` is the admin).
* Capacity from a weekly pattern (Mon-Fri) for the past 4 and the coming 6 weeks, and one vacation
  day (Pål, 0 h) next week.
* 64 cars over every status, each with a history made by the rules themselves: the build runs the
  real ``db`` functions (register, move, book, clock, complete...) with the clock frozen at the
  moment each thing happened, so events, notifications, the capacity ledger, time entries and the
  car's timestamps agree the way they do on a real floor (parts orders, customer contacts and
  delivery milestones included).  Inspection results and checklists (which have no rule function
  yet) are written directly, with an event each.

Time: the demo is built "as of" ``today`` at 10:00 local time (or the real current time when
``today`` is not given).  A job that would be under way at that moment is left unstarted, except at
most one: the most recent technical job of a mechanic that started less than three hours before, so
that the mechanic screen shows a live clock.  No other timer runs.

Everything random comes from ``random.Random(seed)``: the same ``seed`` and ``today`` give the same
demo (only UUIDs and PIN hashes differ).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, func, select

from db import (
    admin,
    capacity,
    cars,
    clock,
    contacts,
    delivery,
    events,
    ledger,
    notify,
    timers,
    users,
    workflow,
)
from db import parts as db_parts
from db.access import Actor
from db.engine import Database
from db.errors import PrepfloorError
from db.i18n import _
from db.models import (
    Car,
    Dealership,
    InspectionChecklistItem,
    Notification,
    PartsOrder,
    ResourceCapacity,
)
from db.said import Said
from db.urls import describe, dialect_of, normalize_url, sqlite_path
from db.vocab import CAR_STATUSES

DEMO_MARKER = ("demo", "prepfloor-demo", "build")
"""The event that marks a database as a demo database (``--reset`` only ever wipes those)."""

WEEKS_BACK = 4
WEEKS_AHEAD = 6

# ------------------------------------------------------------------------------------------------
# the group
# ------------------------------------------------------------------------------------------------
BMW_COLORS = {"primary": "#1c69d4", "secondary": "#0f3e7a", "accent": "#e7222e"}
MINI_COLORS = {"primary": "#1a1a1a", "secondary": "#6a6a6a", "accent": "#f5a800"}

DEALERSHIPS: list[dict[str, Any]] = [
    # key, then save_dealership fields; "prep"/"parent" name other keys.
    {
        "key": "499",
        "dealership_name": "Porsgrunn",
        "location": "Porsgrunn",
        "dealership_type": "sales_and_prep",
        "does_own_prep": True,
        "brand": "BMW",
        "brand_colors": BMW_COLORS,
        "logo": "◆ BMW",
    },
    {
        "key": "498",
        "dealership_name": "Prep Center Skien",
        "location": "Skien",
        "dealership_type": "prep_center_only",
        "does_own_prep": True,
        "brand_colors": {"primary": "#2e7d32", "secondary": "#1b5e20", "accent": "#ffb300"},
        "logo": "▲ PREP",
    },
    {
        "key": "490",
        "dealership_name": "Bilgruppen Sør HQ",
        "location": "Skien",
        "dealership_type": "sales_only",
        "prep": "499",
        "brand_colors": {"primary": "#0b2545", "secondary": "#13315c", "accent": "#8da9c4"},
        "logo": "■ BILGRUPPEN",
        "sla_targets": {"parts": 5, "ready_for_delivery": 2},
    },
    {
        "key": "495",
        "dealership_name": "Kristiansand Vest",
        "location": "Kristiansand",
        "dealership_type": "sales_only",
        "prep": "499",
        "parent": "490",
        "brand": "BMW",
        "brand_colors": BMW_COLORS,
        "logo": "◆ BMW",
    },
    {
        "key": "497",
        "dealership_name": "Arendal",
        "location": "Arendal",
        "dealership_type": "sales_only",
        "prep": "499",
        "parent": "490",
        "brand": "MINI",
        "brand_colors": MINI_COLORS,
        "logo": "● MINI",
    },
    {
        "key": "496",
        "dealership_name": "Larvik",
        "location": "Larvik",
        "dealership_type": "sales_only",
        "prep": "498",
        "parent": "490",
        "brand": "BMW",
    },
]
BRANCHES_OF_HQ = ("499", "498")  # set after the HQ exists (it names 499 as its prep center)

RESOURCE_TYPES: list[dict[str, Any]] = [
    {
        "code": "TECH_PREP",
        "name": "Technical Preparation",
        "description": "Pre-delivery inspection, software update, fitting of ordered parts, road test.",
        "icon": "wrench",
        "color": "#1c69d4",
        "is_productive": True,
        "bookable": True,
        "requires_assignment": True,
        "default_duration_hours": 4,
        "prep_stage": "technical",
    },
    {
        "code": "COSMETIC",
        "name": "Cosmetic Preparation",
        "description": "Transport film off, polish, interior clean, paint protection.",
        "icon": "sparkles",
        "color": "#8e44ad",
        "is_productive": True,
        "bookable": True,
        "requires_assignment": True,
        "default_duration_hours": 2,
        "prep_stage": "cosmetic",
    },
    {
        "code": "WASH",
        "name": "Vehicle Washing",
        "description": "Exterior wash before handover.",
        "icon": "droplet",
        "color": "#00a3e0",
        "is_productive": False,
        "bookable": True,
        "requires_assignment": False,
        "default_duration_hours": 0.5,
    },
    {
        "code": "LUNCH",
        "name": "Lunch Break",
        "description": "Blocks a person's time in the calendar.",
        "icon": "coffee",
        "color": "#7f8c8d",
        "is_productive": False,
        "bookable": True,
        "requires_assignment": True,
        "default_duration_hours": 0.5,
    },
    {
        "code": "INSPECTION",
        "name": "Arrival Inspection",
        "description": "Checklist on arrival: damage, tyres, fluids, documents.",
        "icon": "clipboard",
        "color": "#f39c12",
        "is_productive": True,
        "bookable": True,
        "requires_assignment": False,
        "default_duration_hours": 1,
    },
    {
        "code": "ACCESSORY_FIT",
        "name": "Accessory Fitting",
        "description": "Tow bars, roof rails, wheels and other ordered accessories.",
        "icon": "plug",
        "color": "#27ae60",
        "is_productive": True,
        "bookable": True,
        "requires_assignment": False,
        "default_duration_hours": 1.5,
    },
]

# provider, consumer, type, hours a week, priority, enabled, notes
SHARING: list[tuple[str, str, str, float, int, bool, str | None]] = [
    ("499", "495", "TECH_PREP", 40, 50, True, "Kristiansand Vest has no workshop."),
    ("499", "497", "TECH_PREP", 20, 80, True, "Arendal: MINI launch season, first in the queue."),
    ("499", "495", "COSMETIC", 24, 50, True, None),
    ("499", "497", "COSMETIC", 12, 80, True, None),
    ("499", "495", "INSPECTION", 12, 50, True, None),
    ("499", "497", "INSPECTION", 8, 80, True, None),
    ("499", "495", "WASH", 6, 50, True, None),
    ("499", "497", "WASH", 3, 80, True, None),
    ("499", "495", "ACCESSORY_FIT", 8, 50, True, None),
    ("499", "497", "ACCESSORY_FIT", 4, 80, True, None),
    ("498", "496", "TECH_PREP", 40, 60, True, "Larvik's cars are prepared in Skien."),
    ("498", "496", "COSMETIC", 24, 60, True, None),
    ("498", "496", "INSPECTION", 12, 60, True, None),
    ("498", "496", "WASH", 4, 60, True, None),
    (
        "498",
        "499",
        "COSMETIC",
        16,
        30,
        True,
        "Overflow: Porsgrunn may send cosmetic work to Skien.",
    ),
    ("498", "495", "COSMETIC", 10, 40, False, "Trial ended; switch on again for the spring peak."),
]

# login, display name, role, dealership key
USERS: list[tuple[str, str, str, str | None]] = [
    ("admin", "Astrid Lie", "admin", None),
    ("mona", "Mona Kristoffersen", "manager", "490"),
    ("magnus", "Magnus Dahl", "manager", "499"),
    ("ola", "Ola Nordmann", "coordinator", "499"),
    ("per", "Per Hansen", "mechanic", "499"),
    ("paal", "Pål Johansen", "mechanic", "499"),
    ("dina", "Dina Berg", "detailer", "499"),
    ("siri", "Siri Larsen", "seller", "499"),
    ("henrik", "Henrik Olsen", "seller", "499"),
    ("hilde", "Hilde Andersen", "manager", "495"),
    ("kari", "Kari Nilsen", "seller", "495"),
    ("jonas", "Jonas Eriksen", "seller", "495"),
    ("erik", "Erik Pedersen", "seller", "497"),
    ("ingrid", "Ingrid Moen", "seller", "496"),
    ("lars", "Lars Haugen", "coordinator", "498"),
    ("nils", "Nils Bakken", "mechanic", "498"),
    ("tor", "Tor Lunde", "mechanic", "498"),
    ("emma", "Emma Solberg", "detailer", "498"),
]
ROLE_OF = {login: role for login, _name, role, _key in USERS}
WORKSHOP_PIN = "1234"  # mechanics and detailers sign in on shared workshop terminals
COORDINATOR = {"499": "ola", "498": "lars"}
SELLERS = {"499": ("siri", "henrik"), "495": ("kari", "jonas", "hilde"), "497": ("erik",)}
SELLERS["496"] = ("ingrid",)
WORKERS = {
    ("499", "TECH_PREP"): ("per", "paal"),
    ("499", "INSPECTION"): ("per", "paal"),
    ("499", "ACCESSORY_FIT"): ("per", "paal"),
    ("499", "COSMETIC"): ("dina",),
    ("499", "WASH"): ("dina",),
    ("498", "TECH_PREP"): ("nils", "tor"),
    ("498", "INSPECTION"): ("nils", "tor"),
    ("498", "COSMETIC"): ("emma",),
    ("498", "WASH"): ("emma",),
}
# dealership, type, person (None: the team row), hours a working day
PATTERNS: list[tuple[str, str, str | None, float]] = [
    ("499", "TECH_PREP", None, 16),
    ("499", "TECH_PREP", "per", 8),
    ("499", "TECH_PREP", "paal", 8),
    ("499", "COSMETIC", None, 8),
    ("499", "COSMETIC", "dina", 8),
    ("499", "WASH", None, 4),
    ("499", "INSPECTION", None, 8),
    ("499", "ACCESSORY_FIT", None, 4),
    ("498", "TECH_PREP", None, 16),
    ("498", "TECH_PREP", "nils", 8),
    ("498", "TECH_PREP", "tor", 8),
    ("498", "COSMETIC", None, 8),
    ("498", "COSMETIC", "emma", 8),
    ("498", "WASH", None, 4),
    ("498", "INSPECTION", None, 6),
]
VACATION = ("499", "TECH_PREP", "paal")  # one day off next week: person 0 h, team 8 h
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")

# How many cars end up in each status (64 in all).
STATUS_COUNTS: dict[str, int] = {
    "draft": 3,
    "registered": 6,
    "in_transit": 6,
    "at_prep_center": 4,
    "inspection": 4,
    "parts_ordered": 5,
    "technical_prep": 7,
    "cosmetic_prep": 5,
    "ready_for_delivery": 5,
    "delivered": 9,
    "archived": 10,
}
ARCHIVED_OTHERWISE = ("discarded_draft", "cancelled_order")  # two of the archived cars

# ------------------------------------------------------------------------------------------------
# cars
# ------------------------------------------------------------------------------------------------
# brand, model, technical hours, cosmetic hours, electric
BMW_MODELS = [
    ("BMW", "i4 eDrive40", 3.5, 2.0, True),
    ("BMW", "iX xDrive40", 4.0, 2.5, True),
    ("BMW", "iX1 xDrive30", 3.0, 2.0, True),
    ("BMW", "i5 eDrive40 Touring", 3.5, 2.5, True),
    ("BMW", "iX3 M Sport", 3.0, 2.0, True),
    ("BMW", "X3 30e xDrive", 3.5, 2.0, False),
    ("BMW", "X5 xDrive50e", 4.5, 3.0, False),
    ("BMW", "330e Touring", 3.0, 2.0, False),
]
MINI_MODELS = [
    ("MINI", "Cooper SE", 2.5, 1.5, True),
    ("MINI", "Countryman E", 3.0, 2.0, True),
    ("MINI", "Aceman SE", 2.5, 1.5, True),
    ("MINI", "Countryman S ALL4", 3.0, 2.0, False),
]
USED_MODELS = [
    ("Tesla", "Model Y Long Range", 2.5, 2.5, True),
    ("Volkswagen", "ID.4 Pro", 2.5, 2.5, True),
    ("Toyota", "RAV4 Plug-in", 3.0, 2.5, False),
    ("Volvo", "XC60 Recharge", 3.0, 2.5, False),
    ("BMW", "X1 xDrive25e", 3.0, 2.5, False),
    ("Audi", "Q4 e-tron", 2.5, 2.5, True),
]
WMI = {
    "BMW": "WBA",
    "MINI": "WMW",
    "Tesla": "XP7",
    "Volkswagen": "WVW",
    "Toyota": "JTM",
    "Volvo": "YV1",
    "Audi": "WAU",
}
COLORS = {
    "BMW": ["Alpine White", "Black Sapphire", "Portimao Blue", "Brooklyn Grey", "Skyscraper Grey"],
    "MINI": ["Chili Red", "British Racing Green", "Midnight Black", "Nanuq White"],
}
USED_COLORS = ["Pearl White", "Solid Black", "Silver", "Dark Grey", "Deep Blue"]
FIRST_NAMES = [
    "Anders", "Astrid", "Bjørn", "Camilla", "Eirik", "Elin", "Frode", "Guro", "Hanne", "Håkon",
    "Ida", "Jan", "Karianne", "Knut", "Linn", "Marius", "Marte", "Nora", "Odd", "Ragnhild",
    "Rune", "Silje", "Sindre", "Solveig", "Stian", "Terje", "Tone", "Trond", "Vegard", "Åse",
]  # fmt: skip
LAST_NAMES = [
    "Aasen", "Berge", "Bråten", "Dahl", "Eide", "Fjeld", "Gundersen", "Halvorsen", "Haugland",
    "Jacobsen", "Karlsen", "Lie", "Lund", "Moe", "Myhre", "Nygård", "Ødegård", "Rønning",
    "Sandvik", "Strand", "Sæther", "Tangen", "Vik", "Wold",
]  # fmt: skip
COMPANIES = ["Skagerak Rør AS", "Telemark Elektro AS", "Agder Regnskap AS", "Brevik Marine AS"]
PLATE_PREFIXES_EL = ["EL", "EK", "EV", "EB", "EC", "ED", "EF", "EH"]
PLATE_PREFIXES = ["BS", "DN", "HF", "KH", "RJ", "SU", "ZT", "AR"]
ACCESSORIES = ['Winter wheels 19"', "Floor mats", "Roof rails", "Dash cam", "Charging cable 11 kW"]
TOW_BAR = "Tow bar"
SELLER_NOTES = [
    "Customer wants the car fully charged at handover.",
    "Company car: no dealer stickers.",
    "Customer picks up on a Saturday; keep the car indoors.",
    "Trade-in to be valued at handover.",
    "Mount the winter wheels before delivery.",
    "Customer is sensitive about paint: check for swirl marks.",
]
INSPECTION_OK = [
    "No findings. Ready for technical prep.",
    "Good condition; tyre pressure adjusted.",
    "No transport damage. Documents and keys (2) present.",
]
INSPECTION_FAILED = [
    ("Chip in the windscreen from transport.", "Windscreen", "51 31 7 497 987"),
    ("Deep scratch on the rear bumper trim.", "Rear bumper trim", "51 12 8 069 424"),
    ("Right front tyre damaged (sidewall cut).", "Tyre 245/45 R19", "36 10 5 A0B 6C2"),
    ("Charging flap hinge broken.", "Charging flap", "51 17 5 A14 8E0"),
]
SELLER_PARTS = {
    TOW_BAR: ("Tow bar, electrically swivelling", "71 60 2 455 228"),
    'Winter wheels 19"': ('Winter wheel set 19"', "36 11 5 A4D 9F1"),
    "Roof rails": ("Roof rails, aluminium", "82 71 2 464 011"),
}
SUPPLIERS = ["BMW Group Parts Norway", "Mekonomen Porsgrunn", "Dekkmann Skien"]
TECH_NOTES = [
    "PDI done, software updated, road test OK.",
    "PDI done; key fobs coded; tyre pressure set for delivery.",
    "Software update took two tries; all checks green.",
    "Fitted the ordered parts; road test OK.",
]
COSMETIC_NOTES = [
    "Transport film off, polished, interior cleaned.",
    "Ceramic coating applied; interior protection.",
    "Light swirl marks polished out on the bonnet.",
]
CANCEL_REASONS = [
    "Customer moved the delivery date; booked again later.",
    "Mechanic needed for a warranty job; booked again.",
]
NO_SHOW_REASONS = ["The car was not brought to the wash bay in time."]
TRANSPORT_NOTES = ["Truck from the port in Drammen.", "Transport by Bertel O. Steen Logistikk."]
ORDER_CANCEL_NOTE = "Customer cancelled the order (financing was not approved)."

# working day, minutes after midnight (local time)
DAY_START = 8 * 60
LUNCH = (11 * 60 + 30, 12 * 60)
DAY_END = 16 * 60
LATEST = 17 * 60


# ------------------------------------------------------------------------------------------------
# ensure_demo
# ------------------------------------------------------------------------------------------------
def ensure_demo(url: str, reset: bool = False) -> bool:
    """Create the demo at ``url`` if it has no prepfloor data yet (or rebuild it with ``reset``).

    ``reset`` on a SQLite file deletes the file (and its ``-wal``/``-shm``); on PostgreSQL it empties
    prepfloor's tables.  Either is refused unless the database is empty or a demo built here, so a
    mistyped ``--db`` cannot wipe a real database.  Returns True when it built data.
    """
    from db.schema import HEAD
    from db.store import Store

    url = normalize_url(url)
    if reset:
        _wipe(url)
    store = Store(url)
    try:
        revision = store.fast.schema_revision()
        if revision is not None and int(revision) < int(HEAD) and _is_demo(store):
            from db.migrate import upgrade

            upgrade(url)  # a demo from an older prepfloor: brought up to date, rows kept
        store.ensure_schema()
        if _has_data(store):
            return False
        build_demo(store.db)
        return True
    finally:
        store.close()


def _has_data(store: Any) -> bool:
    found = store.fast.rows(
        "SELECT (SELECT count(*) FROM dealership) + (SELECT count(*) FROM users)"
    )
    return int(found[0][0]) > 0


def _is_demo(store: Any) -> bool:
    entity, entity_id, action = DEMO_MARKER
    found = store.fast.rows(
        "SELECT count(*) FROM events WHERE entity = :e AND entity_id = :i AND action = :a",
        {"e": entity, "i": entity_id, "a": action},
    )
    return int(found[0][0]) > 0


def _check_wipeable(url: str) -> bool:
    """True when the database holds prepfloor demo data (or nothing); refuse anything else."""
    from db.store import Store

    store = Store(url)
    try:
        try:
            revision = store.fast.schema_revision()
            tables = store.fast.has_tables()
        except Exception as error:
            raise PrepfloorError(
                _(
                    "{database} is not a prepfloor database ({error}); --reset leaves it alone."
                ).format(database=describe(url), error=error)
            ) from error
        if revision is None:
            if tables:
                raise PrepfloorError(
                    _(
                        "This database has tables but was not created by prepfloor; "
                        "--reset leaves it alone."
                    )
                )
            return False
        if _has_data(store) and not _is_demo(store):
            raise PrepfloorError(
                _(
                    "This database holds real prepfloor data, not the demo; --reset only throws "
                    "away demo data."
                )
            )
        return _has_data(store)
    finally:
        store.close()


def _wipe(url: str) -> None:
    if dialect_of(url) == "sqlite":
        path = sqlite_path(url)
        if path == ":memory:" or not Path(path).exists():
            return
        _check_wipeable(url)
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    if not _check_wipeable(url):
        return
    from sqlalchemy import text

    from db.models import TABLES

    db = Database(url)
    try:
        with db.write() as session:
            names = ", ".join(TABLES)
            session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        db.dispose()


# ------------------------------------------------------------------------------------------------
# calendar helpers (local wall-clock time, naive)
# ------------------------------------------------------------------------------------------------
def _workday(day: date) -> bool:
    return day.weekday() < 5


def _next_workday(day: date) -> date:
    day += timedelta(days=1)
    while not _workday(day):
        day += timedelta(days=1)
    return day


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(0, 0)) + timedelta(minutes=minutes)


def _minutes(t: datetime) -> int:
    return t.hour * 60 + t.minute


def _ceil15(minutes: float) -> int:
    return -(-round(minutes) // 15) * 15


def _into_work(t: datetime) -> datetime:
    """``t`` moved forward into working hours."""
    day, m = t.date(), _minutes(t)
    if _workday(day) and DAY_START <= m < DAY_END:
        return t
    if _workday(day) and m < DAY_START:
        return _at(day, DAY_START)
    return _at(_next_workday(day), DAY_START)


def _back_into_work(t: datetime) -> datetime:
    """``t`` moved back into working hours (monotone: a later ``t`` never gives an earlier time)."""
    day, m = t.date(), _minutes(t)
    if _workday(day) and DAY_START <= m < DAY_END:
        return t.replace(second=0, microsecond=0)
    if _workday(day) and m >= DAY_END:
        return _at(day, DAY_END - 10)
    day -= timedelta(days=1)
    while not _workday(day):
        day -= timedelta(days=1)
    return _at(day, DAY_END - 10)


def _add_work(t: datetime, hours: float) -> datetime:
    """``t`` plus working hours (8 a day, Monday to Friday)."""
    t = _into_work(t)
    remaining = hours * 60
    while True:
        left = DAY_END - _minutes(t)
        if remaining <= left:
            return (t + timedelta(minutes=remaining)).replace(second=0, microsecond=0)
        remaining -= left
        t = _at(_next_workday(t.date()), DAY_START)


def _sessions(start: int, actual: int) -> list[tuple[int, int]]:
    """Clocked spans of a job that starts at ``start`` and takes ``actual`` minutes (lunch off)."""
    end = start + actual
    if start < LUNCH[0] < end:
        return [(start, LUNCH[0]), (LUNCH[1], LUNCH[1] + end - LUNCH[0])]
    return [(start, end)]


# ------------------------------------------------------------------------------------------------
# the planner: a copy of the ledger in memory, so that every booking the build makes fits
# ------------------------------------------------------------------------------------------------
@dataclass
class Slot:
    day: date
    worker: str
    start: int  # minutes
    sessions: list[tuple[int, int]]

    @property
    def start_time(self) -> time:
        return time(self.start // 60, self.start % 60)

    @property
    def end(self) -> int:
        return self.sessions[-1][1]


_MISSING = object()


class Planner:
    """Capacity, sharing caps and each person's day, mirrored from what the build books.

    Bookings that are later cancelled stay counted here, so the ledger in the database always has
    at least the room the planner saw, whatever order the bookings are made in.
    """

    def __init__(self, horizon: date) -> None:
        self.horizon = horizon  # the last day with capacity
        self.alloc: dict[tuple[str, str, date, str | None], float] = {}
        self.used: dict[tuple[str, str, date, str | None], float] = {}
        self.week: dict[tuple[str, str, str, date], float] = {}
        self.caps: dict[tuple[str, str, str], float] = {}
        self.busy: dict[tuple[str, date], tuple[tuple[int, int], ...]] = {}
        self.absent: set[tuple[str, date]] = set()
        self._log: list[tuple[dict[Any, Any], Any, Any]] = []

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._log.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def mark(self) -> int:
        return len(self._log)

    def undo(self, mark: int) -> None:
        while len(self._log) > mark:
            table, key, old = self._log.pop()
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old

    def free(self, key: tuple[str, str, date, str | None]) -> float:
        if key not in self.alloc:
            return -1.0
        return self.alloc[key] - self.used.get(key, 0.0)

    def place(
        self,
        *,
        provider: str,
        consumer: str,
        rt: str,
        est: float,
        actual: int,
        earliest: datetime,
        assign: bool,
        workers: tuple[str, ...] | None = None,
    ) -> Slot:
        """The first day (from ``earliest``) and person with room; reserves it.

        Past the last day with capacity every day has room: such work only happens in a what-if
        (after "now"), so it is never booked in the database.
        """
        candidates = workers or WORKERS[(provider, rt)]
        day = earliest.date()
        while day <= self.horizon:
            if _workday(day) and self.free((provider, rt, day, None)) >= est - 1e-9:
                monday = day - timedelta(days=day.weekday())
                week_key = (provider, consumer, rt, monday)
                cap_ok = provider == consumer or (
                    (provider, consumer, rt) in self.caps
                    and self.week.get(week_key, 0.0) + est <= self.caps[(provider, consumer, rt)]
                )
                if cap_ok:
                    slot = self._person(
                        provider, rt, day, est, actual, earliest, assign, candidates
                    )
                    if slot is not None:
                        team = (provider, rt, day, None)
                        self._set(self.used, team, self.used.get(team, 0.0) + est)
                        if assign:
                            person = (provider, rt, day, slot.worker)
                            self._set(self.used, person, self.used.get(person, 0.0) + est)
                        if provider != consumer:
                            self._set(self.week, week_key, self.week.get(week_key, 0.0) + est)
                        return slot
            day += timedelta(days=1)
        start = max(DAY_START, _minutes(earliest)) if day == earliest.date() else DAY_START
        return Slot(day, candidates[0], start, _sessions(start, actual))

    def _person(
        self,
        provider: str,
        rt: str,
        day: date,
        est: float,
        actual: int,
        earliest: datetime,
        assign: bool,
        candidates: tuple[str, ...],
    ) -> Slot | None:
        best: Slot | None = None
        for worker in candidates:
            if (worker, day) in self.absent:
                continue
            if assign and self.free((provider, rt, day, worker)) < est - 1e-9:
                continue
            slot = self._gap(worker, day, est, actual, earliest)
            if slot is not None and (best is None or slot.start < best.start):
                best = slot
        if best is not None:
            busy = self.busy.get((best.worker, day), ())
            span = (best.start, _ceil15(max(best.end, best.start + int(est * 60)) + 5))
            self._set(self.busy, (best.worker, day), tuple(sorted((*busy, span))))
        return best

    def _gap(
        self, worker: str, day: date, est: float, actual: int, earliest: datetime
    ) -> Slot | None:
        """The earliest start in the person's day where the job fits between their other jobs."""
        start = DAY_START
        if day == earliest.date():
            start = max(start, _minutes(earliest))
        for busy_start, busy_end in (*self.busy.get((worker, day), ()), (LATEST, LATEST)):
            start = _ceil15(start)
            if LUNCH[0] <= start < LUNCH[1]:
                start = LUNCH[1]
            sessions = _sessions(start, actual)
            end = max(sessions[-1][1], start + int(est * 60))
            if end <= busy_start and end <= LATEST:
                return Slot(day, worker, start, sessions)
            start = max(start, busy_end)
        return None


# ------------------------------------------------------------------------------------------------
# the simulation of one car: the steps it went through, as functions to run later
# ------------------------------------------------------------------------------------------------
@dataclass
class Ctx:
    """What the steps share while they run (inside one write transaction)."""

    session: Session
    actors: dict[str, Actor]
    d: dict[str, int]  # dealership key → id
    rt: dict[str, int]  # resource type code → id
    cars: dict[int, int] = field(default_factory=dict)  # car index → id
    bookings: dict[tuple[int, str], int] = field(default_factory=dict)
    # The session's identity map holds rows weakly: keeping them here saves a query per lookup.
    keep: list[Any] = field(default_factory=list)


StepFn = Callable[[Ctx], None]


@dataclass
class Step:
    at: datetime  # local wall-clock time
    prio: int  # 0: ends of work first when times tie
    car: int
    seq: int
    fn: StepFn
    status: str | None = None  # the car's status after this step
    session: tuple[int, str, int] | None = None  # (car, booking key, n) for timer starts/ends
    worker: str | None = None
    ends_session: bool = False


@dataclass
class CarPlan:
    index: int
    target: str
    variant: str  # "normal", "discarded_draft", "cancelled_order"
    dealership: str
    prep: str
    seller: str
    brand: str
    model: str
    tech_hours: float
    cos_hours: float
    electric: bool
    car_type: str
    fields: dict[str, Any]
    rseed: int
    no_show_wash: bool = False  # its wash booking is marked no-show
    rebooked: bool = False  # its first technical booking is cancelled and booked again


class Sim:
    """The steps of one car.  They may be added out of order (a part's arrival is known when it is
    ordered); :meth:`finish` sorts them and makes their times strictly increasing."""

    def __init__(self, plan: CarPlan) -> None:
        self.plan = plan
        self.steps: list[Step] = []

    def add(
        self,
        at: datetime,
        fn: StepFn,
        *,
        status: str | None = None,
        prio: int = 1,
        session: tuple[int, str, int] | None = None,
        worker: str | None = None,
        ends_session: bool = False,
    ) -> datetime:
        self.steps.append(
            Step(at, prio, self.plan.index, 0, fn, status, session, worker, ends_session)
        )
        return at

    def finish(self) -> Sim:
        self.steps.sort(key=lambda s: s.at)  # stable: ties keep the order they were added in
        last = datetime.min
        for n, step in enumerate(self.steps):
            if step.at <= last:
                step.at = last + timedelta(minutes=1)
            last = step.at
            step.seq = n
        return self

    def status_at(self, now: datetime) -> str | None:
        current = None
        for step in self.steps:
            if step.at > now:
                break
            if step.status is not None:
                current = step.status
        return current


# -- step functions --------------------------------------------------------------------------------
def _now() -> datetime:
    return clock.utcnow()


def _register(i: int, seller: str, fields: dict[str, Any]) -> StepFn:
    def run(c: Ctx) -> None:
        actor = c.actors[seller]
        extra = {} if actor.role == "seller" else {"seller_id": actor.user_id}
        car = cars.register_car(c.session, actor, **fields, **extra)
        c.cars[i] = car.id  # type: ignore[assignment]
        c.keep.append(car)

    return run


def _draft(i: int, seller: str, fields: dict[str, Any]) -> StepFn:
    def run(c: Ctx) -> None:
        car = cars.save_draft(c.session, c.actors[seller], **fields)
        c.cars[i] = car.id  # type: ignore[assignment]
        c.keep.append(car)

    return run


def _move(i: int, login: str, target: str, note: str | None = None) -> StepFn:
    def run(c: Ctx) -> None:
        workflow.move_car(c.session, c.actors[login], c.cars[i], target, note=note)

    return run


def _car_update(c: Ctx, login: str, i: int, values: dict[str, Any]) -> Car:
    car = c.session.get(Car, c.cars[i])
    assert car is not None
    now = _now()
    before = {k: getattr(car, k) for k in values}
    for key, value in values.items():
        setattr(car, key, value)
    car.updated_at = now
    c.session.add(car)
    c.session.flush()
    events.record(
        c.session,
        c.actors[login],
        "cars",
        car.id,
        "update",
        events.diff(before, values),
        car_id=car.id,
    )
    return car


def _inspect(
    i: int, login: str, ok: bool, note: str, checklist: list[tuple[str, str, str | None]]
) -> StepFn:
    def run(c: Ctx) -> None:
        now = _now()
        car = _car_update(
            c,
            login,
            i,
            {"inspection_completed_at": now, "inspection_approved": ok, "inspection_notes": note},
        )
        actor = c.actors[login]
        for name, status, notes in checklist:
            item = InspectionChecklistItem(
                car_id=car.id,  # type: ignore[arg-type]
                item_name=name,
                status=status,
                notes=notes,
                checked_by_id=actor.user_id,
                checked_at=now,
            )
            c.session.add(item)
        if checklist:
            c.session.flush()
            events.record(
                c.session,
                actor,
                "inspection_checklist_items",
                car.id,
                "create",
                {"items": len(checklist)},
                car_id=car.id,
            )
        coordinators = notify.users_with_role(c.session, "coordinator", [car.prep_center_id])
        what = f"{car.brand} {car.model} ({car.order_number})"
        notify.send(
            c.session,
            actor,
            coordinators,
            "inspection_done",
            Said("Inspection passed: {car}. {note}", car=what, note=note)
            if ok
            else Said("Inspection FAILED: {car}. {note}", car=what, note=note),
            car_id=car.id,
            priority="medium" if ok else "high",
        )

    return run


def _order_parts(
    i: int, login: str, by: str, parts: list[tuple[str, str, str]], note: str | None
) -> StepFn:
    def run(c: Ctx) -> None:
        if note:
            _car_update(c, login, i, {"parts_notes": note})
        for name, number, supplier in parts:
            order = db_parts.order_part(
                c.session,
                c.actors[login],
                c.cars[i],
                part_name=name,
                part_number=number,
                supplier=supplier,
                ordered_by=by,
            )
            c.keep.append(order)

    return run


def _parts_to(i: int, login: str, status: str, *, by: str | None = None) -> StepFn:
    """Every part of the car (of one side) that can go to ``status`` goes there."""

    def run(c: Ctx) -> None:
        stmt = select(PartsOrder).where(PartsOrder.car_id == c.cars[i])
        if by is not None:
            stmt = stmt.where(PartsOrder.ordered_by == by)
        for order in c.session.exec(stmt.order_by(PartsOrder.id)).all():  # type: ignore[arg-type]
            if status in db_parts.PART_MOVES[order.status]:
                db_parts.set_part_status(c.session, c.actors[login], order.id, status)  # type: ignore[arg-type]

    return run


def _parts_arrive(i: int, login: str, by: str) -> StepFn:
    return _parts_to(i, login, "arrived", by=by)


def _parts_installed(i: int, login: str) -> StepFn:
    return _parts_to(i, login, "installed")


def _book(
    i: int, key: str, login: str, rt: str, slot: Slot, est: float, assign: bool, note: str | None
) -> StepFn:
    def run(c: Ctx) -> None:
        booking = ledger.book(
            c.session,
            c.actors[login],
            resource_type_id=c.rt[rt],
            date=slot.day,
            estimated_hours=est,
            car_id=c.cars[i],
            start_time=slot.start_time,
            user_id=c.actors[slot.worker].user_id if assign else None,
            notes=note,
        )
        c.bookings[(i, key)] = booking.id  # type: ignore[assignment]

    return run


def _confirm(i: int, key: str, login: str) -> StepFn:
    def run(c: Ctx) -> None:
        ledger.confirm(c.session, c.actors[login], c.bookings[(i, key)])

    return run


def _cancel(i: int, key: str, login: str, reason: str, no_show: bool) -> StepFn:
    def run(c: Ctx) -> None:
        ledger.cancel(
            c.session, c.actors[login], c.bookings[(i, key)], reason=reason, no_show=no_show
        )

    return run


def _start(i: int, key: str, login: str) -> StepFn:
    def run(c: Ctx) -> None:
        timers.start(c.session, c.actors[login], c.bookings[(i, key)])

    return run


def _stop(i: int, key: str, login: str) -> StepFn:
    def run(c: Ctx) -> None:
        actor = c.actors[login]
        current = timers.running(c.session, actor.user_id)
        if current is not None and current.booking_id == c.bookings[(i, key)]:
            timers.stop(c.session, actor)

    return run


def _complete(i: int, key: str, login: str, note: str | None) -> StepFn:
    def run(c: Ctx) -> None:
        timers.complete(c.session, c.actors[login], c.bookings[(i, key)], note)

    return run


def _milestone(i: int, login: str, milestone: str) -> StepFn:
    def run(c: Ctx) -> None:
        delivery.record_milestone(c.session, c.actors[login], c.cars[i], milestone)

    return run


def _contact(i: int, login: str, kind: str, message: str) -> StepFn:
    def run(c: Ctx) -> None:
        contacts.log_contact(c.session, c.actors[login], c.cars[i], type=kind, message=message)

    return run


# -- one car's life ------------------------------------------------------------------------------
def simulate(plan: CarPlan, t0: datetime, planner: Planner) -> Sim:
    """Everything that happens to the car when it is registered at ``t0`` (local time).

    Every random choice is drawn up front from the car's own seed, so the same plan and ``t0`` give
    the same steps; the planner is changed (call ``planner.undo`` to try another ``t0``).
    """
    r = random.Random(plan.rseed)
    p = plan
    i = p.index
    sim = Sim(p)
    coordinator = COORDINATOR[p.prep]
    # the draws (all of them, whatever happens later)
    factory_wait = r.choice([2, 4, 6, 10, 16, 24, 40, 56])
    transport = r.choice([8, 12, 16, 20])
    arrival_minute = r.randint(0, 50)
    insp_est = 1.0
    insp_actual = r.randint(30, 75)
    inspection_ok = r.random() < 0.8
    ok_note = r.choice(INSPECTION_OK)
    failed = r.choice(INSPECTION_FAILED)
    with_checklist = r.random() < 0.45
    supplier = r.choice(SUPPLIERS)
    plan_lag = r.choice([0.5, 1, 2, 3, 6, 9])
    prep_parts_days = r.choice([2, 3, 4])
    seller_parts_days = r.choice([3, 5, 8, 12])
    tech_est = max(1.5, p.tech_hours + r.choice([-0.5, 0, 0, 0.5]))
    tech_actual = int(tech_est * 60 * r.uniform(0.8, 1.2))
    cos_est = p.cos_hours
    cos_gap = r.choice([0.5, 4, 8, 16, 24])  # the detailer's queue after technical work
    cos_actual = int(cos_est * 60 * r.uniform(0.8, 1.2))
    fit_actual = int(1.5 * 60 * r.uniform(0.8, 1.15))
    wash = p.prep == "499" and (r.random() < 0.5 or p.no_show_wash)
    wash_no_show = p.no_show_wash or (wash and r.random() < 0.1)
    wash_actual = r.randint(20, 35)
    cancel_first = p.rebooked or r.random() < 0.1
    cancel_reason = r.choice(CANCEL_REASONS)
    confirm = r.random() < 0.6
    confirm_lag = r.choice([0.25, 1, 3, 6])
    tech_note = r.choice(TECH_NOTES)
    cos_note = r.choice(COSMETIC_NOTES)
    call_lag = r.choice([0.5, 1, 2])
    back_lag = r.choice([4, 6, 8, 12])
    deliver_lag = r.choice([6, 10, 16, 24, 40])
    archive_lag = r.choice([40, 56, 72, 96])
    follow_up = r.random() < 0.5
    cancel_lag = r.choice([8, 16, 24])
    transport_note = r.choice(TRANSPORT_NOTES)
    promised = r.choice([14, 21, 28, 35, 42])  # days from the order to the promised delivery
    accessories = p.fields.get("accessories") or []
    seller_parts = [
        (*SELLER_PARTS[a], supplier if a != TOW_BAR else "BMW Group Parts Norway")
        for a in accessories
        if a in SELLER_PARTS
    ]
    if p.target == "parts_ordered":
        inspection_ok = False  # the car waits for parts because the inspection found something
    needs_prep_parts = not inspection_ok
    tow_bar = TOW_BAR in accessories and p.prep == "499"

    fields = {**p.fields, "expected_delivery_date": t0.date() + timedelta(days=promised)}

    def at(minutes_after: datetime, minutes: int) -> datetime:
        return minutes_after + timedelta(minutes=minutes)

    # -- order ------------------------------------------------------------------------------------
    if p.variant == "discarded_draft" or p.target == "draft":
        sim.add(t0, _draft(i, p.seller, fields), status="draft")
        if p.variant == "discarded_draft":
            sim.add(
                _add_work(t0, r.choice([8, 16])),
                _move(i, p.seller, "archived", "Duplicate of another order."),
                status="archived",
            )
        return sim.finish()
    sim.add(t0, _register(i, p.seller, fields), status="registered")
    parts_ready = t0
    if seller_parts and p.variant != "cancelled_order":
        # a manager may not order parts: a seller of the dealership does it for them
        buyer = p.seller if ROLE_OF[p.seller] == "seller" else SELLERS[p.dealership][0]
        ordered = sim.add(at(t0, 12), _order_parts(i, buyer, "seller", seller_parts, None))
        arrived = _add_work(ordered, seller_parts_days * 8)
        sim.add(arrived, _parts_arrive(i, coordinator, "seller"))
        parts_ready = arrived
    if p.variant == "cancelled_order":
        sim.add(
            _add_work(t0, cancel_lag),
            _move(i, p.seller, "archived", ORDER_CANCEL_NOTE),
            status="archived",
        )
        return sim.finish()
    # -- to the prep center -------------------------------------------------------------------------
    if p.dealership != p.prep:
        sent = sim.add(
            _add_work(t0, factory_wait),
            _move(i, p.seller, "in_transit", transport_note),
            status="in_transit",
        )
        arrival = _add_work(sent, transport)
    else:
        arrival = _add_work(t0, factory_wait)
    arrival = at(arrival, arrival_minute)
    arrival = sim.add(
        _into_work(arrival), _move(i, coordinator, "at_prep_center"), status="at_prep_center"
    )
    # -- inspection ---------------------------------------------------------------------------------
    booked = at(arrival, 5)
    insp = planner.place(
        provider=p.prep,
        consumer=p.dealership,
        rt="INSPECTION",
        est=insp_est,
        actual=insp_actual,
        earliest=at(booked, 20),
        assign=False,
    )
    sim.add(booked, _book(i, "insp", coordinator, "INSPECTION", insp, insp_est, False, None))
    mechanic = insp.worker
    start = _at(insp.day, insp.start)
    sim.add(at(start, -2), _move(i, mechanic, "inspection"), status="inspection")
    _work(sim, i, "insp", mechanic, insp, None)
    inspected = sim.add(
        at(_at(insp.day, insp.end), 2),
        _inspect(
            i,
            mechanic,
            inspection_ok,
            ok_note if inspection_ok else failed[0],
            _checklist(inspection_ok, failed[0]) if with_checklist or not inspection_ok else [],
        ),
    )
    if needs_prep_parts:
        ordered = sim.add(
            at(inspected, 10),
            _order_parts(
                i,
                mechanic,
                "prep_center",
                [(failed[1], failed[2], supplier)],
                f"{failed[1]} ordered from {supplier}.",
            ),
        )
        arrived = _add_work(ordered, prep_parts_days * 8)
        parts_ready = max(parts_ready, arrived)
        sim.add(arrived, _parts_arrive(i, coordinator, "prep_center"))
    # -- booking the work ---------------------------------------------------------------------------
    book_at = _add_work(inspected, plan_lag)
    waiting = parts_ready > book_at  # the first booking puts the car to wait for parts
    earliest_work = max(at(book_at, 30), at(parts_ready, 30))
    key = "tech"
    if cancel_first:
        first = planner.place(
            provider=p.prep,
            consumer=p.dealership,
            rt="TECH_PREP",
            est=tech_est,
            actual=tech_actual,
            earliest=earliest_work,
            assign=True,
        )
        sim.add(
            book_at,
            _book(i, "tech0", coordinator, "TECH_PREP", first, tech_est, True, None),
            status="parts_ordered" if waiting else "technical_prep",
        )
        cancel_at = min(_add_work(book_at, cancel_lag), at(_at(first.day, first.start), -30))
        book_at = sim.add(cancel_at, _cancel(i, "tech0", coordinator, cancel_reason, False))
        earliest_work = max(earliest_work, _at(_next_workday(first.day), DAY_START))
    tech = planner.place(
        provider=p.prep,
        consumer=p.dealership,
        rt="TECH_PREP",
        est=tech_est,
        actual=tech_actual,
        earliest=earliest_work,
        assign=True,
    )
    note = "Parts first: see the parts notes." if needs_prep_parts else None
    sim.add(
        at(book_at, 1),
        _book(i, key, coordinator, "TECH_PREP", tech, tech_est, True, note),
        status=None if cancel_first else ("parts_ordered" if waiting else "technical_prep"),
    )
    fit = None
    if tow_bar:
        fit = planner.place(
            provider=p.prep,
            consumer=p.dealership,
            rt="ACCESSORY_FIT",
            est=1.5,
            actual=fit_actual,
            earliest=at(_at(tech.day, tech.end), 5),
            assign=False,
            workers=(tech.worker,),
        )
        sim.add(
            at(book_at, 2), _book(i, "fit", coordinator, "ACCESSORY_FIT", fit, 1.5, False, None)
        )
    after_tech = _add_work(_at((fit or tech).day, (fit or tech).end), cos_gap)
    wash_slot = None
    if wash:
        wash_slot = planner.place(
            provider=p.prep,
            consumer=p.dealership,
            rt="WASH",
            est=0.5,
            actual=wash_actual,
            earliest=after_tech,
            assign=False,
        )
        sim.add(at(book_at, 3), _book(i, "wash", coordinator, "WASH", wash_slot, 0.5, False, None))
        after_tech = at(_at(wash_slot.day, wash_slot.end), 5)
    cos = planner.place(
        provider=p.prep,
        consumer=p.dealership,
        rt="COSMETIC",
        est=cos_est,
        actual=cos_actual,
        earliest=after_tech,
        assign=True,
    )
    sim.add(at(book_at, 4), _book(i, "cos", coordinator, "COSMETIC", cos, cos_est, True, None))
    tech_start = _at(tech.day, tech.start)
    if confirm:
        when = min(_add_work(at(book_at, 5), confirm_lag), at(tech_start, -20))
        if when > at(book_at, 4):
            sim.add(when, _confirm(i, key, coordinator))
    if waiting:
        sim.add(
            at(parts_ready, 15),
            _move(i, coordinator, "technical_prep", "Parts are in."),
            status="technical_prep",
        )
    # -- the work -------------------------------------------------------------------------------------
    _work(sim, i, key, tech.worker, tech, tech_note, status="cosmetic_prep")
    if seller_parts or needs_prep_parts:
        sim.add(at(_at(tech.day, tech.end), 1), _parts_installed(i, tech.worker))
    if fit is not None:
        _work(sim, i, "fit", fit.worker, fit, "Tow bar fitted and coded.")
    if wash_slot is not None:
        if wash_no_show:
            sim.add(
                _at(wash_slot.day, max(wash_slot.end, DAY_END) + 5),
                _cancel(i, "wash", coordinator, NO_SHOW_REASONS[0], True),
            )
        else:
            _work(sim, i, "wash", wash_slot.worker, wash_slot, None)
    ready = _work(sim, i, "cos", cos.worker, cos, cos_note, status="ready_for_delivery")
    # -- delivery -------------------------------------------------------------------------------------
    first_name = (p.fields["customer_name"] or "").split()[0]
    sim.add(
        _add_work(ready, call_lag),
        _contact(
            i,
            p.seller,
            "sms",
            f"Hi {first_name}, your {p.brand} {p.model} is ready. "
            "Reply with a day that suits you for the handover.",
        ),
    )
    handover_from = ready
    if p.dealership != p.prep:
        handover_from = sim.add(
            _add_work(ready, back_lag), _milestone(i, p.seller, "delivered_to_dealership_at")
        )
    handover = _add_work(handover_from, deliver_lag)
    sim.add(at(handover, -30), _milestone(i, p.seller, "sold_at"))
    delivered = sim.add(handover, _move(i, p.seller, "delivered"), status="delivered")
    if follow_up:
        sim.add(
            _add_work(delivered, 16),
            _contact(i, p.seller, "call", "Follow-up call: the customer is happy with the car."),
        )
    sim.add(_add_work(delivered, archive_lag), _move(i, p.seller, "archived"), status="archived")
    return sim.finish()


def _work(
    sim: Sim, i: int, key: str, login: str, slot: Slot, note: str | None, status: str | None = None
) -> datetime:
    """Clock the job in its sessions and complete it; returns when it was completed."""
    last = len(slot.sessions) - 1
    end = _at(slot.day, slot.start)
    for n, (start, stop) in enumerate(slot.sessions):
        sim.add(
            _at(slot.day, start),
            _start(i, key, login),
            session=(i, key, n),
            worker=login,
        )
        fn = _complete(i, key, login, note) if n == last else _stop(i, key, login)
        end = sim.add(
            _at(slot.day, stop),
            fn,
            status=status if n == last else None,
            prio=0,
            session=(i, key, n),
            worker=login,
            ends_session=True,
        )
    return end


def _checklist(ok: bool, finding: str) -> list[tuple[str, str, str | None]]:
    """The default checklist, all ok, or with the finding on the body (critical for glass)."""
    from db.inspection import DEFAULT_CHECKLIST

    items: list[tuple[str, str, str | None]] = [(name, "ok", None) for name in DEFAULT_CHECKLIST]
    if not ok:
        body = DEFAULT_CHECKLIST.index("Paint scratches and dents")
        status = "critical" if "windscreen" in finding else "issue"
        items[body] = (DEFAULT_CHECKLIST[body], status, finding)
    return items


# ------------------------------------------------------------------------------------------------
# the plans: which cars, for whom, ending where
# ------------------------------------------------------------------------------------------------
def _ascii(text: str) -> str:
    table = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "å": "aa", "Å": "Aa"})
    text = text.translate(table)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


_VIN_VALUES = {
    **{str(n): n for n in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_YEAR_CODES = {2019: "K", 2020: "L", 2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S"}
_YEAR_CODES |= {2026: "T", 2027: "V", 2028: "W"}


def make_vin(r: random.Random, brand: str, year: int, used: set[str]) -> str:
    """A VIN of ISO 3779's alphabet with a valid check digit (position 9), unique in ``used``."""
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    while True:
        vds = "".join(r.choice(alphabet) for _ in range(5))
        plant = r.choice("ABCDFGKLNPRSTVWXY")
        serial = f"{r.randint(0, 999999):06d}"
        vin = WMI[brand] + vds + "0" + _YEAR_CODES.get(year, "S") + plant + serial
        total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
        check = "X" if total % 11 == 10 else str(total % 11)
        vin = vin[:8] + check + vin[9:]
        if vin not in used:
            used.add(vin)
            return vin


def _plans(r: random.Random, today: date) -> list[CarPlan]:
    targets: list[tuple[str, str]] = []
    for status, n in STATUS_COUNTS.items():
        for k in range(n):
            variant = "normal"
            if status == "archived" and k < len(ARCHIVED_OTHERWISE):
                variant = ARCHIVED_OTHERWISE[k]
            targets.append((status, variant))
    r.shuffle(targets)
    used_vins: set[str] = set()
    order_seq = {key: r.randint(120, 480) for key in SELLERS}
    plans = []
    for index, (target, variant) in enumerate(targets):
        dealership = r.choices(["499", "495", "497", "496"], weights=[35, 30, 17, 18])[0]
        if target == "in_transit" and dealership == "499":
            dealership = "495"
        prep = "498" if dealership == "496" else "499"
        seller = r.choice(SELLERS[dealership])
        car_type = r.choices(["new", "used", "demo", "certified"], weights=[70, 18, 6, 6])[0]
        if car_type == "used":
            brand, model, tech, cos, electric = r.choice(USED_MODELS)
            year = r.randint(2019, 2023)
            color = r.choice(USED_COLORS)
        else:
            catalogue = MINI_MODELS if dealership == "497" else BMW_MODELS
            brand, model, tech, cos, electric = r.choice(catalogue)
            year = today.year + (1 if today.month >= 9 and car_type == "new" else 0)
            if car_type != "new":
                year = today.year - r.randint(0, 1)
            color = r.choice(COLORS[brand])
        if r.random() < 0.2:
            customer = r.choice(COMPANIES)
            email = "post@" + _ascii(customer.split()[0]).lower() + ".example.no"
        else:
            first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
            customer = f"{first} {last}"
            email = f"{_ascii(first).lower()}.{_ascii(last).lower()}@example.no"
        phone = f"+47 {r.choice('49')}{r.randint(10, 99)} {r.randint(10, 99)} {r.randint(100, 999)}"
        accessories: list[str] = []
        if car_type in ("new", "demo"):
            accessories = r.sample(ACCESSORIES, r.choice([0, 1, 1, 2]))
            if r.random() < 0.25:
                accessories.append(TOW_BAR)
        prefix = r.choice(PLATE_PREFIXES_EL if electric else PLATE_PREFIXES)
        plate = (
            f"{prefix} {r.randint(10000, 99999)}" if car_type != "new" or r.random() < 0.6 else None
        )
        order_seq[dealership] += r.randint(1, 4)
        fields: dict[str, Any] = {
            "vin": make_vin(r, brand, year, used_vins),
            "license_plate": plate,
            "brand": brand,
            "model": model,
            "model_year": year,
            "color": color,
            "order_number": f"{dealership}-{today.year % 100:02d}{order_seq[dealership]:04d}",
            "customer_name": customer,
            "customer_phone": phone,
            "customer_email": email,
            "car_type": car_type,
            "accessories": accessories or None,
            "seller_notes": r.choice([*SELLER_NOTES, None, None, None]),
        }
        if target == "draft":
            # a draft is half typed: no VIN yet on one of them, no customer contact on another
            for name in r.sample(["vin", "customer_phone", "customer_email", "color"], 2):
                fields[name] = None
        plans.append(
            CarPlan(
                index=index,
                target=target,
                variant=variant,
                dealership=dealership,
                prep=prep,
                seller=seller,
                brand=brand,
                model=model,
                tech_hours=tech,
                cos_hours=cos,
                electric=electric,
                car_type=car_type,
                fields=fields,
                rseed=r.randint(0, 2**31),
            )
        )
    # a few bookings that did not go as planned, on cars whose work is done by now
    done = [p for p in plans if p.target in ("delivered", "archived") and p.variant == "normal"]
    for plan in [p for p in done if p.prep == "499"][:2]:
        plan.no_show_wash = True
    for plan in [p for p in plans if p.target in ("cosmetic_prep", "ready_for_delivery")][:2]:
        plan.rebooked = True
    return plans


_ORDER = {s: n for n, s in enumerate(CAR_STATUSES)}


def _stage(plan: CarPlan, planner: Planner, now: datetime, t0: datetime) -> int:
    """The status index the car is at ``now`` when registered at ``t0`` (-1: not yet)."""
    mark = planner.mark()
    sim = simulate(plan, t0, planner)
    planner.undo(mark)
    status = sim.status_at(now)
    return _ORDER[status] if status is not None else -1


def _first(stage: Callable[[int], int], at_least: int, lo: int, hi: int) -> int:
    """The smallest hours in [lo, hi] with ``stage(hours) >= at_least``, or hi + 1.

    A car registered earlier is never behind one registered later (the planner books the first
    day with room), so ``stage`` grows with ``hours`` and a binary search finds the edge."""
    while lo <= hi:
        mid = (lo + hi) // 2
        if stage(mid) >= at_least:
            hi = mid - 1
        else:
            lo = mid + 1
    return lo


def _settle(plan: CarPlan, planner: Planner, now: datetime, r: random.Random) -> Sim:
    """Find when the car was registered so that at ``now`` it is at its target status.

    Some statuses cannot be reached at some moments (at 8:30 on a weekday no car waits at the prep
    center: yesterday's arrivals are being inspected); the car then takes the nearest status that
    can, the next one first, so that the demo builds whenever it is asked for."""
    if plan.target == "draft":
        return simulate(plan, _back_into_work(now - timedelta(hours=r.randint(2, 70))), planner)
    wanted = _ORDER[plan.target]
    nearest = sorted(
        (s for s in CAR_STATUSES if s != "draft"),
        key=lambda s: (abs(_ORDER[s] - wanted), _ORDER[s] < wanted),
    )
    asked = plan.target
    for target in nearest:
        plan.target = target  # what the car's life is planned towards (a failed inspection...)
        sim = _settle_at(plan, planner, now, r, target)
        if sim is not None:
            return sim
    raise RuntimeError(f"demo: could not place car {plan.index} at {asked}")


def _settle_at(
    plan: CarPlan, planner: Planner, now: datetime, r: random.Random, target: str
) -> Sim | None:
    """The car registered so that at ``now`` it is at ``target``, or ``None`` if no try does."""
    goal = _ORDER[target]
    top = 24 * 80
    for attempt in range(8):
        if attempt:
            plan.rseed = r.randint(0, 2**31)
        cache: dict[datetime, int] = {}  # nights and weekends: many hours, one registration time

        def stage(hours: int, cache: dict[datetime, int] = cache) -> int:
            t0 = _back_into_work(now - timedelta(hours=hours))
            if t0 not in cache:
                cache[t0] = _stage(plan, planner, now, t0)
            return cache[t0]

        lo = _first(stage, goal, 1, top)
        if lo > top or stage(lo) != goal:
            continue
        hi = min(_first(stage, goal + 1, lo, top) - 1, lo + 24 * 12)
        for hours in (r.randint(lo, hi), lo):
            mark = planner.mark()
            sim = simulate(plan, _back_into_work(now - timedelta(hours=hours)), planner)
            if sim.status_at(now) == target:
                return sim
            planner.undo(mark)
    return None


def _cut(steps: list[Step], now: datetime) -> list[Step]:
    """The steps that happened by ``now``.  Work under way at ``now`` is left unstarted, except
    the most recent technical job of a mechanic started less than three hours ago (a live clock)."""
    done = [s for s in steps if s.at <= now]
    ended = {s.session for s in done if s.ends_session}
    open_starts = [s for s in done if s.session is not None and not s.ends_session]
    open_starts = [s for s in open_starts if s.session not in ended]
    keep = None
    live = [
        s
        for s in open_starts
        if s.session is not None
        and s.session[1] == "tech"
        and s.worker in ("per", "paal", "nils", "tor")
        and now - s.at <= timedelta(hours=3)
    ]
    if live:
        keep = max(live, key=lambda s: (s.at, s.car))
    dropped = {id(s) for s in open_starts if s is not keep}
    return [s for s in done if id(s) not in dropped]


# ------------------------------------------------------------------------------------------------
# build_demo
# ------------------------------------------------------------------------------------------------
def plan_demo(now: datetime, seed: int = 499) -> tuple[list[date], list[CarPlan], list[Step]]:
    """The demo in memory for the wall-clock time ``now``: its working days, the cars' plans and
    every step, in the order they happen (nothing is written)."""
    today = now.date()
    r = random.Random(seed)
    first_day = today - timedelta(weeks=WEEKS_BACK)
    last_day = today + timedelta(weeks=WEEKS_AHEAD) - timedelta(days=1)
    days = [
        first_day + timedelta(days=n)
        for n in range((last_day - first_day).days + 1)
        if _workday(first_day + timedelta(days=n))
    ]
    vacation_day = today + timedelta(days=7)
    while vacation_day.weekday() != 2:  # a Wednesday, next week
        vacation_day += timedelta(days=1)

    # -- the plan, in memory ------------------------------------------------------------------------
    planner = Planner(horizon=last_day)
    for key, rt, person, hours in PATTERNS:
        for day in days:
            planner.alloc[(key, rt, day, person)] = hours
    v_dealer, v_rt, v_person = VACATION
    planner.alloc[(v_dealer, v_rt, vacation_day, v_person)] = 0.0
    planner.alloc[(v_dealer, v_rt, vacation_day, None)] = 8.0
    planner.absent.add((v_person, vacation_day))
    for provider, consumer, rt, hours, _prio, enabled, _notes in SHARING:
        if enabled:
            planner.caps[(provider, consumer, rt)] = hours
    plans = _plans(r, today)
    steps: list[Step] = []
    for plan in plans:
        steps.extend(_settle(plan, planner, now, r).steps)
    steps = _cut(steps, now)
    # the coordinator enters next week's vacation day last week
    vacation_at = _back_into_work(now - timedelta(days=6))
    steps.append(Step(vacation_at, 1, -1, 0, lambda c: _vacation(c, vacation_day)))
    steps.sort(key=lambda s: (s.at, s.prio, s.car, s.seq))
    return days, plans, steps


def build_demo(db: Database, *, today: date | None = None, seed: int = 499) -> None:
    """Fill an empty, migrated database with the demo (see the module's docstring).

    The rules run with :mod:`db.clock` frozen at the moment each step happened (it is restored
    afterwards): build the demo before a session starts in this process, not while one runs.
    Refused on a database that already has dealerships.
    """
    zone = clock.zone()
    previous = clock._frozen
    if today is None:
        now_utc = clock.utcnow()
        now = now_utc.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        today = now.date()
    else:
        now = datetime.combine(today, time(10, 0))

    def utc(wall: datetime) -> datetime:
        return wall.replace(tzinfo=zone).astimezone(UTC)

    days, plans, steps = plan_demo(now, seed)
    setup_at = _at(today - timedelta(days=120), 9 * 60)

    def run(session: Session) -> None:
        if session.scalar(select(func.count()).select_from(Dealership)):
            raise PrepfloorError(
                _("This database already has dealerships; the demo needs an empty one.")
            )
        clock.freeze(utc(setup_at))
        ctx = _setup(session, days)
        for step in steps:
            clock.freeze(utc(step.at))
            step.fn(ctx)
        clock.freeze(utc(now))
        # what people have seen: everything older than a day
        session.execute(
            update(Notification)
            .where(Notification.created_at < utc(now - timedelta(days=1)))  # type: ignore[arg-type,operator]
            .values(read=True)
            .execution_options(synchronize_session=False)
        )
        entity, entity_id, action = DEMO_MARKER
        events.record(
            session,
            None,
            entity,
            entity_id,
            action,
            {"seed": seed, "today": today, "cars": len(plans)},
        )

    try:
        db.run(run)
    finally:
        clock.freeze(previous)


def _setup(session: Session, days: list[date]) -> Ctx:
    """Dealerships, resource types, sharing, users and the capacity patterns."""
    d: dict[str, int] = {}
    keep: list[Any] = []
    for spec in DEALERSHIPS:
        fields = {k: v for k, v in spec.items() if k not in ("key", "prep", "parent")}
        if "prep" in spec:
            fields["prep_center_id"] = d[spec["prep"]]
        if "parent" in spec:
            fields["parent_dealership_id"] = d[spec["parent"]]
        saved = admin.save_dealership(session, None, dealership_number=spec["key"], **fields)
        d[spec["key"]] = saved.id  # type: ignore[assignment]
        keep.append(saved)
    for key in BRANCHES_OF_HQ:
        admin.save_dealership(session, None, d[key], parent_dealership_id=d["490"])
    rt = {}
    for spec in RESOURCE_TYPES:
        saved_rt = admin.save_resource_type(session, None, **spec)
        rt[spec["code"]] = saved_rt.id
        keep.append(saved_rt)
    for provider, consumer, code, hours, priority, enabled, notes in SHARING:
        sharing = admin.save_sharing(
            session,
            None,
            provider_dealership_id=d[provider],
            consumer_dealership_id=d[consumer],
            resource_type_id=rt[code],
            max_hours_per_week=hours,
            priority=priority,
            enabled=enabled,
            notes=notes,
        )
        keep.append(sharing)
    actors: dict[str, Actor] = {}
    for login, name, role, key in USERS:
        user = users.create_user(
            session,
            None,
            login=login,
            display_name=name,
            role=role,
            dealership_id=d[key] if key else None,
            email=f"{login}@bilgruppen-sor.example.no",
            pin=WORKSHOP_PIN if role in ("mechanic", "detailer") else None,
        )
        actors[login] = users.load_actor(session, user)
        keep.append(user)
    # capacity from the weekly patterns, written in bulk (one event per pattern, on its first row)
    now = clock.utcnow()
    table = ResourceCapacity.__table__
    for key, code, person, hours in PATTERNS:
        pattern = {"type": "weekly", "days": list(WEEKDAYS), "hours": hours}
        user_id = actors[person].user_id if person else None
        rows = [
            {
                "dealership_id": d[key],
                "resource_type_id": rt[code],
                "date": day,
                "allocated_hours": float(hours),
                "used_hours": 0.0,
                "user_id": user_id,
                "recurrence_pattern": pattern,
                "created_at": now,
                "updated_at": now,
            }
            for day in days
        ]
        session.execute(insert(table), rows)  # type: ignore[arg-type]
        first_id = session.scalar(
            select(func.min(ResourceCapacity.id)).where(
                ResourceCapacity.dealership_id == d[key],
                ResourceCapacity.resource_type_id == rt[code],
                ResourceCapacity.user_id == user_id  # type: ignore[arg-type]
                if user_id
                else ResourceCapacity.user_id.is_(None),  # type: ignore[union-attr]
            )
        )
        events.record(
            session,
            actors[COORDINATOR[key]],
            "resource_capacities",
            first_id,
            "set_pattern",
            {
                "dealership_id": d[key],
                "resource_type_id": rt[code],
                "user_id": user_id,
                "recurrence_pattern": pattern,
                "from": days[0],
                "to": days[-1],
            },
        )
    return Ctx(session=session, actors=actors, d=d, rt=rt, keep=keep)


def _vacation(ctx: Ctx, day: date) -> None:
    """A mechanic's day off: their row to 0 h and the team row to 8 h (rows off the pattern)."""
    dealer, code, person = VACATION
    coordinator = ctx.actors[COORDINATOR[dealer]]
    for user_id, hours in ((ctx.actors[person].user_id, 0), (None, 8)):
        row = capacity.set_capacity(
            ctx.session,
            coordinator,
            dealership_id=ctx.d[dealer],
            resource_type_id=ctx.rt[code],
            date=day,
            allocated_hours=hours,
            user_id=user_id,
        )
        row.recurrence_pattern = None
        ctx.session.add(row)
    ctx.session.flush()
