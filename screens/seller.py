"""Seller mode: my cars (status, time in stage, next work, parts, SLA, unread notes), with a filter,
search as you type and sorting; ``n`` starts a new car, Enter opens one (a draft opens its form)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db import formats
from db.clock import local_today, utcnow
from db.fast import MY_CARS_LIMIT, MyCarRow
from db.i18n import N_, Labels, _, ngettext
from db.sla import SLA_LABELS, sla_state
from db.vocab import CAR_STATUS_LABELS, CAR_STATUSES
from screens.carlist import STATUS_STYLE
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Input, SearchBoxKeys, Static

SLA_STYLE = {"on_time": "green", "at_risk": "bold yellow", "late": "bold red", "none": "dim"}
WORK_WORDS = Labels({"technical": N_("Tech"), "cosmetic": N_("Cosm")})

# The filter key's choices: a status, or one of these views (their names: N_(), drawn with _()).
VIEWS: dict[str, tuple[str, Callable[[MyCarRow, date], bool]]] = {
    "all": (N_("All my cars"), lambda r, today: True),
    "waiting_parts": (N_("Waiting on parts"), lambda r, today: r.parts_waiting),
    "sla": (
        N_("Late or at risk"),
        lambda r, today: _sla(r, today) in ("late", "at_risk"),
    ),
    "unread": (N_("With unread notifications"), lambda r, today: r.unread > 0),
}


def _sla(row: MyCarRow, today: date) -> str:
    return sla_state(row.status, row.expected_delivery_date, row.delivered_to_customer_at, today)


def matches(row: MyCarRow, text: str) -> bool:
    """Search as you type: every word in the VIN, plate, order, customer or car."""
    haystack = " ".join(
        x or ""
        for x in (
            row.vin,
            row.license_plate,
            (row.license_plate or "").replace(" ", ""),
            row.order_number,
            row.customer_name,
            row.brand,
            row.model,
        )
    ).lower()
    return all(word in haystack for word in text.lower().split())


def next_work_text(row: MyCarRow) -> str:
    if row.next_work is None:
        return ""
    kind, day, start = row.next_work
    return f"{WORK_WORDS[kind]} {formats.numeric_day(day)}" + (
        f" {formats.clock(start)}" if start else ""
    )


class MyCarsTable(RowTable[MyCarRow]):
    pass


class MyCarsScreen(SearchBoxKeys, Screen[None]):
    """The seller's own cars (a manager: the dealership's), archived left out."""

    BINDINGS = [
        Binding("n", "app.new_car", "New car", show=False),
        Binding("slash", "search", "Search"),
        Binding("f", "filter", "Filter"),
        Binding("m", "customer_messages", "Customer messages"),
        Binding("escape", "leave_search", "Back to list", show=False),
    ]
    DEFAULT_CSS = """
    MyCarsScreen #search { margin: 0 1; }
    MyCarsScreen #summary { height: 1; padding: 0 2; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext, title: str = N_("Seller · My cars")) -> None:
        super().__init__()
        self.ctx = ctx
        self.title_text = title
        self.view = "all"
        self.search_text = ""
        self.loaded = False
        self.capped = False
        self.today = local_today()

    def columns(self) -> list[Column]:
        """What matters most stays at 80 columns: status, plate, customer, the next work, parts,
        SLA and unread notes.  As the terminal narrows the order number goes first, then the
        seller (a manager's list), the time in stage, and the car's brand and model."""
        columns = [
            Column("status", "Status", 18, least=14),
            Column("plate", "Plate", 8),
            Column("car", "Car", 12, flex=2, least=10, drop=4),
            Column("customer", "Customer", 12, flex=2, least=10),
            Column("order", "Order", 10, drop=1),
            Column("stage", "In stage", 8, drop=3),
            Column("next", "Next work", 16),
            Column("parts", "Parts", 7),
            Column("sla", "SLA", 7),
            Column("unread", "New", 3, right=True),
        ]
        if self.ctx.actor.role != "seller":
            columns.insert(4, Column("seller", "Seller", 8, flex=1, drop=2))
        return columns

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _(self.title_text))
        yield Input(
            id="search",
            placeholder=_("Search my cars: VIN, plate, order, customer, brand or model"),
        )
        yield Static(_("Loading…"), id="summary")
        header = TableHeader()
        yield header
        yield MyCarsTable(
            self.columns(),
            self.cells,
            sort_key=self.sort_key,
            header=header,
            empty=_("No cars here. n registers a new car."),
            id="my-cars",
        )
        yield AppFooter()

    @property
    def table(self) -> MyCarsTable:
        return self.query_one(MyCarsTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    # -- data ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="my-cars", exit_on_error=False)
    def load(self) -> None:
        rows = self.ctx.store.fast.my_cars(self.ctx.actor)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: Sequence[MyCarRow]) -> None:
        self.loaded = True
        self.today = local_today()
        self.capped = len(rows) >= MY_CARS_LIMIT
        self.table.set_rows(rows)
        self._apply_filter(keep_cursor=True)

    def _apply_filter(self, keep_cursor: bool = False) -> None:
        view = VIEWS.get(self.view)
        status = None if view else self.view
        text = self.search_text
        today = self.today

        def keep(row: MyCarRow) -> bool:
            if status is not None and row.status != status:
                return False
            if view is not None and not view[1](row, today):
                return False
            return not text or matches(row, text)

        if keep_cursor:
            self.table.filter = keep
            self.table.set_rows(self.table.all_rows)
        else:
            self.table.set_filter(keep)
        self._summary()

    def _summary(self) -> None:
        shown, total = len(self.table.rows), len(self.table.all_rows)
        view = _(VIEWS[self.view][0]) if self.view in VIEWS else CAR_STATUS_LABELS[self.view]
        if self.search_text:
            cars = ngettext(
                '{shown} of {total} cars matching "{search}"',
                '{shown} of {total} cars matching "{search}"',
                total,
            )
        else:
            cars = ngettext("{shown} of {total} cars", "{shown} of {total} cars", total)
        cars = cars.format(
            shown=formats.number(shown, 0), total=formats.number(total, 0), search=self.search_text
        )
        if self.capped:
            view += " " + _("(newest {limit}: search the car list, F2, for older)").format(
                limit=formats.number(MY_CARS_LIMIT, 0)
            )
        text = f"{cars} · {view} · " + _("f: filter · 1-9: sort")
        self.query_one("#summary", Static).update(text)

    def cells(self, row: MyCarRow) -> list[CellValue]:
        stage = (
            formats.duration((utcnow() - row.status_changed_at).total_seconds())
            if row.status_changed_at
            else ""
        )
        sla = _sla(row, self.today)
        if row.parts_waiting:
            parts = Cell(
                _("waits {count}").format(count=row.parts_open) if row.parts_open else _("waiting"),
                "bold magenta",
            )
        else:
            parts = Cell("", "")
        values: dict[str, CellValue] = {
            "status": Cell(CAR_STATUS_LABELS[row.status], STATUS_STYLE.get(row.status, "")),
            "plate": row.license_plate or (f"…{row.vin[-6:]}" if row.vin else "—"),
            "car": " ".join(x for x in (row.brand, row.model) if x) or "—",
            "customer": row.customer_name or "—",
            "seller": row.seller_name or "—",
            "order": row.order_number or "—",
            "stage": stage,
            "next": next_work_text(row),
            "parts": parts,
            "sla": Cell(SLA_LABELS[sla], SLA_STYLE[sla]),
            "unread": Cell(str(row.unread), "bold") if row.unread else "",
        }
        return [values[c.key] for c in self.table.columns]

    def sort_key(self, row: MyCarRow, key: str) -> object:
        if key == "status":
            return CAR_STATUSES.index(row.status)
        if key == "stage":
            return row.status_changed_at
        if key == "next":
            return (row.next_work[1], row.next_work[2] or 0) if row.next_work else None
        if key == "sla":
            order = {"late": 0, "at_risk": 1, "on_time": 2, "none": 3}
            return (order[_sla(row, self.today)], row.expected_delivery_date or date.max)
        if key == "parts":
            return (not row.parts_waiting, -row.parts_open)
        if key == "unread":
            return -row.unread
        value = {
            "plate": row.license_plate,
            "car": " ".join(x for x in (row.brand, row.model) if x),
            "customer": row.customer_name,
            "seller": row.seller_name,
            "order": row.order_number,
        }[key]
        return value.lower() if value else None

    # -- keys ------------------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        self.search_text = " ".join(event.value.split())
        self._apply_filter()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()
        if len(self.table.rows) == 1:
            self.table.action_select()

    @on(RowTable.Selected, "#my-cars")
    def _open(self, event: RowTable.Selected) -> None:
        row: MyCarRow = event.row
        if row.status == "draft":
            self.app.open_intake(row.id)  # type: ignore[attr-defined]
        else:
            self.app.open_car(row.id)  # type: ignore[attr-defined]

    def action_customer_messages(self) -> None:
        """The own dealership's messages to its customers (which milestones send, templates)."""
        from screens.outbox_settings import CustomerMessagesScreen

        actor = self.ctx.actor
        if actor.dealership_id is None:
            self.notify(_("You belong to no dealership; ask an admin."), severity="warning")
            return
        self.app.push_screen(
            CustomerMessagesScreen(self.ctx, actor.dealership_id, self.ctx.dealership or "")
        )

    def action_filter(self) -> None:
        from screens.dialogs import ChoiceDialog

        choices = [(key, _(label)) for key, (label, _keep) in VIEWS.items()]
        choices += [(s, CAR_STATUS_LABELS[s]) for s in CAR_STATUSES if s != "archived"]

        def chosen(key: str | None) -> None:
            if key is not None:
                self.view = key
                self._apply_filter()

        self.app.push_screen(ChoiceDialog(_("Show which of my cars?"), choices), chosen)

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("cars", "car_access", "resource_bookings", "parts_orders"):
            self.load()

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.load()
