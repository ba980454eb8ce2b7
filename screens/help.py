"""``?`` / F1: the keys of the screen you are on, and the keys that work everywhere.

The screen's own actions come first (its list's main key, then the screen's keys, in the order
they are declared); then the keys every list has (moving, sorting by a column), folded into one
line each; then the keys that work everywhere.  ``s`` makes the screen you are on the one you
open on at sign-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from db.i18n import N_, _
from screens.plain import PlainTable as Table
from screens.widgets import Static

TOUR = N_(
    "The footer shows f9 Sign out, f1 Help, f8 Inbox and as many of this screen's keys as fit; "
    "here are all of them. ctrl+p finds any car and goes to any screen. Escape goes back."
)
# Actions every list has, by the name of their action: one line each in the help, after the
# screen's own keys, whatever their number (nine "Sort by column N" keys are one line).
# The texts are translated when the help is drawn.
GENERIC: dict[str, str] = {
    "cursor": N_("Move"),
    "page": N_("Move"),
    "jump": N_("Move"),
    "sort": N_("Sort by that column (again: reverse)"),
}
PALETTE = ("^p", N_("Find a car by VIN, plate, order or customer; go to a screen"))

HelpEntry = tuple[str, str]


def own_keys(cls: type) -> set[str]:
    """The keys bound by prepfloor's own classes (not Textual's scrolling and focus defaults)."""
    keys: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("screens", "prepfloor"):
            for binding in klass.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding):
                    keys.update(k.strip() for k in binding.key.split(","))
    return keys


def _fold(keys: list[str]) -> str:
    """``1 2 … 9`` as ``1…9``; other keys side by side."""
    digits = [int(k) for k in keys if k.isdigit() and len(k) == 1]
    if len(digits) == len(keys) >= 3 and digits == list(range(digits[0], digits[-1] + 1)):
        return f"{digits[0]}…{digits[-1]}"
    return " ".join(keys)


def help_keys(
    app: App[Any], bindings: Iterable[ActiveBinding]
) -> tuple[list[HelpEntry], list[HelpEntry]]:
    """The lines of the help for the active ``bindings`` (a screen's ``active_bindings``): this
    screen's keys (its own actions, then the generic ones folded) and the keys of everywhere.
    Keys of one action (Enter and Space both starting a job) share a line."""
    own: dict[tuple[int, str], tuple[list[str], str]] = {}
    generic: dict[str, list[str]] = {}
    everywhere: dict[str, tuple[list[str], str]] = {}
    for active in bindings:
        binding, node = active.binding, active.node
        if not active.enabled or not binding.description or binding.action == "help":
            continue
        if binding.key not in own_keys(type(node)):
            continue
        shown = binding.key_display or app.get_key_display(binding)
        name = binding.action.split("(")[0]
        if node is app:
            everywhere.setdefault(binding.action, ([], _(binding.description)))[0].append(shown)
        elif name in GENERIC:
            keys = generic.setdefault(_(GENERIC[name]), [])
            if shown not in keys:
                keys.append(shown)
        else:
            own.setdefault((id(node), binding.action), ([], _(binding.description)))[0].append(
                shown
            )
    screen_keys = [(" / ".join(keys), text) for keys, text in own.values()]
    screen_keys += [(_fold(keys), text) for text, keys in generic.items()]
    # the app's keys in the order its class declares them (Textual's own would come first)
    declared = [getattr(b, "action", None) for b in getattr(app, "BINDINGS", [])]
    order = sorted(everywhere, key=lambda a: declared.index(a) if a in declared else len(declared))
    global_keys = [(" / ".join(everywhere[a][0]), everywhere[a][1]) for a in order]
    palette = (PALETTE[0], _(PALETTE[1]))
    return screen_keys, [("f1 / ?", _("This help")), palette, *global_keys]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,question_mark,q", "dismiss", "Close"),
        Binding("s", "start_here", "Open on this screen from now on"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2; }
    """

    def __init__(
        self,
        screen_keys: list[HelpEntry],
        global_keys: list[HelpEntry],
        start_here: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        """``start_here``: the title of the mode the help was opened in, and what makes it the
        user's start screen (``s``); ``None`` when nobody is signed in."""
        super().__init__()
        self.screen_keys = screen_keys
        self.global_keys = global_keys
        self.start_here = start_here

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(_(TOUR)))
            if self.start_here is not None:
                yield Static(
                    Text(
                        _("s: open on {screen} when you sign in, from now on.").format(
                            screen=self.start_here[0]
                        )
                    )
                )
            yield Static(self._table(_("This screen"), self.screen_keys))
            yield Static(self._table(_("Everywhere"), self.global_keys))
            yield Static(Text(_("Escape closes this help."), style="dim"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_here":
            return self.start_here is not None
        return True

    def action_start_here(self) -> None:
        if self.start_here is not None:
            self.dismiss()
            self.start_here[1]()

    @staticmethod
    def _table(title: str, keys: list[HelpEntry]) -> Table:
        table = Table(
            title=title,
            title_justify="left",
            title_style="bold",
            box=None,
            show_header=False,
            padding=(0, 2, 0, 0),
        )
        table.add_column(style="bold")
        table.add_column()
        for key, description in keys:
            table.add_row(key, description)
        return table
