"""Small modal dialogs: pick one of a few choices, confirm what cannot be undone."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Resize
from textual.screen import ModalScreen

from db.i18n import _
from screens.widgets import AppFooter, Option, OptionList, Static, ready_to_save


class ChoiceDialog(ModalScreen[str | None]):
    """A title and a list of choices; Enter picks, Escape cancels (returns None).

    The dialog fits the terminal (at 80x24 too): the list gets the rows the title and the note
    leave, and scrolls, so the highlighted choice is always on screen."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2; }
    ChoiceDialog.short > Vertical { padding: 0 2; }
    ChoiceDialog #title { text-style: bold; margin-bottom: 1; }
    ChoiceDialog #note { height: auto; }
    ChoiceDialog OptionList { height: auto; max-height: 16; }
    """
    MOST_SHOWN = 14  # choices shown at once on a tall terminal

    def __init__(
        self,
        title: str,
        choices: list[tuple[str, str]],
        note: str = "",
        current: str | None = None,
        *,
        saves: bool = False,
    ) -> None:
        """``current``: the key of the choice highlighted first (the one in use), else the
        first.  ``saves``: picking a choice changes something (not a filter of what is shown)."""
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.note = note
        self.current = current
        self.saves = saves

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="title", markup=False)
            options = OptionList(*[Option(label, id=key) for key, label in self.choices])
            keys = [key for key, _label in self.choices]
            if self.current in keys:
                options.highlighted = keys.index(self.current)
            yield options
            if self.note:
                yield Static(self.note, id="note", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        if self.saves:
            ready_to_save(self)

    def on_resize(self, event: Resize) -> None:
        """The list's height: what the terminal leaves once the title and note are shown."""
        self.set_class(event.size.height < 30, "short")
        width = max(10, min(64, event.size.width) - 2 - 4)  # the border, the padding
        console = self.app.console
        title = len(Text(self.title_text).wrap(console, width))
        note = len(Text(self.note).wrap(console, width)) if self.note else 0
        padding = 0 if event.size.height < 30 else 2
        room = event.size.height - 1 - 2 - padding - title - 1 - note  # footer, border, margin
        shown = max(1, min(self.MOST_SHOWN, len(self.choices), room - 2))  # the list's border
        self.query_one(OptionList).styles.max_height = shown + 2

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A question for what cannot be undone: y confirms, n or Escape does not."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 1 2; }
    ConfirmDialog #question { text-style: bold; }
    ConfirmDialog #keys { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def on_mount(self) -> None:
        ready_to_save(self)  # what is confirmed is a change

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            yield Static(_("y: yes   n: no"), id="keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
