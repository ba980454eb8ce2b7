"""A car's estimates of extra work (issue 20): the list of them, one at a time with its lines,
totals and state.  The prep center (mechanic, coordinator) makes a draft, adds parts (``p``) and
labour (``l``), edits (Enter) and removes (Delete) lines and sends it (``s``); the seller approves
(``y``) or declines (``x``) line by line and decides (``d``), or approves every line left at once
(``a``), with the customer's answer.  ``[`` and ``]`` go to the other estimates of the car."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db import formats
from db.errors import PrepfloorError
from db.i18n import _
from db.vocab import ESTIMATE_DECISION_LABELS, ESTIMATE_LINE_KIND_LABELS, ESTIMATE_STATE_LABELS
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static, ready_to_save

DECISION_STYLE = {"approved": "bold green", "declined": "bold red", "pending": "yellow"}
EDIT = ("new", "add_part", "add_labour", "edit_line", "remove_line", "send")
DECIDE = ("approve_line", "decline_line", "decide", "approve_all")


class LineTable(RowTable[Any]):
    BINDINGS = [Binding("enter", "select", "Edit", show=False)]


class EstimatesScreen(Screen[None]):
    BINDINGS = [
        Binding("n", "new", "New estimate"),
        Binding("p", "add_part", "Add part"),
        Binding("l", "add_labour", "Add labour"),
        Binding("delete", "remove_line", "Remove"),
        Binding("s", "send", "Send for approval"),
        Binding("y", "approve_line", "Approve line"),
        Binding("x", "decline_line", "Decline line"),
        Binding("a", "approve_all", "Approve all"),
        Binding("d", "decide", "Decide"),
        Binding("left_square_bracket", "other(1)", "Older", show=False),
        Binding("right_square_bracket", "other(-1)", "Newer", show=False),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    EstimatesScreen #summary { height: auto; padding: 1 1 0 1; text-style: bold; }
    EstimatesScreen #totals { height: auto; padding: 0 1 1 1; }
    EstimatesScreen RowTable { height: 1fr; }
    """

    def __init__(self, ctx: SessionContext, car_id: int, car_label: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.car_id = car_id
        self.car_label = car_label
        self.estimates: list[Any] = []
        self.index = 0

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Estimates · {car}").format(car=self.car_label))
        yield Static(_("Loading…"), id="summary", markup=False)
        yield Static("", id="totals", markup=False)
        header = TableHeader()
        yield header
        yield LineTable(
            [
                Column("n", "#", 3, right=True),
                Column("kind", "Kind", 7, drop=2),
                Column("what", "What", 20, flex=3, least=12),
                Column("qty", "Qty / h", 8, right=True),
                Column("price", "Price", 10, right=True, drop=1),
                Column("amount", "Amount", 11, right=True),
                Column("decision", "Decision", 9),
            ],
            self.cells,
            header=header,
            row_key=lambda line: line.id,
            empty=_("No lines yet."),
        )
        yield AppFooter()

    @property
    def table(self) -> RowTable[Any]:
        return self.query_one(RowTable)

    @property
    def current(self) -> Any:
        return self.estimates[self.index] if self.estimates else None

    def on_mount(self) -> None:
        self.table.focus()
        self.load()
        actor = self.ctx.actor
        if actor.may("estimate.edit") or actor.may("estimate.decide"):
            ready_to_save(self)  # its keys make, change, send and decide estimates

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        actor = self.ctx.actor
        if action in EDIT:
            return actor.may("estimate.edit")
        if action in DECIDE:
            return actor.may("estimate.decide")
        return True

    def cells(self, line: Any) -> list[CellValue]:
        n = next((i for i, x in enumerate(self.current.lines, 1) if x.id == line.id), 0)
        if line.kind == "part":
            what = line.description + (f" · {line.part_number}" if line.part_number else "")
            qty = formats.number(line.quantity, 0)
            price = formats.nok(line.unit_price_ore)
        else:
            what = f"{line.work}: {line.description}" if line.work else line.description
            if line.person:
                what += f" · {line.person}"
            qty = formats.hours(line.hours)
            price = formats.nok(line.hourly_rate_ore)
        return [
            str(n),
            ESTIMATE_LINE_KIND_LABELS.get(line.kind, line.kind),
            what,
            qty,
            price,
            formats.nok(line.amount_ore),
            Cell(
                ESTIMATE_DECISION_LABELS.get(line.decision, line.decision),
                DECISION_STYLE.get(line.decision, ""),
            ),
        ]

    # -- reading -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="estimates", exit_on_error=False)
    def load(self, focus_id: int | None = None) -> None:
        from db import queries

        try:
            found = queries.car_estimates(self.ctx.store.fast, self.ctx.actor, self.car_id)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._show, found, focus_id)

    def _show(self, found: list[Any], focus_id: int | None = None) -> None:
        keep = focus_id or (self.current.id if self.current else None)
        self.estimates = found
        self.index = next((i for i, e in enumerate(found) if e.id == keep), 0)
        self._draw()

    def _draw(self) -> None:
        summary = self.query_one("#summary", Static)
        totals = self.query_one("#totals", Static)
        estimate = self.current
        if estimate is None:
            summary.update(_("No estimates on this car yet."))
            totals.update(
                _("n starts one; on the inspection screen e adds a finding to it.")
                if self.ctx.actor.may("estimate.edit")
                else ""
            )
            self.table.set_rows([])
            return
        parts = [
            _("Estimate #{id}").format(id=estimate.id),
            ESTIMATE_STATE_LABELS.get(estimate.state, estimate.state),
            _("{n} of {total}").format(n=self.index + 1, total=len(self.estimates)),
        ]
        if estimate.sent_at:
            parts.append(
                _("sent {when} by {who}").format(
                    when=formats.short_moment(estimate.sent_at), who=estimate.sent_by or "—"
                )
            )
        if estimate.decided_at:
            parts.append(
                _("decided {when} by {who}").format(
                    when=formats.short_moment(estimate.decided_at), who=estimate.decided_by or "—"
                )
            )
        summary.update(" · ".join(parts))
        t = estimate.totals
        words = [
            _("Total {amount} NOK").format(amount=formats.nok(t.total)),
            _("approved {amount}").format(amount=formats.nok(t.approved)),
            _("declined {amount}").format(amount=formats.nok(t.declined)),
        ]
        if estimate.customer_answer:
            words.append(_("customer: {answer}").format(answer=estimate.customer_answer))
        totals.update(" · ".join(words))
        self.table.set_rows(list(estimate.lines))

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches_car(self.car_id):
            self.load()

    def action_other(self, step: int) -> None:
        if self.estimates:
            self.index = (self.index + step) % len(self.estimates)
            self._draw()

    # -- writing -----------------------------------------------------------------------------
    @work(thread=True, group="estimates-write", exit_on_error=False)
    def _run(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], done: str) -> None:
        focus = None
        try:
            result = self.ctx.store.run(fn, self.ctx.actor, *args, **kwargs)
            focus = getattr(result, "estimate_id", None) or getattr(result, "id", None)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=15)
        else:
            if done:
                self.app.call_from_thread(self.notify, done)
        self.app.call_from_thread(self.load, focus)

    def _draft(self) -> Any:
        estimate = self.current
        if estimate is None or estimate.state != "draft":
            self.notify(_("Only a draft is changed: n starts one."), severity="warning")
            return None
        return estimate

    def _sent(self) -> Any:
        estimate = self.current
        if estimate is None or estimate.state != "sent":
            self.notify(_("Only an estimate sent for approval is decided."), severity="warning")
            return None
        return estimate

    def action_new(self) -> None:
        from db import estimates

        self._run(estimates.draft_for, (self.car_id,), {}, "")

    def _form(self, title: str, fields: list[FormField], save: Any, intro: str = "") -> None:
        def done(result: Any) -> None:
            if result is not None:
                self.load()

        self.app.push_screen(FormDialog(title, fields, save, intro=intro), done)

    def _part_fields(self, line: Any = None) -> list[FormField]:
        return [
            FormField(
                "description",
                _("Part *"),
                _("e.g. Brake pads front"),
                value=line.description if line else "",
            ),
            FormField(
                "part_number", _("Part number"), value=(line.part_number or "") if line else ""
            ),
            FormField("quantity", _("Quantity *"), value=str(line.quantity) if line else "1"),
            FormField(
                "unit_price",
                _("Price each, NOK *"),
                _("e.g. 1 250,50"),
                value=formats.nok(line.unit_price_ore) if line else "",
            ),
        ]

    def action_add_part(self) -> None:
        from db import estimates

        estimate = self._draft()
        if estimate is None:
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(estimates.add_part, ctx.actor, estimate.id, **values)

        self._form(
            _("Add a part · estimate #{id}").format(id=estimate.id), self._part_fields(), save
        )

    def _labour_fields(self, line: Any = None) -> list[FormField]:
        from db import queries

        types, people = queries.labour_options(self.ctx.store.fast, self.ctx.actor, self.car_id)
        work_options = [(name, str(i)) for name, i in types]
        person_options = [(_("Nobody yet"), "")] + [(name, str(i)) for name, i in people]
        return [
            FormField(
                "description",
                _("Work *"),
                _("e.g. Replace brake pads"),
                value=line.description if line else "",
            ),
            FormField(
                "resource_type_id",
                _("Kind of work"),
                value=str(line.resource_type_id) if line else "",
                options=work_options,
            ),
            FormField(
                "hours", _("Hours *"), value=formats.hours_field(line.hours) if line else "1"
            ),
            FormField(
                "hourly_rate",
                _("Price per hour"),
                _("empty: the setting's"),
                value=formats.nok(line.hourly_rate_ore) if line else "",
            ),
            FormField(
                "user_id",
                _("Who does it"),
                value=str(line.user_id) if line and line.user_id else "",
                options=person_options,
            ),
        ]

    @staticmethod
    def _labour_values(values: dict[str, Any]) -> dict[str, Any]:
        values = dict(values)
        values["resource_type_id"] = (
            int(values["resource_type_id"]) if values.get("resource_type_id") else None
        )
        values["user_id"] = values.get("user_id") or None
        return values

    def action_add_labour(self) -> None:
        from db import estimates

        estimate = self._draft()
        if estimate is None:
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(
                estimates.add_labour, ctx.actor, estimate.id, **self._labour_values(values)
            )

        try:
            fields = self._labour_fields()
        except PrepfloorError as refusal:
            self.notify(str(refusal), severity="error", timeout=10)
            return
        self._form(_("Add labour · estimate #{id}").format(id=estimate.id), fields, save)

    def on_row_table_selected(self, _event: RowTable.Selected) -> None:
        self.action_edit_line()

    def action_edit_line(self) -> None:
        from db import estimates

        if not self.ctx.actor.may("estimate.edit"):
            return
        estimate = self._draft()
        line = self.table.current
        if estimate is None or line is None:
            return
        ctx = self.ctx
        if line.kind == "part":
            fields = self._part_fields(line)

            def save(values: dict[str, Any]) -> Any:
                return ctx.store.run(estimates.edit_line, ctx.actor, line.id, **values)
        else:
            try:
                fields = self._labour_fields(line)
            except PrepfloorError as refusal:
                self.notify(str(refusal), severity="error", timeout=10)
                return

            def save(values: dict[str, Any]) -> Any:
                return ctx.store.run(
                    estimates.edit_line, ctx.actor, line.id, **self._labour_values(values)
                )

        self._form(_("Edit line · estimate #{id}").format(id=estimate.id), fields, save)

    def action_remove_line(self) -> None:
        from db import estimates

        estimate = self._draft()
        line = self.table.current
        if estimate is None or line is None:
            return
        self._run(estimates.remove_line, (line.id,), {}, _("Line removed."))

    def action_send(self) -> None:
        from db import estimates

        estimate = self._draft()
        if estimate is None:
            return
        self._run(estimates.send, (estimate.id,), {}, _("Sent for approval: the seller is told."))

    def _mark(self, decision: str) -> None:
        from db import estimates

        estimate = self._sent()
        line = self.table.current
        if estimate is None or line is None:
            return
        self._run(estimates.mark_line, (line.id, decision), {}, "")
        self.table.action_cursor(1)

    def action_approve_line(self) -> None:
        self._mark("approved")

    def action_decline_line(self) -> None:
        self._mark("declined")

    def _decide(self, all_lines: str | None) -> None:
        from db import estimates

        estimate = self._sent()
        if estimate is None:
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(
                estimates.decide,
                ctx.actor,
                estimate.id,
                all_lines=all_lines,
                customer_answer=values["customer_answer"],
            )

        def done(result: Any) -> None:
            if result is not None:
                self.notify(
                    _("Estimate #{id}: {state}.").format(
                        id=result.id, state=ESTIMATE_STATE_LABELS.get(result.state, result.state)
                    )
                )
                self.load()

        self.app.push_screen(
            FormDialog(
                _("Approve every line left · estimate #{id}").format(id=estimate.id)
                if all_lines
                else _("Decide · estimate #{id}").format(id=estimate.id),
                [FormField("customer_answer", _("Customer's answer"), _("optional"))],
                save,
                intro=_(
                    "The approved parts are ordered and the approved work is booked now; if the "
                    "work does not fit, nothing is saved."
                ),
            ),
            done,
        )

    def action_approve_all(self) -> None:
        self._decide("approved")

    def action_decide(self) -> None:
        self._decide(None)
