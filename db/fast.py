"""Light reads for lists and start-up, straight through the database driver (``sqlite3`` or
``psycopg``): no SQLAlchemy, no ORM objects, only the columns a list shows.

The TUI paints its first screen from here while the ORM layer loads in the background, and every
long list pages through here (tuples are cheap; ORM rows are not).  Writes never come through here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from db import search
from db.access import Actor, actor_from, car_scope_sql
from db.clock import as_utc
from db.urls import (
    configure_sqlite_connection,
    dialect_of,
    libpq_conninfo,
    normalize_url,
    sqlite_path,
)
from db.vocab import CAR_STATUSES

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class CarRow(NamedTuple):
    """One line of the car list."""

    id: int
    status: str
    vin: str | None
    license_plate: str | None
    brand: str | None
    model: str | None
    customer_name: str | None
    dealership_name: str
    order_number: str | None
    status_changed_at: datetime | None


class UserRow(NamedTuple):
    """One user on the sign-in list."""

    id: str
    login: str
    display_name: str
    role: str
    dealership_id: int | None
    dealership_name: str | None
    has_pin: bool


@dataclass(frozen=True)
class CarQuery:
    """What the car list asks for: a search text and which statuses."""

    search: str = ""
    statuses: tuple[str, ...] = ()  # empty: every status but archived
    include_archived: bool = False


class FastReader:
    """One driver connection, shared by the threads of one session (queries are milliseconds)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.dialect = dialect_of(self.url)
        self._lock = threading.Lock()
        self._conn: Any = None

    # -- plumbing --------------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            import sqlite3

            path = sqlite_path(self.url)
            if path != ":memory:":
                from pathlib import Path

                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=15, check_same_thread=False)
            configure_sqlite_connection(conn)
            return conn
        import psycopg

        return psycopg.connect(libpq_conninfo(self.url), autocommit=True)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one read; ``:name`` parameters on both drivers."""
        return self._run(sql, params, lambda cursor: list(cursor.fetchall()))

    def column(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The first column of every row, streamed (no list of row tuples in between: the ids of
        100,000 cars cost their integers, not 100,000 tuples as well)."""
        return self._run(sql, params, lambda cursor: [row[0] for row in cursor])

    def _run(self, sql: str, params: Mapping[str, Any] | None, consume: Any) -> Any:
        if self.dialect == "postgresql":
            sql = _NAMED.sub(r"%(\1)s", sql)
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            try:
                return consume(self._conn.execute(sql, dict(params or {})))
            except Exception:
                if self.dialect == "postgresql":
                    self._close_locked()  # a broken connection is opened again next time
                raise

    def _close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    # -- schema ----------------------------------------------------------------------------------
    def schema_revision(self) -> str | None:
        """The Alembic revision of the database, or ``None`` for a database without prepfloor."""
        try:
            found = self.rows("SELECT version_num FROM alembic_version")
        except Exception as error:  # no such table: a new, empty database
            if "alembic_version" in str(error) or "does not exist" in str(error):
                return None
            raise
        return str(found[0][0]) if found else None

    def has_tables(self) -> bool:
        """Does the database hold any table at all (a database prepfloor did not create)?"""
        if self.dialect == "sqlite":
            sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        return int(self.rows(sql)[0][0]) > 0

    # -- users -----------------------------------------------------------------------------------
    def parents(self) -> dict[int, int | None]:
        return {int(i): p for i, p in self.rows("SELECT id, parent_dealership_id FROM dealership")}

    def actor(self, login: str) -> Actor | None:
        """The active user with this login (case-insensitive), as an actor."""
        found = self.rows(
            "SELECT id, login, display_name, role, dealership_id FROM users "
            "WHERE lower(login) = :login AND active",
            {"login": login.strip().lower()},
        )
        if not found:
            return None
        user_id, login_, name, role, dealership_id = found[0]
        return actor_from(user_id, login_, name, role, dealership_id, self.parents())

    def sign_in_list(self) -> list[UserRow]:
        """Active users for the sign-in screen, by dealership then name."""
        rows = self.rows(
            "SELECT u.id, u.login, u.display_name, u.role, u.dealership_id, d.dealership_name, "
            "u.pin_hash IS NOT NULL FROM users u LEFT JOIN dealership d ON d.id = u.dealership_id "
            "WHERE u.active ORDER BY d.dealership_name, u.display_name"
        )
        return [UserRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    def dealership_name(self, dealership_id: int | None) -> str | None:
        if dealership_id is None:
            return None
        found = self.rows(
            "SELECT dealership_number, dealership_name FROM dealership WHERE id = :id",
            {"id": dealership_id},
        )
        return f"{found[0][0]} {found[0][1]}" if found else None

    def brand_colors(self, dealership_id: int | None) -> dict[str, Any] | None:
        if dealership_id is None:
            return None
        found = self.rows(
            "SELECT brand_colors FROM dealership WHERE id = :id", {"id": dealership_id}
        )
        if not found or found[0][0] is None:
            return None
        value = found[0][0]
        if isinstance(value, str):
            import json

            value = json.loads(value)
        return value if isinstance(value, dict) else None

    # -- cars ------------------------------------------------------------------------------------
    def _car_where(
        self, actor: Actor, query: CarQuery, *, page: bool = False
    ) -> tuple[str, dict[str, Any]]:
        where = [
            car_scope_sql(
                actor, "c", dialect=self.dialect, newest_first=page and self.dialect == "sqlite"
            )
        ]
        params: dict[str, Any] = {}
        if query.statuses:
            names = [s for s in query.statuses if s in CAR_STATUSES]
            keys = []
            for i, name in enumerate(names):
                params[f"s{i}"] = name
                keys.append(f":s{i}")
            where.append(f"c.status IN ({', '.join(keys) or 'NULL'})")
        elif not query.include_archived:
            where.append("c.status <> 'archived'")
        found, search_params = search.condition(self.dialect, query.search, "c")
        if found:
            where.append(found)
            params.update(search_params)
        return " AND ".join(where), params

    def car_count(self, actor: Actor, query: CarQuery) -> int:
        where, params = self._car_where(actor, query)
        return int(self.rows(f"SELECT count(*) FROM cars c WHERE {where}", params)[0][0])

    def car_page(self, actor: Actor, query: CarQuery, offset: int, limit: int) -> list[CarRow]:
        """Cars newest first, ``limit`` from ``offset``."""
        where, params = self._car_where(actor, query, page=True)
        params.update(limit=int(limit), offset=int(offset))
        rows = self.rows(
            "SELECT c.id, c.status, c.vin, c.license_plate, c.brand, c.model, c.customer_name, "
            "(SELECT d.dealership_name FROM dealership d WHERE d.id = c.dealership_id), "
            "c.order_number, c.status_changed_at "
            f"FROM cars c WHERE {where} "
            "ORDER BY c.id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        return [CarRow(*r[:9], as_utc(r[9])) for r in rows]

    def car_ids(self, actor: Actor, query: CarQuery) -> list[int]:
        """Every matching car's id, newest first: the list fetches this once per search and then
        only the rows it shows (:meth:`cars_by_id`), so any page is as quick as the first."""
        where, params = self._car_where(actor, query)
        return self.column(f"SELECT c.id FROM cars c WHERE {where} ORDER BY c.id DESC", params)

    def cars_by_id(self, ids: list[int]) -> list[CarRow]:
        """The list lines of these cars, in the order given (ids come from :meth:`car_ids`)."""
        if not ids:
            return []
        params = {f"i{n}": int(car_id) for n, car_id in enumerate(ids)}
        rows = self.rows(
            "SELECT c.id, c.status, c.vin, c.license_plate, c.brand, c.model, c.customer_name, "
            "(SELECT d.dealership_name FROM dealership d WHERE d.id = c.dealership_id), "
            "c.order_number, c.status_changed_at "
            "FROM cars c "
            f"WHERE c.id IN ({', '.join(':' + k for k in params)})",
            params,
        )
        found = {r[0]: CarRow(*r[:9], as_utc(r[9])) for r in rows}
        return [found[i] for i in ids if i in found]

    def find_cars(self, actor: Actor, text: str, limit: int = 8) -> list[CarRow]:
        """The best few cars for a search (archived included): the command palette's finder."""
        return self.car_page(actor, CarQuery(search=text, include_archived=True), 0, limit)

    def status_counts(self, actor: Actor) -> dict[str, int]:
        """Cars per status in the actor's scope."""
        rows = self.rows(
            f"SELECT c.status, count(*) FROM cars c "
            f"WHERE {car_scope_sql(actor, 'c', dialect=self.dialect)} GROUP BY c.status"
        )
        counts = dict.fromkeys(CAR_STATUSES, 0)
        counts.update({str(s): int(n) for s, n in rows})
        return counts

    def latest_event_id(self) -> int:
        """The change feed: the newest event id (sessions poll it)."""
        return int(self.rows("SELECT coalesce(max(id), 0) FROM events")[0][0])
