"""db.hot: the booking's statements run on the driver's cursor, with SQLAlchemy's types and errors
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import bindparam, exc, insert, select

from db import ledger
from db.hot import Hot
from db.ledger_rows import BOOKINGS, CAPACITY
from db.models import Event
from world import book, booking, rows

_ROWS = Hot(
    select(CAPACITY.c.id, CAPACITY.c.allocated_hours, CAPACITY.c.used_hours)
    .where(
        CAPACITY.c.dealership_id == bindparam("provider"),
        CAPACITY.c.date == bindparam("day"),
        CAPACITY.c.user_id == bindparam("user"),
    )
    .order_by(CAPACITY.c.id)
)


def test_a_hot_select_reads_what_core_reads(world) -> None:  # type: ignore[no-untyped-def]
    """A date and a UUID parameter go through SQLAlchemy's own types (text on SQLite), and the
    rows are the same as SQLAlchemy's, by name."""
    params = {
        "provider": world.d["499"],
        "day": world.day(2),
        "user": world["mechanic499"].user_id,
    }

    def both(session):  # type: ignore[no-untyped-def]
        conn = session.connection()
        return _ROWS.all(conn, params), conn.execute(_ROWS.statement, params).all()

    hot, core = world.db.query(both)
    assert len(hot) == 1  # the mechanic's TECH_PREP row of that day
    assert [tuple(r) for r in hot] == [tuple(r) for r in core]
    assert hot[0].allocated_hours == core[0].allocated_hours


def test_a_refused_hot_insert_raises_sqlalchemys_error_and_saves_nothing(world) -> None:  # type: ignore[no-untyped-def]
    """A constraint broken by a hot statement is SQLAlchemy's IntegrityError (what the rules and
    the screens already handle), and the transaction is rolled back."""
    bad = Hot(
        insert(BOOKINGS).values(
            resource_type_id=bindparam("rt"),
            date=bindparam("day"),
            estimated_hours=bindparam("hours"),
            provider_dealership_id=bindparam("provider"),
            consumer_dealership_id=bindparam("provider"),
            status="scheduled",
        )
    )

    def write(session):  # type: ignore[no-untyped-def]
        params = {"rt": world.rt["WASH"], "day": world.day(1), "provider": world.d["499"]}
        bad.execute(session.connection(), {**params, "hours": 1.0})
        bad.execute(session.connection(), {**params, "hours": -1.0})  # CHECK estimated_hours > 0

    with pytest.raises(exc.IntegrityError):
        world.db.run(write)
    assert rows(world, __import__("db.models").models.ResourceBooking) == []


def test_text_through_a_hot_statement_is_cleaned(world) -> None:  # type: ignore[no-untyped-def]
    """The control characters that every path strips (db.types.SafeString) are stripped from a
    booking's notes and from its event too, and times are stored as the ORM reads them."""
    job = book(world, 1, 2, notes="rim \x1b[31mscratch\x07", start_time=time(9, 30))
    saved = booking(world, job)
    assert saved["notes"] == "rim [31mscratch"
    assert saved["start_time"] == time(9, 30)
    (event,) = rows(world, Event, entity="resource_bookings", action="book")
    assert event["changes"]["start_time"] == "09:30:00"
    world.db.run(ledger.cancel, world["coordinator499"], job, reason="done \x1b]0;x\x07")
    (cancelled,) = rows(world, Event, entity="resource_bookings", action="cancelled")
    assert "\x1b" not in str(cancelled["changes"]) and "\x07" not in str(cancelled["changes"])


def test_a_statement_made_after_the_writes_were_prepared_is_compiled_before_the_next_write(
    world,
) -> None:  # type: ignore[no-untyped-def]
    """A session may prepare its writes early (the write path loaded ahead of a save); a module of
    rules imported after that makes statements of its own, and the next write compiles them
    before it takes the lock, not inside it."""
    db = world.db
    db.prepare_writes()
    dialect = db.engine.dialect.name
    later = Hot(select(CAPACITY.c.id).where(CAPACITY.c.id == bindparam("id")))
    assert dialect not in later._plans
    seen: list[bool] = []
    db.run(lambda session: seen.append(dialect in later._plans))
    assert seen == [True]


def test_a_refusal_or_a_read_ends_without_losing_the_prepared_statements(world) -> None:  # type: ignore[no-untyped-def]
    """A write refused by its rule is rolled back whole and the next one works.  On PostgreSQL
    its connection keeps the statements psycopg prepared (psycopg deallocates them all on each
    rollback of its own): a booking refused as it does not fit, or a read, no longer has every
    statement of the next bookings parsed and planned again.  After a database error they are
    started afresh, as psycopg does (the error may be a schema that changed)."""
    from sqlalchemy import exc, text

    from db.errors import Invalid

    db, center = world.db, world.d["499"]
    probe = Hot(select(CAPACITY.c.id).where(CAPACITY.c.dealership_id == bindparam("provider")))
    sql = str(probe.statement.compile(dialect=db.engine.dialect))
    postgres = db.dialect == "postgresql"

    def use(session) -> tuple[int, set[str]]:  # type: ignore[no-untyped-def]
        conn = session.connection()
        for _ in range(8):  # psycopg prepares what a connection has run more than 5 times
            probe.all(conn, {"provider": center})
        return prepared(session)

    def prepared(session) -> tuple[int, set[str]]:  # type: ignore[no-untyped-def]
        if not postgres:
            return 0, set()
        conn = session.connection()
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        found = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars()
        return pid, {" ".join(s.split()) for s in found}

    def name() -> str:
        return db.query(
            lambda s: s.execute(
                text("SELECT dealership_name FROM dealership WHERE id = :id"), {"id": center}
            ).scalar()
        )

    def refused(session) -> None:  # type: ignore[no-untyped-def]
        session.execute(
            text("UPDATE dealership SET dealership_name = 'Changed' WHERE id = :id"), {"id": center}
        )
        raise Invalid("refused after a change")

    def failing(session) -> None:  # type: ignore[no-untyped-def]
        session.execute(text("SELECT count(*) FROM no_such_table"))

    before = name()
    pid, kept = db.run(use)
    statement = " ".join(sql.split()).replace("%(provider)s", "$1")
    assert (statement in kept) is postgres, kept
    with pytest.raises(Invalid):
        db.run(refused)
    assert name() == before  # rolled back whole (and a read ended since)
    assert db.run(prepared) == (pid, kept)  # the same connection, its statements kept
    with pytest.raises(exc.DBAPIError):  # no such table
        db.run(failing)
    assert db.run(prepared) == (pid, set())
    assert (statement in db.run(use)[1]) is postgres  # and the next write prepares it again
    assert name() == before
