"""Coordinator mode: the capacity grid of one prep center (US-6.x), and booking from it.

Rows are the bookable resource types, each with its team row and one row per person with their own
capacity; columns are the days of a week (or the working days of four weeks, ``m``).  A cell shows
booked / allocated hours, its load shown by colour and weight.  The grid opens on today's cell; the
cursor's cell is always on screen, 80 columns too.  Typing a number sets the allocated hours of the
cell at once (0 for a vacation day); below what is booked, the bookings to move are proposed (the
lowest priority consumer first) and nothing moves until the coordinator confirms.  Enter lists the
cell's bookings, ``b`` books work there (on a person's day off it says so and offers whoever has
room), ``r`` fills the coming weeks from a weekly pattern.  The grid itself is
:mod:`screens.capacity_grid`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key
from textual.screen import Screen

from db import formats
from db.clock import iso_week_bounds, local_today
from db.errors import CapacityCut, Invalid, PrepfloorError
from db.i18n import _
from screens.capacity_grid import CapacityGridView
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.widgets import AppFooter, AppHeader, Input, Label, Static, ready_to_save

if TYPE_CHECKING:
    from db.grid import Grid, GridRow


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
    CapacityScreen #caption { height: auto; padding: 0 1; text-style: bold; }
    CapacityScreen #days { height: 1; padding: 0 1; color: $text-muted; text-style: bold;
        text-wrap: nowrap; text-overflow: clip; }
    CapacityScreen #cell { height: auto; padding: 0 1; color: $text-muted; }
    CapacityScreen #legend { height: auto; padding: 0 1; color: $text-muted; }
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
        ids_here = [d for d, _name in self.choices]
        if dealership_id in ids_here:
            self.dealership_id: int | None = dealership_id
        elif actor.dealership_id in ids_here:
            self.dealership_id = actor.dealership_id
        else:
            self.dealership_id = ids_here[0] if ids_here else None
        self.monday = iso_week_bounds(local_today())[0]
        self.month = False
        self.grid: Grid | None = None
        # the day the cursor goes to when the grid arrives: today when the grid opens
        self.cursor_day: date | None = local_today()

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Coordinator · Capacity"))
        yield Static("", id="caption", markup=False)
        yield Static("", id="days", markup=False)
        yield CapacityGridView(id="grid")
        yield Static("", id="cell", markup=False)
        yield Static("", id="legend", markup=False)
        with Horizontal(id="edit-bar"):
            yield Label("", id="edit-label")
            yield Input(id="edit", compact=True, select_on_focus=False)
            yield Static(_("Enter saves · Escape cancels · 0 is a day off"), id="edit-help")
        yield AppFooter()

    @property
    def view(self) -> CapacityGridView:
        return self.query_one(CapacityGridView)

    @property
    def dealership_name(self) -> str:
        return dict(self.choices).get(self.dealership_id or -1, "—")

    def on_mount(self) -> None:
        self.view.focus()
        self.load()

    def legend(self) -> Text:
        """What the cells' looks mean, each word drawn as its cells are."""
        view = self.view
        line = Text(no_wrap=False)
        for load, word in (
            ("free", _("free")),
            ("filling", _("filling (bold)")),
            ("full", _("full (underlined)")),
            ("over", _("overbooked")),
            ("closed", _("closed")),
        ):
            line.append(word, view.get_component_rich_style(f"grid--{load}"))
            line.append(" · ")
        line.append(_("type a number to set the cell's hours"))
        return line

    # -- data ------------------------------------------------------------------------------------
    def load(self) -> None:
        if self.dealership_id is None:
            self.query_one("#caption", Static).update(
                _(
                    "No prep center in your scope: capacity belongs to dealerships that do prep work."
                )
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
        self.view.show(grid, self.month, self.cursor_day)
        self.cursor_day = None
        last = grid.days[-1]
        if self.month:
            span = _("weeks {first}-{last}").format(
                first=self.monday.isocalendar()[1], last=last.isocalendar()[1]
            )
            what = _("(working days; free hours)")
        else:
            span = formats.week(self.monday)
            what = _("(booked / allocated hours)")
        days = _("{first} to {last}").format(
            first=formats.day_month(self.monday), last=f"{formats.day_month(last)} {last.year}"
        )
        self.query_one("#caption", Static).update(
            f"{self.dealership_name} · {span} · {days}  {what}"
        )
        self.query_one("#legend", Static).update(self.legend())
        self._describe_cell()

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches(
            "resource_capacities",
            "resource_bookings",
            "resource_types",
            "users",
            "dealership",
            "cars",
        ):
            self.load()

    def on_screen_resume(self) -> None:
        if self.grid is not None:
            self.load()

    @on(CapacityGridView.Moved)
    def _describe_cell(self) -> None:
        if self.view.days:
            self.query_one("#days", Static).update(self.view.titles_line(local_today()))
        row, day, cell = self.view.current_row, self.view.current_day, self.view.current_cell
        if row is None or day is None:
            self.query_one("#cell", Static).update("")
            return
        who = _("team") if row.user_id is None else row.label
        work = next(
            (
                r.name
                for r in (self.grid.rows if self.grid else [])
                if r.resource_type_id == row.resource_type_id
            ),
            "",
        )
        if cell is None:
            what = _("no capacity set")
        elif cell.load == "over":
            what = _("{used} booked of {allocated}: OVERBOOKED by {over}").format(
                used=formats.hours(cell.used),
                allocated=formats.hours(cell.allocated),
                over=formats.hours(cell.used - cell.allocated),
            )
        else:
            what = _("{used} booked of {allocated}, {free} free").format(
                used=formats.hours(cell.used),
                allocated=formats.hours(cell.allocated),
                free=formats.hours(cell.available),
            )
        self.query_one("#cell", Static).update(f"{work} · {who} · {formats.day(day)}: {what}")

    # -- moving around ---------------------------------------------------------------------------
    def action_week(self, delta: int) -> None:
        self.monday += timedelta(weeks=delta * (4 if self.month else 1))
        self.load()

    def action_today(self) -> None:
        self.monday = iso_week_bounds(local_today())[0]
        self.cursor_day = local_today()
        self.load()

    def action_toggle_month(self) -> None:
        self.month = not self.month
        # the same day when the other view shows it (four weeks: its working days only)
        self.cursor_day = self.view.current_day
        if self.cursor_day is not None and not self.month:
            self.monday = iso_week_bounds(self.cursor_day)[0]
        self.load()

    def action_dealership(self) -> None:
        from screens.dialogs import ChoiceDialog

        if len(self.choices) < 2:
            self.notify(_("You plan one prep center only."))
            return

        def chosen(key: str | None) -> None:
            if key is not None:
                self.dealership_id = int(key)
                self.load()

        self.app.push_screen(
            ChoiceDialog(
                _("Capacity of which prep center?"), [(str(d), n) for d, n in self.choices]
            ),
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
                    _("That day is past: capacity is set for today and later."), severity="warning"
                )
                event.stop()
                return
            who = _("team") if row.user_id is None else row.label
            bar = self.query_one("#edit-bar")
            self.query_one("#edit-label", Label).update(
                _("Hours for {work} · {who} · {day}:").format(
                    work=self._work_name(row), who=who, day=formats.day(day)
                )
            )
            edit = self.query_one("#edit", Input)
            edit.value = event.character
            bar.add_class("visible")
            ready_to_save(self)
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
        # the box stays open with what was typed until the hours are saved: a failure (a refusal,
        # a full disk) leaves it there to correct or to try again
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
            self.app.call_from_thread(self.action_cancel_edit)
            self.app.call_from_thread(
                self._propose_cut, dealership_id, resource_type_id, day, user_id, hours, str(cut)
            )
            return
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.app.call_from_thread(self.action_cancel_edit)
        label = _("a day off") if hours == 0 else formats.hours(hours)
        self.app.call_from_thread(self.notify, f"{formats.day(day)}: {label}.")
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
            lambda _result: self.load(),
        )

    # -- the cell's bookings, booking, pattern ----------------------------------------------------
    def action_cell_bookings(self) -> None:
        from screens.schedule import CellBookingsDialog

        row, day = self.view.current_row, self.view.current_day
        if row is None or day is None or self.dealership_id is None:
            return
        who = _("team") if row.user_id is None else row.label
        self.app.push_screen(
            CellBookingsDialog(
                self.ctx,
                self.dealership_id,
                row.resource_type_id,
                day,
                row.user_id,
                f"{self._work_name(row)} · {who} · {formats.day_year(day)}",
            ),
            lambda _result: self.load(),
        )

    def action_book(self) -> None:
        from screens.booking import BookingDialog

        row, day = self.view.current_row, self.view.current_day
        if row is None or day is None:
            return
        day = max(day, local_today())
        user_id = row.user_id
        if user_id is not None and day in row.cells:
            cell = row.cells[day]
            if cell is None or cell.allocated <= 0:
                # a day off (0 h) or no hours set: the form cannot book this person; it offers
                # the people with room instead, and says so here rather than silently
                if cell is not None:
                    said = _(
                        "{person} has no hours on {day} (a day off): the form offers whoever "
                        "has room. To book {person}, give them hours that day first (type a "
                        "number on their cell)."
                    )
                else:
                    said = _(
                        "{person} has no hours on {day}: the form offers whoever has room. To "
                        "book {person}, give them hours that day first (type a number on their "
                        "cell)."
                    )
                self.notify(
                    said.format(person=row.label, day=formats.day(day)),
                    severity="warning",
                    timeout=10,
                )
                user_id = None
        self.app.push_screen(
            BookingDialog(
                self.ctx,
                provider_id=self.dealership_id,
                resource_type_id=row.resource_type_id,
                day=day,
                user_id=user_id,
            ),
            lambda _result: self.load(),
        )

    def action_pattern(self) -> None:
        from screens.schedule import pattern_dialog, pattern_done

        row = self.view.current_row
        if row is None or self.dealership_id is None:
            return
        who = _("team") if row.user_id is None else row.label
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
