"""Estimates of extra work (db/estimates.py, issue 20) on SQLite and PostgreSQL: made from inspection
findings or by hand, sent, approved or declined line by line; on approval the parts orders and the
bookings in the same transaction, refused whole when a booking does not fit; who may do what; the
notifications; doctor; the dashboard's figures."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from db import doctor, estimates, inspection, workflow
from db.errors import DoesNotFit, Invalid, NotAllowed, NotFound, WorkflowRefused
from db.estimate_rows import parse_nok
from db.models import Notification, PartsOrder, ResourceBooking
from world import World, at, frozen_world, ledger_errors, rows


@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    with frozen_world(db, days=14) as world:
        yield world


def car_in_inspection(w: World) -> tuple[int, int]:
    """A car of 495 in inspection at 499 with a critical finding; (car id, item id)."""
    car = w.register("seller495")
    w.db.run(workflow.move_car, w["seller495"], car, "in_transit")
    w.db.run(workflow.move_car, w["mechanic499"], car, "at_prep_center")
    item = w.db.run(
        inspection.record_item, w["mechanic499"], car, "Brake pads and discs", "critical", "worn"
    )
    return car, item.id


def estimate_with_lines(w: World, hours: float = 2) -> tuple[int, int, int, int]:
    """(car, estimate, labour line from the finding, part line) of a draft."""
    car, item = car_in_inspection(w)
    labour = w.db.run(estimates.add_finding, w["mechanic499"], item, hours=hours)
    part = w.db.run(
        estimates.add_part,
        w["mechanic499"],
        labour.estimate_id,
        description="Brake pads front",
        part_number="34116860016",
        quantity=2,
        unit_price="1 250,50",
    )
    return car, labour.estimate_id, labour.id, part.id


def _estimate(w: World, estimate_id: int) -> Any:
    from db.models import Estimate

    return w.db.query(lambda s: s.get(Estimate, estimate_id))


def view(w: World, login: str, estimate_id: int) -> Any:
    return w.db.query(estimates.estimate, w[login], estimate_id)


def count(w: World, model: type) -> int:
    return len(rows(w, model))


def notes_of(w: World, login: str) -> list[str]:
    return [
        n["message"]
        for n in rows(w, Notification, user_id=w[login].user_id)
        if n["type"] == "estimate"
    ]


def test_prices_are_read_as_typed_into_ore() -> None:
    assert parse_nok("1 250,50") == 125050
    assert parse_nok("1250.5") == 125050
    assert parse_nok("kr 900") == 90000
    assert parse_nok("1,250.50") == 125050
    for bad in ("", "abc", "-5", "1,255"):
        if bad == "1,255":  # a decimal comma: 1.255 NOK has three decimals
            with pytest.raises(Invalid, match="two decimals"):
                parse_nok(bad)
            continue
        with pytest.raises(Invalid):
            parse_nok(bad)


def test_a_finding_makes_the_draft_and_the_totals_add_up(w: World) -> None:
    car, estimate_id, labour_id, part_id = estimate_with_lines(w)
    found = view(w, "mechanic499", estimate_id)
    assert found.state == "draft"
    labour, part = found.lines
    assert (labour.id, part.id) == (labour_id, part_id)
    assert labour.kind == "labour" and labour.work == "Technical Preparation"
    assert labour.finding == "Brake pads and discs"
    assert labour.person == "Per Mekaniker"  # the mechanic's own technical work
    assert labour.amount_ore == 2 * 1_200_00  # 2 h at the default rate
    assert part.amount_ore == 2 * 1_250_50
    totals = found.totals
    assert totals.total == 2_400_00 + 2_501_00
    assert (totals.pending, totals.approved, totals.declined) == (totals.total, 0, 0)
    # the same finding twice: refused; the draft is the car's one draft
    with pytest.raises(Invalid, match="already on the draft"):
        w.db.run(estimates.add_finding, w["mechanic499"], labour.inspection_item_id)
    again = w.db.run(estimates.draft_for, w["coordinator499"], car)
    assert again.id == estimate_id
    # edit and remove while a draft
    w.db.run(estimates.edit_line, w["mechanic499"], labour_id, hours="1.5", hourly_rate="1000")
    w.db.run(estimates.remove_line, w["mechanic499"], part_id)
    found = view(w, "mechanic499", estimate_id)
    assert [line.amount_ore for line in found.lines] == [1_500_00]
    assert found.totals.total == 1_500_00


def test_who_may_make_send_and_decide(w: World) -> None:
    car, estimate_id, labour_id, _part = estimate_with_lines(w)
    with pytest.raises(NotAllowed, match="Only a coordinator, mechanic or admin can make"):
        w.db.run(estimates.draft_for, w["seller495"], car)
    with pytest.raises(NotAllowed, match="prep center"):
        w.db.run(estimates.draft_for, w["coordinator495"], car)
    with pytest.raises(NotFound):
        w.db.query(estimates.estimate, w["seller495"], estimate_id + 99)
    # the seller cannot decide a draft; a mechanic cannot decide at all
    with pytest.raises(WorkflowRefused, match="draft"):
        w.db.run(estimates.decide, w["seller495"], estimate_id, all_lines="approved")
    w.db.run(estimates.send, w["mechanic499"], estimate_id)
    with pytest.raises(WorkflowRefused, match="only a draft can be changed"):
        w.db.run(estimates.edit_line, w["mechanic499"], labour_id, hours=1)
    with pytest.raises(NotAllowed, match="Only a seller or admin can approve"):
        w.db.run(estimates.decide, w["mechanic499"], estimate_id, all_lines="approved")
    with pytest.raises(NotAllowed, match="Only a seller or admin can approve"):
        w.db.run(estimates.decide, w["manager400"], estimate_id, all_lines="approved")
    with pytest.raises(NotAllowed, match="selling dealership"):  # the prep center's seller
        w.db.run(estimates.decide, w["seller499"], estimate_id, all_lines="approved")
    # the manager reads
    assert [e.state for e in w.db.query(estimates.car_estimates, w["manager400"], car)] == ["sent"]


def test_sending_needs_lines_and_a_person_for_assigned_work(w: World) -> None:
    car, _item = car_in_inspection(w)
    draft = w.db.run(estimates.draft_for, w["coordinator499"], car)
    with pytest.raises(Invalid, match="no lines"):
        w.db.run(estimates.send, w["coordinator499"], draft.id)
    line = w.db.run(
        estimates.add_labour,
        w["coordinator499"],
        draft.id,
        description="Align wheels",
        resource_type_id=w.rt["TECH_PREP"],
        hours=1,
    )
    with pytest.raises(Invalid, match="needs a person"):
        w.db.run(estimates.send, w["coordinator499"], draft.id)
    w.db.run(estimates.edit_line, w["coordinator499"], line.id, user_id=w["mechanic2_499"].user_id)
    w.db.run(estimates.send, w["coordinator499"], draft.id)
    assert view(w, "coordinator499", draft.id).state == "sent"


def test_approval_orders_the_parts_and_books_the_work_in_one_go(w: World) -> None:
    car, estimate_id, _labour_id, _part_id = estimate_with_lines(w)
    at(minutes=30)
    w.db.run(estimates.send, w["mechanic499"], estimate_id)
    assert notes_of(w, "seller495") == [
        f"Estimate #{estimate_id} for BMW X5 000001 (order ORD-00001) waits for your approval: "
        "4901.00 NOK."
    ]
    at(hours=2)
    w.db.run(
        estimates.decide,
        w["seller495"],
        estimate_id,
        all_lines="approved",
        customer_answer="Customer said yes on the phone",
    )
    found = view(w, "seller495", estimate_id)
    assert found.state == "approved"
    assert found.decided_by == "Kari Selger" and found.customer_answer.startswith("Customer")
    labour, part = found.lines
    order = rows(w, PartsOrder, id=part.parts_order_id)[0]
    assert (order["part_name"], order["quantity"], order["ordered_by"]) == (
        "Brake pads front",
        2,
        "prep_center",
    )
    booking = rows(w, ResourceBooking, id=labour.booking_id)[0]
    assert booking["car_id"] == car and booking["estimated_hours"] == 2
    assert booking["user_id"] == w["mechanic499"].user_id and booking["status"] == "scheduled"
    assert ledger_errors(w) == []
    # the coordinator and the sender hear of the decision
    said = "decided by Kari Selger: Approved, 4901.00 NOK approved."
    assert any(said in n for n in notes_of(w, "coordinator499"))
    assert any(said in n for n in notes_of(w, "mechanic499"))
    # the critical finding is dealt with: the inspection can be approved
    w.db.run(inspection.record_rest_ok, w["mechanic499"], car)  # every other item checked, OK
    w.db.run(inspection.finish_inspection, w["mechanic499"], car, approved=True)
    # decided once
    with pytest.raises(WorkflowRefused):
        w.db.run(estimates.decide, w["seller495"], estimate_id, all_lines="declined")
    assert [f.message for f in w.db.query(doctor.run_checks) if f.level == "error"] == []


def test_line_by_line_partly_approved_keeps_the_declined_line(w: World) -> None:
    _car, estimate_id, labour_id, part_id = estimate_with_lines(w)
    w.db.run(estimates.send, w["mechanic499"], estimate_id)
    w.db.run(estimates.mark_line, w["seller495"], part_id, "approved")
    with pytest.raises(Invalid, match="still open: line 1"):
        w.db.run(estimates.decide, w["seller495"], estimate_id)
    w.db.run(estimates.mark_line, w["seller495"], labour_id, "declined")
    w.db.run(estimates.decide, w["seller495"], estimate_id)
    found = view(w, "coordinator499", estimate_id)
    assert found.state == "partly_approved"
    labour, part = found.lines
    assert labour.decision == "declined" and labour.booking_id is None
    assert part.decision == "approved" and part.parts_order_id is not None
    assert found.totals.approved == part.amount_ore
    assert found.totals.declined == labour.amount_ore
    assert count(w, ResourceBooking) == 0
    assert [f.message for f in w.db.query(doctor.run_checks) if f.level == "error"] == []


def test_a_booking_that_does_not_fit_refuses_the_whole_approval(w: World) -> None:
    _car, estimate_id, _labour_id, _part_id = estimate_with_lines(w, hours=12)  # a person has 8 h
    w.db.run(estimates.send, w["mechanic499"], estimate_id)
    events_before = w.db.query(lambda s: s.scalar(text("SELECT count(*) FROM events")))
    notes_before = count(w, Notification)
    with pytest.raises(DoesNotFit) as refused:
        w.db.run(estimates.decide, w["seller495"], estimate_id, all_lines="approved")
    assert "Nothing was approved: line 1" in str(refused.value)
    found = view(w, "seller495", estimate_id)
    assert found.state == "sent"
    assert [line.decision for line in found.lines] == ["pending", "pending"]
    assert count(w, PartsOrder) == 0 and count(w, ResourceBooking) == 0
    assert w.db.query(lambda s: s.scalar(text("SELECT count(*) FROM events"))) == events_before
    assert count(w, Notification) == notes_before
    # declined instead: nothing to book, the estimate is declined and its lines stay
    w.db.run(estimates.decide, w["seller495"], estimate_id, all_lines="declined")
    found = view(w, "seller495", estimate_id)
    assert found.state == "declined" and len(found.lines) == 2
    assert found.totals.declined == found.totals.total


def test_doctor_finds_what_was_written_behind_the_rules(w: World) -> None:
    _car, estimate_id, labour_id, part_id = estimate_with_lines(w)
    w.db.run(estimates.send, w["mechanic499"], estimate_id)
    w.db.run(estimates.decide, w["seller495"], estimate_id, all_lines="approved")

    def write(s: Any) -> None:
        s.execute(
            text("UPDATE estimate_lines SET booking_id = NULL WHERE id = :i"), {"i": labour_id}
        )
        s.execute(text("UPDATE estimate_lines SET amount_ore = 1 WHERE id = :i"), {"i": part_id})

    w.db.run(write)
    found = [f.message for f in w.db.query(doctor.run_checks) if f.check == "estimates"]
    assert any(f"labour line #{labour_id} has no booking" in m for m in found)
    assert any(f"line #{part_id}: its price 1 øre" in m for m in found)


def test_the_dashboard_has_approval_time_and_approved_share(w: World, store: Any) -> None:
    from db import dashboard

    _car, first_id, _labour_id, part_id = estimate_with_lines(w)
    at(hours=1)
    w.db.run(estimates.send, w["mechanic499"], first_id)
    at(hours=3)  # 2 hours to decide, the part approved, the labour declined
    w.db.run(estimates.mark_line, w["seller495"], part_id, "approved")
    w.db.run(estimates.decide, w["seller495"], first_id, all_lines="declined")
    found = view(w, "seller495", first_id)
    board = store.fast
    table = dashboard.dashboard(board, w["manager400"], days=7, today=w.day(0)).table("approvals")
    assert len(table.rows) == 1
    name, decided, median, p90, share = table.rows[0].values
    assert (name, decided) == ("Kristiansand Vest", 1)
    assert median == pytest.approx(2.0) and p90 == pytest.approx(2.0)
    assert share == pytest.approx(found.totals.approved / found.totals.total)
    assert table.rows[0].behind is not None and table.rows[0].behind.ids == (_car,)
    # 499's own dealership decided nothing
    own = dashboard.dashboard(board, w["manager499"], days=7, today=w.day(0)).table("approvals")
    assert own.rows == []


def test_sending_asks_the_customer_through_the_outbox_once(w: World) -> None:
    """The seller's dealership chose to tell customers of estimates: sending one writes the
    customer's message with its total, once per estimate."""
    from db import formats, outbox_templates
    from db.models import Car, OutboxMessage

    car, estimate_id, _labour, _part = estimate_with_lines(w)
    w.db.run(
        outbox_templates.save_choices, w["admin"], w.d["495"],
        milestones=["estimate"], preview=False, channel="email", language="en",
    )  # fmt: skip
    w.db.run(lambda s: s.get(Car, car).__setattr__("customer_email", "kunde@example.no"))
    w.db.run(estimates.send, w["mechanic499"], estimate_id)
    [message] = rows(w, OutboxMessage, car_id=car, milestone="estimate")
    total = view(w, "mechanic499", estimate_id).totals.total
    assert message["recipient"] == "kunde@example.no" and message["state"] == "queued"
    assert formats.nok(total) in message["body"]
    # told once: the same estimate does not write it again
    assert (
        w.db.run(estimates.tell_customer, w["mechanic499"], car, _estimate(w, estimate_id)) is False
    )
    assert len(rows(w, OutboxMessage, car_id=car, milestone="estimate")) == 1
