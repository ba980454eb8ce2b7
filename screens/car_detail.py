"""One car in depth: every field grouped as the seed groups them, the timeline of its timestamps,
its bookings and its history (who did what when)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import LoadingIndicator
from textual.worker import get_current_worker

from db import formats
from db.clock import local, utcnow
from db.errors import PrepfloorError
from db.i18n import N_, _
from db.sla import SLA_LABELS
from db.vocab import (
    BOOKING_STATUS_LABELS,
    CAR_STATUS_LABELS,
    CAR_TIMESTAMP_FIELDS,
    CAR_TIMESTAMP_LABELS,
    CAR_TYPE_LABELS,
)
from screens.car_records import (
    PART_LABELS,
    PART_STYLE,
    contact_word,
    document_type_word,
    ordered_by_word,
    short_when,
)
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.plain import PlainTable as Table
from screens.plain import plain
from screens.seller import SLA_STYLE
from screens.widgets import AppFooter, AppHeader, Static

if TYPE_CHECKING:
    from db.queries import CarDetail

HISTORY_SHOWN = 40
# The moves that cannot be undone, with the question that confirms them.
IRREVERSIBLE = {
    "delivered": N_("Hand the car over? This cannot be undone."),
    "archived": N_("Archive the car? This cannot be undone."),
}


def when(value: datetime | None) -> str:
    return formats.moment_year(local(value)) if value else "—"


def day_and_time(day: Any, start: Any) -> str:
    """A day in a list, with its start time when it has one: ``Sat 31 Oct 08:00``."""
    return formats.day(day) + (f" {formats.clock(start)}" if start else "")


def word_of(labels: Any, code: str | None) -> str | None:
    """A code's label in a list, lower case as the code is (``new``, ``no-show``)."""
    if code is None:
        return None
    return labels[code].lower() if code in labels else code.replace("_", " ")


def _section(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="dim",
        padding=(0, 2, 0, 0),
    )


def _block(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.title = title
    table.title_justify = "left"
    table.title_style = "bold"
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    for label, value in rows:
        if value is None or value == "" or value == []:
            value = "—"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = _("yes") if value else _("no")
        elif isinstance(value, float):
            value = formats.hours(value)
        table.add_row(label, plain(value, multiline=True))
    return table


class CarDetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "change_status", "Change status"),
        Binding("e", "edit", "Edit order"),
        Binding("b", "book", "Book work"),
        Binding("p", "parts", "Parts"),
        Binding("d", "documents", "Documents"),
        Binding("c", "contact", "Customer contact"),
        Binding("m", "messages", "Messages"),
        Binding("v", "delivery", "Delivery"),
        Binding("w", "estimates", "Estimates"),
        Binding("h", "all_history", "All history", show=False),
        Binding("r", "reload", "Reload"),
    ]
    # The three blocks side by side from 100 columns; below, two (vehicle and order, then
    # prep), so that a block is never narrower than a VIN with its label (29 cells).
    DEFAULT_CSS = """
    CarDetailScreen #body { padding: 0 1; scrollbar-size-vertical: 1; scrollbar-gutter: stable; }
    CarDetailScreen #headline { padding: 0 0 1 0; margin-top: 1; text-style: bold; }
    CarDetailScreen #blocks { height: auto; layout: grid; grid-size: 3; grid-rows: auto;
        grid-columns: 1fr; grid-gutter: 0 2; }
    CarDetailScreen.narrow #blocks { grid-size: 2; grid-gutter: 1 2; }
    CarDetailScreen.single #blocks { grid-size: 1; grid-gutter: 1 0; }
    CarDetailScreen #blocks > Static { height: auto; }
    CarDetailScreen .section { height: auto; margin-top: 1; }
    """
    THREE_BLOCKS = 100  # columns from which the three blocks stand side by side
    TWO_BLOCKS = 64

    def __init__(self, ctx: SessionContext, car_id: int) -> None:
        super().__init__()
        self.ctx = ctx
        self.car_id = car_id
        self.detail: CarDetail | None = None
        self.all_history = False

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Car #{id}").format(id=self.car_id))
        yield LoadingIndicator()
        with VerticalScroll(id="body"):
            yield Static(id="headline")
            with Grid(id="blocks"):
                yield Static(id="vehicle")
                yield Static(id="order")
                yield Static(id="prep")
            yield Static(id="timeline", classes="section")
            yield Static(id="bookings", classes="section")
            yield Static(id="parts", classes="section")
            yield Static(id="contacts", classes="section")
            yield Static(id="documents", classes="section")
            yield Static(id="history", classes="section")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#body").display = False
        self.load()

    def on_resize(self, event: Resize) -> None:
        width = event.size.width
        self.set_class(self.TWO_BLOCKS <= width < self.THREE_BLOCKS, "narrow")
        self.set_class(width < self.TWO_BLOCKS, "single")

    @work(thread=True, exclusive=True, group="car-detail", exit_on_error=False)
    def load(self) -> None:
        from db import queries

        worker = get_current_worker()
        try:
            detail = queries.car_detail(self.ctx.store.fast, self.ctx.actor, self.car_id)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self._failed, str(refusal))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, detail)

    def _failed(self, message: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.notify(message, severity="error", timeout=8)
        self.dismiss()

    def _show(self, detail: CarDetail) -> None:
        self.detail = detail
        car = detail.car
        self.query_one(LoadingIndicator).display = False
        self.query_one("#body").display = True
        name = " ".join(x for x in (car.brand, car.model, str(car.model_year or "")) if x).strip()
        ident = car.license_plate or car.vin or f"#{car.id}"
        name = name or _("Car")
        self.query_one(AppHeader).set_title(f"{name} {ident}")
        since = car.status_changed_at or car.created_at
        status = CAR_STATUS_LABELS[car.status]
        if since:
            status = _("{status} for {duration}").format(
                status=status, duration=formats.duration((utcnow() - since).total_seconds())
            )
        headline = Text()
        headline.append(f"{name}  ", style="bold")
        headline.append(f"{ident}  ")
        headline.append(status, style="reverse")
        if detail.sla != "none":
            headline.append("  ")
            headline.append(
                _("SLA {state}").format(state=SLA_LABELS[detail.sla].lower()),
                style=SLA_STYLE.get(detail.sla, ""),
            )
        from db.car_rules import waiting_on_parts

        waiting = waiting_on_parts(car)
        if waiting:
            headline.append("  ")
            headline.append(_("Waiting on parts"), style="bold magenta")
        if detail.next_statuses:
            options = ", ".join(CAR_STATUS_LABELS[s] for s in detail.next_statuses)
            headline.append(
                "   " + _("s: move to {statuses}").format(statuses=options), style="dim"
            )
        self.query_one("#headline", Static).update(headline)
        self.query_one("#vehicle", Static).update(
            _block(
                _("Vehicle"),
                [
                    (_("VIN"), car.vin),
                    (_("Plate"), car.license_plate),
                    (_("Brand"), car.brand),
                    (_("Model"), car.model),
                    (_("Year"), car.model_year),
                    (_("Color"), car.color),
                    (_("Type"), word_of(CAR_TYPE_LABELS, car.car_type)),
                    (_("Accessories"), car.accessories),
                ],
            )
        )
        self.query_one("#order", Static).update(
            _block(
                _("Order and customer"),
                [
                    (_("Order"), car.order_number),
                    (_("Customer"), car.customer_name),
                    (_("Phone"), car.customer_phone),
                    (_("Email"), car.customer_email),
                    (_("Dealership"), detail.dealership),
                    (_("Seller"), detail.seller),
                    (
                        _("Delivery by"),
                        formats.day_year(car.expected_delivery_date)
                        if car.expected_delivery_date
                        else None,
                    ),
                    (_("Seller notes"), car.seller_notes),
                ],
            )
        )
        tech = (
            day_and_time(car.scheduled_technical_date, car.scheduled_technical_time)
            if car.scheduled_technical_date
            else None
        )
        cosm = (
            day_and_time(car.scheduled_cosmetic_date, car.scheduled_cosmetic_time)
            if car.scheduled_cosmetic_date
            else None
        )
        inspection = (
            None
            if car.inspection_approved is None
            else (_("approved") if car.inspection_approved else _("failed"))
        )
        self.query_one("#prep", Static).update(
            _block(
                _("Prep"),
                [
                    (_("Prep center"), detail.prep_center),
                    (_("Technical"), tech),
                    (_("Est. technical"), car.estimated_technical_hours),
                    (_("Mechanic"), detail.mechanic),
                    (_("Cosmetic"), cosm),
                    (_("Est. cosmetic"), car.estimated_cosmetic_hours),
                    (_("Detailer"), detail.detailer),
                    (_("Inspection"), inspection),
                    (_("Inspection notes"), car.inspection_notes),
                    (_("Parts notes"), car.parts_notes),
                    (_("Technical notes"), car.technical_notes),
                    (_("Cosmetic notes"), car.cosmetic_notes),
                ],
            )
        )
        self.query_one("#timeline", Static).update(self._timeline(car))
        self.query_one("#bookings", Static).update(self._bookings(detail))
        self.query_one("#parts", Static).update(self._parts(detail))
        self.query_one("#contacts", Static).update(self._contacts(detail))
        self.query_one("#documents", Static).update(self._documents(detail))
        self.refresh_bindings()
        self.query_one("#history", Static).update(self._history(detail))

    def _timeline(self, car: Any) -> Table:
        table = Table(
            title=_("Timeline"),
            title_justify="left",
            title_style="bold",
            box=None,
            show_header=True,
            header_style="dim",
            padding=(0, 2, 0, 0),
        )
        table.add_column(_("Milestone"))
        table.add_column(_("When"))
        table.add_column(_("After previous"), justify="right")
        previous: datetime | None = car.created_at
        for name in CAR_TIMESTAMP_FIELDS:
            value = getattr(car, name)
            gap = ""
            if value is not None and previous is not None and value >= previous:
                gap = formats.duration((value - previous).total_seconds())
            style = "" if value else "dim"
            table.add_row(
                Text(CAR_TIMESTAMP_LABELS[name], style=style), Text(when(value), style=style), gap
            )
            if value is not None:
                previous = value
        return table

    def _bookings(self, detail: CarDetail) -> Table | Text:
        if not detail.bookings:
            return Text(_("Bookings: none yet."), style="dim")
        table = _section(_("Bookings"))
        for column in (
            N_("Day"),
            N_("Work"),
            N_("Hours"),
            N_("Clocked"),
            N_("Person"),
            N_("At"),
            N_("Status"),
        ):
            table.add_column(_(column))
        for b in detail.bookings:
            table.add_row(
                day_and_time(b.date, b.start_time),
                b.resource_type,
                formats.number(b.estimated_hours),
                "—" if b.actual_hours is None else formats.fixed(b.actual_hours, 2),
                b.person or "—",
                b.provider,
                word_of(BOOKING_STATUS_LABELS, b.status),
            )
        return table

    def _parts(self, detail: CarDetail) -> Table | Text:
        if not detail.parts:
            return Text(_("Parts orders: none (p orders one)."), style="dim")
        table = _section(_("Parts orders (p)"))
        for column in (
            N_("Part"),
            N_("Part no."),
            N_("Qty"),
            N_("Supplier"),
            N_("By"),
            N_("Status"),
            N_("Ordered"),
            N_("Arrived"),
        ):
            table.add_column(_(column))
        for p in detail.parts:
            table.add_row(
                p.part_name,
                p.part_number or "",
                str(p.quantity),
                p.supplier or "",
                ordered_by_word(p.ordered_by),
                Text(PART_LABELS[p.status], style=PART_STYLE[p.status]),
                short_when(p.ordered_at),
                short_when(p.arrived_at),
            )
        return table

    def _contacts(self, detail: CarDetail) -> Table | Text:
        if not detail.contacts:
            return Text(_("Customer contacts: none logged (c logs one)."), style="dim")
        table = _section(_("Customer contacts (c)"))
        for column in (N_("When"), N_("How"), N_("By"), N_("What")):
            table.add_column(_(column))
        for line in detail.contacts:
            table.add_row(
                when(line.sent_at), contact_word(line.type), line.user or "", line.message
            )
        return table

    def _documents(self, detail: CarDetail) -> Table | Text:
        from db.file_area import human_size

        if not detail.documents:
            return Text(_("Documents: none (d attaches one)."), style="dim")
        table = _section(_("Documents (d)"))
        for column in (N_("File"), N_("Type"), N_("Size"), N_("By"), N_("When")):
            table.add_column(_(column))
        for doc in detail.documents:
            table.add_row(
                doc.filename,
                document_type_word(doc.type),
                human_size(doc.filesize),
                doc.uploaded_by or "",
                when(doc.uploaded_at),
            )
        return table

    def _history(self, detail: CarDetail) -> Table | Text:
        if not detail.events:
            return Text(_("History: nothing recorded."), style="dim")
        lines = detail.events if self.all_history else detail.events[:HISTORY_SHOWN]
        more = len(detail.events) - len(lines)
        if more:
            title = _("History (newest first; {count} older: h shows all)").format(count=more)
        else:
            title = _("History (newest first)")
        table = _section(title)
        table.add_column(_("When"), no_wrap=True)
        table.add_column(_("Who"), no_wrap=True)
        table.add_column(_("What"))
        for line in lines:
            table.add_row(when(line.occurred_at), Text(line.who), Text(line.text))
        return table

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches_car(self.car_id) or event.touches("users", "dealership", "resource_types"):
            self.load()

    def on_screen_resume(self) -> None:
        if self.detail is not None:
            self.load()

    def action_reload(self) -> None:
        self.load()

    def action_all_history(self) -> None:
        """Every event of the car (the view opens with the newest; a long history is slow to lay
        out and rarely read)."""
        self.all_history = True
        if self.detail is not None:
            self.query_one("#history", Static).update(self._history(self.detail))

    # -- the car's records -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.ctx.actor
        needs = {
            "edit": "car.edit_order",
            "parts": "parts.order",
            "documents": "document.attach",
            "contact": "customer.contact",
            "delivery": "car.register",
            "book": "booking.create",
            "estimates": "estimate.view",
        }
        if action in needs:
            if not actor.may(needs[action]):
                return False
            if action == "edit" and self.detail is not None:
                return self.detail.car.status not in ("delivered", "archived")
        return True

    def _car_name(self) -> str:
        if self.detail is None:
            return _("car #{id}").format(id=self.car_id)
        car = self.detail.car
        what = " ".join(x for x in (car.brand, car.model) if x) or _("Car")
        return f"{what} {car.license_plate or car.order_number or ''}".strip()

    def action_edit(self) -> None:
        self.app.open_intake(self.car_id)  # type: ignore[attr-defined]

    def action_book(self) -> None:
        from screens.booking import BookingDialog

        self.app.push_screen(
            BookingDialog(self.ctx, car_id=self.car_id), lambda _result: self.load()
        )

    def action_parts(self) -> None:
        from screens.car_records import PartsDialog

        self.app.push_screen(
            PartsDialog(self.ctx, self.car_id, self._car_name()), lambda _result: self.load()
        )

    def action_estimates(self) -> None:
        from screens.estimates import EstimatesScreen

        self.app.push_screen(
            EstimatesScreen(self.ctx, self.car_id, self._car_name()), lambda _result: self.load()
        )

    def action_documents(self) -> None:
        from screens.car_records import DocumentsDialog

        self.app.push_screen(
            DocumentsDialog(self.ctx, self.car_id, self._car_name()), lambda _result: self.load()
        )

    def action_messages(self) -> None:
        from screens.car_messages import MessagesDialog

        self.app.push_screen(
            MessagesDialog(self.ctx, self.car_id, self._car_name()), lambda _result: self.load()
        )

    def action_contact(self) -> None:
        from screens.car_records import contact_dialog

        customer = self.detail.car.customer_name if self.detail else ""

        def saved(result: object) -> None:
            if result is not None:
                self.notify(_("Contact logged."))
                self.load()

        self.app.push_screen(
            contact_dialog(self.ctx, self.car_id, self._car_name(), customer or ""), saved
        )

    def action_delivery(self) -> None:
        from db.car_rules import MILESTONE_LABELS
        from screens.dialogs import ChoiceDialog, ConfirmDialog

        if self.detail is None:
            return
        options = self.detail.milestones
        open_now = [(m, MILESTONE_LABELS[m]) for m, why in options if why is None]
        blocked = "\n".join(f"{MILESTONE_LABELS[m]}: {why}" for m, why in options if why)
        if not open_now:
            self.notify(blocked, title=_("Nothing to record now"), severity="warning", timeout=10)
            return

        def chosen(milestone: str | None) -> None:
            if milestone is None:
                return
            if milestone == "delivered_to_customer_at":

                def confirmed(yes: bool | None) -> None:
                    if yes:
                        self.record(milestone)

                self.app.push_screen(
                    ConfirmDialog(_("Hand the car over to the customer? This cannot be undone.")),
                    confirmed,
                )
            else:
                self.record(milestone)

        note = _("Not now —\n{reasons}").format(reasons=blocked) if blocked else ""
        self.app.push_screen(
            ChoiceDialog(_("Record a delivery milestone:"), open_now, note, saves=True), chosen
        )

    @work(thread=True, group="car-move", exit_on_error=False)
    def record(self, milestone: str) -> None:
        from db import delivery
        from db.car_rules import MILESTONE_LABELS

        expected = self.detail.car.updated_at if self.detail else None
        try:
            self.ctx.store.run(
                delivery.record_milestone,
                self.ctx.actor,
                self.car_id,
                milestone,
                expected_updated_at=expected,
            )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            label = MILESTONE_LABELS[milestone]
            self.app.call_from_thread(
                self.notify, _("Recorded: {milestone}.").format(milestone=label)
            )
        self.app.call_from_thread(self.load)

    def action_change_status(self) -> None:
        from screens.dialogs import ChoiceDialog, ConfirmDialog

        if self.detail is None:
            return
        blocked = "\n".join(f"{CAR_STATUS_LABELS[s]}: {why}" for s, why in self.detail.blocked)
        if not self.detail.next_statuses:
            self.notify(
                blocked or _("This car is at its last stage."),
                title=_("Cannot move the car now"),
                severity="warning",
                timeout=10,
            )
            return
        current = self.detail.car.status
        choices = [
            (
                s,
                CAR_STATUS_LABELS[s]
                + ("  " + _("(cannot be undone)") if s in IRREVERSIBLE else ""),
            )
            for s in self.detail.next_statuses
        ]

        def chosen(target: str | None) -> None:
            if target is None:
                return
            if target in IRREVERSIBLE:

                def confirmed(yes: bool | None) -> None:
                    if yes:
                        self.move(target, current)

                self.app.push_screen(
                    ConfirmDialog(_(IRREVERSIBLE[target])),
                    confirmed,
                )
            else:
                self.move(target, current)

        note = _("Not now —\n{reasons}").format(reasons=blocked) if blocked else ""
        self.app.push_screen(
            ChoiceDialog(
                _("Move from {status} to:").format(status=CAR_STATUS_LABELS[current]),
                choices,
                note,
                saves=True,
            ),
            chosen,
        )

    @work(thread=True, group="car-move", exit_on_error=False)
    def move(self, target: str, expected: str) -> None:
        from db import workflow

        try:
            self.ctx.store.run(
                workflow.move_car, self.ctx.actor, self.car_id, target, expected_status=expected
            )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            self.app.call_from_thread(
                self.notify, _("Moved to {status}.").format(status=CAR_STATUS_LABELS[target])
            )
        self.app.call_from_thread(self.load)
