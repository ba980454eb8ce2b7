"""Every text field knows its length and says it beside the field, the same on both engines.

SQLite stored any length and PostgreSQL raised ``DataError`` (a traceback in the import, a form
stuck at "Saving…"); NUL was stored by one and refused with an error by the other.  Now the rules
refuse a value longer than its column beside the field on both, and the forms say it as it is typed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from test_app import SIZE, settle
from test_car_records_ui import open_car, rows

from db.errors import InvalidFields
from db.models import Car, Dealership, PartsOrder
from prepfloor.app import make_app
from screens.forms import FormDialog
from screens.intake import IntakeScreen


def cars(world: Any) -> list[Car]:
    return world.db.query(lambda s: list(s.exec(select(Car))))


def test_a_value_longer_than_its_column_is_refused_beside_the_field(world: Any) -> None:
    with pytest.raises(InvalidFields) as refused:
        world.register(customer_name="N" * 121, brand="B" * 61)
    assert refused.value.errors == {
        "customer_name": "Customer name: at most 120 characters (121 typed).",
        "brand": "Brand: at most 60 characters (61 typed).",
    }
    world.register(customer_name="N" * 120)  # exactly the column: kept
    assert [c.customer_name for c in cars(world)] == ["N" * 120]


def test_every_write_is_held_to_its_columns_lengths(world: Any) -> None:
    """Whatever writes a row (a rule without a check of its own, a script through the rules):
    refused at the flush, naming each field, on both engines."""

    def add(session: Any) -> None:
        session.add(Dealership(dealership_number="9" * 21, dealership_name="D" * 121))
        session.flush()

    with pytest.raises(InvalidFields) as refused:
        world.db.run(add)
    assert refused.value.errors == {
        "dealership_number": "Dealership number: at most 20 characters (21 given).",
        "dealership_name": "Dealership name: at most 120 characters (121 given).",
    }


def test_nul_and_escape_sequences_are_removed_on_both_engines(world: Any) -> None:
    car_id = world.register(customer_name="Bjørn\x00 \x1b]0;x\x07Ødegård", seller_notes="a\x00b")
    car = world.db.query(lambda s: s.get(Car, car_id))
    assert car.customer_name == "Bjørn ]0;xØdegård" and car.seller_notes == "ab"


async def test_the_intake_form_says_a_too_long_field_as_it_is_typed(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        assert isinstance(app.screen, IntakeScreen)
        await pilot.press("tab", *("B" * 61))  # the brand follows the VIN
        await settle(pilot, app)
        shown = str(app.screen.query_one("#msg-brand").render())
        assert shown == "Brand: at most 60 characters (61 typed)."
        await pilot.press("backspace")
        await settle(pilot, app)
        assert str(app.screen.query_one("#msg-brand").render()) == ""


async def test_a_form_dialog_says_a_too_long_field_and_saves_nothing(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("p", "n")
        await settle(pilot, app)
        await pilot.press(*("P" * 121))
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        said = str(app.screen.query_one("#msg-part_name").render())
        assert said == "At most 120 characters (121 typed)."
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)  # still open, with what was typed
        said = str(app.screen.query_one("#msg-part_name").render())
        assert said == "Part name is at most 120 characters."
    assert rows(ui_world, PartsOrder, car_id=car_id) == []
