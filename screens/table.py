"""Columns laid out to the terminal's width, and a list of rows held in memory with a cursor.

:class:`RowTable` is for lists of hundreds or a few thousand rows that the screen loads at once (a
seller's cars, a day's bookings, an inbox): only the visible lines are drawn, the digits sort by a
column (the same digit again reverses), Enter selects.  The car list of every car pages from the
database instead (:mod:`screens.carlist`) and shares the column layout from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

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

from db.i18n import N_, _
from db.text import one_line
from screens.widgets import Static

R = TypeVar("R")


def keep_in_view(view: ScrollView, row: int) -> None:
    """Scroll ``view`` (a line per row) just enough that ``row`` is on screen."""
    height = max(1, view.scrollable_content_region.height)
    top = int(view.scroll_offset.y)
    if row < top:
        view.scroll_to(y=row, animate=False)
    elif row >= top + height:
        view.scroll_to(y=row - height + 1, animate=False)


class Column(NamedTuple):
    """A column of a list.  At 80 columns not every column fits: ``least`` lets a column narrow
    (its text then ends in an ellipsis) before any column goes, and ``drop`` says, per list, which
    columns go first as the width shrinks (1 first, then 2, …; 0 never).  A line whose columns
    were dropped says so at the end of its titles (``+2 »``)."""

    key: str
    title: str
    width: int  # fixed width, or the minimum for a flexible column
    flex: int = 0
    right: bool = False  # numbers line up on the right
    drop: int = 0  # 0: always shown; else dropped when the line is too narrow, 1 first (the
    # columns of one number go together)
    least: int = 0  # may narrow to this many cells before a column is dropped (0: ``width``)

    @property
    def narrowest(self) -> int:
        return min(self.least, self.width) if self.least else self.width


class Layout(NamedTuple):
    """Where the columns go on a line of one width: a width per column (0 for a dropped one)."""

    widths: tuple[int, ...]
    dropped: tuple[int, ...] = ()  # the indices of the columns dropped at this width
    overlay: bool = False  # the marker sits in the last title's blank end (no room set aside)

    @property
    def shown(self) -> list[int]:
        return [i for i, w in enumerate(self.widths) if w]

    @property
    def marker(self) -> str:
        """``+2 »`` when two columns are dropped (a wider terminal shows them), else ``""``."""
        return f"+{len(self.dropped)} »" if self.dropped else ""


def _widths(columns: Sequence[Column], shown: Sequence[int], width: int) -> tuple[int, ...]:
    """Each shown column at its narrowest; the room left goes first back to the narrowed ones
    (the flexible ones first: names gain most from a few cells), then to the flexible ones by
    their share."""
    widths = {i: columns[i].narrowest for i in shown}
    spare = width - sum(widths.values()) - max(0, len(shown) - 1)
    for group in ([i for i in shown if columns[i].flex], [i for i in shown if not columns[i].flex]):
        short = [i for i in group if widths[i] < columns[i].width]
        while spare > 0 and short:  # a cell each in turn
            for i in short:
                if spare > 0:
                    widths[i] += 1
                    spare -= 1
            short = [i for i in short if widths[i] < columns[i].width]
    flexible = [i for i in shown if columns[i].flex]
    if spare > 0 and flexible:
        total = sum(columns[i].flex for i in flexible)
        given = 0
        for i in flexible:
            extra = spare - given if i == flexible[-1] else spare * columns[i].flex // total
            widths[i] += extra
            given += extra
    return tuple(widths.get(i, 0) for i in range(len(columns)))


SORT_MARK_ROOM = 2  # " ▲" after the title of the sorted column


def plan(columns: Sequence[Column], width: int) -> Layout:
    """The columns laid out on a line ``width`` cells wide (one space between columns): as many
    as fit at their narrowest, the droppable ones going in their ``drop`` order (the columns of
    one number together); the room left widens the narrowed columns, then the flexible ones."""
    steps = sorted({c.drop for c in columns if c.drop > 0})
    droppable: list[int] = []
    for count in range(len(steps) + 1):
        if count:
            group = [i for i, c in enumerate(columns) if c.drop == steps[count - 1]]
            if len(droppable) + len(group) == len(columns):
                break  # one column at least stays
            droppable += group
        dropped = list(droppable)
        shown = [i for i in range(len(columns)) if i not in dropped]
        need = sum(columns[i].narrowest for i in shown) + max(0, len(shown) - 1)
        if not dropped:
            if need <= width:
                return Layout(_widths(columns, shown, width))
            continue
        marker = len(f"+{len(dropped)} »")
        if need <= width:  # the marker in the blank end of the last title, if it has one
            widths = _widths(columns, shown, width)
            last = columns[shown[-1]]
            room = widths[shown[-1]] - len(_(last.title)) - SORT_MARK_ROOM - 1
            if not last.right and room >= marker:
                return Layout(widths, tuple(sorted(dropped)), overlay=True)
        if need <= width - marker - 1:
            widths = _widths(columns, shown, width - marker - 1)
            return Layout(widths, tuple(sorted(dropped)))
    # nothing more may go: the line is cut at the right
    dropped = droppable
    shown = [i for i in range(len(columns)) if i not in dropped]
    reserve = len(f"+{len(dropped)} »") + 1 if dropped else 0
    return Layout(_widths(columns, shown, width - reserve), tuple(sorted(dropped)))


def layout(columns: Sequence[Column], width: int) -> list[int]:
    """Column widths for a line ``width`` cells wide (one space between columns; 0 for a column
    dropped at this width, see :func:`plan`)."""
    return list(plan(columns, width).widths)


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` as one plain line (no control characters, :func:`db.text.one_line`), cut with an
    ellipsis or padded to exactly ``width`` cells."""
    text = one_line(text)
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def titles_line(columns: Sequence[Column], width: int, marks: dict[int, str] | None = None) -> str:
    """The column titles as laid out at ``width``; when columns were dropped the line ends in
    the marker (``+2 »``) at its right edge."""
    return titles_of(columns, plan(columns, width), width, marks)


def titles_of(
    columns: Sequence[Column], at: Layout, width: int, marks: dict[int, str] | None = None
) -> str:
    marks = marks or {}
    line = " ".join(
        fit(_(columns[i].title) + marks.get(i, ""), at.widths[i], columns[i].right)
        for i in at.shown
    )
    marker = at.marker
    if marker:
        line = line.ljust(width)[: max(0, width - len(marker))] + marker
    return line


def dropped_note(columns: Sequence[Column], at: Layout) -> str:
    """Which columns a wider terminal shows (the marker's tooltip)."""
    if not at.dropped:
        return ""
    names = ", ".join(_(columns[i].title) or columns[i].key for i in at.dropped)
    return _("Not shown at this width: {names}. A wider terminal shows them.").format(names=names)


def line_segments(
    columns: Sequence[Column], at: Layout, cells: Sequence[tuple[str, Style]], gap: Style
) -> list[Segment]:
    """The shown cells of one row (text and style per column, every column), fitted to their
    widths and one space apart."""
    segments: list[Segment] = []
    for n, i in enumerate(at.shown):
        if n:
            segments.append(Segment(" ", gap))
        text, style = cells[i]
        segments.append(Segment(fit(text, at.widths[i], columns[i].right), style))
    return segments


# The keys of a list with a cursor (the car list and every RowTable).
CURSOR_BINDINGS: list[Binding] = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("home", "jump(0)", "First", show=False),
    Binding("end", "jump(-1)", "Last", show=False),
]


# A list's lines start one cell in and run to the right edge (or to its one-cell scrollbar):
# at 80 columns every cell counts.  Its titles line up with it.
LIST_CSS = "width: 100%; padding: 0 0 0 1; overflow-x: hidden; scrollbar-size-vertical: 1;"
TITLES_CSS = "height: 1; padding: 0 0 0 1; text-wrap: nowrap; text-overflow: clip;"


class TableHeader(Static):
    """The column titles above a table (the table sets them to its own widths).  When the table
    drops columns at this width the line ends in ``+N »``, and the tooltip names them."""

    DEFAULT_CSS = f"""
    TableHeader {{ {TITLES_CSS} text-style: bold; color: $text-muted; }}
    """

    def set_titles(self, text: str, note: str = "") -> None:
        """``text``: the titles line; ``note``: which columns were dropped (the tooltip)."""
        self.update(Text(text))
        self.tooltip = note or None


def parse_style(spec: str) -> Style:
    """A Rich style from ``spec``; none at all when it is not one (a color stored by hand)."""
    if not spec:
        return Style()
    try:
        return Style.parse(spec)
    except StyleSyntaxError:
        return Style()


class Cell(NamedTuple):
    """What one cell shows and how (a style name from Rich, e.g. ``"bold red"``); ``short``: what
    it shows instead where ``text`` does not fit (a stage's name in a word or two)."""

    text: str
    style: str = ""
    short: str = ""


CellValue = str | Cell


# The digits that sort by a column.  Their descriptions are never drawn (the footer does not
# show them; the help folds the nine into one line, screens.help.GENERIC): not translated.
_SORT_KEYS = [(str(n), f"sort({n - 1})", f"Sort by column {n}") for n in range(1, 10)]


class RowTable(ScrollView, Generic[R], can_focus=True):
    """Rows in memory, drawn line by line.  Subclass or pass ``cells`` (row → one value per
    column) and ``sort_key`` (row, column key → a value to sort by)."""

    BINDINGS = [
        *CURSOR_BINDINGS,
        Binding("enter", "select", "Open"),
        *[Binding(key, action, text, show=False) for key, action, text in _SORT_KEYS],
    ]
    COMPONENT_CLASSES = {"rowtable--cursor", "rowtable--empty"}
    DEFAULT_CSS = f"""
    RowTable {{ {LIST_CSS} height: 1fr; }}
    RowTable > .rowtable--cursor {{ background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }}
    RowTable:blur > .rowtable--cursor {{ background: $block-cursor-blurred-background; text-style: none; }}
    RowTable > .rowtable--empty {{ color: $text-muted; }}
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
        empty: str = N_("Nothing here."),
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
        self.loaded = False  # rows were given: until then "empty" would claim what is not known
        self.sort_column: int | None = None
        self.sort_reverse = False
        self.filter: Callable[[R], bool] | None = None
        self._styles: dict[str, Style] = {}
        self._layout: tuple[int, list[Column], Layout] | None = None
        self._titles_width = -1  # the width the titles were laid out for

    # -- data ------------------------------------------------------------------------------------
    def set_rows(self, rows: Sequence[R]) -> None:
        """Show ``rows`` (sorted and filtered as chosen), keeping the cursor on the same row."""
        current = self.current
        key = self.row_key(current) if current is not None else None
        self.loaded = True
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

    def laid_out(self, width: int | None = None) -> Layout:
        """The columns at this table's width (or ``width``): which are shown, how wide."""
        if width is None:
            width = self.scrollable_content_region.width
        cached = self._layout
        if cached is None or cached[0] != width or cached[1] is not self.columns:
            cached = self._layout = (width, self.columns, plan(self.columns, width))
        return cached[2]

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if width != self._titles_width and self.header is not None:
            self._titles_width = width  # asked once
            self.call_later(self._show_titles)  # a scrollbar came or went: titles follow
        base = self.rich_style
        if index >= len(self.rows):
            if index == 0 and self.loaded:
                style = self.get_component_rich_style("rowtable--empty")
                return Strip([Segment(fit(_(self.empty), width), style)])
            return Strip.blank(width, base)
        row = self.rows[index]
        if index == self.cursor:
            base = base + self.get_component_rich_style("rowtable--cursor")
        at = self.laid_out(width)
        cells: list[tuple[str, Style]] = []
        for i, value in enumerate(self.cells(row)):
            if isinstance(value, Cell):
                text = value.text
                if value.short and len(text) > at.widths[i]:
                    text = value.short
                cells.append((text, base + self._style(value.style)))
            else:
                cells.append((value, base))
        segments = line_segments(self.columns, at, cells, base)
        return Strip(segments).adjust_cell_length(width, base)

    def _show_titles(self) -> None:
        if self.header is None:
            return
        marks = {}
        if self.sort_column is not None:
            marks[self.sort_column] = " ▼" if self.sort_reverse else " ▲"
        width = self._titles_width = self.scrollable_content_region.width
        at = self.laid_out(width)
        self.header.set_titles(
            titles_of(self.columns, at, width, marks), dropped_note(self.columns, at)
        )

    def on_resize(self, event: Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.rows))
        self._show_titles()
        self.call_after_refresh(self._scroll_to_cursor)

    # -- moving ----------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        row = self.current
        if row is not None and old != new:
            self.post_message(self.Highlighted(self, row))

    def _scroll_to_cursor(self) -> None:
        """The cursor's row on screen (after a move, and when the table got shorter)."""
        keep_in_view(self, self.cursor)

    def _move_to(self, index: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, index))

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else len(self.rows) - 1)

    def action_sort(self, number: int) -> None:
        """Sort by the ``number``-th column on screen (from 0; a dropped column is not counted:
        the digits follow what the user sees)."""
        shown = self.laid_out().shown
        if self.sort_key is None or number >= len(shown):
            return
        column = shown[number]
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
