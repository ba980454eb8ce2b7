"""The capacity ledger (db/ledger.py) on SQLite and PostgreSQL: bookings hold hours on the team row
and the person's row, refusals name the nearest day with room, cancellations and moves give hours
back, sharing agreements and their weekly caps, and the car's schedule fields."""

from __future__ import annotations

from datetime import UTC, date, time
from typing import Any

import pytest
from sqlmodel import select

from db import admin, capacity, clock, doctor, formats, ledger, users, workflow
from db.errors import (
    Busy,
    CapacityCut,
    DoesNotFit,
    Invalid,
    NotAllowed,
    NotFound,
    SharingRefused,
)
from db.models import Car, Event, ResourceBooking, ResourceCapacity, ResourceSharing
from db.nearest import nearest_day
from world import T0, World, book, booking, build_world, ledger_errors, rows, set_fields


@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    """tests/world.py with the clock frozen: day(0) is Monday 7 Jan 2030, day(7) the next Monday,
    day(8) the last day with capacity."""
    clock.set_zone(UTC)
    clock.freeze(T0)
    try:
        yield build_world(db, days=9)  # to Tuesday of the next ISO week
    finally:
        clock.freeze(None)
        clock.set_zone(None)


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def cap(w: World, code: str, day: int, login: str | None = None) -> dict[str, Any]:
    """The capacity row of 499 for a type, a day of the world and a person (None: the team)."""
    found = rows(
        w,
        ResourceCapacity,
        dealership_id=w.d["499"],
        resource_type_id=w.rt[code],
        date=w.day(day),
        user_id=w[login].user_id if login else None,
    )
    assert len(found) == 1
    return found[0]


def used(w: World, code: str, day: int, login: str | None = None) -> float:
    return cap(w, code, day, login)["used_hours"]


def car_row(w: World, car_id: int) -> dict[str, Any]:
    return w.db.query(lambda s: s.get(Car, car_id).model_dump())


def snapshot(w: World) -> dict[str, list[dict[str, Any]]]:
    return {m.__name__: rows(w, m) for m in (ResourceBooking, ResourceCapacity, Car, Event)}


def nearest(day: date) -> str:
    return f"Nearest day with room: {formats.day_year(day)}."


def make_car(w: World, seller: str, status: str = "registered") -> int:
    car_id = w.register(seller)
    for step in ("in_transit", "at_prep_center", "inspection"):
        if status == "registered":
            break
        w.db.run(workflow.move_car, w["admin"], car_id, step)
        if step == status:
            break
    assert car_row(w, car_id)["status"] == status
    return car_id


# ------------------------------------------------------------------------------------------------
# booking
# ------------------------------------------------------------------------------------------------
def test_a_booking_that_fits_holds_team_and_person_hours(w: World) -> None:
    booking_id = book(w, 1, 3, notes="  Winter tyres  ")
    b = booking(w, booking_id)
    assert b["status"] == "scheduled"
    assert (b["provider_dealership_id"], b["consumer_dealership_id"]) == (w.d["499"], w.d["499"])
    assert b["notes"] == "Winter tyres"
    team, person = cap(w, "TECH_PREP", 1), cap(w, "TECH_PREP", 1, "mechanic499")
    assert (team["used_hours"], team["available_hours"]) == (3, 13)
    assert (person["used_hours"], person["available_hours"]) == (3, 5)
    assert used(w, "TECH_PREP", 1, "mechanic2_499") == 0
    assert used(w, "TECH_PREP", 2) == 0
    book(w, 1, 2.25, "mechanic2_499")
    assert used(w, "TECH_PREP", 1) == 5.25
    assert used(w, "TECH_PREP", 1, "mechanic2_499") == 2.25
    events = rows(w, Event, entity="resource_bookings", entity_id=str(booking_id))
    assert [e["action"] for e in events] == ["book"]
    assert events[0]["changes"]["estimated_hours"] == 3
    assert ledger_errors(w) == []


def test_default_duration_of_the_type_is_used_when_no_hours_are_given(w: World) -> None:
    booking_id = book(w, 1, None)  # TECH_PREP's default is 4 h
    assert booking(w, booking_id)["estimated_hours"] == 4
    assert used(w, "TECH_PREP", 1, "mechanic499") == 4


def test_a_type_without_assignment_holds_only_the_team_row(w: World) -> None:
    book(w, 0, 1.5, None, code="WASH")
    assert used(w, "WASH", 0) == 1.5
    assert ledger_errors(w) == []


def test_a_full_team_row_is_refused_with_the_nearest_day(w: World) -> None:
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(2),
        allocated_hours=8,
    )
    book(w, 2, 8)
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        book(w, 2, 2, "mechanic2_499")
    # day 1 and day 3 are both one day away: the later day wins the tie.
    assert refused.value.nearest_day == w.day(3)
    message = str(refused.value)
    assert "Technical Preparation at Porsgrunn on Wed 9 Jan has 0 h free" in message
    assert "the booking needs 2 h" in message
    assert message.endswith(nearest(w.day(3)))
    assert snapshot(w) == before


def test_full_days_are_skipped_for_the_nearest_day(w: World) -> None:
    for day in (3, 4):
        book(w, day, 8, "mechanic499")
        book(w, day, 8, "mechanic2_499")
    assert used(w, "TECH_PREP", 3) == used(w, "TECH_PREP", 4) == 16
    with pytest.raises(DoesNotFit) as refused:
        book(w, 3, 1, code="TECH_PREP", person="mechanic2_499")
    assert refused.value.nearest_day == w.day(2)
    with pytest.raises(DoesNotFit) as refused:
        book(w, 4, 1)
    assert refused.value.nearest_day == w.day(5)


def test_the_nearest_day_anyone_of_the_people_has_room(w: World) -> None:
    for day in (0, 1, 2):
        book(w, day, 8, "mechanic499")
        book(w, day, 8, "mechanic2_499")
    book(w, 3, 8, "mechanic499")  # day 3: only the second mechanic has room
    both = [w["mechanic499"].user_id, w["mechanic2_499"].user_id]

    def nearest_for(people: list[Any]) -> Any:
        return w.db.query(
            nearest_day,
            provider_id=w.d["499"],
            consumer_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            hours=2,
            around=w.day(1),
            anyone_of=people,
        )

    assert nearest_for(both) == w.day(3)
    assert nearest_for(both[:1]) == w.day(4)  # the first mechanic is full on day 3 too
    assert nearest_for([]) is None  # nobody does the work


def test_today_is_the_earliest_nearest_day(w: World) -> None:
    book(w, 0, 8)
    with pytest.raises(DoesNotFit) as refused:
        book(w, 0, 1)
    assert refused.value.nearest_day == w.day(1)


def test_a_vacation_day_at_zero_hours_refuses_the_person(w: World) -> None:
    for day in (5, 6):
        w.db.run(
            capacity.set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(day),
            allocated_hours=0,
            user_id=w["mechanic499"].user_id,
        )
    with pytest.raises(DoesNotFit) as refused:
        book(w, 5, 2)
    assert "Per Mekaniker has 0 h free on Sat 12 Jan" in str(refused.value)
    # day 6 is a vacation day too; day 4 is the nearest working day.
    assert refused.value.nearest_day == w.day(4)
    assert str(refused.value).endswith(nearest(w.day(4)))
    # the other mechanic works that day
    book(w, 5, 2, "mechanic2_499")
    assert used(w, "TECH_PREP", 5) == 2
    assert used(w, "TECH_PREP", 5, "mechanic499") == 0


def test_a_booking_longer_than_any_day_has_no_nearest_day(w: World) -> None:
    with pytest.raises(DoesNotFit) as refused:
        book(w, 1, 9)  # a mechanic has 8 h a day
    assert refused.value.nearest_day is None
    assert str(refused.value).endswith("No day with room in the next weeks.")


def test_a_day_without_capacity_names_the_nearest_day_with_capacity(w: World) -> None:
    with pytest.raises(DoesNotFit) as refused:
        book(w, 15, 2)
    assert "Porsgrunn has no Technical Preparation capacity set on" in str(refused.value)
    assert refused.value.nearest_day == w.day(8)  # the last day of the world


def test_a_person_without_a_capacity_row_is_refused(w: World) -> None:
    newbie = w.db.run(
        users.create_user,
        None,
        login="mechanic3_499",
        display_name="Nils Ny",
        role="mechanic",
        dealership_id=w.d["499"],
    )
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        w.db.run(
            ledger.book,
            w["coordinator499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            estimated_hours=2,
            user_id=newbie.id,
        )
    assert "Nils Ny has no Technical Preparation hours set on Tue 8 Jan" in str(refused.value)
    assert refused.value.nearest_day is None
    assert snapshot(w) == before


def test_overlapping_start_times_for_one_person_are_refused(w: World) -> None:
    book(w, 1, 3, start_time=time(8, 0))
    before = snapshot(w)
    with pytest.raises(Invalid) as refused:
        book(w, 1, 2, start_time=time(10, 0))
    assert refused.value.field == "start_time"
    assert "Per Mekaniker is already booked 08:00-11:00 on Tue 8 Jan" in str(refused.value)
    with pytest.raises(Invalid, match="already booked"):
        book(w, 1, 4, start_time=time(7, 0))  # 07:00-11:00 covers it
    assert snapshot(w) == before
    book(w, 1, 2, start_time=time(11, 0))  # right after: fine
    book(w, 1, 3, "mechanic2_499", start_time=time(8, 0))  # someone else at 08:00: fine
    assert used(w, "TECH_PREP", 1, "mechanic499") == 5
    # a cancelled booking no longer blocks its time
    first = rows(w, ResourceBooking, start_time=time(8, 0), user_id=w["mechanic499"].user_id)[0]
    w.db.run(ledger.cancel, w["coordinator499"], first["id"], reason="Customer cancelled")
    book(w, 1, 3, start_time=time(8, 0))


def test_work_that_needs_a_person_is_refused_without_one(w: World) -> None:
    before = snapshot(w)
    with pytest.raises(Invalid) as refused:
        book(w, 1, 2, None)
    assert refused.value.field == "user_id"
    assert str(refused.value) == "Technical Preparation needs a person assigned."
    assert snapshot(w) == before


def test_the_person_must_work_at_the_provider(w: World) -> None:
    with pytest.raises(Invalid, match="does not work at the provider") as refused:
        book(w, 1, 2, "seller495")
    assert refused.value.field == "user_id"


def test_a_person_who_is_not_an_active_user_is_refused(w: World) -> None:
    """The provider and the person are read together: no such user, and one switched off, are
    each said as such, and the booking writes nothing."""
    import uuid

    from sqlalchemy import text

    car = w.register()
    before = snapshot(w)
    with pytest.raises(Invalid, match="That person is not an active user") as refused:
        w.db.run(
            ledger.book,
            w["coordinator499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            estimated_hours=2,
            car_id=car,
            user_id=uuid.uuid4(),
        )
    assert refused.value.field == "user_id"
    mechanic = w["mechanic499"].user_id
    w.db.run(
        lambda s: s.execute(
            text("UPDATE users SET active = :off WHERE id = :id"),
            {"off": False, "id": mechanic.hex if w.db.dialect == "sqlite" else mechanic},
        )
    )
    with pytest.raises(Invalid, match="That person is not an active user") as refused:
        book(w, 1, 2, car_id=car)
    assert refused.value.field == "user_id"
    assert snapshot(w) == before


def test_the_person_must_do_that_kind_of_work(w: World) -> None:
    before = snapshot(w)
    for login in ("detailer499", "seller499", "coordinator499"):
        with pytest.raises(Invalid, match="Technical Preparation is done by a mechanic") as refused:
            book(w, 1, 2, login)
        assert refused.value.field == "user_id"
    assert snapshot(w) == before
    with pytest.raises(Invalid, match="done by a mechanic"):
        w.db.run(
            capacity.set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            allocated_hours=8,
            user_id=w["seller499"].user_id,
        )


def test_past_days_are_refused(w: World) -> None:
    with pytest.raises(Invalid, match="in the past") as refused:
        book(w, -1, 2)
    assert refused.value.field == "date"
    booking_id = book(w, 1, 2)
    before = snapshot(w)
    with pytest.raises(Invalid, match="in the past"):
        w.db.run(ledger.move, w["coordinator499"], booking_id, date=w.day(-1))
    assert snapshot(w) == before


def test_hours_must_be_quarter_hours(w: World) -> None:
    with pytest.raises(Invalid, match="quarter hours"):
        book(w, 1, 1.1)
    with pytest.raises(Invalid, match="more than 0"):
        book(w, 1, 0)


def test_only_a_coordinator_books(w: World) -> None:
    for login in ("seller499", "mechanic499", "manager499"):
        with pytest.raises(NotAllowed) as refused:
            book(w, 1, 2, login=login)
        role = w[login].role
        assert str(refused.value) == (
            f"Only a coordinator or admin can book work; you are signed in as {role}."
        )
    assert rows(w, ResourceBooking) == []


def test_switched_off_and_unbookable_types_are_refused(w: World) -> None:
    lunch = w.db.run(
        admin.save_resource_type, None, code="LUNCH", name="Lunch Break", bookable=False
    ).id
    w.rt["LUNCH"] = lunch
    with pytest.raises(Invalid, match="cannot be booked"):
        book(w, 1, 1, None, code="LUNCH")
    w.db.run(admin.save_resource_type, None, w.rt["WASH"], active=False)
    with pytest.raises(Invalid, match="switched off"):
        book(w, 1, 1, None, code="WASH")


def test_draft_and_delivered_cars_cannot_be_booked(w: World) -> None:
    from db import cars

    draft = w.db.run(cars.save_draft, w["seller499"], brand="BMW").id
    with pytest.raises(Invalid, match="draft cannot be booked"):
        book(w, 1, 1, None, code="WASH", car_id=draft)


# ------------------------------------------------------------------------------------------------
# cancel, no-show
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("no_show", "status", "label"),
    [(False, "cancelled", "Cancelled"), (True, "no_show", "No-show")],
)
def test_cancel_and_no_show_need_a_reason_and_release_hours(
    w: World, no_show: bool, status: str, label: str
) -> None:
    booking_id = book(w, 1, 3, notes="Bring the key")
    before = snapshot(w)
    for reason in ("", "   "):
        with pytest.raises(Invalid, match="Say why") as refused:
            w.db.run(ledger.cancel, w["coordinator499"], booking_id, reason=reason, no_show=no_show)
        assert refused.value.field == "reason"
    assert snapshot(w) == before
    w.db.run(
        ledger.cancel, w["coordinator499"], booking_id, reason=" Car not here ", no_show=no_show
    )
    b = booking(w, booking_id)
    assert b["status"] == status
    assert b["notes"] == f"Bring the key\n{label}: Car not here"
    assert used(w, "TECH_PREP", 1) == 0
    assert used(w, "TECH_PREP", 1, "mechanic499") == 0
    event = rows(w, Event, entity="resource_bookings", entity_id=str(booking_id))[-1]
    assert event["action"] == status
    assert event["changes"] == {"status": ["scheduled", status], "reason": "Car not here"}
    # once cancelled, it cannot be cancelled (or released) again
    with pytest.raises(Invalid, match="cannot be"):
        w.db.run(ledger.cancel, w["coordinator499"], booking_id, reason="again")
    assert used(w, "TECH_PREP", 1) == 0
    assert ledger_errors(w) == []


def test_a_booking_in_progress_cannot_be_cancelled(w: World) -> None:
    from db import timers

    booking_id = book(w, 0, 2)
    w.db.run(timers.start, w["mechanic499"], booking_id)
    with pytest.raises(Invalid, match="in progress cannot be cancelled"):
        w.db.run(ledger.cancel, w["coordinator499"], booking_id, reason="oops")
    assert used(w, "TECH_PREP", 0) == 2


def test_stale_status_refuses_a_cancel(w: World) -> None:
    from db.errors import Stale

    booking_id = book(w, 1, 2)
    w.db.run(ledger.confirm, w["coordinator499"], booking_id)
    with pytest.raises(Stale, match="now confirmed"):
        w.db.run(
            ledger.cancel,
            w["coordinator499"],
            booking_id,
            reason="x",
            expected_status="scheduled",
        )
    assert booking(w, booking_id)["status"] == "confirmed"


# ------------------------------------------------------------------------------------------------
# move
# ------------------------------------------------------------------------------------------------
def test_move_to_another_day_moves_the_hours(w: World) -> None:
    booking_id = book(w, 1, 3)
    w.db.run(ledger.move, w["coordinator499"], booking_id, date=w.day(4))
    assert booking(w, booking_id)["date"] == w.day(4)
    assert used(w, "TECH_PREP", 1) == used(w, "TECH_PREP", 1, "mechanic499") == 0
    assert used(w, "TECH_PREP", 4) == used(w, "TECH_PREP", 4, "mechanic499") == 3
    event = rows(w, Event, entity="resource_bookings", action="move")[-1]
    assert event["changes"] == {"date": [w.day(1).isoformat(), w.day(4).isoformat()]}
    assert ledger_errors(w) == []


def test_move_to_another_person_moves_the_persons_hours(w: World) -> None:
    booking_id = book(w, 1, 3)
    w.db.run(ledger.move, w["coordinator499"], booking_id, user_id=w["mechanic2_499"].user_id)
    assert used(w, "TECH_PREP", 1) == 3
    assert used(w, "TECH_PREP", 1, "mechanic499") == 0
    assert used(w, "TECH_PREP", 1, "mechanic2_499") == 3
    w.db.run(ledger.move, w["coordinator499"], booking_id, estimated_hours=5)
    assert used(w, "TECH_PREP", 1) == used(w, "TECH_PREP", 1, "mechanic2_499") == 5
    assert ledger_errors(w) == []


def test_a_failing_move_leaves_everything_as_before(w: World) -> None:
    booking_id = book(w, 1, 3)
    book(w, 4, 7, "mechanic499")
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        w.db.run(ledger.move, w["coordinator499"], booking_id, date=w.day(4))
    assert "Per Mekaniker has 1 h free on Fri 11 Jan" in str(refused.value)
    assert snapshot(w) == before
    with pytest.raises(DoesNotFit):
        w.db.run(ledger.move, w["coordinator499"], booking_id, estimated_hours=9)
    assert snapshot(w) == before
    with pytest.raises(Invalid, match="does not work at the provider"):
        w.db.run(ledger.move, w["coordinator499"], booking_id, user_id=w["seller495"].user_id)
    with pytest.raises(Invalid, match="needs a person assigned"):
        w.db.run(ledger.move, w["coordinator499"], booking_id, user_id=None)
    assert snapshot(w) == before


def test_a_move_may_reuse_the_hours_it_gives_back(w: World) -> None:
    booking_id = book(w, 1, 8)
    w.db.run(ledger.move, w["coordinator499"], booking_id, start_time=time(8, 0))
    assert used(w, "TECH_PREP", 1, "mechanic499") == 8
    assert booking(w, booking_id)["start_time"] == time(8, 0)


# ------------------------------------------------------------------------------------------------
# confirm
# ------------------------------------------------------------------------------------------------
def test_only_the_provider_confirms(w: World) -> None:
    car_id = make_car(w, "seller495")
    booking_id = book(w, 1, 2, login="coordinator495", car_id=car_id)
    assert booking(w, booking_id)["provider_dealership_id"] == w.d["499"]
    with pytest.raises(NotAllowed, match="Only the dealership that does the work can confirm"):
        w.db.run(ledger.confirm, w["coordinator495"], booking_id)
    with pytest.raises(NotAllowed, match="Only a coordinator or admin can change bookings"):
        w.db.run(ledger.confirm, w["mechanic499"], booking_id)
    assert booking(w, booking_id)["status"] == "scheduled"
    w.db.run(ledger.confirm, w["coordinator499"], booking_id)
    assert booking(w, booking_id)["status"] == "confirmed"
    with pytest.raises(Invalid, match="Only a scheduled booking can be confirmed"):
        w.db.run(ledger.confirm, w["coordinator499"], booking_id)
    assert used(w, "TECH_PREP", 1) == 2  # confirming holds the same hours


def test_a_booking_out_of_scope_is_not_found(w: World) -> None:
    booking_id = book(w, 1, 2)  # 499 for 499
    with pytest.raises(NotFound):
        w.db.run(ledger.cancel, w["coordinator495"], booking_id, reason="not mine")


# ------------------------------------------------------------------------------------------------
# set_capacity
# ------------------------------------------------------------------------------------------------
def test_capacity_cut_below_booked_hours(w: World) -> None:
    book(w, 1, 6)
    before = snapshot(w)
    with pytest.raises(CapacityCut) as refused:
        w.db.run(
            capacity.set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["TECH_PREP"],
            date=w.day(1),
            allocated_hours=4,
            user_id=w["mechanic499"].user_id,
        )
    assert refused.value.booked == 6
    assert "6 h are already booked on Tue 8 Jan" in str(refused.value)
    assert snapshot(w) == before
    # the coordinator chooses to overbook and move bookings afterwards
    row = w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(1),
        allocated_hours=4,
        user_id=w["mechanic499"].user_id,
        allow_overbook=True,
    )
    assert (row.allocated_hours, row.used_hours, row.available_hours) == (4, 6, -2)
    person = cap(w, "TECH_PREP", 1, "mechanic499")
    assert (person["allocated_hours"], person["used_hours"], person["available_hours"]) == (
        4,
        6,
        -2,
    )
    findings = w.db.query(lambda s: list(doctor.check_ledger(s)))
    assert [f.level for f in findings] == ["warning"]
    assert "overbooked" in findings[0].message
    with pytest.raises(DoesNotFit):
        book(w, 1, 1)  # nothing more fits on an overbooked row
    # at exactly the booked hours it is not a cut
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(1),
        allocated_hours=6,
        user_id=w["mechanic499"].user_id,
    )
    assert cap(w, "TECH_PREP", 1, "mechanic499")["available_hours"] == 0


def test_set_capacity_creates_a_row_and_keeps_used_hours(w: World) -> None:
    day = w.day(30)
    row = w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=day,
        allocated_hours="7,5",
        recurrence_pattern={"type": "weekly", "days": ["monday"], "hours": 7.5},
    )
    assert (row.allocated_hours, row.used_hours, row.available_hours) == (7.5, 0, 7.5)
    assert row.recurrence_pattern == {"type": "weekly", "days": ["monday"], "hours": 7.5}
    event = rows(w, Event, entity="resource_capacities", entity_id=str(row.id))[-1]
    assert event["changes"]["allocated_hours"] == [0.0, 7.5]


def test_set_capacity_permissions_and_validation(w: World) -> None:
    kwargs = {"resource_type_id": w.rt["TECH_PREP"], "date": w.day(1), "allocated_hours": 8}
    with pytest.raises(NotAllowed, match="Only a coordinator or admin can set capacity"):
        w.db.run(capacity.set_capacity, w["mechanic499"], dealership_id=w.d["499"], **kwargs)
    with pytest.raises(NotAllowed, match="your own dealership"):
        w.db.run(capacity.set_capacity, w["coordinator495"], dealership_id=w.d["499"], **kwargs)
    with pytest.raises(Invalid, match="does prep work"):
        w.db.run(capacity.set_capacity, w["coordinator495"], dealership_id=w.d["495"], **kwargs)
    with pytest.raises(Invalid, match="more than 24"):
        w.db.run(
            capacity.set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            user_id=w["mechanic499"].user_id,
            **{**kwargs, "allocated_hours": 25},
        )
    with pytest.raises(Invalid, match="negative"):
        w.db.run(
            capacity.set_capacity,
            w["coordinator499"],
            dealership_id=w.d["499"],
            **{**kwargs, "allocated_hours": -1},
        )
    assert cap(w, "TECH_PREP", 1)["allocated_hours"] == 16


# ------------------------------------------------------------------------------------------------
# sharing
# ------------------------------------------------------------------------------------------------
def book_for(w: World, consumer: str, day: int, hours: float, person: str = "mechanic499") -> int:
    return book(w, day, hours, person, consumer_dealership_id=w.d[consumer])


def test_no_sharing_agreement_is_refused(w: World) -> None:
    before = snapshot(w)
    with pytest.raises(SharingRefused) as refused:
        book(w, 1, 2, "detailer499", code="COSMETIC", consumer_dealership_id=w.d["495"])
    assert str(refused.value) == (
        "Porsgrunn has no sharing agreement with Kristiansand Vest for Cosmetic Preparation. "
        "An admin can set one up."
    )
    assert snapshot(w) == before


def test_a_switched_off_agreement_is_refused(w: World) -> None:
    found = w.db.query(
        lambda s: s.exec(
            select(ResourceSharing.id).where(ResourceSharing.consumer_dealership_id == w.d["495"])
        ).one()
    )
    w.db.run(admin.save_sharing, None, found, enabled=False)
    with pytest.raises(SharingRefused, match="is switched off"):
        book_for(w, "495", 1, 2)
    assert used(w, "TECH_PREP", 1) == 0
    w.db.run(admin.save_sharing, None, found, enabled=True)
    book_for(w, "495", 1, 2)
    assert used(w, "TECH_PREP", 1) == 2


def test_the_weekly_cap_is_checked_where_the_hours_are_taken(w: World) -> None:
    """In the write itself (no check before it, as on PostgreSQL): the hours are taken only within
    the agreement's week (SQLite checks it with the team row's hours, PostgreSQL with the person's,
    after the week's lock); a refusal says which limit, and writes nothing.  499 shares 20 h of
    TECH_PREP a week with 497 (Skien)."""

    def write_book(day: int, hours: float, person: str = "mechanic499") -> int:
        with w.db.write() as session:
            return ledger.book(
                session,
                w["coordinator499"],
                resource_type_id=w.rt["TECH_PREP"],
                date=w.day(day),
                estimated_hours=hours,
                user_id=w[person].user_id,
                consumer_dealership_id=w.d["497"],
            ).id

    write_book(0, 8)
    write_book(1, 8, "mechanic2_499")
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        write_book(2, 4.25)
    assert str(refused.value).startswith(
        "Skien may use 20 h of Technical Preparation a week at Porsgrunn; week 2 already has "
        "16 h booked, so 4.25 h more does not fit."
    )
    assert snapshot(w) == before
    # within the week's cap, not within the day's team hours: the team row says so
    w.db.run(
        capacity.set_capacity,
        w["coordinator499"],
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=w.day(3),
        allocated_hours=2,
    )
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        write_book(3, 3)
    assert "has 2 h free; the booking needs 3 h" in str(refused.value)
    assert snapshot(w) == before
    # exactly the rest of the week's cap fits, and is held on the team and the person's rows
    write_book(2, 4)
    assert used(w, "TECH_PREP", 2) == 4 and used(w, "TECH_PREP", 2, "mechanic499") == 4
    with pytest.raises(DoesNotFit, match="a week at Porsgrunn"):
        write_book(3, 0.25)
    # another week under the same agreement starts from zero
    write_book(7, 8)
    assert ledger_errors(w) == []


def test_the_weekly_cap_refuses_with_a_day_in_a_week_with_room(w: World) -> None:
    """499 shares 20 h of TECH_PREP a week with 497 (Skien)."""
    first = book_for(w, "497", 0, 8)
    book_for(w, "497", 0, 8, "mechanic2_499")
    before = snapshot(w)
    with pytest.raises(DoesNotFit) as refused:
        book_for(w, "497", 1, 8)
    assert str(refused.value).startswith(
        "Skien may use 20 h of Technical Preparation a week at Porsgrunn; week 2 already has "
        "16 h booked, so 8 h more does not fit."
    )
    # every day of ISO week 2 is over the cap; Monday of week 3 is the nearest with room.
    assert refused.value.nearest_day == w.day(7)
    assert snapshot(w) == before
    # the rest of the cap fits, on the Sunday of the same week
    book_for(w, "497", 6, 4)
    with pytest.raises(DoesNotFit) as refused:
        book_for(w, "497", 6, 0.25)
    assert refused.value.nearest_day == w.day(7)
    # the next ISO week starts from zero
    book_for(w, "497", 7, 8)
    # 499's own work and another consumer's are not counted against Skien's cap
    book(w, 2, 8)
    book_for(w, "495", 2, 8, "mechanic2_499")
    # a cancellation gives the cap back
    w.db.run(ledger.cancel, w["coordinator499"], first, reason="Skien changed plans")
    book_for(w, "497", 3, 8)
    assert ledger_errors(w) == []


def test_moving_a_shared_booking_within_its_week_does_not_count_it_twice(w: World) -> None:
    booking_id = book_for(w, "497", 0, 8)
    book_for(w, "497", 1, 8, "mechanic2_499")
    small = book_for(w, "497", 3, 4)
    # the week holds exactly the cap of 20 h: moving a booking inside it still fits
    w.db.run(ledger.move, w["coordinator499"], booking_id, date=w.day(2))
    assert booking(w, booking_id)["date"] == w.day(2)
    with pytest.raises(DoesNotFit) as refused:
        w.db.run(ledger.move, w["coordinator499"], small, estimated_hours=4.25)
    assert "week 2 already has 16 h booked, so 4.25 h more does not fit" in str(refused.value)
    assert refused.value.nearest_day == w.day(7)
    assert booking(w, small)["estimated_hours"] == 4
    assert ledger_errors(w) == []


def test_a_consumer_coordinator_books_its_car_at_the_prep_center(w: World) -> None:
    car_id = make_car(w, "seller495")
    booking_id = book(w, 1, 2, login="coordinator495", car_id=car_id)
    b = booking(w, booking_id)
    assert (b["provider_dealership_id"], b["consumer_dealership_id"]) == (w.d["499"], w.d["495"])
    assert used(w, "TECH_PREP", 1) == 2


# ------------------------------------------------------------------------------------------------
# the car follows its bookings
# ------------------------------------------------------------------------------------------------
def test_car_schedule_fields_follow_the_bookings(w: World) -> None:
    car_id = make_car(w, "seller499")
    later = book(w, 3, 4, car_id=car_id, start_time=time(9, 0))
    car = car_row(w, car_id)
    assert car["scheduled_technical_date"] == w.day(3)
    assert car["scheduled_technical_time"] == time(9, 0)
    assert car["estimated_technical_hours"] == 4
    assert car["assigned_mechanic_id"] == w["mechanic499"].user_id
    assert car["scheduled_cosmetic_date"] is None
    earlier = book(w, 2, 2, "mechanic2_499", car_id=car_id)
    car = car_row(w, car_id)
    assert car["scheduled_technical_date"] == w.day(2)
    assert car["scheduled_technical_time"] is None
    assert car["estimated_technical_hours"] == 6
    assert car["assigned_mechanic_id"] == w["mechanic2_499"].user_id
    cosmetic = book(w, 4, 2, "detailer499", code="COSMETIC", car_id=car_id, start_time=time(13, 0))
    car = car_row(w, car_id)
    assert (car["scheduled_cosmetic_date"], car["scheduled_cosmetic_time"]) == (
        w.day(4),
        time(13, 0),
    )
    assert car["estimated_cosmetic_hours"] == 2
    assert car["assigned_detailer_id"] == w["detailer499"].user_id
    # the cosmetic booking left the technical schedule as it was
    assert (car["scheduled_technical_date"], car["scheduled_technical_time"]) == (w.day(2), None)
    assert car["estimated_technical_hours"] == 6
    assert car["assigned_mechanic_id"] == w["mechanic2_499"].user_id
    w.db.run(ledger.cancel, w["coordinator499"], earlier, reason="merged")
    car = car_row(w, car_id)
    assert car["scheduled_technical_date"] == w.day(3)
    assert car["estimated_technical_hours"] == 4
    assert car["assigned_mechanic_id"] == w["mechanic499"].user_id
    w.db.run(ledger.move, w["coordinator499"], later, date=w.day(5), start_time=time(10, 0))
    car = car_row(w, car_id)
    assert (car["scheduled_technical_date"], car["scheduled_technical_time"]) == (
        w.day(5),
        time(10, 0),
    )
    w.db.run(ledger.cancel, w["coordinator499"], later, reason="not needed", no_show=True)
    w.db.run(ledger.cancel, w["coordinator499"], cosmetic, reason="not needed")
    car = car_row(w, car_id)
    for name in (
        "scheduled_technical_date",
        "scheduled_technical_time",
        "estimated_technical_hours",
        "assigned_mechanic_id",
        "scheduled_cosmetic_date",
        "estimated_cosmetic_hours",
        "assigned_detailer_id",
    ):
        assert car[name] is None, name


def test_a_timed_booking_comes_before_an_untimed_one_on_the_same_day(w: World) -> None:
    """The same bookings give the same car schedule on SQLite and PostgreSQL."""
    car_id = make_car(w, "seller499")
    book(w, 1, 2, "mechanic499", car_id=car_id)
    book(w, 1, 2, "mechanic2_499", car_id=car_id, start_time=time(9, 0))
    car = car_row(w, car_id)
    assert car["scheduled_technical_date"] == w.day(1)
    assert car["scheduled_technical_time"] == time(9, 0)
    assert car["assigned_mechanic_id"] == w["mechanic2_499"].user_id
    assert car["estimated_technical_hours"] == 4


def test_a_wash_does_not_touch_the_car_schedule(w: World) -> None:
    car_id = make_car(w, "seller499")
    book(w, 1, 1, None, code="WASH", car_id=car_id)
    car = car_row(w, car_id)
    assert car["scheduled_technical_date"] is None
    assert car["scheduled_cosmetic_date"] is None


@pytest.mark.parametrize(
    ("approved", "waiting", "status"),
    [
        (True, False, "technical_prep"),
        (True, True, "parts_ordered"),
        (False, True, "parts_ordered"),
        (False, False, "inspection"),
    ],
)
def test_booking_technical_work_moves_an_inspected_car_on(
    w: World, approved: bool, waiting: bool, status: str
) -> None:
    car_id = make_car(w, "seller499", "inspection")
    fields: dict[str, Any] = {"inspection_completed_at": T0, "inspection_approved": approved}
    if waiting:
        fields["parts_ordered_prep_at"] = T0
    set_fields(w, car_id, **fields)
    book(w, 1, 3, car_id=car_id)
    car = car_row(w, car_id)
    assert car["status"] == status
    moves = rows(w, Event, entity="cars", entity_id=str(car_id), action="status")
    if status == "inspection":
        assert moves[-1]["changes"]["status"] == ["at_prep_center", "inspection"]
    else:
        assert moves[-1]["changes"]["status"] == ["inspection", status]
        assert moves[-1]["user_id"] == w["coordinator499"].user_id


def test_booking_other_work_leaves_an_inspected_car_where_it_is(w: World) -> None:
    car_id = make_car(w, "seller499", "inspection")
    set_fields(w, car_id, inspection_completed_at=T0, inspection_approved=True)
    book(w, 1, 1, None, code="WASH", car_id=car_id)
    book(w, 1, 1, "detailer499", code="COSMETIC", car_id=car_id)
    assert car_row(w, car_id)["status"] == "inspection"


def test_a_booking_keeps_the_car_in_the_ledger_invariant(w: World) -> None:
    """Many bookings, cancellations and moves later, each row holds exactly its bookings."""
    ids = [
        book(w, day % 5, 1 + day % 3, ("mechanic499", "mechanic2_499")[day % 2]) for day in range(8)
    ]
    for booking_id in ids[::3]:
        w.db.run(ledger.cancel, w["coordinator499"], booking_id, reason="test")
    for booking_id in ids[1::3]:
        w.db.run(ledger.move, w["coordinator499"], booking_id, date=w.day(8))
    totals: dict[tuple[Any, Any], float] = {}
    for b in rows(w, ResourceBooking):
        if b["status"] in ("scheduled", "confirmed", "in_progress", "completed"):
            for who in (None, b["user_id"]):
                key = (b["date"], who)
                totals[key] = totals.get(key, 0) + b["estimated_hours"]
    for row in rows(w, ResourceCapacity, resource_type_id=w.rt["TECH_PREP"]):
        assert row["used_hours"] == totals.get((row["date"], row["user_id"]), 0), row
        assert row["available_hours"] == row["allocated_hours"] - row["used_hours"]
    assert ledger_errors(w) == []


# ------------------------------------------------------------------------------------------------
# taking the hours: checked and added in one statement
# ------------------------------------------------------------------------------------------------
class _Takes:
    """A conditional UPDATE's answers in turn: None (no row had the room) or a row."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)

    def first(self, conn: Any, params: Any) -> Any:
        return self.answers.pop(0) if self.answers else None


def test_hours_given_back_after_a_refused_take_are_taken_on_the_next_try() -> None:
    """PostgreSQL: the take found no room, then another booking gave hours back before the
    refusal was worded (the check finds room): the hours are taken again, not refused without a
    reason; a row that keeps changing is said as busy, not tried for ever."""
    from types import SimpleNamespace

    from db import holding

    checks: list[int] = []
    take = _Takes(None, SimpleNamespace(id=7))
    assert holding._taken(None, take, {}, lambda: checks.append(1)) == 7  # type: ignore[arg-type]
    assert checks == [1]
    with pytest.raises(Busy):
        holding._taken(None, _Takes(), {}, lambda: None)  # type: ignore[arg-type]


def test_a_person_s_day_is_read_from_their_own_index(sqlite_url: str) -> None:
    """SQLite: a person's rows of a day over every kind of work (the ledger's check under the
    write lock) and their rows with room around a day (the nearest day with room) are found by
    person and day in ``ix_resource_capacities_person_day`` and read from it alone, not from
    every person's rows of the dealership and kind of work.  (PostgreSQL plans by its statistics
    of the rows: nothing to say of an empty database.)"""
    from sqlalchemy.dialects import sqlite

    from db import holding, nearest
    from db.store import Store

    store = Store(sqlite_url)
    reads = {}
    for name, statement in (
        ("check", holding._PERSON_AND_DAY_READ.statement),
        (
            "nearest",
            nearest._PERSON_ROOM.params(
                provider=0, rt=0, start=T0.date(), end=T0.date(), hours=1.0, users=[None]
            ),
        ),
    ):
        sql = str(
            statement.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
        )
        with store.db.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", (None,) * sql.count("?"))
            reads[name] = [
                r[3] for r in plan if "resource_capacities" in r[3] or "person_day" in r[3]
            ]
    store.close()
    by_person = "COVERING INDEX ix_resource_capacities_person_day (user_id=? AND date"
    # the check's own row is found by its unique key; the person's day from the new index
    assert [p for p in reads["check"] if "person_day" in p and by_person in p], reads
    assert reads["nearest"] and all(by_person in p for p in reads["nearest"]), reads
