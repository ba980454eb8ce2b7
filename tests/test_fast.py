"""The light reader (db.fast) that paints lists and the first screen, on both engines."""

from __future__ import annotations

from db import workflow
from db.fast import CarQuery
from db.schema import HEAD


def test_schema_revision_and_sign_in_list(store, world) -> None:  # type: ignore[no-untyped-def]
    assert store.fast.schema_revision() == HEAD
    users = store.fast.sign_in_list()
    assert {u.login for u in users} >= {"seller495", "coordinator499", "admin"}
    kari = next(u for u in users if u.login == "seller495")
    assert kari.dealership_name == "Kristiansand Vest" and not kari.has_pin


def test_actor_scope_matches_the_orm(store, world) -> None:  # type: ignore[no-untyped-def]
    for login in ("seller495", "manager400", "coordinator499", "admin"):
        fast = store.fast.actor(login.upper())  # logins match case-insensitively
        assert fast is not None
        assert fast.dealership_ids == world[login].dealership_ids
        assert fast.all_dealerships == world[login].all_dealerships
    assert store.fast.actor("nobody") is None


def test_car_pages_search_and_counts(store, world) -> None:  # type: ignore[no-untyped-def]
    ids = [
        world.register(
            vin=f"WBA00000000{n:06d}", license_plate=f"EL {n:05d}", customer_name=f"Kunde Nummer{n}"
        )
        for n in range(1, 8)
    ]
    world.register(
        seller="seller499",
        vin="YV1CZ59H241098765",
        license_plate="EV 55120",
        customer_name="Berit Olsen",
    )
    kari = world["seller495"]
    assert store.fast.car_count(kari, CarQuery()) == 7  # 499's own car is not 495's
    page = store.fast.car_page(kari, CarQuery(), 0, 3)
    assert [r.id for r in page] == sorted(ids, reverse=True)[:3]
    assert [r.id for r in store.fast.car_page(kari, CarQuery(), 6, 3)] == [ids[0]]
    for text in ("000005", "el00005", "EL 00005", "nummer5", "ORD-00005"):
        found = store.fast.car_page(kari, CarQuery(search=text), 0, 10)
        assert [r.id for r in found] == [ids[4]], text
    # the prep center sees both dealerships' cars
    assert store.fast.car_count(world["coordinator499"], CarQuery()) == 8
    store.run(workflow.move_car, kari, ids[0], "archived")
    assert store.fast.car_count(kari, CarQuery()) == 6
    assert store.fast.car_count(kari, CarQuery(include_archived=True)) == 7
    assert store.fast.car_count(kari, CarQuery(statuses=("archived",))) == 1
    counts = store.fast.status_counts(kari)
    assert counts["registered"] == 6 and counts["archived"] == 1 and counts["draft"] == 0
    assert store.fast.latest_event_id() > 0


def test_custom_plans_leave_no_prepared_statement(store) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL a read run often is prepared by the driver (and may get a generic plan);
    inside ``custom_plans`` it is planned for its values each time, from every thread."""
    import threading

    fast = store.fast
    query = "SELECT count(*) FROM cars c WHERE c.id > :n"
    prepared = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :pattern"
    pattern = {"pattern": "%c.id >%"}
    with fast.custom_plans():
        for n in range(8):
            fast.rows(query, {"n": n})
        other = threading.Thread(target=lambda: [fast.rows(query, {"n": n}) for n in range(8)])
        other.start()
        other.join()
        if fast.dialect == "postgresql":
            assert fast.rows(prepared, pattern)[0][0] == 0
    for n in range(8):
        fast.rows(query, {"n": n})
    if fast.dialect == "postgresql":
        assert fast.rows(prepared, pattern)[0][0] == 1  # the driver's own choice outside the block
