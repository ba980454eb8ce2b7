"""What every screen of a signed-in session needs: the store and who is signed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from db.access import Actor
from db.fast import CarQuery, CarRow
from db.store import Store

if TYPE_CHECKING:
    from db.file_area import FileArea


class Browser(Protocol):
    """A session served to a web browser: files go to the browser as downloads, and come from it
    (its file picker, or a file dropped on the page) into the user's file area."""

    def download(self, name: str, content: bytes, mime_type: str | None = None) -> None:
        """Hand ``content`` to the browser as the file ``name``."""

    def pick_file(self) -> None:
        """Open the browser's file picker; the file chosen arrives in the user's file area."""


class FirstPage(Protocol):
    """The car list's first page, read while the app started (:mod:`prepfloor.read_ahead`)."""

    def first_page(self, query: CarQuery, *, wait: bool) -> list[CarRow] | None:
        """The page for ``query`` (once; ``wait``: until its read has ended), else ``None``."""


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
    # Served to a web browser: copies and exports are downloaded by it, and files come from it
    # (into ``files``).  None over SSH and on a local terminal.
    browser: Browser | None = None
    # A plain start: the car list's first page, read while Textual loaded (the list's first
    # frame shows its rows).  None once used, and for every later session.
    read_ahead: FirstPage | None = None
