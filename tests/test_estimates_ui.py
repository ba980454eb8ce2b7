"""Estimates by keys (issue 20), on SQLite and PostgreSQL: a mechanic turns an inspection finding
into the car's draft estimate (``e`` on the checklist), adds a part on the car's estimates (``w``,
``p``) and sends it (``s``); the seller approves the labour and declines the part line by line
(``y``, ``x``) and decides (``d``): the booking exists, no part is ordered, the declined line
stays.  A booking that does not fit is said on the screen and nothing is saved."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from settling import settle
from test_app import key_on_car, text_of

from db import clock, estimates, workflow
from db.models import Estimate, EstimateLine, PartsOrder, ResourceBooking
from prepfloor.app import make_app
from screens.estimates import EstimatesScreen
from screens.forms import FormDialog
from screens.inspection import InspectionScreen
from world import T0, book, build_world, rows

SIZE = (80, 24)


@pytest.fixture
def shop(store):  # type: ignore[no-untyped-def]
    """A 499 car at the prep center with a job for Per (mechanic499) today."""
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        w = build_world(store.db, days=7)
        car = w.register(seller="seller499")
        w.db.run(workflow.move_car, w["coordinator499"], car, "at_prep_center")
        w.car = car  # type: ignore[attr-defined]
        w.job = book(w, 0, 2, car_id=car, start_time=(T0 + timedelta(hours=1)).time())  # type: ignore[attr-defined]
        yield w
    finally:
        clock.freeze(None)
        clock.set_zone(None)


async def open_estimates(app: Any, pilot: Any, car: int) -> EstimatesScreen:
    screen = await key_on_car(app, pilot, car, "w")
    assert isinstance(screen, EstimatesScreen)
    return screen


async def test_finding_to_estimate_to_approval_by_keys(store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    app = make_app(store, actor=w["mechanic499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("i")  # the job's inspection
        await settle(pilot, app)
        assert isinstance(app.screen, InspectionScreen)
        await pilot.press("x")  # the first item is critical
        await settle(pilot, app)
        await pilot.press(*"worn pads", "enter")
        await settle(pilot, app)
        await pilot.press("up", "e")  # back to it, and onto the car's estimate
        await settle(pilot, app)
        lines = rows(w, EstimateLine)
        assert len(lines) == 1 and lines[0]["kind"] == "labour"
        assert lines[0]["hours"] == 4 and lines[0]["user_id"] == w["mechanic499"].user_id
        await pilot.press("escape")
        await settle(pilot, app)
        screen = await open_estimates(app, pilot, w.car)
        assert "Draft" in text_of(app)
        await pilot.press("p")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"Brake pads", "tab", *"P-1", "tab", "end", "backspace", "2", "tab")
        await pilot.press(*"1250,50", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, EstimatesScreen)
        assert len(screen.table.rows) == 2
        assert "Total 7,301.00 NOK" in text_of(app)  # 4 h x 1,200 + 2 x 1,250.50
        await pilot.press("s")
        await settle(pilot, app)
        assert "Sent for approval" in text_of(app)
    [estimate] = rows(w, Estimate)
    assert estimate["state"] == "sent" and estimate["sent_by_id"] == w["mechanic499"].user_id

    seller = make_app(store, actor=w["seller499"])
    async with seller.run_test(size=SIZE) as pilot:
        screen = await open_estimates(seller, pilot, w.car)
        await pilot.press("y")  # approve the labour, on to the part
        await settle(pilot, seller)
        await pilot.press("x")  # decline the part
        await settle(pilot, seller)
        await pilot.press("d")
        await settle(pilot, seller)
        assert isinstance(seller.screen, FormDialog)
        await pilot.press(*"Customer agreed to the brakes only", "enter")
        await settle(pilot, seller)
        assert isinstance(seller.screen, EstimatesScreen)
        shown = text_of(seller)
        assert "Partly approved" in shown and "declined 2,501.00" in shown
    [estimate] = rows(w, Estimate)
    assert estimate["state"] == "partly_approved"
    assert estimate["decided_by_id"] == w["seller499"].user_id
    assert estimate["customer_answer"] == "Customer agreed to the brakes only"
    labour, part = rows(w, EstimateLine)
    assert labour["decision"] == "approved" and part["decision"] == "declined"
    booked = rows(w, ResourceBooking, id=labour["booking_id"])[0]
    assert booked["car_id"] == w.car and booked["estimated_hours"] == 4
    assert rows(w, PartsOrder) == []


async def test_a_booking_that_does_not_fit_is_said_and_nothing_is_saved(store, shop) -> None:  # type: ignore[no-untyped-def]
    w = shop
    draft = w.db.run(estimates.draft_for, w["coordinator499"], w.car)
    w.db.run(
        estimates.add_labour,
        w["coordinator499"],
        draft.id,
        description="Engine work",
        resource_type_id=w.rt["TECH_PREP"],
        hours=12,  # a mechanic has 8 h a day
        user_id=w["mechanic499"].user_id,
    )
    w.db.run(estimates.send, w["coordinator499"], draft.id)
    seller = make_app(store, actor=w["seller499"])
    async with seller.run_test(size=SIZE) as pilot:
        await open_estimates(seller, pilot, w.car)
        await pilot.press("a")  # approve every line
        await settle(pilot, seller)
        await pilot.press("enter")
        await settle(pilot, seller)
        dialog = seller.screen
        assert isinstance(dialog, FormDialog)  # the refusal stays beside the form
        assert "Nothing was approved: line 1 (Engine work) cannot be booked" in text_of(seller)
    [estimate] = rows(w, Estimate)
    assert estimate["state"] == "sent"
    assert [line["decision"] for line in rows(w, EstimateLine)] == ["pending"]
    assert [b["id"] for b in rows(w, ResourceBooking)] == [w.job]
