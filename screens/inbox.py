"""The inbox (US-3.2): the user's notifications, newest first, from every mode by ``f8``.

``u`` shows unread only, ``t`` picks a type, ``p`` a priority; Enter opens the car (and marks the
note read), ``r`` marks the highlighted one read, ``a`` marks all read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen

from db import formats
from db.clock import local
from db.errors import PrepfloorError
from db.i18n import N_, _, ngettext
from db.vocab import NOTIFICATION_TYPE_LABELS, NOTIFICATION_TYPES, PRIORITIES, PRIORITY_LABELS
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static, ready_to_save

if TYPE_CHECKING:
    from db.inbox import NoteRow

PRIORITY_STYLE = {
    "low": "dim",
    "medium": "",
    "high": "bold yellow",
    "urgent": "bold white on red",
}


def type_label(type_: str) -> str:
    """A kind of notification in a list, lower case: ``new order``."""
    if type_ in NOTIFICATION_TYPE_LABELS:
        return NOTIFICATION_TYPE_LABELS[type_].lower()
    return type_.replace("_", " ")


def priority_label(priority: str) -> str:
    """A priority in a list, lower case: ``high``."""
    return PRIORITY_LABELS[priority].lower() if priority in PRIORITY_LABELS else priority


class InboxScreen(Screen[None]):
    BINDINGS = [
        Binding("u", "toggle_unread", "Unread only"),
        Binding("t", "pick_type", "Type"),
        Binding("p", "pick_priority", "Priority"),
        Binding("r", "mark_read", "Mark read"),
        Binding("a", "mark_all", "Mark all read"),
        Binding("g", "toggle_digest", "Digest"),
        Binding("s", "settings", "What I hear"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    InboxScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    InboxScreen #preview { height: auto; max-height: 4; padding: 0 1; background: $boost;
        border-top: solid $primary 50%; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.unread_only = False
        self.type_: str | None = None
        self.priority: str | None = None
        self.digest = False

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Inbox"))
        yield Static("", id="summary", markup=False)
        header = TableHeader()
        yield header
        # The message matters most; as the terminal narrows the type goes first (the message
        # says it too), then the car (most messages name it).  The highlighted note is shown
        # whole under the list.
        yield RowTable(
            [
                Column("when", "When", 14, least=12),
                Column("priority", "Priority", 8),
                Column("type", "Type", 18, drop=1),
                Column("car", "Car", 18, flex=1, drop=2),
                Column("message", "Message", 40, flex=3),
            ],
            self.cells,
            header=header,
            empty=_("Nothing here."),
        )
        yield Static("", id="preview", markup=False)
        yield AppFooter()

    @property
    def table(self) -> RowTable[Any]:
        return self.query_one(RowTable)

    def on_mount(self) -> None:
        ready_to_save(self)  # Enter marks what it opens read
        self.table.focus()
        self.load()

    def cells(self, note: NoteRow) -> list[CellValue]:
        unread = "" if note.read else "bold"
        return [
            Cell(formats.short_moment(local(note.created_at)) if note.created_at else "", unread),
            Cell(priority_label(note.priority), PRIORITY_STYLE.get(note.priority, "")),
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
            digest=self.digest,
        )
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[NoteRow]) -> None:
        self.table.set_rows(rows)
        self._preview(self.table.current)
        unread = sum(1 for r in rows if not r.read)
        filters = [
            _("the digest's low-priority notes") if self.digest else _("inbox"),
            _("unread only") if self.unread_only else _("all"),
            type_label(self.type_) if self.type_ else _("every type"),
            _("{priority} priority").format(priority=priority_label(self.priority))
            if self.priority
            else _("every priority"),
        ]
        counts = ngettext(
            "{shown} shown, {unread} unread", "{shown} shown, {unread} unread", unread
        ).format(shown=len(rows), unread=unread)
        self.query_one("#summary", Static).update(f"{counts} · " + ", ".join(filters))

    def on_row_table_highlighted(self, event: RowTable.Highlighted) -> None:
        self._preview(event.row)

    def _preview(self, note: NoteRow | None) -> None:
        """The highlighted note whole: its car, type and priority, and the full message."""
        preview = self.query_one("#preview", Static)
        preview.display = note is not None
        if note is None:
            return
        text = Text()
        if note.car_label:
            text.append(note.car_label, style="bold")
            text.append(" · ")
        text.append(
            _("{type} · {priority} priority").format(
                type=type_label(note.type), priority=priority_label(note.priority)
            ),
            style="dim",
        )
        text.append("\n")
        text.append(note.message)
        preview.update(text)

    def on_data_changed(self, _event: DataChanged) -> None:
        self.load()

    # -- filters ---------------------------------------------------------------------------------
    def action_toggle_unread(self) -> None:
        self.unread_only = not self.unread_only
        self.load()

    def action_pick_type(self) -> None:
        from screens.dialogs import ChoiceDialog

        choices = [("", _("Every type"))] + [(t, type_label(t)) for t in NOTIFICATION_TYPES]

        def chosen(value: str | None) -> None:
            if value is not None:
                self.type_ = value or None
                self.load()

        self.app.push_screen(ChoiceDialog(_("Show which notifications?"), choices), chosen)

    def action_pick_priority(self) -> None:
        from screens.dialogs import ChoiceDialog

        choices = [("", _("Every priority"))] + [
            (p, priority_label(p)) for p in reversed(PRIORITIES)
        ]

        def chosen(value: str | None) -> None:
            if value is not None:
                self.priority = value or None
                self.load()

        self.app.push_screen(ChoiceDialog(_("Which priority?"), choices), chosen)

    def action_toggle_digest(self) -> None:
        self.digest = not self.digest
        self.load()

    def action_settings(self) -> None:
        self.app.push_screen(PreferencesDialog(self.ctx), lambda _result: self.load())

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
            self.app.call_from_thread(
                self.notify,
                ngettext("{count} marked read.", "{count} marked read.", count).format(count=count),
            )
        self.app.call_from_thread(self.load)
        self.app.call_from_thread(self.app.refresh_unread)  # type: ignore[attr-defined]


# What a user hears of a kind (N_(): drawn with _()).
MODE_WORDS = {
    None: N_("every one"),
    "mute": N_("muted"),
    "digest": N_("low ones in a daily digest"),
}
NEXT_MODE: dict[str | None, str | None] = {None: "digest", "digest": "mute", "mute": None}


class PreferencesDialog(ModalScreen[None]):
    """Per kind of notification: every one, low-priority ones in a daily digest, or muted.
    Enter changes the highlighted kind at once."""

    BINDINGS = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    PreferencesDialog { align: center middle; }
    PreferencesDialog > Vertical { width: 80; max-width: 100%; height: 20; max-height: 100%;
        border: thick $primary;
        background: $surface; padding: 0 1; }
    PreferencesDialog #title { text-style: bold; padding: 1 1 0 1; height: auto; }
    PreferencesDialog #note { color: $text-muted; padding: 0 1 1 1; height: auto; }
    PreferencesDialog RowTable { height: 1fr; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.modes: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        header = TableHeader()
        with Vertical():
            yield Static(_("What you hear"), id="title")
            yield Static(
                _(
                    "Enter changes the highlighted kind: every one → low ones in a daily digest → "
                    "muted → every one. Urgent and high ones of a digest kind still come at once."
                ),
                id="note",
            )
            yield header
            yield PreferencesTable(
                [Column("type", "Kind", 24, flex=1), Column("mode", "You hear", 26)],
                self.cells,
                header=header,
                row_key=lambda t: t,
            )
        yield AppFooter()

    def cells(self, type_: str) -> list[CellValue]:
        mode = self.modes.get(type_)
        style = {"mute": "dim", "digest": "yellow"}.get(mode or "", "green")
        return [type_label(type_), Cell(_(MODE_WORDS[mode]), style)]

    def on_mount(self) -> None:
        ready_to_save(self)
        self.query_one(RowTable).focus()
        self.load()

    @work(thread=True, exclusive=True, group="prefs", exit_on_error=False)
    def load(self) -> None:
        from db import inbox

        modes = inbox.preferences(self.ctx.store.fast, self.ctx.actor.user_id)
        self.app.call_from_thread(self._show, modes)

    def _show(self, modes: dict[str, str]) -> None:
        self.modes = modes
        self.query_one(RowTable).set_rows([t for t in NOTIFICATION_TYPES if t != "digest"])

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        type_ = event.row
        self._set(type_, NEXT_MODE[self.modes.get(type_)])

    @work(thread=True, group="prefs-write", exit_on_error=False)
    def _set(self, type_: str, mode: str | None) -> None:
        from db import inbox

        try:
            self.ctx.store.run(inbox.set_preference, self.ctx.actor, type_, mode)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error")
            return
        self.app.call_from_thread(self.load)

    def action_close(self) -> None:
        self.dismiss(None)


class PreferencesTable(RowTable[str]):
    BINDINGS = [Binding("enter", "select", "Change")]
