"""A small, fixed world for rule tests: the seed's dealerships, resource types, users and capacity.

* 499 Porsgrunn — sales and prep (does its own prep); the prep center of 495 and 497.
* 495 Kristiansand Vest — sales only, uses 499's prep center.  Sharing 499→495 TECH_PREP 40 h/week, priority 50.
* 497 Skien — sales only, uses 499.  Sharing 499→497 TECH_PREP 20 h/week, priority 80.
* 400 Vest HQ — headquarters (sales and prep) with 495 and 497 as branches.

Users (login = role + dealership): seller495, seller499, coordinator499, coordinator495, mechanic499,
mechanic2_499, detailer499, manager400, manager499, admin.  Capacity at 499 for the next 14 days:
TECH_PREP team 16 h, each mechanic 8 h; COSMETIC team 8 h, the detailer 8 h.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from db import admin, capacity, cars, clock, ledger, users
from db.access import Actor
from db.clock import local_today
from db.engine import Database
from db.fast import FastReader


@dataclass
class World:
    db: Database
    d: dict[str, int] = field(default_factory=dict)  # dealership number -> id
    rt: dict[str, int] = field(default_factory=dict)  # resource type code -> id
    actors: dict[str, Actor] = field(default_factory=dict)  # login -> actor
    today: date = field(default_factory=local_today)
    _fast: FastReader | None = field(default=None, repr=False)

    @property
    def fast(self) -> FastReader:
        """The screens' reader (:mod:`db.fast`) on the world's database, made when first used."""
        if self._fast is None:
            self._fast = FastReader(self.db.url)
        return self._fast

    def __getitem__(self, login: str) -> Actor:
        return self.actors[login]

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def register(self, seller: str = "seller495", **fields: object) -> int:
        """Register a car; returns its id."""
        n = (
            len(
                self.db.query(
                    lambda s: s.exec(
                        __import__("sqlmodel").select(__import__("db.models").models.Car.id)
                    ).all()
                )
            )
            + 1
        )
        values: dict[str, object] = {
            "vin": f"WBA{n:014d}",
            "brand": "BMW",
            "model": "X5",
            "order_number": f"ORD-{n:05d}",
            "customer_name": f"Customer {n}",
        }
        values.update(fields)
        return self.db.run(cars.register_car, self[seller], **values).id  # type: ignore[return-value]


def build_world(db: Database, days: int = 14) -> World:
    w = World(db)
    save = admin.save_dealership
    w.d["499"] = db.run(
        save,
        None,
        dealership_number="499",
        dealership_name="Porsgrunn",
        dealership_type="sales_and_prep",
        does_own_prep=True,
        brand="BMW",
    ).id
    w.d["400"] = db.run(
        save,
        None,
        dealership_number="400",
        dealership_name="Vest HQ",
        dealership_type="sales_and_prep",
        does_own_prep=True,
    ).id
    w.d["495"] = db.run(
        save,
        None,
        dealership_number="495",
        dealership_name="Kristiansand Vest",
        dealership_type="sales_only",
        prep_center_id=w.d["499"],
        parent_dealership_id=w.d["400"],
    ).id
    w.d["497"] = db.run(
        save,
        None,
        dealership_number="497",
        dealership_name="Skien",
        dealership_type="sales_only",
        prep_center_id=w.d["499"],
        parent_dealership_id=w.d["400"],
    ).id
    rt = admin.save_resource_type
    w.rt["TECH_PREP"] = db.run(
        rt,
        None,
        code="TECH_PREP",
        name="Technical Preparation",
        requires_assignment=True,
        default_duration_hours=4,
        prep_stage="technical",
    ).id
    w.rt["COSMETIC"] = db.run(
        rt,
        None,
        code="COSMETIC",
        name="Cosmetic Preparation",
        requires_assignment=True,
        default_duration_hours=2,
        prep_stage="cosmetic",
    ).id
    w.rt["WASH"] = db.run(
        rt,
        None,
        code="WASH",
        name="Vehicle Washing",
        is_productive=False,
        requires_assignment=False,
        default_duration_hours=0.5,
    ).id
    db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=w.d["499"],
        consumer_dealership_id=w.d["495"],
        resource_type_id=w.rt["TECH_PREP"],
        max_hours_per_week=40,
        priority=50,
    )
    db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=w.d["499"],
        consumer_dealership_id=w.d["497"],
        resource_type_id=w.rt["TECH_PREP"],
        max_hours_per_week=20,
        priority=80,
    )
    people = [
        ("seller495", "Kari Selger", "seller", "495"),
        ("seller499", "Siri Salg", "seller", "499"),
        ("coordinator499", "Ola Koordinator", "coordinator", "499"),
        ("coordinator495", "Kim Koordinator", "coordinator", "495"),
        ("mechanic499", "Per Mekaniker", "mechanic", "499"),
        ("mechanic2_499", "Pål Mekaniker", "mechanic", "499"),
        ("detailer499", "Dina Klargjør", "detailer", "499"),
        ("manager400", "Mona Leder", "manager", "400"),
        ("manager499", "Magnus Leder", "manager", "499"),
        ("admin", "Ada Admin", "admin", None),
    ]
    for login, name, role, number in people:
        db.run(
            users.create_user,
            None,
            login=login,
            display_name=name,
            role=role,
            dealership_id=w.d[number] if number else None,
        )
    for login, *_ in people:
        w.actors[login] = db.query(users.trusted_actor, login)
    coordinator = w["coordinator499"]
    for offset in range(days):
        day = w.day(offset)
        for code, team, persons in (
            ("TECH_PREP", 16, ("mechanic499", "mechanic2_499")),
            ("COSMETIC", 8, ("detailer499",)),
            ("WASH", 8, ()),
        ):
            db.run(
                capacity.set_capacity,
                coordinator,
                dealership_id=w.d["499"],
                resource_type_id=w.rt[code],
                date=day,
                allocated_hours=team,
            )
            for login in persons:
                db.run(
                    capacity.set_capacity,
                    coordinator,
                    dealership_id=w.d["499"],
                    resource_type_id=w.rt[code],
                    date=day,
                    allocated_hours=8,
                    user_id=w[login].user_id,
                )
    return w


# The rule tests run on a fixed Monday morning in UTC: Monday 7 January 2030, 07:00, ISO week 2.
T0 = datetime(2030, 1, 7, 7, 0, tzinfo=UTC)


def at(**delta: float) -> datetime:
    """Move the frozen clock to ``T0 + delta`` and return that moment."""
    moment = T0 + timedelta(**delta)
    clock.freeze(moment)
    return moment


@contextmanager
def frozen_world(db: Database, days: int = 2) -> Iterator[World]:
    """The world built with the clock frozen at ``T0`` (UTC dates); the clock is freed after."""
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield build_world(db, days=days)
    finally:
        clock.freeze(None)
        clock.set_zone(None)


def rows(w: World, model: type, **where: Any) -> list[dict[str, Any]]:
    """The rows of ``model`` matching ``where`` (``None`` matches NULL), as dicts, by id."""
    from sqlmodel import select

    def read(s: Any) -> list[dict[str, Any]]:
        stmt = select(model)
        for name, value in where.items():
            column = getattr(model, name)
            stmt = stmt.where(column.is_(None) if value is None else column == value)
        return [r.model_dump() for r in s.exec(stmt.order_by(model.id))]  # type: ignore[attr-defined]

    return w.db.query(read)


def set_fields(w: World, car_id: int, **fields: Any) -> None:
    """Write a car's fields directly (what a test needs that no rule writes)."""
    from db.models import Car

    def write(s: Any) -> None:
        car = s.get(Car, car_id)
        for name, value in fields.items():
            setattr(car, name, value)
        s.add(car)

    w.db.run(write)


def book(
    w: World,
    day: int,
    hours: float,
    person: str | None = "mechanic499",
    *,
    code: str = "TECH_PREP",
    login: str = "coordinator499",
    **kw: Any,
) -> int:
    """Book ``hours`` of ``code`` work ``day`` days from the world's today; returns its id."""
    return w.db.run(
        ledger.book,
        w[login],
        resource_type_id=w.rt[code],
        date=w.day(day),
        estimated_hours=hours,
        user_id=w[person].user_id if person else None,
        **kw,
    ).id


def ordered_car(w: World, vin: str, order_number: str, login: str = "seller495") -> int:
    """A car ordered by ``login`` (a BMW iX1 for Nora Berg); returns its id."""
    return w.db.run(
        cars.register_car,
        w[login],
        vin=vin,
        brand="BMW",
        model="iX1",
        order_number=order_number,
        customer_name="Nora Berg",
    ).id


def booking(w: World, booking_id: int) -> dict[str, Any]:
    from db.models import ResourceBooking

    return w.db.query(lambda s: s.get(ResourceBooking, booking_id).model_dump())


def ledger_errors(w: World) -> list[str]:
    """What ``prepfloor doctor`` finds wrong with the capacity ledger (nothing, we hope)."""
    from db import doctor

    return [
        f.message for f in w.db.query(lambda s: list(doctor.check_ledger(s))) if f.level == "error"
    ]
