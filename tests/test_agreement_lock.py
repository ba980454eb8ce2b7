"""PostgreSQL: a sharing agreement's weekly cap is locked per ISO week, not for the whole agreement.

Bookings under one agreement in different weeks go on side by side; bookings of the same week wait
for each other (the cap stays exact: ``test_concurrency.test_weekly_sharing_cap_is_never_exceeded``),
and an admin's change to the agreement waits for the bookings under way.  SQLite has one writer at a
time, so there is nothing to show there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import new_database


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from new_database(request, "postgresql", tmp_path)


def _job(w: Any, day: Any) -> dict[str, Any]:
    return {
        "resource_type_id": w.rt["TECH_PREP"],
        "date": day,
        "estimated_hours": 1.0,
        "provider_dealership_id": w.d["499"],
        "consumer_dealership_id": w.d["495"],
        "user_id": w["mechanic499"].user_id,
    }


def test_other_weeks_under_an_agreement_do_not_wait_for_a_booking_under_way(pg_url: str) -> None:
    from sqlmodel import select

    from db import admin, ledger
    from db.engine import Database
    from db.errors import HeldUp
    from db.models import ResourceBooking, ResourceSharing
    from world import build_world

    first = Database(pg_url)
    w = build_world(first, days=21)
    second = Database(pg_url, write_wait=0.5)  # gives up after half a second of waiting
    coordinator = w["coordinator495"]
    monday = w.today + timedelta(days=7 - w.today.weekday())
    this_week, next_week = monday, monday + timedelta(days=7)
    agreement_id = first.query(
        lambda s: s.exec(
            select(ResourceSharing.id).where(
                ResourceSharing.provider_dealership_id == w.d["499"],
                ResourceSharing.consumer_dealership_id == w.d["495"],
                ResourceSharing.resource_type_id == w.rt["TECH_PREP"],
            )
        ).one()
    )

    with first.write() as session:  # a booking under way (not committed) in this week
        ledger.book(session, coordinator, **_job(w, this_week))
        # the next week under the same agreement is booked at once
        other = second.run(ledger.book, coordinator, **_job(w, next_week + timedelta(days=1)))
        # the same week waits for the booking under way (and gives up here: it is not committed)
        with pytest.raises(HeldUp):
            second.run(ledger.book, coordinator, **_job(w, this_week + timedelta(days=2)))
        # an admin's change to the agreement waits too
        with pytest.raises(HeldUp):
            second.run(admin.save_sharing, None, agreement_id, max_hours_per_week=30.0)

    # once it is committed, the same week is booked, and the agreement can be changed
    same = second.run(ledger.book, coordinator, **_job(w, this_week + timedelta(days=2)))
    second.run(admin.save_sharing, None, agreement_id, max_hours_per_week=30.0)
    days = first.query(
        lambda s: sorted(
            s.exec(
                select(ResourceBooking.date).where(
                    ResourceBooking.consumer_dealership_id == w.d["495"],
                    ResourceBooking.status == "scheduled",
                )
            ).all()
        )
    )
    assert days == [this_week, this_week + timedelta(days=2), next_week + timedelta(days=1)]
    assert other.id is not None and same.id is not None
    second.dispose()
    first.dispose()


def test_a_booking_waiting_for_its_day_holds_no_week(pg_url: str) -> None:
    """The week is locked after the day's rows: a booking under an agreement that waits for its
    day's row keeps no other day of that week waiting."""
    import threading

    from sqlalchemy import text

    from db import ledger
    from db.engine import Database
    from world import build_world

    first = Database(pg_url)
    w = build_world(first, days=21)
    waiting, third = Database(pg_url), Database(pg_url, write_wait=0.5)
    monday = w.today + timedelta(days=7 - w.today.weekday())
    own = {**_job(w, monday), "consumer_dealership_id": w.d["499"]}
    outcome: list[object] = []

    def book_monday() -> None:
        try:
            outcome.append(waiting.run(ledger.book, w["coordinator495"], **_job(w, monday)))
        except Exception as error:  # said by the assertion below
            outcome.append(error)

    with first.write() as session:  # Porsgrunn's own booking holds Monday's team row
        ledger.book(session, w["coordinator499"], **own)
        behind = threading.Thread(target=book_monday)
        behind.start()  # a booking under the agreement waits for Monday's row
        for _ in range(100):
            locked = third.query(
                lambda s: s.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar()
            )
            if locked:
                break
            threading.Event().wait(0.05)
        assert locked, "the booking under the agreement did not wait for Monday's row"
        # Tuesday of the same week under the same agreement is booked at once
        tuesday = third.run(ledger.book, w["coordinator495"], **_job(w, monday + timedelta(days=1)))
    behind.join(10)
    assert tuesday.id is not None
    assert len(outcome) == 1 and getattr(outcome[0], "id", None) is not None, outcome
    for db in (third, waiting, first):
        db.dispose()
