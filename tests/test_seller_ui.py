"""Seller mode by keys: the intake form (full intake, refused VIN, draft resumed in a second app,
discarding), validation beside the fields, and My cars (filter, search, sort, open)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from test_app import SIZE, settle

from db import cars as car_rules
from db import workflow
from db.models import Car, Notification
from prepfloor.app import make_app
from screens.car_detail import CarDetailScreen
from screens.dialogs import ChoiceDialog
from screens.intake import IntakeScreen
from screens.seller import MyCarsScreen, MyCarsTable

VIN = "WBA11122233344455"


def all_cars(world: Any) -> list[Car]:
    return world.db.query(lambda s: list(s.exec(select(Car).order_by(Car.id))))


def message(app: Any, field: str) -> str:
    return str(app.screen.query_one(f"#msg-{field}").render())


async def type_into(pilot: Any, text: str) -> None:
    await pilot.press(*text)


async def vin_typed_in_a_new_order(app: Any, pilot: Any) -> None:
    """A new order opened by ctrl+n, :data:`VIN` typed and the field left (a draft is saved)."""
    await settle(pilot, app)
    await pilot.press("ctrl+n")
    await settle(pilot, app)
    await type_into(pilot, VIN)
    await pilot.press("tab")


async def test_full_intake_by_keys_registers_the_car_and_tells_the_prep_center(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")  # seller mode: my cars
        await settle(pilot, app)
        assert isinstance(app.screen, MyCarsScreen)
        await pilot.press("n")  # one key: the intake form
        await settle(pilot, app)
        assert isinstance(app.screen, IntakeScreen)
        # VIN typed from a sticker: lower case with spaces; cleaned when the field is left.
        # What registration needs comes first: VIN, brand, model, order, customer, car type.
        await type_into(pilot, "wba 111 222 333 444 55")
        await pilot.press("tab")
        assert app.screen.query_one("#brand").value == "BMW"  # the VIN says it
        await type_into(pilot, "BMW")  # typed over all the same
        await pilot.press("tab")
        await type_into(pilot, "iX3")
        await pilot.press("tab")
        await type_into(pilot, "495-777")
        await pilot.press("tab")
        await type_into(pilot, "Nora Berg")
        await pilot.press("tab", "tab")  # car type stays "New"
        await type_into(pilot, "ev 12345")
        await pilot.press("tab")
        await type_into(pilot, "2026")
        await pilot.press("tab")
        await type_into(pilot, "Black")
        await pilot.press("tab")
        await type_into(pilot, "+47 912 34 567")
        await pilot.press("tab")
        await type_into(pilot, "nora@example.no")
        await pilot.press("tab", "tab", "tab")  # dealership and seller keep their defaults
        await type_into(pilot, "2030-01-15")
        await pilot.press("tab")
        await type_into(pilot, "Winter tyres")
        await pilot.press("enter")
        await type_into(pilot, "Tow bar")
        await pilot.press("enter")
        await type_into(pilot, "Roof box")
        await pilot.press("enter")
        await pilot.press("tab", "end", "delete")  # the list: remove the last one again
        await pilot.press("tab")
        await type_into(pilot, "Customer picks up Friday")
        await settle(pilot, app)
        assert app.screen.query_one("#vin").value == VIN
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
    found = [c for c in all_cars(ui_world) if c.status != "archived"]
    assert len(found) == 1
    car = found[0]
    assert car.status == "registered" and car.registered_at is not None
    assert car.vin == VIN and car.license_plate == "EV 12345"
    assert (car.brand, car.model, car.model_year, car.color) == ("BMW", "iX3", 2026, "Black")
    assert car.customer_email == "nora@example.no"
    assert car.accessories == ["Winter tyres", "Tow bar"]
    assert car.seller_notes == "Customer picks up Friday"
    assert str(car.expected_delivery_date) == "2030-01-15"
    assert car.seller_id == ui_world["seller495"].user_id
    # 495 is sales only: the car goes to 499's prep center, whose coordinator is told.
    assert car.prep_center_id == ui_world.d["499"]
    notes = ui_world.db.query(
        lambda s: list(s.exec(select(Notification).where(Notification.car_id == car.id)))
    )
    assert [(n.user_id, n.type) for n in notes] == [
        (ui_world["coordinator499"].user_id, "new_order")
    ]


async def test_fields_are_checked_as_typed_and_on_save_beside_the_field(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        await type_into(pilot, "WBA1234")
        assert message(app, "vin") == "7/17 characters"
        await type_into(pilot, "O")
        assert "cannot contain O" in message(app, "vin")
        await pilot.press("backspace")
        app.screen.query_one("#model_year").focus()
        await type_into(pilot, "1890")
        assert "between 1950" in message(app, "model_year")
        app.screen.query_one("#customer_email").focus()
        await type_into(pilot, "nora.example.no")
        assert "Email looks wrong" in message(app, "customer_email")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, IntakeScreen)  # nothing registered
        assert message(app, "brand") == "Brand is required."
        assert message(app, "order_number") == "Order number is required."
        assert "needs exactly 17" in message(app, "vin")
        assert "fields to fix" in str(app.screen.query_one("#state").render())
    assert [c.status for c in all_cars(ui_world)] in ([], ["draft"])
    assert all(c.vin is None and c.model_year is None for c in all_cars(ui_world))


async def test_a_vin_of_an_active_car_is_refused_with_its_order_and_a_key_to_open_it(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    existing = ui_world.register(vin=VIN, order_number="495-100")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        await type_into(pilot, VIN.lower())
        await settle(pilot, app)
        assert "Already registered: order 495-100 (registered)" in message(app, "vin")
        await pilot.press("tab")
        await settle(pilot, app)
        await pilot.press("ctrl+o")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
        assert app.screen.car_id == existing
    assert [c.id for c in all_cars(ui_world)] == [existing]  # no draft for a duplicate alone


async def test_the_vin_check_that_finds_the_forms_own_draft_does_not_refuse_the_car(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    """Leaving the VIN field saves a draft while the VIN's duplicate check runs in another
    thread; on a busy machine the check can read after the draft was committed and before the
    form knew its id, and find the draft itself.  Both orders of the two answers leave the VIN
    free, and ctrl+s registers the car (it used to be refused as a duplicate of its own draft)."""
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f3", "n")
        await settle(pilot, app)
        form = app.screen
        assert isinstance(form, IntakeScreen)
        await type_into(pilot, VIN)
        await pilot.press("tab")  # leaving the VIN saves the draft
        await settle(pilot, app)
        draft = form.car_id
        assert draft is not None
        # the check's late answer: the draft itself, after the form knew its id
        form._duplicate_found(VIN, (draft, None, "draft"))
        assert form.duplicate_car_id is None
        assert "Already registered" not in message(app, "vin")
        # and before it knew: the draft's own answer clears it
        form.duplicate_car_id = draft
        form._draft_saved(form.values(), quiet=True)
        assert form.duplicate_car_id is None
        await type_into(pilot, "BMW")
        await pilot.press("tab")
        await type_into(pilot, "iX3")
        await pilot.press("tab")
        await type_into(pilot, "495-777")
        await pilot.press("tab")
        await type_into(pilot, "Nora Berg")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen)
    assert [(c.id, c.status) for c in all_cars(ui_world)] == [(draft, "registered")]


async def test_a_draft_left_in_one_session_is_finished_in_another(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    seller = ui_world["seller495"]
    first = make_app(ui_store, actor=seller)
    async with first.run_test(size=SIZE) as pilot:
        await vin_typed_in_a_new_order(first, pilot)  # the brand: BMW from the VIN, typed over
        await type_into(pilot, "Audi")
        await pilot.press("tab")
        await settle(pilot, first)
        await type_into(pilot, "Q4 e-tr")  # the terminal closes while this field is typed
    drafts = all_cars(ui_world)
    assert [(c.status, c.vin, c.brand, c.model) for c in drafts] == [("draft", VIN, "Audi", None)]

    second = make_app(ui_store, actor=seller)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot, second)
        await pilot.press("f3")
        await settle(pilot, second)
        table = second.screen.query_one(MyCarsTable)
        assert [r.status for r in table.rows] == ["draft"]
        await pilot.press("enter")
        await settle(pilot, second)
        assert isinstance(second.screen, IntakeScreen)
        assert second.screen.query_one("#brand").value == "Audi"
        second.screen.query_one("#model").focus()
        await type_into(pilot, "Q4 e-tron")
        second.screen.query_one("#order_number").focus()
        await type_into(pilot, "495-200")
        await pilot.press("tab")
        await type_into(pilot, "Ola Nordmann")
        await pilot.press("ctrl+s")
        await settle(pilot, second)
        assert isinstance(second.screen, CarDetailScreen)
    (car,) = all_cars(ui_world)
    assert car.id == drafts[0].id  # the same order, finished
    assert (car.status, car.model, car.customer_name) == ("registered", "Q4 e-tron", "Ola Nordmann")


async def test_escape_asks_before_dropping_and_can_discard_the_order(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        await pilot.press("tab")
        await type_into(pilot, "Volvo")
        await pilot.press("tab")  # leaving a field saves the draft
        await settle(pilot, app)
        assert [(c.status, c.brand) for c in all_cars(ui_world)] == [("draft", "Volvo")]
        app.screen.query_one("#brand").focus()
        await pilot.press("end")
        await type_into(pilot, " XC40")
        await pilot.press("escape")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("escape")  # back to the form: nothing lost
        await settle(pilot, app)
        assert app.screen.query_one("#brand").value == "Volvo XC40"
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.press("down", "enter")  # "Discard this order"
        await settle(pilot, app)
        assert not isinstance(app.screen, IntakeScreen)
    (car,) = all_cars(ui_world)
    assert (car.status, car.brand) == ("archived", "Volvo")


async def test_edit_refused_when_someone_else_saved_first_shows_their_value(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    car_id = ui_world.register(color="White")
    seller = ui_world["seller495"]
    app = make_app(ui_store, actor=seller)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        app.open_intake(car_id)
        await settle(pilot, app)
        assert app.screen.editing
        app.screen.query_one("#color").focus()
        await pilot.press("ctrl+u")
        await type_into(pilot, "Red")
        ui_world.db.run(car_rules.update_car, ui_world["manager400"], car_id, color="Blue")
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert isinstance(app.screen, IntakeScreen)
        assert "Now: Blue" in message(app, "color")
        (car,) = all_cars(ui_world)
        assert car.color == "Blue"  # theirs is not overwritten silently
        await pilot.press("ctrl+s")  # a second save keeps mine, knowingly
        await settle(pilot, app)
    (car,) = all_cars(ui_world)
    assert car.color == "Red"


async def test_my_cars_filters_searches_sorts_and_opens(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    a = ui_world.register(customer_name="Anne Aas", order_number="495-001")
    b = ui_world.register(customer_name="Bjørn Berg", order_number="495-002")
    c = ui_world.register(seller="seller499", customer_name="Other Seller")
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f3")
        await settle(pilot, app)
        table = app.screen.query_one(MyCarsTable)
        ui_world.db.run(workflow.move_car, ui_world["seller495"], b, "in_transit")
        await pilot.pause(1.2)  # the change feed: the list follows within about a second
        await settle(pilot, app)
        assert [r.status for r in table.rows] == ["in_transit", "registered"]
        assert [r.id for r in table.rows] == [b, a]  # mine only, newest first
        assert c not in [r.id for r in table.rows]
        await pilot.press("4")  # sort by customer
        assert [r.id for r in table.rows] == [a, b]
        await pilot.press("4")  # again: reversed
        assert [r.id for r in table.rows] == [b, a]
        await pilot.press("slash", *"berg")
        assert [r.id for r in table.rows] == [b]
        await pilot.press("enter")  # one match: open it
        await settle(pilot, app)
        assert isinstance(app.screen, CarDetailScreen) and app.screen.car_id == b
        await pilot.press("escape")
        await settle(pilot, app)
        app.screen.query_one("#search").value = ""
        await settle(pilot, app)
        assert [r.id for r in table.rows] == [b, a]
        await pilot.press("f")
        await settle(pilot, app)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("down", "down", "down", "down", "down", "enter")  # "Registered"
        await settle(pilot, app)
        assert [r.id for r in table.rows] == [a]  # b went on the road meanwhile
        assert "1 of 2 cars · Registered" in str(app.screen.query_one("#summary").render())


async def test_the_kept_form_starts_empty_for_the_next_car(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # from the car list: on My cars (a seller's start screen) the Enter below would open the
        # draft just kept, in its form
        await pilot.press("f2")
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        first = app.screen
        await type_into(pilot, VIN)
        await pilot.press("tab")
        await type_into(pilot, "Audi")
        await pilot.press("tab")
        await settle(pilot, app)
        app.screen.query_one("#accessory-new").focus()
        await type_into(pilot, "Tow bar")
        await pilot.press("enter")
        await settle(pilot, app)
        await pilot.press("escape")
        await settle(pilot, app)
        await pilot.press("enter")  # keep it as a draft
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        form = app.screen
        assert form is first  # the same form, ready again
        assert form.car_id is None and form.accessories == []
        assert all(
            v in ("", [], None, "new")
            for k, v in form.values().items()
            if k not in ("dealership_id", "seller_id")
        )
        assert message(app, "vin") == ""
        assert app.focused is form.query_one("#vin")
        await type_into(pilot, "WBA99988877766655")
        await pilot.press("tab")
        await type_into(pilot, "Volvo")
        await pilot.press("tab")
        await settle(pilot, app)
    drafts = sorted((c.brand, c.vin) for c in all_cars(ui_world))
    assert drafts == [
        ("Audi", VIN),
        ("Volvo", "WBA99988877766655"),
    ]  # two orders, not one overwritten


async def test_a_vin_tidied_as_the_field_is_left_keeps_the_message_of_its_final_check(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    """Leaving the VIN field stores it as the rules do (upper case, no spaces) and checks it as
    final: a VIN one character short is an error then, not the count shown while typing.  The
    form's own tidying is not the seller typing: it is not checked again as if being typed."""
    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+n")
        await settle(pilot, app)
        await type_into(pilot, "wba 111 222 333 444 5")  # 16 characters, from a sticker
        assert message(app, "vin") == "16/17 characters"
        await pilot.press("tab")
        await settle(pilot, app)
        assert app.screen.query_one("#vin").value == "WBA1112223334445"
        assert "needs exactly 17" in message(app, "vin")
        # the same VIN typed as it is stored: the same message
        app.screen.query_one("#vin").focus()
        await pilot.press("ctrl+a", "backspace")
        await type_into(pilot, "WBA1112223334445")
        await pilot.press("tab")
        await settle(pilot, app)
        assert "needs exactly 17" in message(app, "vin")


async def test_the_forms_own_settings_read_the_sellers_once_and_a_draft_is_checked_as_loaded(
    ui_store, ui_world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The dealership the form sets itself (a new order's, a draft's) is not the seller's pick:
    its sellers are read once, where they were read twice, the second time by the late message
    of the form's own setting.  A draft reopened still says beside its VIN what the VIN says."""
    from db.fast import FastReader

    reads: list[int] = []
    sellers = FastReader.sellers

    def counted(self: Any, dealership_id: int) -> Any:
        reads.append(dealership_id)
        return sellers(self, dealership_id)

    monkeypatch.setattr(FastReader, "sellers", counted)
    seller = ui_world["seller495"]
    app = make_app(ui_store, actor=seller)
    async with app.run_test(size=SIZE) as pilot:
        await vin_typed_in_a_new_order(app, pilot)  # leaving the VIN saves the draft
        assert reads == [seller.dealership_id]
        await settle(pilot, app)
        assert message(app, "vin").startswith("✓ BMW")
        await pilot.press("escape")
        await settle(pilot, app)
    (draft,) = all_cars(ui_world)
    assert draft.status == "draft"
    reads.clear()
    second = make_app(ui_store, actor=seller)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot, second)
        await pilot.press("f3", "enter")  # My cars: the draft
        await settle(pilot, second)
        assert isinstance(second.screen, IntakeScreen) and second.screen.car_id == draft.id
        assert reads == [seller.dealership_id]
        assert second.screen.query_one("#vin").value == VIN
        assert message(second, "vin").startswith("✓ BMW")
