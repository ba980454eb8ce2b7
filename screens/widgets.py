"""Widgets every screen shares: the plain-text widgets, the header with who is signed in, the
footer with the keys.

The screens take ``Static``, ``Label``, ``Input``, ``Select``, ``OptionList``, ``Option`` and
``TextArea`` from here, not from ``textual.widgets`` (a test holds them to it): these are Textual's
widgets that never read what they show as markup and never pass a control character on to the
terminal (:mod:`screens.plain`).  Whatever a screen puts in them — a customer name, a note typed by
someone at another dealership, a value another program wrote — is drawn as the characters it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Input as TextualInput
from textual.widgets import Label as TextualLabel
from textual.widgets import OptionList as TextualOptionList
from textual.widgets import Select as TextualSelect
from textual.widgets import Static as TextualStatic
from textual.widgets import TextArea as TextualTextArea
from textual.widgets.option_list import Option as TextualOption

from db.text import clean, one_line
from screens.context import SessionContext
from screens.plain import plain, safe_visual


# ------------------------------------------------------------------------------------------------
# plain-text widgets
# ------------------------------------------------------------------------------------------------
class Static(TextualStatic):
    """Textual's ``Static``: never markup, never a control character."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(safe_visual(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(safe_visual(content), layout=layout)


class Label(TextualLabel):
    """Textual's ``Label``: never markup, never a control character."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(safe_visual(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(safe_visual(content), layout=layout)


class Input(TextualInput):
    """Textual's ``Input`` whose value never holds a control character, however it got there
    (a paste, a barcode reader, a value from the database)."""

    def validate_value(self, value: str) -> str:
        return one_line(value)


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


class Option(TextualOption):
    """An option whose prompt is plain text."""

    def __init__(self, prompt: VisualType, id: str | None = None, disabled: bool = False) -> None:
        super().__init__(safe_visual(prompt, multiline=False), id, disabled)


def _option(item: Any) -> Any:
    return safe_visual(item, multiline=False) if isinstance(item, str | Text) else item


class OptionList(TextualOptionList):
    """Textual's ``OptionList`` that never reads its prompts as markup."""

    def __init__(self, *content: Any, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(*(_option(item) for item in content), markup=False, **kwargs)

    def add_options(self, items: Iterable[Any]) -> OptionList:
        super().add_options([_option(item) for item in items])
        return self


def _choices(options: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """A Select's options with plain-text prompts (a ``str`` prompt would be read as markup)."""
    return [
        (plain(prompt) if isinstance(prompt, str | Text) else prompt, v) for prompt, v in options
    ]


class Select(TextualSelect):  # type: ignore[type-arg]
    """Textual's ``Select`` whose choices are plain text."""

    def __init__(self, options: Iterable[tuple[Any, Any]], **kwargs: Any) -> None:
        super().__init__(_choices(options), **kwargs)

    def set_options(self, options: Iterable[tuple[Any, Any]]) -> None:
        super().set_options(_choices(options))


LOGO_WIDTH = 16  # cells of the logo text the header shows


class AppHeader(Horizontal):
    """``<logo>  prepfloor · <screen>`` on the left; user, role and dealership on the right."""

    DEFAULT_CSS = """
    AppHeader { height: 1; background: $primary; color: $text; dock: top; }
    AppHeader > #title { width: 1fr; padding: 0 1; text-style: bold; }
    AppHeader > #who { width: auto; padding: 0 1; }
    AppHeader > #unread { width: auto; padding: 0 1; text-style: bold; background: $warning 40%; }
    """

    def __init__(self, ctx: SessionContext | None, title: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.title_text = title

    def title_line(self) -> str:
        logo = (self.ctx.logo or "")[:LOGO_WIDTH] if self.ctx is not None else ""
        return f"{logo + '  ' if logo else ''}prepfloor · {self.title_text}"

    def compose(self) -> ComposeResult:
        yield Static(self.title_line(), id="title", markup=False)
        yield Static("", id="unread", markup=False)
        yield Static(self.who(), id="who", markup=False)

    def on_mount(self) -> None:
        if self.ctx is not None and hasattr(self.app, "unread"):
            self.watch(self.app, "unread", self._show_unread)

    def _show_unread(self, count: int) -> None:
        unread = self.query_one("#unread", Static)
        unread.update(f"✉ {count} unread (f8)")
        unread.display = count > 0

    def who(self) -> str:
        if self.ctx is None:
            return "not signed in"
        actor = self.ctx.actor
        parts = [actor.display_name, actor.role_label]
        if self.ctx.dealership:
            parts.append(self.ctx.dealership)
        return " · ".join(parts)

    def set_title(self, title: str) -> None:
        self.title_text = title
        self.query_one("#title", Static).update(self.title_line())


class AppFooter(Widget):
    """The keys of the screen on one line, as Textual's footer shows them, drawn as one widget.

    Textual's own footer is a widget per key, composed again whenever the focus moves and the
    bindings change: a third of the CPU of a session's first frame went there, and its keys'
    watchers outlived them.  This one redraws a line of text.  A click on a key presses it.
    """

    COMPONENT_CLASSES = {"app-footer--key", "app-footer--description", "app-footer--disabled"}
    DEFAULT_CSS = """
    AppFooter {
        dock: bottom; height: 1; width: 1fr; text-wrap: nowrap; text-overflow: clip;
        background: $footer-background; color: $footer-foreground;
        .app-footer--key { color: $footer-key-foreground; background: $footer-key-background;
            text-style: bold; }
        .app-footer--description { color: $footer-description-foreground;
            background: $footer-description-background; }
        .app-footer--disabled { text-style: dim; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[int, int, str]] = []  # (from, to, key) of each key on the line

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def _line(self) -> Text:
        key_style = self.get_component_rich_style("app-footer--key")
        text_style = self.get_component_rich_style("app-footer--description")
        dim = self.get_component_rich_style("app-footer--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop")
        keys: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                palette = (binding, enabled)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            self._add(line, keys, binding, enabled, key_style, text_style, dim)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            # the palette's key at the right end, as Textual's footer has it
            right = Text("▏", style=text_style, no_wrap=True)
            right_keys: list[tuple[int, int, str]] = []
            self._add(right, right_keys, palette[0], palette[1], key_style, text_style, dim)
            room = max(0, self.size.width - len(right))
            if len(line) > room:  # only whole keys
                keys = [k for k in keys if k[1] <= room]
                line.truncate(keys[-1][1] if keys else 0)
            line.pad_right(room - len(line))
            keys += [(room + a, room + b, key) for a, b, key in right_keys]
            line.append_text(right)
        self._keys = keys
        return line

    def _add(
        self,
        line: Text,
        keys: list[tuple[int, int, str]],
        binding: Any,
        enabled: bool,
        key: Style,
        text: Style,
        dim: Style,
    ) -> None:
        start = len(line)
        line.append(
            f" {self.app.get_key_display(binding)} ", style=key + dim if not enabled else key
        )
        line.append(f"{binding.description} ", style=text + dim if not enabled else text)
        keys.append((start, len(line), binding.key))

    def render(self) -> Text:
        return self._line()

    def on_click(self, event: Click) -> None:
        for start, end, key in self._keys:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return


class SearchBoxKeys:
    """``/`` into the screen's ``#search`` box; Escape there clears it, then back to the list
    (the screen's ``table``)."""

    table: Widget

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()  # type: ignore[attr-defined]

    def action_leave_search(self) -> None:
        search = self.query_one("#search", Input)  # type: ignore[attr-defined]
        if search.has_focus and search.value:
            search.value = ""
        self.table.focus()
