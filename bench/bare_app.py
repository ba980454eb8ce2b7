"""The floor of the TUI benches: a bare Textual app (one line of text), run through the same pty
as prepfloor.  What prepfloor costs beyond it is prepfloor's own."""

from textual.app import App, ComposeResult
from textual.widgets import Static


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("Cars")


if __name__ == "__main__":
    Bare().run()
