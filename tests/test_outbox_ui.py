"""The car view's messages to the customer by keys (``m``): a preview draft edited and released,
one written by hand from a template, one cancelled; the screen and the database checked."""

from __future__ import annotations

from typing import Any

from test_app import SIZE, settle
from test_app import text_of as static_text
from test_car_records_ui import open_car, rows

from db import outbox_templates
from db.models import OutboxMessage
from prepfloor.app import make_app
from screens.car_messages import MessageEditor, MessagesDialog, PreviewDialog
from screens.dialogs import ChoiceDialog


def text_of(app: Any) -> str:
    """The Static widgets' text and, on the messages dialog, its lines as drawn."""
    shown = static_text(app)
    if isinstance(app.screen, MessagesDialog):
        table = app.screen.table
        shown += "\n".join(
            "".join(s.text for s in table.render_line(y)) for y in range(table.size.height)
        )
    return shown


def choose(world: Any, preview: bool) -> None:
    world.db.run(
        outbox_templates.save_choices,
        world["admin"],
        world.d["495"],
        milestones=["registered"],
        preview=preview,
        channel="email",
        language="en",
    )


async def test_a_draft_is_previewed_edited_and_released(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    choose(ui_world, preview=True)
    car_id = ui_world.register(customer_name="Nora Berg", customer_email="nora@example.no")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("m")
        await settle(pilot, app)
        assert isinstance(app.screen, MessagesDialog)
        assert "nora@example.no" in text_of(app) and "Draft" in text_of(app)
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, PreviewDialog)
        assert "Dear Nora Berg," in text_of(app)
        await pilot.press("escape", "e")
        await settle(pilot, app)
        assert isinstance(app.screen, MessageEditor)
        await pilot.press(*"Hello again. ", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, MessagesDialog)
        await pilot.press("r")
        await settle(pilot, app)
        assert "Queued" in text_of(app)
    (m,) = rows(ui_world, OutboxMessage, car_id=car_id)
    assert m.state == "queued" and m.body.startswith("Hello again. Dear Nora Berg,")


async def test_a_message_by_hand_from_a_template_then_cancelled(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register(customer_name="Nora Berg", customer_phone="+47 900 00 000")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("m")
        await settle(pilot, app)
        assert "No messages to the customer" in text_of(app)
        await pilot.press("n")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("down", "enter")  # SMS
        await settle(pilot, app)
        await pilot.press("down", "down", "down", "enter")  # from "Ready for delivery"
        await settle(pilot, app)
        assert isinstance(app.screen, MessageEditor)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, MessagesDialog)
        assert "+4790000000" in text_of(app) and "Queued" in text_of(app)
        (m,) = rows(ui_world, OutboxMessage, car_id=car_id)
        assert (m.channel, m.milestone) == ("sms", "manual")
        assert "klar for levering" in m.body  # the dealership's language: Norwegian
        await pilot.press("x")
        await settle(pilot, app)
        assert "Cancelled" in text_of(app)
    (m,) = rows(ui_world, OutboxMessage, car_id=car_id)
    assert m.state == "cancelled"


async def test_an_email_without_an_address_is_refused_in_the_editor(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register(customer_name="Nora Berg")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("m", "n")
        await settle(pilot, app)
        await pilot.press("enter")  # e-mail
        await settle(pilot, app)
        await pilot.press("enter")  # blank
        await settle(pilot, app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, MessageEditor)
        assert "no e-mail address" in text_of(app)
    assert rows(ui_world, OutboxMessage, car_id=car_id) == []
