"""Columns laid out to the terminal's width, and a list of rows held in memory with a cursor.

:class:`RowTable` is for lists of hundreds or a few thousand rows that the screen loads at once (a
seller's cars, a day's bookings, an inbox): only the visible lines are drawn, the digits sort by a
column (the same digit again reverses), Enter selects.  The car list of every car pages from the
database instead (:mod:`screens.carlist`) and shares the column layout from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.errors import StyleSyntaxError
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from db.text import one_line
from screens.widgets import Static

R = TypeVar("R")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # fixed width, or the minimum for a flexible column
    flex: int = 0
    right: bool = False  # numbers line up on the right


def layout(columns: Sequence[Column], width: int) -> list[int]:
    """Column widths for a line ``width`` cells wide (one space between columns)."""
    gaps = len(columns) - 1
    fixed = sum(c.width for c in columns) + gaps
    spare = max(0, width - fixed)
    flexible = [c for c in columns if c.flex]
    flex_total = sum(c.flex for c in flexible) or 1
    widths = []
    given = 0
    for column in columns:
        extra = 0
        if column.flex:
            extra = spare * column.flex // flex_total
            if column is flexible[-1]:
                extra = spare - given
            given += extra
        widths.append(column.width + extra)
    return widths


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` as one plain line (no control characters, :func:`db.text.one_line`), cut with an
    ellipsis or padded to exactly ``width`` cells."""
    text = one_line(text)
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def titles_line(columns: Sequence[Column], width: int, marks: dict[int, str] | None = None) -> str:
    widths = layout(columns, width)
    marks = marks or {}
    return " ".join(
        fit(c.title + marks.get(i, ""), w, c.right)
        for i, (c, w) in enumerate(zip(columns, widths, strict=True))
    )


# The keys of a list with a cursor (the car list and every RowTable).
CURSOR_BINDINGS: list[Binding] = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("home", "jump(0)", "First", show=False),
    Binding("end", "jump(-1)", "Last", show=False),
]


class TableHeader(Static):
    """The column titles above a table (the table sets them to its own widths)."""

    DEFAULT_CSS = """
    TableHeader { height: 1; padding: 0 1; text-style: bold; color: $text-muted; }
    """


def parse_style(spec: str) -> Style:
    """A Rich style from ``spec``; none at all when it is not one (a color stored by hand)."""
    if not spec:
        return Style()
    try:
        return Style.parse(spec)
    except StyleSyntaxError:
        return Style()


@dataclass
class Cell:
    """What one cell shows and how (a style name from Rich, e.g. ``"bold red"``)."""

    text: str
    style: str = ""


CellValue = str | Cell


class RowTable(ScrollView, Generic[R], can_focus=True):
    """Rows in memory, drawn line by line.  Subclass or pass ``cells`` (row → one value per
    column) and ``sort_key`` (row, column key → a value to sort by)."""

    BINDINGS = [
        *CURSOR_BINDINGS,
        Binding("enter", "select", "Open"),
        *[
            Binding(str(n), f"sort({n - 1})", f"Sort by column {n}", show=False)
            for n in range(1, 10)
        ],
    ]
    COMPONENT_CLASSES = {"rowtable--cursor", "rowtable--empty"}
    DEFAULT_CSS = """
    RowTable { padding: 0 1; height: 1fr; }
    RowTable > .rowtable--cursor { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    RowTable:blur > .rowtable--cursor { background: $block-cursor-blurred-background; text-style: none; }
    RowTable > .rowtable--empty { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class _RowMessage(Message):
        def __init__(self, table: RowTable[Any], row: Any) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> RowTable[Any]:
            return self.table

    class Selected(_RowMessage):
        """Enter (or a double click) on ``row``."""

    class Highlighted(_RowMessage):
        """The cursor moved to ``row`` (a sibling of Selected, so that a handler of one never
        receives the other)."""

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[R], Sequence[CellValue]],
        *,
        sort_key: Callable[[R, str], Any] | None = None,
        row_key: Callable[[R], Any] | None = None,
        header: TableHeader | None = None,
        empty: str = "Nothing here.",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.cells = cells
        self.sort_key = sort_key
        self.row_key = row_key or (lambda row: getattr(row, "id", id(row)))
        self.header = header
        self.empty = empty
        self.all_rows: list[R] = []
        self.rows: list[R] = []
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.filter: Callable[[R], bool] | None = None
        self._styles: dict[str, Style] = {}

    # -- data ------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[R]) -> None:
        """Show ``rows`` (sorted and filtered as chosen), keeping the cursor on the same row."""
        current = self.current
        key = self.row_key(current) if current is not None else None
        self.all_rows = list(rows)
        self._arrange()
        if key is not None:
            for index, row in enumerate(self.rows):
                if self.row_key(row) == key:
                    self.cursor = index
                    break
            else:
                self.cursor = min(self.cursor, max(0, len(self.rows) - 1))
        else:
            self.cursor = 0

    def set_filter(self, keep: Callable[[R], bool] | None) -> None:
        self.filter = keep
        self._arrange()
        self.cursor = 0

    def _arrange(self) -> None:
        rows = [r for r in self.all_rows if self.filter(r)] if self.filter else list(self.all_rows)
        if self.sort_column is not None and self.sort_key is not None:
            key = self.columns[self.sort_column].key
            sort_key = self.sort_key

            def keyed(row: R) -> tuple[bool, Any]:
                value = sort_key(row, key)
                return (value is None, value if value is not None else 0)

            present = [r for r in rows if sort_key(r, key) is not None]
            missing = [r for r in rows if sort_key(r, key) is None]
            present.sort(key=keyed, reverse=self.sort_reverse)
            rows = present + missing  # empty values last either way
        self.rows = rows
        self.virtual_size = Size(self.size.width, len(rows))
        self._show_titles()
        self.refresh()

    @property
    def current(self) -> R | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # -- drawing ---------------------------------------------------------------------------------
    def _style(self, spec: str) -> Style:
        style = self._styles.get(spec)
        if style is None:
            style = self._styles[spec] = parse_style(spec)
        return style

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self.rows):
            if index == 0:
                style = self.get_component_rich_style("rowtable--empty")
                return Strip([Segment(fit(self.empty, width), style)])
            return Strip.blank(width, base)
        row = self.rows[index]
        if index == self.cursor:
            base = base + self.get_component_rich_style("rowtable--cursor")
        widths = layout(self.columns, width)
        segments: list[Segment] = []
        values = self.cells(row)
        for i, (column, value, cell_width) in enumerate(
            zip(self.columns, values, widths, strict=True)
        ):
            if isinstance(value, Cell):
                text, style = value.text, base + self._style(value.style)
            else:
                text, style = value, base
            segments.append(Segment(fit(text, cell_width, column.right), style))
            if i < len(self.columns) - 1:
                segments.append(Segment(" ", base))
        return Strip(segments).adjust_cell_length(width, base)

    def _show_titles(self) -> None:
        if self.header is None:
            return
        marks = {}
        if self.sort_column is not None:
            marks[self.sort_column] = " ▼" if self.sort_reverse else " ▲"
        self.header.update(
            Text(titles_line(self.columns, self.scrollable_content_region.width, marks))
        )

    def on_resize(self, event: Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.rows))
        self._show_titles()

    # -- moving ----------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()
        row = self.current
        if row is not None and old != new:
            self.post_message(self.Highlighted(self, row))

    def _move_to(self, index: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, index))

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else len(self.rows) - 1)

    def action_sort(self, column: int) -> None:
        if self.sort_key is None or column >= len(self.columns):
            return
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        current = self.current
        self._arrange()
        if current is not None:
            self.cursor = self.rows.index(current)

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(self, row))

    def on_click(self, event: Click) -> None:
        index = int(self.scroll_offset.y) + event.y
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_select()
            self.cursor = index
