"""The first screen's reads, made in a thread while Textual loads (a plain start).

``prepfloor`` on a terminal spends its first fifth of a second importing Textual, while the
database waits.  Who is at the keyboard is known before that (:func:`prepfloor.launch.identify`),
so a thread reads meanwhile what :meth:`PrepfloorApp.start_session` needs about them and, when
they open on the car list, its first page.  The car list's first frame is then its rows, not an
empty list that a second frame fills once its worker has read them.

Each value is used once, by the session it was read for.  A read that failed is simply made again
where it is needed (and fails there, said as any read's failure is).  The newest change at the time
of the reads (:attr:`ReadAhead.newest`) is where the session's change feed starts, so a change made
by someone else meanwhile is heard, and the list shows it, as soon as the feed runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from db.access import Actor
from db.fast import LIST_PAGE, CarQuery, CarRow
from db.store import Store

T = TypeVar("T")


class ReadAhead:
    """Reads for ``actor``'s first screen, started at once in a thread of their own."""

    def __init__(self, store: Store, actor: Actor) -> None:
        self.actor = actor
        self._store = store
        self._values: dict[str, Any] = {}
        self._first_page: tuple[CarQuery, list[CarRow]] | None = None
        self.newest = 0  # the newest event id before the reads (0: unknown)
        self._session_read = threading.Event()
        self._cars_read = threading.Event()
        threading.Thread(target=self._read, name="read-ahead", daemon=True).start()

    def _read(self) -> None:
        from db.languages import language_of
        from db.modes import start_mode

        fast, actor = self._store.fast, self.actor
        try:
            newest = fast.latest_event_id()  # first: anything later is heard by the feed
            start = fast.start_row(actor.user_id)
            self._values.update(
                start=start,
                language=language_of(fast, actor.user_id),
                dealership=fast.dealership_name(actor.dealership_id),
                logo=fast.logo(actor.dealership_id),
                brand_colors=fast.brand_colors(actor.dealership_id),
            )
            self.newest = newest
        except Exception:  # read again by the app, which says what fails
            self._values.clear()
            return
        finally:
            self._session_read.set()
        try:
            if start_mode(actor.role, start.start_mode, start.has_dealerships) == "cars":
                query = CarQuery()  # the car list as it opens
                self._first_page = (query, fast.car_page(actor, query, 0, LIST_PAGE))
        except Exception:
            pass  # the list reads its page itself
        finally:
            self._cars_read.set()

    def value(self, name: str, read: Callable[[], T]) -> T:
        """The value ``name`` read ahead (once), else ``read()`` now."""
        self._session_read.wait()
        if name in self._values:
            return self._values.pop(name)  # type: ignore[no-any-return]
        return read()

    def first_page(self, query: CarQuery, *, wait: bool) -> list[CarRow] | None:
        """The car list's first page for ``query``, if that is the page read ahead: once, and
        only when the read has ended (``wait``: wait for it).  ``None``: read it yourself."""
        if wait:
            self._cars_read.wait()
        elif not self._cars_read.is_set():
            return None
        found, self._first_page = self._first_page, None
        if found is None or found[0] != query:
            return None
        return found[1]
