"""Hostile text in every text column of every table, as another program (or an old prepfloor)
could have written it, and what a terminal may receive when it is drawn.

Used by ``tests/test_hostile_text.py``: the demo database is built, then every text and JSON column
of every row is overwritten with plain SQL (past the rules, which clean on write) by strings that
are markup (``[/]``, ``[@click=app.quit]``, ``[link=…]``), terminal control sequences (OSC 52 writes
the clipboard, OSC 0 the window title, CSI 2J clears the screen), NUL, brackets that must stay, and
a line of 10,000 characters.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import JSON, String, create_engine, text
from sqlalchemy.exc import DBAPIError

from db.types import SafeJSON, SafeString
from db.urls import normalize_url

MARKUP_CLOSE = "Tor Lunde [/]"
CLICK = "[@click=app.quit]KLIKK[/]"
LINK = "[link=http://x]y[/link]"
BRACKETS = "Hansen [temp] [Inspection]"
CLIPBOARD = "clip\x1b]52;c;aGk=\x07board"  # OSC 52: writes the viewer's clipboard
TITLE = "tit\x1b]0;pwned\x07le"  # OSC 0: sets the window title
CLEAR = "cl\x1b[2Jear"  # CSI 2J: clears the screen
NUL = "n\x00ul"
LONG = "L" * 10_000
COMBINED = " ".join((MARKUP_CLOSE, CLICK, LINK, BRACKETS, CLIPBOARD, TITLE, CLEAR, NUL))
VALUES = (COMBINED, MARKUP_CLOSE, CLICK, LINK, BRACKETS, CLIPBOARD, TITLE, CLEAR, NUL, LONG)

# What each string must look like on screen: its brackets kept, its control characters gone.
SHOWN = (MARKUP_CLOSE, CLICK, LINK, BRACKETS)


def hostile_value(row_id: int, column_index: int, *, postgresql: bool, limit: int | None) -> str:
    """The hostile string for one cell (unique per row: some columns are unique)."""
    value = VALUES[(row_id + column_index) % len(VALUES)]
    if postgresql:
        value = value.replace("\x00", "")  # PostgreSQL cannot store NUL in text at all
    suffix = f" #{row_id}"
    if limit is not None and postgresql:  # PostgreSQL refuses longer; SQLite keeps any length
        value = value[: max(0, limit - len(suffix))]
    return value + suffix


def hostile_json(column: str, row_id: int, *, postgresql: bool) -> Any:
    pick = [hostile_value(row_id, i, postgresql=postgresql, limit=None)[:200] for i in range(4)]
    if column == "accessories":
        return pick
    if column == "brand_colors":
        return {"primary": pick[0], "accent": pick[1]}
    if column == "sla_targets":
        return {"inspection": pick[0], pick[1]: 3}
    if column == "recurrence_pattern":
        return {"type": pick[0], "days": [pick[1]], "hours": pick[2]}
    return {pick[0]: [pick[1], pick[2]], "status": [pick[3], pick[0]], "reason": pick[1]}


def poison(url: str) -> dict[str, list[str]]:
    """Overwrite every text and JSON column of every row of every table with hostile strings.

    A column whose CHECK constraint refuses such text (a status, a role) keeps its values.
    Returns the columns that were written, per table.
    """
    from sqlmodel import SQLModel

    import db.models  # noqa: F401  (the tables)

    engine = create_engine(normalize_url(url))
    postgresql = engine.dialect.name == "postgresql"
    written: dict[str, list[str]] = {}
    try:
        for table in SQLModel.metadata.sorted_tables:
            key_columns = [c.name for c in table.primary_key.columns]
            # in an order that is the same in every build: a key that is not a number (a
            # user's random id) is numbered by its place in it, so the same row gets the same
            # string each time (a user's name shown on a role's screens, say)
            unique = [c.name for c in table.columns if c.unique and not c.primary_key]
            order = ", ".join(unique + key_columns)
            with engine.connect() as conn:
                keys = conn.execute(
                    text(f"SELECT {', '.join(key_columns)} FROM {table.name} ORDER BY {order}")
                ).all()
            for index, column in enumerate(table.columns):
                kind = column.type
                is_text = isinstance(kind, SafeString | String)
                is_json = isinstance(kind, SafeJSON | JSON)
                if not (is_text or is_json) or column.primary_key or column.foreign_keys:
                    continue
                limit = getattr(getattr(kind, "impl", kind), "length", None)
                where = " AND ".join(f"{k} = :k{n}" for n, k in enumerate(key_columns))
                cast = "CAST(:v AS JSON)" if is_json and postgresql else ":v"
                statement = text(f"UPDATE {table.name} SET {column.name} = {cast} WHERE {where}")
                try:
                    with engine.begin() as conn:
                        for place, key in enumerate(keys, 1):
                            row_id = int(key[0]) if isinstance(key[0], int) else place
                            if is_json:
                                value: Any = json.dumps(
                                    hostile_json(column.name, row_id, postgresql=postgresql)
                                )
                            else:
                                value = hostile_value(
                                    row_id, index, postgresql=postgresql, limit=limit
                                )
                            params = {f"k{n}": v for n, v in enumerate(key)}
                            conn.execute(statement, {"v": value, **params})
                except DBAPIError:  # a CHECK constraint (status, role, ...): left as it is
                    continue
                written.setdefault(table.name, []).append(column.name)
    finally:
        engine.dispose()
    return written


# ------------------------------------------------------------------------------------------------
# what reaches a terminal
# ------------------------------------------------------------------------------------------------
# The app's own sequences in a frame: colours and styles (SGR) and cursor moves.
_OWN = re.compile(r"\x1b\[[0-9;:]*m|\x1b\[\d+;\d+H|\x1b\[\d*[ABCDG]")


def frame(app: Any) -> str:
    """What the app writes to the terminal to draw the whole of its current screen: the same
    ``render_segments`` the driver writes (Pilot runs headless, which writes nothing)."""
    update = app.screen._compositor.render_update(full=True)
    return str(update.render_segments(app.console))


def foreign_sequences(output: str) -> list[str]:
    """Control characters in ``output`` that are not the app's own drawing (empty: none)."""
    rest = _OWN.sub("", output)
    found = [m.group(0) for m in re.finditer(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]..?.?", rest)]
    return found


def visible_text(output: str) -> str:
    """The characters of a frame without its sequences, lines joined."""
    return _OWN.sub("", output)
