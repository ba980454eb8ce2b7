"""Inspection at the prep center (US-1.4 + the checklist improvement): every item ok / issue /
critical with a note, then approve or fail.  ``r`` marks every item not checked yet OK, so a car
with one finding takes the finding, ``r`` and ``a``.  An issue becomes a parts order (``p``) or
extra work (``w``) with one key; a failed inspection tells the coordinators which items are
critical."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db import formats
from db.errors import PrepfloorError
from db.i18n import _
from db.vocab import CHECKLIST_STATUS_LABELS
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static

ITEM_STYLE = {"ok": "bold green", "issue": "bold yellow", "critical": "bold white on red"}


class ChecklistTable(RowTable[Any]):
    BINDINGS = [Binding("enter", "select", "OK", show=False)]  # the footer shows o


class InspectionScreen(Screen[None]):
    BINDINGS = [
        Binding("o", "mark('ok')", "OK"),
        Binding("i", "mark('issue')", "Issue"),
        Binding("x", "mark('critical')", "Critical"),
        Binding("r", "rest_ok", "Rest OK"),
        Binding("p", "to_parts", "Order part"),
        Binding("w", "to_work", "Extra work"),
        Binding("e", "to_estimate", "To estimate"),
        Binding("a", "finish(True)", "Approve"),
        Binding("f", "finish(False)", "Fail"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    InspectionScreen #note { height: auto; padding: 1 1 0 1; color: $text-muted; }
    InspectionScreen #state { height: auto; padding: 0 1 1 1; text-style: bold; }
    InspectionScreen RowTable { height: 1fr; text-style: bold; }
    """

    def __init__(self, ctx: SessionContext, car_id: int, car_label: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.car_id = car_id
        self.car_label = car_label

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Inspection · {car}").format(car=self.car_label))
        yield Static(
            _(
                "o ok · i issue · x critical (an issue or critical item needs a note) · r marks "
                "the rest ok · p orders a part for it · w books extra work · e adds it to the "
                "car's estimate · a approves, f fails"
            ),
            id="note",
            markup=False,
        )
        yield Static("", id="state", markup=False)
        header = TableHeader()
        yield header
        yield ChecklistTable(
            [
                Column("item", "Item", 28, flex=2),
                Column("status", "Result", 9),
                Column("notes", "Note", 20, flex=3),
                Column("by", "By", 14, flex=1),
            ],
            self.cells,
            header=header,
            row_key=lambda line: line.item_name,
            empty=_("No checklist."),
        )
        yield AppFooter()

    @property
    def table(self) -> RowTable[Any]:
        return self.query_one(RowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def on_row_table_selected(self, _event: RowTable.Selected) -> None:
        self.action_mark("ok")  # Enter: ok, and on to the next item

    def cells(self, line: Any) -> list[CellValue]:
        status = line.status
        said = CHECKLIST_STATUS_LABELS.get(status, status).upper() if status else "—"
        return [
            line.label,  # a default item in the reader's language
            Cell(said, ITEM_STYLE.get(status or "", "dim")),
            line.notes or "",
            line.checked_by or "",
        ]

    @work(thread=True, exclusive=True, group="checklist", exit_on_error=False)
    def load(self) -> None:
        from db import inspection

        try:
            lines = self.ctx.store.query(inspection.checklist, self.ctx.actor, self.car_id)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[Any]) -> None:
        self.table.set_rows(lines)
        left = sum(1 for line in lines if line.status is None)
        issues = sum(1 for line in lines if line.status == "issue")
        critical = sum(1 for line in lines if line.status == "critical")
        parts = [
            _("{checked} of {total} checked").format(checked=len(lines) - left, total=len(lines))
        ]
        if issues or critical:
            parts.append(
                _("{issues} issue(s), {critical} critical").format(issues=issues, critical=critical)
            )
        if not left:
            parts.append(_("a approves, f fails"))
        else:
            parts.append(_("r marks the {left} left ok").format(left=left))
        self.query_one("#state", Static).update(" · ".join(parts))

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches_car(self.car_id):
            self.load()

    def _run(self, fn: Any, *args: Any, done: str = "", **kwargs: Any) -> None:
        self._run_in_thread(fn, args, kwargs, done)

    @work(thread=True, group="checklist-write", exit_on_error=False)
    def _run_in_thread(
        self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], done: str
    ) -> None:
        try:
            self.ctx.store.run(fn, self.ctx.actor, *args, **kwargs)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            if done:
                self.app.call_from_thread(self.notify, done)
        self.app.call_from_thread(self.load)

    def action_mark(self, status: str) -> None:
        from db import inspection

        line = self.table.current
        if line is None:
            return
        if status == "ok":
            self._run(inspection.record_item, self.car_id, line.item_name, "ok")
            self.table.action_cursor(1)
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(
                inspection.record_item,
                ctx.actor,
                self.car_id,
                line.item_name,
                status,
                values["notes"],
            )

        self.app.push_screen(
            FormDialog(
                f"{line.label}: {CHECKLIST_STATUS_LABELS.get(status, status).lower()}",
                [
                    FormField(
                        "notes",
                        _("What is wrong *"),
                        _("e.g. 2 mm left on the front tyres"),
                        value=line.notes or "",
                    )
                ],
                save,
            ),
            lambda result: (self.load(), self.table.action_cursor(1) if result else None),
        )

    def action_rest_ok(self) -> None:
        from db import inspection

        self._run(inspection.record_rest_ok, self.car_id, done=_("Every item left is OK."))

    def action_to_parts(self) -> None:
        from db import inspection

        line = self.table.current
        if line is None or line.item_id is None or line.status not in ("issue", "critical"):
            self.notify(_("Pick an item marked issue or critical."), severity="warning")
            return
        self._run(
            inspection.issue_to_parts,
            line.item_id,
            done=_("Part ordered for {item}.").format(item=line.label),
        )

    def action_to_work(self) -> None:
        from db import inspection

        line = self.table.current
        if line is None or line.item_id is None or line.status not in ("issue", "critical"):
            self.notify(_("Pick an item marked issue or critical."), severity="warning")
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(
                inspection.issue_to_booking, ctx.actor, line.item_id, hours=values["hours"]
            )

        def done(result: Any) -> None:
            if result is not None:
                self.notify(_("Extra work booked on {day}.").format(day=formats.day(result.date)))
                self.load()

        self.app.push_screen(
            FormDialog(
                _("Extra work for {item}").format(item=line.label),
                [FormField("hours", _("Hours *"), value=formats.hours_field(1))],
                save,
                intro=_("Booked for you on the first day you have room."),
            ),
            done,
        )

    def action_to_estimate(self) -> None:
        from db import estimates

        line = self.table.current
        if line is None or line.item_id is None or line.status not in ("issue", "critical"):
            self.notify(_("Pick an item marked issue or critical."), severity="warning")
            return
        self._run(
            estimates.add_finding,
            line.item_id,
            done=_("{item} is on the car's draft estimate.").format(item=line.label),
        )

    def action_finish(self, approved: bool) -> None:
        from db import inspection

        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(
                inspection.finish_inspection,
                ctx.actor,
                self.car_id,
                approved=approved,
                notes=values["notes"],
            )

        def done(result: Any) -> None:
            if result is not None:
                if approved:
                    self.notify(_("Inspection approved."))
                else:
                    self.notify(_("Inspection failed: the coordinators are told."))
                self.app.pop_screen()

        self.app.push_screen(
            FormDialog(
                (
                    _("Approve the inspection · {car}")
                    if approved
                    else _("Fail the inspection · {car}")
                ).format(car=self.car_label),
                [FormField("notes", _("Notes"), _("a summary for the seller and the coordinator"))],
                save,
            ),
            done,
        )
