"""A message kept as its words and its values, so that each reader sees it in their own language.

A notification is written once and read by people who read prepfloor in different languages. It is
stored as ``Said("{car} is ready for delivery.", car=...)`` (JSON in
``notifications.message_source``) and put into words when it is read: the text through the
catalog, each value as the reader's language writes it.  ``notifications.message`` keeps the
English, as other tools (a SQL client, Directus) read it.

A value is plain text or a number (shown as it is: a name, a plate, an order number), or one of:

- :func:`label` — a text of the catalog (a status's label: ``Ready for delivery``);
- :func:`day` / :func:`moment` / :func:`hours` — a date, a local time, hours, in the reader's
  formats;
- another :class:`Said` — a part of the message that is itself a sentence or a phrase;
- :func:`joined` — a list of values, joined with ``, `` (or another separator).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from db.i18n import current, gettext_in

Value = Any


@dataclass(frozen=True)
class Said:
    text: str  # the English text with {named} placeholders, as marked for the catalog
    values: dict[str, Value] = field(default_factory=dict)

    def __init__(self, text: str, **values: Value) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "values", values)

    def render(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the language spoken now)."""
        lang = lang or current()
        words = gettext_in(lang, self.text)
        shown = {name: _render(value, lang) for name, value in self.values.items()}
        try:
            return words.format(**shown)
        except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder
            return self.text.format(**shown)

    def __str__(self) -> str:
        return self.render()

    def to_json(self) -> str:
        return json.dumps(_encode(self), ensure_ascii=False, separators=(",", ":"))


def label(text: str) -> dict[str, str]:
    """A text of the catalog as a value (translated for the reader)."""
    return {"t": text}


def day(value: date) -> dict[str, str]:
    """A day as a value (``Sat 31 Oct`` / ``lør. 31. okt.``)."""
    return {"day": value.isoformat()}


def moment(value: datetime) -> dict[str, str]:
    """A moment as a value, shown in the site's time zone (``Sat 31 Oct 14:05``)."""
    return {"at": value.astimezone(UTC).isoformat()}


def hours(value: float) -> dict[str, float]:
    """Hours as a value (``7.5 h`` / ``7,5 t``)."""
    return {"hours": float(value)}


def joined(values: list[Value], separator: str = ", ") -> dict[str, Any]:
    """A list of values joined with ``separator``."""
    return {"list": list(values), "sep": separator}


def _encode(value: Value) -> Any:
    if isinstance(value, Said):
        return {"said": value.text, "values": {k: _encode(v) for k, v in value.values.items()}}
    if isinstance(value, dict) and "list" in value:
        return {"list": [_encode(v) for v in value["list"]], "sep": value.get("sep", ", ")}
    return value


def _decode(value: Any) -> Value:
    if isinstance(value, dict) and "said" in value:
        said = Said(str(value["said"]))
        said.values.update({k: _decode(v) for k, v in dict(value.get("values", {})).items()})
        return said
    if isinstance(value, dict) and "list" in value:
        return {"list": [_decode(v) for v in value["list"]], "sep": value.get("sep", ", ")}
    return value


def _render(value: Value, lang: str) -> str:
    from db import formats

    if isinstance(value, Said):
        return value.render(lang)
    if isinstance(value, dict):
        if "t" in value:
            return gettext_in(lang, str(value["t"]))
        if "day" in value:
            return formats.day(date.fromisoformat(value["day"]), lang)
        if "at" in value:
            from db.clock import local

            return formats.moment(local(datetime.fromisoformat(value["at"])), lang)
        if "hours" in value:
            return formats.hours(value["hours"], lang=lang)
        if "list" in value:
            return str(value.get("sep", ", ")).join(_render(v, lang) for v in value["list"])
    if isinstance(value, float):
        from db import formats

        return formats.number(value, lang=lang)
    return str(value)


def load(source: str | None) -> Said | None:
    """The message stored as ``source`` (``None`` for none, or for one that cannot be read)."""
    if not source:
        return None
    try:
        found = _decode(json.loads(source))
    except (ValueError, TypeError, AttributeError):
        return None
    return found if isinstance(found, Said) else None


def shown(message: str, source: str | None) -> str:
    """What a reader sees of a stored message: its words in the language spoken now, or the
    text as it was written when it has no source (an older row, a message from another tool)."""
    found = load(source)
    if found is None:
        return message
    try:
        return found.render()
    except Exception:  # a damaged source must not hide the message
        return message
