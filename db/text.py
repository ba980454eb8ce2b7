"""Text from people and from other programs: what may be stored, and what may reach a terminal.

Whatever one person types is drawn on many other people's terminals.  Two rules, applied here once:

* **Stored text carries no control characters.**  C0 and C1 control characters (escape sequences
  among them), DEL, lone surrogates and the Unicode bidi overrides are removed; a line break is
  kept only where the column holds several lines (notes, messages), a tab becomes a space elsewhere.
  :class:`db.types.SafeString` applies :func:`clean` to every text column on every write, whichever
  path it comes by (forms, import, the command line).
* **Drawn text is never markup.**  The screens turn stored text into ``rich.text.Text`` (never
  parsed for ``[markup]``) with :func:`one_line` or :func:`clean` applied again, so text written
  before this rule or by another program is drawn safely too.

Light on purpose (no SQLAlchemy, no Textual): the screens and the command line import it.
"""

from __future__ import annotations

import re

# C0 controls except tab and line feed, DEL and the C1 controls, lone surrogates (which no database
# stores: PostgreSQL refuses them as not UTF-8), the bidi embeddings, overrides and isolates (they
# reorder what a terminal draws), the line and paragraph separators.
_NOT_STORED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_BREAKS = re.compile(r"\r\n?")
_LINE_BREAKS = re.compile("[\t\n]")


def clean(value: str, *, multiline: bool = True) -> str:
    """``value`` without control characters.  Line breaks (``\\r\\n`` and ``\\r`` become ``\\n``)
    and tabs are kept when ``multiline``; otherwise each becomes a space."""
    if not value.isprintable() or "\r" in value:
        value = _BREAKS.sub("\n", value)
        value = _NOT_STORED.sub("", value)
        if not multiline:
            value = _LINE_BREAKS.sub(" ", value)
    return value


def one_line(value: object) -> str:
    """Any value as text for one line of a list or a label: no control characters, no breaks."""
    if value is None:
        return ""
    return clean(value if isinstance(value, str) else str(value), multiline=False)


def shown(value: object, limit: int = 60) -> str:
    """``value`` quoted in a message (an import's reasons, ``prepfloor doctor``): one clean line
    (:func:`one_line`), at most ``limit`` characters (a longer one is cut and ends with "…")."""
    text = one_line(value)
    if len(text) > limit:
        return text[: limit - 1].rstrip() + "…"
    return text
