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
    # every matching id, newest first, as the list keeps them (an array, 8 bytes each)
    every = store.fast.car_ids(kari, CarQuery())
    assert list(every) == sorted(ids, reverse=True) and every.itemsize == 8
    assert [r.id for r in store.fast.cars_by_id(every[2:5])] == sorted(ids, reverse=True)[2:5]
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


def _connection_id(reader) -> object:  # type: ignore[no-untyped-def]
    if reader.dialect == "postgresql":
        return reader.rows("SELECT pg_backend_pid()")[0][0]
    reader.rows("SELECT 1")
    return id(reader._conn)


def test_the_second_reader_reads_beside_the_first_and_is_let_go(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The dashboard's second half reads on a connection of its own (on PostgreSQL too: the
    server works on both halves at once), planned as the first reader's reads are; it is closed
    when let go and opened again when next used; a server with no connection to spare makes its
    reads take turns on the first reader's connection instead of failing."""
    import threading
    import time

    fast = store.fast
    second = fast.second()
    assert fast.second() is second
    first_id, second_id = _connection_id(fast), _connection_id(second)
    assert second_id != first_id
    query = "SELECT count(*) FROM cars c WHERE c.id > :n"
    with fast.custom_plans():
        other = threading.Thread(target=lambda: [second.rows(query, {"n": n}) for n in range(8)])
        other.start()
        other.join()
    if fast.dialect == "postgresql":
        prepared = "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :pattern"
        # planned for its values each time, as the first reader's reads in the block are
        assert second.rows(prepared, {"pattern": "%c.id >%"})[0][0] == 0

    fast.let_second_go()
    assert second._conn is None
    if fast.dialect == "postgresql":
        alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
        deadline = time.monotonic() + 5
        while fast.rows(alive, {"pid": second_id})[0][0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fast.rows(alive, {"pid": second_id})[0][0] == 0  # the server let it go too
    assert _connection_id(second) != first_id  # opened again when next used
    fast.let_second_go()

    if fast.dialect == "postgresql":
        import psycopg

        def refused() -> None:
            raise psycopg.OperationalError("sorry, too many clients already")

        monkeypatch.setattr(second, "_connect", refused)
        assert _connection_id(second) == first_id  # its reads take turns on the first's
        assert (
            second.rows("SELECT count(*) FROM cars")[0][0]
            == fast.rows("SELECT count(*) FROM cars")[0][0]
        )
