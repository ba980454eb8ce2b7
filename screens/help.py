"""``?`` / F1: the keys of the screen you are on, and the keys that work everywhere."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from screens.plain import PlainTable as Table
from screens.widgets import Static

TOUR = (
    "prepfloor works by keyboard. The footer shows the keys of the screen you are on. "
    "ctrl+p finds any car by VIN, plate, order number or customer, and jumps to any screen. "
    "Escape goes back."
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2; }
    """

    def __init__(
        self, screen_keys: list[tuple[str, str]], global_keys: list[tuple[str, str]]
    ) -> None:
        super().__init__()
        self.screen_keys = screen_keys
        self.global_keys = global_keys

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(TOUR))
            yield Static(self._table("This screen", self.screen_keys))
            yield Static(self._table("Everywhere", self.global_keys))
            yield Static(Text("Escape closes this help.", style="dim"))

    @staticmethod
    def _table(title: str, keys: list[tuple[str, str]]) -> Table:
        table = Table(
            title=title,
            title_justify="left",
            title_style="bold",
            box=None,
            show_header=False,
            padding=(0, 2, 0, 0),
        )
        table.add_column(style="bold")
        table.add_column()
        for key, description in keys:
            table.add_row(key, description)
        return table
