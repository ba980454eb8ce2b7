"""What a session holds: the light reader, and the ORM database once it has loaded.

The TUI creates a :class:`Store` before its first frame (cheap), paints from ``store.fast``, and loads
the ORM layer in a worker (:meth:`Store.warm`) so that the first write does not wait for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

from db.errors import ActorChanged, PrepfloorError
from db.fast import FastReader
from db.schema import HEAD

if TYPE_CHECKING:
    from collections.abc import Callable

    from db.engine import Database

T = TypeVar("T")


class SchemaMismatch(PrepfloorError):
    """The database is at another schema revision than this prepfloor."""


class Store:
    def __init__(self, url: str) -> None:
        self.fast = FastReader(url)
        self.url = self.fast.url
        self.dialect = self.fast.dialect
        self._db: Database | None = None
        self._lock = threading.Lock()
        # Told (from the thread of the write) when a write is refused because the signed-in user
        # was switched off or their role or dealership changed: the session signs out.
        self.on_signed_out: Callable[[PrepfloorError], None] | None = None

    @property
    def db(self) -> Database:
        """The ORM database (loaded on first use)."""
        if self._db is None:
            with self._lock:
                if self._db is None:
                    from db.engine import Database

                    self._db = Database(self.url)
        return self._db

    def warm(self) -> None:
        """Load the ORM layer and open the engine (call it in a worker after the first frame)."""
        import db.capacity
        import db.cars
        import db.ledger
        import db.queries
        import db.timers
        import db.users  # noqa: F401

        with self.db.read() as session:
            session.connection()

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A write: ``fn(session, *args, **kwargs)`` in one transaction, retried when busy.

        A write refused because the user changed meanwhile (:class:`ActorChanged`) is also told
        to :attr:`on_signed_out` before it is raised."""
        try:
            return self.db.run(fn, *args, **kwargs)
        except ActorChanged as refusal:
            told = self.on_signed_out
            if told is not None:
                told(refusal)
            raise

    def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A read through the ORM: ``fn(session, *args, **kwargs)``."""
        return self.db.query(fn, *args, **kwargs)

    def ensure_schema(self) -> str:
        """Migrate a new, empty database; refuse one at another revision.  Returns what was done."""
        revision = self.fast.schema_revision()
        if revision == HEAD:
            return "current"
        if revision is None:
            if self.fast.has_tables():
                raise SchemaMismatch(
                    "This database has tables but was not created by prepfloor. "
                    "Point prepfloor at an empty database or a prepfloor database."
                )
            from db.migrate import upgrade

            try:
                upgrade(self.url)
            except Exception:
                # Another session may have created it at the same moment.
                if self.fast.schema_revision() != HEAD:
                    raise
            return "created"
        if int(revision) < int(HEAD):
            raise SchemaMismatch(
                f"The database is at schema {revision}; this prepfloor needs {HEAD}. "
                "Run `prepfloor db upgrade` (once, on the server), then start again."
            )
        raise SchemaMismatch(
            f"The database is at schema {revision}, newer than this prepfloor ({HEAD}). "
            "Update prepfloor on this machine."
        )

    def close(self) -> None:
        self.fast.close()
        if self._db is not None:
            self._db.dispose()
