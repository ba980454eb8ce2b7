"""Parts orders (db/parts.py), delivery milestones (db/delivery.py and the handover move of
db/workflow.py), the customer contact log (db/contacts.py), documents (db/documents.py), SLA states
(db/sla.py) and what the car screen reads of them (db/queries.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import pathlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from db import car_rules, cars, clock, contacts, delivery, documents, parts, queries, workflow
from db.errors import Invalid, NotAllowed, NotFound, Stale, WorkflowRefused
from db.models import (
    Car,
    CarDocument,
    CustomerCommunication,
    Event,
    Notification,
    PartsOrder,
)
from db.sla import AT_RISK_DAYS, SLA_LABELS, SLA_STATES, sla_state
from world import T0, World, at, frozen_world, rows, set_fields

TIMES = "\N{MULTIPLICATION SIGN}"

ROUTE = [
    "in_transit",
    "at_prep_center",
    "inspection",
    "INSPECT",
    "technical_prep",
    "cosmetic_prep",
    "ready_for_delivery",
]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    with frozen_world(db, days=1) as world:
        yield world


def car_row(w: World, car_id: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(Car, car_id).model_dump())


def part_row(w: World, part_id: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(PartsOrder, part_id).model_dump())


def make_car(w: World, status: str = "registered", seller: str = "seller495") -> int:
    """A car of ``seller``'s dealership walked to ``status`` (a stage of ROUTE)."""
    car_id = w.register(seller)
    if status == "registered":
        return car_id
    for step in ROUTE:
        if step == "INSPECT":
            set_fields(w, car_id, inspection_completed_at=clock.utcnow(), inspection_approved=True)
        else:
            w.db.run(workflow.move_car, w["admin"], car_id, step)
        if step == status:
            break
    assert car_row(w, car_id)["status"] == status
    return car_id


def ready_for_delivery(w: World, seller: str = "seller495") -> int:
    """A car of ``seller``'s dealership, prepared and ready for delivery (the screen tests use it)."""
    return make_car(w, "ready_for_delivery", seller)


def snapshot(w: World) -> dict[str, list[dict[str, Any]]]:
    models = (Car, PartsOrder, Event, Notification, CustomerCommunication, CarDocument)
    return {m.__name__: rows(w, m) for m in models}


def order(w: World, login: str, car_id: int, name: str = "Brake pads", **kw: Any) -> int:
    return w.db.run(parts.order_part, w[login], car_id, part_name=name, **kw).id  # type: ignore[no-any-return]


def move_part(w: World, login: str, part_id: int, status: str, **kw: Any) -> dict[str, Any]:
    w.db.run(parts.set_part_status, w[login], part_id, status, **kw)
    return part_row(w, part_id)


PARTS_FIELDS = (
    "parts_ordered_seller_at",
    "parts_arrived_seller_at",
    "parts_ordered_prep_at",
    "parts_arrived_prep_at",
)


def parts_stamps(w: World, car_id: int) -> tuple[Any, ...]:
    car = car_row(w, car_id)
    return tuple(car[name] for name in PARTS_FIELDS)


def new_notes(w: World, before: int) -> list[tuple[Any, str, str]]:
    return [(n["user_id"], n["type"], n["message"]) for n in rows(w, Notification)[before:]]


# ------------------------------------------------------------------------------------------------
# parts: ordering
# ------------------------------------------------------------------------------------------------
def test_the_seller_orders_parts_as_the_seller(w: World) -> None:
    car_id = make_car(w)
    moment = at(minutes=5)
    part_id = order(
        w,
        "seller495",
        car_id,
        "  Winter   wheels ",
        quantity="2",
        part_number=" 36 11 5A ",
        supplier="Dekkmann",
        notes="  Deliver to the prep center ",
    )
    part = part_row(w, part_id)
    assert (part["part_name"], part["quantity"], part["part_number"]) == (
        "Winter wheels",
        2,
        "36 11 5A",
    )
    assert (part["status"], part["ordered_by"], part["supplier"]) == (
        "ordered",
        "seller",
        "Dekkmann",
    )
    assert part["notes"] == "Deliver to the prep center"
    assert (part["ordered_at"], part["created_at"], part["arrived_at"]) == (moment, moment, None)
    assert parts_stamps(w, car_id) == (moment, None, None, None)
    assert car_row(w, car_id)["updated_at"] == moment
    car = w.db.query(lambda s: s.get(Car, car_id))
    assert (
        workflow.waiting_on_parts(car)
        == "The car is still waiting for parts ordered by the seller."
    )
    event_row = rows(w, Event, entity="parts_orders", entity_id=str(part_id))[-1]
    assert (event_row["action"], event_row["car_id"]) == ("order", car_id)
    assert event_row["user_id"] == w["seller495"].user_id
    assert event_row["changes"]["part_name"] == "Winter wheels"
    assert event_row["changes"]["car"]["parts_ordered_seller_at"][1] is not None


def test_the_prep_center_orders_as_the_prep_center(w: World) -> None:
    car_id = make_car(w, "inspection")
    moment = at(minutes=7)
    part_id = order(w, "mechanic499", car_id)
    assert part_row(w, part_id)["ordered_by"] == "prep_center"
    assert parts_stamps(w, car_id) == (None, None, moment, None)
    # a coordinator of the prep center orders for the prep center too; an admin may pick a side
    order(w, "coordinator499", car_id, "Wiper blades")
    admin_part = order(w, "admin", car_id, "Floor mats", ordered_by="seller")
    assert part_row(w, admin_part)["ordered_by"] == "seller"
    assert parts_stamps(w, car_id) == (moment, None, moment, None)


def test_ordering_from_the_wrong_side_or_role_is_refused(w: World) -> None:
    car_id = make_car(w)
    before = snapshot(w)
    # 499 prepares the car but does not sell it: its seller would order as the seller
    with pytest.raises(NotAllowed, match="Only the selling dealership of this car"):
        order(w, "seller499", car_id)
    # 495 sells it but does not prepare it: its coordinator would order as the prep center
    with pytest.raises(NotAllowed, match="Only the prep center of this car"):
        order(w, "coordinator495", car_id)
    with pytest.raises(NotAllowed, match="Only the prep center of this car"):
        order(w, "seller495", car_id, ordered_by="prep_center")
    with pytest.raises(NotAllowed) as refused:
        order(w, "detailer499", car_id)
    assert "can order parts; you are signed in as detailer" in str(refused.value)
    with pytest.raises(Invalid) as invalid:
        order(w, "admin", car_id, ordered_by="customer")
    assert invalid.value.field == "ordered_by"
    assert snapshot(w) == before
    # the seller of 499 may order as the prep center it works for
    part_id = order(w, "seller499", car_id, ordered_by="prep_center")
    assert part_row(w, part_id)["ordered_by"] == "prep_center"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "x"}, "quantity"),
        ({"quantity": 1000}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"part_name": "   "}, "part_name"),
        ({"part_name": "p" * 121}, "part_name"),
        ({"part_number": "9" * 61}, "part_number"),
        ({"supplier": "s" * 121}, "supplier"),
    ],
)
def test_bad_part_fields_are_refused_beside_the_field(
    w: World, fields: dict[str, Any], field: str
) -> None:
    car_id = make_car(w)
    before = snapshot(w)
    values = {"part_name": "Brake pads", **fields}
    with pytest.raises(Invalid) as refused:
        w.db.run(parts.order_part, w["seller495"], car_id, **values)
    assert refused.value.field == field
    if field == "quantity":
        assert str(refused.value) == "Quantity is a whole number from 1 to 999."
    assert snapshot(w) == before


def test_no_parts_for_a_delivered_or_archived_car(w: World) -> None:
    car_id = make_car(w)
    w.db.run(workflow.move_car, w["seller495"], car_id, "archived")
    before = snapshot(w)
    with pytest.raises(WorkflowRefused, match="parts can no longer be ordered"):
        order(w, "seller495", car_id)
    assert snapshot(w) == before


# ------------------------------------------------------------------------------------------------
# parts: the status chain and the car's timestamps
# ------------------------------------------------------------------------------------------------
def test_the_car_follows_its_parts_side_by_side(w: World) -> None:
    car_id = make_car(w, "inspection")
    t1 = at(minutes=1)
    wheels = order(w, "seller495", car_id, "Winter wheels")
    at(minutes=2)
    rails = order(w, "seller495", car_id, "Roof rails")
    t3 = at(minutes=3)
    pads = order(w, "mechanic499", car_id)
    assert parts_stamps(w, car_id) == (t1, None, t3, None)

    at(minutes=4)
    assert move_part(w, "coordinator499", wheels, "in_transit")["arrived_at"] is None
    t5 = at(minutes=5)
    assert move_part(w, "coordinator499", wheels, "arrived")["arrived_at"] == t5
    # one of the seller's parts is still out: the seller's side has not arrived
    assert parts_stamps(w, car_id) == (t1, None, t3, None)

    t6 = at(minutes=6)
    move_part(w, "mechanic499", pads, "arrived")
    assert parts_stamps(w, car_id) == (t1, None, t3, t6)  # the prep side on its own

    at(minutes=7)
    move_part(w, "seller495", rails, "cancelled")
    # the cancelled order no longer counts: every live seller order has arrived
    assert parts_stamps(w, car_id) == (t1, t5, t3, t6)
    car = w.db.query(lambda s: s.get(Car, car_id))
    assert workflow.waiting_on_parts(car) is None

    at(minutes=8)
    move_part(w, "mechanic499", wheels, "installed")
    assert parts_stamps(w, car_id) == (t1, t5, t3, t6)  # installed still counts as arrived

    t9 = at(minutes=9)
    bulb = order(w, "mechanic499", car_id, "Bulb H7")
    assert parts_stamps(w, car_id) == (t1, t5, t3, None)  # a new order: waiting again
    car = w.db.query(lambda s: s.get(Car, car_id))
    assert workflow.waiting_on_parts(car) == (
        "The car is still waiting for parts ordered by the prep center."
    )
    at(minutes=10)
    move_part(w, "coordinator499", pads, "cancelled")
    assert parts_stamps(w, car_id) == (t1, t5, t9, None)  # the earliest live order
    at(minutes=11)
    move_part(w, "coordinator499", bulb, "cancelled")
    assert parts_stamps(w, car_id) == (t1, t5, None, None)  # no live order on that side

    history = rows(w, Event, entity="parts_orders", action="status")
    assert [e["changes"]["status"] for e in history] == [
        ["ordered", "in_transit"],
        ["in_transit", "arrived"],
        ["ordered", "arrived"],
        ["ordered", "cancelled"],
        ["arrived", "installed"],
        ["arrived", "cancelled"],
        ["ordered", "cancelled"],
    ]
    cancel_rails = history[3]["changes"]
    assert cancel_rails["car"]["parts_arrived_seller_at"][1] is not None
    assert all(e["car_id"] == car_id for e in history)


def test_a_side_without_orders_keeps_its_stamps_recorded_by_hand(w: World) -> None:
    car_id = make_car(w, "inspection")
    set_fields(w, car_id, parts_ordered_prep_at=T0)  # recorded before there were parts orders
    moment = at(minutes=3)
    part_id = order(w, "seller495", car_id)
    assert parts_stamps(w, car_id) == (moment, None, T0, None)
    at(minutes=4)
    move_part(w, "seller495", part_id, "cancelled")
    assert parts_stamps(w, car_id) == (None, None, T0, None)


def test_moves_outside_the_chain_are_refused(w: World) -> None:
    car_id = make_car(w, "inspection")
    part_id = order(w, "seller495", car_id)
    before = snapshot(w)
    with pytest.raises(WorkflowRefused) as refused:
        move_part(w, "mechanic499", part_id, "installed")
    assert str(refused.value) == (
        "Brake pads is ordered; it cannot be installed from there. "
        "Next it can be in transit, arrived or cancelled."
    )
    with pytest.raises(WorkflowRefused, match="already ordered"):
        move_part(w, "mechanic499", part_id, "ordered")
    with pytest.raises(Invalid) as invalid:
        move_part(w, "mechanic499", part_id, "lost")
    assert invalid.value.field == "status"
    assert snapshot(w) == before
    move_part(w, "coordinator499", part_id, "arrived")
    with pytest.raises(NotAllowed, match="Only the prep center of this car"):
        move_part(w, "seller495", part_id, "installed")
    move_part(w, "mechanic499", part_id, "installed")
    with pytest.raises(WorkflowRefused, match="installed: that is final"):
        move_part(w, "coordinator499", part_id, "cancelled")
    assert part_row(w, part_id)["status"] == "installed"
    with pytest.raises(NotFound, match="Part order #9999"):
        move_part(w, "coordinator499", 9999, "arrived")


def test_stale_expected_status_changes_nothing(w: World) -> None:
    car_id = make_car(w, "inspection")
    part_id = order(w, "mechanic499", car_id)
    move_part(w, "coordinator499", part_id, "in_transit", expected_status="ordered")
    before = snapshot(w)
    with pytest.raises(Stale) as refused:
        move_part(w, "mechanic499", part_id, "arrived", expected_status="ordered")
    assert str(refused.value).startswith(
        "Someone else changed this part meanwhile: it is now in transit, not ordered."
    )
    assert snapshot(w) == before


def test_parts_notify_the_mechanic_and_the_seller_but_not_the_actor(w: World) -> None:
    car_id = make_car(w, "inspection")
    set_fields(w, car_id, assigned_mechanic_id=w["mechanic499"].user_id)
    mechanic, seller = w["mechanic499"].user_id, w["seller495"].user_id

    before = len(rows(w, Notification))
    pads = order(w, "mechanic499", car_id, quantity=2)
    notes = new_notes(w, before)
    assert [(u, t) for u, t, _ in notes] == [(seller, "parts_changed")]
    assert f"Brake pads {TIMES}2" in notes[0][2] and "Parts ordered" in notes[0][2]
    assert rows(w, Notification)[-1]["priority"] == "medium"

    before = len(rows(w, Notification))
    order(w, "seller495", car_id, "Tow bar")
    assert [(u, t) for u, t, _ in new_notes(w, before)] == [(mechanic, "parts_changed")]

    before = len(rows(w, Notification))
    move_part(w, "coordinator499", pads, "in_transit")
    assert new_notes(w, before) == []  # under way is no news
    move_part(w, "coordinator499", pads, "arrived")
    notes = new_notes(w, before)
    assert {(u, t) for u, t, _ in notes} == {
        (mechanic, "parts_changed"),
        (seller, "parts_changed"),
    }
    assert all(m.startswith("Parts arrived for BMW X5") for _, _, m in notes)
    assert all(m.endswith(f": Brake pads {TIMES}2.") for _, _, m in notes)
    assert all(n["car_id"] == car_id for n in rows(w, Notification)[before:])

    before = len(rows(w, Notification))
    move_part(w, "mechanic499", pads, "installed")
    assert new_notes(w, before) == []


def test_car_parts_lists_the_orders_in_scope_only(w: World) -> None:
    car_id = make_car(w, "inspection")
    first = order(w, "seller495", car_id, "Winter wheels", quantity=4, supplier="Dekkmann")
    at(minutes=1)
    second = order(w, "mechanic499", car_id)
    lines = queries.car_parts(w.fast, w["seller495"], car_id)
    assert [(p.id, p.part_name, p.quantity, p.ordered_by) for p in lines] == [
        (first, "Winter wheels", 4, "seller"),
        (second, "Brake pads", 1, "prep_center"),
    ]
    assert lines[0].supplier == "Dekkmann" and lines[0].status == "ordered"
    other = make_car(w, seller="seller499")  # a car of 499 that 495 does not see
    with pytest.raises(NotFound):
        queries.car_parts(w.fast, w["coordinator495"], other)
    part_id = order(w, "seller499", other)
    with pytest.raises(NotFound, match=f"Part order #{part_id}"):
        move_part(w, "coordinator495", part_id, "cancelled")


# ------------------------------------------------------------------------------------------------
# delivery milestones and the handover
# ------------------------------------------------------------------------------------------------
def record(w: World, login: str, car_id: int, milestone: str, **kw: Any) -> Car:
    return w.db.run(delivery.record_milestone, w[login], car_id, milestone, **kw)  # type: ignore[no-any-return]


def options(w: World, car_id: int) -> dict[str, str | None]:
    return dict(w.db.query(lambda s: car_rules.milestone_options(s.get(Car, car_id))))


def test_the_delivery_chain_of_a_car_prepared_elsewhere(w: World) -> None:
    car_id = ready_for_delivery(w)
    assert options(w, car_id) == {
        "delivered_to_dealership_at": None,
        "sold_at": None,
        "delivered_to_customer_at": "Record that the car has arrived at the dealership first.",
    }
    before = snapshot(w)
    with pytest.raises(WorkflowRefused) as refused:
        record(w, "seller495", car_id, "delivered_to_customer_at")
    assert str(refused.value) == "Record that the car has arrived at the dealership first."
    with pytest.raises(WorkflowRefused, match="arrived at the dealership first"):
        w.db.run(workflow.move_car, w["seller495"], car_id, "delivered")
    assert snapshot(w) == before

    back = at(hours=1)
    record(w, "seller495", car_id, "delivered_to_dealership_at")
    assert car_row(w, car_id)["delivered_to_dealership_at"] == back
    assert car_row(w, car_id)["status"] == "ready_for_delivery"
    assert options(w, car_id)["delivered_to_customer_at"] is None

    at(hours=3)
    sold = T0 + timedelta(hours=2)
    record(w, "manager400", car_id, "sold_at", at=sold)  # the contract was signed an hour ago
    assert car_row(w, car_id)["sold_at"] == sold

    before_notes = len(rows(w, Notification))
    handover = at(hours=4)
    record(w, "seller495", car_id, "delivered_to_customer_at")
    car = car_row(w, car_id)
    assert (car["status"], car["delivered_to_customer_at"]) == ("delivered", handover)
    assert (car["sold_at"], car["delivered_to_dealership_at"]) == (sold, back)  # kept
    notes = rows(w, Notification)[before_notes:]
    assert [(n["user_id"], n["type"]) for n in notes] == [(w["manager400"].user_id, "delivered")]
    milestones = rows(w, Event, entity="cars", action="milestone")
    assert [list(e["changes"]) for e in milestones] == [["delivered_to_dealership_at"], ["sold_at"]]
    assert rows(w, Event, entity="cars", action="status")[-1]["changes"]["status"] == [
        "ready_for_delivery",
        "delivered",
    ]
    assert all(why is not None for why in options(w, car_id).values())


def test_a_handover_before_ready_for_delivery_is_refused_with_the_reason(w: World) -> None:
    car_id = make_car(w, "cosmetic_prep")
    before = snapshot(w)
    with pytest.raises(WorkflowRefused) as refused:
        record(w, "seller495", car_id, "delivered_to_customer_at")
    message = str(refused.value)
    assert "The car is at “Cosmetic prep”; it cannot go to “Delivered” from there." in message
    assert "“Ready for delivery”" in message
    with pytest.raises(WorkflowRefused) as refused:
        record(w, "seller495", car_id, "delivered_to_dealership_at")
    assert str(refused.value).startswith(
        "The car is not ready for delivery yet: it is at cosmetic prep."
    )
    assert snapshot(w) == before
    assert options(w, car_id)["delivered_to_dealership_at"] == str(refused.value)
    # a sale may be recorded at any stage of a registered order
    record(w, "seller495", car_id, "sold_at")
    assert car_row(w, car_id)["sold_at"] == T0


def test_a_car_prepared_at_its_own_dealership_is_handed_over_directly(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery", seller="seller499")
    assert options(w, car_id)["delivered_to_customer_at"] is None
    moment = at(hours=1)
    w.db.run(workflow.move_car, w["seller499"], car_id, "delivered")
    car = car_row(w, car_id)
    assert car["status"] == "delivered"
    # the handover stamps what was still empty: the car was at the dealership and sold
    assert (car["delivered_to_dealership_at"], car["sold_at"], car["delivered_to_customer_at"]) == (
        moment,
        moment,
        moment,
    )


def test_a_backdated_handover_stamps_its_own_time(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery", seller="seller499")
    at(hours=1)
    with pytest.raises(Invalid) as refused:
        record(w, "seller499", car_id, "delivered_to_customer_at", at=T0 - timedelta(minutes=1))
    assert refused.value.field == "at"  # before the car was ready for delivery
    assert car_row(w, car_id)["status"] == "ready_for_delivery"
    handed = T0 + timedelta(minutes=30)
    at(hours=2)
    record(w, "seller499", car_id, "delivered_to_customer_at", at=handed)
    car = car_row(w, car_id)
    assert car["status"] == "delivered"
    assert (car["delivered_to_dealership_at"], car["sold_at"], car["delivered_to_customer_at"]) == (
        handed,
        handed,
        handed,
    )
    fixed = rows(w, Event, entity="cars", action="milestone")[-1]["changes"]
    assert set(fixed) == {"delivered_to_dealership_at", "sold_at", "delivered_to_customer_at"}


def test_milestones_in_the_future_twice_or_by_the_wrong_people_are_refused(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    before = snapshot(w)
    with pytest.raises(Invalid, match="cannot be in the future") as refused:
        record(w, "seller495", car_id, "sold_at", at=T0 + timedelta(hours=1))
    assert refused.value.field == "at"
    with pytest.raises(Invalid, match="cannot be before") as refused:
        record(w, "seller495", car_id, "sold_at", at=T0 - timedelta(days=1))
    with pytest.raises(Invalid) as refused:
        record(w, "seller495", car_id, "paid_at")
    assert refused.value.field == "milestone"
    with pytest.raises(NotAllowed, match="Only the selling dealership of this car"):
        record(w, "seller499", car_id, "sold_at")
    with pytest.raises(NotAllowed, match="you are signed in as coordinator"):
        record(w, "coordinator499", car_id, "sold_at")
    with pytest.raises(Stale):
        record(w, "seller495", car_id, "sold_at", expected_updated_at=T0 - timedelta(hours=1))
    assert snapshot(w) == before

    record(w, "seller495", car_id, "sold_at", at=T0 + timedelta(minutes=4))  # clock slack
    with pytest.raises(Invalid) as refused:
        record(w, "seller495", car_id, "sold_at")
    assert str(refused.value) == "Sold was already recorded on Mon, 7 Jan 2030 07:04."
    assert refused.value.field == "milestone"
    draft = w.db.run(cars.save_draft, w["seller495"], brand="BMW").id
    with pytest.raises(WorkflowRefused, match="Register the order first"):
        record(w, "seller495", draft, "sold_at")


def test_sending_the_car_back_to_prep_forgets_its_arrival_at_the_dealership(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    record(w, "seller495", car_id, "delivered_to_dealership_at")
    w.db.run(workflow.move_car, w["coordinator499"], car_id, "cosmetic_prep")
    assert car_row(w, car_id)["delivered_to_dealership_at"] is None
    w.db.run(workflow.move_car, w["detailer499"], car_id, "ready_for_delivery")
    with pytest.raises(WorkflowRefused, match="arrived at the dealership first"):
        w.db.run(workflow.move_car, w["seller495"], car_id, "delivered")


# ------------------------------------------------------------------------------------------------
# customer contacts
# ------------------------------------------------------------------------------------------------
def test_contacts_are_logged_by_the_selling_side(w: World) -> None:
    car_id = make_car(w)
    called = at(minutes=10)
    w.db.run(
        contacts.log_contact, w["seller495"], car_id, type=" CALL ", message="  Booked handover "
    )
    at(minutes=20)
    texted = T0 + timedelta(minutes=15)
    w.db.run(
        contacts.log_contact,
        w["manager400"],
        car_id,
        type="sms",
        message="Reminder sent",
        sent_at=texted,
    )
    stored = rows(w, CustomerCommunication, car_id=car_id)
    assert [(c["type"], c["message"], c["sent_at"]) for c in stored] == [
        ("call", "Booked handover", called),
        ("sms", "Reminder sent", texted),
    ]
    assert stored[0]["customer_name"] == car_row(w, car_id)["customer_name"]
    assert stored[0]["user_id"] == w["seller495"].user_id
    logged = rows(w, Event, entity="customer_communications")
    assert [e["action"] for e in logged] == ["contact", "contact"]
    lines = queries.car_contacts(w.fast, w["mechanic499"], car_id)  # the prep side reads it
    assert [(c.type, c.user) for c in lines] == [("sms", "Mona Leder"), ("call", "Kari Selger")]


def test_bad_contacts_are_refused(w: World) -> None:
    car_id = make_car(w)
    before = snapshot(w)

    def log(login: str = "seller495", **kw: Any) -> None:
        values = {"type": "email", "message": "Sent the invoice", **kw}
        w.db.run(contacts.log_contact, w[login], car_id, **values)

    for kw, field in (
        ({"type": "fax"}, "type"),
        ({"type": ""}, "type"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 2001}, "message"),
        ({"sent_at": T0 + timedelta(hours=1)}, "sent_at"),
    ):
        with pytest.raises(Invalid) as refused:
            log(**kw)
        assert refused.value.field == field, kw
    with pytest.raises(NotAllowed, match="Only the selling dealership of this car"):
        log("seller499")
    with pytest.raises(NotAllowed, match="log customer contacts"):
        log("coordinator499")
    assert snapshot(w) == before
    log(message="x" * 2000)
    assert len(rows(w, CustomerCommunication)) == 1


# ------------------------------------------------------------------------------------------------
# documents
# ------------------------------------------------------------------------------------------------
def test_read_path_says_what_is_wrong_with_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def problem(path: str) -> str:
        with pytest.raises(Invalid) as refused:
            documents.read_path(path)
        assert refused.value.field == "path"
        return str(refused.value)

    assert problem("  ") == "Type the path of the file to attach."
    assert problem(" '' ") == "Type the path of the file to attach."
    assert problem(str(tmp_path / "nope.pdf")).startswith(f"No file at {tmp_path / 'nope.pdf'}")
    assert "is a folder" in problem(str(tmp_path))
    assert "is not a regular file" in problem("/dev/null")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert problem(str(empty)) == "empty.pdf is empty: there is nothing to attach."
    big = tmp_path / "big.jpg"
    big.write_bytes(b"x" * 2048)
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1024)
    assert problem(str(big)).startswith("big.jpg is 2 KB; a document can be at most 1 KB.")
    monkeypatch.undo()
    assert documents.read_path(str(big)) == ("big.jpg", b"x" * 2048)
    # quotes from a terminal's drag and drop, and ~ for the home folder
    monkeypatch.setenv("HOME", str(tmp_path))
    assert documents.read_path(" '~/big.jpg' ") == ("big.jpg", b"x" * 2048)
    assert documents.read_path('"' + str(big) + '"')[0] == "big.jpg"

    real_open = pathlib.Path.open

    def locked(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "big.jpg":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", locked)
    assert problem(str(big)) == f"prepfloor may not read {big} (permission denied)."


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("IMG_2041.JPG", "photo"),
        ("front.jpeg", "photo"),
        ("damage.heic", "photo"),
        ("x.png", "photo"),
        ("x.webp", "photo"),
        ("x.gif", "photo"),
        ("Invoice-2030-01.pdf", "invoice"),
        ("faktura 4411.pdf", "invoice"),
        ("delivery checklist.pdf", "checklist"),
        ("contract.pdf", "other"),
        ("notes", "other"),
    ],
)
def test_guess_type(filename: str, kind: str) -> None:
    assert documents.guess_type(filename) == kind


def test_documents_are_attached_listed_without_content_and_copied_out(
    w: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    car_id = make_car(w)
    invoice = b"%PDF-1.7 " + b"i" * (12 * 1024 - 9)
    first = w.db.run(
        documents.attach_document,
        w["seller495"],
        car_id,
        filename="/home/kari/Downloads/invoice.pdf",
        content=invoice,
    )
    at(minutes=5)
    w.db.run(
        documents.attach_document,
        w["mechanic499"],
        car_id,
        filename="scratch.jpg",
        content=b"\xff\xd8 photo",
        type="Other",
    )
    stored = rows(w, CarDocument, car_id=car_id)
    assert [(d["filename"], d["type"], d["filesize"]) for d in stored] == [
        ("invoice.pdf", "invoice", len(invoice)),
        ("scratch.jpg", "other", len(b"\xff\xd8 photo")),
    ]
    assert stored[0]["content"] == invoice
    assert stored[0]["uploaded_by_id"] == w["seller495"].user_id
    assert stored[0]["uploaded_at"] == T0
    assert rows(w, Event, entity="car_documents")[0]["action"] == "attach"

    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(w.db.engine, "before_cursor_execute", seen)
    try:
        lines = queries.car_documents(w.fast, w["coordinator499"], car_id)
    finally:
        event.remove(w.db.engine, "before_cursor_execute", seen)
    assert [(d.filename, d.uploaded_by) for d in lines] == [
        ("scratch.jpg", "Per Mekaniker"),
        ("invoice.pdf", "Kari Selger"),
    ]
    assert not any("content" in s for s in statements if "car_documents" in s)
    assert not hasattr(lines[0], "content")

    folder = tmp_path / "out" / "car"
    paths = [w.db.query(documents.save_copy, w["seller495"], first.id, folder) for _ in range(3)]
    assert [p.name for p in paths] == ["invoice.pdf", "invoice (2).pdf", "invoice (3).pdf"]
    assert all(p.read_bytes() == invoice for p in paths)
    with pytest.raises(NotFound):
        w.db.query(documents.save_copy, w["seller495"], 9999, folder)
    with pytest.raises(Invalid, match="is a file, not a folder") as refused:
        w.db.query(documents.save_copy, w["seller495"], first.id, paths[0])
    assert refused.value.field == "folder"

    other = make_car(w, seller="seller499")
    before = snapshot(w)

    def attach(login: str = "seller495", car: int = car_id, **kw: Any) -> None:
        values = {"filename": "a.pdf", "content": b"1", **kw}
        w.db.run(documents.attach_document, w[login], car, **values)

    for kw, field in (
        ({"content": b""}, "path"),
        ({"filename": "  "}, "filename"),
        ({"type": "receipt"}, "type"),
    ):
        with pytest.raises(Invalid) as refused:
            attach(**kw)
        assert refused.value.field == field, kw
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 8)
    with pytest.raises(Invalid, match="at most 8 B"):
        attach(content=b"123456789")
    monkeypatch.undo()
    with pytest.raises(NotFound):
        attach("coordinator495", other)
    elsewhere = w.db.run(
        documents.attach_document, w["seller499"], other, filename="b.pdf", content=b"2"
    ).id
    with pytest.raises(NotFound, match=f"Document #{elsewhere}"):
        w.db.query(documents.save_copy, w["coordinator495"], elsewhere, folder)
    before = snapshot(w)
    assert snapshot(w) == before
    w.db.run(workflow.move_car, w["seller495"], car_id, "archived")
    before = snapshot(w)
    with pytest.raises(WorkflowRefused, match="archived"):
        attach()
    assert snapshot(w) == before


# ------------------------------------------------------------------------------------------------
# SLA
# ------------------------------------------------------------------------------------------------
TODAY = date(2030, 1, 7)


@pytest.mark.parametrize(
    ("status", "expected", "handed_over", "state"),
    [
        ("registered", None, None, "none"),
        ("draft", TODAY, None, "none"),
        ("archived", TODAY - timedelta(days=9), None, "none"),  # a cancelled order
        ("registered", TODAY + timedelta(days=20), None, "on_time"),
        ("technical_prep", TODAY + timedelta(days=AT_RISK_DAYS + 1), None, "on_time"),
        ("technical_prep", TODAY + timedelta(days=AT_RISK_DAYS), None, "at_risk"),
        ("technical_prep", TODAY, None, "at_risk"),
        ("technical_prep", TODAY - timedelta(days=1), None, "late"),
        ("ready_for_delivery", TODAY, None, "on_time"),
        ("ready_for_delivery", TODAY - timedelta(days=1), None, "late"),
        (
            "delivered",
            TODAY - timedelta(days=5),
            datetime(2030, 1, 2, 22, 0, tzinfo=UTC),
            "on_time",
        ),
        ("delivered", TODAY - timedelta(days=5), datetime(2030, 1, 3, 9, 0, tzinfo=UTC), "late"),
        ("archived", TODAY - timedelta(days=5), datetime(2030, 1, 1, 9, 0, tzinfo=UTC), "on_time"),
    ],
)
def test_sla_state(
    status: str, expected: date | None, handed_over: datetime | None, state: str
) -> None:
    clock.set_zone(UTC)
    try:
        assert sla_state(status, expected, handed_over, TODAY) == state
    finally:
        clock.set_zone(None)
    assert state in SLA_STATES and SLA_LABELS[state]


def test_sla_uses_the_local_date_of_the_handover() -> None:
    from zoneinfo import ZoneInfo

    late_evening = datetime(2030, 1, 2, 23, 30, tzinfo=UTC)  # 3 January in Oslo
    clock.set_zone(ZoneInfo("Europe/Oslo"))
    try:
        assert sla_state("delivered", date(2030, 1, 2), late_evening, TODAY) == "late"
    finally:
        clock.set_zone(None)
    assert sla_state("technical_prep", TODAY + timedelta(days=5), None, TODAY, at_risk_days=5) == (
        "at_risk"
    )


# ------------------------------------------------------------------------------------------------
# the car screen's reading
# ------------------------------------------------------------------------------------------------
def test_car_detail_carries_parts_documents_contacts_milestones_and_sla(w: World) -> None:
    car_id = make_car(w, "inspection")
    w.db.run(
        cars.update_car, w["seller495"], car_id, expected_delivery_date=T0.date() + timedelta(2)
    )
    at(minutes=1)
    pads = order(w, "seller495", car_id, quantity=2)
    at(minutes=2)
    move_part(w, "coordinator499", pads, "arrived", note="On the shelf")
    at(minutes=3)
    w.db.run(
        contacts.log_contact, w["seller495"], car_id, type="call", message="Asked about wheels"
    )
    w.db.run(contacts.log_contact, w["seller495"], car_id, type="sms", message="Car is in prep")
    w.db.run(
        documents.attach_document,
        w["seller495"],
        car_id,
        filename="invoice.pdf",
        content=b"x" * (12 * 1024),
    )
    at(minutes=4)
    record(w, "seller495", car_id, "sold_at")

    detail = queries.car_detail(w.fast, w["seller495"], car_id)
    assert [(p.part_name, p.quantity, p.status) for p in detail.parts] == [
        ("Brake pads", 2, "arrived")
    ]
    assert [(d.filename, d.filesize, d.type) for d in detail.documents] == [
        ("invoice.pdf", 12 * 1024, "invoice")
    ]
    assert [c.message for c in detail.contacts] == ["Car is in prep", "Asked about wheels"]
    assert (
        dict(detail.milestones)["sold_at"] == "Sold was already recorded on Mon, 7 Jan 2030 07:04."
    )
    assert dict(detail.milestones)["delivered_to_dealership_at"].startswith(
        "The car is not ready for delivery yet"
    )
    assert detail.sla == "at_risk"
    history = [e.text for e in detail.events]
    for line in (
        f"Parts ordered: Brake pads {TIMES}2 (seller)",
        "Part Brake pads: Ordered → Arrived — On the shelf; parts arrived (seller)",
        "Called the customer: Asked about wheels",
        "Texted the customer: Car is in prep",
        "Attached invoice.pdf (12 KB)",
        "Recorded: Sold",
    ):
        assert line in history, (line, history)
    assert history[0] == "Recorded: Sold"  # newest first
