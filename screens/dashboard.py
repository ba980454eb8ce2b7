"""The manager's dashboard (``f6``): where cars are stuck and how the prep centers are loaded, for
the manager's dealership and its branches over 7, 30 or 90 days.

One tab per table of :func:`db.dashboard.dashboard` (``←`` ``→`` move between them); Enter on a
row lists the cars or bookings behind it (Enter there opens the car); ``p`` the period, ``g``
another dealership (a branch, or any for an admin), ``e`` writes the table as CSV, ``u`` the
sharing view.  The figures follow the change feed (at most once every five seconds, less often
for a scope whose figures take long to add up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from db import formats
from db.dashboard import LEVEL_WORDS, PERIODS, Behind, Row, Table, format_value
from db.errors import PrepfloorError
from db.i18n import N_, _, ngettext
from db.sla import SLA_LABELS
from db.vocab import BOOKING_STATUS_LABELS, CAR_STATUS_LABELS
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static

if TYPE_CHECKING:
    from db.dashboard import Col, Dashboard
    from db.fast import CarRow
    from db.grid import BookingRow

LEVEL_STYLE = {"green": "green", "yellow": "bold yellow", "red": "bold red", "": ""}
LEVEL_MARK = {"green": "●", "yellow": "●", "red": "●", "": " "}
REFRESH_SECONDS = 5.0  # the change feed redraws the figures at most this often
REFRESH_SHARE = 20  # and waits at least this many times as long as they took to add up


def _drops(columns: Sequence[Col]) -> list[int]:
    """The order in which a figure table's columns go as the terminal narrows: the first (what
    a row is about) stays; the others go from the right (a table reads left to right, its later
    columns say less: next week's workload goes before this week's), a week's columns together
    (``W50 capacity`` and ``W50 booked``)."""
    drops = [0] * len(columns)
    step = 0
    for index in range(len(columns) - 1, 0, -1):
        week = _week_of(columns[index].csv_title)  # the English title: W50 in any language
        if not (
            week and index + 1 < len(columns) and week == _week_of(columns[index + 1].csv_title)
        ):
            step += 1
        drops[index] = step
    return drops


def _week_of(title: str) -> str:
    first = title.split(" ", 1)[0]
    return first if len(first) > 1 and first[0] == "W" and first[1:].isdigit() else ""


def _column(index: int, col: Col, drop: int) -> Column:
    """A figure table's column (``drop``: see :func:`_drops`); its title comes translated."""
    key = f"c{index}"
    if index == 0:
        return Column(key, col.title, 18, flex=2, least=12)
    if col.kind == "bar":
        return Column(key, col.title, 12, flex=3, drop=drop)
    if col.kind == "name":
        return Column(key, col.title, 12, flex=1, least=10, drop=drop)
    if col.kind == "text":
        return Column(key, col.title, max(len(col.title), 9), drop=drop)
    return Column(key, col.title, max(len(col.title), 7), right=True, drop=drop)


class FigureTable(RowTable[Row]):
    """One dashboard table: a level mark, then its columns; Enter opens what is behind a row.
    Left and right move between the tables (a wide table does not scroll sideways)."""

    BINDINGS = [
        Binding("left", "screen.tab(-1)", "Previous table", show=False),
        Binding("right", "screen.tab(1)", "Tables", key_display="←→"),
    ]

    def __init__(self, table: Table, header: TableHeader) -> None:
        self.spec = table
        super().__init__(
            self.columns_of(table),
            self.row_cells,
            sort_key=self.sort_value,
            row_key=lambda row: row.values[0:4],
            header=header,
            empty=_("Nothing in this period."),
            id=f"table-{table.key}",
        )

    @staticmethod
    def columns_of(table: Table) -> list[Column]:
        drops = _drops(table.columns)
        return [Column("level", "", 1)] + [
            _column(i, c, drops[i]) for i, c in enumerate(table.columns)
        ]

    def show(self, table: Table) -> None:
        """New figures of the same table (a week later its workload titles change too)."""
        self.spec = table
        self.columns = self.columns_of(table)
        self.set_rows(table.rows)
        self._show_titles()

    def row_cells(self, row: Row) -> list[CellValue]:
        cells: list[CellValue] = [Cell(LEVEL_MARK[row.level], LEVEL_STYLE[row.level])]
        for col, value in zip(self.spec.columns, row.values, strict=True):
            style = "cyan" if col.kind == "bar" else ""
            cells.append(Cell(format_value(col.kind, value), style))
        if row.short:  # the first value in a word or two, where the whole does not fit
            cells[1] = cells[1]._replace(short=row.short)  # type: ignore[union-attr]
        return cells

    def sort_value(self, row: Row, key: str) -> Any:
        if key == "level":
            return ("green", "yellow", "red").index(row.level) if row.level else -1
        return row.values[int(key[1:])]


class DashboardScreen(Screen[None]):
    BINDINGS = [
        Binding("left", "tab(-1)", "Previous table", show=False),
        Binding("right", "tab(1)", "Next table", show=False),
        Binding("p", "period", "Period"),
        Binding("g", "dealership", "Dealership"),
        Binding("e", "export", "Export CSV"),
        Binding("u", "sharing", "Sharing"),
    ]
    DEFAULT_CSS = """
    DashboardScreen #scope { height: 1; padding: 0 1; text-style: bold; }
    DashboardScreen #bottleneck { height: auto; max-height: 3; padding: 0 1; color: $warning; }
    DashboardScreen .note { height: auto; padding: 0 1; color: $text-muted; }
    DashboardScreen TabbedContent { height: 1fr; }
    DashboardScreen TabPane { padding: 0; }
    DashboardScreen FigureTable { overflow-x: hidden; }
    """

    def __init__(self, ctx: SessionContext, title: str = N_("Manager · Dashboard")) -> None:
        super().__init__()
        self.ctx = ctx
        self.title_text = title
        self.days = 30
        self.root_id: int | None = None
        self.data: Dashboard | None = None
        self._loaded_at = 0.0
        self._took = 0.0  # seconds the last figures took (a whole group's take a while)
        self._pending = False
        self.roots: list[tuple[int, str]] = []  # the dealerships ``g`` offers

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _(self.title_text))
        yield Static(_("Adding up…"), id="scope", markup=False)
        yield Static("", id="bottleneck", markup=False)
        yield TabbedContent(id="tabs")
        yield AppFooter()

    def on_mount(self) -> None:
        self.load()

    # -- data ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def load(self) -> None:
        from db.dashboard import dashboard, roots

        fast = self.ctx.store.fast
        started = time.monotonic()
        try:
            data = dashboard(fast, self.ctx.actor, root_id=self.root_id, days=self.days)
            if not self.roots:  # the dealerships ``g`` offers: once a screen
                self.roots = roots(fast, self.ctx.actor)
            self._took = time.monotonic() - started
        except PrepfloorError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        except Exception as error:  # the database went away: say so, keep what is shown
            self.app.call_from_thread(
                self.notify,
                _(
                    "The figures could not be read ({error}). They are read again on the next "
                    "change."
                ).format(error=error),
                severity="error",
            )
            return
        self.app.call_from_thread(self._show, data)

    async def _show(self, data: Dashboard) -> None:
        self.data = data
        self._loaded_at = time.monotonic()
        self.query_one("#scope", Static).update(
            _("{scope} · last {days} days ({first} to {last})").format(
                scope=data.scope,
                days=self.days,
                first=formats.day_month(data.first),
                last=f"{formats.day_month(data.last)} {data.last.year}",
            )
        )
        self.query_one("#bottleneck", Static).update(data.bottleneck)
        tabs = self.query_one(TabbedContent)
        if not self.query(FigureTable):
            for table in data.tables:
                header = TableHeader()
                await tabs.add_pane(
                    TabPane(
                        table.title,
                        header,
                        FigureTable(table, header),
                        Static(table.note, classes="note", markup=False),
                        id=f"pane-{table.key}",
                    )
                )
            self.query_one(f"#table-{data.tables[0].key}", FigureTable).focus()
        for table in data.tables:
            self.query_one(f"#table-{table.key}", FigureTable).show(table)
            self.query_one(f"#pane-{table.key} .note", Static).update(table.note)

    def current_table(self) -> FigureTable | None:
        pane = self.query_one(TabbedContent).active_pane
        if pane is None:
            return None
        return pane.query_one(FigureTable)

    # -- keys ------------------------------------------------------------------------------------
    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        panes = [p.id for p in tabs.query(TabPane) if p.id]
        if not panes:
            return
        at = panes.index(tabs.active) if tabs.active in panes else 0
        target = panes[(at + step) % len(panes)]
        tabs.active = target
        # focus the new table now (``focus()`` waits for the keys already typed): keys typed
        # right after the arrow belong to the table the user moved to
        self.set_focus(self.query_one(f"#{target}", TabPane).query_one(FigureTable))

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        table = self.current_table()
        if table is not None:
            table.focus()

    def action_period(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)]
        self.notify(_("Last {days} days").format(days=self.days), timeout=2)
        self.load()

    def action_dealership(self) -> None:
        from screens.dialogs import ChoiceDialog

        choices = [(str(d), name) for d, name in self.roots]
        if self.ctx.actor.all_dealerships:
            choices.insert(0, ("all", _("All dealerships")))
        if len(choices) <= 1:
            self.notify(_("You see only your own dealership."), timeout=3)
            return

        def chosen(choice: str | None) -> None:
            if choice is None:
                return
            self.root_id = None if choice == "all" else int(choice)
            self.load()

        self.app.push_screen(
            ChoiceDialog(_("Dashboard of which dealership (with its branches)?"), choices), chosen
        )

    def action_export(self) -> None:
        table = self.current_table()
        if table is None or self.data is None:
            return
        self._export(table.spec, self.data)

    @work(thread=True, group="dashboard-export", exit_on_error=False)
    def _export(self, table: Table, data: Dashboard) -> None:
        from db.dashboard import write_csv
        from screens.car_records import keep_export

        said, severity = keep_export(
            self.ctx, data.file_name(table), lambda out: write_csv(table, out)
        )
        self.app.call_from_thread(self.notify, said, severity=severity, timeout=20)

    def action_sharing(self) -> None:
        from screens.schedule import SharingScreen

        self.app.push_screen(SharingScreen(self.ctx))

    @on(RowTable.Selected)
    def _open(self, event: RowTable.Selected) -> None:
        row = event.row
        if isinstance(row, Row) and row.behind is not None:
            self.app.push_screen(BehindScreen(self.ctx, row.behind))

    # -- live ------------------------------------------------------------------------------------
    def on_data_changed(self, _event: DataChanged) -> None:
        # a busy group writes every second: a large scope's figures follow more slowly, so that
        # an open dashboard costs a twentieth of a core at most
        every = max(REFRESH_SECONDS, REFRESH_SHARE * self._took)
        wait = every - (time.monotonic() - self._loaded_at)
        if wait <= 0:
            self.load()
        elif not self._pending:
            self._pending = True
            self.set_timer(wait, self._refresh_later)

    def _refresh_later(self) -> None:
        self._pending = False
        self.load()

    def on_screen_resume(self) -> None:
        if self.data is not None:
            self.load()

    def on_screen_suspend(self) -> None:
        self._let_second_go()

    def on_unmount(self) -> None:
        self._let_second_go()

    def _let_second_go(self) -> None:
        """Left: the connection the figures' second half was read on is closed (on PostgreSQL one
        the server need not keep for this session), in a thread, since a read still under way is
        let finish first; it is opened again when the figures are next read."""
        fast = self.ctx.store.fast
        threading.Thread(target=fast.let_second_go, name="dashboard-let-go", daemon=True).start()


class BehindScreen(Screen[None]):
    """The cars or bookings behind one figure; Enter opens the car."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    BehindScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext, behind: Behind) -> None:
        super().__init__()
        self.ctx = ctx
        self.behind = behind

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, self.behind.title)
        yield Static(_("Loading…"), id="summary", markup=False)
        header = TableHeader()
        yield header
        # What stays at 80 columns: the car, its status and why it is here (cars); the day, car,
        # work, hours and status (bookings).  The dealership goes first, then the customer; for
        # bookings whom it is for, then the start time.
        if self.behind.kind == "cars":
            columns = [
                Column("car", "Car", 20, flex=2, least=16),
                Column("status", "Status", 18, least=14),
                Column("customer", "Customer", 14, flex=1, drop=2),
                Column("dealership", "Dealership", 14, flex=1, drop=1),
                Column("note", "", 22, flex=2),
            ]
            cells = self.car_cells
        else:
            columns = [
                Column("date", "Day", 13, least=10),  # ons. 31. des.
                Column("time", "Start", 5, drop=2),
                Column("car", "Car", 18, flex=2, least=14),
                Column("work", "Work", 14, flex=1, least=10),
                Column("person", "Person", 12, flex=1, least=10),
                Column("est", "Est h", 6, right=True),
                Column("act", "Act h", 6, right=True),
                Column("status", "Status", 11),
                Column("consumer", "For", 12, flex=1, drop=1),
            ]
            cells = self.booking_cells
        yield RowTable(columns, cells, header=header, empty=_("Nothing behind this figure."))
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(RowTable).focus()
        self.load()

    def car_cells(self, car: CarRow) -> list[CellValue]:
        what = " ".join(x for x in (car.brand, car.model) if x)
        ident = car.license_plate or (car.vin[-6:] if car.vin else "") or car.order_number or ""
        note = self.behind.notes.get(car.id, "")
        late = LEVEL_WORDS["red"] in note or SLA_LABELS["late"] in note
        style = "bold red" if late else ""
        return [
            f"{what} {ident}".strip(),
            CAR_STATUS_LABELS.get(car.status, car.status),
            car.customer_name or "",
            car.dealership_name,
            Cell(note, style),
        ]

    def booking_cells(self, b: BookingRow) -> list[CellValue]:
        return [
            formats.day(b.date),
            formats.clock(b.start_time) if b.start_time else "",
            b.car_label,
            b.work,
            b.person or "",
            formats.fixed(b.estimated_hours, 1),
            "" if b.actual_hours is None else formats.fixed(b.actual_hours, 1),
            BOOKING_STATUS_LABELS.get(b.status, b.status.replace("_", " ")).lower(),
            b.consumer,
        ]

    @work(thread=True, exclusive=True, group="behind", exit_on_error=False)
    def load(self) -> None:
        from db.dashboard import BEHIND_LIMIT, behind_bookings, behind_cars

        fast = self.ctx.store.fast
        try:
            if self.behind.kind == "cars":
                rows: list[Any] = behind_cars(fast, self.behind)
                total = len(self.behind.ids)
            else:
                rows = behind_bookings(fast, self.ctx.actor, self.behind)
                total = len(rows)
        except Exception as error:  # a refusal or the database gone: say which
            said = _("Could not list them: {error}").format(error=error)
            self.app.call_from_thread(self._show, [], said)
            return
        count = len(rows)
        if self.behind.kind == "cars":
            listed = ngettext("{n} car", "{n} cars", count).format(n=formats.number(count))
        else:
            listed = ngettext("{n} booking", "{n} bookings", count).format(n=formats.number(count))
        if total > count:
            listed = _("{listed} (the first {limit} of {total})").format(
                listed=listed, limit=formats.number(BEHIND_LIMIT), total=formats.number(total)
            )
        summary = _("{listed} · Enter opens the car").format(listed=listed)
        self.app.call_from_thread(self._show, rows, summary)

    def _show(self, rows: list[Any], summary: str) -> None:
        self.query_one(RowTable).set_rows(rows)
        self.query_one("#summary", Static).update(summary)

    @on(RowTable.Selected)
    def _open(self, event: RowTable.Selected) -> None:
        from screens.car_detail import CarDetailScreen

        car_id = getattr(event.row, "car_id", None) if self.behind.kind != "cars" else event.row.id
        if car_id is None:
            self.notify(_("This booking has no car."), timeout=3)
            return
        self.app.push_screen(CarDetailScreen(self.ctx, int(car_id)))
