"""The schema revision this prepfloor expects, and what of a database's schema is prepfloor's.
Light: read at start-up without loading Alembic.

A test checks that :data:`HEAD` equals the head of ``db/migrations``.
"""

from __future__ import annotations

HEAD = "0017"


def prepfloor_owns(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """Alembic's ``include_name``: what a schema comparison (``alembic revision --autogenerate``,
    the schema test) looks at.  prepfloor's own tables and what hangs on them; not the search
    index's extra objects (made by hand in a migration), and never a table another tool keeps in
    the same database (Directus's ``directus_*``, a BI tool's): a comparison must not propose
    dropping them."""
    from sqlmodel import SQLModel

    import db.models  # noqa: F401  (every table on the metadata)
    from db.search import EXTRA_OBJECTS

    if name in EXTRA_OBJECTS:
        return False
    if type_ == "table":
        return name in SQLModel.metadata.tables
    return True
