"""The car list: a virtual list that pages from the database.

Only the visible lines are rendered and only the pages around them are fetched (100 rows a page,
through :mod:`db.fast`, in thread workers), so a list of 100,000 cars opens as fast as one of 10.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click, Resize
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from db import formats
from db.clock import utcnow
from db.fast import LIST_PAGE, CarQuery, CarRow
from db.i18n import _
from db.vocab import CAR_STATUS_LABELS
from screens.context import FirstPage, SessionContext
from screens.table import (
    CURSOR_BINDINGS,
    LIST_CSS,
    TITLES_CSS,
    Column,
    Layout,
    dropped_note,
    keep_in_view,
    line_segments,
    plan,
    titles_of,
)
from screens.widgets import Static

PAGE = LIST_PAGE
KEEP_PAGES = 8
# Every matching id (for the count, the scrollbar and the pages beyond the first) is read this
# long after the table's first page is painted, at start: the first frame reaches the terminal
# first.  (A later query's ids are read as soon as its first page is painted.)
IDS_AFTER_SECONDS = 0.05
LAST = 1 << 62  # an index past any list: the last row

# Stage colours: waiting at the seller, on the road, at the prep center, done.
STATUS_STYLE = {
    "draft": "dim",
    "registered": "bold",
    "in_transit": "cyan",
    "at_prep_center": "cyan",
    "inspection": "yellow",
    "parts_ordered": "bold magenta",
    "technical_prep": "yellow",
    "cosmetic_prep": "yellow",
    "ready_for_delivery": "bold green",
    "delivered": "green",
    "archived": "dim",
}


# The list to find any car in: what identifies a car stays (status, VIN, plate, car, customer;
# a VIN is never cut: 17 cells, never dropped).  As the terminal narrows the dealership goes
# first, then the parts flag, then the time in stage (80 columns: all three, ``+3 »``).
COLUMNS: tuple[Column, ...] = (
    Column("status", "Status", 18, least=14),
    Column("vin", "VIN", 17),
    Column("plate", "Plate", 8),
    Column("car", "Car", 14, flex=2, least=12),
    Column("customer", "Customer", 12, flex=2),
    Column("dealership", "Dealership", 12, flex=1, drop=1),
    Column("parts", "Parts", 7, drop=2),
    Column("stage", "In stage", 8, drop=3),
)


PARTS_COLUMN = [c.key for c in COLUMNS].index("parts")
_STATUS_STYLES = {status: Style.parse(spec) for status, spec in STATUS_STYLE.items()}


def _status_style(status: str) -> Style:
    return _STATUS_STYLES.get(status, Style())


def row_cells(row: CarRow) -> list[str]:
    car = " ".join(x for x in (row.brand, row.model) if x) or "—"
    if row.status_changed_at is not None:
        stage = formats.duration((utcnow() - row.status_changed_at).total_seconds())
    else:
        stage = "—"
    return [
        CAR_STATUS_LABELS.get(row.status, row.status),
        row.vin or "—",
        row.license_plate or "—",
        car,
        row.customer_name or "—",
        row.dealership_name,
        _("waiting") if row.parts_waiting else "",
        stage,
    ]


class CarListHeader(Static):
    """The column titles above a :class:`CarTable` (the table sets them to its own widths)."""

    DEFAULT_CSS = f"""
    CarListHeader {{ {TITLES_CSS} text-style: bold; color: $text-muted; }}
    """

    def show_titles(self, width: int) -> None:
        at = plan(COLUMNS, width)
        self.update(titles_of(COLUMNS, at, width))
        self.tooltip = dropped_note(COLUMNS, at) or None


class CarTable(ScrollView, can_focus=True):
    """Cars newest first; Enter opens the car under the cursor."""

    BINDINGS = [
        *CURSOR_BINDINGS,
        Binding("enter", "open", "Open car"),
    ]
    COMPONENT_CLASSES = {"cartable--cursor", "cartable--loading"}
    DEFAULT_CSS = f"""
    CarTable {{ {LIST_CSS} }}
    CarTable > .cartable--cursor {{ background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }}
    CarTable:blur > .cartable--cursor {{ background: $block-cursor-blurred-background; text-style: none; }}
    CarTable > .cartable--loading {{ color: $text-muted; }}
    """

    cursor: reactive[int] = reactive(0, always_update=True)

    class Opened(Message):
        def __init__(self, car_id: int) -> None:
            super().__init__()
            self.car_id = car_id

    class Counted(Message):
        """The number of cars matching the query is known."""

        def __init__(self, total: int) -> None:
            super().__init__()
            self.total = total

    def __init__(
        self,
        ctx: SessionContext,
        query: CarQuery | None = None,
        header: CarListHeader | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ctx = ctx
        self.header = header
        self.query_ = query or CarQuery()
        self.total: int | None = None
        self._pages: OrderedDict[int, list[CarRow]] = OrderedDict()
        self._ids: Sequence[int] | None = None  # every matching id (an array: 8 bytes each)
        self._pending: set[int] = set()
        self._generation = 0
        self._ids_asked = -1  # the generation whose ids were asked for
        self._ids_asked_before = False  # any list's ids asked for (not the first list)
        self._ids_loading = -1  # the generation whose ids are being read
        self._after_ids: int | None = None  # a move past the rows known, made once the ids are
        self._layout: tuple[int, Layout] | None = None
        self._titles_width = -1  # the width the titles were laid out for

    # -- data ------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._reload(keep_position=False)

    def set_query(self, query: CarQuery) -> None:
        """Show the cars matching ``query`` (from the top)."""
        self.query_ = query
        self._reload(keep_position=False)

    def refresh_data(self) -> None:
        """Reload what is shown (after a change), keeping the cursor where it is."""
        self._reload(keep_position=True)

    def _reload(self, keep_position: bool) -> None:
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self._ids = None
        if not keep_position:
            self._after_ids = None  # a move in the list that was asked for
            self.total = None
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        generation, query, page = self._generation, self.query_, self.cursor // PAGE
        self._pending.add(page)
        ahead, self.ctx.read_ahead = self.ctx.read_ahead, None  # the session's first list only
        rows = ahead.first_page(query, wait=False) if ahead is not None and page == 0 else None
        if rows is not None:  # read while the app started: in the first frame
            self._page_loaded(generation, page, rows)
            return
        self.run_worker(
            lambda: self._first_in_thread(generation, query, page, ahead),
            thread=True,
            group="car-pages",
            exit_on_error=False,
        )

    def _first_in_thread(
        self, generation: int, query: CarQuery, page: int, ahead: FirstPage | None = None
    ) -> None:
        """The page on screen first (painted at once); every matching id for the rest is read
        once that page is painted (:meth:`_page_loaded`): tens of thousands of ids take the
        interpreter for tens of milliseconds, which the first frame should not wait for.
        (``ahead``: the page is being read already, since the app started.)"""
        if generation != self._generation:
            return  # the user typed on; these cars are no longer wanted
        rows = ahead.first_page(query, wait=True) if ahead is not None and page == 0 else None
        if rows is None:
            rows = self.ctx.store.fast.car_page(self.ctx.actor, query, page * PAGE, PAGE)
        self.app.call_from_thread(self._page_loaded, generation, page, rows)

    def _load_ids(self, generation: int, *, again: bool = False) -> None:
        """Read every matching id in a worker (``again``: even if a read is under way)."""
        if generation != self._generation or (self._ids_loading == generation and not again):
            return  # another query since (its first page asks for its own ids), or under way
        self._ids_loading = generation
        query = self.query_
        self.run_worker(
            lambda: self._ids_in_thread(generation, query),
            thread=True,
            group="car-pages",
            exit_on_error=False,
        )

    def _ids_in_thread(self, generation: int, query: CarQuery) -> None:
        if generation != self._generation:
            return
        ids = self.ctx.store.fast.car_ids(self.ctx.actor, query)
        self.app.call_from_thread(self._ids_loaded, generation, ids)

    def _fetch(self, generation: int, page: int) -> None:
        if page in self._pending or page < 0 or self._ids is None:
            return
        wanted = self._ids[page * PAGE : (page + 1) * PAGE]
        if not wanted:
            return
        self._pending.add(page)
        self.run_worker(
            lambda: self._page_in_thread(generation, page, wanted),
            thread=True,
            group="car-pages",
            exit_on_error=False,
        )

    def _page_in_thread(self, generation: int, page: int, ids: Sequence[int]) -> None:
        if generation != self._generation:
            return
        rows = self.ctx.store.fast.cars_by_id(ids)
        self.app.call_from_thread(self._page_loaded, generation, page, rows)

    def _ids_loaded(self, generation: int, ids: Sequence[int]) -> None:
        if generation != self._generation:
            return
        self._ids = ids
        self._set_total(len(ids))
        self.post_message(self.Counted(len(ids)))
        if self._after_ids is not None:
            index, self._after_ids = self._after_ids, None
            self._move_to(index)

    def _page_loaded(self, generation: int, page: int, rows: list[CarRow]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page)
        if self._ids is None and self._ids_asked != generation:
            self._ids_asked = generation
            if page == 0 and len(rows) < PAGE:  # the whole list: its ids are these
                self.call_later(self._ids_loaded, generation, [row.id for row in rows])
            elif self._ids_asked_before:  # the rest once this page is on screen
                self.call_after_refresh(self._load_ids, generation)
            else:  # the first list of the session: once the frame has reached the terminal
                self.call_after_refresh(
                    self.set_timer, IDS_AFTER_SECONDS, lambda: self._load_ids(generation)
                )
            self._ids_asked_before = True
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > KEEP_PAGES:
            self._pages.popitem(last=False)
        if self.total is None and len(rows) < PAGE:
            self._set_total(page * PAGE + len(rows))
        elif self.total is None:
            self._set_total((page + 1) * PAGE)  # at least; the count follows
        self.refresh()

    def _set_total(self, total: int) -> None:
        self.total = total
        self.virtual_size = Size(self.size.width, total)
        if total and self.cursor >= total:
            self.cursor = total - 1
        self.refresh()

    def row_at(self, index: int) -> CarRow | None:
        page = self._pages.get(index // PAGE)
        if page is None:
            return None
        offset = index % PAGE
        return page[offset] if offset < len(page) else None

    @property
    def current(self) -> CarRow | None:
        return self.row_at(self.cursor)

    # -- drawing ---------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if width != self._titles_width and self.header is not None:
            self._titles_width = width  # asked once
            self.call_later(self._show_titles)  # a scrollbar came or went: titles follow
        base = self.rich_style
        if self.total is None or index >= self.total:
            if index == 0 and self.total == 0:
                text = _("No cars match.") if self.query_.search else _("No cars yet.")
                style = self.get_component_rich_style("cartable--loading")
                return Strip([Segment(text.ljust(width), style)]).simplify()
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None:
            self._fetch(self._generation, index // PAGE)
            style = self.get_component_rich_style("cartable--loading")
            return Strip([Segment("…".ljust(width), style)])
        if index == self.cursor:
            base = base + self.get_component_rich_style("cartable--cursor")
        cells = []
        for i, text in enumerate(row_cells(row)):
            if i == 0:
                style = base + _status_style(row.status)
            elif i == PARTS_COLUMN and text:
                style = base + _status_style("parts_ordered")
            else:
                style = base
            cells.append((text, style))
        segments = line_segments(COLUMNS, self.laid_out(width), cells, base)
        return Strip(segments).adjust_cell_length(width, base)

    def laid_out(self, width: int) -> Layout:
        """The columns at ``width``: which are shown, how wide."""
        if self._layout is None or self._layout[0] != width:
            self._layout = (width, plan(COLUMNS, width))
        return self._layout[1]

    def on_resize(self, event: Resize) -> None:
        if self.total is not None:
            self.virtual_size = Size(event.size.width, self.total)
        self._show_titles()
        self.call_after_refresh(self._scroll_to_cursor)

    def _show_titles(self) -> None:
        if self.header is not None:
            self._titles_width = self.scrollable_content_region.width
            self.header.show_titles(self._titles_width)

    # -- moving ----------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        ahead = (new + self.size.height) // PAGE
        if ahead not in self._pages:
            self._fetch(self._generation, ahead)

    def _scroll_to_cursor(self) -> None:
        keep_in_view(self, self.cursor)

    def _move_to(self, index: int) -> None:
        if not self.total:
            return
        if self._ids is None and index >= self.total - 1 and index > self.cursor:
            # Past the rows known while the count is still being read (End or Page Down typed
            # during start-up): made once the ids are in, where it would have gone had the user
            # waited.  The ids are read by a worker started by this key (even if one is under
            # way): the type-ahead holds the next key until it has ended.
            self._after_ids = index
            self._load_ids(self._generation, again=True)
            return
        self.cursor = max(0, min(self.total - 1, index))

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        if where != 0 and self._ids is None:
            self._move_to(LAST)  # the last row, once the count is known
            return
        self._after_ids = None
        self._move_to(0 if where == 0 else (self.total or 1) - 1)

    def action_open(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Opened(row.id))

    def on_click(self, event: Click) -> None:
        index = int(self.scroll_offset.y) + event.y
        if self.total and 0 <= index < self.total:
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = index
