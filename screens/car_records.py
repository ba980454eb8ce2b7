"""A car's own records, opened from the car view: parts orders (``p``), documents (``d``), a
customer contact (``c``) and the delivery milestones (``v``).  Every write goes through its rule in
``db`` (parts, documents, contacts, delivery) in a thread worker; refusals are shown, not raised."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from db import formats
from db.clock import local
from db.errors import PrepfloorError
from db.i18n import N_, Labels, _, ngettext
from db.vocab import (
    COMMUNICATION_TYPES,
    DOCUMENT_TYPE_LABELS,
    DOCUMENT_TYPES,
    PARTS_ORDERED_BY,
    PARTS_ORDERED_BY_LABELS,
    PARTS_STATUS_LABELS,
)
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, Static

if TYPE_CHECKING:
    from db.queries import DocumentLine, PartLine

PART_STYLE = {
    "ordered": "bold magenta",
    "in_transit": "magenta",
    "arrived": "bold green",
    "installed": "green",
    "cancelled": "dim",
}
PART_LABELS = PARTS_STATUS_LABELS
# How a customer was contacted, as the contact form and the car view name it.
CONTACT_LABELS = Labels({"sms": N_("SMS"), "email": N_("Email"), "call": N_("Call")})
# The day and time an example in the contact form shows (typed in the reader's way).
CONTACT_EXAMPLE = (date(2026, 11, 27), "14:30")


def short_when(value: Any) -> str:
    return formats.short_moment(local(value)) if value else ""


def ordered_by_word(side: str) -> str:
    """Who ordered a part, in a list: ``seller`` or ``prep center``."""
    if side not in PARTS_ORDERED_BY_LABELS:
        return side.replace("_", " ")
    return PARTS_ORDERED_BY_LABELS[side].lower()


def document_type_word(type_: str) -> str:
    """A document's type in a list: ``invoice``, ``photo``."""
    return DOCUMENT_TYPE_LABELS[type_].lower() if type_ in DOCUMENT_TYPE_LABELS else type_


def contact_word(type_: str) -> str:
    """How a customer was contacted, in a list: ``SMS``, ``email``, ``call``."""
    if type_ not in CONTACT_LABELS:
        return type_
    return CONTACT_LABELS[type_] if type_ == "sms" else CONTACT_LABELS[type_].lower()


def contact_example() -> str:
    """A day and time as the contact form reads them: ``2026-11-27 14:30`` / ``27.11.2026 14:30``."""
    day, at = CONTACT_EXAMPLE
    return f"{formats.date_field(day)} {at}"


class RecordsDialog(ModalScreen[None]):
    """A list of one kind of record of a car, with its keys."""

    DEFAULT_CSS = """
    RecordsDialog { align: center middle; }
    RecordsDialog > Vertical { width: 110; max-width: 100%; height: 24; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    RecordsDialog #title { text-style: bold; padding: 1 1 0 1; }
    RecordsDialog #note { color: $text-muted; padding: 0 1 1 1; height: auto; }
    RecordsDialog RowTable { height: 1fr; }
    """
    TITLE_TEXT = ""
    EMPTY = ""
    NOTE = ""
    ENTER = N_("Open")  # what Enter does on a line (the texts: N_(), drawn with _())

    def __init__(self, ctx: SessionContext, car_id: int, car_name: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.car_id = car_id
        self.car_name = car_name

    def compose(self) -> ComposeResult:
        header = TableHeader()
        with Vertical():
            yield Static(f"{_(self.TITLE_TEXT)} · {self.car_name}", id="title", markup=False)
            yield Static(_(self.NOTE), id="note", markup=False)
            yield header
            table_class = type(
                f"{type(self).__name__}Table",
                (RowTable,),
                {"BINDINGS": [Binding("enter", "select", self.ENTER)]},
            )
            yield table_class(self.columns(), self.cells, header=header, empty=_(self.EMPTY))
        yield AppFooter()

    @property
    def table(self) -> RowTable[Any]:
        return self.query_one(RowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def cells(self, row: Any) -> list[CellValue]:
        raise NotImplementedError

    def fetch(self) -> list[Any]:
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="records", exit_on_error=False)
    def load(self) -> None:
        try:
            rows = self.fetch()
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error")
            return
        self.app.call_from_thread(self.table.set_rows, rows)

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches_car(self.car_id):
            self.load()

    def write(self, fn: Any, *args: Any, done: str = "", **kwargs: Any) -> None:
        """Run a rule in a worker; say what happened; reload."""
        self._write(fn, args, kwargs, done)

    @work(thread=True, group="records-write", exit_on_error=False)
    def _write(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], done: str) -> None:
        try:
            self.ctx.store.run(fn, self.ctx.actor, *args, **kwargs)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            if done:
                self.app.call_from_thread(self.notify, done)
        self.app.call_from_thread(self.load)


class PartsDialog(RecordsDialog):
    """The car's parts orders: n orders one, Enter moves the highlighted one on, x cancels it."""

    BINDINGS = [
        Binding("n", "new", "Order a part"),
        Binding("x", "cancel_part", "Cancel part"),
        Binding("escape", "close", "Close"),
    ]
    TITLE_TEXT = N_("Parts orders")
    ENTER = N_("Next step")
    EMPTY = N_("No parts ordered. n orders one.")
    NOTE = N_(
        "Ordered → In transit → Arrived → Installed. The car waits on parts until every order "
        "of a side has arrived; arrival tells the mechanic and the seller."
    )

    def columns(self) -> list[Column]:
        """The part, how many and its status stay; as the dialog narrows who ordered it goes
        first, then the arrival time (the status says it arrived), the supplier, the part
        number."""
        return [
            Column("part", "Part", 20, flex=2, least=16),
            Column("number", "Part no.", 15, least=10, drop=4),
            Column("qty", "Qty", 3, right=True),
            Column("supplier", "Supplier", 10, flex=1, drop=3),
            Column("by", "Ordered by", 11, drop=1),
            Column("status", "Status", 10),
            Column("ordered", "Ordered", 12),
            Column("arrived", "Arrived", 12, drop=2),
        ]

    def cells(self, row: PartLine) -> list[CellValue]:
        return [
            row.part_name,
            row.part_number or "",
            str(row.quantity),
            row.supplier or "",
            ordered_by_word(row.ordered_by),
            Cell(PART_LABELS[row.status], PART_STYLE[row.status]),
            short_when(row.ordered_at),
            short_when(row.arrived_at),
        ]

    def fetch(self) -> list[Any]:
        from db import queries

        return queries.car_parts(self.ctx.store.fast, self.ctx.actor, self.car_id)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_new(self) -> None:
        from db import parts

        actor = self.ctx.actor
        side = "seller" if actor.role in ("seller", "manager") else "prep_center"
        fields = [
            FormField("part_name", _("Part *"), _("e.g. Brake pads front")),
            FormField("part_number", _("Part number"), _("e.g. 34 11 6 860 016")),
            FormField("quantity", _("Quantity"), value="1"),
            FormField("supplier", _("Supplier"), _("e.g. BMW Parts Oslo")),
        ]
        if actor.role == "admin":
            fields.append(
                FormField(
                    "ordered_by",
                    _("Ordered by"),
                    options=[(PARTS_ORDERED_BY_LABELS[s], s) for s in PARTS_ORDERED_BY],
                    value=side,
                )
            )
        fields.append(FormField("notes", _("Notes")))

        def save(values: dict[str, Any]) -> Any:
            return self.ctx.store.run(parts.order_part, actor, self.car_id, **values)

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(
                    _("Ordered {quantity} {part}.").format(
                        quantity=result.quantity, part=result.part_name
                    )
                )
                self.load()

        self.app.push_screen(
            FormDialog(
                _("Order a part · {car}").format(car=self.car_name),
                fields,
                save,
                table="parts_orders",
            ),
            saved,
        )

    def on_row_table_selected(self, _event: RowTable.Selected) -> None:
        self.action_advance()

    def action_advance(self) -> None:
        from db import parts
        from screens.dialogs import ChoiceDialog

        row: PartLine | None = self.table.current
        if row is None:
            return
        nexts = [s for s in parts.PART_MOVES.get(row.status, ()) if s != "cancelled"]
        if not nexts:
            self.notify(
                _("{part} is {status}: nothing follows.").format(
                    part=row.part_name, status=PART_LABELS[row.status].lower()
                )
            )
            return
        if len(nexts) == 1:
            self._move(row, nexts[0])
            return

        def chosen(status: str | None) -> None:
            if status is not None:
                self._move(row, status)

        self.app.push_screen(
            ChoiceDialog(
                f"{row.part_name}: {PART_LABELS[row.status]} →",
                [(s, PART_LABELS[s]) for s in nexts],
                saves=True,
            ),
            chosen,
        )

    def _move(self, row: PartLine, status: str) -> None:
        from db import parts

        self.write(
            parts.set_part_status,
            row.id,
            status,
            expected_status=row.status,
            done=f"{row.part_name}: {PART_LABELS[status].lower()}.",
        )

    def action_cancel_part(self) -> None:
        from db import parts
        from screens.dialogs import ConfirmDialog

        row: PartLine | None = self.table.current
        if row is None:
            return
        if "cancelled" not in parts.PART_MOVES.get(row.status, ()):
            self.notify(
                _("{part} is {status}: too late to cancel.").format(
                    part=row.part_name, status=PART_LABELS[row.status].lower()
                )
            )
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._move(row, "cancelled")

        self.app.push_screen(
            ConfirmDialog(
                _("Cancel the order for {part}? This cannot be undone.").format(part=row.part_name)
            ),
            confirmed,
        )


class DocumentsDialog(RecordsDialog):
    """The car's documents: a attaches a file, s saves a copy of the highlighted one.

    On a local terminal the file is named by a typed path and the copy goes to the data folder;
    in a session of ``prepfloor serve`` (``ctx.files`` set) the file is picked from the user's own
    file area (:class:`screens.user_files.PickFileDialog`) and the copy is kept there, to be
    fetched by SFTP."""

    BINDINGS = [
        Binding("a", "attach", "Attach a file"),
        Binding("s", "save_copy", "Save a copy", show=False),
        Binding("escape", "close", "Close"),
    ]
    TITLE_TEXT = N_("Documents")
    ENTER = N_("Save a copy")
    EMPTY = N_("No documents. a attaches a file (invoice, photo, checklist).")
    NOTE = N_("Files are kept in the database, so every site and session sees them.")

    def columns(self) -> list[Column]:
        return [  # who attached it goes first as the dialog narrows
            Column("file", "File", 20, flex=2),
            Column("type", "Type", 9),
            Column("size", "Size", 8, right=True),
            Column("by", "By", 14, flex=1, least=10, drop=1),
            Column("when", "When", 12),
        ]

    def cells(self, row: DocumentLine) -> list[CellValue]:
        from db.file_area import human_size

        return [
            row.filename,
            document_type_word(row.type),
            human_size(row.filesize),
            row.uploaded_by or "",
            short_when(row.uploaded_at),
        ]

    def fetch(self) -> list[Any]:
        from db import queries

        return queries.car_documents(self.ctx.store.fast, self.ctx.actor, self.car_id)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_attach(self) -> None:
        from db import documents

        if self.ctx.files is not None:  # served: never a typed path, only the user's own files
            from screens.user_files import PickFileDialog

            self.app.push_screen(
                PickFileDialog(self.ctx, self.car_id, self.car_name), self._file_attached
            )
            return
        fields = [
            FormField("path", _("File path *"), _("e.g. ~/scans/invoice-4711.pdf")),
            FormField(
                "type",
                _("Type"),
                options=[(_("Guess from the name"), "")]
                + [(DOCUMENT_TYPE_LABELS[t], t) for t in DOCUMENT_TYPES],
            ),
        ]

        def save(values: dict[str, Any]) -> Any:
            name, content = documents.read_path(values["path"])
            return self.ctx.store.run(
                documents.attach_document,
                self.ctx.actor,
                self.car_id,
                filename=name,
                content=content,
                type=values["type"] or None,
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(_("Attached {file}.").format(file=result.filename))
                self.load()

        self.app.push_screen(
            FormDialog(
                _("Attach a file · {car}").format(car=self.car_name),
                fields,
                save,
                intro=_("The path of a file on this machine (the shop server for SSH users)."),
            ),
            saved,
        )

    def _file_attached(self, result: Any) -> None:
        if result is not None:
            self.notify(_("Attached {file}.").format(file=result.filename))
            self.load()

    def on_row_table_selected(self, _event: RowTable.Selected) -> None:
        self.action_save_copy()

    def action_save_copy(self) -> None:
        row: DocumentLine | None = self.table.current
        if row is not None:
            self._save_copy(row.id)

    @work(thread=True, group="records-write", exit_on_error=False)
    def _save_copy(self, document_id: int) -> None:
        from db import documents

        area = self.ctx.files
        browser = self.ctx.browser
        try:
            if browser is not None:  # in a web browser: it downloads the file
                name, content = self.ctx.store.query(
                    documents.document_file, self.ctx.actor, document_id
                )
                browser.download(name, content)
                said = _("Downloading {name}: your browser saves it.").format(name=name)
            elif area is not None:  # served: into the user's own files, to fetch by SFTP
                name = self.ctx.store.query(
                    documents.save_copy_to_area, self.ctx.actor, document_id, area
                )
                said = _("Saved a copy in your prepfloor files as {name}. {how}").format(
                    name=name, how=area.how_to_fetch(name)
                )
            else:
                folder = documents_folder(self.ctx) / f"car-{self.car_id}"
                path = self.ctx.store.query(
                    documents.save_copy, self.ctx.actor, document_id, folder
                )
                said = _("Saved a copy: {path}").format(path=path)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=20)
            return
        self.app.call_from_thread(self.notify, said, timeout=20)


def documents_folder(ctx: SessionContext) -> Path:
    """Where copies of documents go on a local terminal: ``documents`` in the user's prepfloor
    data folder.  A served session (``ctx.files`` set) keeps them in the user's file area."""
    if ctx.data_dir is not None:
        return ctx.data_dir / "documents"
    import platformdirs

    return Path(platformdirs.user_data_dir("prepfloor")) / "documents"


def export_folder(ctx: SessionContext) -> Path:
    """Where CSV exports go on a local terminal: ``exports`` in the user's prepfloor data folder."""
    return documents_folder(ctx).parent / "exports"


def keep_export(ctx: SessionContext, name: str, write: Callable[[Any], int]) -> tuple[str, str]:
    """Write a CSV export (``write`` takes a path or a file and returns its line count) where this
    session keeps exports: a served session in the user's own files, to fetch by SFTP; a local
    terminal in :func:`export_folder`.  Returns what to tell the user and the toast's severity:
    where it went, or why it could not be written."""
    try:
        if ctx.browser is not None:  # in a web browser: it downloads the file
            buffer = io.StringIO(newline="")
            count = write(buffer)
            ctx.browser.download(name, buffer.getvalue().encode("utf-8"), "text/csv")
            said = ngettext(
                "Downloading {name} ({count} line): your browser saves it.",
                "Downloading {name} ({count} lines): your browser saves it.",
                count,
            )
            return said.format(name=name, count=count), "information"
        if ctx.files is not None:
            return ctx.files.keep_export(name, write), "information"
        folder = export_folder(ctx)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        count = write(path)
        return _("{count} lines written to {path}").format(count=count, path=path), "information"
    except PrepfloorError as refusal:
        return str(refusal), "error"
    except OSError as error:
        return _("Could not write the CSV: {error}").format(error=error), "error"


def contact_dialog(ctx: SessionContext, car_id: int, car_name: str, customer: str) -> FormDialog:
    """Log a contact with the customer (sms / email / call)."""
    from db import contacts

    fields = [
        FormField("type", _("How"), options=[(CONTACT_LABELS[t], t) for t in COMMUNICATION_TYPES]),
        FormField("message", _("What was said *"), _("e.g. Told her the car is ready Friday")),
        FormField("sent_at", _("When"), _("now (or {example})").format(example=contact_example())),
    ]

    def save(values: dict[str, Any]) -> Any:
        from db import validate
        from db.errors import Invalid

        sent_at = None
        text = (values.pop("sent_at") or "").strip()
        if text:
            day_text, _sep, time_text = text.partition(" ")
            day = validate.parse_date(day_text, "sent_at")
            at = validate.parse_time(time_text or "12:00", "sent_at")
            if day is None or at is None:
                raise Invalid(
                    _("When: type it as {example}, or leave it for now.").format(
                        example=contact_example()
                    ),
                    "sent_at",
                )
            from datetime import datetime

            sent_at = datetime.combine(day, at)
        return ctx.store.run(contacts.log_contact, ctx.actor, car_id, sent_at=sent_at, **values)

    if customer:
        title = _("Contact with {customer} · {car}").format(customer=customer, car=car_name)
    else:
        title = _("Contact with the customer · {car}").format(car=car_name)
    return FormDialog(
        title,
        fields,
        save,
        intro=_("Log a call, SMS or email so everyone sees what the customer was told."),
    )
