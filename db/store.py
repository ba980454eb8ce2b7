"""What a session holds: the light reader, and the ORM database once it has loaded.

The TUI creates a :class:`Store` before its first frame (cheap) and paints from ``store.fast``.  A
session that only reads never loads the ORM; one that shows a screen whose keys save loads it in a
worker then (:meth:`Store.warm`), so that its first save does not wait for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

from db.errors import ActorChanged, PrepfloorError
from db.fast import FastReader
from db.i18n import _
from db.schema import HEAD

if TYPE_CHECKING:
    from collections.abc import Callable

    from db.engine import Database

T = TypeVar("T")


class SchemaMismatch(PrepfloorError):
    """The database is at another schema revision than this prepfloor."""


class Store:
    """One session's database: on PostgreSQL it holds one server connection, which the fast
    reader, the ORM's reads and writes, and the change feed take turns on."""

    def __init__(self, url: str, write_wait: float | None = None) -> None:
        """``write_wait``: seconds a write waits for another terminal's change before it is
        given up (:class:`db.errors.HeldUp`); default: the ``write_wait`` setting."""
        self.fast = FastReader(url, write_wait)
        self.url = self.fast.url
        self.dialect = self.fast.dialect
        self.write_wait = self.fast.write_wait
        self._db: Database | None = None
        self._lock = threading.Lock()
        self._closed = False  # close() was called (a write may still open it again)
        self._on_wait: Callable[[bool], None] | None = None
        # Told (from the thread of the write) when a write is refused because the signed-in user
        # was switched off or their role or dealership changed: the session signs out.
        self.on_signed_out: Callable[[PrepfloorError], None] | None = None

    @property
    def on_wait(self) -> Callable[[bool], None] | None:
        """Told ``True`` when a write has waited about a second for another terminal's change,
        ``False`` when it is over (:attr:`db.engine.Database.on_wait`; any thread)."""
        return self._on_wait

    @on_wait.setter
    def on_wait(self, told: Callable[[bool], None] | None) -> None:
        with self._lock:
            self._on_wait = told
            if self._db is not None:
                self._db.on_wait = told

    @property
    def db(self) -> Database:
        """The ORM database (loaded on first use)."""
        if self._db is None:
            with self._lock:
                if self._db is None:
                    from db.engine import Database

                    if self.dialect == "postgresql":  # one connection: the reader's, shared
                        db = Database(
                            self.url, write_wait=self.write_wait, creator=self.fast.hand_over
                        )
                        self.fast.read_through(db.engine)
                    else:
                        db = Database(self.url, write_wait=self.write_wait)
                    db.on_wait = self._on_wait
                    self._db = db
        return self._db

    def warm(self) -> None:
        """Load the write path before the first write needs it: the ORM's models and engine, the
        rules the screens save through, the engine opened, and their statements compiled
        (:meth:`Database.prepare_writes`).

        ``prepfloor serve``'s zygote calls it before it forks; a session calls it in a thread
        when it shows a screen whose keys save (:meth:`prepfloor.app.PrepfloorApp.warm_writes`),
        while a save's worker may import its own rule.  Two threads importing at once can only
        wait for each other where modules import each other in a circle; the modules of ``db``
        import each other without one (``tests/test_layering.py`` holds them to it)."""
        import db.capacity
        import db.cars
        import db.contacts
        import db.documents
        import db.engine
        import db.estimates
        import db.inbox
        import db.inspection
        import db.ledger
        import db.models
        import db.outbox
        import db.parts
        import db.scheduling
        import db.timers
        import db.users
        import db.workflow  # noqa: F401

        if self._closed:  # the session ended while this loaded
            return
        database = self.db
        database.prepare_writes()
        with self._lock:
            if self._closed:  # no connection is opened after close() let go of them
                return
            with database.read() as session:
                session.connection()

    @property
    def writes_loaded(self) -> bool:
        """Whether the write path (the ORM database) has been opened in this session."""
        return self._db is not None

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
                if directus_database(self.fast):  # adopt hook (db/adopt.py)
                    raise SchemaMismatch(
                        _(
                            "This is a Directus database that prepfloor has not adopted yet: "
                            "run `prepfloor db adopt --check`, then `prepfloor db adopt` (once, "
                            "on the server)."
                        )
                    )
                raise SchemaMismatch(
                    _(
                        "This database has tables but was not created by prepfloor. "
                        "Point prepfloor at an empty database or a prepfloor database."
                    )
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
                _(
                    "The database is at schema {revision}; this prepfloor needs {head}. "
                    "Run `prepfloor db upgrade` (once, on the server), then start again."
                ).format(revision=revision, head=HEAD)
            )
        raise SchemaMismatch(
            _(
                "The database is at schema {revision}, newer than this prepfloor ({head}). "
                "Update prepfloor on this machine."
            ).format(revision=revision, head=HEAD)
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            database = self._db
        self.fast.close()
        if database is not None:
            database.dispose()


# --- adopt hook: a Directus database is adopted, not migrated (db/adopt.py) ---------------------
def directus_database(reader: FastReader) -> bool:
    """Does the database hold Directus's users (PostgreSQL), so that ``prepfloor db adopt`` is the
    way in?  Light: one catalog read, no SQLAlchemy."""
    if reader.dialect != "postgresql":
        return False
    return bool(reader.rows("SELECT to_regclass('directus_users') IS NOT NULL")[0][0])
