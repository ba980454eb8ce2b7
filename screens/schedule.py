"""The coordinator's work on bookings: a cell's bookings (confirm, reassign, move, cancel,
no-show, decline), the sharing requests queue, the sharing view, a capacity cut that moves
bookings, and the weekly pattern.  Every change goes through the ledger in ``db``."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen

from db import formats
from db.clock import iso_week_bounds, local_today
from db.errors import PrepfloorError
from db.i18n import N_, _, ngettext
from db.vocab import BOOKING_STATUS_LABELS
from screens.car_records import RecordsDialog
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static, ready_to_save

if TYPE_CHECKING:
    from db.grid import BookingRow, UsageRow

BOOKING_STYLE = {
    "scheduled": "yellow",
    "confirmed": "green",
    "in_progress": "bold cyan",
    "completed": "dim green",
    "cancelled": "dim",
    "no_show": "dim red",
}
CROSS_LIMIT = 500  # an admin's weeks hold thousands; the first ones are what is read
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
A_MONDAY = date(2024, 1, 1)  # the weekdays' names: the days of its week


def status_word(status: str) -> str:
    """A booking's status in a list: ``in progress``."""
    return BOOKING_STATUS_LABELS.get(status, status.replace("_", " ")).lower()


def booking_columns(with_day: bool = False) -> list[Column]:
    """A list of bookings: the day, car, work, hours, whom it is for and its status stay; as the
    terminal narrows the start time goes first, then the person."""
    columns = [
        Column("car", "Car", 18, flex=2, least=14),
        Column("work", "Work", 12, flex=1, least=10),
        Column("person", "Person", 12, flex=1, least=10, drop=2),
        Column("start", "Start", 5, drop=1),
        Column("hours", "Hours", 5, right=True),
        Column("for", "For", 12, flex=1, least=10),
        Column("status", "Status", 11),
    ]
    if with_day:
        columns.insert(0, Column("day", "Day", 13, least=10))  # ons. 31. des.
    return columns


def booking_cells(row: BookingRow, with_day: bool = False) -> list[CellValue]:
    cells: list[CellValue] = [
        row.car_label or "—",
        row.work,
        row.person or "—",
        formats.clock(row.start_time) if row.start_time else "",
        formats.number(row.estimated_hours),
        row.consumer + (f" (p{row.priority})" if row.priority is not None else ""),
        Cell(status_word(row.status), BOOKING_STYLE.get(row.status, "")),
    ]
    if with_day:
        cells.insert(0, formats.day(row.date))
    return cells


class BookingActions:
    """What a coordinator does to the highlighted booking of a list (mixed into its screen)."""

    ctx: SessionContext

    def on_mount(self) -> None:
        ready_to_save(self)  # its keys confirm, move, reassign or cancel bookings

    def booking(self) -> BookingRow | None:
        raise NotImplementedError

    def after_change(self) -> None:
        raise NotImplementedError

    def _run(self, fn: Any, *args: Any, done: str, **kwargs: Any) -> None:
        self._run_in_thread(fn, args, kwargs, done)

    @work(thread=True, group="booking-change", exit_on_error=False)
    def _run_in_thread(
        self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], done: str
    ) -> None:
        app = self.app  # type: ignore[attr-defined]
        try:
            self.ctx.store.run(fn, self.ctx.actor, *args, **kwargs)
        except PrepfloorError as refusal:
            app.call_from_thread(app.notify, str(refusal), severity="error", timeout=10)
        else:
            app.call_from_thread(app.notify, done)
        app.call_from_thread(self.after_change)

    def action_confirm(self) -> None:
        from db import ledger

        row = self.booking()
        if row is not None:
            self._run(ledger.confirm, row.id, done=_("Confirmed: {car}.").format(car=row.car_label))

    def _reason(self, title: str, save: Any) -> None:
        fields = [FormField("reason", _("Why *"), _("e.g. customer moved the date"))]
        self.app.push_screen(  # type: ignore[attr-defined]
            FormDialog(title, fields, lambda values: save(values["reason"])),
            lambda result: self.after_change(),
        )

    def action_cancel_booking(self) -> None:
        self._close(no_show=False)

    def action_no_show(self) -> None:
        self._close(no_show=True)

    def _close(self, *, no_show: bool) -> None:
        """Cancel the highlighted booking or mark it no-show, with a reason (ledger.cancel)."""
        from db import ledger

        row = self.booking()
        if row is None:
            return
        day = formats.day(row.date)
        if no_show:
            title = _("No-show: {car} on {day}").format(car=row.car_label, day=day)
        else:
            title = _("Cancel {work} for {car} on {day}").format(
                work=row.work, car=row.car_label, day=day
            )
        self._reason(
            title,
            lambda reason: self.ctx.store.run(
                ledger.cancel,
                self.ctx.actor,
                row.id,
                reason=reason,
                no_show=no_show,
                expected_status=row.status,
            ),
        )

    def action_decline(self) -> None:
        from db import scheduling

        row = self.booking()
        if row is None:
            return
        self._reason(
            _("Decline the request of {consumer} for {car}").format(
                consumer=row.consumer, car=row.car_label
            ),
            lambda reason: self.ctx.store.run(
                scheduling.decline, self.ctx.actor, row.id, reason=reason
            ),
        )

    def action_move_booking(self) -> None:
        from db import ledger, validate

        row = self.booking()
        if row is None:
            return
        fields = [
            FormField(
                "date",
                _("New day *"),
                _("2026-12-04 or 04.12.2026"),
                value=formats.date_field(row.date),
            ),
            FormField(
                "start_time",
                _("Start"),
                "08:00",
                value=formats.clock(row.start_time) if row.start_time else "",
            ),
        ]

        def save(values: dict[str, Any]) -> Any:
            day = validate.parse_date(values["date"], "date")
            start = validate.parse_time(values["start_time"], "start_time")
            return self.ctx.store.run(
                ledger.move,
                self.ctx.actor,
                row.id,
                date=day,
                start_time=start,
                expected_status=row.status,
            )

        self.app.push_screen(  # type: ignore[attr-defined]
            FormDialog(
                _("Move {work} for {car}").format(work=row.work, car=row.car_label),
                fields,
                save,
                intro=_("A day without room is refused with the nearest day that has room."),
            ),
            lambda result: self.after_change(),
        )

    def action_reassign(self) -> None:
        row = self.booking()
        if row is not None:
            self._people(row)

    @work(thread=True, group="booking-people", exit_on_error=False)
    def _people(self, row: BookingRow) -> None:
        from db import grid

        people = grid.people_with_room(
            self.ctx.store.fast,
            row.provider_dealership_id,
            row.resource_type_id,
            row.date,
            row.estimated_hours,
        )
        self.app.call_from_thread(self._choose_person, row, people)  # type: ignore[attr-defined]

    def _choose_person(self, row: BookingRow, people: list[tuple[str, str, float]]) -> None:
        from db import ledger
        from screens.dialogs import ChoiceDialog

        names = {uid: name for uid, name, _free in people}
        choices = [
            (uid, _("{name} ({hours} free)").format(name=name, hours=formats.hours(free)))
            for uid, name, free in people
            if uid != row.user_id
        ]
        if not choices:
            self.app.notify(  # type: ignore[attr-defined]
                _("Nobody else has {hours} free on {day}.").format(
                    hours=formats.hours(row.estimated_hours), day=formats.day(row.date)
                ),
                severity="warning",
            )
            return

        def chosen(uid: str | None) -> None:
            if uid is not None:
                self._run(
                    ledger.move,
                    row.id,
                    user_id=uuid.UUID(uid),
                    expected_status=row.status,
                    done=_("{car}: now {name}.").format(car=row.car_label, name=names[uid]),
                )

        self.app.push_screen(  # type: ignore[attr-defined]
            ChoiceDialog(
                _("Give {work} for {car} to:").format(work=row.work, car=row.car_label),
                choices,
                saves=True,
            ),
            chosen,
        )


class CellBookingsDialog(BookingActions, RecordsDialog):
    """The bookings of one grid cell."""

    BINDINGS = [
        Binding("c", "confirm", "Confirm"),
        Binding("a", "reassign", "Reassign"),
        Binding("m", "move_booking", "Move"),
        Binding("x", "cancel_booking", "Cancel"),
        Binding("n", "no_show", "No-show"),
        Binding("d", "decline", "Decline"),
        Binding("escape", "close", "Close"),
    ]
    TITLE_TEXT = N_("Bookings")
    EMPTY = N_("No bookings here. b on the grid books work.")
    NOTE = N_("Enter opens the car · every change frees or moves the hours at once")

    def __init__(
        self,
        ctx: SessionContext,
        dealership_id: int,
        resource_type_id: int,
        day: date,
        user_id: str | None,
        title: str,
    ) -> None:
        super().__init__(ctx, 0, title)
        # the dialog draws these as they are: in the reader's language
        self.TITLE_TEXT = _(type(self).TITLE_TEXT)
        self.EMPTY = _(type(self).EMPTY)
        self.NOTE = _(type(self).NOTE)
        self.dealership_id = dealership_id
        self.resource_type_id = resource_type_id
        self.day = day
        self.user_id = user_id

    def columns(self) -> list[Column]:
        return booking_columns()

    def cells(self, row: BookingRow) -> list[CellValue]:
        return booking_cells(row)

    def fetch(self) -> list[Any]:
        from db import grid

        return grid.cell_bookings(
            self.ctx.store.fast, self.dealership_id, self.resource_type_id, self.day, self.user_id
        )

    def booking(self) -> BookingRow | None:
        return self.table.current

    def after_change(self) -> None:
        self.load()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        if event.row.car_id is not None:
            self.app.open_car(event.row.car_id)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        self.dismiss(None)


class RequestsScreen(BookingActions, Screen[None]):
    """Requests from consumer dealerships waiting at this provider: by priority, then age."""

    BINDINGS = [
        Binding("c", "confirm", "Confirm"),
        Binding("d", "decline", "Decline"),
        Binding("a", "reassign", "Reassign"),
        Binding("m", "move_booking", "Move"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    RequestsScreen #note { padding: 1 1 0 1; color: $text-muted; height: auto; }
    """

    def __init__(self, ctx: SessionContext, provider_id: int, provider_name: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.provider_id = provider_id
        self.provider_name = provider_name

    def compose(self) -> ComposeResult:
        yield AppHeader(
            self.ctx,
            _("Coordinator · Requests to {dealership}").format(dealership=self.provider_name),
        )
        yield Static(
            _(
                "Bookings other dealerships asked for, highest agreement priority first, then the "
                "oldest. c confirms, d declines with a reason; Enter opens the car."
            ),
            id="note",
        )
        header = TableHeader()
        yield header
        yield RowTable(
            booking_columns(with_day=True),
            lambda row: booking_cells(row, with_day=True),
            header=header,
            empty=_("No requests waiting."),
        )
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(RowTable).focus()
        self.load()

    @work(thread=True, exclusive=True, group="requests", exit_on_error=False)
    def load(self) -> None:
        from db import grid

        rows = grid.sharing_queue(self.ctx.store.fast, self.ctx.actor, self.provider_id)
        self.app.call_from_thread(self.query_one(RowTable).set_rows, rows)

    def booking(self) -> BookingRow | None:
        return self.query_one(RowTable).current

    def after_change(self) -> None:
        self.load()

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("resource_bookings", "cars", "resource_sharing", "users"):
            self.load()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        if event.row.car_id is not None:
            self.app.open_car(event.row.car_id)  # type: ignore[attr-defined]


class SharingScreen(Screen[None]):
    """Per agreement and ISO week: hours booked against the cap; and the cross-dealership
    bookings of those weeks (for coordinators and for the managers of both sides)."""

    BINDINGS = [
        Binding("left_square_bracket", "weeks(-1)", "Earlier", key_display="["),
        Binding("right_square_bracket", "weeks(1)", "Later", key_display="]"),
        Binding("tab", "app.focus_next", "Other list", show=False),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    SharingScreen .caption { padding: 1 1 0 1; text-style: bold; height: auto; }
    SharingScreen #usage { height: 2fr; }
    SharingScreen #cross { height: 3fr; }
    """
    WEEKS = 4

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.monday = iso_week_bounds(local_today())[0]

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Sharing between dealerships"))
        yield Static("", id="usage-caption", classes="caption", markup=False)
        usage_header = TableHeader()
        yield usage_header
        yield RowTable(  # at 80 columns the agreement's priority goes
            [
                Column("provider", "Done at", 16, flex=1, least=12),
                Column("consumer", "For", 16, flex=1, least=12),
                Column("work", "Work", 14, flex=1, least=10),
                Column("week", "Week", 9),
                Column("booked", "Booked / cap", 14, right=True),
                Column("priority", "Priority", 8, right=True, drop=1),
                Column("state", "", 11),
            ],
            self.usage_cells,
            header=usage_header,
            empty=_("No sharing agreements you can see."),
            id="usage",
        )
        yield Static(_("Cross-dealership bookings of these weeks"), classes="caption")
        cross_header = TableHeader()
        yield cross_header
        yield RowTable(
            booking_columns(with_day=True),
            lambda row: booking_cells(row, with_day=True),
            header=cross_header,
            empty=_("No cross-dealership bookings in these weeks."),
            id="cross",
        )
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#usage", RowTable).focus()
        self.load()

    def usage_cells(self, row: UsageRow) -> list[CellValue]:
        share = row.booked / row.max_hours_per_week if row.max_hours_per_week else 1.0
        if not row.enabled:
            state = Cell(_("disabled"), "dim")
        elif row.booked > row.max_hours_per_week:
            state = Cell(_("over cap"), "bold white on red")
        elif share >= 0.9:
            state = Cell(_("nearly full"), "bold yellow")
        else:
            state = Cell("", "")
        return [
            row.provider,
            row.consumer,
            row.work,
            _("W{week} {day}").format(
                week=row.week_monday.isocalendar()[1],
                day=formats.numeric_day(row.week_monday).rstrip("."),  # nine cells: W52 31/12
            ),
            f"{formats.number(row.booked)} / {formats.hours(row.max_hours_per_week)}",
            str(row.priority),
            state,
        ]

    @work(thread=True, exclusive=True, group="sharing", exit_on_error=False)
    def load(self) -> None:
        from db import grid

        fast, actor = self.ctx.store.fast, self.ctx.actor
        usage = grid.sharing_usage(fast, actor, self.monday, self.WEEKS)
        last = self.monday + timedelta(weeks=self.WEEKS) - timedelta(days=1)
        cross = grid.cross_bookings(fast, actor, self.monday, last, limit=CROSS_LIMIT)
        self.app.call_from_thread(self._show, usage, cross, last)

    def _show(self, usage: list[UsageRow], cross: list[BookingRow], last: date) -> None:
        self.query_one("#usage-caption", Static).update(
            _("Hours booked against each agreement's weekly cap · {first} to {last}").format(
                first=formats.day_month(self.monday),
                last=f"{formats.day_month(last)} {last.year}",
            )
        )
        self.query_one("#usage", RowTable).set_rows(usage)
        self.query_one("#cross", RowTable).set_rows(cross)

    def action_weeks(self, direction: int) -> None:
        self.monday += timedelta(weeks=direction * self.WEEKS)
        self.load()

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("resource_sharing", "resource_bookings", "dealership", "resource_types"):
            self.load()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        car_id = getattr(event.row, "car_id", None)
        if car_id is not None:
            self.app.open_car(car_id)  # type: ignore[attr-defined]


class CutDialog(ModalScreen[None]):
    """Lowering capacity below what is booked: choose the bookings to move (the lowest-priority
    consumer's are proposed first); each goes to the nearest day with room, in one transaction."""

    BINDINGS = [
        Binding("space", "toggle", "Move / keep"),
        Binding("ctrl+s", "apply", "Move and set"),
        Binding("escape", "cancel", "Keep as it is"),
    ]
    DEFAULT_CSS = """
    CutDialog { align: center middle; }
    CutDialog > Vertical { width: 104; max-width: 100%; height: 26; max-height: 100%;
        border: thick $warning; background: $surface; padding: 0 1; }
    CutDialog #title { text-style: bold; padding: 1 1 0 1; height: auto; }
    CutDialog #note { color: $text-muted; padding: 0 1 1 1; height: auto; }
    CutDialog RowTable { height: 1fr; }
    """

    def __init__(
        self,
        ctx: SessionContext,
        dealership_id: int,
        resource_type_id: int,
        day: date,
        user_id: str | None,
        hours: float,
        message: str,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.args = dict(
            dealership_id=dealership_id,
            resource_type_id=resource_type_id,
            day=day,
            user_id=uuid.UUID(user_id) if user_id else None,
            allocated_hours=hours,
        )
        self.message = message
        self.chosen: set[int] = set()
        self.lines: list[Any] = []

    def compose(self) -> ComposeResult:
        header = TableHeader()
        with Vertical():
            yield Static(self.message, id="title", markup=False)
            yield Static(
                _(
                    "To set {hours}, bookings must move. The lowest priority ones are proposed "
                    "(✓). Space changes the choice; ctrl+s moves them to their nearest day with "
                    "room and sets the hours; Escape changes nothing."
                ).format(hours=formats.hours(self.args["allocated_hours"])),
                id="note",
                markup=False,
            )
            yield header
            yield RowTable(
                [
                    Column("move", "Move", 5),
                    Column("car", "Car", 20, flex=2, least=16),
                    Column("for", "For", 16, flex=1, least=12),
                    Column("priority", "Priority", 8, right=True),
                    Column("hours", "Hours", 5, right=True),
                    Column("status", "Status", 11),
                ],
                self.cells,
                header=header,
                empty=_("Nothing to move."),
            )
        yield AppFooter()

    def cells(self, line: Any) -> list[CellValue]:
        mark = Cell("✓", "bold green") if line.id in self.chosen else ""
        return [
            mark,
            line.car_label,
            line.consumer,
            "" if line.priority is None else str(line.priority),
            formats.number(line.hours),
            status_word(line.status),
        ]

    def on_mount(self) -> None:
        self.query_one(RowTable).focus()
        self.load()

    @work(thread=True, group="cut", exit_on_error=False)
    def load(self) -> None:
        from db import scheduling

        lines = self.ctx.store.query(scheduling.cut_proposal, self.ctx.actor, **self.args)
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[Any]) -> None:
        self.lines = lines
        self.chosen = {line.id for line in lines if line.proposed}
        self.query_one(RowTable).set_rows(lines)

    def action_toggle(self) -> None:
        line = self.query_one(RowTable).current
        if line is None:
            return
        if line.status not in ("scheduled", "confirmed"):
            self.notify(_("Work that has started stays where it is."), severity="warning")
            return
        self.chosen ^= {line.id}
        self.query_one(RowTable).refresh()

    def action_apply(self) -> None:
        self._apply(sorted(self.chosen))

    @work(thread=True, group="cut", exit_on_error=False)
    def _apply(self, move: list[int]) -> None:
        from db import scheduling

        try:
            moved = self.ctx.store.run(
                scheduling.cut_capacity, self.ctx.actor, move=move, **self.args
            )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        hours = formats.hours(self.args["allocated_hours"])
        if moved:
            days = ", ".join(formats.day(d) for _booking, d in moved)
            text = _("Set {hours}; moved to {days}.").format(hours=hours, days=days)
        else:
            text = _("Set {hours}.").format(hours=hours)
        self.app.call_from_thread(self.notify, text)
        self.app.call_from_thread(self.dismiss, None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def pattern_dialog(
    ctx: SessionContext,
    dealership_id: int,
    resource_type_id: int,
    user_id: str | None,
    title: str,
    first: date,
) -> FormDialog:
    """A weekly pattern (hours per weekday) for the coming weeks, stored as recurrence_pattern."""
    from db import scheduling

    fields = [
        FormField(
            day,
            formats.weekday(A_MONDAY + timedelta(days=i)).capitalize(),
            _("hours (blank: leave as is)"),
            value="",
        )
        for i, day in enumerate(WEEKDAYS)
    ]
    fields += [
        FormField("weeks", _("Weeks *"), value="6"),
        FormField("first", _("From *"), value=formats.date_field(first)),
    ]

    def save(values: dict[str, Any]) -> Any:
        from db import validate
        from db.errors import Invalid

        weekdays = {i: values[day] for i, day in enumerate(WEEKDAYS) if values[day].strip()}
        if not weekdays:
            raise Invalid(_("Give the hours of at least one weekday."), "mon")
        try:
            weeks = int(values["weeks"])
        except ValueError:
            raise Invalid(_("Weeks: a number from 1 to 52."), "weeks") from None
        start = validate.parse_date(values["first"], "first") or first
        return ctx.store.run(
            scheduling.apply_pattern,
            ctx.actor,
            dealership_id=dealership_id,
            resource_type_id=resource_type_id,
            user_id=uuid.UUID(user_id) if user_id else None,
            weekdays=weekdays,
            first=start,
            weeks=weeks,
        )

    return FormDialog(
        _("Weekly pattern · {title}").format(title=title),
        fields,
        save,
        intro=_(
            "e.g. Mon-Fri 16, Sat and Sun blank. Days with more booked than the new hours are "
            "left as they are and listed."
        ),
    )


def pattern_done(app: Any, result: Any) -> None:
    """Say what a pattern did (and which days it left alone)."""
    if result is None:
        return
    count = len(result.days_set)
    text = ngettext("Set {n} day.", "Set {n} days.", count).format(n=count)
    if result.skipped:
        days = ", ".join(
            _("{day} ({hours} booked)").format(day=formats.day(d), hours=formats.hours(h))
            for d, h in result.skipped[:6]
        )
        text = _("{done} Left alone, more is booked: {days}.").format(done=text, days=days)
    app.notify(text, timeout=10)
