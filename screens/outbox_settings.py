"""A dealership's customer messages: which milestones send (``c`` opens the choices: registered,
arrived, ready, delayed, estimate; preview first or not; channel; language) and the list of its
templates per milestone, channel and language, the built-in wording where it has none of its own.
Enter edits one (subject and text, the places explained), ``r`` resets it to the built-in.

Opened from the seller's mode (``m``, their own dealership) and from the admin's dealership list
(``m`` on a dealership).  Every write goes through :mod:`db.outbox_templates`, which decides who
may (a seller or manager their own dealership, an admin any); refusals are shown."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db.errors import PrepfloorError
from db.i18n import LANGUAGES, N_, Labels, _
from db.vocab import (
    OUTBOX_AUTOMATIC,
    OUTBOX_CHANNEL_LABELS,
    OUTBOX_CHANNELS,
    OUTBOX_LANGUAGES,
    OUTBOX_MILESTONE_LABELS,
)
from screens.admin_lists import EditTable, yes_no
from screens.car_messages import MessageEditor
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, TableHeader
from screens.widgets import AppFooter, AppHeader, Static

# The places a template may hold, as the editor explains them.
PLACES_HINT = N_(
    "Places: {customer} name · {car} brand and model · {plate} · {vin} · {order} order number · "
    "{dealership} · {today} the date written · {promised} promised delivery date · {total} an "
    "estimate's total. Plain text; other braces stay as typed."
)


# The milestones in the choices form: short enough for its label column at 80 columns.
MILESTONE_WORDS = Labels(
    {
        "registered": N_("Registered"),
        "arrived": N_("Arrived"),
        "ready": N_("Ready"),
        "delayed": N_("Delayed"),
        "estimate": N_("Estimate"),
    }
)


class TemplatesTable(EditTable):
    """The dealership's templates: Enter edits one."""


class CustomerMessagesScreen(Screen[None]):
    BINDINGS = [
        Binding("c", "choices", "Choices"),
        Binding("r", "reset", "Reset to built-in"),
        Binding("escape", "app.pop_screen", "Back"),
    ]
    DEFAULT_CSS = """
    CustomerMessagesScreen #choices { height: auto; padding: 1 1 0 1; }
    CustomerMessagesScreen #note { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext, dealership_id: int, name: str = "") -> None:
        super().__init__()
        self.ctx = ctx
        self.dealership_id = dealership_id
        self.dealership_name = name
        self.choices: Any = None

    def compose(self) -> ComposeResult:
        yield AppHeader(
            self.ctx,
            _("Customer messages · {dealership}").format(dealership=self.dealership_name),
        )
        yield Static(_("Reading…"), id="choices", markup=False)
        yield Static(
            _(
                "c: which milestones send, preview first, channel, language. Enter edits a "
                "template, r resets it to the built-in wording."
            ),
            id="note",
            markup=False,
        )
        header = TableHeader()
        yield header
        yield TemplatesTable(
            [  # at 80 columns: about, by, language, whose, the start of the text
                Column("about", "About", 22, flex=1, least=14),
                Column("channel", "By", 6),
                Column("language", "Lang.", 5),
                Column("own", "Wording", 9),
                Column("text", "Subject / text", 30, flex=2, least=16),
            ],
            self.cells,
            row_key=lambda row: row.id,
            header=header,
        )
        yield AppFooter()

    @property
    def table(self) -> TemplatesTable:
        return self.query_one(TemplatesTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def cells(self, row: Any) -> list[CellValue]:
        first = (row.subject or row.body).strip().splitlines()
        return [
            OUTBOX_MILESTONE_LABELS[row.milestone],
            OUTBOX_CHANNEL_LABELS[row.channel],
            row.language,
            _("own") if row.own else Cell(_("built-in"), "dim"),
            first[0] if first else "",
        ]

    @work(thread=True, exclusive=True, group="customer-messages", exit_on_error=False)
    def load(self) -> None:
        try:
            choices, lines = self.ctx.store.query(self._read, self.dealership_id)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._show, choices, lines)

    @staticmethod
    def _read(session: Any, dealership_id: int) -> tuple[Any, list[Any]]:
        from db import outbox_templates

        return (
            outbox_templates.choices_of(session, dealership_id),
            outbox_templates.templates_of(session, dealership_id),
        )

    def _show(self, choices: Any, lines: list[Any]) -> None:
        self.choices = choices
        self.query_one("#choices", Static).update(choices_text(choices))
        self.table.set_rows(lines)

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("outbox_settings", "outbox_templates"):
            self.load()

    # -- the choices -------------------------------------------------------------------------------
    def action_choices(self) -> None:
        from db import outbox_templates

        chosen = self.choices
        if chosen is None:
            return
        fields = [
            FormField(
                f"send_{m}",
                MILESTONE_WORDS[m],
                options=yes_no(),
                value="yes" if m in chosen.milestones else "no",
            )
            for m in OUTBOX_AUTOMATIC
        ]
        fields += [
            FormField(
                "preview",
                _("Preview first"),
                options=yes_no(),
                value="yes" if chosen.preview else "no",
            ),
            FormField(
                "channel",
                _("Send by"),
                options=[(OUTBOX_CHANNEL_LABELS[c], c) for c in OUTBOX_CHANNELS],
                value=chosen.channel,
            ),
            FormField(
                "language",
                _("Language"),
                options=[(LANGUAGES[lang], lang) for lang in OUTBOX_LANGUAGES],
                value=chosen.language,
            ),
        ]
        ctx, dealership_id = self.ctx, self.dealership_id

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(
                outbox_templates.save_choices,
                ctx.actor,
                dealership_id,
                milestones=[m for m in OUTBOX_AUTOMATIC if values[f"send_{m}"] == "yes"],
                preview=values["preview"] == "yes",
                channel=values["channel"],
                language=values["language"],
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(_("Saved: the customer messages' choices."))
                self.load()

        self.app.push_screen(
            FormDialog(
                _("Customer messages · {dealership}").format(dealership=self.dealership_name),
                fields,
                save,
                intro=_(
                    "yes: the milestone writes a message to the customer by itself. Preview "
                    "first: it waits as a draft on the car until the seller releases it. The "
                    "channel is tried first (the other when the customer has no address for "
                    "it); the language is the customers'."
                ),
            ),
            saved,
        )

    # -- the templates -----------------------------------------------------------------------------
    def on_row_table_selected(self, event: Any) -> None:
        self._edit(event.row)

    def _edit(self, row: Any) -> None:
        from db import outbox_templates

        ctx, dealership_id = self.ctx, self.dealership_id

        def save(subject: str, body: str) -> Any:
            return ctx.store.run(
                outbox_templates.save_template,
                ctx.actor,
                dealership_id,
                row.milestone,
                row.language,
                row.channel,
                subject=subject,
                body=body,
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(_("Saved: the dealership's own wording."))
                self.load()

        self.app.push_screen(
            MessageEditor(
                _("{about} · {channel} · {language}").format(
                    about=OUTBOX_MILESTONE_LABELS[row.milestone],
                    channel=OUTBOX_CHANNEL_LABELS[row.channel],
                    language=LANGUAGES[row.language],
                ),
                row.channel,
                row.subject or "",
                row.body,
                save,
                hint=_(PLACES_HINT),
            ),
            saved,
        )

    def action_reset(self) -> None:
        row = self.table.current
        if row is not None:
            self._reset(row)

    @work(thread=True, group="customer-messages-write", exit_on_error=False)
    def _reset(self, row: Any) -> None:
        from db import outbox_templates

        try:
            had = self.ctx.store.run(
                outbox_templates.reset_template,
                self.ctx.actor,
                self.dealership_id,
                row.milestone,
                row.language,
                row.channel,
            )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        said = _("Back to the built-in wording.") if had else _("It has the built-in wording.")
        self.app.call_from_thread(self.notify, said)
        self.app.call_from_thread(self.load)


def choices_text(choices: Any) -> str:
    """'Sends at: Order registered, Ready for delivery · preview first · by E-mail · Norsk'."""
    if choices.milestones:
        sends = ", ".join(OUTBOX_MILESTONE_LABELS[m] for m in choices.milestones)
        what = _("Sends at: {milestones}").format(milestones=sends)
    else:
        what = _("Nothing is sent by itself (c chooses the milestones)")
    preview = _("the seller previews first") if choices.preview else _("sent without a preview")
    return _("{what} · {preview} · by {channel} · in {language}").format(
        what=what,
        preview=preview,
        channel=OUTBOX_CHANNEL_LABELS[choices.channel],
        language=LANGUAGES.get(choices.language, choices.language),
    )
