"""Coordinator mode: the capacity grid of one prep center (US-6.x), and booking from it.

Rows are the bookable resource types, each with its team row and one row per person with their own
capacity; columns are the days of a week (or the working days of four weeks, ``m``).  A cell shows
booked / allocated hours, coloured by load.  Typing a number sets the allocated hours of the cell at
once (0 for a vacation day); below what is booked, the bookings to move are proposed (the lowest
priority consumer first) and nothing moves until the coordinator confirms.  Enter lists the cell's
bookings, ``b`` books work there, ``r`` fills the coming weeks from a weekly pattern.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key, Resize
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip

from db.clock import iso_week_bounds, local_today
from db.errors import CapacityCut, Invalid, PrepfloorError
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.table import fit
from screens.widgets import AppFooter, AppHeader, Input, Label, Static

if TYPE_CHECKING:
    from db.grid import Grid, GridCell, GridRow

LABEL_WIDTH = 26
WEEK_CELL = 11  # " 12 / 16 h"
MONTH_CELL = 4  # whole free hours only: four weeks of working days fit 120 columns
LOAD_STYLE = {
    "free": "green",
    "filling": "yellow",
    "full": "bold red",
    "over": "bold white on red",
    "closed": "dim",
}
LOAD_WORDS = "green: free · yellow: filling · red: full · white on red: overbooked · dim: closed"


def cell_text(cell: GridCell | None, month: bool) -> str:
    if cell is None:
        return "·"
    if month:
        return str(int(cell.available))
    if cell.allocated == 0 and cell.used == 0:
        return "0"
    return f"{cell.used:g}/{cell.allocated:g}"


class CapacityGridView(ScrollView, can_focus=True):
    """The grid itself: draws only the visible lines; the cursor is one cell."""

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("home", "edge(0)", "First day", show=False),
        Binding("end", "edge(1)", "Last day", show=False),
    ]
    COMPONENT_CLASSES = {"grid--cursor", "grid--team", "grid--today"}
    DEFAULT_CSS = """
    CapacityGridView { height: 1fr; padding: 0 1; }
    CapacityGridView > .grid--cursor { text-style: reverse bold; }
    CapacityGridView > .grid--team { text-style: bold; }
    CapacityGridView > .grid--today { text-style: underline; }
    """

    row: reactive[int] = reactive(0, always_update=True)
    col: reactive[int] = reactive(0, always_update=True)

    class Moved(Message):
        """The cursor moved to another cell."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grid: Grid | None = None
        self.days: list[date] = []
        self.month = False
        self._styles: dict[str, Style] = {}

    def show(self, grid: Grid, month: bool) -> None:
        self.grid = grid
        self.month = month
        self.days = [d for d in grid.days if d.weekday() < 5] if month else list(grid.days)
        self.virtual_size = Size(self.size.width, len(grid.rows))
        if grid.rows:
            self.row = min(self.row, len(grid.rows) - 1)
        self.col = min(self.col, max(0, len(self.days) - 1))
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

    def _style(self, spec: str) -> Style:
        style = self._styles.get(spec)
        if style is None:
            style = self._styles[spec] = Style.parse(spec)
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_offset.y) + y
        grid = self.grid
        if grid is None or index >= len(grid.rows):
            if grid is not None and index == 0:
                text = "No bookable work here yet: an admin sets up resource types."
                return Strip([Segment(fit(text, width), base + self._style("dim"))])
            return Strip.blank(width, base)
        row = grid.rows[index]
        cell_width = MONTH_CELL if self.month else WEEK_CELL
        if row.user_id is None:
            label = Segment(fit(row.label, LABEL_WIDTH), base + self._style("bold"))
        else:
            label = Segment(fit(f"  {row.label}", LABEL_WIDTH), base + self._style("dim"))
        segments = [label]
        cursor = self.get_component_rich_style("grid--cursor")
        for col, day in enumerate(self.days):
            cell = row.cells.get(day)
            style = base + self._style(LOAD_STYLE[cell.load] if cell is not None else "dim")
            if index == self.row and col == self.col and self.has_focus:
                style = style + cursor
            segments.append(Segment(" ", base))
            segments.append(Segment(fit(cell_text(cell, self.month), cell_width - 1, True), style))
        return Strip(segments).adjust_cell_length(width, base)

    def on_resize(self, event: Resize) -> None:
        if self.grid is not None:
            self.virtual_size = Size(event.size.width, len(self.grid.rows))

    def watch_row(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if self.row < top:
            self.scroll_to(y=self.row, animate=False)
        elif self.row >= top + height:
            self.scroll_to(y=self.row - height + 1, animate=False)
        self.refresh()
        self.post_message(self.Moved())

    def watch_col(self) -> None:
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


class CapacityScreen(Screen[None]):
    """The coordinator's home: the grid of one prep center, a week at a time."""

    BINDINGS = [
        Binding("left_square_bracket", "week(-1)", "Prev week", key_display="["),
        Binding("right_square_bracket", "week(1)", "Next week", key_display="]"),
        Binding("t", "today", "Today"),
        Binding("m", "toggle_month", "4 weeks"),
        Binding("enter", "cell_bookings", "Bookings"),
        Binding("b", "book", "Book"),
        Binding("r", "pattern", "Weekly pattern"),
        Binding("q", "queue", "Requests"),
        Binding("u", "usage", "Sharing"),
        Binding("g", "dealership", "Dealership"),
        Binding("escape", "cancel_edit", "Cancel", show=False),
    ]
    DEFAULT_CSS = """
    CapacityScreen #caption { height: 1; padding: 0 1; text-style: bold; }
    CapacityScreen #days { height: 1; padding: 0 1; color: $text-muted; text-style: bold; }
    CapacityScreen #cell { height: 1; padding: 0 1; color: $text-muted; }
    CapacityScreen #legend { height: 1; padding: 0 1; color: $text-muted; }
    CapacityScreen #edit-bar { height: 1; dock: bottom; margin-bottom: 1; display: none;
        background: $boost; }
    CapacityScreen #edit-bar.visible { display: block; }
    CapacityScreen #edit-bar > Label { width: auto; padding: 0 1; text-style: bold; }
    CapacityScreen #edit-bar > Input { width: 12; }
    CapacityScreen #edit-bar > #edit-help { width: 1fr; color: $text-muted; padding-left: 1; }
    """

    def __init__(self, ctx: SessionContext, dealership_id: int | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        actor = ctx.actor
        ids = None if actor.all_dealerships else sorted(actor.dealership_ids)
        self.choices = ctx.store.fast.dealerships(ids, prep_only=True)
        ids_here = [d for d, _ in self.choices]
        if dealership_id in ids_here:
            self.dealership_id: int | None = dealership_id
        elif actor.dealership_id in ids_here:
            self.dealership_id = actor.dealership_id
        else:
            self.dealership_id = ids_here[0] if ids_here else None
        self.monday = iso_week_bounds(local_today())[0]
        self.month = False
        self.grid: Grid | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, "Coordinator · Capacity")
        yield Static("", id="caption", markup=False)
        yield Static("", id="days", markup=False)
        yield CapacityGridView(id="grid")
        yield Static("", id="cell", markup=False)
        yield Static(LOAD_WORDS + " · type a number to set hours", id="legend", markup=False)
        with Horizontal(id="edit-bar"):
            yield Label("", id="edit-label")
            yield Input(id="edit", compact=True, select_on_focus=False)
            yield Static("Enter saves · Escape cancels · 0 is a day off", id="edit-help")
        yield AppFooter()

    @property
    def view(self) -> CapacityGridView:
        return self.query_one(CapacityGridView)

    @property
    def dealership_name(self) -> str:
        return dict(self.choices).get(self.dealership_id or -1, "—")

    def on_mount(self) -> None:
        self.view.focus()
        today = local_today()
        self.view.col = (today - self.monday).days
        self.load()

    # -- data ------------------------------------------------------------------------------------
    def load(self) -> None:
        if self.dealership_id is None:
            self.query_one("#caption", Static).update(
                "No prep center in your scope: capacity belongs to dealerships that do prep work."
            )
            return
        days = 28 if self.month else 7
        self._load(self.dealership_id, self.monday, days)

    @work(thread=True, exclusive=True, group="grid", exit_on_error=False)
    def _load(self, dealership_id: int, first: date, days: int) -> None:
        from db import grid

        data = grid.week_grid(self.ctx.store.fast, dealership_id, first, days)
        self.app.call_from_thread(self._show, data)

    def _show(self, grid: Grid) -> None:
        if grid.dealership_id != self.dealership_id or grid.days[0] != self.monday:
            return  # the user moved on meanwhile
        self.grid = grid
        self.view.show(grid, self.month)
        last = grid.days[-1]
        week = self.monday.isocalendar()[1]
        span = f"week {week}" if not self.month else f"weeks {week}-{last.isocalendar()[1]}"
        self.query_one("#caption", Static).update(
            f"{self.dealership_name} · {span} · {self.monday:%d %b} to {last:%d %b %Y}"
            + ("  (working days; free hours)" if self.month else "  (booked / allocated hours)")
        )
        today = local_today()
        width = MONTH_CELL if self.month else WEEK_CELL
        titles = []
        for day in self.view.days:
            text = f"{day:%a %d}" if not self.month else f"{day:%d}"
            if day == today:
                text = "*" + text
            titles.append(fit(text, width - 1, True))
        self.query_one("#days", Static).update(fit("", LABEL_WIDTH) + " " + " ".join(titles))
        self._describe_cell()

    def on_data_changed(self, _event: DataChanged) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        if self.grid is not None:
            self.load()

    @on(CapacityGridView.Moved)
    def _describe_cell(self) -> None:
        row, day, cell = self.view.current_row, self.view.current_day, self.view.current_cell
        if row is None or day is None:
            self.query_one("#cell", Static).update("")
            return
        who = "team" if row.user_id is None else row.label
        work = next(
            (
                r.name
                for r in (self.grid.rows if self.grid else [])
                if r.resource_type_id == row.resource_type_id
            ),
            "",
        )
        if cell is None:
            what = "no capacity set"
        elif cell.load == "over":
            what = f"{cell.used:g} h booked of {cell.allocated:g} h: OVERBOOKED by {cell.used - cell.allocated:g} h"
        else:
            what = f"{cell.used:g} h booked of {cell.allocated:g} h, {cell.available:g} h free"
        self.query_one("#cell", Static).update(f"{work} · {who} · {day:%a %d %b}: {what}")

    # -- moving around ---------------------------------------------------------------------------
    def action_week(self, delta: int) -> None:
        self.monday += timedelta(weeks=delta * (4 if self.month else 1))
        self.load()

    def action_today(self) -> None:
        self.monday = iso_week_bounds(local_today())[0]
        self.view.col = (local_today() - self.monday).days if not self.month else 0
        self.load()

    def action_toggle_month(self) -> None:
        self.month = not self.month
        self.view.col = 0
        self.load()

    def action_dealership(self) -> None:
        from screens.dialogs import ChoiceDialog

        if len(self.choices) < 2:
            self.notify("You plan one prep center only.")
            return

        def chosen(key: str | None) -> None:
            if key is not None:
                self.dealership_id = int(key)
                self.load()

        self.app.push_screen(
            ChoiceDialog("Capacity of which prep center?", [(str(d), n) for d, n in self.choices]),
            chosen,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dealership":
            return len(self.choices) > 1
        return True

    # -- setting hours ---------------------------------------------------------------------------
    def on_key(self, event: Key) -> None:
        """A digit typed on the grid starts setting the hours of the cell."""
        if not self.view.has_focus or event.character is None:
            return
        if event.character.isdigit() or event.character in ".,":
            row, day = self.view.current_row, self.view.current_day
            if row is None or day is None:
                return
            if day < local_today():
                self.notify(
                    "That day is past: capacity is set for today and later.", severity="warning"
                )
                event.stop()
                return
            who = "team" if row.user_id is None else row.label
            bar = self.query_one("#edit-bar")
            self.query_one("#edit-label", Label).update(
                f"Hours for {self._work_name(row)} · {who} · {day:%a %d %b}:"
            )
            edit = self.query_one("#edit", Input)
            edit.value = event.character
            bar.add_class("visible")
            edit.focus()
            edit.cursor_position = len(edit.value)
            event.stop()

    def _work_name(self, row: GridRow) -> str:
        for r in self.grid.rows if self.grid else []:
            if r.resource_type_id == row.resource_type_id and r.user_id is None:
                return r.label
        return row.label

    def action_cancel_edit(self) -> None:
        self.query_one("#edit-bar").remove_class("visible")
        self.view.focus()

    @on(Input.Submitted, "#edit")
    def _edit_done(self, event: Input.Submitted) -> None:
        from db import validate

        row, day = self.view.current_row, self.view.current_day
        if row is None or day is None or self.dealership_id is None:
            return
        try:
            hours = validate.hours(
                event.value,
                "allocated_hours",
                allow_zero=True,
                maximum=24.0 if row.user_id else 2400.0,
            )
        except Invalid as problem:
            self.notify(problem.message, severity="error")
            return
        self.action_cancel_edit()
        self._set_hours(self.dealership_id, row.resource_type_id, day, row.user_id, hours)

    @work(thread=True, group="grid-write", exit_on_error=False)
    def _set_hours(
        self,
        dealership_id: int,
        resource_type_id: int,
        day: date,
        user_id: str | None,
        hours: float,
    ) -> None:
        import uuid

        from db import capacity

        try:
            self.ctx.store.run(
                capacity.set_capacity,
                self.ctx.actor,
                dealership_id=dealership_id,
                resource_type_id=resource_type_id,
                date=day,
                allocated_hours=hours,
                user_id=uuid.UUID(user_id) if user_id else None,
            )
        except CapacityCut as cut:
            self.app.call_from_thread(
                self._propose_cut, dealership_id, resource_type_id, day, user_id, hours, str(cut)
            )
            return
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        label = "a day off" if hours == 0 else f"{hours:g} h"
        self.app.call_from_thread(self.notify, f"{day:%a %d %b}: {label}.")
        self.app.call_from_thread(self.load)

    def _propose_cut(
        self,
        dealership_id: int,
        resource_type_id: int,
        day: date,
        user_id: str | None,
        hours: float,
        message: str,
    ) -> None:
        from screens.schedule import CutDialog

        self.app.push_screen(
            CutDialog(self.ctx, dealership_id, resource_type_id, day, user_id, hours, message),
            lambda _: self.load(),
        )

    # -- the cell's bookings, booking, pattern ----------------------------------------------------
    def action_cell_bookings(self) -> None:
        from screens.schedule import CellBookingsDialog

        row, day = self.view.current_row, self.view.current_day
        if row is None or day is None or self.dealership_id is None:
            return
        who = "team" if row.user_id is None else row.label
        self.app.push_screen(
            CellBookingsDialog(
                self.ctx,
                self.dealership_id,
                row.resource_type_id,
                day,
                row.user_id,
                f"{self._work_name(row)} · {who} · {day:%a %d %b %Y}",
            ),
            lambda _: self.load(),
        )

    def action_book(self) -> None:
        from screens.booking import BookingDialog

        row, day = self.view.current_row, self.view.current_day
        if row is None or day is None:
            return
        self.app.push_screen(
            BookingDialog(
                self.ctx,
                provider_id=self.dealership_id,
                resource_type_id=row.resource_type_id,
                day=max(day, local_today()),
                user_id=row.user_id,
            ),
            lambda _: self.load(),
        )

    def action_pattern(self) -> None:
        from screens.schedule import pattern_dialog, pattern_done

        row = self.view.current_row
        if row is None or self.dealership_id is None:
            return
        who = "team" if row.user_id is None else row.label
        self.app.push_screen(
            pattern_dialog(
                self.ctx,
                self.dealership_id,
                row.resource_type_id,
                row.user_id,
                f"{self._work_name(row)} · {who}",
                max(self.monday, local_today()),
            ),
            lambda result: (pattern_done(self.app, result), self.load()),
        )

    def action_queue(self) -> None:
        from screens.schedule import RequestsScreen

        if self.dealership_id is not None:
            self.app.push_screen(RequestsScreen(self.ctx, self.dealership_id, self.dealership_name))

    def action_usage(self) -> None:
        from screens.schedule import SharingScreen

        self.app.push_screen(SharingScreen(self.ctx))
