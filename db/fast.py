"""Light reads for lists and start-up, straight through the database driver (``sqlite3`` or
``psycopg``): no SQLAlchemy, no ORM objects, only the columns a list shows.

The TUI paints its first screen from here while the ORM layer loads in the background, and every
long list pages through here (tuples are cheap; ORM rows are not).  Writes never come through here.
"""

from __future__ import annotations

import re
import threading
import uuid
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, NamedTuple

from db import search
from db.access import Actor, actor_change, actor_from, car_scope_sql, may_sell_for
from db.clock import as_utc
from db.i18n import _
from db.urls import (
    configure_sqlite_connection,
    dialect_of,
    libpq_conninfo,
    normalize_url,
    sqlite_path,
)
from db.vocab import CAR_STATUSES

MY_CARS_LIMIT = 5000
LIST_PAGE = 100  # rows a paged list (the car list) reads at a time
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
    parts_waiting: bool = False


# The car waits on parts: ordered by either side and not all arrived (the SQL twin of
# ``db.workflow.waiting_on_parts``, which reads the same four timestamps).
PARTS_WAITING_SQL = (
    "((c.parts_ordered_seller_at IS NOT NULL AND c.parts_arrived_seller_at IS NULL) "
    "OR (c.parts_ordered_prep_at IS NOT NULL AND c.parts_arrived_prep_at IS NULL))"
)
_CAR_COLUMNS = (
    "c.id, c.status, c.vin, c.license_plate, c.brand, c.model, c.customer_name, "
    "(SELECT d.dealership_name FROM dealership d WHERE d.id = c.dealership_id), "
    f"c.order_number, c.status_changed_at, {PARTS_WAITING_SQL}"
)


def _car_row(r: tuple[Any, ...]) -> CarRow:
    return CarRow(*r[:9], as_utc(r[9]), bool(r[10]))


class MyCarRow(NamedTuple):
    """One line of a seller's own list: the car, its next work, parts and SLA inputs."""

    id: int
    status: str
    vin: str | None
    license_plate: str | None
    brand: str | None
    model: str | None
    customer_name: str | None
    order_number: str | None
    status_changed_at: datetime | None
    expected_delivery_date: date | None
    delivered_to_customer_at: datetime | None
    next_work: tuple[str, date, time | None] | None  # ("technical", day, start)
    parts_waiting: bool
    parts_open: int  # orders not yet arrived
    unread: int  # the user's unread notifications about this car
    seller_name: str | None


class TypeRow(NamedTuple):
    """A bookable resource type."""

    id: int
    code: str
    name: str
    default_hours: float
    requires_assignment: bool
    prep_stage: str | None


class UserRow(NamedTuple):
    """One user on the sign-in list."""

    id: str
    login: str
    display_name: str
    role: str
    dealership_id: int | None
    dealership_name: str | None
    has_pin: bool
    has_badge: bool = False


class StartRow(NamedTuple):
    """What a session needs to know at sign-in to pick its first screen."""

    start_mode: str | None  # the user's chosen start screen (None: their role's)
    has_dealerships: bool  # False: a new, empty database (an admin sets it up first)


class CarQuery(NamedTuple):
    """What the car list asks for: a search text and which statuses."""

    search: str = ""
    statuses: tuple[str, ...] = ()  # empty: every status but archived
    include_archived: bool = False


# ------------------------------------------------------------------------------------------------
# connections: how long a session waits, and one PostgreSQL connection per session
# ------------------------------------------------------------------------------------------------
WRITE_WAIT = 10.0  # seconds a write waits for another terminal's change before it is given up
STATEMENT_TIMEOUT = 60.0  # PostgreSQL: seconds one statement may run (a runaway read or write)
IDLE_IN_TRANSACTION_TIMEOUT = 30.0  # PostgreSQL: a frozen session's transaction is ended after
_write_wait = WRITE_WAIT
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (not imported: psycopg loads with the first read)


def set_write_wait(seconds: float) -> None:
    """The ``write_wait`` setting for this process (the sessions opened afterwards)."""
    global _write_wait
    _write_wait = float(seconds) if seconds and seconds > 0 else WRITE_WAIT


def write_wait() -> float:
    """Seconds a write waits for another terminal's change (the ``write_wait`` setting)."""
    return _write_wait


# prepfloor's connections say so: the database's triggers for other writers (db/triggers.py)
# leave prepfloor's writes to its own rules
WRITER_OPTION = "-c prepfloor.writer=prepfloor"


def postgres_options(wait: float) -> str:
    """libpq ``options`` that bound every wait of a prepfloor connection on the server: a lock
    wait (``lock_timeout``: the write wait), a statement, and a transaction left open by a frozen
    session (its locks are freed after ``idle_in_transaction_session_timeout``)."""
    lock_ms = max(1, round(wait * 1000))
    statement_ms = max(round(STATEMENT_TIMEOUT * 1000), 2 * lock_ms)
    idle_ms = max(round(IDLE_IN_TRANSACTION_TIMEOUT * 1000), 2 * lock_ms)
    return (
        f"-c lock_timeout={lock_ms} -c statement_timeout={statement_ms} "
        f"-c idle_in_transaction_session_timeout={idle_ms} {WRITER_OPTION}"
    )


def connect_postgres(url: str, wait: float | None, *, autocommit: bool) -> Any:
    """A psycopg connection to ``url`` with :func:`postgres_options` (added to the URL's own);
    ``wait`` None: the driver's timeouts, only prepfloor's :data:`WRITER_OPTION`."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(libpq_conninfo(url))
    ours = postgres_options(wait) if wait is not None else WRITER_OPTION
    params["options"] = f"{params.get('options') or ''} {ours}".strip()
    return psycopg.connect(**params, autocommit=autocommit)  # type: ignore[arg-type]


def _integers(cursor: Any) -> array[int]:
    values = array("q")
    while rows := cursor.fetchmany(4096):
        values.fromlist([row[0] for row in rows])  # in C, a batch at a time
    return values


class FastReader:
    """One driver connection, shared by the threads of one session (queries are milliseconds).

    On PostgreSQL a session holds one connection in all: once the ORM layer has loaded
    (:meth:`read_through`), this reader hands its connection to the ORM engine's pool (of one) and
    borrows it back for each read, so reads, writes and the change feed take turns on it.  Only an
    open dashboard holds one more, for its second half (:meth:`second`, :meth:`let_second_go`).
    """

    def __init__(self, url: str, write_wait: float | None = None) -> None:
        self.url = normalize_url(url)
        self.dialect = dialect_of(self.url)
        self.write_wait = write_wait if write_wait is not None else _write_wait
        self._lock = threading.Lock()
        self._conn: Any = None
        self._second: FastReader | None = None
        self._engine: Any = None  # PostgreSQL, ORM loaded: read through its pool
        self._custom_plans = 0  # PostgreSQL: reads planned for their values (custom_plans)
        self._first: FastReader | None = None  # a second reader's first (see second())

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
        return connect_postgres(self.url, self.write_wait, autocommit=True)

    def read_through(self, engine: Any) -> None:
        """PostgreSQL: read through ``engine``'s pool from now on (the session's one connection;
        its first connection is this reader's own, :meth:`hand_over`)."""
        with self._lock:
            self._engine = engine

    def hand_over(self) -> Any:
        """A connection for the ORM engine's pool: this reader's own (no second one opened), else
        a new one.  In a transaction of its own (``autocommit`` off), as SQLAlchemy expects."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None or conn.closed or conn.broken:
            return connect_postgres(self.url, self.write_wait, autocommit=False)
        conn.autocommit = False
        return conn

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one read; ``:name`` parameters on both drivers."""
        return self._run(sql, params, lambda cursor: list(cursor.fetchall()))

    def integers(self, sql: str, params: Mapping[str, Any] | None = None) -> array[int]:
        """The first column of every row, integers, streamed into an array: the ids of 100,000
        cars cost 0.8 MB, not 4 MB as a list of Python integers (and no row tuples in between)."""
        return self._run(sql, params, _integers)

    @contextmanager
    def custom_plans(self) -> Iterator[None]:
        """Reads in this block (from any thread) are planned for their own values each time, never
        prepared: a prepared statement's generic plan of a range over months, or of ``LIMIT ..
        OFFSET`` on an index, can read many times the rows (the dashboard's 90th percentiles:
        ~4x slower).  Planning them costs a tenth of a millisecond.  No effect on SQLite."""
        with self._lock:
            self._custom_plans += 1
        try:
            yield
        finally:
            with self._lock:
                self._custom_plans -= 1

    def _run(self, sql: str, params: Mapping[str, Any] | None, consume: Any) -> Any:
        first = self._first
        if first is not None and first.dialect == "postgresql" and self._conn is None:
            try:  # a second reader: its own connection, or (none to be had) the first's turns
                with self._lock:
                    if self._conn is None:
                        self._conn = self._connect()
            except Exception:
                return first._run(sql, params, consume)
        prepare: bool | None = None
        if self.dialect == "postgresql":
            sql = _NAMED.sub(r"%(\1)s", sql)
            custom = self._custom_plans or (first is not None and first._custom_plans)
            prepare = False if custom else None
        with self._lock:
            engine = self._engine
            if engine is None:
                if self._conn is None:
                    self._conn = self._connect()
                try:
                    if prepare is None:
                        return consume(self._conn.execute(sql, dict(params or {})))
                    return consume(self._conn.execute(sql, dict(params or {}), prepare=prepare))
                except Exception:
                    if self.dialect == "postgresql":
                        self._close_locked()  # a broken connection is opened again next time
                    raise
        # the pool's one connection (waits while a write or another read of this session has it)
        proxy = engine.raw_connection()
        try:
            conn = proxy.dbapi_connection
            if conn.info.transaction_status != _IDLE:
                conn.rollback()
            conn.autocommit = True  # one statement, no transaction left open
            try:
                return consume(conn.execute(sql, dict(params or {}), prepare=prepare))
            finally:
                if not (conn.closed or conn.broken):
                    conn.autocommit = False
        except Exception:
            conn = proxy.dbapi_connection
            if conn is not None and (conn.closed or conn.broken):
                proxy.invalidate()  # opened again next time
            raise
        finally:
            proxy.close()

    def _close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()
            second, self._second = self._second, None
        if second is not None:
            second.close()

    def second(self) -> FastReader:
        """A second reader on the same database (its own connection, opened when first used):
        for a read that runs beside this one's in another thread (the dashboard's halves), so
        that the database works on both at once.  Its reads are planned as this reader's are
        (:meth:`custom_plans`).  On PostgreSQL, where a server that has no connection to spare
        refuses it, its reads take turns on this reader's connection instead; the screen that
        used it lets it go when it is left (:meth:`let_second_go`)."""
        with self._lock:
            if self._second is None:
                self._second = FastReader(self.url, self.write_wait)
                self._second._first = self
            return self._second

    def let_second_go(self) -> None:
        """Close the second reader's connection (PostgreSQL: one server connection fewer); it is
        opened again when next used."""
        with self._lock:
            second = self._second
        if second is not None:
            with suppress(Exception):  # closed or broken: gone either way
                second.close()

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

    def actor_change(self, actor: Actor) -> str | None:
        """Why ``actor`` may no longer write (switched off, another role or dealership since they
        signed in; the words of :func:`db.users.recheck`), or ``None``.  One primary-key read:
        the session asks it whenever the change feed moves."""
        found = self.rows(
            "SELECT active, role, dealership_id FROM users WHERE id = :id",
            {"id": self.uid(actor.user_id)},
        )
        state = (bool(found[0][0]), str(found[0][1]), found[0][2]) if found else None
        if state is not None and state[1:] == (actor.role, actor.dealership_id) and state[0]:
            return None
        return actor_change(actor, state, self.dealership_name, writing=False)

    def sign_in_list(self, terminal: str | None = None) -> list[UserRow]:
        """Active users for the sign-in screen, by dealership then name (not the shared terminal
        accounts: nobody signs in as one).  At the shared terminal account ``terminal`` (its
        login): only the people who can sign in there, its dealership's with a PIN or a badge
        (:func:`db.users.sign_in` holds them to it); none when that account is switched off."""
        where = "u.active AND NOT u.is_terminal"
        params: dict[str, Any] = {}
        if terminal is not None:
            where += (
                " AND (u.pin_hash IS NOT NULL OR u.badge_hash IS NOT NULL) AND EXISTS (SELECT 1 "
                "FROM users t WHERE lower(t.login) = :terminal AND t.active AND t.is_terminal "
                "AND (t.dealership_id IS NULL OR t.dealership_id = u.dealership_id))"
            )
            params["terminal"] = terminal.strip().lower()
        rows = self.rows(
            "SELECT u.id, u.login, u.display_name, u.role, u.dealership_id, d.dealership_name, "
            "u.pin_hash IS NOT NULL, u.badge_hash IS NOT NULL "
            "FROM users u LEFT JOIN dealership d ON d.id = u.dealership_id "
            f"WHERE {where} ORDER BY d.dealership_name, u.display_name",
            params,
        )
        return [
            UserRow(str(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7])) for r in rows
        ]

    def is_terminal(self, login: str) -> bool:
        """Is ``login`` an active shared terminal account (its sessions open the sign-in screen)?"""
        found = self.rows(
            "SELECT 1 FROM users WHERE lower(login) = :login AND active AND is_terminal",
            {"login": login.strip().lower()},
        )
        return bool(found)

    def start_row(self, user_id: Any) -> StartRow:
        """The signed-in user's chosen start screen, and whether any dealership exists yet."""
        found = self.rows(
            "SELECT (SELECT u.start_mode FROM users u WHERE u.id = :id), "
            "EXISTS (SELECT 1 FROM dealership)",
            {"id": self.uid(user_id)},
        )
        mode, any_dealership = found[0] if found else (None, False)
        return StartRow(mode, bool(any_dealership))

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
        return as_object(found[0][0]) if found else None

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
            f"SELECT {_CAR_COLUMNS} FROM cars c WHERE {where} "
            "ORDER BY c.id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        return [_car_row(r) for r in rows]

    def car_ids(self, actor: Actor, query: CarQuery) -> Sequence[int]:
        """Every matching car's id, newest first: the list fetches this once per search and then
        only the rows it shows (:meth:`cars_by_id`), so any page is as quick as the first."""
        where, params = self._car_where(actor, query)
        return self.integers(f"SELECT c.id FROM cars c WHERE {where} ORDER BY c.id DESC", params)

    def cars_by_id(self, ids: Sequence[int]) -> list[CarRow]:
        """The list lines of these cars, in the order given (ids come from :meth:`car_ids`)."""
        if not ids:
            return []
        params = {f"i{n}": int(car_id) for n, car_id in enumerate(ids)}
        rows = self.rows(
            f"SELECT {_CAR_COLUMNS} FROM cars c "
            f"WHERE c.id IN ({', '.join(':' + k for k in params)})",
            params,
        )
        found = {r[0]: _car_row(r) for r in rows}
        return [found[i] for i in ids if i in found]

    def find_cars(self, actor: Actor, text: str, limit: int = 8) -> list[CarRow]:
        """The best few cars for a search (archived included): the command palette's finder."""
        return self.car_page(actor, CarQuery(search=text, include_archived=True), 0, limit)

    def uid(self, user_id: Any) -> Any:
        """A user id as this driver compares it (SQLite keeps UUIDs as 32 hex digits)."""
        value = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
        return value.hex if self.dialect == "sqlite" else value

    def my_cars(self, actor: Actor, limit: int = MY_CARS_LIMIT) -> list[MyCarRow]:
        """The cars a seller sells (a manager or admin: their dealerships' cars), newest first,
        archived left out, at most ``limit``."""
        params: dict[str, Any] = {"me": self.uid(actor.user_id), "limit": int(limit)}
        if actor.role == "seller":
            scope = "c.seller_id = :me"
        elif actor.all_dealerships:
            scope = "1=1"
        elif actor.dealership_ids:
            scope = f"c.dealership_id IN ({', '.join(str(int(i)) for i in actor.dealership_ids)})"
        else:
            scope = "1=0"
        rows = self.rows(
            "SELECT c.id, c.status, c.vin, c.license_plate, c.brand, c.model, c.customer_name, "
            "c.order_number, c.status_changed_at, c.expected_delivery_date, "
            "c.delivered_to_customer_at, c.scheduled_technical_date, c.scheduled_technical_time, "
            "c.technical_completed_at, c.scheduled_cosmetic_date, c.scheduled_cosmetic_time, "
            f"c.cosmetic_completed_at, {PARTS_WAITING_SQL}, "
            "(SELECT count(*) FROM parts_orders p WHERE p.car_id = c.id "
            " AND p.status IN ('ordered', 'in_transit')), "
            "(SELECT count(*) FROM notifications n WHERE n.car_id = c.id AND n.user_id = :me "
            " AND NOT n.read), "
            "(SELECT u.display_name FROM users u WHERE u.id = c.seller_id) "
            f"FROM cars c WHERE {scope} AND c.status <> 'archived' "
            "ORDER BY c.id DESC LIMIT :limit",
            params,
        )
        result = []
        for r in rows:
            work = []
            if r[11] is not None and r[13] is None:
                work.append(("technical", as_date(r[11]), as_time(r[12])))
            if r[14] is not None and r[16] is None:
                work.append(("cosmetic", as_date(r[14]), as_time(r[15])))
            work.sort(key=lambda w: (w[1], w[2] or time(0)))
            result.append(
                MyCarRow(
                    *r[:8],
                    as_utc(r[8]),
                    as_date(r[9]),
                    as_utc(r[10]),
                    work[0] if work else None,
                    bool(r[17]),
                    int(r[18]),
                    int(r[19]),
                    r[20],
                )
            )
        return result

    def active_vin(
        self, vin: str, exclude_id: int | None = None
    ) -> tuple[int, str | None, str] | None:
        """The car still being worked on that has this VIN: (id, order number, status)."""
        found = self.rows(
            "SELECT id, order_number, status FROM cars WHERE vin = :vin "
            "AND status NOT IN ('delivered', 'archived') AND id <> :exclude",
            {"vin": vin, "exclude": int(exclude_id or 0)},
        )
        return (int(found[0][0]), found[0][1], str(found[0][2])) if found else None

    def sellers(self, dealership_id: int) -> list[tuple[str, str]]:
        """Active sellers and managers of a dealership: (id, name), for a seller field."""
        rows = self.rows(
            "SELECT id, display_name FROM users WHERE active AND dealership_id = :d "
            "AND role IN ('seller', 'manager') ORDER BY display_name",
            {"d": int(dealership_id)},
        )
        return [(str(uuid.UUID(str(r[0]))), r[1]) for r in rows]

    def eligible_sellers(self, dealership_id: int) -> list[tuple[str, str]]:
        """Who may be the seller of a car of this dealership (the rule of
        :func:`db.access.may_sell_for`): its active sellers, and the active managers who see it
        (its own and those of the dealerships above it): (id, name), by name."""
        parents = self.parents()
        above: list[int] = []
        seen: set[int] = set()
        at: int | None = int(dealership_id)
        while at is not None and at not in seen:  # the dealership and its ancestors
            seen.add(at)
            above.append(at)
            at = parents.get(at)
        rows = self.rows(
            "SELECT id, display_name, role, dealership_id FROM users WHERE active "
            f"AND dealership_id IN ({', '.join(str(int(d)) for d in above)}) "
            "AND role IN ('seller', 'manager')"
        )
        found = [
            (str(uuid.UUID(str(r[0]))), str(r[1]))
            for r in rows
            if may_sell_for(r[2], r[3], int(dealership_id), parents)
        ]
        found.sort(key=lambda p: (p[1].lower(), p[0]))
        return found

    def logo(self, dealership_id: int | None) -> str | None:
        """The dealership's logo text, else its nearest headquarters' (for the header)."""
        found = {
            int(i): (parent, logo)
            for i, parent, logo in self.rows(
                "SELECT id, parent_dealership_id, logo FROM dealership"
            )
        }
        seen: set[int] = set()
        while dealership_id is not None and dealership_id in found and dealership_id not in seen:
            seen.add(dealership_id)
            parent, logo = found[dealership_id]
            if logo and str(logo).strip():
                return str(logo).strip()
            dealership_id = parent
        return None

    def json_column(self, column: str) -> dict[int, dict[str, Any] | None]:
        """A JSON column of every dealership (``brand_colors``, ``sla_targets``) by id; a value
        that is not an object reads as None."""
        rows = self.rows(f"SELECT id, {column} FROM dealership")
        return {int(dealership_id): as_object(value) for dealership_id, value in rows}

    def dealerships(
        self, ids: list[int] | None, *, prep_only: bool = False
    ) -> list[tuple[int, str]]:
        """Active dealerships (these ids, or all; ``prep_only``: those that do prep work, the SQL
        twin of ``db.admin.does_prep``): (id, "number name"), by number."""
        where = ""
        if ids is not None:
            where = f"AND id IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"
        if prep_only:
            where += " AND (dealership_type = 'prep_center_only' OR does_own_prep)"
        rows = self.rows(
            "SELECT id, dealership_number, dealership_name FROM dealership "
            f"WHERE active {where} ORDER BY dealership_number"
        )
        return [(int(r[0]), f"{r[1]} {r[2]}") for r in rows]

    def bookable_types(self) -> list[TypeRow]:
        """The active, bookable resource types, by name (for a booking's work field)."""
        rows = self.rows(
            "SELECT id, code, name, default_duration_hours, requires_assignment, prep_stage "
            "FROM resource_types WHERE active AND bookable ORDER BY name"
        )
        return [TypeRow(int(r[0]), r[1], r[2], float(r[3] or 0), bool(r[4]), r[5]) for r in rows]

    def car_brief(self, car_id: int) -> tuple[str, int, str] | None:
        """A car as a booking form names it, in the language spoken now: (label, its dealership
        id, status)."""
        found = self.rows(
            "SELECT brand, model, license_plate, vin, order_number, dealership_id, status "
            "FROM cars WHERE id = :id",
            {"id": int(car_id)},
        )
        if not found:
            return None
        brand, model, plate, vin, order, dealership_id, status = found[0]
        what = " ".join(x for x in (brand, model) if x) or _("Car")
        ident = plate or (f"…{vin[-6:]}" if vin else "") or ""
        label = f"{what} {ident}".strip()
        if order:
            label = _("{car} · order {order}").format(car=label, order=order)
        return label, int(dealership_id), str(status)

    def status_counts(self, actor: Actor) -> dict[str, int]:
        """Cars per status in the actor's scope: the counts the database keeps per dealership,
        prep center and status (``car_status_totals``, :mod:`db.totals`) for the cars of the
        actor's dealerships and prep centers, plus the few others they work on
        (``car_access``), counted one by one.  What it reads grows with the dealerships, not the
        cars."""
        counts = dict.fromkeys(CAR_STATUSES, 0)
        if not actor.all_dealerships and not actor.dealership_ids:
            return counts
        if actor.all_dealerships:
            rows = self.rows(
                "SELECT t.status, sum(t.cars) FROM car_status_totals t GROUP BY t.status"
            )
        else:
            ids = ", ".join(str(int(i)) for i in sorted(actor.dealership_ids))
            rows = self.rows(
                "SELECT t.status, sum(t.cars) FROM car_status_totals t "
                f"WHERE t.dealership_id IN ({ids}) OR t.prep_center_id IN ({ids}) "
                "GROUP BY t.status"
            )
            rows += self.rows(
                "SELECT c.status, count(*) FROM cars c WHERE c.id IN (SELECT a.car_id "
                f"FROM car_access a WHERE a.dealership_id IN ({ids})) "
                f"AND c.dealership_id NOT IN ({ids}) "
                f"AND coalesce(c.prep_center_id, 0) NOT IN ({ids}) GROUP BY c.status"
            )
        for status, n in rows:
            if str(status) in counts:
                counts[str(status)] += int(n or 0)
        return counts

    def latest_event_id(self) -> int:
        """The newest event id (0 for none)."""
        return int(self.rows("SELECT coalesce(max(id), 0) FROM events")[0][0])


def as_object(value: Any) -> dict[str, Any] | None:
    """A JSON object column as a driver hands it back (text on SQLite); anything else: None."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def as_date(value: Any) -> date | None:
    """A date as a driver hands it back (ISO text on SQLite)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_time(value: Any) -> time | None:
    """A time of day as a driver hands it back (ISO text on SQLite)."""
    if value is None or isinstance(value, time):
        return value
    return time.fromisoformat(str(value))


@lru_cache(maxsize=8192)
def as_uid(value: Any) -> str | None:
    """A user id as the screens carry it: ``str(uuid.UUID)`` (32 hex digits on SQLite).  Worked
    out once per id (a group's dashboard names each of ~400 people in several tables)."""
    return None if value is None else str(uuid.UUID(str(value)))
