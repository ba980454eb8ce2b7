"""Stored text drawn as plain text: never Rich or Textual markup, never a control character.

A customer name, a part, a note or a display name is typed by one person and drawn on everyone's
terminal.  Whatever reaches the screen goes through here or through the widgets of
:mod:`screens.widgets` (which use these functions): ``Hansen [temp]`` keeps its brackets, ``[/]``
crashes nothing, ``[@click=app.quit]`` is not an action, and an escape sequence stored by another
program never reaches a terminal.  Light: Rich only (the command line uses it too).
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from db.text import clean, one_line


def plain(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """``value`` as a Rich ``Text`` that is never parsed as markup, without control characters."""
    if value is None:
        return Text("", style=style)
    if isinstance(value, Text):
        return safe_text(value)
    text = value if isinstance(value, str) else str(value)
    return Text(clean(text) if multiline else one_line(text), style=style)


def safe_text(text: Text) -> Text:
    """A ``Text`` without control characters (a copy when it had any)."""
    shown = clean(text.plain)
    if shown == text.plain:
        return text
    copy = text.copy()
    copy.plain = shown
    return copy


def safe_visual(content: Any, *, multiline: bool = True) -> Any:
    """What a widget may show of ``content`` (a widget that draws it without markup): a string or
    ``Text`` cleaned; anything else (a table, a ``Content``) as it is."""
    if isinstance(content, str):
        return clean(content) if multiline else one_line(content)
    if isinstance(content, Text):
        return safe_text(content)
    return content


class PlainTable(Table):
    """A Rich table whose string cells are plain text (Rich parses a ``str`` cell as markup)."""

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(
            *(
                plain(cell, multiline=True) if isinstance(cell, str) else cell
                for cell in renderables
            ),
            **kwargs,
        )
