"""Widgets every screen shares: the header with who is signed in."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from screens.context import SessionContext


class AppHeader(Horizontal):
    """``prepfloor · <screen>`` on the left; user, role and dealership on the right."""

    DEFAULT_CSS = """
    AppHeader { height: 1; background: $primary; color: $text; dock: top; }
    AppHeader > #title { width: 1fr; padding: 0 1; text-style: bold; }
    AppHeader > #who { width: auto; padding: 0 1; }
    """

    def __init__(self, ctx: SessionContext | None, title: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Static(f"prepfloor · {self.title_text}", id="title", markup=False)
        yield Static(self.who(), id="who", markup=False)

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
        self.query_one("#title", Static).update(f"prepfloor · {title}")
