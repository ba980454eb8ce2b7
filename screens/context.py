"""What every screen of a signed-in session needs: the store and who is signed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from db.access import Actor
from db.store import Store

if TYPE_CHECKING:
    from db.file_area import FileArea


@dataclass
class SessionContext:
    store: Store
    actor: Actor
    dealership: str | None = None  # "495 Kristiansand Vest", for headers
    shift_hours: float = 10.0
    data_dir: Path | None = None  # the user's prepfloor data folder (copies of documents)
    logo: str | None = None  # the dealership's logo text, shown at the left of the header
    # Served by `prepfloor serve`: the signed-in user's own file area on the server, the only
    # place files are read from (attach) and written to (copies, exports); a path the user typed
    # is never opened.  None on a local terminal, where typed paths and the data folder are used.
    files: FileArea | None = None
