"""The notes field: Textual's ``TextArea`` that keeps no control character.  Its own module,
imported by the screens that have one: Textual's text area (its document model, its syntax
highlighting hooks) costs milliseconds to import, which the first frame should not pay."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import TextArea as TextualTextArea

from db.text import clean


class TextArea(TextualTextArea):
    """Textual's ``TextArea`` for notes: control characters are dropped from what is loaded and
    pasted (line breaks and tabs stay)."""

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(clean(text), **kwargs)

    def load_text(self, text: str) -> None:
        super().load_text(clean(text))

    async def _on_paste(self, event: events.Paste) -> None:
        event.text = clean(event.text)
        await super()._on_paste(event)
