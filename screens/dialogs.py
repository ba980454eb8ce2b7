"""Small modal dialogs: pick one of a few choices, confirm what cannot be undone."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen

from screens.widgets import AppFooter, Option, OptionList, Static


class ChoiceDialog(ModalScreen[str | None]):
    """A title and a list of choices; Enter picks, Escape cancels (returns None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical { width: 64; height: auto; max-height: 80%; border: thick $primary;
        background: $surface; padding: 1 2; }
    ChoiceDialog #title { text-style: bold; margin-bottom: 1; }
    ChoiceDialog OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, title: str, choices: list[tuple[str, str]], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="title", markup=False)
            yield OptionList(*[Option(label, id=key) for key, label in self.choices])
            if self.note:
                yield Static(self.note, id="note", markup=False)
        yield AppFooter()

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
    ConfirmDialog > Vertical { width: 64; height: auto; border: thick $warning; background: $surface;
        padding: 1 2; }
    ConfirmDialog #question { text-style: bold; }
    ConfirmDialog #keys { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            yield Static("y: yes   n: no", id="keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
