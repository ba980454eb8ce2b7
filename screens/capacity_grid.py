"""The capacity grid itself (:class:`CapacityGridView`): a row per resource type's team and per
person, a column per day, a cell per capacity row, drawn line by line with the cursor on one cell.

The columns fit the terminal: at 80 columns a week's seven days still fit (narrower cells and row
labels); four weeks scroll with the cursor, the titles marking the days out of sight.  A cell's
load shows by more than colour.  :mod:`screens.capacity` is the screen around it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from textual.binding import Binding
from textual.events import Resize
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from db import formats
from db.i18n import _
from screens.table import fit, keep_in_view

if TYPE_CHECKING:
    from db.grid import Grid, GridCell, GridRow

LABEL_WIDTH = 26  # the row labels when there is room
MIN_LABEL_WIDTH = 16  # never narrower: "Technical Prepa…", "  Pål Johansen"
WEEK_CELL = 11  # " 12.5/16 h" with room to spare
NARROW_WEEK_CELL = 8  # " 12.5/16", " *lør 05": a week of seven days fits 80 columns
MONTH_CELL = 4  # whole free hours only: four weeks of working days fit 120 columns
MORE_MARK = 4  # " ▸12": days beyond the right edge
LOADS = ("free", "filling", "full", "over", "closed")


def cell_text(cell: GridCell | None, month: bool) -> str:
    if cell is None:
        return "·"
    if month:
        return str(int(cell.available))
    if cell.allocated == 0 and cell.used == 0:
        return "0"
    return f"{formats.number(cell.used)}/{formats.number(cell.allocated)}"


class CapacityGridView(ScrollView, can_focus=True):
    """The grid itself: draws only the visible lines; the cursor is one cell.

    The day columns fit the width: wide cells when there is room, narrower cells and row labels
    on 80 columns, and when even those do not fit (four weeks on 80 columns) the columns scroll
    with the cursor; the title line marks the days out of sight on either side.  A cell's load
    shows by more than its colour (red-green colour-blind people): free cells are plain, filling
    ones bold, full ones bold and underlined, overbooked ones on a red background.
    """

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("home", "edge(0)", "First day", show=False),
        Binding("end", "edge(1)", "Last day", show=False),
    ]
    COMPONENT_CLASSES = {
        "grid--cursor",
        "grid--team",
        "grid--person",
        *(f"grid--{load}" for load in LOADS),
    }
    DEFAULT_CSS = """
    CapacityGridView { height: 1fr; padding: 0 1; overflow-x: hidden; }
    CapacityGridView > .grid--cursor { text-style: reverse bold; }
    CapacityGridView > .grid--team { text-style: bold; }
    CapacityGridView > .grid--person { color: $text-muted; }
    CapacityGridView > .grid--free { color: $success; }
    CapacityGridView > .grid--filling { color: $warning; text-style: bold; }
    CapacityGridView > .grid--full { color: $error; text-style: bold underline; }
    CapacityGridView > .grid--over { color: $background; background: $error; text-style: bold; }
    CapacityGridView > .grid--closed { color: $text-muted; }
    """

    row: reactive[int] = reactive(0, always_update=True)
    col: reactive[int] = reactive(0, always_update=True)

    class Moved(Message):
        """The cursor moved to another cell, or the columns changed (the titles follow)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grid: Grid | None = None
        self.days: list[date] = []
        self.month = False
        self.first = 0  # the first day column on screen
        self._widest = 0  # the longest cell text of the grid

    def show(self, grid: Grid, month: bool, day: date | None = None) -> None:
        """Show ``grid``; the cursor goes to ``day`` (or the first day after it that the grid
        shows) when given, else it keeps its column."""
        self.grid = grid
        self.month = month
        self.days = [d for d in grid.days if d.weekday() < 5] if month else list(grid.days)
        self._widest = max(
            (len(cell_text(c, month)) for r in grid.rows for c in r.cells.values()), default=1
        )
        self.virtual_size = Size(self.size.width, len(grid.rows))
        if grid.rows:
            self.row = min(self.row, len(grid.rows) - 1)
        if day is not None:
            self.col = next((i for i, d in enumerate(self.days) if d >= day), len(self.days) - 1)
        self.col = max(0, min(self.col, len(self.days) - 1))
        self.refresh()

    @property
    def current_row(self) -> GridRow | None:
        if self.grid is None or not (0 <= self.row < len(self.grid.rows)):
            return None
        return self.grid.rows[self.row]

    @property
    def current_day(self) -> date | None:
        return self.days[self.col] if 0 <= self.col < len(self.days) else None

    @property
    def current_cell(self) -> GridCell | None:
        row, day = self.current_row, self.current_day
        return row.cells.get(day) if row is not None and day is not None else None

    # -- the columns -----------------------------------------------------------------------------
    def columns(self) -> tuple[int, int, int]:
        """(label width, cell width, how many day columns) for the width there is; the cell
        width counts the space before each cell."""
        width = self.scrollable_content_region.width
        days = len(self.days)
        # a week: wide cells, else narrow ones that still hold the titles ("*Sat 05") and the
        # longest cell
        narrow = max(NARROW_WEEK_CELL, self._widest + 1)
        sizes = [MONTH_CELL] if self.month else [WEEK_CELL, narrow]
        for cell in sizes:
            room = width - days * cell
            if room >= MIN_LABEL_WIDTH:
                return min(LABEL_WIDTH, room), cell, days
        cell = sizes[-1]
        return MIN_LABEL_WIDTH, cell, max(1, (width - MIN_LABEL_WIDTH - MORE_MARK) // cell)

    def visible_days(self) -> range:
        """The indexes of the day columns on screen (the cursor's column is always one)."""
        _label, _cell, count = self.columns()
        last = max(0, len(self.days) - count)
        if self.col < self.first:
            self.first = self.col
        elif self.col >= self.first + count:
            self.first = self.col - count + 1
        self.first = max(0, min(self.first, last))
        return range(self.first, min(len(self.days), self.first + count))

    def titles_line(self, today: date) -> str:
        """The day titles over the columns, today starred, with the days out of sight marked."""
        label, cell, _count = self.columns()
        shown = self.visible_days()
        before, after = shown.start, len(self.days) - shown.stop
        titles = []
        for index in shown:
            day = self.days[index]
            # "Sat 05", "lør 05": the weekday without its full stop, to fit a narrow cell
            text = f"{day.day:02d}"
            if not self.month:
                text = f"{formats.weekday(day).rstrip('.')} {text}"
            if day == today:
                text = "*" + text
            titles.append(fit(text, cell - 1, True))
        left = _("◂ {n} more").format(n=before) if before else ""
        right = f" ▸{after}" if after else ""
        return fit(left, label) + " " + " ".join(titles) + right

    # -- drawing ---------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_offset.y) + y
        grid = self.grid
        if grid is None or index >= len(grid.rows):
            if grid is not None and index == 0:
                text = _("No bookable work here yet: an admin sets up resource types.")
                style = base + self.get_component_rich_style("grid--closed")
                return Strip([Segment(fit(text, width), style)])
            return Strip.blank(width, base)
        row = grid.rows[index]
        label_width, cell_width, _count = self.columns()
        if row.user_id is None:
            label_style = self.get_component_rich_style("grid--team")
            label = Segment(fit(row.label, label_width), base + label_style)
        else:
            label_style = self.get_component_rich_style("grid--person")
            label = Segment(fit(f"  {row.label}", label_width), base + label_style)
        segments = [label]
        cursor = self.get_component_rich_style("grid--cursor")
        for col in self.visible_days():
            cell = row.cells.get(self.days[col])
            load = cell.load if cell is not None else "closed"
            style = base + self.get_component_rich_style(f"grid--{load}")
            if index == self.row and col == self.col and self.has_focus:
                style = style + cursor
            segments.append(Segment(" ", base))
            segments.append(Segment(fit(cell_text(cell, self.month), cell_width - 1, True), style))
        return Strip(segments).adjust_cell_length(width, base)

    def on_resize(self, event: Resize) -> None:
        if self.grid is not None:
            self.virtual_size = Size(event.size.width, len(self.grid.rows))
        self.post_message(self.Moved())

    def watch_row(self) -> None:
        keep_in_view(self, self.row)
        self.refresh()
        self.post_message(self.Moved())

    def watch_col(self) -> None:
        self.visible_days()  # scrolls the columns to the cursor
        self.refresh()
        self.post_message(self.Moved())

    def action_move(self, rows: int, cols: int) -> None:
        if self.grid is None or not self.grid.rows:
            return
        self.row = max(0, min(len(self.grid.rows) - 1, self.row + rows))
        self.col = max(0, min(len(self.days) - 1, self.col + cols))

    def action_edge(self, last: int) -> None:
        self.col = len(self.days) - 1 if last else 0

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
