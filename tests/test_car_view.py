"""A car's view is read through the fast reader (``db.queries``), not the ORM.

It is the first thing a seller or coordinator opens, and loading SQLAlchemy's ORM for it cost a
session about half a second and 40 MB the first time.  The view must still show exactly what the
model holds, on both engines, and a session that only opens cars must never load the ORM.  Nor
must a workshop terminal's first screen, the mechanic's jobs, which only reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from db import queries
from db.errors import NotFound
from db.models import Car
from world import World, ordered_car, set_fields

ROOT = Path(__file__).resolve().parent.parent


def test_the_view_knows_every_column_of_the_cars_table() -> None:
    """A column added to ``cars`` must be added to the view's read too (or this fails)."""
    assert list(queries.CAR_COLUMNS) == [column.name for column in Car.__table__.columns]  # type: ignore[attr-defined]


def test_the_view_reads_each_value_as_the_model_does(world: World) -> None:
    """Every column, filled, read through the fast reader: the same value and the same type as
    the model's, on SQLite (text in the file) and PostgreSQL (typed columns)."""
    w = world
    car_id = ordered_car(w, "WBA99900011122233", "495-777")
    mechanic = w["mechanic499"].user_id
    detailer = w["detailer499"].user_id
    stamp = datetime(2030, 1, 7, 9, 15, 30, 123456, tzinfo=UTC)
    set_fields(
        w,
        car_id,
        model_year=2029,
        color="Blå",
        license_plate="EL 12345",
        customer_phone="+47 900 00 000",
        customer_email="kari@example.no",
        accessories=["Winter wheels", "Tow bar"],
        seller_notes="Line one\nline two",
        scheduled_technical_date=date(2030, 1, 8),
        scheduled_technical_time=time(9, 30),
        scheduled_cosmetic_date=date(2030, 1, 9),
        scheduled_cosmetic_time=time(13, 0),
        estimated_technical_hours=2.5,
        estimated_cosmetic_hours=1.0,
        assigned_mechanic_id=uuid.UUID(str(mechanic)),
        assigned_detailer_id=uuid.UUID(str(detailer)),
        parts_ordered_seller_at=stamp,
        inspection_completed_at=stamp,
        inspection_approved=False,
        inspection_notes="Scratch, left door",
        expected_delivery_date=date(2030, 2, 1),
        status_changed_at=stamp,
    )
    model = w.db.query(lambda s: s.get(Car, car_id))
    view = queries.car_detail(w.fast, w["admin"], car_id).car
    for name in queries.CAR_COLUMNS:
        ours, theirs = getattr(view, name), getattr(model, name)
        assert ours == theirs, name
        assert type(ours) is type(theirs), (name, type(ours), type(theirs))
    assert view.inspection_approved is False  # not 0, not None
    assert view.accessories == ["Winter wheels", "Tow bar"]


def test_the_view_names_the_people_and_dealerships_and_offers_the_moves(world: World) -> None:
    w = world
    car_id = ordered_car(w, "WBA99900011122244", "495-778")
    set_fields(w, car_id, assigned_mechanic_id=uuid.UUID(str(w["mechanic499"].user_id)))
    seller_view = queries.car_detail(w.fast, w["seller495"], car_id)
    assert seller_view.dealership.startswith("495 ")
    assert seller_view.prep_center is not None and seller_view.prep_center.startswith("499 ")
    assert seller_view.seller is not None
    assert seller_view.mechanic == "Per Mekaniker"
    assert seller_view.detailer is None
    # a registered car: the seller may send it on its way, not check it in at the prep center
    assert "in_transit" in seller_view.next_statuses
    blocked = dict(seller_view.blocked)
    assert "at_prep_center" in blocked and "prep center" in blocked["at_prep_center"]
    coordinator_view = queries.car_detail(w.fast, w["coordinator499"], car_id)
    assert "at_prep_center" in coordinator_view.next_statuses
    # the history says who did what, newest first
    assert seller_view.events and seller_view.events[0].who != "prepfloor"


def test_a_car_of_another_dealership_is_not_found(world: World) -> None:
    w = world
    car_id = ordered_car(w, "WBA99900011122255", "499-779", login="seller499")
    for read in (
        queries.car_detail,
        queries.car_parts,
        queries.car_documents,
        queries.car_estimates,
        queries.labour_options,
    ):
        with pytest.raises(NotFound, match="does not exist or is not one of your"):
            read(w.fast, w["seller495"], car_id)
    with pytest.raises(NotFound):
        queries.car_detail(w.fast, w["admin"], car_id + 1000)


READ_ONLY_SESSION = textwrap.dedent(
    """
    import asyncio, json, sys

    url, login, keys, tests, out = sys.argv[1:6]
    sys.path.insert(0, tests)
    from settling import settle

    from db.store import Store
    from prepfloor.app import make_app

    store = Store(url)
    app = make_app(store, actor=store.fast.actor(login))

    async def main():
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, app)
            await pilot.pause(0.5)  # what the first screen starts after its first frame
            await settle(pilot, app)
            screens = [type(app.screen).__name__]
            for key in filter(None, keys.split(",")):
                await pilot.press(key)
                await settle(pilot, app)
                screens.append(type(app.screen).__name__)
            await pilot.pause(0.5)  # what the last screen starts after it is shown
            await settle(pilot, app)
            detail = getattr(app.screen, "detail", None)
            summary = app.screen.query("#summary")
            report = {
                "screens": screens,
                "vin": detail.car.vin if detail is not None else None,
                "summary": str(summary.first().content) if summary else None,
                "orm": sorted(m for m in ("sqlalchemy", "sqlalchemy.orm", "sqlmodel", "db.models")
                              if m in sys.modules),
            }
        with open(out, "w") as handle:
            json.dump(report, handle)

    asyncio.run(main())
    """
)


def read_only_session(url: str, login: str, keys: str, tmp_path: Path) -> dict:
    """A session of ``login`` in a fresh interpreter, the keys pressed one by one: the screens
    after each and the ORM modules it imported."""
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", READ_ONLY_SESSION, url, login, keys, str(ROOT / "tests"), str(out)],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


def test_a_session_opens_a_car_by_keys_without_loading_the_orm(
    ui_store, ui_world, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """As a coordinator: F2, Enter on the first car; the car's view is drawn and neither
    SQLAlchemy nor the models were imported for it."""
    ordered_car(ui_world, "WBA99900011122266", "495-780")
    ui_store.close()
    report = read_only_session(sqlite_url, "coordinator499", "f2,enter", tmp_path)
    assert report["screens"][-2:] == ["CarListScreen", "CarDetailScreen"], report
    assert report["vin"] == "WBA99900011122266"
    assert report["orm"] == [], report


def test_a_seller_s_cars_their_filter_and_the_car_list_load_no_orm(
    ui_store, ui_world, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A seller opens on My cars, picks a filter (a choice that only changes what is shown) and
    opens the car list: all of it reads, and nothing loads the write path."""
    ui_store.close()
    report = read_only_session(sqlite_url, "seller499", "f,escape,f2", tmp_path)
    assert report["screens"] == ["MyCarsScreen", "ChoiceDialog", "MyCarsScreen", "CarListScreen"]
    assert report["orm"] == [], report


WRITE_PATH = ["db.models", "sqlalchemy", "sqlalchemy.orm", "sqlmodel"]


def test_the_mechanic_s_jobs_load_the_write_path_before_the_first_press(
    ui_store, ui_world, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A workshop terminal opens on the mechanic's jobs, where Enter starts the clock: the write
    path loads in the background after the first frame, with no key pressed, so the first press
    does not wait for it (it took 0.6-0.9 s of that press before)."""
    ui_store.close()
    report = read_only_session(sqlite_url, "mechanic499", "", tmp_path)
    assert report["screens"] == ["MyJobsScreen"], report
    assert report["orm"] == WRITE_PATH, report


def test_a_dialog_that_saves_loads_the_write_path_when_it_opens(
    ui_store, ui_world, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A coordinator reads a car's view without the write path; the dialog of the car's next
    status (a choice that saves) loads it as it opens, before a choice is made."""
    ordered_car(ui_world, "WBA99900011122288", "495-782")
    ui_store.close()
    report = read_only_session(sqlite_url, "coordinator499", "f2,enter", tmp_path)
    assert report["screens"][-1] == "CarDetailScreen" and report["orm"] == [], report
    report = read_only_session(sqlite_url, "coordinator499", "f2,enter,s", tmp_path)
    assert report["screens"][-1] == "ChoiceDialog", report
    assert report["orm"] == WRITE_PATH, report


def test_a_car_s_messages_to_its_customer_open_without_the_orm(
    ui_store, ui_world, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`m` on a car's view lists the messages to its customer: a read, so no write path."""
    ordered_car(ui_world, "WBA99900011122299", "495-783")
    ui_store.close()
    report = read_only_session(sqlite_url, "coordinator499", "f2,enter,m", tmp_path)
    assert report["screens"][-2:] == ["CarDetailScreen", "MessagesDialog"], report
    assert report["orm"] == [], report


def test_a_car_s_estimates_open_without_the_orm_for_who_only_reads_them(
    ui_store, ui_world, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`w` on a car's view lists its estimates: a manager only reads them, so no write path is
    loaded; the prep center's coordinator, whose keys there make and send them, loads it as the
    screen opens (before a key: the first save need not wait)."""
    from db import estimates

    w = ui_world
    car = ordered_car(w, "WBA99900011122211", "495-784")
    draft = w.db.run(estimates.draft_for, w["coordinator499"], car)
    ui_store.close()
    report = read_only_session(sqlite_url, "manager400", "f2,enter,w", tmp_path)
    assert report["screens"][-2:] == ["CarDetailScreen", "EstimatesScreen"], report
    assert report["summary"].startswith(f"Estimate #{draft.id} · Draft · 1 of 1"), report
    assert report["orm"] == [], report
    report = read_only_session(sqlite_url, "coordinator499", "f2,enter,w", tmp_path)
    assert report["screens"][-1] == "EstimatesScreen", report
    assert report["summary"].startswith(f"Estimate #{draft.id} · Draft"), report
    assert report["orm"] == WRITE_PATH, report


def test_the_history_says_yes_and_no_not_true_and_false(world: World) -> None:
    from db import events

    w = world
    car_id = ordered_car(w, "WBA99900011122277", "495-781")
    changes = {"inspection_approved": [None, False], "inspection_notes": [None, "Scratch"]}
    w.db.run(
        lambda s: events.record(
            s, w["mechanic499"], "cars", car_id, "update", changes, car_id=car_id
        )
    )
    latest = queries.car_detail(w.fast, w["admin"], car_id).events[0]
    assert latest.who == "Per Mekaniker"
    assert latest.text == "Car changed: inspection approved: — → no; inspection notes: — → Scratch"
