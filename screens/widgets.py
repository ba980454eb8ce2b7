"""Widgets every screen shares: the header with who is signed in."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

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


class AppFooter(Footer):
    """Textual's footer (the keys of the screen), without its slow leak.

    The footer composes its keys again whenever the focus moves and the bindings change, and each
    new key watches the footer's ``compact`` flag.  Textual prunes watchers of removed widgets only
    when the watched value changes, which ``compact`` never does here: every search (focus to the
    box and back) left some twenty dead keys behind, about 1 MB per ten searches.  The watchers of
    keys that are no longer on screen are dropped before the footer composes its new keys.
    """

    def compose(self) -> ComposeResult:
        watchers = getattr(self, "__watchers", {}).get("compact")
        if watchers:
            watchers[:] = [(node, callback) for node, callback in watchers if node.is_attached]
        yield from super().compose()


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
