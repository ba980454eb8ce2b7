"""Finding a car by VIN, plate, order number or customer, fast at 100,000 cars.

Each car has one search text: its VIN, its plate as written and without spaces or dashes, its order
number and its customer's name.  SQLite keeps it in an FTS5 table with the trigram tokenizer
(``car_search``, kept up to date by triggers on ``cars``); PostgreSQL has a trigram GIN index
(``pg_trgm``) on the same text.  Both find any part of it, case-insensitively, from three characters
on; shorter searches fall back to a plain scan.

Light (no SQLAlchemy): the car list builds its search condition from here.
"""

from __future__ import annotations

from typing import Any

from db.validate import normalize_vin


def search_text_sql(row: str = "") -> str:
    """The search text of a car as a SQL expression (``row`` is a prefix such as ``new.``)."""
    plate = f"coalesce({row}license_plate, '')"
    return (
        f"coalesce({row}vin, '') || ' ' || {plate} || ' ' || "
        f"replace(replace({plate}, ' ', ''), '-', '') || ' ' || "
        f"coalesce({row}order_number, '') || ' ' || coalesce({row}customer_name, '')"
    )


PG_INDEX = "ix_cars_search_trgm"
PG_EXPRESSION = f"lower({search_text_sql()})"
SQLITE_TABLE = "car_search"
SQLITE_TRIGGERS = ("cars_search_insert", "cars_search_delete", "cars_search_update")
MIN_INDEXED = 3  # trigrams: shorter texts cannot use the index

# Objects the migrations create outside the SQLModel metadata (schema comparisons skip them).
EXTRA_OBJECTS = {PG_INDEX, SQLITE_TABLE, *SQLITE_TRIGGERS} | {
    f"{SQLITE_TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")
}


def terms(text: str) -> list[str]:
    """What to look for: the text as typed and, when different, its compact form (``el12345``
    finds ``EL 12345``, ``wba 123`` finds a VIN)."""
    typed = " ".join(text.split())
    found = [typed] if typed else []
    compact = normalize_vin(typed)
    if compact and compact.lower() != typed.lower():
        found.append(compact)
    return found


def condition(dialect: str, text: str, alias: str = "c") -> tuple[str, dict[str, Any]]:
    """A SQL condition on cars ``alias`` and its parameters for a search text ('' for none)."""
    wanted = terms(text)
    if not wanted:
        return "", {}
    if dialect == "sqlite" and all(len(t) >= MIN_INDEXED for t in wanted):
        query = " OR ".join('"' + t.replace('"', '""') + '"' for t in wanted)
        return (
            f"{alias}.id IN (SELECT rowid FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH :search)",
            {"search": query},
        )
    expression = f"lower({search_text_sql(alias + '.')})"
    params = {f"search{i}": f"%{_escape_like(t.lower())}%" for i, t in enumerate(wanted)}
    ors = " OR ".join(f"{expression} LIKE :search{i} ESCAPE '\\'" for i in range(len(wanted)))
    return f"({ors})", params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
