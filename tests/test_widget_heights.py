"""A plain ``Static`` keeps the measured height of a rich renderable until its content changes.

Textual forgets every measured height whenever a size changes and lays the screen out again, so a
car's view rendered each of its tables whole once more only to measure it.  The kept height must
stay exact: new content or another width is measured again.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from textual.app import App, ComposeResult
from textual.geometry import Size

from screens.widgets import Static


class Counted:
    """A rich table that counts how often it is rendered."""

    def __init__(self, rows: int, text: str = "a line") -> None:
        self.renders = 0
        self.table = Table(show_header=False, box=None)
        self.table.add_column("what")
        for n in range(rows):
            self.table.add_row(f"{text} {n}")

    def __rich_console__(self, console: Any, options: Any) -> Any:
        self.renders += 1
        yield self.table


class Shown(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(id="block")


def height(static: Static, width: int) -> int:
    """What Textual asks in a layout, after it has forgotten the last measure (as it does after
    every change of size)."""
    static.clear_cached_dimensions()
    return static.get_content_height(Size(width, 40), Size(width, 40), width)


async def test_a_table_is_measured_once_for_its_width() -> None:
    app = Shown()
    async with app.run_test(size=(80, 40)) as pilot:
        static = app.query_one("#block", Static)
        content = Counted(rows=6)
        static.update(content)
        await pilot.pause()
        before = content.renders
        assert height(static, 60) == 6
        assert height(static, 60) == 6
        assert height(static, 60) == 6
        assert content.renders - before <= 1  # measured once, however many layouts ask


async def test_new_content_or_another_width_is_measured_again() -> None:
    app = Shown()
    async with app.run_test(size=(80, 40)) as pilot:
        static = app.query_one("#block", Static)
        static.update(Counted(rows=3))
        await pilot.pause()
        assert height(static, 60) == 3
        static.update(Counted(rows=9))
        assert height(static, 60) == 9  # the kept height was for the old content
        static.update(Counted(rows=2, text="a line long enough to wrap in a narrow block"))
        assert height(static, 60) == 2
        assert height(static, 20) > 2  # narrower: the lines wrap, measured again
        static.update("plain words, not a rich renderable")
        assert height(static, 60) == 1
