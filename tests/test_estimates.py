"""Estimates of extra work (db/estimates.py, issue 20) on SQLite and PostgreSQL: made from inspection
findings or by hand, sent, approved or declined line by line; on approval the parts orders and the
bookings in the same transaction, refused whole when a booking does not fit; who may do what; the
notifications; doctor; the dashboard's figures."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from db import doctor, estimates, inspection, queries, workflow
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
    """The estimate as the screen reads it (:func:`db.queries.car_estimates`)."""
    car_id = _estimate(w, estimate_id).car_id
    [found] = [e for e in queries.car_estimates(w.fast, w[login], car_id) if e.id == estimate_id]
    return found


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
        w.db.run(estimates.send, w["mechanic499"], estimate_id + 99)
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
    assert [e.state for e in queries.car_estimates(w.fast, w["manager400"], car)] == ["sent"]


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


def test_a_car_s_estimates_are_read_as_the_model_types_them(w: World) -> None:
    """The screen reads a car's estimates through the fast reader (no ORM: opening them loads
    none): every value it shows is the model's, of the model's type, on both engines, with the
    names the model's ids point at; newest first, each line in the order it was made."""
    from dataclasses import fields

    from db.models import Estimate, EstimateLine, InspectionChecklistItem, ResourceType, User

    car, estimate_id, _labour_id, _part_id = estimate_with_lines(w)
    at(minutes=30)
    w.db.run(estimates.send, w["mechanic499"], estimate_id, notes="Both front wheels")
    at(hours=2)
    w.db.run(
        estimates.decide,
        w["seller495"],
        estimate_id,
        all_lines="approved",
        customer_answer="Yes, by phone",
    )
    newer = w.db.run(estimates.draft_for, w["coordinator499"], car)
    w.db.run(
        estimates.add_part,
        w["coordinator499"],
        newer.id,
        description="Wiper blades",
        quantity=3,
        unit_price="999,50",
    )
    found = queries.car_estimates(w.fast, w["seller495"], car)
    assert [e.id for e in found] == [newer.id, estimate_id]

    def name(session: Any, model: Any, ident: Any, column: str) -> Any:
        return None if ident is None else getattr(session.get(model, ident), column)

    def expected(session: Any) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        out = []
        for e in sorted(session.exec(select(Estimate)).all(), key=lambda e: -e.id):
            head = {
                "id": e.id,
                "car_id": e.car_id,
                "state": e.state,
                "created_by": name(session, User, e.created_by_id, "display_name"),
                "created_at": e.created_at,
                "sent_at": e.sent_at,
                "sent_by": name(session, User, e.sent_by_id, "display_name"),
                "decided_at": e.decided_at,
                "decided_by": name(session, User, e.decided_by_id, "display_name"),
                "customer_answer": e.customer_answer,
                "notes": e.notes,
            }
            lines = []
            for line in sorted(
                session.exec(select(EstimateLine).where(EstimateLine.estimate_id == e.id)).all(),
                key=lambda line: line.id,
            ):
                values = {
                    f: getattr(line, f)
                    for f in (
                        "id",
                        "kind",
                        "description",
                        "part_number",
                        "quantity",
                        "unit_price_ore",
                        "resource_type_id",
                        "hours",
                        "hourly_rate_ore",
                        "user_id",
                        "amount_ore",
                        "decision",
                        "inspection_item_id",
                        "parts_order_id",
                        "booking_id",
                    )
                }
                values["work"] = name(session, ResourceType, line.resource_type_id, "name")
                values["person"] = name(session, User, line.user_id, "display_name")
                values["finding"] = name(
                    session, InspectionChecklistItem, line.inspection_item_id, "item_name"
                )
                lines.append(values)
            out.append((head, lines))
        return out

    models = w.db.query(expected)
    assert len(models) == 2 and [len(lines) for _head, lines in models] == [1, 2]
    for view_, (head, lines) in zip(found, models, strict=True):
        for key, value in head.items():
            assert getattr(view_, key) == value, key
            assert type(getattr(view_, key)) is type(value), key
        assert len(view_.lines) == len(lines)
        for line, values in zip(view_.lines, lines, strict=True):
            assert {f.name for f in fields(line)} == set(values)
            for key, value in values.items():
                assert getattr(line, key) == value, key
                assert type(getattr(line, key)) is type(value), key
    # what the older one says, as the model has it: sent, decided, the finding and its person
    older = found[1]
    assert older.notes == "Both front wheels" and older.customer_answer == "Yes, by phone"
    assert older.decided_by == "Kari Selger" and older.sent_at is not None
    labour, part = older.lines
    assert labour.finding == "Brake pads and discs" and labour.booking_id is not None
    assert labour.person is not None and labour.user_id == w["mechanic499"].user_id
    assert part.parts_order_id is not None and part.part_number == "34116860016"
    assert older.totals.approved == older.totals.total == 2_400_00 + 2_501_00
    assert found[0].lines[0].amount_ore == 2_998_50 and found[0].lines[0].work is None


def test_the_labour_choices_are_the_bookable_work_and_the_prep_center_s_people(w: World) -> None:
    """A labour line names a bookable kind of work (a prep stage's first) and a mechanic or
    detailer of the car's prep center: read without the ORM, as the model has them."""
    from db.models import ResourceType, User

    car, _item = car_in_inspection(w)
    types, people = queries.labour_options(w.fast, w["mechanic499"], car)

    def expected(session: Any) -> tuple[list[tuple[str, int]], list[tuple[str, Any]]]:
        kinds = [t for t in session.exec(select(ResourceType)).all() if t.active and t.bookable]
        kinds.sort(key=lambda t: (t.prep_stage is None, t.name))
        staff = [
            u
            for u in session.exec(select(User)).all()
            if u.active and u.role in ("mechanic", "detailer") and u.dealership_id == w.d["499"]
        ]
        staff.sort(key=lambda u: u.display_name)
        return [(t.name, t.id) for t in kinds], [(u.display_name, u.id) for u in staff]

    assert (types, people) == w.db.query(expected)
    assert len(people) == 3 and all(isinstance(i, uuid.UUID) for _name, i in people)
    assert types and all(type(i) is int for _name, i in types)
    # one of them, named on a line, is what the line reads back
    line = w.db.run(
        estimates.add_labour,
        w["mechanic499"],
        w.db.run(estimates.draft_for, w["mechanic499"], car).id,
        description="Brakes",
        resource_type_id=types[0][1],
        hours=1,
        user_id=str(people[-1][1]),
    )
    [shown] = view(w, "mechanic499", line.estimate_id).lines
    assert (shown.work, shown.person, shown.user_id) == (types[0][0], *people[-1])


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
