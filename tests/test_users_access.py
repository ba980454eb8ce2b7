"""Users, sign-in and access (db/users.py, db/access.py) on SQLite and PostgreSQL: PINs are hashed
and lock a user out after repeated mistakes, badges sign in, the permission matrix refuses with the
roles that may, and the scoping rule decides which cars a user sees — the same in SQL and Python."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from db import (
    access,
    admin,
    capacity,
    cars,
    estimates,
    ledger,
    outbox_templates,
    queries,
    timers,
    users,
    workflow,
)
from db.access import PERMISSIONS, Actor, actor_from, car_scope_sql
from db.errors import Invalid, LoginRefused, NotAllowed, NotFound
from db.fast import CarQuery
from db.models import Car, Event, ResourceBooking
from db.vocab import ROLE_LABELS, ROLES
from world import T0, World, at, frozen_world


@pytest.fixture
def w(db) -> Any:  # type: ignore[no-untyped-def]
    with frozen_world(db, days=2) as world:
        yield world


def user_row(w: World, login: str) -> dict[str, Any]:
    return w.db.query(lambda s: users.by_login(s, login).model_dump())


def add_user(w: World, login: str, role: str, number: str | None, **kw: Any) -> Actor:
    w.db.run(
        users.create_user,
        None,
        login=login,
        display_name=login.title(),
        role=role,
        dealership_id=w.d[number] if number else None,
        **kw,
    )
    w.actors[login] = w.db.query(users.trusted_actor, login)
    return w.actors[login]


# ------------------------------------------------------------------------------------------------
# PINs and sign-in
# ------------------------------------------------------------------------------------------------
def test_a_pin_is_stored_as_a_slow_salted_hash() -> None:
    stored = users.hash_secret("4711")
    assert "4711" not in stored
    assert stored.startswith("scrypt$16384$8$1$")
    assert users.verify_secret("4711", stored)
    assert not users.verify_secret("4712", stored)
    assert users.hash_secret("4711") != stored  # salted
    assert not users.verify_secret("4711", "plain-text")
    assert not users.verify_secret("4711", "md5$1$2$3$4$5")


def test_create_user_hashes_the_pin_and_validates(w: World) -> None:
    add_user(w, "Mechanic3_499", "mechanic", "499", pin="4711")
    row = user_row(w, "mechanic3_499")
    assert row["login"] == "mechanic3_499"  # logins are lower case
    assert row["pin_hash"] and "4711" not in row["pin_hash"]
    assert users.verify_secret("4711", row["pin_hash"])
    cases = [
        ({"login": "MECHANIC3_499"}, "login", "already a user"),
        ({"login": "per hansen"}, "login", "Login: letters, digits"),
        ({"display_name": "  "}, "display_name", "Name is required"),
        ({"role": "boss"}, "role", "Role is one of"),
        ({"dealership_id": None}, "dealership_id", "Pick the user's dealership"),
        ({"dealership_id": 9999}, "dealership_id", "does not exist"),
        ({"pin": "12"}, "pin", "A PIN is 4 to 8 digits"),
        ({"email": "per@"}, "email", "Email looks wrong"),
    ]
    for change, field, words in cases:
        fields = {
            "login": "newbie",
            "display_name": "New Bie",
            "role": "mechanic",
            "dealership_id": w.d["499"],
            **change,
        }
        with pytest.raises(Invalid, match=words) as refused:
            w.db.run(users.create_user, None, **fields)
        assert refused.value.field == field, change
    assert w.db.query(users.by_login, "newbie") is None
    with pytest.raises(NotAllowed, match="Only an admin can manage users"):
        w.db.run(
            users.create_user,
            w["manager499"],
            login="newbie",
            display_name="New Bie",
            role="mechanic",
            dealership_id=w.d["499"],
        )
    add_user(w, "admin2", "admin", None)  # an admin needs no dealership


def test_sign_in_with_the_right_pin(w: World) -> None:
    add_user(w, "terminal", "mechanic", "499", pin="2468")
    actor = w.db.run(users.sign_in, "Terminal", "2468")
    assert (actor.login, actor.role, actor.dealership_ids) == (
        "terminal",
        "mechanic",
        frozenset({w.d["499"]}),
    )
    events = w.db.query(lambda s: s.exec(select(Event.action).where(Event.entity == "users")).all())
    assert "sign_in" in events
    # a user without a PIN needs none, unless the screen asks for one (prepfloor serve)
    assert w.db.run(users.sign_in, "mechanic499", None).login == "mechanic499"
    with pytest.raises(LoginRefused) as refused:
        w.db.run(users.sign_in, "mechanic499", None, pin_required=True)
    assert "has no PIN" in str(refused.value)
    assert w.db.run(users.sign_in, "terminal", "2468", pin_required=True).login == "terminal"


def test_wrong_pins_are_counted_and_lock_the_user_out(w: World) -> None:
    add_user(w, "terminal", "mechanic", "499", pin="2468")
    assert LoginRefused.keeps_writes is True
    for attempt in range(1, 5):
        with pytest.raises(LoginRefused) as refused:
            w.db.run(users.sign_in, "terminal", "0000")
        left = 5 - attempt
        assert str(refused.value) == (
            f"Wrong PIN. {left} {'try' if left == 1 else 'tries'} left before a lock-out."
        )
        # the count is kept although the sign-in was refused (and its transaction raised)
        assert user_row(w, "terminal")["failed_pin_attempts"] == attempt
    with pytest.raises(LoginRefused, match="Terminal is locked for 5 minutes"):
        w.db.run(users.sign_in, "terminal", "")
    row = user_row(w, "terminal")
    assert row["locked_until"] == T0 + timedelta(minutes=5)
    assert row["failed_pin_attempts"] == 0
    # locked: even the right PIN is refused, and nothing is counted
    at(minutes=4)
    with pytest.raises(LoginRefused, match="locked until 07:05"):
        w.db.run(users.sign_in, "terminal", "2468")
    assert user_row(w, "terminal")["failed_pin_attempts"] == 0
    failed = w.db.query(
        lambda s: s.exec(select(Event).where(Event.action == "sign_in_failed")).all()
    )
    assert len(failed) == 5
    # after the lock-out the right PIN works and clears the lock
    at(minutes=6)
    assert w.db.run(users.sign_in, "terminal", "2468").login == "terminal"
    row = user_row(w, "terminal")
    assert (row["failed_pin_attempts"], row["locked_until"]) == (0, None)


def test_a_right_pin_resets_the_count(w: World) -> None:
    add_user(w, "terminal", "mechanic", "499", pin="2468")
    for _ in range(3):
        with pytest.raises(LoginRefused):
            w.db.run(users.sign_in, "terminal", "1111")
    w.db.run(users.sign_in, "terminal", " 2468 ")
    assert user_row(w, "terminal")["failed_pin_attempts"] == 0


def test_set_pin_lifts_a_lock_out_and_only_for_oneself_or_an_admin(w: World) -> None:
    add_user(w, "terminal", "mechanic", "499", pin="2468")
    for _ in range(5):
        with pytest.raises(LoginRefused):
            w.db.run(users.sign_in, "terminal", "1111")
    uid = w["terminal"].user_id
    with pytest.raises(NotAllowed):
        w.db.run(users.set_pin, w["coordinator499"], uid, "1357")
    w.db.run(users.set_pin, w["admin"], uid, "1357")
    row = user_row(w, "terminal")
    assert row["locked_until"] is None
    assert w.db.run(users.sign_in, "terminal", "1357").login == "terminal"
    w.db.run(users.set_pin, w["terminal"], uid, None)  # one's own PIN may be cleared
    assert user_row(w, "terminal")["pin_hash"] is None


def test_unknown_and_inactive_users_are_refused(w: World) -> None:
    with pytest.raises(LoginRefused, match="Unknown or inactive user"):
        w.db.run(users.sign_in, "nobody", "1234")

    def deactivate(s: Any) -> None:
        user = users.by_login(s, "mechanic499")
        user.active = False
        s.add(user)

    w.db.run(deactivate)
    with pytest.raises(LoginRefused, match="Unknown or inactive user"):
        w.db.run(users.sign_in, "mechanic499", None)
    with pytest.raises(LoginRefused, match="No active prepfloor user"):
        w.db.query(users.trusted_actor, "mechanic499")


def test_badge_sign_in(w: World) -> None:
    uid = w["detailer499"].user_id
    with pytest.raises(NotAllowed):
        w.db.run(users.set_badge, w["coordinator499"], uid, "0042-7")
    w.db.run(users.set_badge, w["admin"], uid, " 0042-7 ")
    stored = user_row(w, "detailer499")["badge_hash"]
    assert stored.startswith("hmac$") and "0042-7" not in stored
    actor = w.db.run(users.sign_in_badge, "0042-7")
    assert actor.login == "detailer499"
    with pytest.raises(LoginRefused, match="Badge not known"):
        w.db.run(users.sign_in_badge, "0042-8")
    w.db.run(users.set_badge, None, uid, None)
    with pytest.raises(LoginRefused, match="Badge not known"):
        w.db.run(users.sign_in_badge, "0042-7")


def test_a_badge_belongs_to_one_user(w: World) -> None:
    w.db.run(users.set_badge, None, w["mechanic499"].user_id, "0042")
    with pytest.raises(Invalid) as refused:
        w.db.run(users.set_badge, None, w["detailer499"].user_id, " 0042 ")
    assert (str(refused.value), refused.value.field) == (
        "That badge is already Per Mekaniker's.",
        "badge",
    )
    assert user_row(w, "detailer499")["badge_hash"] is None
    with pytest.raises(Invalid, match="already Per Mekaniker's"):
        add_user(w, "newbie", "mechanic", "499", badge="0042")
    assert w.db.query(users.by_login, "newbie") is None
    w.db.run(users.set_badge, None, w["mechanic499"].user_id, "0042")  # set again: still free
    assert w.db.run(users.sign_in_badge, "0042").login == "mechanic499"


# ------------------------------------------------------------------------------------------------
# the permission matrix
# ------------------------------------------------------------------------------------------------
def actor_of(role: str) -> Actor:
    return actor_from("00000000-0000-0000-0000-000000000001", role, role, role, 1, {1: None})


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_the_matrix_refuses_with_the_roles_that_may(action: str) -> None:
    allowed = PERMISSIONS[action] | {"admin"}
    for role in ROLES:
        actor = actor_of(role)
        assert actor.may(action) == (role in allowed), (action, role)
        if role in allowed:
            actor.require(action)
            continue
        with pytest.raises(NotAllowed) as refused:
            actor.require(action)
        message = str(refused.value)
        assert message.startswith("Only ")
        assert access.ACTION_WORDS[action] in message
        assert message.endswith(f"you are signed in as {ROLE_LABELS[role].lower()}.")
        named = message.split(" can ")[0]
        for other in ROLES:
            assert (ROLE_LABELS[other].lower() in named) == (other in allowed), (action, other)


def test_an_unknown_action_is_for_admins_only() -> None:
    assert not actor_of("manager").may("car.scrap")
    assert actor_of("admin").may("car.scrap")


ENFORCED = [
    (
        "mechanic499",
        lambda w: w.db.run(cars.register_car, w["mechanic499"], brand="BMW"),
        "Only a seller, manager or admin can register a car; you are signed in as mechanic.",
    ),
    (
        "coordinator499",
        lambda w: w.db.run(cars.save_draft, w["coordinator499"], brand="BMW"),
        "Only a seller, manager or admin can start a car order; you are signed in as coordinator.",
    ),
    (
        "manager400",
        lambda w: w.db.run(admin.save_dealership, w["manager400"], w.d["495"], location="X"),
        "Only an admin can configure dealerships; you are signed in as manager.",
    ),
    (
        "coordinator499",
        lambda w: w.db.run(admin.save_resource_type, w["coordinator499"], code="X", name="X"),
        "Only an admin can configure resource types; you are signed in as coordinator.",
    ),
    (
        "coordinator499",
        lambda w: w.db.run(admin.save_sharing, w["coordinator499"], priority=1),
        "Only an admin can configure sharing agreements; you are signed in as coordinator.",
    ),
    (
        "detailer499",
        lambda w: w.db.run(
            capacity.set_capacity,
            w["detailer499"],
            dealership_id=w.d["499"],
            resource_type_id=w.rt["COSMETIC"],
            date=w.day(0),
            allocated_hours=1,
        ),
        "Only a coordinator or admin can set capacity; you are signed in as detailer.",
    ),
    (
        "manager499",
        lambda w: w.db.run(timers.stop, w["manager499"]),
        "Only a coordinator, mechanic, detailer or admin can clock work; "
        "you are signed in as manager.",
    ),
    (
        "seller495",
        lambda w: w.db.run(ledger.cancel, w["seller495"], 1, reason="x"),
        "Only a coordinator or admin can change bookings; you are signed in as seller.",
    ),
    (
        "seller495",
        lambda w: w.db.run(estimates.draft_for, w["seller495"], 1),
        "Only a coordinator, mechanic or admin can make and send estimates; "
        "you are signed in as seller.",
    ),
    (
        "manager400",
        lambda w: w.db.run(estimates.decide, w["manager400"], 1, all_lines="approved"),
        "Only a seller or admin can approve or decline estimates; you are signed in as manager.",
    ),
    (
        "coordinator499",
        lambda w: w.db.run(
            outbox_templates.reset_template,
            w["coordinator499"],
            w.d["499"],
            "registered",
            "nb",
            "email",
        ),
        "Only a seller, manager or admin can configure messages to customers; "
        "you are signed in as coordinator.",
    ),
    (
        "seller495",
        lambda w: w.db.run(
            outbox_templates.save_template,
            w["seller495"],
            w.d["499"],
            "registered",
            "nb",
            "sms",
            subject=None,
            body="Hei {customer}",
        ),
        "You can configure messages to customers for your own dealership only; an admin can for "
        "any dealership.",
    ),
    (
        "manager400",  # a manager: their own dealership, not its branches
        lambda w: w.db.run(
            outbox_templates.save_choices,
            w["manager400"],
            w.d["495"],
            milestones=["ready"],
            preview=False,
            channel="email",
            language="nb",
        ),
        "You can configure messages to customers for your own dealership only; an admin can for "
        "any dealership.",
    ),
]


def test_a_seller_or_manager_chooses_their_own_dealerships_messages(w: World) -> None:
    """The seller chooses per dealership (issue 20): a seller or manager their own dealership's
    milestones and wording, an admin any dealership's."""
    for login, number in (("seller495", "495"), ("manager400", "400"), ("admin", "499")):
        chosen = w.db.run(
            outbox_templates.save_choices,
            w[login],
            w.d[number],
            milestones=["registered", "ready"],
            preview=True,
            channel="sms",
            language="en",
        )
        assert chosen.milestones == ("registered", "ready")
        w.db.run(
            outbox_templates.save_template,
            w[login],
            w.d[number],
            "ready",
            "en",
            "sms",
            subject=None,
            body="Ready, {customer}!",
        )
        assert w.db.query(
            outbox_templates.wording, w.d[number], "ready", "en", "sms"
        ) == outbox_templates.Wording(None, "Ready, {customer}!", True)
        assert w.db.run(
            outbox_templates.reset_template, w[login], w.d[number], "ready", "en", "sms"
        )
        assert not w.db.query(outbox_templates.wording, w.d[number], "ready", "en", "sms").own


@pytest.mark.parametrize(("login", "call", "message"), ENFORCED, ids=[e[2][:40] for e in ENFORCED])
def test_the_rules_enforce_the_matrix(w: World, login: str, call: Any, message: str) -> None:
    before = w.db.query(lambda s: s.scalar(text("SELECT count(*) FROM events")))
    with pytest.raises(NotAllowed) as refused:
        call(w)
    assert str(refused.value) == message
    assert w.db.query(lambda s: s.scalar(text("SELECT count(*) FROM events"))) == before


# ------------------------------------------------------------------------------------------------
# scoping
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def scoped(w: World) -> dict[str, int]:
    """Cars of 495, 497, 499 and 400, and one of 495 that a second prep center (600) works on."""
    add_user(w, "seller497", "seller", "497")
    add_user(w, "seller400", "seller", "400")
    w.d["600"] = w.db.run(
        admin.save_dealership,
        None,
        dealership_number="600",
        dealership_name="Larvik Klargjøring",
        dealership_type="prep_center_only",
    ).id
    add_user(w, "coordinator600", "coordinator", "600")
    w.db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=w.d["600"],
        consumer_dealership_id=w.d["495"],
        resource_type_id=w.rt["WASH"],
        max_hours_per_week=10,
    )
    w.db.run(
        capacity.set_capacity,
        w["coordinator600"],
        dealership_id=w.d["600"],
        resource_type_id=w.rt["WASH"],
        date=w.day(0),
        allocated_hours=8,
    )
    made = {
        "495": w.register("seller495"),
        "497": w.register("seller497"),
        "499": w.register("seller499"),
        "400": w.register("seller400"),
        "495@600": w.register("seller495"),
        "495@600-cancelled": w.register("seller495"),
    }
    for key in ("495@600", "495@600-cancelled"):
        booking = w.db.run(
            ledger.book,
            w["coordinator495"],
            resource_type_id=w.rt["WASH"],
            date=w.day(0),
            estimated_hours=1,
            car_id=made[key],
            provider_dealership_id=w.d["600"],
        )
        if key.endswith("cancelled"):
            w.db.run(ledger.cancel, w["coordinator600"], booking.id, reason="done elsewhere")
    return made


def visible(w: World, login: str, made: dict[str, int]) -> set[str]:
    """The keys of ``made`` whose car the actor can open."""
    seen = set()
    for key, car_id in made.items():
        try:
            w.db.query(workflow.load_car, w[login], car_id)
        except NotFound:
            continue
        seen.add(key)
    return seen


def test_a_manager_sees_the_branches_of_the_headquarters(w: World, scoped: dict[str, int]) -> None:
    manager = w["manager400"]
    assert manager.dealership_ids == {w.d["400"], w.d["495"], w.d["497"]}
    assert visible(w, "manager400", scoped) == {
        "400",
        "495",
        "497",
        "495@600",
        "495@600-cancelled",
    }
    assert visible(w, "manager499", scoped) == {"495", "497", "499", "495@600", "495@600-cancelled"}


def test_a_coordinator_sees_the_cars_of_the_prep_center(w: World, scoped: dict[str, int]) -> None:
    all_but_400 = set(scoped) - {"400"}
    assert visible(w, "coordinator499", scoped) == all_but_400
    assert visible(w, "coordinator600", scoped) == {"495@600", "495@600-cancelled"}
    assert visible(w, "admin", scoped) == set(scoped)


def test_a_seller_does_not_see_another_dealerships_cars(w: World, scoped: dict[str, int]) -> None:
    assert visible(w, "seller495", scoped) == {"495", "495@600", "495@600-cancelled"}
    assert visible(w, "seller497", scoped) == {"497"}
    car_id = scoped["497"]
    with pytest.raises(NotFound) as refused:
        queries.car_detail(w.fast, w["seller495"], car_id)
    assert str(refused.value) == (
        f"Car #{car_id} does not exist or is not one of your dealership's cars."
    )
    with pytest.raises(NotFound):
        w.db.run(workflow.move_car, w["seller495"], car_id, "in_transit")
    with pytest.raises(NotFound):
        w.db.run(cars.update_car, w["seller495"], car_id, customer_phone="+47 900 00 000")
    with pytest.raises(NotFound):
        w.db.run(
            ledger.book,
            w["coordinator495"],
            resource_type_id=w.rt["WASH"],
            date=w.day(0),
            estimated_hours=1,
            car_id=car_id,
        )
    assert w.db.query(lambda s: s.get(Car, car_id).status) == "registered"


def test_sql_and_python_scoping_agree(w: World, scoped: dict[str, int], store: Any) -> None:
    """``car_scope_sql`` (the lists) and ``Actor.sees_car`` (the rules) on the same data."""
    # one more car that only reaches 499 through a booking: 400 sells and preps, 499 washes it.
    w.db.run(
        admin.save_sharing,
        None,
        provider_dealership_id=w.d["499"],
        consumer_dealership_id=w.d["400"],
        resource_type_id=w.rt["WASH"],
        max_hours_per_week=10,
    )
    via_booking = w.register("seller400")
    w.db.run(
        ledger.book,
        w["admin"],  # 499 cannot see the car before it works on it
        resource_type_id=w.rt["WASH"],
        date=w.day(0),
        estimated_hours=1,
        car_id=via_booking,
        provider_dealership_id=w.d["499"],
    )
    scoped = {**scoped, "400@499": via_booking}
    nobody = Actor(
        user_id=w["admin"].user_id,
        login="nobody",
        display_name="Nobody",
        role="seller",
        dealership_id=None,
    )
    actors = [*w.actors.values(), nobody]

    def python_side(s: Any, actor: Actor) -> set[int]:
        providers: dict[int, set[int]] = {}
        for car_id, provider in s.exec(
            select(ResourceBooking.car_id, ResourceBooking.provider_dealership_id)
        ):
            providers.setdefault(car_id, set()).add(provider)
        return {
            car.id
            for car in s.exec(select(Car))
            if actor.sees_car(car.dealership_id, car.prep_center_id, providers.get(car.id, ()))
        }

    def sql_side(s: Any, actor: Actor) -> set[int]:
        where = car_scope_sql(actor, dialect=s.get_bind().dialect.name)
        return set(s.scalars(text(f"SELECT id FROM cars WHERE {where}")))

    for actor in actors:
        in_python = w.db.query(python_side, actor)
        in_sql = w.db.query(sql_side, actor)
        assert in_python == in_sql, actor.login
        listed = store.fast.car_page(actor, CarQuery(include_archived=True), 0, 1000)
        assert {row.id for row in listed} == in_sql, actor.login
        assert store.fast.car_count(actor, CarQuery(include_archived=True)) == len(in_sql)
    seen_by_499 = w.db.query(python_side, w["coordinator499"])
    assert via_booking in seen_by_499
    assert scoped["400"] not in seen_by_499
    assert w.db.query(python_side, nobody) == set()
    assert w.db.query(python_side, w["admin"]) == set(scoped.values())


def test_scope_of_each_role() -> None:
    parents = {1: None, 2: 1, 3: 1, 4: 2, 5: None}
    assert access.scope_for("admin", None, parents) == (frozenset(parents), True)
    assert access.scope_for("manager", 1, parents) == (frozenset({1, 2, 3, 4}), False)
    assert access.scope_for("manager", 2, parents) == (frozenset({2, 4}), False)
    for role in ("seller", "coordinator", "mechanic", "detailer"):
        assert access.scope_for(role, 1, parents) == (frozenset({1}), False)
    assert access.scope_for("seller", None, parents) == (frozenset(), False)
    # a loop in the hierarchy does not hang the scope
    assert access.descendants({1: 2, 2: 1}, 1) == {1, 2}
