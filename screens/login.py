"""Sign in on a shared terminal: pick yourself (type to filter), then your PIN — or scan a badge."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen

from db.errors import PrepfloorError
from db.fast import UserRow
from db.i18n import _
from db.store import Store
from db.vocab import ROLE_LABELS
from screens.messages import SignedIn
from screens.widgets import (
    AppFooter,
    AppHeader,
    Input,
    Option,
    OptionList,
    Static,
    ready_to_save,
)


def _label(user: UserRow) -> str:
    lock = "  · " + _("PIN") if user.has_pin else "  · " + _("badge") if user.has_badge else ""
    where = user.dealership_name or _("all dealerships")
    return f"{user.display_name:<26} {ROLE_LABELS.get(user.role, user.role):<12} {where}{lock}"


class LoginScreen(Screen[None]):
    """The first screen when the OS login name is not a prepfloor user, or is a shared terminal
    account (``terminal``: then only that terminal's people, with a PIN or a badge)."""

    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("escape", "back", "Back", show=False),
    ]
    DEFAULT_CSS = """
    LoginScreen { align: center top; }
    LoginScreen #box { width: 90; max-width: 100%; height: 100%; padding: 1 2; }
    LoginScreen #hint { color: $text-muted; margin-bottom: 1; }
    LoginScreen #users { height: 1fr; max-height: 20; }  /* the message below stays in sight */
    LoginScreen #pin-box { height: auto; margin-top: 1; display: none; }
    LoginScreen #pin-box.visible { display: block; }
    LoginScreen #pin-label { text-style: bold; }
    LoginScreen #message { color: $error; height: auto; margin-top: 1; }
    """

    def __init__(
        self,
        store: Store,
        preselect: str | None = None,
        message: str = "",
        *,
        pin_required: bool = False,
        terminal: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.terminal = terminal  # the shared terminal account this screen belongs to, if any
        # a user without a PIN is refused (prepfloor serve; a shared terminal account)
        self.pin_required = pin_required or terminal is not None
        self.preselect = preselect
        self.start_message = message
        self.users: list[UserRow] = []
        self.chosen: UserRow | None = None
        self.signing_in = False  # a name and PIN or a badge is being checked: Enter waits

    def compose(self) -> ComposeResult:
        yield AppHeader(None, _("Sign in"))
        with Vertical(id="box"):
            yield Static(
                _("Who are you? Type your name, ↑↓ to pick, Enter. Or scan your badge."), id="hint"
            )
            yield Input(placeholder=_("Name, login or badge"), id="filter")
            yield OptionList(id="users")
            with Vertical(id="pin-box"):
                yield Static("", id="pin-label", markup=False)
                yield Input(placeholder=_("PIN"), password=True, id="pin", max_length=8)
            yield Static(self.start_message, id="message", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        ready_to_save(self)  # a sign-in is written (and a wrong PIN counted)
        self.load_users()

    @work(thread=True, exclusive=True, group="sign-in-list", exit_on_error=False)
    def load_users(self) -> None:
        users = self.store.fast.sign_in_list(self.terminal)
        self.app.call_from_thread(self._users_loaded, users)

    def _users_loaded(self, users: list[UserRow]) -> None:
        self.users = users
        self._fill("")
        if not users and self.terminal is not None:
            self._say(
                _(
                    "Nobody can sign in at this terminal yet: an admin gives its dealership's "
                    "people a PIN (prepfloor users set-pin LOGIN) or a badge. A badge works "
                    "already."
                )
            )
            self.query_one("#filter", Input).focus()
            return
        if not users:
            self._say(_("There are no users yet. Add one with: prepfloor users add"))
            return
        if self.preselect:
            match = [u for u in users if u.login.lower() == self.preselect.lower()]
            if match:
                self._choose(match[0])
                return
            self._say(_("There is no active user {login}.").format(login=repr(self.preselect)))
        self.query_one("#filter", Input).focus()

    def reset(self, message: str = "") -> None:
        """Back to an empty sign-in (after someone signs out): the ``--user`` preselection was for
        the first sign-in only, or a user without a PIN would be signed straight back in."""
        self.chosen = None
        self.signing_in = False
        self.preselect = None
        self.query_one("#pin-box").remove_class("visible")
        self.query_one("#pin", Input).value = ""
        with self.prevent(Input.Changed):  # a change of the filter clears the message
            self.query_one("#filter", Input).value = ""
        self._say(message)
        self.load_users()

    # -- choosing --------------------------------------------------------------------------------
    def _matches(self, text: str) -> list[UserRow]:
        text = text.strip().lower()
        if not text:
            return list(self.users)
        return [
            u
            for u in self.users
            if text in u.display_name.lower() or u.login.lower().startswith(text)
        ]

    def _fill(self, text: str) -> None:
        options = self.query_one("#users", OptionList)
        options.clear_options()
        options.add_options([Option(_label(u), id=u.id) for u in self._matches(text)])
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)
        self._say("")

    def action_move(self, delta: int) -> None:
        options = self.query_one("#users", OptionList)
        if not options.option_count or self.chosen is not None:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(options.option_count - 1, current + delta))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#users", OptionList)
        text = event.value.strip()
        if options.highlighted is not None and options.option_count and self._matches(text):
            option = options.get_option_at_index(options.highlighted)
            self._choose(next(u for u in self.users if u.id == option.id))
        elif text and not self.signing_in:
            self.sign_in_badge(text)

    @on(OptionList.OptionSelected, "#users")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._choose(next(u for u in self.users if u.id == event.option.id))

    def _choose(self, user: UserRow) -> None:
        if self.signing_in:
            return  # an Enter typed while the first one is being checked
        if not user.has_pin and user.has_badge and self.pin_required:
            self._say(
                _("{name} signs in here with their badge: scan it.").format(name=user.display_name)
            )
            self.query_one("#filter", Input).focus()
            return
        self.chosen = user
        if not user.has_pin:
            self.sign_in(user.login, None)
            return
        self.query_one("#pin-label", Static).update(
            _("PIN for {name} (Esc: someone else)").format(name=user.display_name)
        )
        self.query_one("#pin-box").add_class("visible")
        pin = self.query_one("#pin", Input)
        pin.value = ""
        pin.focus()

    def action_back(self) -> None:
        if self.chosen is not None:
            self.chosen = None
            self.query_one("#pin-box").remove_class("visible")
            self.query_one("#filter", Input).focus()
            self._say("")

    @on(Input.Submitted, "#pin")
    def _pin_submitted(self, event: Input.Submitted) -> None:
        if self.chosen is not None and not self.signing_in:
            self.sign_in(self.chosen.login, event.value)

    # -- checking --------------------------------------------------------------------------------
    def _say(self, message: str) -> None:
        self.query_one("#message", Static).update(message)

    def sign_in(self, login: str, pin: str | None) -> None:
        self.signing_in = True
        self._check(login, pin)

    def sign_in_badge(self, badge: str) -> None:
        self.signing_in = True
        self._check_badge(badge)

    @work(thread=True, exclusive=True, group="sign-in", exit_on_error=False)
    def _check(self, login: str, pin: str | None) -> None:
        from db import users

        self._signed_in(
            users.sign_in, login, pin, pin_required=self.pin_required, terminal=self.terminal
        )

    @work(thread=True, exclusive=True, group="sign-in", exit_on_error=False)
    def _check_badge(self, badge: str) -> None:
        from db import users

        self._signed_in(users.sign_in_badge, badge, terminal=self.terminal)

    def _signed_in(self, rule: Any, *args: Any, **kwargs: Any) -> None:
        """Run the sign-in rule (in the worker); the session starts, or the refusal is said."""
        try:
            actor = self.store.run(rule, *args, **kwargs)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self._refused, str(refusal))
            return
        except Exception as error:  # the disk, the server: say so, stay usable
            from db.failures import describe, is_database_fault

            if not is_database_fault(error):
                raise
            self.app.call_from_thread(self._refused, describe(error, _("Signing in")))
            return
        self.app.call_from_thread(self.post_message, SignedIn(actor))

    def _refused(self, message: str) -> None:
        self.signing_in = False
        self._say(message)
        pin = self.query_one("#pin", Input)
        pin.value = ""
        if self.chosen is not None and self.chosen.has_pin:
            pin.focus()
        else:
            box = self.query_one("#filter", Input)
            with self.prevent(Input.Changed):  # a change of the filter clears the message
                box.value = ""
            box.focus()
