"""Directus on prepfloor's database, end to end: a real Directus writes through its REST API and
prepfloor's promises hold.

Run by ``.ci/directus-e2e``, which starts PostgreSQL, migrates a fresh database, installs and
bootstraps Directus on it under its own database role, runs ``prepfloor directus apply``, starts
Directus and sets:

- ``PREPFLOOR_E2E_DIRECTUS_URL``: Directus's address, e.g. ``http://127.0.0.1:8055``;
- ``PREPFLOOR_E2E_DIRECTUS_TOKEN``: a static token of a Directus admin;
- ``PREPFLOOR_E2E_DATABASE_URL``: the database, as prepfloor's role reaches it;
- ``PREPFLOOR_E2E_DIRECTUS_ROLE`` (optional): the database role Directus connects as, and
  ``PREPFLOOR_E2E_DIRECTUS_APP`` (optional): the application name it gives (``PGAPPNAME``);
  the audit's ``events.writer`` must name them.

Without the first three every test here is skipped.  Each run makes its own dealership, kind of
work, car and bookings, so it may run again against the same Directus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from db.urls import libpq_conninfo, normalize_url
from db.vocab import BOOKING_STATUSES, CAR_STATUS_LABELS, CAR_STATUSES

URL = os.environ.get("PREPFLOOR_E2E_DIRECTUS_URL", "").rstrip("/")
TOKEN = os.environ.get("PREPFLOOR_E2E_DIRECTUS_TOKEN", "")
DATABASE = os.environ.get("PREPFLOOR_E2E_DATABASE_URL", "")
ROLE = os.environ.get("PREPFLOOR_E2E_DIRECTUS_ROLE", "")
APP = os.environ.get("PREPFLOOR_E2E_DIRECTUS_APP", "")
CHANNEL = "prepfloor_events"
HEARD_WITHIN = 10.0  # seconds a listening session waits for a change to be announced

pytestmark = pytest.mark.skipif(
    not (URL and TOKEN and DATABASE),
    reason="Directus end-to-end: run .ci/directus-e2e (it sets PREPFLOOR_E2E_DIRECTUS_URL, "
    "PREPFLOOR_E2E_DIRECTUS_TOKEN and PREPFLOOR_E2E_DATABASE_URL)",
)


# ------------------------------------------------------------------------------------------------
# Directus's REST API and the database
# ------------------------------------------------------------------------------------------------
def rest(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request to Directus as the admin token: (HTTP status, the decoded JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        URL + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, raw.decode(errors="replace")


def ok(method: str, path: str, body: Any = None) -> Any:
    status, found = rest(method, path, body)
    assert 200 <= status < 300, (method, path, status, found)
    return found["data"] if isinstance(found, dict) and "data" in found else found


def sql(statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the database as prepfloor's role does (a plain client: it writes nothing here)."""
    with psycopg.connect(libpq_conninfo(normalize_url(DATABASE)), autocommit=True) as conn:
        return list(conn.execute(statement, params).fetchall())  # type: ignore[arg-type]


class Listener:
    """A session's ear: a connection that LISTENs on prepfloor's change channel."""

    def __init__(self) -> None:
        self.conn = psycopg.connect(libpq_conninfo(normalize_url(DATABASE)), autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")  # type: ignore[arg-type]
        self.heard: list[str] = []

    def hear(self, word: str) -> str:
        """Wait for an announcement whose payload names ``word`` (a table); return it."""
        deadline = time.monotonic() + HEARD_WITHIN
        while time.monotonic() < deadline:
            for note in self.conn.notifies(timeout=0.5, stop_after=1):
                self.heard.append(note.payload)
            for payload in self.heard:
                if word in payload.split() or word in payload:
                    return payload
        raise AssertionError(f"no {CHANNEL} announcement naming {word!r}: heard {self.heard}")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    ear = Listener()
    try:
        yield ear
    finally:
        ear.close()


@dataclass
class Scene:
    """What prepfloor made for this run: a dealership that does its own prep, a kind of work."""

    dealership_id: int
    resource_type_id: int
    day: str  # a day with no capacity yet (ISO)


@pytest.fixture(scope="module")
def scene() -> Scene:
    """A dealership and a kind of work, made through prepfloor's own rules."""
    from db import admin
    from db.clock import local_today
    from db.engine import Database

    tag = uuid.uuid4().hex[:6].upper()
    database = Database(DATABASE)
    try:
        dealer = database.run(
            admin.save_dealership,
            None,
            dealership_number=f"E2E-{tag}",
            dealership_name=f"Directus test {tag}",
            dealership_type="sales_and_prep",
            does_own_prep=True,
        ).id
        kind = database.run(
            admin.save_resource_type,
            None,
            code=f"E2E_{tag}",
            name=f"Directus test work {tag}",
            default_duration_hours=1,
        ).id
    finally:
        database.dispose()
    return Scene(dealer, kind, (local_today() + timedelta(days=7)).isoformat())


def events_of(entity: str, entity_id: object) -> list[tuple[Any, ...]]:
    return sql(
        "SELECT action, writer, car_id, user_id FROM events WHERE entity = %s AND entity_id = %s "
        "ORDER BY id",
        entity,
        str(entity_id),
    )


def assert_written_by_directus(writer: str | None) -> None:
    assert writer, "an event of a write through Directus names its writer"
    if ROLE:
        assert writer.split(" ")[0] == ROLE, writer
    if ROLE and APP:
        assert writer == f"{ROLE} ({APP})", writer


# ------------------------------------------------------------------------------------------------
# The metadata of `prepfloor directus apply`, as Directus serves it
# ------------------------------------------------------------------------------------------------
def test_directus_serves_the_choices_and_the_read_only_fields() -> None:
    status = ok("GET", "/fields/cars/status")
    assert status["meta"]["interface"] == "select-dropdown"
    choices = status["meta"]["options"]["choices"]
    assert [c["value"] for c in choices] == list(CAR_STATUSES)
    assert [c["text"] for c in choices] == [CAR_STATUS_LABELS.source(s) for s in CAR_STATUSES]
    booking = ok("GET", "/fields/resource_bookings/status")
    assert [c["value"] for c in booking["meta"]["options"]["choices"]] == list(BOOKING_STATUSES)
    available = ok("GET", "/fields/resource_capacities/available_hours")
    assert available["meta"]["readonly"] is True
    assert available["schema"]["is_generated"] is True
    assert ok("GET", "/collections/car_access")["meta"]["hidden"] is True
    assert ok("GET", "/collections/events")["meta"]["hidden"] is False
    cars = ok("GET", "/collections/cars")["meta"]
    assert cars["display_template"] == "{{brand}} {{model}} {{license_plate}}"
    relation = ok("GET", "/relations/resource_bookings/car_id")
    assert relation["meta"]["one_field"] == "bookings"


# ------------------------------------------------------------------------------------------------
# Writes through Directus
# ------------------------------------------------------------------------------------------------
def test_a_car_made_with_only_what_directus_asks_for(scene: Scene, listener: Listener) -> None:
    fields = ok("GET", "/fields/cars")
    asked = {f["field"] for f in fields if (f.get("meta") or {}).get("required")}
    assert asked == {"dealership_id"}
    car = ok("POST", "/items/cars", {"dealership_id": scene.dealership_id})
    # the database's defaults, not Directus's
    assert car["status"] == "draft" and car["car_type"] == "new"
    assert car["created_at"] and car["updated_at"]
    # the audit: one event, written by Directus's database role
    (action, writer, car_id, user_id), *more = events_of("cars", car["id"])
    assert not more and action == "create" and car_id == car["id"] and user_id is None
    assert_written_by_directus(writer)
    # a live prepfloor session hears of it
    payload = listener.hear("cars")
    assert str(car["id"]) in payload.split(), payload
    # a word outside the vocabulary is refused by Directus itself, naming the field
    status, said = rest("PATCH", f"/items/cars/{car['id']}", {"status": "lost"})
    assert status == 400, (status, said)
    assert said["errors"][0]["extensions"]["field"] == "status"
    assert sql("SELECT status FROM cars WHERE id = %s", car["id"]) == [("draft",)]


def capacity_row(scene: Scene) -> tuple[int, float, float, float]:
    (row,) = sql(
        "SELECT id, allocated_hours, used_hours, available_hours FROM resource_capacities "
        "WHERE dealership_id = %s AND resource_type_id = %s AND date = %s AND user_id IS NULL",
        scene.dealership_id,
        scene.resource_type_id,
        scene.day,
    )
    return row  # type: ignore[return-value]


def bookings_on(scene: Scene) -> int:
    return int(
        sql(
            "SELECT count(*) FROM resource_bookings WHERE provider_dealership_id = %s "
            "AND resource_type_id = %s AND date = %s",
            scene.dealership_id,
            scene.resource_type_id,
            scene.day,
        )[0][0]
    )


def test_a_booking_through_directus_keeps_the_ledger(scene: Scene, listener: Listener) -> None:
    car = ok("POST", "/items/cars", {"dealership_id": scene.dealership_id, "brand": "Volvo"})
    capacity = ok(
        "POST",
        "/items/resource_capacities",
        {
            "dealership_id": scene.dealership_id,
            "resource_type_id": scene.resource_type_id,
            "date": scene.day,
            "allocated_hours": 8,
        },
    )
    assert capacity["used_hours"] == 0 and capacity["available_hours"] == 8
    booking = {
        "car_id": car["id"],
        "resource_type_id": scene.resource_type_id,
        "date": scene.day,
        "estimated_hours": 5,
        "provider_dealership_id": scene.dealership_id,
        "consumer_dealership_id": scene.dealership_id,
    }
    made = ok("POST", "/items/resource_bookings", booking)
    assert made["status"] == "scheduled"
    # the capacity row follows, in the same transaction (migration 0011's triggers)
    assert capacity_row(scene)[1:] == (8, 5, 3)
    assert ok("GET", f"/items/resource_capacities/{capacity['id']}")["available_hours"] == 3
    (action, writer, car_id, _user), *_ = events_of("resource_bookings", made["id"])
    assert action == "create" and car_id == car["id"]
    assert_written_by_directus(writer)
    payload = listener.hear("resource_bookings")
    assert str(car["id"]) in payload.split(), payload

    # the last free hours are not enough for another 5: refused, nothing written
    status, said = rest("POST", "/items/resource_bookings", booking)
    assert 400 <= status < 600, (status, said)
    assert bookings_on(scene) == 1
    assert capacity_row(scene)[1:] == (8, 5, 3)
    # ... and Directus's own validation refuses hours the database would refuse (400, not 500)
    status, said = rest("POST", "/items/resource_bookings", {**booking, "estimated_hours": 0})
    assert status == 400, (status, said)
    assert said["errors"][0]["extensions"]["field"] == "estimated_hours"

    # cancelled through Directus: the hours are given back
    ok("PATCH", f"/items/resource_bookings/{made['id']}", {"status": "cancelled"})
    assert capacity_row(scene)[1:] == (8, 0, 8)
    # the car's page lists its bookings and its history
    page = ok("GET", f"/items/cars/{car['id']}?fields=id,bookings.id,history.entity")
    assert [b["id"] for b in page["bookings"]] == [made["id"]]
    assert {"cars", "resource_bookings"} <= {h["entity"] for h in page["history"]}


def test_prepfloor_doctor_finds_nothing_wrong(scene: Scene) -> None:
    prepfloor = Path(sys.executable).with_name("prepfloor")
    done = subprocess.run(
        [str(prepfloor), "doctor", "--db", DATABASE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s)" in done.stdout


def test_apply_again_changes_nothing() -> None:
    """Directus running, its admin token used above: ``prepfloor directus apply`` as Directus's
    role finds everything in place (it needs the role's URL: skipped without it)."""
    directus_url = os.environ.get("PREPFLOOR_E2E_DIRECTUS_DB_URL")
    if not directus_url:
        pytest.skip("PREPFLOOR_E2E_DIRECTUS_DB_URL (Directus's own database URL) is not set")
    prepfloor = Path(sys.executable).with_name("prepfloor")
    done = subprocess.run(
        [str(prepfloor), "directus", "apply", "--db", directus_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing changed" in done.stdout
