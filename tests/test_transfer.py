"""Export any table as CSV or JSON; import cars and capacities from CSV, all rows or none."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Date, Float, Integer, Time, Uuid, func, select, text
from sqlalchemy.types import JSON
from sqlmodel import Session
from sqlmodel import select as select_rows

from db import cars, csvfile, ledger, ledger_rows, users
from db.capacity import set_capacity
from db.errors import Invalid, NotAllowed
from db.models import TABLES, Car, Event, ResourceCapacity
from db.transfer import ImportRejected, export_columns, export_table, import_csv
from db.types import SafeJSON, UTCDateTime


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def export(world: Any, table: str, fmt: str) -> tuple[int, str]:
    out = io.StringIO()
    count = world.db.query(export_table, table, fmt, out)
    return count, out.getvalue()


def stored(world: Any, table: str) -> list[dict[str, Any]]:
    """The rows as the database holds them (the exported columns, typed by the driver)."""
    columns = export_columns(table)
    with world.db.read() as session:
        result = session.execute(select(*columns).order_by(columns[0]))
        return [dict(zip([c.name for c in columns], row, strict=True)) for row in result]


def parse_cell(column: Any, cell: str) -> Any:
    """A CSV cell read back with the column's type."""
    if cell == "":
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(cell)
    if isinstance(kind, Uuid):
        return uuid.UUID(cell)
    if isinstance(kind, JSON | SafeJSON):
        return json.loads(cell)
    if isinstance(kind, Boolean):
        assert cell in ("true", "false")
        return cell == "true"
    if isinstance(kind, Date):
        return date.fromisoformat(cell)
    if isinstance(kind, Time):
        return time.fromisoformat(cell)
    if isinstance(kind, Float):
        return float(cell)
    if isinstance(kind, Integer):
        return int(cell)
    return csvfile.unquote(cell)  # a text cell: the spreadsheet guard taken off


def parse_json_value(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        assert value.endswith("+00:00"), value  # UTC
        return datetime.fromisoformat(value)
    if isinstance(kind, Uuid):
        return uuid.UUID(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Time):
        return time.fromisoformat(value)
    return value


def some_cars(world: Any) -> list[int]:
    ids = [
        world.register(
            license_plate="EL 12345",
            model_year=2026,
            color="Portimao Blue",
            customer_name="Bjørn Ødegård",
            customer_phone="+47 912 34 567",
            customer_email="bjorn@example.no",
            accessories=["Tow bar", 'Winter wheels 19"'],
            seller_notes='Says "hi", then; leaves.\nSecond line.',
            expected_delivery_date=world.day(20),
        ),
        world.register(car_type="used", model_year=2021),
    ]
    coordinator = world["coordinator499"]
    world.db.run(
        ledger.book,
        coordinator,
        resource_type_id=world.rt["TECH_PREP"],
        date=world.day(1),
        estimated_hours=3,
        car_id=ids[0],
        user_id=world["mechanic499"].user_id,
    )
    world.db.run(
        set_capacity,
        coordinator,
        dealership_id=world.d["499"],
        resource_type_id=world.rt["COSMETIC"],
        date=world.day(2),
        allocated_hours=6,
        recurrence_pattern={"type": "weekly", "days": ["monday", "tuesday"], "hours": 6},
    )
    return ids


# ------------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", ["cars", "resource_capacities"])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_round_trips_values(world: Any, table: str, fmt: str) -> None:
    some_cars(world)
    count, body = export(world, table, fmt)
    expected = stored(world, table)
    columns = {c.name: c for c in export_columns(table)}
    assert count == len(expected) > 0
    if fmt == "csv":
        reader = csv.reader(io.StringIO(body, newline=""))
        header = next(reader)
        assert header == list(columns)
        got = [
            {name: parse_cell(columns[name], cell) for name, cell in zip(header, line, strict=True)}
            for line in reader
        ]
    else:
        records = json.loads(body)
        assert isinstance(records, list)
        got = [{k: parse_json_value(columns[k], v) for k, v in r.items()} for r in records]
    assert got == expected
    if table == "cars" and fmt == "csv":
        assert "'+47 912 34 567" in body  # a text cell a spreadsheet would read as a formula
    if table == "cars":
        car = got[0]
        assert car["accessories"] == ["Tow bar", 'Winter wheels 19"']
        assert car["customer_name"] == "Bjørn Ødegård"
        assert car["seller_notes"] == 'Says "hi", then; leaves.\nSecond line.'
        assert car["registered_at"].utcoffset().total_seconds() == 0
    else:
        assert {"type": "weekly", "days": ["monday", "tuesday"], "hours": 6} in [
            r["recurrence_pattern"] for r in got
        ]
        assert any(r["used_hours"] == 3 and r["available_hours"] == 13 for r in got)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_secrets_are_not_exported(world: Any, fmt: str) -> None:
    user = world.db.run(users.set_pin, None, world["mechanic499"].user_id, "1234")
    world.db.run(users.set_badge, None, world["mechanic499"].user_id, "0042")
    count, body = export(world, "users", fmt)
    assert count == len(world.actors)
    assert "pin_hash" not in body and "badge_hash" not in body
    assert user.pin_hash.split("$")[-1] not in body
    assert "scrypt$" not in body and "sha256$" not in body
    assert "mechanic499" in body
    _count, documents = export(world, "car_documents", fmt)
    assert "content" not in documents


def test_every_table_exports(world: Any) -> None:
    some_cars(world)
    for table in TABLES:
        for fmt in ("csv", "json"):
            count, body = export(world, table, fmt)
            assert count >= 0 and body, (table, fmt)
    count, body = export(world, "events", "json")
    assert count == len(json.loads(body)) > 10


def test_export_refuses_unknown_table_and_format(world: Any) -> None:
    with pytest.raises(Invalid, match="resource_capacities") as error:
        export(world, "capacity", "csv")
    assert "There is no table 'capacity'" in str(error.value)
    with pytest.raises(Invalid, match="csv, json"):
        export(world, "cars", "xlsx")


def test_export_streams_through_core(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ORM objects are made: the rows come from a Core select, a batch at a time."""
    some_cars(world)
    seen: list[Any] = []
    original = Session.execute

    def spy(self: Session, statement: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((statement, kwargs.get("execution_options")))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(Session, "execute", spy)
    export(world, "cars", "csv")
    statement, options = seen[-1]
    assert options and options.get("yield_per")
    assert all(not hasattr(d.get("entity"), "__table__") for d in statement.column_descriptions)


# ------------------------------------------------------------------------------------------------
# import: cars
# ------------------------------------------------------------------------------------------------
def write(tmp_path: Path, content: str, name: str = "import.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def count(world: Any, model: Any) -> int:
    return int(world.db.query(lambda s: s.scalar(select(func.count()).select_from(model))))


GOOD_CARS = (
    "vin,brand,model,model_year,color,order_number,customer_name,customer_phone,"
    "customer_email,license_plate,car_type,accessories,expected_delivery_date,seller_notes\n"
    "WBA71AW010F123456,BMW,i4 eDrive40,2026,Alpine White,495-260001,Kari Nordmann,+47 912 34 567,"
    'kari@example.no,EL 12345,new,"Tow bar;Floor mats",30.11.2026,"Full charge, please"\n'
    "WBA71AW010F654321,BMW,iX1 xDrive30,,,495-260002,Per Hansen,,,,,,,\n"
    "wmw 11dj00 0t123456,MINI,Cooper SE,2025,,495-260003,Åse Vik,,,,demo,,2026-12-01,\n"
)


def test_import_registers_every_car(world: Any, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    imported = import_csv(
        world.db,
        world["seller495"],
        "cars",
        write(tmp_path, GOOD_CARS),
        progress=lambda step, done, total: calls.append((step, done, total)),
    )
    assert imported == 3
    assert calls[0] == ("checking", 0, 3) and ("checking", 3, 3) in calls
    assert ("writing", 0, 3) in calls and calls[-1] == ("writing", 3, 3)
    with world.db.read() as session:
        rows = session.exec(select_rows(Car).order_by(Car.id)).all()
        assert [c.status for c in rows] == ["registered"] * 3
        first, _second, third = rows
        assert first.accessories == ["Tow bar", "Floor mats"]
        assert first.expected_delivery_date == date(2026, 11, 30)
        assert first.seller_notes == "Full charge, please"
        assert first.seller_id == world["seller495"].user_id
        assert first.dealership_id == world.d["495"]
        assert first.prep_center_id == world.d["499"]
        assert third.vin == "WMW11DJ000T123456"  # cleaned as on the screen
        assert third.car_type == "demo"
        registered = session.scalar(
            select(func.count()).select_from(Event).where(Event.action == "status")
        )
        assert registered == 3


def test_import_with_bad_rows_writes_nothing(world: Any, tmp_path: Path) -> None:
    world.register(vin="WBA00000000000099")  # an active car the file clashes with
    cars_before, events_before = count(world, Car), count(world, Event)
    content = (
        "vin,brand,model,order_number,customer_name,customer_email\n"
        "WBA71AW010F123456,BMW,i4,495-1,Kari Nordmann,kari@example.no\n"
        "WBA71AW010F1234O6,BMW,i4,495-2,Per Hansen,\n"  # an O in the VIN
        "WBA71AW010F999999,BMW,i4,495-3,Ola Berg,\n"
        "WBA00000000000099,BMW,X5,495-4,Nils Moe,nils@example.no\n"  # an active car's VIN
        "WBA71AW010F888888,BMW,i4,495-5,Liv Dahl,\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, content))
    problems = rejected.value.problems
    assert [n for n, _ in problems] == [3, 5]
    assert "VIN cannot contain O" in problems[0][1]
    assert "already belongs to order ORD-00001" in problems[1][1]
    assert "row 3" in str(rejected.value) and "row 5" in str(rejected.value)
    assert count(world, Car) == cars_before
    assert count(world, Event) == events_before


def test_import_reports_every_kind_of_bad_row(world: Any, tmp_path: Path) -> None:
    content = (
        "vin;brand;model;order_number;customer_name;dealership_number;seller_login\n"
        "WBA71AW010F123456;BMW;i4;1;Kari Nordmann;495;seller495\n"
        "WBA71AW010F123456;BMW;i5;2;Kari Nordmann;495;seller495\n"  # the same VIN again
        "WBA71AW010F222222;BMW;i4;3;Per Hansen;999;seller495\n"  # no such dealership
        "WBA71AW010F333333;BMW;i4;4;Ola Berg;495;nobody\n"  # no such user
        "WBA71AW010F444444;BMW;;5;;495;seller495\n"  # model and customer missing
        "\n"  # a blank line keeps its row number
        "WBA71AW010F555555;BMW;i4;6;Liv Dahl;499;seller495\n"  # not her dealership
        "WBA71AW010F666666;BMW;i4;7;Liv Dahl;495;seller495;extra\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, content))
    reasons = dict(rejected.value.problems)
    assert sorted(reasons) == [3, 4, 5, 6, 8, 9]
    assert reasons[3] == "VIN WBA71AW010F123456 is also on row 2 of this file."
    assert "no dealership number 999" in reasons[4]
    assert "no active user 'nobody'" in reasons[5]
    assert "Model is required." in reasons[6] and "Customer name is required." in reasons[6]
    assert "one of your dealerships" in reasons[8]
    assert "8 values" in reasons[9]
    assert count(world, Car) == 0


def test_import_header_problems_name_the_columns(world: Any, tmp_path: Path) -> None:
    content = "VIN,Brand,licence_plate,order_number\nWBA71AW010F123456,BMW,EL 1,1\n"
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, content))
    ((row, reason),) = rejected.value.problems
    assert row == 1
    assert "model, customer_name" in reason
    assert "licence_plate" in reason
    with pytest.raises(Invalid, match="cars, capacities"):
        import_csv(world.db, world["seller495"], "trucks", write(tmp_path, content))
    with pytest.raises(Invalid, match="empty"):
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, "", "empty.csv"))
    with pytest.raises(NotAllowed):
        import_csv(world.db, world["mechanic499"], "cars", write(tmp_path, GOOD_CARS))


def test_import_reads_excel_files(world: Any, tmp_path: Path) -> None:
    """Excel in Norway saves 'CSV' with semicolons, in Windows-1252 or UTF-8 with a BOM."""
    content = (
        "VIN;Brand;Model;Order number;Customer name;Accessories\n"
        'WBA71AW010F123456;BMW;i4;1;Bjørn Ødegård;"Tow bar;Roof rails"\n'
    )
    assert (
        import_csv(
            world.db, world["seller495"], "cars", write(tmp_path, content, encoding="cp1252")
        )
        == 1
    )
    other = content.replace("WBA71AW010F123456", "WBA71AW010F654321")
    assert (
        import_csv(
            world.db, world["seller495"], "cars", write(tmp_path, "\ufeff" + other, "bom.csv")
        )
        == 1
    )
    with world.db.read() as session:
        names = session.exec(select(Car.customer_name, Car.accessories)).all()  # type: ignore[call-overload]
    assert [tuple(n) for n in names] == [("Bjørn Ødegård", ["Tow bar", "Roof rails"])] * 2


def test_a_manager_names_the_seller(world: Any, tmp_path: Path) -> None:
    content = "vin,brand,model,order_number,customer_name\nWBA71AW010F123456,BMW,i4,1,Kari\n"
    with pytest.raises(ImportRejected, match="seller_login"):
        import_csv(world.db, world["manager400"], "cars", write(tmp_path, content))
    content = (
        "vin,brand,model,order_number,customer_name,dealership_number,seller_login\n"
        "WBA71AW010F123456,BMW,i4,1,Kari,495,seller495\n"
    )
    assert import_csv(world.db, world["manager400"], "cars", write(tmp_path, content)) == 1


# ------------------------------------------------------------------------------------------------
# import: capacities
# ------------------------------------------------------------------------------------------------
def capacity(world: Any, code: str, day: date, user: str | None = None) -> float | None:
    def read(session: Session) -> float | None:
        row = ledger_rows.capacity_row(
            session,
            world.d["499"],
            world.rt[code],
            day,
            world[user].user_id if user else None,
        )
        return row.allocated_hours if row else None

    return world.db.query(read)


def test_import_capacities(world: Any, tmp_path: Path) -> None:
    far = world.day(30)
    content = (
        "dealership_number,resource_type,date,allocated_hours,user_login\n"
        f"499,TECH_PREP,{far.isoformat()},12,\n"
        f"499,tech_prep,{far:%d.%m.%Y},6,mechanic499\n"
        f'499,COSMETIC,{far.isoformat()},"7,5",\n'
    )
    assert (
        import_csv(world.db, world["coordinator499"], "capacities", write(tmp_path, content)) == 3
    )
    assert capacity(world, "TECH_PREP", far) == 12
    assert capacity(world, "TECH_PREP", far, "mechanic499") == 6
    assert capacity(world, "COSMETIC", far) == 7.5


def test_import_capacities_refuses_a_cut_below_booked_hours(world: Any, tmp_path: Path) -> None:
    coordinator = world["coordinator499"]
    world.db.run(
        ledger.book,
        coordinator,
        resource_type_id=world.rt["TECH_PREP"],
        date=world.day(2),
        estimated_hours=6,
        user_id=world["mechanic499"].user_id,
    )
    rows_before, events_before = count(world, ResourceCapacity), count(world, Event)
    content = (
        "dealership_number,resource_type,date,allocated_hours,user_login\n"
        f"499,TECH_PREP,{world.day(3).isoformat()},10,\n"  # fine on its own
        f"499,TECH_PREP,{world.day(2).isoformat()},4,\n"  # below the 6 h booked
        f"499,TECH_PREP,{world.day(2).isoformat()},5,mechanic499\n"  # below the 6 h booked
        f"499,WELDING,{world.day(3).isoformat()},4,\n"  # no such type
        f"499,TECH_PREP,31.02.2026,4,\n"  # no such day
        f"499,TECH_PREP,{world.day(3).isoformat()},8,\n"  # row 2 again
        f"495,TECH_PREP,{world.day(3).isoformat()},8,\n"  # not the coordinator's dealership
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, coordinator, "capacities", write(tmp_path, content))
    reasons = dict(rejected.value.problems)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "6 h are already booked" in reasons[3]
    assert "6 h are already booked" in reasons[4]
    assert "WELDING" in reasons[5] and "TECH_PREP" in reasons[5]
    assert "Date" in reasons[6]
    assert "row 2" in reasons[7]
    assert "your own dealership" in reasons[8]
    # nothing written: not even row 2, which was fine
    assert capacity(world, "TECH_PREP", world.day(3)) == 16
    assert capacity(world, "TECH_PREP", world.day(2)) == 16
    assert count(world, ResourceCapacity) == rows_before
    assert count(world, Event) == events_before


def test_import_runs_every_rule(world: Any, tmp_path: Path) -> None:
    """A row is registered exactly as the screen registers it (same event, same notification)."""
    content = "vin,brand,model,order_number,customer_name\nWBA71AW010F123456,BMW,i4,1,Kari\n"
    import_csv(world.db, world["seller495"], "cars", write(tmp_path, content))
    screen_car = world.db.run(
        cars.register_car,
        world["seller495"],
        vin="WBA71AW010F654321",
        brand="BMW",
        model="i4",
        order_number="2",
        customer_name="Kari",
    )

    def notes(session: Session, car_id: int) -> list[str]:
        return [
            r[0]
            for r in session.execute(
                text("SELECT type FROM notifications WHERE car_id = :id"), {"id": car_id}
            )
        ]

    with world.db.read() as session:
        imported_id = session.scalar(select(Car.id).where(Car.order_number == "1"))
        assert notes(session, imported_id) == notes(session, screen_car.id) == ["new_order"]
