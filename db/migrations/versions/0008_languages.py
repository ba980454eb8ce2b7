"""each user's language, and notifications each reader sees in their own

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

`users.language` is the language a user reads prepfloor in (`en` or `nb`, `db/i18n.py`); NULL, as
every existing user gets: the site's language (the config file), else the environment's.

`notifications.message_source` holds a notification as its text and values (JSON, `db/said.py`),
so that each reader sees it in their own language; `message` keeps it in English, as other tools
read it.  Existing notifications have none and are shown as they were written.  No rows change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (as 0005 and 0007): a batch (copy-and-move) of `users` fails on SQLite,
    # where every user foreign key of an existing database refers to the table.
    op.add_column("users", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("notifications", sa.Column("message_source", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("message_source")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
