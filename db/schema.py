"""The schema revision this prepfloor expects.  Light: read at start-up without loading Alembic.

A test checks that it equals the head of ``db/migrations``.
"""

HEAD = "0008"
