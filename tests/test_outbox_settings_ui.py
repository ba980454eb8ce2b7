"""The dealership's customer messages by keys (screens/outbox_settings.py), on SQLite and
PostgreSQL: a seller chooses the milestones and edits a template from the seller's mode (``m``),
then a registered car's message has the edited wording; ``r`` resets it; an admin reaches any
dealership's from the dealership list; a refusal is said in the form, nothing saved."""

from __future__ import annotations

from typing import Any

import pytest
from settling import settle
from test_app import text_of

from db.models import OutboxMessage, OutboxSetting, OutboxTemplate
from prepfloor.app import make_app
from screens.admin import DealershipsScreen
from screens.car_messages import MessageEditor
from screens.forms import FormDialog
from screens.outbox_settings import CustomerMessagesScreen
from screens.seller import MyCarsScreen
from world import build_world, rows

SIZE = (80, 24)


@pytest.fixture
def w(store):  # type: ignore[no-untyped-def]
    return build_world(store.db, days=2)


def shown(app: Any) -> str:
    """The Static widgets' text and the list's lines as drawn."""
    text = text_of(app)
    if isinstance(app.screen, CustomerMessagesScreen):
        table = app.screen.table
        text += "\n".join(
            "".join(s.text for s in table.render_line(y)) for y in range(table.size.height)
        )
    return text


async def test_a_seller_chooses_and_edits_then_the_car_gets_the_wording(store, w) -> None:  # type: ignore[no-untyped-def]
    app = make_app(store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert isinstance(app.screen, MyCarsScreen)
        await pilot.press("m")
        await settle(pilot, app)
        assert isinstance(app.screen, CustomerMessagesScreen)
        assert "Nothing is sent by itself" in shown(app)
        assert "built-in" in shown(app)
        await pilot.press("c")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        # "Order registered" (the first field): No -> Yes; then to "Ready for delivery": Yes
        await pilot.press("enter", "up", "enter", "tab", "tab", "enter", "up", "enter")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CustomerMessagesScreen)
        assert "Sends at: Order registered, Ready for delivery" in shown(app)
        # the first line: Order registered, e-mail, Norwegian
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MessageEditor)
        assert "{customer}" in text_of(app)  # the places are explained
        await pilot.press(*"Hei {customer}, takk! ", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CustomerMessagesScreen)
        assert "own" in shown(app)
        [template] = rows(w, OutboxTemplate, dealership_id=w.d["495"])
        assert (template["milestone"], template["channel"], template["language"]) == (
            "registered",
            "email",
            "nb",
        )
        assert template["body"].startswith("Hei {customer}, takk! Hei {customer},\n")
        car_id = w.register(customer_name="Nora Berg", customer_email="nora@example.no")
        [m] = rows(w, OutboxMessage, car_id=car_id)
        assert m["state"] == "queued"
        assert m["body"].startswith("Hei Nora Berg, takk! Hei Nora Berg,\n")
        await pilot.press("r")
        await settle(pilot, app)
        assert rows(w, OutboxTemplate, dealership_id=w.d["495"]) == []
        assert "own" not in shown(app).split("Wording")[-1]
    [setting] = rows(w, OutboxSetting, dealership_id=w.d["495"])
    assert (setting["milestones"], setting["preview"], setting["channel"]) == (
        ["registered", "ready"],
        False,
        "email",
    )


async def test_an_admin_opens_a_dealerships_messages_from_the_list(store, w) -> None:  # type: ignore[no-untyped-def]
    app = make_app(store, actor=w["admin"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f7")
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
        number = app.screen.table.current.number
        await pilot.press("m")
        await settle(pilot, app)
        assert isinstance(app.screen, CustomerMessagesScreen)
        assert app.screen.dealership_id == w.d[number]
        await pilot.press("down", "down", "enter")  # Order registered, SMS, Norwegian
        await settle(pilot, app)
        assert isinstance(app.screen, MessageEditor)
        await pilot.press(*"Kort: ", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CustomerMessagesScreen)
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, DealershipsScreen)
    [template] = rows(w, OutboxTemplate, dealership_id=w.d[number])
    assert template["channel"] == "sms" and template["body"].startswith("Kort: ")


async def test_another_dealerships_choices_are_refused_in_the_form(store, w) -> None:  # type: ignore[no-untyped-def]
    app = make_app(store, actor=w["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.push_screen(CustomerMessagesScreen(app.session_ctx, w.d["499"], "499"))
        await settle(pilot, app)
        await pilot.press("c")
        await settle(pilot, app)
        await pilot.press("enter", "up", "enter", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert "for your own dealership only" in text_of(app)
    assert rows(w, OutboxSetting) == []
