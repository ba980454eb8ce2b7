"""The car workflow (db/workflow.py) on SQLite and PostgreSQL: who may make which move, from which
side of the business, what each move stamps and clears, the event and the notifications it writes,
and the refusals a floor worker reads."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest

from db import cars, clock, workflow
from db.errors import NotAllowed, NotFound, Stale, WorkflowRefused
from db.models import Car, Event, Notification
from db.vocab import CAR_STATUS_LABELS, CAR_STATUSES, ROLE_LABELS
from world import World, at, frozen_world, rows, set_fields

# The actors of tests/world.py and the sides they stand on for a car sold by 495 and prepared by 499.
OWNER_SIDE = {"seller495", "coordinator495", "manager400", "admin"}
PREP_SIDE = {
    "seller499",
    "coordinator499",
    "mechanic499",
    "mechanic2_499",
    "detailer499",
    "manager499",
    "admin",
}
LOGINS = sorted(OWNER_SIDE | PREP_SIDE)

# How to bring a registered car to each status (admin moves; "INSPECT" records an approved inspection,
# "AT_DEALERSHIP" that the car is back at its dealership, which a handover needs).
ROUTES: dict[str, list[str]] = {
    "registered": [],
    "in_transit": ["in_transit"],
    "at_prep_center": ["in_transit", "at_prep_center"],
    "inspection": ["in_transit", "at_prep_center", "inspection"],
    "parts_ordered": ["in_transit", "at_prep_center", "inspection", "INSPECT", "parts_ordered"],
    "technical_prep": ["in_transit", "at_prep_center", "inspection", "INSPECT", "technical_prep"],
}
ROUTES["cosmetic_prep"] = [*ROUTES["technical_prep"], "cosmetic_prep"]
ROUTES["ready_for_delivery"] = [*ROUTES["cosmetic_prep"], "ready_for_delivery"]
ROUTES["delivered"] = [*ROUTES["ready_for_delivery"], "AT_DEALERSHIP", "delivered"]
ROUTES["archived"] = [*ROUTES["delivered"], "archived"]


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    """The world of tests/world.py, built with the clock frozen on a Monday (UTC dates)."""
    with frozen_world(db, days=2) as world:
        yield world


def car_row(w: World, car_id: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(Car, car_id).model_dump())


def snapshot(w: World) -> dict[str, list[dict[str, Any]]]:
    return {m.__name__: rows(w, m) for m in (Car, Event, Notification)}


def record_inspection(w: World, car_id: int, approved: bool = True) -> None:
    """The inspection result as the inspection screen stores it."""

    def write(s: Any) -> None:
        car = s.get(Car, car_id)
        car.inspection_completed_at = clock.utcnow()
        car.inspection_approved = approved
        s.add(car)

    w.db.run(write)


def back_at_dealership(w: World, car_id: int) -> None:
    """The car prepared elsewhere is back at its dealership (a handover needs it)."""
    set_fields(w, car_id, delivered_to_dealership_at=clock.utcnow())


def complete_draft(w: World, seller: str = "seller495") -> int:
    n = len(rows(w, Car)) + 1
    return w.db.run(
        cars.save_draft,
        w[seller],
        vin=f"WDD{n:014d}",
        brand="Mercedes",
        model="EQS",
        order_number=f"DRAFT-{n}",
        customer_name=f"Draft customer {n}",
        car_type="new",
    ).id


def make_car(w: World, status: str, seller: str = "seller495") -> int:
    """A car of ``seller``'s dealership at ``status``, walked there through the workflow."""
    if status == "draft":
        return complete_draft(w, seller)
    car_id = w.register(seller)
    for step in ROUTES[status]:
        if step == "INSPECT":
            record_inspection(w, car_id)
        elif step == "AT_DEALERSHIP":
            back_at_dealership(w, car_id)
        else:
            w.db.run(workflow.move_car, w["admin"], car_id, step)
    assert car_row(w, car_id)["status"] == status
    return car_id


class _Rollback(Exception):
    pass


def dry_move(w: World, login: str, car_id: int, target: str) -> str:
    """Make the move in a transaction that is then rolled back; returns the new status."""
    result: dict[str, str] = {}
    try:
        with w.db.write() as s:
            result["status"] = workflow.move_car(s, w[login], car_id, target).status
            raise _Rollback
    except _Rollback:
        pass
    return result["status"]


def labels(roles: frozenset[str]) -> list[str]:
    return [ROLE_LABELS[r].lower() for r in roles | {"admin"}]


def quoted(status: str) -> str:
    return f"“{CAR_STATUS_LABELS[status]}”"


# ------------------------------------------------------------------------------------------------
# every transition: the right role on the right side, nobody else
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "move", workflow.TRANSITIONS, ids=[f"{m.source}->{m.target}" for m in workflow.TRANSITIONS]
)
def test_each_transition_allowed_for_its_roles_and_side_only(w: World, move: workflow.Move) -> None:
    car_id = make_car(w, move.source)
    if move.source == "inspection":
        record_inspection(w, car_id)  # so that the table's checks pass; they are tested below
    if move.source == "ready_for_delivery":
        back_at_dealership(w, car_id)
    before = snapshot(w)
    allowed = []
    for login in LOGINS:
        actor = w[login]
        role_ok = actor.role == "admin" or actor.role in move.roles
        side_ok = {
            workflow.OWNER: login in OWNER_SIDE,
            workflow.PREP: login in PREP_SIDE,
            workflow.ANY: login in OWNER_SIDE | PREP_SIDE,
        }[move.side]
        if role_ok and side_ok:
            assert dry_move(w, login, car_id, move.target) == move.target, login
            allowed.append(login)
            continue
        with pytest.raises(NotAllowed) as refused:
            w.db.run(workflow.move_car, actor, car_id, move.target)
        message = str(refused.value)
        assert move.verb in message, (login, message)
        if not role_ok:
            assert message.startswith("Only "), message
            for name in labels(move.roles):
                assert name in message, (login, name, message)
        else:
            whose = "selling dealership" if move.side == workflow.OWNER else "prep center"
            assert f"Only the {whose} of this car" in message, (login, message)
        assert snapshot(w) == before, f"refused move by {login} changed the database"
    assert snapshot(w) == before  # the allowed ones were rolled back
    assert "admin" in allowed

    # Now make it for real, by the first allowed floor worker, and look at what it wrote.
    login = next((x for x in allowed if x != "admin"), "admin")
    moment = at(hours=1)
    w.db.run(workflow.move_car, w[login], car_id, move.target)
    car = car_row(w, car_id)
    assert car["status"] == move.target
    assert car["status_changed_at"] == moment
    assert car["updated_at"] == moment
    for name in move.stamps:
        old = next(r for r in before["Car"] if r["id"] == car_id)[name]
        assert car[name] == (old or moment), name
    for name in move.clears:
        assert car[name] is None, name
    new_events = [e for e in rows(w, Event) if e["id"] not in {x["id"] for x in before["Event"]}]
    assert len(new_events) == 1
    event = new_events[0]
    assert (event["entity"], event["entity_id"], event["action"]) == ("cars", str(car_id), "status")
    assert event["changes"]["status"] == [move.source, move.target]
    assert event["car_id"] == car_id
    assert event["user_id"] == w[login].user_id


def test_a_car_of_the_prep_centers_own_dealership_is_both_sides(w: World) -> None:
    """499 sells and preps: its seller makes the owner moves, its coordinator the prep moves."""
    car_id = make_car(w, "ready_for_delivery", seller="seller499")
    with pytest.raises(NotAllowed, match="Only a seller, manager or admin can hand the car over"):
        w.db.run(workflow.move_car, w["coordinator499"], car_id, "delivered")
    w.db.run(workflow.move_car, w["seller499"], car_id, "delivered")
    assert car_row(w, car_id)["status"] == "delivered"
    car_id = make_car(w, "registered", seller="seller499")
    w.db.run(workflow.move_car, w["coordinator499"], car_id, "at_prep_center")
    assert car_row(w, car_id)["status"] == "at_prep_center"


def test_a_provider_of_a_booking_is_on_the_prep_side(w: World) -> None:
    """A dealership that works on the car through a booking counts as its prep side."""
    from db import admin, capacity, ledger, users

    other = w.db.run(
        admin.save_dealership,
        None,
        dealership_number="600",
        dealership_name="Larvik Klargjøring",
        dealership_type="prep_center_only",
    ).id
    w.db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=other,
        consumer_dealership_id=w.d["495"],
        resource_type_id=w.rt["WASH"],
        max_hours_per_week=10,
    )
    coordinator = w.db.run(
        users.create_user,
        None,
        login="coordinator600",
        display_name="Lars Larvik",
        role="coordinator",
        dealership_id=other,
    )
    actor = w.db.query(users.trusted_actor, coordinator.login)
    car_id = make_car(w, "in_transit")
    with pytest.raises(NotFound):
        w.db.run(workflow.move_car, actor, car_id, "at_prep_center")
    w.db.run(
        capacity.set_capacity,
        actor,
        dealership_id=other,
        resource_type_id=w.rt["WASH"],
        date=w.day(0),
        allocated_hours=4,
    )
    # The selling dealership books a wash at 600 (the provider cannot see the car yet).
    w.db.run(
        ledger.book,
        w["coordinator495"],
        resource_type_id=w.rt["WASH"],
        date=w.day(0),
        estimated_hours=1,
        car_id=car_id,
        provider_dealership_id=other,
    )
    w.db.run(workflow.move_car, actor, car_id, "at_prep_center")
    assert car_row(w, car_id)["status"] == "at_prep_center"


# ------------------------------------------------------------------------------------------------
# impossible moves
# ------------------------------------------------------------------------------------------------
def test_impossible_moves_say_where_the_car_can_go(w: World) -> None:
    """Even an admin cannot make a move the table does not have; the refusal names the way on."""
    cars_at = {source: make_car(w, source) for source in CAR_STATUSES}
    before = snapshot(w)
    for source, car_id in cars_at.items():
        nexts = [m.target for m in workflow.moves_from(source)]
        for target in CAR_STATUSES:
            if target in nexts:
                continue
            with pytest.raises(WorkflowRefused) as refused:
                w.db.run(workflow.move_car, w["admin"], car_id, target)
            message = str(refused.value)
            if target == source:
                assert message == f"The car is already at {quoted(source)}."
                continue
            assert f"The car is at {quoted(source)}" in message
            assert f"cannot go to {quoted(target)}" in message
            if nexts:
                assert "Next it can go to" in message
                for name in nexts:
                    assert quoted(name) in message
            else:
                assert "It is at the last stage." in message
    assert snapshot(w) == before


def test_unknown_car_is_not_found(w: World) -> None:
    with pytest.raises(NotFound, match="Car #9999 does not exist"):
        w.db.run(workflow.move_car, w["admin"], 9999, "in_transit")


# ------------------------------------------------------------------------------------------------
# the checks of the table
# ------------------------------------------------------------------------------------------------
def test_inspection_must_be_recorded_before_leaving_inspection(w: World) -> None:
    car_id = make_car(w, "inspection")
    before = snapshot(w)
    for target in ("parts_ordered", "technical_prep", "cosmetic_prep"):
        with pytest.raises(WorkflowRefused, match="Record the inspection result first"):
            w.db.run(workflow.move_car, w["mechanic499"], car_id, target)
    assert snapshot(w) == before


def test_failed_inspection_allows_parts_but_not_prep(w: World) -> None:
    car_id = make_car(w, "inspection")
    record_inspection(w, car_id, approved=False)
    for target in ("technical_prep", "cosmetic_prep"):
        with pytest.raises(WorkflowRefused, match="The inspection failed"):
            w.db.run(workflow.move_car, w["mechanic499"], car_id, target)
    assert car_row(w, car_id)["status"] == "inspection"
    w.db.run(workflow.move_car, w["mechanic499"], car_id, "parts_ordered")
    assert car_row(w, car_id)["status"] == "parts_ordered"


def test_approved_inspection_may_skip_to_cosmetic(w: World) -> None:
    car_id = make_car(w, "inspection")
    record_inspection(w, car_id)
    w.db.run(workflow.move_car, w["coordinator499"], car_id, "cosmetic_prep")
    assert car_row(w, car_id)["status"] == "cosmetic_prep"


@pytest.mark.parametrize(
    ("ordered", "words"),
    [
        (("parts_ordered_prep_at",), "parts ordered by the prep center"),
        (("parts_ordered_seller_at",), "parts ordered by the seller"),
        (
            ("parts_ordered_seller_at", "parts_ordered_prep_at"),
            "parts ordered by the seller and parts ordered by the prep center",
        ),
    ],
)
def test_waiting_on_parts_blocks_technical_prep(
    w: World, ordered: tuple[str, ...], words: str
) -> None:
    car_id = make_car(w, "parts_ordered")
    set_fields(w, car_id, **dict.fromkeys(ordered, clock.utcnow()))
    before = snapshot(w)
    with pytest.raises(WorkflowRefused) as refused:
        w.db.run(workflow.move_car, w["mechanic499"], car_id, "technical_prep")
    assert str(refused.value) == f"The car is still waiting for {words}."
    assert snapshot(w) == before
    arrived = {name.replace("ordered", "arrived"): clock.utcnow() for name in ordered}
    set_fields(w, car_id, **arrived)
    w.db.run(workflow.move_car, w["mechanic499"], car_id, "technical_prep")
    assert car_row(w, car_id)["status"] == "technical_prep"


def test_incomplete_draft_cannot_be_moved_to_registered(w: World) -> None:
    car_id = w.db.run(cars.save_draft, w["seller495"], brand="BMW").id
    before = snapshot(w)
    with pytest.raises(WorkflowRefused) as refused:
        w.db.run(workflow.move_car, w["seller495"], car_id, "registered")
    message = str(refused.value)
    assert message.startswith("The order is not complete:")
    for words in ("VIN is required", "Model is required", "Customer name is required"):
        assert words in message
    assert "Brand is required" not in message
    assert snapshot(w) == before


def test_complete_draft_registers_with_notification(w: World) -> None:
    car_id = complete_draft(w)
    moment = at(minutes=5)
    w.db.run(workflow.move_car, w["seller495"], car_id, "registered")
    car = car_row(w, car_id)
    assert (car["status"], car["registered_at"]) == ("registered", moment)
    notes = rows(w, Notification, car_id=car_id)
    assert [(n["user_id"], n["type"]) for n in notes] == [
        (w["coordinator499"].user_id, "new_order")
    ]


# ------------------------------------------------------------------------------------------------
# stamps, clears, status_changed_at, events
# ------------------------------------------------------------------------------------------------
def test_full_route_stamps_each_stage_once(w: World) -> None:
    car_id = w.register()
    route = [
        ("seller495", "in_transit", "in_transit_at"),
        ("mechanic499", "at_prep_center", "arrived_prep_center_at"),
        ("mechanic499", "inspection", None),
        ("mechanic499", "technical_prep", None),
        ("mechanic499", "cosmetic_prep", "technical_completed_at"),
        ("detailer499", "ready_for_delivery", "ready_for_delivery_at"),
        ("seller495", "delivered", "delivered_to_customer_at"),
        ("manager400", "archived", "archived_at"),
    ]
    stamped: dict[str, datetime] = {}
    for minute, (login, target, stamp) in enumerate(route, start=1):
        if target == "technical_prep":
            record_inspection(w, car_id)
        if target == "delivered":
            back_at_dealership(w, car_id)
        moment = at(minutes=minute)
        old = car_row(w, car_id)["status"]
        w.db.run(workflow.move_car, w[login], car_id, target, expected_status=old)
        car = car_row(w, car_id)
        assert car["status"] == target
        assert car["status_changed_at"] == moment
        if stamp:
            stamped[stamp] = moment
        for name, value in stamped.items():
            assert car[name] == value, (target, name)
    assert car_row(w, car_id)["cosmetic_completed_at"] == stamped["ready_for_delivery_at"]
    moves = rows(w, Event, entity="cars", entity_id=str(car_id), action="status")
    statuses = ["draft", "registered", *(target for _, target, _ in route)]
    assert [e["changes"]["status"] for e in moves] == [
        [old, new] for old, new in pairwise(statuses)
    ]


def test_rework_clears_later_stamps_and_stamps_again(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    first = car_row(w, car_id)
    assert first["technical_completed_at"] and first["cosmetic_completed_at"]
    moment = at(hours=2)
    w.db.run(
        workflow.move_car,
        w["coordinator499"],
        car_id,
        "technical_prep",
        note="Brake noise on the test drive",
    )
    car = car_row(w, car_id)
    assert car["status"] == "technical_prep"
    assert car["status_changed_at"] == moment
    for name in ("ready_for_delivery_at", "technical_completed_at", "cosmetic_completed_at"):
        assert car[name] is None, name
    assert car["registered_at"] == first["registered_at"]  # earlier stages keep their stamps
    event = rows(w, Event, entity="cars", action="status")[-1]
    assert event["changes"]["status"] == ["ready_for_delivery", "technical_prep"]
    assert event["changes"]["note"] == "Brake noise on the test drive"
    assert event["changes"]["ready_for_delivery_at"][1] is None
    later = at(hours=3)
    w.db.run(workflow.move_car, w["mechanic499"], car_id, "ready_for_delivery")
    car = car_row(w, car_id)
    assert car["technical_completed_at"] == later
    assert car["ready_for_delivery_at"] == later


def test_send_back_to_cosmetic_keeps_technical_stamp(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    technical = car_row(w, car_id)["technical_completed_at"]
    w.db.run(workflow.move_car, w["coordinator499"], car_id, "cosmetic_prep")
    car = car_row(w, car_id)
    assert car["technical_completed_at"] == technical
    assert car["cosmetic_completed_at"] is None
    assert car["ready_for_delivery_at"] is None


def test_stale_expected_status_changes_nothing(w: World) -> None:
    car_id = make_car(w, "in_transit")
    before = snapshot(w)
    with pytest.raises(Stale) as refused:
        w.db.run(
            workflow.move_car,
            w["mechanic499"],
            car_id,
            "at_prep_center",
            expected_status="registered",
        )
    message = str(refused.value)
    assert "Someone else changed this car" in message
    assert "in transit" in message and "registered" in message
    assert snapshot(w) == before


def test_allowed_targets_lists_what_the_actor_can_do(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    back_at_dealership(w, car_id)

    def targets(login: str) -> list[str]:
        return w.db.query(lambda s: workflow.allowed_targets(s, w[login], s.get(Car, car_id)))

    assert targets("seller495") == ["delivered"]
    assert targets("coordinator499") == ["cosmetic_prep", "technical_prep"]
    assert targets("mechanic499") == []
    assert sorted(targets("admin")) == ["cosmetic_prep", "delivered", "technical_prep"]


# ------------------------------------------------------------------------------------------------
# notifications
# ------------------------------------------------------------------------------------------------
def notes_of(w: World, car_id: int) -> list[tuple[Any, str, str]]:
    return [(n["user_id"], n["type"], n["priority"]) for n in rows(w, Notification, car_id=car_id)]


def test_registration_notifies_the_coordinators_of_the_prep_center(w: World) -> None:
    car_id = w.register("seller495")
    notes = rows(w, Notification, car_id=car_id)
    assert [(n["user_id"], n["type"]) for n in notes] == [
        (w["coordinator499"].user_id, "new_order")
    ]
    assert "New order" in notes[0]["message"] and "Kari Selger" in notes[0]["message"]
    assert notes[0]["read"] is False


def test_registration_at_a_dealership_with_own_prep_notifies_its_coordinators(w: World) -> None:
    from db import users

    for login, role in (("seller400", "seller"), ("coordinator400", "coordinator")):
        w.db.run(
            users.create_user,
            None,
            login=login,
            display_name=login.title(),
            role=role,
            dealership_id=w.d["400"],
        )
        w.actors[login] = w.db.query(users.trusted_actor, login)
    car_id = w.register("seller400")
    assert car_row(w, car_id)["prep_center_id"] == w.d["400"]
    assert notes_of(w, car_id) == [(w["coordinator400"].user_id, "new_order", "medium")]


def test_status_update_goes_to_the_seller_not_the_actor(w: World) -> None:
    car_id = w.register()
    before = len(rows(w, Notification))
    w.db.run(workflow.move_car, w["seller495"], car_id, "in_transit")  # the seller's own move
    assert len(rows(w, Notification)) == before
    w.db.run(workflow.move_car, w["mechanic499"], car_id, "at_prep_center")
    note = rows(w, Notification)[-1]
    assert (note["user_id"], note["type"], note["priority"]) == (
        w["seller495"].user_id,
        "status_update",
        "low",
    )
    assert "In transit → At prep center" in note["message"]
    assert len(rows(w, Notification)) == before + 1


def test_ready_for_delivery_notifies_the_seller_with_high_priority(w: World) -> None:
    car_id = make_car(w, "cosmetic_prep")
    before = len(rows(w, Notification))
    w.db.run(workflow.move_car, w["detailer499"], car_id, "ready_for_delivery")
    new = rows(w, Notification)[before:]
    assert [(n["user_id"], n["type"], n["priority"]) for n in new] == [
        (w["seller495"].user_id, "ready_for_delivery", "high")
    ]
    assert "ready for delivery" in new[0]["message"]


def test_delivered_notifies_the_managers_up_the_hierarchy(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    back_at_dealership(w, car_id)
    before = len(rows(w, Notification))
    w.db.run(workflow.move_car, w["seller495"], car_id, "delivered")
    new = rows(w, Notification)[before:]
    # manager400 is the HQ of 495; manager499 is not above 495; the seller made the move.
    assert [(n["user_id"], n["type"]) for n in new] == [(w["manager400"].user_id, "delivered")]
    assert "delivered to the customer" in new[0]["message"]


def test_delivered_by_someone_else_also_tells_the_seller(w: World) -> None:
    car_id = make_car(w, "ready_for_delivery")
    back_at_dealership(w, car_id)
    before = len(rows(w, Notification))
    w.db.run(workflow.move_car, w["manager400"], car_id, "delivered")
    new = rows(w, Notification)[before:]
    assert {(n["user_id"], n["type"]) for n in new} == {(w["seller495"].user_id, "delivered")}


def test_a_refused_move_notifies_nobody(w: World) -> None:
    car_id = make_car(w, "cosmetic_prep")
    before = rows(w, Notification)
    with pytest.raises(NotAllowed):
        w.db.run(workflow.move_car, w["seller495"], car_id, "ready_for_delivery")
    assert rows(w, Notification) == before
