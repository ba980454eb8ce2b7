"""Widgets every screen shares: the header with who is signed in."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.widget import Widget
from textual.widgets import Input, Static

from screens.context import SessionContext

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
