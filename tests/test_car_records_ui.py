"""The car view's records by keys: a parts order from ordered to arrived (the mechanic is told),
a customer contact, a document attached by path, and the delivery chain to ``delivered``.

A document is attached by path on a local terminal only; a ``prepfloor serve`` session picks it
from the user's own files instead (tests/test_serve_files.py)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from test_app import SIZE, settle, text_of

from db import ledger
from db.models import Car, CarDocument, CustomerCommunication, Notification, PartsOrder
from prepfloor.app import make_app
from screens.car_detail import CarDetailScreen
from screens.car_records import DocumentsDialog, PartsDialog
from screens.dialogs import ChoiceDialog, ConfirmDialog
from screens.forms import FormDialog


def rows(world: Any, model: type, **where: Any) -> list[Any]:
    def read(s: Any) -> list[Any]:
        stmt = select(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return list(s.exec(stmt.order_by(model.id)))

    return world.db.query(read)


def car(world: Any, car_id: int) -> Car:
    return world.db.query(lambda s: s.get(Car, car_id))


async def open_car(app: Any, pilot: Any, car_id: int) -> None:
    await settle(pilot, app)
    app.open_car(car_id)
    await settle(pilot, app)
    assert isinstance(app.screen, CarDetailScreen)


async def test_a_parts_order_goes_from_ordered_to_arrived_and_tells_the_mechanic(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    mechanic = ui_world["mechanic499"]
    ui_world.db.run(
        ledger.book,
        ui_world["coordinator499"],
        resource_type_id=ui_world.rt["TECH_PREP"],
        date=ui_world.day(2),
        car_id=car_id,
        user_id=mechanic.user_id,
    )
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("p")
        await settle(pilot, app)
        assert isinstance(app.screen, PartsDialog)
        await pilot.press("n")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press(*"Brake pads front", "tab", *"34116860016", "tab", "2", "tab")
        await pilot.press(*"BMW Parts Oslo", "tab", *"for the winter check", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, PartsDialog)
        (part,) = rows(ui_world, PartsOrder, car_id=car_id)
        assert (part.part_name, part.quantity, part.status, part.ordered_by) == (
            "Brake pads front",
            2,
            "ordered",
            "seller",
        )
        assert car(ui_world, car_id).parts_ordered_seller_at is not None
        assert car(ui_world, car_id).parts_arrived_seller_at is None
        await pilot.press("enter")  # next step: in transit or arrived
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("down", "enter")  # Arrived
        await settle(pilot, app)
        await pilot.press("escape")  # back on the car: the parts are listed
        await settle(pilot, app)
        assert "Brake pads front" in text_of(app) and "Arrived" in text_of(app)
    (part,) = rows(ui_world, PartsOrder, car_id=car_id)
    assert part.status == "arrived" and part.arrived_at is not None
    assert car(ui_world, car_id).parts_arrived_seller_at is not None
    told = rows(ui_world, Notification, car_id=car_id, type="parts_changed")
    assert mechanic.user_id in {n.user_id for n in told}
    assert ui_world["seller495"].user_id not in {n.user_id for n in told}  # not of her own act


async def test_a_bad_quantity_is_refused_beside_the_field_and_nothing_is_ordered(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("p", "n")
        await settle(pilot, app)
        await pilot.press(*"Wiper blades", "tab", "tab", "minus", "3", "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert str(app.screen.query_one("#msg-quantity").render()) != ""
    assert rows(ui_world, PartsOrder, car_id=car_id) == []


async def test_a_customer_contact_is_logged_from_the_car_view(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register(customer_name="Nora Berg")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("c")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        await pilot.press("tab", *"Told her the car is ready Friday", "tab", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        assert "Told her the car is ready Friday" in text_of(app)
    (contact,) = rows(ui_world, CustomerCommunication, car_id=car_id)
    assert (contact.type, contact.customer_name) == ("sms", "Nora Berg")
    assert contact.user_id == ui_world["seller495"].user_id


async def test_a_document_is_attached_by_path_and_a_missing_path_is_a_clear_error(
    ui_store, ui_world, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register()
    invoice = tmp_path / "invoice-4711.pdf"
    invoice.write_bytes(b"%PDF-1.4 prepfloor test invoice")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("d")
        await settle(pilot, app)
        assert isinstance(app.screen, DocumentsDialog)
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press(*str(tmp_path / "nothing.pdf"), "ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert "No file at" in str(app.screen.query_one("#msg-path").render())
        app.screen.query_one("#path").value = str(invoice)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, DocumentsDialog)
        assert [r.filename for r in app.screen.table.rows] == ["invoice-4711.pdf"]
    (doc,) = rows(ui_world, CarDocument, car_id=car_id)
    assert (doc.filename, doc.type, doc.filesize) == ("invoice-4711.pdf", "invoice", 31)
    assert doc.content == invoice.read_bytes()


async def test_the_delivery_chain_by_keys_ends_delivered_and_tells_the_managers(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    from test_parts_delivery import ready_for_delivery

    car_id = ready_for_delivery(ui_world)
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await open_car(app, pilot, car_id)
        await pilot.press("v")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        # handover is not offered before the car is back at the dealership (prepared at 499)
        offered = [key for key, _ in app.screen.choices]
        assert offered == ["delivered_to_dealership_at", "sold_at"]
        await pilot.press("enter")  # arrived at the dealership
        await settle(pilot, app)
        await pilot.press("v", "enter")  # sold
        await settle(pilot, app)
        await pilot.press("v")
        await settle(pilot, app)
        assert [key for key, _ in app.screen.choices] == ["delivered_to_customer_at"]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmDialog)  # it cannot be undone: asked first
        await pilot.press("y")
        await settle(pilot, app)
        assert "Delivered" in text_of(app)
    done = car(ui_world, car_id)
    assert done.status == "delivered"
    assert done.delivered_to_dealership_at <= done.sold_at <= done.delivered_to_customer_at
    told = rows(ui_world, Notification, car_id=car_id, type="delivered")
    assert ui_world["manager400"].user_id in {n.user_id for n in told}
