"""Database addresses.  Light: no SQLAlchemy here, so the first screen can use it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from db.i18n import _


def normalize_url(value: str) -> str:
    """Turn what a user types (a path, ``sqlite:///...``, ``postgresql://...``) into a URL.

    A bare path becomes a SQLite file; ``postgres://`` and ``postgresql://`` use psycopg 3.
    """
    value = value.strip()
    if "://" not in value:
        path = Path(value).expanduser()
        return f"sqlite:///{path.resolve()}"
    scheme, rest = value.split("://", 1)
    scheme = scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return f"sqlite://{rest}"
    raise ValueError(
        _(
            "prepfloor works with SQLite and PostgreSQL; {scheme} is not one of them "
            "(use a file path, sqlite:///path or postgresql://user@host/dbname)."
        ).format(scheme=repr(scheme))
    )


def dialect_of(url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def sqlite_path(url: str) -> str:
    """The file of a SQLite URL (``:memory:`` for an in-memory database)."""
    rest = url.split("://", 1)[1]
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    path = rest[1:] if rest.startswith("/") else rest
    return unquote(path.split("?", 1)[0])


def libpq_conninfo(url: str) -> str:
    """The URL in the form psycopg's ``connect()`` takes."""
    return "postgresql://" + url.split("://", 1)[1]


def describe(url: str) -> str:
    """The URL without its password, for messages and the header."""
    if dialect_of(url) == "sqlite":
        return sqlite_path(url)
    parts = urlsplit(libpq_conninfo(url))
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{host}{port}{parts.path}"


def database_key(url: str) -> str:
    """A PostgreSQL database as the server and the name, whoever signs in to it: the same for
    every user's URL of it (``host`` and ``port`` may be given in the query)."""
    parts = urlsplit(libpq_conninfo(url))
    query = parse_qs(parts.query)
    host = parts.hostname or query.get("host", ["localhost"])[-1]
    port = parts.port or query.get("port", ["5432"])[-1]
    name = unquote(parts.path.lstrip("/")) or query.get("dbname", [""])[-1]
    return f"{host}:{port}/{name}"


SQLITE_BUSY_TIMEOUT_MS = 15000


def configure_sqlite_connection(dbapi_connection: object) -> None:
    """Settings every SQLite connection of prepfloor gets, ORM or not.

    WAL lets readers go on while someone writes; foreign keys are enforced; a writer waits for the
    lock instead of failing at once.  Transactions are begun by prepfloor itself (autocommit in the
    driver) so that writes can be ``BEGIN IMMEDIATE``.
    """
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() not in ("wal", "memory"):
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
