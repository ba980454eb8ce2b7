"""Messages to customers (db/outbox*.py) on SQLite and PostgreSQL: milestones written by the
workflow in the same transaction, the dealership's choices and templates, preview drafts, who may
do what, the delay pass once per car and promised date, and the sender's claims (at most once)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from db import outbox, outbox_claim, outbox_templates, queries, workflow
from db.errors import Invalid, NotAllowed, NotFound, Stale, WorkflowRefused
from db.models import CustomerCommunication, OutboxMessage
from world import World, at, frozen_world, rows, set_fields


@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    with frozen_world(db, days=2) as world:
        yield world


def choose(w: World, dealer: str = "495", **kw: Any) -> None:
    values: dict[str, Any] = {
        "milestones": ["registered", "arrived", "ready", "delayed"],
        "preview": False,
        "channel": "email",
        "language": "en",
    }
    values.update(kw)
    w.db.run(outbox_templates.save_choices, w["admin"], w.d[dealer], **values)


def register(w: World, **fields: Any) -> int:
    fields.setdefault("customer_email", "ola@example.no")
    fields.setdefault("customer_name", "Ola Nordmann")
    return w.register("seller495", **fields)


def messages(w: World, car_id: int | None = None) -> list[dict[str, Any]]:
    if car_id is None:
        return rows(w, OutboxMessage)
    return rows(w, OutboxMessage, car_id=car_id)


def test_registering_queues_the_filled_template_in_the_same_transaction(w: World) -> None:
    choose(w)
    car_id = register(w, brand="BMW", model="X5", order_number="ORD-77")
    [m] = messages(w, car_id)
    assert m["state"] == "queued"
    assert m["milestone"] == "registered"
    assert m["channel"] == "email"
    assert m["recipient"] == "ola@example.no"
    assert m["subject"] == "Your order ORD-77 is registered"
    assert "Dear Ola Nordmann," in m["body"]
    assert "your BMW X5 (order ORD-77) is registered with Kristiansand Vest" in m["body"]
    assert m["language"] == "en"


def test_nothing_is_written_when_the_dealership_did_not_choose_or_the_car_has_no_address(
    w: World,
) -> None:
    car_id = register(w)  # no choices saved: nothing sends by itself
    assert messages(w, car_id) == []
    choose(w, milestones=["ready"])
    assert messages(w, register(w)) == []  # registered not chosen
    choose(w)
    assert messages(w, register(w, customer_email=None)) == []  # no address at all


def test_sms_when_the_car_has_only_a_phone_and_norwegian_words(w: World) -> None:
    choose(w, language="nb")
    car_id = register(w, customer_email=None, customer_phone="+47 912 34 567")
    [m] = messages(w, car_id)
    assert m["channel"] == "sms"
    assert m["recipient"] == "+4791234567"
    assert m["subject"] is None
    assert m["language"] == "nb"
    assert "Ola Nordmann" in m["body"]


def test_the_dealerships_own_template(w: World) -> None:
    choose(w)
    w.db.run(
        outbox_templates.save_template,
        w["admin"],
        w.d["495"],
        "registered",
        "en",
        "email",
        subject="Order {order} for {customer} {unknown}",
        body="Hello {customer}, {car.__class__} {vin}",
    )
    car_id = register(w, vin="WBA00000000000042", order_number="X-1")
    [m] = messages(w, car_id)
    assert m["subject"] == "Order X-1 for Ola Nordmann {unknown}"
    # places are filled by name only: nothing in a template is evaluated
    assert m["body"] == "Hello Ola Nordmann, {car.__class__} WBA00000000000042"


def test_arrived_and_ready_from_the_workflow(w: World) -> None:
    choose(w)
    car_id = register(w)
    for step in ("in_transit", "at_prep_center"):
        w.db.run(workflow.move_car, w["admin"], car_id, step)
    assert [m["milestone"] for m in messages(w, car_id)] == ["registered", "arrived"]
    # a refused move writes no message (the same transaction)
    with pytest.raises(WorkflowRefused):
        w.db.run(workflow.move_car, w["admin"], car_id, "ready_for_delivery")
    assert len(messages(w, car_id)) == 2


def test_preview_makes_a_draft_the_seller_edits_and_releases(w: World) -> None:
    choose(w, preview=True)
    car_id = register(w)
    [m] = messages(w, car_id)
    assert m["state"] == "draft"
    # a draft is not the sender's
    assert w.db.run(outbox_claim.claim_next, "s1", channels=("email", "sms"), lease=60) is None
    w.db.run(outbox.edit_message, w["seller495"], m["id"], subject="New subject", body="New text")
    w.db.run(outbox.release, w["seller495"], m["id"])
    [m] = messages(w, car_id)
    assert (m["state"], m["subject"], m["body"]) == ("queued", "New subject", "New text")
    with pytest.raises(Stale):
        w.db.run(outbox.release, w["seller495"], m["id"])


def test_the_car_s_messages_are_read_as_the_model_types_them(w: World) -> None:
    """The car's messages are read through the fast reader (no ORM: opening them loads none):
    every value the list shows is the model's, of the model's type, on both engines."""
    from dataclasses import fields

    from db.clock import utcnow

    choose(w)
    car_id = register(w)
    [m] = messages(w, car_id)
    now = utcnow().replace(microsecond=0)

    def fill(session: Any) -> None:
        message = session.get(OutboxMessage, m["id"])
        message.attempts = 2
        message.sent_at = now
        message.next_attempt_at = now
        message.last_reply = "250 OK"
        message.subject = "Your car"
        message.created_by_id = w["seller495"].user_id

    w.db.run(fill)
    [line] = queries.car_messages(w.fast, w["seller495"], car_id)
    model = w.db.query(lambda session: session.get(OutboxMessage, m["id"]))
    for name in (f.name for f in fields(queries.MessageLine) if f.name != "who"):
        value, expected = getattr(line, name), getattr(model, name)
        assert value == expected, name
        assert type(value) is type(expected), name
    assert line.sent_at == now and line.attempts == 2
    assert line.who == "Kari Selger"


def test_access_refusals(w: World) -> None:
    choose(w)
    car_id = register(w)
    [m] = messages(w, car_id)
    # a mechanic neither reads nor writes; a manager reads only; another dealership's seller
    # does not see the car; the prep center's coordinator may write
    with pytest.raises(NotAllowed):
        queries.car_messages(w.fast, w["mechanic499"], car_id)
    assert len(queries.car_messages(w.fast, w["manager400"], car_id)) == 1
    with pytest.raises(NotAllowed):
        w.db.run(outbox.cancel, w["manager400"], m["id"])
    with pytest.raises(NotAllowed):
        w.db.run(outbox.cancel, w["seller499"], m["id"])
    with pytest.raises(NotAllowed):  # another dealership's choices (tests/test_users_access.py)
        w.db.run(
            outbox_templates.save_choices,
            w["seller495"],
            w.d["499"],
            milestones=[],
            preview=False,
            channel="email",
            language="nb",
        )
    w.db.run(outbox.cancel, w["coordinator499"], m["id"])
    assert messages(w, car_id)[0]["state"] == "cancelled"
    with pytest.raises(NotFound):
        w.db.run(outbox.cancel, w["seller495"], 999999)


def test_by_hand_refused_without_an_address_and_checked(w: World) -> None:
    choose(w, milestones=[])  # nothing by itself; English
    car_id = register(w, customer_phone=None)
    with pytest.raises(Invalid, match="no phone number"):
        w.db.run(
            outbox.write_by_hand, w["seller495"], car_id, channel="sms", subject=None, body="Hi"
        )
    with pytest.raises(Invalid, match="subject"):
        w.db.run(
            outbox.write_by_hand, w["seller495"], car_id, channel="email", subject="", body="Hi"
        )
    start = w.db.query(outbox.start_message, w["seller495"], car_id, "ready", "email")
    assert start.recipient == "ola@example.no"
    assert "ready for delivery" in start.body
    m = w.db.run(
        outbox.write_by_hand,
        w["seller495"],
        car_id,
        channel="email",
        subject=start.subject,
        body=start.body,
    )
    [row] = messages(w, car_id)
    assert (row["id"], row["state"], row["milestone"]) == (m.id, "queued", "manual")


def test_delay_pass_once_per_car_and_promised_date(w: World) -> None:
    choose(w)
    car_id = register(w, expected_delivery_date=date(2030, 1, 9))
    on_time = register(w, expected_delivery_date=date(2030, 1, 20))
    assert w.db.run(outbox_claim.queue_delays) == []
    at(days=3)  # 10 January: one car is late
    first = w.db.run(outbox_claim.queue_delays)
    assert len(first) == 1
    assert w.db.run(outbox_claim.queue_delays) == []  # once
    [late] = [m for m in messages(w, car_id) if m["milestone"] == "delayed"]
    assert "later than" in late["subject"]
    assert [m["milestone"] for m in messages(w, on_time)] == ["registered"]
    set_fields(w, car_id, expected_delivery_date=date(2030, 1, 12))  # a new promised date
    at(days=20)  # 27 January: both are late, the first for its new date
    again = w.db.run(outbox_claim.queue_delays)
    assert len(again) == 2
    assert len([m for m in messages(w, car_id) if m["milestone"] == "delayed"]) == 2
    assert w.db.run(outbox_claim.queue_delays) == []
    # a car that is ready is not late
    ready = register(w, expected_delivery_date=date(2030, 1, 1))
    set_fields(w, ready, status="ready_for_delivery")
    assert w.db.run(outbox_claim.queue_delays) == []


def test_claims_sent_once_with_a_customer_contact(w: World) -> None:
    choose(w)
    car_id = register(w)
    first = w.db.run(outbox_claim.claim_next, "s1", channels=("email",), lease=60)
    assert first is not None
    # a second sender finds nothing: the row is held
    assert w.db.run(outbox_claim.claim_next, "s2", channels=("email",), lease=60) is None
    assert w.db.run(outbox_claim.handing_over, first.id, "s2") is False
    assert w.db.run(outbox_claim.handing_over, first.id, "s1") is True
    assert w.db.run(outbox_claim.mark_sent, first.id, "s1", "250 OK") is True
    [m] = messages(w, car_id)
    assert (m["state"], m["last_reply"]) == ("sent", "250 OK")
    [contact] = rows(w, CustomerCommunication, car_id=car_id)
    assert contact["id"] == m["contact_id"]
    assert contact["type"] == "email"
    assert "Ola Nordmann" in contact["message"]


def test_stale_claims_taken_over_or_given_up(w: World) -> None:
    choose(w)
    a, b = register(w), register(w)
    ma = w.db.run(outbox_claim.claim_next, "dead", channels=("email",), lease=60)
    mb = w.db.run(outbox_claim.claim_next, "dead", channels=("email",), lease=60)
    assert {ma.car_id, mb.car_id} == {a, b}
    w.db.run(outbox_claim.handing_over, ma.id, "dead")  # the sender died while handing it over
    at(minutes=0.5)
    assert w.db.run(outbox_claim.give_up_stale, "live", 60) == []
    assert w.db.run(outbox_claim.claim_next, "live", channels=("email",), lease=60) is None
    at(minutes=5)  # the lease is over
    assert w.db.run(outbox_claim.give_up_stale, "live", 60) == [ma.id]
    taken = w.db.run(outbox_claim.claim_next, "live", channels=("email",), lease=60)
    assert taken is not None and taken.id == mb.id and taken.taken_over
    assert w.db.run(outbox_claim.claim_next, "live", channels=("email",), lease=60) is None
    [given_up] = messages(w, a)
    assert given_up["state"] == "failed"
    assert "may have been delivered" in given_up["last_reply"]
    # the dead sender cannot finish what was taken from it
    assert w.db.run(outbox_claim.mark_sent, ma.id, "dead", "250") is False
    assert w.db.run(outbox_claim.mark_sent, mb.id, "dead", "250") is False


def test_retries_back_off_then_fail_with_the_reply(w: World) -> None:
    choose(w)
    car_id = register(w)
    m = w.db.run(outbox_claim.claim_next, "s", channels=("email",), lease=60)
    state = w.db.run(outbox_claim.retry_later, m.id, "s", "421 busy", retries=2, backoff=60)
    assert state == "queued"
    assert w.db.run(outbox_claim.claim_next, "s", channels=("email",), lease=60) is None
    at(minutes=2)
    m = w.db.run(outbox_claim.claim_next, "s", channels=("email",), lease=60)
    assert m is not None and m.attempts == 1
    state = w.db.run(outbox_claim.retry_later, m.id, "s", "421 still busy", retries=2, backoff=60)
    assert state == "failed"
    [row] = messages(w, car_id)
    assert (row["state"], row["last_reply"], row["attempts"]) == ("failed", "421 still busy", 2)
    w.db.run(outbox.send_again, w["seller495"], row["id"])
    assert messages(w, car_id)[0]["state"] == "queued"


def test_sms_without_a_gateway_waits_with_a_reason(w: World) -> None:
    choose(w, channel="sms")
    car_id = register(w, customer_phone="91234567")
    assert w.db.run(outbox_claim.claim_next, "s", channels=("email",), lease=60) is None
    w.db.run(outbox_claim.note_waiting, "sms", "No SMS gateway is configured.")
    [m] = messages(w, car_id)
    assert (m["state"], m["last_reply"]) == ("queued", "No SMS gateway is configured.")


def test_queue_milestone_for_the_estimates(w: World) -> None:
    choose(w, milestones=["estimate"])
    car_id = register(w)
    m = w.db.run(
        outbox.queue_milestone, w["seller495"], car_id, "estimate", total="NOK 4 500", occasion=7
    )
    assert m is not None and "NOK 4 500" in m.body
    again = w.db.run(
        outbox.queue_milestone, w["seller495"], car_id, "estimate", total="NOK 4 500", occasion=7
    )
    assert again is None


def test_doctor_finds_a_sent_message_without_its_contact(w: World) -> None:
    from db import doctor

    choose(w)
    car_id = register(w)
    [m] = messages(w, car_id)

    def finds() -> list[str]:
        return [f.message for f in w.db.query(doctor.run_checks) if f.check == "outbox"]

    assert finds() == []

    def break_it(s: Any) -> None:
        row = s.get(OutboxMessage, m["id"])
        row.state = "sent"
        s.add(row)

    w.db.run(break_it)
    assert finds() == [
        f"Message #{m['id']} to a customer is sent but has no time it was sent or no customer "
        "contact logged."
    ]
