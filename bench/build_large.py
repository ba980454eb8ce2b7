#!/usr/bin/env python
"""Build a large prepfloor database for the benchmarks, on SQLite (a file) or PostgreSQL (a URL).

    python bench/build_large.py --db /tmp/large.db                 # full size (~1M bookings)
    python bench/build_large.py --db /tmp/small.db --scale 0.01    # a quick try
    python bench/build_large.py --db postgresql://postgres@127.0.0.1:5432/large

What it makes (defaults, before ``--scale``): 20 dealerships (headquarters with branches,
sales-and-prep, prep-center-only and sales-only dealerships with their prep center), the six resource
types, ~60 users per prep center, 100,000 cars over every status with timestamps that fit the status,
1,000,000 bookings, a year of team and personal capacity rows per working day for every prep center
and bookable type whose ``used_hours`` equal the bookings that hold them, and the sharing agreements
those bookings need (weekly caps above what they use).  ``--scale`` multiplies cars and bookings
(and users per prep center below 0.1, at least 6).  The same seed and day give the same database.

The schema comes from ``db.migrate.upgrade``; rows go in through the raw driver (``sqlite3``
``executemany`` in one transaction, ``psycopg`` ``COPY``), with the big tables' secondary indexes
dropped during the load and rebuilt from their own definitions afterwards.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import _common

# ------------------------------------------------------------------------------------------------
# sizes and vocabulary
# ------------------------------------------------------------------------------------------------


@dataclass
class Sizes:
    dealerships: int = 20
    users_per_center: int = 60
    cars: int = 100_000
    bookings: int = 1_000_000
    days: int = 365  # capacity rows: this many calendar days (working days get rows)

    def scaled(self, scale: float) -> Sizes:
        return Sizes(
            dealerships=self.dealerships,
            users_per_center=max(6, round(self.users_per_center * min(1.0, scale * 10))),
            cars=max(50, round(self.cars * scale)),
            bookings=max(300, round(self.bookings * scale)),
            days=self.days,
        )


TOWNS = [
    "Porsgrunn", "Skien", "Kristiansand Vest", "Arendal", "Larvik", "Tønsberg", "Drammen",
    "Kongsberg", "Hønefoss", "Bergen", "Førde", "Stavanger", "Haugesund", "Lillestrøm", "Ski",
    "Asker", "Sandvika", "Moss", "Fredrikstad", "Sarpsborg", "Hamar", "Lillehammer", "Gjøvik",
    "Ålesund", "Molde", "Trondheim", "Steinkjer", "Bodø", "Tromsø", "Alta",
]  # fmt: skip
BRANDS: list[tuple[str, str, list[str]]] = [
    ("BMW", "WBA", ["X1", "X3", "X5", "i4", "iX", "320i", "520d"]),
    ("Volkswagen", "WVW", ["Golf", "ID.3", "ID.4", "Passat", "Tiguan", "Polo"]),
    ("Audi", "WAU", ["A3", "A4", "A6", "Q4 e-tron", "Q5", "e-tron GT"]),
    ("Porsche", "WP0", ["Taycan", "Macan", "Cayenne", "911"]),
    ("Skoda", "TMB", ["Octavia", "Enyaq", "Kodiaq", "Superb", "Fabia"]),
    ("Toyota", "JTD", ["Corolla", "RAV4", "bZ4X", "Yaris", "C-HR"]),
    ("Volvo", "YV1", ["XC40", "XC60", "XC90", "EX30", "V60"]),
    ("Mercedes-Benz", "WDD", ["A-Klasse", "C-Klasse", "EQA", "EQB", "GLC"]),
]
BRAND_COLORS = ["#1c69d4", "#001e50", "#bb0a30", "#d5001c", "#4ba82e", "#eb0a1e", "#003057"]
FIRST = [
    "Kari", "Ola", "Per", "Pål", "Siri", "Ingrid", "Nora", "Emma", "Jonas", "Lars", "Mona",
    "Magnus", "Dina", "Anders", "Marius", "Hanne", "Sofie", "Henrik", "Eirik", "Ida", "Maja",
    "Tor", "Trine", "Kjetil", "Camilla", "Sindre", "Astrid", "Even", "Liv", "Vegard",
]  # fmt: skip
LAST = [
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
    "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen", "Mathisen",
    "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe",
    "Nygård", "Bakke", "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge", "Christensen",
    "Andresen", "Nielsen", "Knudsen", "Evensen",
]  # fmt: skip
COLORS = ["Black", "White", "Silver", "Grey", "Blue", "Red", "Green", "Brown"]
ACCESSORIES = ["Towbar", "Winter tyres", "Roof rails", "Dash cam", "Floor mats", "Cargo tray"]
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # ISO 3779: no I, O, Q
PLATE_LETTERS = "ABCDEFGHJKLNPRSTUVXYZ"

# code, name, productive, requires_assignment, default hours, prep_stage, staff, nominal h/person/day
RESOURCE_TYPES = [
    ("TECH_PREP", "Technical Preparation", True, True, 4.0, "technical", "mechanic", 5.5),
    ("COSMETIC", "Cosmetic Preparation", True, True, 2.0, "cosmetic", "detailer", 6.0),
    ("WASH", "Vehicle Washing", False, False, 0.5, None, None, 0.0),
    ("LUNCH", "Lunch Break", False, True, 0.5, None, "floor", 0.5),
    ("INSPECTION", "Inspection", True, True, 1.0, None, "mechanic", 1.5),
    ("ACCESSORY_FIT", "Accessory Fitting", True, True, 1.5, "technical", "mechanic", 1.0),
]
PERSON_TYPE_LIMIT = 10.0  # a person is never booked more than this on one type and day
PERSON_DAY_LIMIT = 11.0  # nor more than this on one day, all types together (lunch aside)
HOLDING = ("scheduled", "confirmed", "in_progress", "completed")


def quarter_up(hours: float) -> float:
    return -(-round(hours * 4, 6) // 1) / 4


# ------------------------------------------------------------------------------------------------
# the generated world
# ------------------------------------------------------------------------------------------------
@dataclass
class Data:
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)

    def add(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.tables[table] = (columns, rows)


DEALERSHIP_COLS = [
    "id", "dealership_number", "dealership_name", "location", "dealership_type", "brand",
    "does_own_prep", "active", "parent_dealership_id", "prep_center_id", "brand_colors", "logo",
    "created_at", "updated_at",
]  # fmt: skip
RESOURCE_TYPE_COLS = [
    "id", "code", "name", "description", "icon", "color", "active", "is_productive", "bookable",
    "requires_assignment", "default_duration_hours", "prep_stage", "created_at", "updated_at",
]  # fmt: skip
USER_COLS = [
    "id", "login", "display_name", "email", "role", "dealership_id", "active", "pin_hash",
    "badge_hash", "failed_pin_attempts", "locked_until", "created_at", "updated_at",
]  # fmt: skip
CAR_COLS = [
    "id", "vin", "license_plate", "brand", "model", "model_year", "color", "order_number",
    "customer_name", "customer_phone", "customer_email", "dealership_id", "seller_id", "car_type",
    "status", "accessories", "seller_notes", "prep_center_id", "scheduled_technical_date",
    "scheduled_technical_time", "scheduled_cosmetic_date", "scheduled_cosmetic_time",
    "estimated_technical_hours", "estimated_cosmetic_hours", "assigned_mechanic_id",
    "assigned_detailer_id", "parts_ordered_seller_at", "parts_arrived_seller_at",
    "parts_ordered_prep_at", "parts_arrived_prep_at", "parts_notes", "arrived_prep_center_at",
    "inspection_completed_at", "inspection_approved", "inspection_notes", "technical_started_at",
    "technical_completed_at", "cosmetic_started_at", "cosmetic_completed_at", "technical_notes",
    "cosmetic_notes", "registered_at", "ready_for_delivery_at", "delivered_to_dealership_at",
    "sold_at", "delivered_to_customer_at", "archived_at", "expected_delivery_date", "in_transit_at",
    "status_changed_at", "created_at", "updated_at",
]  # fmt: skip
C = {name: i for i, name in enumerate(CAR_COLS)}
SHARING_COLS = [
    "id", "provider_dealership_id", "consumer_dealership_id", "resource_type_id", "enabled",
    "max_hours_per_week", "priority", "notes", "created_at", "updated_at",
]  # fmt: skip
CAPACITY_COLS = [
    "id", "dealership_id", "resource_type_id", "date", "allocated_hours", "used_hours", "user_id",
    "recurrence_pattern", "created_at", "updated_at",
]  # fmt: skip
BOOKING_COLS = [
    "id", "car_id", "resource_type_id", "date", "start_time", "estimated_hours",
    "provider_dealership_id", "consumer_dealership_id", "user_id", "status", "actual_hours",
    "completed_at", "notes", "created_at", "updated_at",
]  # fmt: skip
CAR_ACCESS_COLS = ["car_id", "dealership_id"]
TIMEBANK_COLS = [
    "id", "user_id", "date", "resource_type_id", "hours", "booking_id", "started_at", "ended_at",
    "notes", "created_at", "updated_at",
]  # fmt: skip
# booking list slots while generating (ids and start times come last)
B_CAR, B_RT, B_DAY, B_START, B_HOURS, B_PROV, B_CONS, B_USER, B_STATUS, B_NOTES, B_CREATED = range(
    11
)

# column kinds for the drivers: u uuid, d date, t time, ts timestamp, j json, b bool
KINDS: dict[str, dict[str, str]] = {
    "dealership": {"does_own_prep": "b", "active": "b", "brand_colors": "j"},
    "resource_types": {
        "active": "b",
        "is_productive": "b",
        "bookable": "b",
        "requires_assignment": "b",
    },
    "users": {"id": "u", "active": "b"},
    "cars": {
        "seller_id": "u",
        "accessories": "j",
        "scheduled_technical_date": "d",
        "scheduled_technical_time": "t",
        "scheduled_cosmetic_date": "d",
        "scheduled_cosmetic_time": "t",
        "assigned_mechanic_id": "u",
        "assigned_detailer_id": "u",
        "inspection_approved": "b",
        "expected_delivery_date": "d",
    },
    "resource_sharing": {"enabled": "b"},
    "resource_capacities": {"date": "d", "user_id": "u", "recurrence_pattern": "j"},
    "resource_bookings": {"date": "d", "start_time": "t", "user_id": "u"},
    "car_access": {},
    "timebank_entries": {"date": "d", "user_id": "u"},
}
for _cols, _table in (
    (CAR_COLS, "cars"),
    (DEALERSHIP_COLS, "dealership"),
    (RESOURCE_TYPE_COLS, "resource_types"),
    (USER_COLS, "users"),
    (SHARING_COLS, "resource_sharing"),
    (CAPACITY_COLS, "resource_capacities"),
    (BOOKING_COLS, "resource_bookings"),
    (TIMEBANK_COLS, "timebank_entries"),
):
    for _name in _cols:
        if _name.endswith("_at"):
            KINDS[_table].setdefault(_name, "ts")


class Generator:
    def __init__(self, sizes: Sizes, seed: int) -> None:
        from db.clock import local_today, utcnow

        self.sizes = sizes
        self.rng = random.Random(seed)
        self.now = utcnow().replace(microsecond=0)
        self.today = local_today()
        past = round(sizes.days * 300 / 365)
        self.first_day = self.today - timedelta(days=past)
        self.last_day = self.first_day + timedelta(days=sizes.days - 1)
        self.work_days = [
            d
            for d in (self.first_day + timedelta(days=i) for i in range(sizes.days))
            if d.weekday() < 5
        ]
        # any calendar day in the window -> index of the working day on or after it
        self.day_index: dict[date, int] = {}
        j = 0
        for i in range(sizes.days + 7):
            d = self.first_day + timedelta(days=i)
            while j < len(self.work_days) and self.work_days[j] < d:
                j += 1
            self.day_index[d] = j  # len(work_days) when past the window
        self.today_index = self.day_index.get(self.today, 0)
        self.data = Data()
        self.rt: dict[str, int] = {}
        self.staff: dict[int, dict[str, list[uuid.UUID]]] = {}  # center -> staff kind -> users
        self.sellers: dict[int, list[uuid.UUID]] = {}
        self.loads: dict[tuple[int, int, int], list[float]] = {}
        self.team_used: dict[tuple[int, int, int], float] = defaultdict(float)
        self.person_day: dict[tuple[Any, int], float] = defaultdict(float)

    # -- helpers ---------------------------------------------------------------------------------
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def at(self, day: date, hour: float) -> datetime:
        return datetime.combine(day, dtime(0), tzinfo=UTC) + timedelta(hours=hour)

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    # -- dealerships -----------------------------------------------------------------------------
    def dealerships(self) -> None:
        n = self.sizes.dealerships
        n_hq = max(1, n // 10)
        n_pc = max(1, round(n * 0.15))
        n_sp = max(0, round(n * 0.2))
        n_so = max(0, n - n_hq - n_pc - n_sp)
        kinds = ["hq"] * n_hq + ["pc"] * n_pc + ["sp"] * n_sp + ["so"] * n_so
        ids = list(range(1, len(kinds) + 1))
        hqs = [i for i, k in zip(ids, kinds, strict=True) if k == "hq"]
        pcs = [i for i, k in zip(ids, kinds, strict=True) if k == "pc"]
        sps = [i for i, k in zip(ids, kinds, strict=True) if k == "sp"]
        sos = [i for i, k in zip(ids, kinds, strict=True) if k == "so"]
        self.centers = hqs + pcs + sps
        self.pcs = pcs
        order = pcs * 2 + sps + hqs
        center_of = {so: order[k % len(order)] for k, so in enumerate(sos)}
        # the first two sales-only dealerships also send some cars to a second prep center
        self.secondary = {
            so: next(c for c in self.centers[::-1] if c != center_of[so]) for so in sos[:2]
        }
        self.served: dict[int, list[int]] = {c: [] for c in self.centers}
        for c in hqs + sps:
            self.served[c].append(c)
        for so, c in center_of.items():
            self.served[c].append(so)
        self.kind = dict(zip(ids, kinds, strict=True))
        self.brand = {i: BRANDS[(i - 1) % len(BRANDS)] for i in ids}
        self.number: dict[int, str] = {}
        rows = []
        created = self.at(self.first_day - timedelta(days=400), 9)
        for i, kind in zip(ids, kinds, strict=True):
            town = TOWNS[(i - 1) % len(TOWNS)]
            if kind == "hq":
                number, name, dtype = f"{390 + 10 * i}", f"{town} HQ", "sales_and_prep"
            elif kind == "pc":
                number, name, dtype = f"{899 + i}", f"Prep Center {town}", "prep_center_only"
            else:
                number, name = f"{470 + i}", town
                dtype = "sales_and_prep" if kind == "sp" else "sales_only"
            self.number[i] = number
            parent = None if kind == "hq" else hqs[(i - 1) % len(hqs)]
            colors = None
            if kind != "pc" and i % 3:
                colors = {
                    "primary": BRAND_COLORS[i % len(BRAND_COLORS)],
                    "secondary": "#ffffff",
                    "dark": bool(i % 2),
                }
            rows.append(
                (
                    i, number, name, town, dtype, self.brand[i][0], kind != "so", True, parent,
                    center_of.get(i), colors, None, created, created,
                )
            )  # fmt: skip
        self.data.add("dealership", DEALERSHIP_COLS, rows)

    # -- resource types --------------------------------------------------------------------------
    def resource_types(self) -> None:
        rows = []
        created = self.at(self.first_day - timedelta(days=400), 10)
        self.rt_info: dict[int, tuple[str, str | None, float]] = {}
        for i, (code, name, productive, assign, hours, stage, staff, nominal) in enumerate(
            RESOURCE_TYPES, start=1
        ):
            self.rt[code] = i
            self.rt_info[i] = (code, staff, nominal)
            rows.append(
                (
                    i, code, name, f"{name} ({code})", None, None, True, productive, True, assign,
                    hours, stage, created, created,
                )
            )  # fmt: skip
        self.data.add("resource_types", RESOURCE_TYPE_COLS, rows)

    # -- users -----------------------------------------------------------------------------------
    def users(self) -> None:
        rng, rows = self.rng, []
        created = self.at(self.first_day - timedelta(days=300), 8)
        per = self.sizes.users_per_center
        seen: set[str] = set()

        def add(role: str, dealership: int | None) -> uuid.UUID:
            uid = self.uuid()
            k = 1
            where = self.number[dealership] if dealership else "hq"
            while f"{role}{k:02d}_{where}" in seen:
                k += 1
            login = f"{role}{k:02d}_{where}"
            seen.add(login)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{login}@prepfloor.example"
            rows.append(
                (uid, login, f"{first} {last}", email, role, dealership, True, None, None, 0,
                 None, created, created)
            )  # fmt: skip
            return uid

        for d, kind in self.kind.items():
            if kind == "so":
                sellers = [add("seller", d) for _ in range(max(1, round(per / 6)))]
                self.sellers[d] = [*sellers, add("manager", d)]
                add("coordinator", d)
                continue
            share = {"coordinator": 0.10, "mechanic": 0.45, "detailer": 0.30, "manager": 0.05}
            share["seller"] = 0.10 if kind != "pc" else 0.0
            if kind == "pc":
                share["mechanic"] += 0.10
            counts = {role: max(1, round(per * f)) if f else 0 for role, f in share.items()}
            made = {role: [add(role, d) for _ in range(n)] for role, n in counts.items()}
            self.staff[d] = {
                "mechanic": made["mechanic"],
                "detailer": made["detailer"],
                "floor": made["mechanic"] + made["detailer"],
            }
            if kind != "pc":
                self.sellers[d] = made["seller"] + made["manager"]
        for _ in range(2):
            add("admin", None)
        self.data.add("users", USER_COLS, rows)

    # -- capacity bookkeeping --------------------------------------------------------------------
    def place(self, center: int, rt: int, day_i: int, hours: float) -> tuple[int, Any] | None:
        """A working day (``day_i`` or a later one) and a person for ``hours`` of work."""
        _code, staff, nominal = self.rt_info[rt]
        while day_i < len(self.work_days):
            if staff is None:
                self.team_used[(center, rt, day_i)] += hours
                return day_i, None
            people = self.staff[center][staff]
            key = (center, rt, day_i)
            loads = self.loads.get(key)
            if loads is None:
                loads = self.loads[key] = [0.0] * len(people)
            totals = self.person_day
            p = self.rng.randrange(len(people))
            if loads[p] + hours > nominal or totals[(people[p], day_i)] + hours > PERSON_DAY_LIMIT:
                free = [
                    k
                    for k in range(len(people))
                    if totals[(people[k], day_i)] + hours <= PERSON_DAY_LIMIT
                    and loads[k] + hours <= max(nominal, PERSON_TYPE_LIMIT)
                ]
                p = min(free, key=loads.__getitem__) if free else -1
            if p >= 0:
                loads[p] += hours
                totals[(people[p], day_i)] += hours
                self.team_used[key] += hours
                return day_i, people[p]
            day_i += 1
        return None

    # -- cars and their bookings -----------------------------------------------------------------
    def vin(self, index: int, wmi: str, year: int) -> str:
        rng = self.rng
        serial = (index * 7_368_787 + 1_234_567) % 33**6  # a bijection: every car its own tail
        tail = ""
        for _ in range(6):
            serial, digit = divmod(serial, 33)
            tail = VIN_CHARS[digit] + tail
        vds = "".join(rng.choice(VIN_CHARS) for _ in range(5))
        year_code = {2025: "S", 2026: "T", 2027: "V"}[year]
        return f"{wmi}{vds}{rng.choice(VIN_CHARS)}{year_code}{rng.choice(VIN_CHARS)}{tail}"

    def cars_and_bookings(self) -> None:
        rng, now, sizes = self.rng, self.now, self.sizes
        reg_start = self.at(self.first_day, 8) - timedelta(days=2)
        span = (now - timedelta(hours=1) - reg_start).total_seconds()
        horizon = now + timedelta(days=21)
        cars: list[list[Any]] = []
        bookings: list[list[Any]] = []
        rt = self.rt

        def book(
            car: list[Any], code: str, day: date, hours: float, provider: int | None = None
        ) -> None:
            if day > self.last_day:
                return
            day_i = self.day_index.get(day, 0) if day >= self.first_day else 0
            if day.weekday() >= 5:  # weekend work is spread over the next week's working days
                day_i += rng.randrange(5)
            provider = provider or car[C["prep_center_id"]]
            placed = self.place(provider, rt[code], day_i, hours)
            if placed is None:
                return
            day_i, user = placed
            bookings.append(
                [car, rt[code], day_i, None, hours, provider, car[C["dealership_id"]], user,
                 None, None, None]
            )  # fmt: skip

        for index in range(sizes.cars):
            center = rng.choice(self.centers)
            dealer = rng.choice(self.served[center])
            prep = center
            if dealer in self.secondary and rng.random() < 0.05:
                prep = self.secondary[dealer]
            brand, wmi, models = self.brand[dealer]
            year = rng.choice((2025, 2026, 2026, 2027))
            first, last = rng.choice(FIRST), rng.choice(LAST)
            r = reg_start + timedelta(seconds=rng.random() * span)
            car: list[Any] = [None] * len(CAR_COLS)
            car[C["vin"]] = self.vin(index, wmi, year)
            car[C["license_plate"]] = (
                f"{rng.choice(PLATE_LETTERS)}{rng.choice(PLATE_LETTERS)} {rng.randrange(10000, 99999)}"
                if rng.random() < 0.9
                else None
            )
            car[C["brand"]] = brand
            car[C["model"]] = rng.choice(models)
            car[C["model_year"]] = year
            car[C["color"]] = rng.choice(COLORS)
            car[C["order_number"]] = f"{self.number[dealer]}-{index + 1:07d}"
            car[C["customer_name"]] = f"{first} {last}"
            car[C["customer_phone"]] = f"+47 9{rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(100, 999)}"  # fmt: skip
            car[C["customer_email"]] = f"{first}.{last}{index}@kunde.example".lower()
            car[C["dealership_id"]] = dealer
            car[C["seller_id"]] = rng.choice(self.sellers[dealer])
            car[C["car_type"]] = rng.choices(("new", "used", "demo", "certified"), (70, 20, 7, 3))[
                0
            ]
            car[C["accessories"]] = (
                rng.sample(ACCESSORIES, rng.randint(1, 3)) if rng.random() < 0.4 else None
            )
            car[C["prep_center_id"]] = prep
            car[C["expected_delivery_date"]] = (r + timedelta(days=21)).date()
            car[C["created_at"]] = r - self.hours(0.1, 48)
            cars.append(car)
            kind = rng.random()
            if kind < 0.02:  # a draft: nothing registered yet
                car[C["status"]] = "draft"
                if rng.random() < 0.3:
                    car[C["vin"]] = None
                car[C["status_changed_at"]] = car[C["updated_at"]] = car[C["created_at"]]
                continue
            stages: list[tuple[str, datetime]] = [("registered", r)]
            stamps: dict[str, datetime] = {"registered_at": r}
            if kind < 0.04:  # an order cancelled before the car arrived
                stages.append(("archived", r + self.hours(24, 30 * 24)))
                stamps["archived_at"] = stages[-1][1]
                self._finish(car, stages, stamps)
                continue
            t = r
            if rng.random() < 0.7:
                t = r + self.hours(4, 72)
                stages.append(("in_transit", t))
                stamps["in_transit_at"] = t
            arrived = t + self.hours(24, 200)
            stages.append(("at_prep_center", arrived))
            stamps["arrived_prep_center_at"] = arrived
            inspect = arrived + self.hours(1, 24)
            stages.append(("inspection", inspect))
            inspected = inspect + self.hours(0.5, 24)
            stamps["inspection_completed_at"] = inspected
            ready_for_tech = inspected
            if rng.random() < 0.1:  # parts ordered by the seller
                ordered = r + self.hours(1, 48)
                stamps["parts_ordered_seller_at"] = ordered
                stamps["parts_arrived_seller_at"] = ordered + self.hours(48, 240)
                ready_for_tech = max(ready_for_tech, stamps["parts_arrived_seller_at"])
            if rng.random() < 0.25:  # parts ordered by the prep center
                ordered = inspected + self.hours(0.1, 4)
                stamps["parts_ordered_prep_at"] = ordered
                stamps["parts_arrived_prep_at"] = ordered + self.hours(24, 168)
                ready_for_tech = max(ready_for_tech, stamps["parts_arrived_prep_at"])
            if ready_for_tech > inspected:
                waiting_from = stamps.get("parts_ordered_prep_at", inspected + self.hours(0.1, 2))
                waiting_from = min(waiting_from, ready_for_tech)
                stages.append(("parts_ordered", waiting_from))
            tech_start = ready_for_tech + self.hours(1, 48)
            stages.append(("technical_prep", tech_start))
            stamps["technical_started_at"] = tech_start
            tech_end = tech_start + self.hours(3, 60)
            stamps["technical_completed_at"] = tech_end
            cosmetic = rng.random() < 0.85
            if cosmetic:
                stages.append(("cosmetic_prep", tech_end))
                stamps["cosmetic_started_at"] = tech_end
                ready = tech_end + self.hours(2, 30)
                stamps["cosmetic_completed_at"] = ready
            else:
                ready = tech_end
            stages.append(("ready_for_delivery", ready))
            stamps["ready_for_delivery_at"] = ready
            stamps["delivered_to_dealership_at"] = ready + self.hours(4, 48)
            stamps["sold_at"] = stamps["delivered_to_dealership_at"] + self.hours(1, 72)
            delivered = stamps["sold_at"] + self.hours(1, 96)
            stages.append(("delivered", delivered))
            stamps["delivered_to_customer_at"] = delivered
            archived = delivered + timedelta(days=rng.uniform(60, 300))
            stages.append(("archived", archived))
            stamps["archived_at"] = archived
            self._finish(car, stages, stamps)

            # bookings for the work that has happened or is planned within three weeks
            if inspect <= horizon:
                book(car, "INSPECTION", inspect.date(), rng.choice((0.5, 0.75, 1.0, 1.0, 1.25)))
            if tech_start <= horizon:
                days = self._days_between(tech_start, tech_end)
                total = rng.choice((1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0))
                self._chunks(car, "TECH_PREP", days, total, rng.choice((1, 1, 2, 2, 3)), book)
                if car[C["accessories"]]:
                    # a few cars get their accessories fitted at another prep center (a provider
                    # that is neither the car's dealership nor its prep center)
                    elsewhere = None
                    if rng.random() < 0.05:
                        elsewhere = rng.choice([c for c in self.centers if c != prep])
                    for _ in range(rng.choice((1, 1, 2))):
                        hours = rng.choice((0.5, 1.0, 1.5))
                        book(car, "ACCESSORY_FIT", rng.choice(days), hours, elsewhere)
            if cosmetic and tech_end <= horizon:
                days = self._days_between(tech_end, ready)
                total = rng.choice((1.0, 1.5, 2.0, 2.5, 3.0))
                self._chunks(car, "COSMETIC", days, total, rng.choice((1, 1, 2)), book)
            if ready <= horizon:
                book(car, "WASH", ready.date(), 0.5)
                if rng.random() < 0.3:
                    book(car, "WASH", (ready + timedelta(days=1)).date(), 0.5)

        # ids in the order the cars were created (the list shows the newest first)
        cars.sort(key=lambda c: c[C["created_at"]])
        for i, car in enumerate(cars, start=1):
            car[C["id"]] = i
        self.cars, self.bookings = cars, bookings

    def _finish(
        self, car: list[Any], stages: list[tuple[str, datetime]], stamps: dict[str, datetime]
    ) -> None:
        """The status is the last stage reached by now; later stamps are left empty."""
        now = self.now
        reached = [(s, t) for s, t in stages if t <= now]
        status, changed = reached[-1] if reached else ("draft", car[C["created_at"]])
        car[C["status"]] = status
        for name, value in stamps.items():
            if value <= now:
                car[C[name]] = value
        if car[C["inspection_completed_at"]] is not None:
            car[C["inspection_approved"]] = True
        car[C["status_changed_at"]] = changed
        car[C["updated_at"]] = changed

    def _days_between(self, start: datetime, end: datetime) -> list[date]:
        first, last = start.date(), max(start.date(), end.date())
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [d for d in days if d.weekday() < 5] or [first]

    def _chunks(
        self,
        car: list[Any],
        code: str,
        days: list[date],
        total: float,
        parts: int,
        book: Callable[[list[Any], str, date, float], None],
    ) -> None:
        quarters = round(total * 4)
        parts = max(1, min(parts, quarters))
        cuts = sorted(self.rng.sample(range(1, quarters), parts - 1)) if parts > 1 else []
        sizes = [(b - a) / 4 for a, b in zip([0, *cuts], [*cuts, quarters], strict=True)]
        for k, hours in enumerate(sizes):
            book(car, code, days[min(len(days) - 1, k * len(days) // len(sizes))], hours)

    def lunches(self, count: int) -> None:
        """Lunch breaks booked for the floor staff (a share of person-days, seeded)."""
        rt = self.rt["LUNCH"]
        slots = [(c, p) for c in self.centers for p in self.staff[c]["floor"]]
        space = len(slots) * len(self.work_days)
        for k in self.rng.sample(range(space), min(count, space)):
            (center, person), day_i = slots[k % len(slots)], k // len(slots)
            key = (center, rt, day_i)
            loads = self.loads.get(key)
            if loads is None:
                loads = self.loads[key] = [0.0] * len(self.staff[center]["floor"])
            loads[self.staff[center]["floor"].index(person)] += 0.5
            self.team_used[key] += 0.5
            self.bookings.append(
                [None, rt, day_i, dtime(11, 30), 0.5, center, center, person, None, None, None]
            )

    def extras(self, target: int) -> None:
        """Reach ``target`` bookings: split some bookings in two (same day, same person: the
        ledger does not change) and add cancelled and no-show bookings (they hold nothing)."""
        rng, bookings = self.rng, self.bookings
        base = len(bookings)
        if base == 0:
            return
        while len(bookings) < target:
            b = bookings[rng.randrange(base)]
            if rng.random() < 0.25 and b[B_CAR] is not None:
                copy = list(b)
                copy[B_DAY] = max(0, b[B_DAY] - rng.randint(1, 5))
                copy[B_STATUS] = "no_show" if rng.random() < 0.15 else "cancelled"
                copy[B_NOTES] = (
                    "No-show: the car was not there"
                    if copy[B_STATUS] == "no_show"
                    else "Cancelled: moved to another day"
                )
                if copy[B_STATUS] == "no_show" and copy[B_DAY] >= self.today_index:
                    copy[B_STATUS], copy[B_NOTES] = "cancelled", "Cancelled: customer asked"
                bookings.append(copy)
            elif b[B_HOURS] >= 0.5 and b[B_CAR] is not None:
                quarters = round(b[B_HOURS] * 4)
                first = rng.randint(1, quarters - 1) / 4
                part = list(b)
                part[B_HOURS] = b[B_HOURS] - first
                b[B_HOURS] = first
                bookings.append(part)

    def finish_bookings(self) -> None:
        """Statuses, times, ids, and the cars' schedule fields (as ``sync_car_schedule`` sets them)."""
        rng, days, today_i = self.rng, self.work_days, self.today_index
        bookings = self.bookings
        # start times: each person's bookings of a day one after the other from 07:00
        by_person: dict[tuple[Any, int], list[list[Any]]] = defaultdict(list)
        for b in bookings:
            if b[B_USER] is not None and b[B_STATUS] is None and b[B_START] is None:
                by_person[(b[B_USER], b[B_DAY])].append(b)
        for group in by_person.values():
            minute = 7 * 60
            for b in group:
                length = round(b[B_HOURS] * 60)
                if minute < 12 * 60 and minute + length > 11 * 60 + 30:  # lunch is 11:30-12:00
                    minute = 12 * 60
                b[B_START] = dtime(minute // 60, minute % 60) if minute < 23 * 60 else None
                minute += length
        rows = []
        for b in bookings:
            day_i = b[B_DAY]
            day = days[day_i]
            car = b[B_CAR]
            status = b[B_STATUS]
            actual = completed = None
            if status is None:
                if day_i < today_i:
                    status = "completed"
                elif day_i == today_i:
                    status = rng.choice(("in_progress", "confirmed"))
                else:
                    status = "scheduled" if rng.random() < 0.7 else "confirmed"
            if status == "completed":
                actual = round(b[B_HOURS] * rng.uniform(0.7, 1.4), 2)
                completed = self.at(day, rng.uniform(12, 18))
            created = self.at(day, 7) - timedelta(days=rng.uniform(1, 14))
            if car is not None and car[C["registered_at"]] is not None:
                created = max(created, car[C["registered_at"]])
            created = min(created, self.now)
            rows.append(
                [None, car, b[B_RT], day, b[B_START], b[B_HOURS], b[B_PROV], b[B_CONS], b[B_USER], status, actual, completed,
                 b[B_NOTES], created, completed or created]
            )  # fmt: skip
        rows.sort(key=lambda row: row[13])
        for i, row in enumerate(rows, start=1):
            row[0] = i
        # the cars' schedule: the earliest holding booking per stage, the sum of its hours
        stage_of = {self.rt["TECH_PREP"]: "technical", self.rt["ACCESSORY_FIT"]: "technical"}
        stage_of[self.rt["COSMETIC"]] = "cosmetic"
        firsts: dict[tuple[int, str], list[Any]] = {}
        sums: dict[tuple[int, str], float] = defaultdict(float)
        for row in rows:
            stage = stage_of.get(row[2])
            if stage is None or row[1] is None or row[9] not in HOLDING:
                continue
            key = (id(row[1]), stage)
            sums[key] += row[5]
            first = firsts.get(key)
            if first is None or (row[3], row[4] or dtime(0), row[0]) < (
                first[3],
                first[4] or dtime(0),
                first[0],
            ):
                firsts[key] = row
        for (_, stage), row in firsts.items():
            car = row[1]
            car[C[f"scheduled_{stage}_date"]] = row[3]
            car[C[f"scheduled_{stage}_time"]] = row[4]
            car[C[f"estimated_{stage}_hours"]] = sums[(id(car), stage)]
            person = "assigned_mechanic_id" if stage == "technical" else "assigned_detailer_id"
            car[C[person]] = row[8]
        access: set[tuple[int, int]] = set()
        for row in rows:
            car = row[1]
            if car is not None:
                row[1] = car[0]
                if row[6] not in (car[C["dealership_id"]], car[C["prep_center_id"]]):
                    access.add((car[0], row[6]))
        self.data.add("car_access", CAR_ACCESS_COLS, sorted(access))
        self.data.add("cars", CAR_COLS, [tuple(c) for c in self.cars])
        self.data.add("resource_bookings", BOOKING_COLS, [tuple(r) for r in rows])
        self.booking_rows = rows

    def timebank(self) -> None:
        """The clocked hours: one closed entry per completed booking of a person (started at the
        booking's start, or 08:00, and lasting its actual hours)."""
        rows = []
        for b in self.booking_rows:
            if b[9] != "completed" or b[8] is None or b[10] is None:
                continue
            start = b[4] or dtime(8, 0)
            started = self.at(b[3], start.hour + start.minute / 60)
            ended = started + timedelta(hours=b[10])
            rows.append(
                (len(rows) + 1, b[8], b[3], b[2], b[10], b[0], started, ended, None, ended, ended)
            )
        self.data.add("timebank_entries", TIMEBANK_COLS, rows)

    def capacities(self) -> None:
        """Team and personal rows for every prep center, bookable type and working day."""
        rows: list[tuple[Any, ...]] = []
        created = self.at(self.first_day - timedelta(days=30), 8)
        wash_nominal: dict[int, float] = {}
        wash = self.rt["WASH"]
        for c in self.centers:
            total = sum(self.team_used.get((c, wash, i), 0.0) for i in range(len(self.work_days)))
            wash_nominal[c] = quarter_up(max(4.0, 1.3 * total / max(1, len(self.work_days))))
        next_id = 1
        weekly = {"type": "weekly", "days": ["monday", "tuesday", "wednesday", "thursday"]}
        weekly["days"].append("friday")
        for c in self.centers:
            for rt, (_code, staff, nominal) in self.rt_info.items():
                people = self.staff[c][staff] if staff else []
                team_nominal = nominal * len(people) if staff else wash_nominal[c]
                pattern = weekly | {"hours": team_nominal}
                for day_i, day in enumerate(self.work_days):
                    used = self.team_used.get((c, rt, day_i), 0.0)
                    rows.append(
                        (next_id, c, rt, day, max(team_nominal, used), used, None, pattern,
                         created, created)
                    )  # fmt: skip
                    next_id += 1
                    if not people:
                        continue
                    loads = self.loads.get((c, rt, day_i))
                    for p, uid in enumerate(people):
                        used_p = loads[p] if loads else 0.0
                        rows.append(
                            (next_id, c, rt, day, max(nominal, used_p), used_p, uid, None,
                             created, created)
                        )  # fmt: skip
                        next_id += 1
        self.data.add("resource_capacities", CAPACITY_COLS, rows)

    def sharing(self) -> None:
        """An agreement for every provider, consumer and type that bookings use across
        dealerships (cap 30 % above the busiest week), plus a few unused and switched-off ones."""
        weekly: dict[tuple[int, int, int, tuple[int, int]], float] = defaultdict(float)
        pairs: set[tuple[int, int, int]] = set()
        for row in self.booking_rows:
            if row[6] != row[7]:
                pairs.add((row[6], row[7], row[2]))
                if row[9] in HOLDING:
                    iso = row[3].isocalendar()
                    weekly[(row[6], row[7], row[2], (iso.year, iso.week))] += row[5]
        busiest: dict[tuple[int, int, int], float] = defaultdict(float)
        for (p, c, rt, _), hours in weekly.items():
            busiest[(p, c, rt)] = max(busiest[(p, c, rt)], hours)
        for so, center in self.secondary.items():  # the overflow agreements, even if unused
            for code in ("TECH_PREP", "COSMETIC", "WASH", "INSPECTION", "ACCESSORY_FIT"):
                pairs.add((center, so, self.rt[code]))
        extra = [(self.centers[0], so, self.rt["COSMETIC"]) for so in list(self.secondary)[:1]]
        rows = []
        created = self.at(self.first_day - timedelta(days=60), 9)
        for i, (p, c, rt) in enumerate(sorted(pairs | set(extra)), start=1):
            cap = quarter_up(max(10.0, 1.3 * busiest.get((p, c, rt), 0.0)))
            enabled = (p, c, rt) in pairs
            priority = self.rng.randrange(10, 95)
            note = None if enabled else "Paused while the provider is short of staff"
            rows.append((i, p, c, rt, enabled, cap, priority, note, created, created))
        self.data.add("resource_sharing", SHARING_COLS, rows)


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------
LOAD_ORDER = [
    "dealership",
    "resource_types",
    "users",
    "cars",
    "resource_sharing",
    "resource_capacities",
    "resource_bookings",
    "car_access",  # when the schema has it (db/car_access.py)
    "timebank_entries",
]
BIG_TABLES = ("cars", "resource_bookings", "resource_capacities", "timebank_entries")


def schema_tables(names: Iterable[str]) -> list[str]:
    """The tables of ``names`` that the schema of this prepfloor has."""
    from sqlmodel import SQLModel

    import db.models  # noqa: F401  (the tables)

    return [t for t in names if t in SQLModel.metadata.tables]


def loaded_tables(data: Data) -> list[str]:
    return [t for t in schema_tables(LOAD_ORDER) if t in data.tables]


def _sqlite_converters(table: str, columns: list[str]) -> list[Callable[[Any], Any] | None]:
    def ts(v: datetime | None) -> str | None:
        return None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    day_cache: dict[date, str] = {}

    def day(v: date | None) -> str | None:
        if v is None:
            return None
        found = day_cache.get(v)
        if found is None:
            found = day_cache[v] = v.isoformat()
        return found

    def tm(v: dtime | None) -> str | None:
        return None if v is None else v.strftime("%H:%M:%S.%f")

    def uid(v: uuid.UUID | None) -> str | None:
        return None if v is None else v.hex

    def js(v: Any) -> str | None:
        return None if v is None else json.dumps(v)

    def boolean(v: bool | None) -> int | None:
        return None if v is None else int(v)

    by_kind = {"ts": ts, "d": day, "t": tm, "u": uid, "j": js, "b": boolean}
    return [by_kind.get(KINDS[table].get(c, "")) for c in columns]


def _convert(rows: Iterable[tuple[Any, ...]], converters: list[Any]) -> Iterable[tuple[Any, ...]]:
    todo = [(i, f) for i, f in enumerate(converters) if f is not None]
    for row in rows:
        out = list(row)
        for i, f in todo:
            out[i] = f(out[i])
        yield tuple(out)


def write_sqlite(path: str, data: Data, watch: _common.Stopwatch, analyze: bool) -> None:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA temp_store = MEMORY")
    # the kept totals are built once after the load (rebuild_totals), not row by row
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'prepfloor_totals%'"
    ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    with watch("drop secondary indexes"):
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({','.join(repr(t) for t in BIG_TABLES)})"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    conn.execute("BEGIN")
    for table in loaded_tables(data):
        columns, rows = data.tables[table]
        with watch(f"{table} ({len(rows):,} rows)"):
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
            conn.executemany(sql, _convert(rows, _sqlite_converters(table, columns)))
    conn.execute("COMMIT")
    with watch(f"rebuild {len(indexes)} indexes"):
        for _, sql in indexes:
            conn.execute(sql)
    if analyze:
        with watch("ANALYZE"):
            conn.execute("ANALYZE")
    with watch("journal_mode = WAL"):
        conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def write_postgres(url: str, data: Data, watch: _common.Stopwatch) -> None:
    import psycopg

    with psycopg.connect(_common.libpq(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        # prepfloor's own rows, already counted: the triggers for other writers (db/triggers.py)
        # leave them alone, and a bulk load needs no row triggers at all
        conn.execute("SET prepfloor.writer = 'prepfloor'")
        conn.execute("SET session_replication_role = replica")
        with watch("drop secondary indexes"):
            indexes = conn.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                (list(BIG_TABLES),),
            ).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
        for table in loaded_tables(data):
            columns, rows = data.tables[table]
            with watch(f"{table} ({len(rows):,} rows)"):
                kinds = KINDS[table]
                jcols = [i for i, c in enumerate(columns) if kinds.get(c) == "j"]
                sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                with conn.cursor().copy(sql) as copy:
                    for row in rows:
                        if jcols:
                            row = list(row)
                            for i in jcols:
                                if row[i] is not None:
                                    row[i] = json.dumps(row[i])
                        copy.write_row(row)
        with watch(f"rebuild {len(indexes)} indexes"):
            for _, sql in indexes:
                conn.execute(sql)
        with watch("sequences"):
            for table in loaded_tables(data):
                if "id" in data.tables[table][0] and table != "users":  # users: uuid keys
                    conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
        conn.commit()
    with psycopg.connect(_common.libpq(url), autocommit=True) as conn, watch("VACUUM ANALYZE"):
        conn.execute("VACUUM ANALYZE")


def rebuild_totals(url: str) -> None:
    """Fill the totals the database keeps (db.totals) from the loaded rows, and put their
    triggers back: the load went around them (SQLite: dropped; PostgreSQL: replica role)."""
    from db import totals
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            totals.rebuild(connection)
    finally:
        engine.dispose()


def row_counts(url: str) -> dict[str, int]:
    from db.fast import FastReader

    reader = FastReader(url)
    try:
        return {
            t: int(reader.rows(f"SELECT count(*) FROM {t}")[0][0])
            for t in (*schema_tables(LOAD_ORDER), "events", "notifications", "timebank_entries")
        }
    finally:
        reader.close()


def build(
    url: str,
    sizes: Sizes,
    *,
    seed: int = 20261127,
    force: bool = False,
    analyze: bool = False,
) -> dict[str, int]:
    """Create and fill the database at ``url``; returns the row counts."""
    from db.migrate import upgrade

    watch = _common.Stopwatch()
    print(
        f"building {url.split('@')[-1]}: {sizes.dealerships} dealerships, {sizes.cars:,} cars, "
        f"{sizes.bookings:,} bookings, {sizes.users_per_center} users per prep center, "
        f"{sizes.days} days of capacity (seed {seed}); code {_common.code_version()}",
        flush=True,
    )
    if _common.is_postgres(url):
        _common.create_pg_database(url, drop=force)
    else:
        from db.urls import sqlite_path

        path = Path(sqlite_path(url))
        if path.exists():
            if not force:
                raise SystemExit(f"{path} exists; use --force to replace it")
            for extra in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    with watch("migrate (db.migrate.upgrade)"):
        upgrade(url)
    # Millions of small objects and no cycles: the cyclic collector would only rescan them.
    gc.disable()
    generator = Generator(sizes, seed)
    with watch("generate dealerships, types, users"):
        generator.dealerships()
        generator.resource_types()
        generator.users()
    with watch("generate cars and their bookings"):
        generator.cars_and_bookings()
    with watch("generate lunches and extra bookings"):
        room = sizes.bookings - len(generator.bookings)
        generator.lunches(max(0, min(round(sizes.bookings * 0.1), room)))
        generator.extras(sizes.bookings)
    with watch("booking statuses, ids, car schedules"):
        generator.finish_bookings()
    with watch("clocked hours of the completed bookings"):
        generator.timebank()
    with watch("generate capacities and sharing"):
        generator.capacities()
        generator.sharing()
    data = generator.data
    if _common.is_postgres(url):
        write_postgres(url, data, watch)
    else:
        from db.urls import sqlite_path

        write_sqlite(sqlite_path(url), data, watch, analyze)
    with watch("kept totals (db.totals.rebuild)"):
        rebuild_totals(url)
    print(f"  {'total':<38} {watch.total():8.2f} s", flush=True)
    del data, generator
    gc.enable()
    counts = row_counts(url)
    print("row counts:")
    for table, n in counts.items():
        print(f"  {table:<24} {n:>12,}")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="SQLite file path or postgresql:// URL")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default sizes")
    parser.add_argument("--dealerships", type=int, help="default 20")
    parser.add_argument("--users-per-center", type=int, help="default 60 (scaled)")
    parser.add_argument("--cars", type=int, help="default 100,000 (scaled)")
    parser.add_argument("--bookings", type=int, help="default 1,000,000 (scaled)")
    parser.add_argument("--days", type=int, help="days of capacity rows, default 365")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--force", action="store_true", help="replace an existing database")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE on SQLite afterwards (prepfloor itself does not; PostgreSQL always is)",
    )
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = Sizes().scaled(args.scale)
    for name in ("dealerships", "users_per_center", "cars", "bookings", "days"):
        value = getattr(args, name)
        if value is not None:
            setattr(sizes, name, value)
    return sizes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    build(
        _common.database_url(args.db),
        sizes_from(args),
        seed=args.seed,
        force=args.force,
        analyze=args.analyze,
    )
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
