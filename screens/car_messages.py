"""Messages to the customer, opened from the car view (``m``): the list (queued, sent, failed and
why, when), Enter previews one, ``n`` writes one by hand (from a milestone's template or blank),
``e`` edits a draft or a queued one, ``r`` releases a draft, ``x`` cancels, ``a`` sends a failed
one again.  Every write goes through :mod:`db.outbox` in a thread worker; refusals are shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from db.errors import Invalid, PrepfloorError
from db.i18n import N_, _
from db.vocab import (
    OUTBOX_CHANNEL_LABELS,
    OUTBOX_CHANNELS,
    OUTBOX_MILESTONE_LABELS,
    OUTBOX_MILESTONES,
    OUTBOX_STATE_LABELS,
)
from screens.car_records import RecordsDialog, short_when
from screens.table import Cell, CellValue, Column
from screens.widgets import AppFooter, Input, Static, TextArea, ready_to_save

if TYPE_CHECKING:
    from db.queries import MessageLine

STATE_STYLE = {
    "draft": "bold yellow",
    "queued": "magenta",
    "sending": "bold magenta",
    "sent": "green",
    "failed": "bold red",
    "cancelled": "dim",
}


class MessagesDialog(RecordsDialog):
    """The car's messages to its customer."""

    BINDINGS = [
        Binding("n", "new", "Write"),
        Binding("e", "edit", "Edit"),
        Binding("r", "release", "Release"),
        Binding("x", "cancel_message", "Cancel"),
        Binding("a", "send_again", "Send again", show=False),
        Binding("escape", "close", "Close"),
    ]
    TITLE_TEXT = N_("Messages to the customer")
    ENTER = N_("Preview")
    EMPTY = N_("No messages to the customer. n writes one.")
    NOTE = N_(
        "Enter previews. A draft waits for you: e edits it, r releases it. x cancels one that "
        "has not gone; a sends a failed one again (check first that it did not arrive)."
    )

    def columns(self) -> list[Column]:
        return [
            Column("when", "Written", 12),
            Column("channel", "By", 6),
            Column("to", "To", 18, flex=1, least=12, drop=2),
            Column("about", "About", 18, flex=2, least=12, drop=1),
            Column("state", "State", 9),
            Column("why", "Sent / why", 24, flex=2, least=12),
        ]

    def cells(self, row: MessageLine) -> list[CellValue]:
        why = short_when(row.sent_at) if row.state == "sent" else row.last_reply or ""
        return [
            short_when(row.created_at),
            OUTBOX_CHANNEL_LABELS[row.channel],
            row.recipient,
            row.subject or OUTBOX_MILESTONE_LABELS[row.milestone],
            Cell(OUTBOX_STATE_LABELS[row.state], STATE_STYLE[row.state]),
            why,
        ]

    def fetch(self) -> list[Any]:
        from db import queries

        return queries.car_messages(self.ctx.store.fast, self.ctx.actor, self.car_id)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_row_table_selected(self, _event: Any) -> None:
        row: MessageLine | None = self.table.current
        if row is not None:
            self.app.push_screen(PreviewDialog(row))

    def _current(self) -> MessageLine | None:
        return self.table.current

    def action_edit(self) -> None:
        from db import outbox

        row = self._current()
        if row is None:
            return

        def save(subject: str, body: str) -> Any:
            return self.ctx.store.run(
                outbox.edit_message, self.ctx.actor, row.id, subject=subject, body=body
            )

        self.app.push_screen(
            MessageEditor(
                _("Edit the message · {car}").format(car=self.car_name),
                row.channel,
                row.subject or "",
                row.body,
                save,
            ),
            lambda result: self.load() if result is not None else None,
        )

    def action_release(self) -> None:
        from db import outbox

        row = self._current()
        if row is not None:
            self.write(outbox.release, row.id, done=_("Released: the message is queued."))

    def action_cancel_message(self) -> None:
        from db import outbox

        row = self._current()
        if row is not None:
            self.write(outbox.cancel, row.id, done=_("The message is cancelled."))

    def action_send_again(self) -> None:
        from db import outbox

        row = self._current()
        if row is not None:
            self.write(outbox.send_again, row.id, done=_("Queued again."))

    def action_new(self) -> None:
        from screens.dialogs import ChoiceDialog

        def channel_chosen(channel: str | None) -> None:
            if channel is None:
                return
            self.app.push_screen(
                ChoiceDialog(
                    _("Start from"),
                    [
                        (m, _("Blank") if m == "manual" else OUTBOX_MILESTONE_LABELS[m])
                        for m in ("manual", *OUTBOX_MILESTONES[:-1])
                    ],
                ),
                lambda milestone: self._start(channel, milestone) if milestone else None,
            )

        self.app.push_screen(
            ChoiceDialog(
                _("Write to the customer by"),
                [(c, OUTBOX_CHANNEL_LABELS[c]) for c in OUTBOX_CHANNELS],
            ),
            channel_chosen,
        )

    @work(thread=True, group="records-write", exit_on_error=False)
    def _start(self, channel: str, milestone: str) -> None:
        from db import outbox

        try:
            start = self.ctx.store.query(
                outbox.start_message, self.ctx.actor, self.car_id, milestone, channel
            )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._open_editor, channel, start.subject or "", start.body)

    def _open_editor(self, channel: str, subject: str, body: str) -> None:
        from db import outbox

        def save(subject: str, body: str) -> Any:
            return self.ctx.store.run(
                outbox.write_by_hand,
                self.ctx.actor,
                self.car_id,
                channel=channel,
                subject=subject,
                body=body,
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(_("The message is queued."))
                self.load()

        self.app.push_screen(
            MessageEditor(
                _("Write to the customer · {car}").format(car=self.car_name),
                channel,
                subject,
                body,
                save,
            ),
            saved,
        )


class PreviewDialog(ModalScreen[None]):
    """A message as the customer gets it, with its state and why."""

    BINDINGS = [Binding("escape", "dismiss_preview", "Close")]
    DEFAULT_CSS = """
    PreviewDialog { align: center middle; }
    PreviewDialog > Vertical { width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; overflow-y: auto; }
    PreviewDialog .head { color: $text-muted; }
    """

    def __init__(self, row: MessageLine) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        row = self.row
        head = [
            _("To: {to} ({channel})").format(
                to=row.recipient, channel=OUTBOX_CHANNEL_LABELS[row.channel]
            ),
            _("State: {state}").format(state=OUTBOX_STATE_LABELS[row.state]),
        ]
        if row.last_reply:
            head.append(_("Server / why: {reply}").format(reply=row.last_reply))
        if row.subject:
            head.append(_("Subject: {subject}").format(subject=row.subject))
        with Vertical():
            yield Static("\n".join(head), classes="head", markup=False)
            yield Static(row.body, id="body", markup=False)
        yield AppFooter()

    def action_dismiss_preview(self) -> None:
        self.dismiss(None)


class MessageEditor(ModalScreen[Any]):
    """The subject (e-mail) and the text of a message; ctrl+s saves, Escape cancels."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    MessageEditor { align: center middle; }
    MessageEditor > Vertical { width: 90; max-width: 100%; height: 22; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    MessageEditor #title { text-style: bold; }
    MessageEditor TextArea { height: 1fr; }
    MessageEditor #problem { color: $error; height: auto; }
    MessageEditor #hint { color: $text-muted; height: auto; }
    """

    def __init__(
        self, title: str, channel: str, subject: str, body: str, save: Any, *, hint: str = ""
    ) -> None:
        super().__init__()
        self.title_text, self.channel = title, channel
        self.subject, self.body, self.save = subject, body, save
        self.hint = hint  # said under the title (a template's places)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="title", markup=False)
            if self.hint:
                yield Static(self.hint, id="hint", markup=False)
            subject = Input(self.subject, id="subject", placeholder=_("Subject"), compact=True)
            subject.display = self.channel == "email"
            yield subject
            yield TextArea(self.body, id="text", soft_wrap=True)
            yield Static("", id="problem", markup=False)
            yield Static(_("ctrl+s: save · Escape: cancel"), markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        ready_to_save(self)
        self.query_one(TextArea).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        self.query_one("#problem", Static).update(_("Saving…"))
        self._save(self.query_one("#subject", Input).value, self.query_one(TextArea).text)

    @work(thread=True, group="message-editor", exit_on_error=False)
    def _save(self, subject: str, body: str) -> None:
        try:
            result = self.save(subject, body)
        except (Invalid, PrepfloorError) as refusal:
            self.app.call_from_thread(self.query_one("#problem", Static).update, str(refusal))
        else:
            self.app.call_from_thread(self.dismiss, result)
