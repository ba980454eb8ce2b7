"""A served user's own files, for attaching one to a car: the list of what they put in their file
area on the server (by SFTP), to pick from.  Only ``prepfloor serve`` sessions open it
(``ctx.files`` set); a local terminal attaches a file by its path (:mod:`screens.car_records`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from db.errors import PrepfloorError
from db.i18n import N_, _
from screens.car_records import RecordsDialog, short_when
from screens.context import SessionContext
from screens.table import CellValue, Column, RowTable

if TYPE_CHECKING:
    from db.file_area import AreaFile


class PickFileDialog(RecordsDialog):
    """Served: attach one of the files in the user's own file area (put there by SFTP).  Enter
    attaches the highlighted file (its type guessed from its name), t asks the type first.  The
    list follows the area while it is open, so a file put there now shows up."""

    BINDINGS = [
        Binding("u", "from_computer", "From your computer…"),
        Binding("t", "attach_as", "Attach as…"),
        Binding("escape", "close", "Back"),
    ]
    TITLE_TEXT = N_("Attach one of your files")
    ENTER = N_("Attach")
    FOLLOW_SECONDS = 2.0

    def __init__(self, ctx: SessionContext, car_id: int, car_name: str) -> None:
        super().__init__(ctx, car_id, car_name)
        assert ctx.files is not None
        self.area = ctx.files
        self.browser = ctx.browser
        if self.browser is not None:  # in a web browser: its file picker, or a file dropped
            self.NOTE = _(
                "u chooses a file on your computer, or drop one on this page: it is attached "
                "at once. Files you put in your prepfloor files before are listed here."
            )
            self.EMPTY = _("Nothing here yet: u chooses a file on your computer.")
        else:
            self.NOTE = _(
                "These are your prepfloor files on the server. {how} The file then shows up here."
            ).format(how=self.area.how_to_put())
            self.EMPTY = _("Nothing here yet: put a file in your prepfloor files as said above.")
        self._failing = False

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(self.FOLLOW_SECONDS, self._follow)

    def _follow(self) -> None:
        if not self._failing:  # a refusal is said once, not every few seconds
            self.load()

    def columns(self) -> list[Column]:
        return [  # the name and size stay; when it was put there goes first, then its type
            Column("file", "File", 24, flex=2, least=18),
            Column("type", "Type", 9, drop=2),
            Column("size", "Size", 8, right=True),
            Column("when", "Put there", 12, drop=1),
        ]

    def cells(self, row: AreaFile) -> list[CellValue]:
        from db.documents import DOCUMENT_TYPE_LABELS, guess_type, human_size

        return [
            row.name,
            DOCUMENT_TYPE_LABELS[guess_type(row.name)],
            human_size(row.size),
            short_when(row.modified),
        ]

    def fetch(self) -> list[Any]:
        from db.errors import Invalid

        try:
            files = self.area.files()
        except OSError as error:
            self._failing = True
            raise Invalid(
                _("Your prepfloor files cannot be read: {reason}.").format(reason=error.strerror)
            ) from None
        except PrepfloorError:
            self._failing = True
            raise
        self._failing = False
        return files

    def action_close(self) -> None:
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "from_computer":
            return self.browser is not None
        return super().check_action(action, parameters)

    def action_from_computer(self) -> None:
        if self.browser is not None:
            self.browser.pick_file()

    def file_arrived(self, name: str, picked: bool) -> bool:
        """A file chosen in the browser's picker, or dropped on the page, while this list is open:
        attach it (the app asks the screen on top; True: taken care of)."""
        self._attach_file(name, None)
        return True

    def on_row_table_selected(self, _event: RowTable.Selected) -> None:
        row: AreaFile | None = self.table.current
        if row is not None:
            self._attach_file(row.name, None)

    def action_attach_as(self) -> None:
        from db.documents import DOCUMENT_TYPE_LABELS
        from screens.dialogs import ChoiceDialog

        row: AreaFile | None = self.table.current
        if row is None:
            return

        def chosen(kind: str | None) -> None:
            if kind is not None:
                self._attach_file(row.name, kind)

        self.app.push_screen(
            ChoiceDialog(
                _("Attach {file} as").format(file=row.name),
                list(DOCUMENT_TYPE_LABELS.items()),
                saves=True,
            ),
            chosen,
        )

    @work(thread=True, group="records-write", exit_on_error=False)
    def _attach_file(self, name: str, kind: str | None) -> None:
        from db import documents

        try:
            filename, content = documents.read_area_file(self.area, name)
            document = self.ctx.store.run(
                documents.attach_document,
                self.ctx.actor,
                self.car_id,
                filename=filename,
                content=content,
                type=kind,
            )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=20)
            return
        self.app.call_from_thread(self.dismiss, document)
