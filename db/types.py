"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

from db.text import clean


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back aware.

    ``timestamptz`` on PostgreSQL; on SQLite an ISO text in UTC (SQLite has no zones).  A naive value
    is refused on write: every timestamp in prepfloor carries its zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: prepfloor stores aware timestamps only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SafeString(TypeDecorator[str]):
    """Text with no control characters in it, whoever writes it (:func:`db.text.clean`).

    Every text column of the tables has this type (:func:`protect_text_columns`): the ORM and Core
    statements alike bind through it.  A column with a length holds one line (a break or a tab
    becomes a space); one without holds notes and messages, line breaks kept.
    """

    impl = String
    cache_ok = True

    @property
    def multiline(self) -> bool:
        return getattr(self.impl, "length", None) is None

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str):
            return clean(value, multiline=self.multiline)
        return value


class SafeText(SafeString):
    """:class:`SafeString` for a ``TEXT`` column."""

    impl = Text
    cache_ok = True


class SafeJSON(TypeDecorator[Any]):
    """JSON whose strings (at any depth) carry no control characters."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return _cleaned(value)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {_cleaned(k): _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    return value


def protect_text_columns(metadata: MetaData) -> None:
    """Give every text and JSON column of ``metadata`` its safe type (the DDL stays the same)."""
    for table in metadata.tables.values():
        for column in table.columns:
            kind = column.type
            if isinstance(kind, SafeString | SafeJSON | Enum):
                continue
            if isinstance(kind, Text):
                column.type = SafeText()
            elif isinstance(kind, String):
                column.type = SafeString(kind.length)
            elif isinstance(kind, AutoString):
                column.type = SafeString(kind.impl.length)
            elif isinstance(kind, JSON):
                column.type = SafeJSON()
