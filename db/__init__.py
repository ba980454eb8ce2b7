"""The shared database of prepfloor and every rule about what may be written to it.

Importing this package is cheap on purpose: the heavy parts (SQLModel, SQLAlchemy, Alembic) are in
their own modules and imported only where they are used, so the TUI can paint its first frame before
they load.  Nothing in ``db`` imports Textual.
"""
