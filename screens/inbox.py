"""The inbox (US-3.2): the user's notifications, newest first, from every mode by ``f8``.

``u`` shows unread only, ``t`` picks a type, ``p`` a priority; Enter opens the car (and marks the
note read), ``r`` marks the highlighted one read, ``a`` marks all read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from db.clock import local
from db.errors import PrepfloorError
from db.vocab import NOTIFICATION_TYPES, PRIORITIES
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader

if TYPE_CHECKING:
    from db.inbox import NoteRow

PRIORITY_STYLE = {
    "low": "dim",
    "medium": "",
    "high": "bold yellow",
    "urgent": "bold white on red",
}


def type_label(type_: str) -> str:
    return type_.replace("_", " ")


class InboxScreen(Screen[None]):
    BINDINGS = [
        Binding("u", "toggle_unread", "Unread only"),
        Binding("t", "pick_type", "Type"),
        Binding("p", "pick_priority", "Priority"),
        Binding("r", "mark_read", "Mark read"),
        Binding("a", "mark_all", "Mark all read"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    InboxScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.unread_only = False
        self.type_: str | None = None
        self.priority: str | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, "Inbox")
        yield Static("", id="summary", markup=False)
        header = TableHeader()
        yield header
        yield RowTable(
            [
                Column("when", "When", 12),
                Column("priority", "Priority", 8),
                Column("type", "Type", 18),
                Column("car", "Car", 18, flex=1),
                Column("message", "Message", 30, flex=3),
            ],
            self.cells,
            header=header,
            empty="Nothing here.",
        )
        yield AppFooter()

    @property
    def table(self) -> RowTable[Any]:
        return self.query_one(RowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def cells(self, note: NoteRow) -> list[CellValue]:
        unread = "" if note.read else "bold"
        return [
            Cell(local(note.created_at).strftime("%d %b %H:%M") if note.created_at else "", unread),
            Cell(note.priority, PRIORITY_STYLE.get(note.priority, "")),
            Cell(type_label(note.type), unread),
            Cell(note.car_label or "", unread),
            Cell(("● " if not note.read else "  ") + note.message, unread),
        ]

    @work(thread=True, exclusive=True, group="inbox", exit_on_error=False)
    def load(self) -> None:
        from db import inbox

        rows = inbox.notes(
            self.ctx.store.fast,
            self.ctx.actor.user_id,
            unread_only=self.unread_only,
            type_=self.type_,
            priority=self.priority,
        )
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[NoteRow]) -> None:
        self.table.set_rows(rows)
        unread = sum(1 for r in rows if not r.read)
        filters = [
            "unread only" if self.unread_only else "all",
            type_label(self.type_) if self.type_ else "every type",
            f"{self.priority} priority" if self.priority else "every priority",
        ]
        self.query_one("#summary", Static).update(
            f"{len(rows)} shown, {unread} unread · " + ", ".join(filters)
        )

    def on_data_changed(self, _event: DataChanged) -> None:
        self.load()

    # -- filters ---------------------------------------------------------------------------------
    def action_toggle_unread(self) -> None:
        self.unread_only = not self.unread_only
        self.load()

    def action_pick_type(self) -> None:
        from screens.dialogs import ChoiceDialog

        choices = [("", "Every type")] + [(t, type_label(t)) for t in NOTIFICATION_TYPES]

        def chosen(value: str | None) -> None:
            if value is not None:
                self.type_ = value or None
                self.load()

        self.app.push_screen(ChoiceDialog("Show which notifications?", choices), chosen)

    def action_pick_priority(self) -> None:
        from screens.dialogs import ChoiceDialog

        choices = [("", "Every priority")] + [(p, p) for p in reversed(PRIORITIES)]

        def chosen(value: str | None) -> None:
            if value is not None:
                self.priority = value or None
                self.load()

        self.app.push_screen(ChoiceDialog("Which priority?", choices), chosen)

    # -- reading ---------------------------------------------------------------------------------
    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        note: NoteRow = event.row
        if not note.read:
            self._mark([note.id])
        if note.car_id is not None:
            self.app.open_car(note.car_id)  # type: ignore[attr-defined]

    def action_mark_read(self) -> None:
        note: NoteRow | None = self.table.current
        if note is not None and not note.read:
            self._mark([note.id])
            self.table.action_cursor(1)

    def action_mark_all(self) -> None:
        self._mark(None)

    @work(thread=True, group="inbox-write", exit_on_error=False)
    def _mark(self, ids: list[int] | None) -> None:
        from db import inbox

        try:
            count = self.ctx.store.run(inbox.mark_read, self.ctx.actor, ids)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error")
            return
        if ids is None:
            self.app.call_from_thread(self.notify, f"{count} marked read.")
        self.app.call_from_thread(self.load)
        self.app.call_from_thread(self.app.refresh_unread)  # type: ignore[attr-defined]
