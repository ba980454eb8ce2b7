"""A small form in a dialog: a few labelled fields, the message beside each field, ctrl+s (or
Enter on the last field) saves through a rule in ``db`` run in a thread, Escape cancels.

The dialog does not know the rule: the caller passes ``save(values)``, which runs in a worker and
either returns a result (the dialog closes with it) or raises a refusal from :mod:`db.errors`
(shown beside its field, or under the form when it names none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen

from db.errors import Invalid, InvalidFields, PrepfloorError
from db.i18n import _
from db.limits import limit
from screens.widgets import AppFooter, Input, Label, Select, Static, ready_to_save


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    placeholder: str = ""
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # a choice: (label, value)
    limit: int | None = None  # characters the field holds (else its column's, see FormDialog)
    password: bool = False  # a secret: shown masked as it is typed

    @property
    def is_choice(self) -> bool:
        return bool(self.options)


class FormBody(VerticalScroll, can_focus=False):
    """The form's fields: a long form scrolls (at 24 rows), the focused field in view; the
    body itself takes no focus (Tab goes from field to field)."""


class FormDialog(ModalScreen[Any]):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    FormDialog { align: center middle; }
    FormDialog > VerticalScroll { width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2; scrollbar-size-vertical: 1; }
    FormDialog #title { text-style: bold; margin-bottom: 1; }
    FormDialog #intro { color: $text-muted; margin-bottom: 1; }
    FormDialog .row { height: auto; min-height: 1; }
    FormDialog .row > Label { width: 16; color: $text-muted; }
    FormDialog .row > .field { width: 40; }
    FormDialog .row > .message { width: 1fr; height: auto; padding-left: 2; color: $error;
        text-style: bold; }
    FormDialog #problem { color: $error; text-style: bold; margin-top: 1; height: auto; }
    FormDialog #keys { color: $text-muted; margin-top: 1; }
    """

    def __init__(
        self,
        title: str,
        fields: list[FormField],
        save: Callable[[dict[str, Any]], Any],
        *,
        intro: str = "",
        table: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.save = save
        self.intro = intro
        self.busy = False
        # each field's length: its own, else that of the column of the same name in ``table``
        self.limits = {
            spec.name: spec.limit or (limit(table, spec.name) if table else None) for spec in fields
        }

    def compose(self) -> ComposeResult:
        with FormBody():
            yield Static(self.title_text, id="title", markup=False)
            if self.intro:
                yield Static(self.intro, id="intro", markup=False)
            for spec in self.fields:
                with Horizontal(classes="row"):
                    yield Label(spec.label)
                    if spec.is_choice:
                        yield Select(
                            spec.options,
                            id=spec.name,
                            value=spec.value or spec.options[0][1],
                            allow_blank=False,
                            compact=True,
                            classes="field",
                        )
                    else:
                        yield Input(
                            spec.value,
                            id=spec.name,
                            placeholder=spec.placeholder,
                            password=spec.password,
                            compact=True,
                            classes="field",
                        )
                    yield Static("", id=f"msg-{spec.name}", classes="message", markup=False)
            yield Static("", id="problem", markup=False)
            yield Static(_("ctrl+s or Enter on the last field: save · Escape: cancel"), id="keys")
        yield AppFooter()

    def on_mount(self) -> None:
        ready_to_save(self)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in self.fields:
            if spec.is_choice:
                values[spec.name] = self.query_one(f"#{spec.name}", Select).value
            else:
                values[spec.name] = self.query_one(f"#{spec.name}", Input).value
        return values

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        """A field longer than its column is said beside it as it is typed."""
        name = event.input.id or ""
        most = self.limits.get(name)
        if most is not None:
            too_long = len(event.value) > most
            self.query_one(f"#msg-{name}", Static).update(
                _("At most {most} characters ({typed} typed).").format(
                    most=most, typed=len(event.value)
                )
                if too_long
                else ""
            )

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        inputs = [spec.name for spec in self.fields if not spec.is_choice]
        if inputs and event.input.id == inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        if self.busy:
            return
        self.busy = True
        for spec in self.fields:
            self.query_one(f"#msg-{spec.name}", Static).update("")
        self.query_one("#problem", Static).update(_("Saving…"))
        self._run(self.values())

    def worker_failed(self, worker: Any, message: str) -> bool:
        """The database failed under the save: the form stays as typed, the key tries again."""
        if worker.group != "form-dialog":
            return False
        self._refused({"": message})
        self.notify(message, severity="error", timeout=15)
        return True

    @work(thread=True, group="form-dialog", exit_on_error=False)
    def _run(self, values: dict[str, Any]) -> None:
        try:
            result = self.save(values)
        except InvalidFields as invalid:
            self.app.call_from_thread(self._refused, invalid.errors)
        except Invalid as invalid:
            self.app.call_from_thread(self._refused, {invalid.field or "": invalid.message})
        except PrepfloorError as refusal:
            self.app.call_from_thread(self._refused, {"": str(refusal)})
        else:
            self.app.call_from_thread(self.dismiss, result)

    def _refused(self, errors: dict[str, str]) -> None:
        self.busy = False
        names = {spec.name for spec in self.fields}
        rest = []
        first = None
        for name, message in errors.items():
            if name in names:
                self.query_one(f"#msg-{name}", Static).update(message)
                first = first or name
            else:
                rest.append(message)
        self.query_one("#problem", Static).update(
            " ".join(rest) if rest else _("Not saved: fix the field marked.")
        )
        if first:
            self.query_one(f"#{first}").focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
