"""The Textual application: sign-in, one mode per role, the change feed, help and the palette."""

from __future__ import annotations

import contextlib
import gc
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.notifications import Notification
from textual.reactive import Reactive, reactive
from textual.screen import Screen

import prepfloor.textual_fixes  # noqa: F401  (a toast's timer never below zero)
from db.access import Actor
from db.errors import PrepfloorError
from db.i18n import N_, _, choose, use
from db.modes import mode_title, start_mode
from db.store import Store
from prepfloor.app_feed import SessionFeed
from prepfloor.app_language import SpeaksLanguages
from prepfloor.app_modes import mode_screen
from prepfloor.config import Settings, locations
from prepfloor.failures import SaysFailures
from prepfloor.failures import install as watch_workers
from prepfloor.read_ahead import ReadAhead
from prepfloor.typeahead import TypeAhead, is_typed, limit_for
from screens.context import SessionContext
from screens.messages import SignedIn
from screens.modes import BY_NAME, MODES, ModeInfo, modes_for
from screens.theme import ANSI_DARK, ANSI_LIGHT, DEFAULT_THEME, brand_theme

# Textual's own commands in the palette (theme, quit, keys, ...), put into the reader's words
TEXTUAL_COMMAND_WORDS = (
    N_("Theme"),
    N_("Change the current theme"),
    N_("Quit"),
    N_("Quit the application as soon as possible"),
    N_("Keys"),
    N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"),
    N_("Minimize the widget and restore to normal size"),
    N_("Maximize"),
    N_("Maximize the focused widget"),
    N_("Screenshot"),
    N_("Save an SVG 'screenshot' of the current screen"),
)

WARM_AFTER_SECONDS = 0.4


def _car_finder() -> type[Provider]:
    from screens.commands import CarFinder

    return CarFinder


def _go_to() -> type[Provider]:
    from screens.commands import GoTo

    return GoTo


def _language_command() -> type[Provider]:
    from screens.language import LanguageCommand

    return LanguageCommand


IDLE_CHECK_SECONDS = 5.0
DEFAULT_IDLE_MINUTES = 5.0


class PrepfloorApp(SessionFeed, SaysFailures, SpeaksLanguages, App[int]):
    TITLE = "prepfloor"
    # The active tab's underline: Textual draws it in the list cursor's colour, which prepfloor's
    # themes make a dark shade (so that coloured text on a cursor row stays readable).
    DEFAULT_CSS = """
    Tabs Underline > .underline--bar { color: $text-primary; }
    """
    unread: reactive[int] = reactive(0)  # the signed-in user's unread notifications (headers)
    # prepfloor's colours (WCAG AA contrast, screens/theme.py) from the first screen on, as the
    # defaults: set in the constructor, each made Textual re-read all its CSS before the first
    # frame
    theme: Reactive[str] = Reactive(DEFAULT_THEME)
    ansi_theme_dark = Reactive(ANSI_DARK, init=False)
    ansi_theme_light = Reactive(ANSI_LIGHT, init=False)
    DEFAULT_CLASSES = f"-theme-{DEFAULT_THEME}"  # as Textual marks the theme in use
    # the palette's own commands, imported when the palette first opens
    COMMANDS = App.COMMANDS | {_car_finder, _go_to, _language_command}
    PIN_REQUIRED = False  # True: the sign-in screen refuses a user without a PIN (served)
    BINDINGS: ClassVar[list[BindingType]] = [
        # In the footer's order after a screen's own keys (sign out, help and the inbox are
        # always there, first): a new car, the modes, quit.
        Binding("f9", "sign_out", "Sign out"),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f8", "inbox", "Inbox"),
        Binding("ctrl+n", "new_car", "New car"),
        *[Binding(m.key, m.action, m.title) for m in MODES],
        # ctrl+q quits; signed in at the sign-in screen (a shared terminal) it signs out instead,
        # and ctrl+q on the sign-in screen quits (check_action picks the one that applies)
        Binding("ctrl+q", "quit", "Quit"),
        Binding("ctrl+q", "leave", "Sign out", show=False, priority=True),
        # the language, in the help and the palette (not in the footer: it is rarely changed)
        Binding("ctrl+l", "language", "Language / Språk", show=False),
    ]

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        actor: Actor | None = None,
        preselect: str | None = None,
        sign_in_message: str = "",
        terminal: str | None = None,
        read_ahead: ReadAhead | None = None,
    ) -> None:
        super().__init__(driver_class=_driver_class())
        watch_workers(self)  # a failed worker of any screen is said (prepfloor/failures.py)
        self.store = store
        self.settings = settings
        self.session_ctx: SessionContext | None = None
        self.terminal = terminal  # a shared terminal account: its sign-in screen, its people
        self._first_actor = actor
        self._read_ahead = read_ahead  # the first session's reads, started before the app
        self._feed_from = 0  # the change feed hears what came after this event (0: from its start)
        self._preselect = preselect
        self._sign_in_message = sign_in_message
        self._last_event_id: int | None = None  # the newest event id the screens were told of
        self._waiting_note: Notification | None = None  # "waiting for another terminal…"
        self._held_note: Notification | None = None  # "your keys are kept…"
        self._intake: Any = None  # the session's intake form, kept between uses
        self._shared_terminal = False
        self._last_input = time.monotonic()
        self._user_language: str | None = None  # the signed-in user's own choice (None: site's)
        use(self.site_language)  # the sign-in screen speaks the site's language
        self._who_check_running = False  # a check that the signed-in user is unchanged runs
        # what is loaded was put out of the collector's sight: not yet (None), without the ORM
        # (False), with it (True)
        self._frozen: bool | None = None
        self._writes_warming = False  # the write path loads in the background (warm_writes)
        # keys wait until the previous one has taken effect (as long as a write may wait)
        self.typeahead = TypeAhead(self, limit_for(store.write_wait), on_held=self._keys_held)
        self._first_mode_open = False  # the first mode's screen is made
        # the headers that show the unread count: weakly held, so a closed screen's header goes
        self.unread_headers: weakref.WeakSet[Any] = weakref.WeakSet()

    def watch_unread(self, count: int) -> None:
        for header in list(self.unread_headers):
            header.show_unread(count)

    # -- start and sign-in -----------------------------------------------------------------------
    @property
    def site_language(self) -> str:
        """The site's language (the config file), else the environment's, else English."""
        return choose(self.settings.language if self.settings else None)

    def _open_first_mode(self) -> None:
        """The first screen is the first mode's, made when Textual composes the app: Textual's
        blank default screen is never made, and the first screen is styled once (switching to
        it from the default screen restyled all of it twice before the first frame)."""
        self.add_mode("signin", self._sign_in_screen)
        if self._first_actor is not None:
            self.start_session(self._first_actor)
        else:
            self._current_mode = "signin"

    def on_mount(self) -> None:
        self.store.on_wait = self._write_waiting  # a write held up by another terminal is said
        self.call_after_refresh(self._start_polling, self._feed_from)  # after the first frame
        self.typeahead.starting()  # keys typed while it starts wait for the first screen
        self.set_interval(IDLE_CHECK_SECONDS, self._sign_out_when_idle)
        # What is loaded by the first frame lives as long as the session: out of the collector's
        # sight (the ORM is not loaded here: a session that only reads never loads it).
        self.set_timer(WARM_AFTER_SECONDS, self._freeze_what_is_new)

    def add_mode(self, mode: str, base_screen: str | Callable[[], Screen[Any]]) -> None:
        """A mode whose screen, made when it is first shown, counts as styled with the CSS of the
        moment: Textual would otherwise re-read every stylesheet twice for each new mode screen
        (a new screen is never up to date in its count), ~10 ms each before the first frame.
        A theme changed later still restyles every screen (its count moves on)."""
        if isinstance(base_screen, str):
            super().add_mode(mode, base_screen)
            return
        make = base_screen

        def made() -> Screen[Any]:
            screen = make()
            screen._css_update_count = self._css_update_count
            return screen

        super().add_mode(mode, made)

    def _sign_in_screen(self) -> Screen[Any]:
        from screens.login import LoginScreen  # imported when first shown

        return LoginScreen(
            self.store,
            self._preselect,
            self._sign_in_message,
            pin_required=self.PIN_REQUIRED,
            terminal=self.terminal,
        )

    def on_signed_in(self, message: SignedIn) -> None:
        if self.session_ctx is not None:
            return  # a second Enter raced the first sign-in: one session is enough
        self._shared_terminal = True  # signed in at the sign-in screen: sign out when left idle
        self.start_session(message.actor)  # type: ignore[arg-type]

    def start_session(self, actor: Actor) -> None:
        """Open the modes of ``actor``'s role, on their start screen (:func:`db.modes.start_mode`:
        the one they chose, else their role's work; an admin of an empty database on Admin)."""
        from db.languages import language_of

        fast = self.store.fast
        # read while the app started (a plain start's first session), else read now
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None and ahead.actor is not actor:
            ahead = None

        def first(name: str, read: Callable[[], Any]) -> Any:
            return read() if ahead is None else ahead.value(name, read)

        # the user's own language, else the site's: chosen before any of their screens is made
        self._user_language = first("language", lambda: language_of(fast, actor.user_id))
        if ahead is not None:  # its reads are done: the feed hears what came after them
            self._feed_from = ahead.newest
        use(choose(self._user_language, self.site_language))
        shift = self.settings.shift_hours if self.settings else 10.0
        self.session_ctx = SessionContext(
            store=self.store,
            actor=actor,
            dealership=first("dealership", lambda: fast.dealership_name(actor.dealership_id)),
            shift_hours=shift,
            data_dir=locations().data_dir,
            logo=first("logo", lambda: fast.logo(actor.dealership_id)),
            read_ahead=ahead,
        )
        self._apply_brand(
            actor, first("brand_colors", lambda: fast.brand_colors(actor.dealership_id))
        )
        # A write refused because this user was switched off or changed meanwhile signs out.
        self.store.on_signed_out = self._signed_out_by_write
        self._last_event_id = None  # the feed counts from here
        self._last_note_id: int | None = None  # set by the first notes check: no toasts of old
        # the header's count once the first frame is up (the badge is hidden while it is 0)
        self.call_after_refresh(self.refresh_unread)
        # the day's digest: after the first frame, and written (through the ORM) only when due
        self.set_timer(WARM_AFTER_SECONDS * 3, lambda: self._deliver_digest(actor))
        for mode in modes_for(actor.role):
            self.add_mode(mode.name, self._mode_factory(mode))
        # Each role opens on its work: a mechanic or detailer on their jobs (start or switch a job
        # in two keys), a coordinator on the grid, a seller on their cars, a manager on the
        # dashboard, an admin on every car, or on Admin while nothing is set up.
        start = first("start", lambda: fast.start_row(actor.user_id))
        first = start_mode(actor.role, start.start_mode, start.has_dealerships)
        if self._first_mode_open:
            self.switch_mode(first)
        else:  # the app is composing: this mode's screen is its first
            self._current_mode = first
        if actor.role == "admin" and not start.has_dealerships:
            self.notify(
                _(
                    "Nothing is set up yet. First the dealerships (n adds one), then r: resource "
                    "types, then u: users with their roles. Cars and bookings come after."
                ),
                title=_("A new database"),
                timeout=15,  # the empty lists say what n adds; the toast must not hide a form for long
            )

    def _mode_factory(self, mode: ModeInfo) -> Callable[[], Screen[Any]]:
        """What makes ``mode``'s screen for the session (:func:`prepfloor.app_modes.mode_screen`)."""
        assert self.session_ctx is not None
        return mode_screen(self.session_ctx, mode)

    def _apply_brand(self, actor: Actor, colors: dict[str, Any] | None) -> None:
        theme = brand_theme(f"dealership-{actor.dealership_id}", colors)
        if theme is None:
            self.theme = DEFAULT_THEME
            return
        self.register_theme(theme)
        self.theme = theme.name

    def _freeze_what_is_new(self) -> None:
        """Put what is loaded out of the collector's sight (:meth:`freeze_loaded`) when something
        that lasts was loaded since the last time: the first frame's, then the ORM once a write
        loaded it.  Decided here, on the UI thread, so that two callers (the first frame's timer,
        the write path's warm-up, the idle check) never freeze twice: each freeze also keeps for
        good whatever screen is open at that moment."""
        orm = "sqlalchemy.orm" in sys.modules
        if self._frozen is not None and (self._frozen or not orm):
            return
        self._frozen = orm
        self.freeze_loaded()

    @work(thread=True, group="freeze", exit_on_error=False)
    def freeze_loaded(self) -> None:
        """Move everything loaded so far (Textual, the screens; the ORM once a write loaded it)
        out of the garbage collector's sight: it lives as long as the session, and a full
        collection walking it took 70-90 ms every few seconds, felt as a stutter in the car list.

        The ORM is not loaded here on purpose: it costs about 50 MB and half a second, and a
        session that only reads never needs it; the first write loads it (:attr:`Store.db`).
        """
        gc.collect()
        gc.freeze()
        gc.enable()  # off until now when started by prepfloor.launch.start

    def warm_writes(self) -> None:
        """A screen whose keys save is shown (:func:`screens.widgets.ready_to_save`): the write
        path (SQLAlchemy's ORM, the models, the rules: ~0.6 s of CPU and ~36 MB) starts loading
        in the background, so the first save does not wait for it: a car's first move took
        0.60-0.66 s from Enter to "Moved to", the next one 0.11-0.16 s; now the first takes as
        long as the next (``bench/bench_first_save.py``).  A session that never shows such a
        screen never loads it.  Once per session; a failure is only logged (the save that
        follows loads it itself, and says what fails)."""
        if self._writes_warming or self.store.writes_loaded:
            return
        self._writes_warming = True
        self.set_timer(WARM_AFTER_SECONDS, self._warm_writes)

    @work(thread=True, group="warm-writes", exit_on_error=False)
    def _warm_writes(self) -> None:
        self.store.warm()
        # what it loaded goes out of the collector's sight now, while the user reads the form,
        # not at the next idle check, which could fall on the save's key (a full collection)
        self.call_from_thread(self._freeze_what_is_new)

    def session_modes(self) -> list[ModeInfo]:
        if self.session_ctx is None:
            return []
        return modes_for(self.session_ctx.actor.role)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Compose) and not self._first_mode_open:
            self._open_first_mode()
            self._first_mode_open = True
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
        typed = is_typed(event)
        if typed and self.typeahead.hold(event):  # the previous key is still taking effect
            return
        await super().on_event(event)
        if typed:
            self.typeahead.handled()

    def _keys_held(self, held: bool) -> None:
        """``TypeAhead.on_held``: keys typed ahead have waited a while for what the last key
        started (``True``: said, unless a write held up by another terminal already says why),
        or have gone in (``False``: the toast goes)."""
        kept = held and self._waiting_note is None
        self._held_note = self._swap_note(
            self._held_note,
            _("What you typed is kept: it goes in as soon as the last key's work is done.")
            if kept
            else None,
            _("Busy"),
            self.typeahead.limit,
        )

    def idle_minutes(self) -> float:
        return self.settings.idle_minutes if self.settings else DEFAULT_IDLE_MINUTES

    async def _sign_out_when_idle(self) -> None:
        """A shared workshop terminal goes back to the sign-in screen when nobody uses it.
        (And, every few seconds: an ORM loaded by a first write is put out of the collector's
        sight, as the rest was after the first frame.)"""
        self._freeze_what_is_new()
        limit = self.idle_minutes()
        if not self._shared_terminal or self.session_ctx is None or limit <= 0:
            return
        if time.monotonic() - self._last_input >= limit * 60:
            await self.action_sign_out(f"Signed out after {limit:g} minutes without a key.")

    async def action_sign_out(self, message: str = "") -> None:
        if self.session_ctx is None:
            return
        message = message or _("Signed out.")
        names = [m.name for m in self.session_modes()]
        self.session_ctx = None
        await self.switch_mode("signin")
        for name in names:
            await self.remove_mode(name)
        self._forget_intake()
        self.theme = DEFAULT_THEME
        self._user_language = None
        use(self.site_language)  # the next person signs in in the site's language
        screen = self.screen
        self._shared_terminal = False
        from screens.login import LoginScreen

        if isinstance(screen, LoginScreen):
            screen.reset(message)

    # -- keys ------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mode":
            allowed = {m.name for m in self.session_modes()}
            return parameters[0] in allowed if allowed else False
        if action == "language":  # not while an order is being typed: its screen is made anew
            return self.session_ctx is not None and not any(
                type(screen).__name__ == "IntakeScreen" for screen in self.screen_stack
            )
        if action in ("sign_out", "inbox", "start_here"):
            return self.session_ctx is not None
        if action in ("quit", "leave"):
            # signed in at the sign-in screen: ctrl+q signs out, and quits from the sign-in screen
            shared = self._shared_terminal and self.session_ctx is not None
            return shared if action == "leave" else not shared
        if action == "new_car":
            if type(self.screen).__name__ == "IntakeScreen":
                return False  # one order at a time: finish or close this one first
            return self.session_ctx is not None and self.session_ctx.actor.may("car.draft")
        return True

    def action_mode(self, name: str) -> None:
        if name in BY_NAME and name in {m.name for m in self.session_modes()}:
            self.switch_mode(name)

    async def action_leave(self) -> None:
        """ctrl+q of someone signed in at the sign-in screen: back to it, for the next person."""
        await self.action_sign_out()

    def action_help(self) -> None:
        from screens.help import HelpScreen, help_keys

        if isinstance(self.screen, HelpScreen):
            return
        screen_keys, global_keys = help_keys(self, self.active_bindings.values())
        start_here = None
        if self.session_ctx is not None and self.current_mode in BY_NAME:
            start_here = (mode_title(self.current_mode), self.action_start_here)
        self.push_screen(HelpScreen(screen_keys, global_keys, start_here))

    def action_start_here(self) -> None:
        """Open on this mode at every sign-in from now on (palette, or ``s`` in the help)."""
        if self.session_ctx is None or self.current_mode not in BY_NAME:
            return
        self._save_start_mode(self.session_ctx.actor, self.current_mode)

    @work(thread=True, group="start-mode", exit_on_error=False)
    def _save_start_mode(self, actor: Actor, mode: str) -> None:
        from db import users

        try:
            self.store.run(users.set_start_mode, actor, actor.user_id, mode)
        except PrepfloorError as refusal:
            self.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.call_from_thread(
            self.notify,
            _("From now on you open on {screen} when you sign in.").format(screen=mode_title(mode)),
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette commands, in the reader's language."""
        for command in super().get_system_commands(screen):
            yield command._replace(title=_(command.title), help=_(command.help))

    def open_car(self, car_id: int) -> None:
        """Open a car's detail view over whatever screen is showing."""
        if self.session_ctx is None:
            return
        from screens.car_detail import CarDetailScreen

        self.push_screen(CarDetailScreen(self.session_ctx, car_id))

    def action_new_car(self) -> None:
        """The intake form, from anywhere (one key)."""
        self.open_intake(None)

    def open_intake(self, car_id: int | None) -> None:
        """The intake form: a new order, a draft to finish, or a car's order details to edit."""
        if self.session_ctx is None or not self.session_ctx.actor.may("car.draft"):
            return
        from screens.intake import IntakeScreen

        screen = self._intake
        if screen is not None and screen in self.screen_stack:
            screen = IntakeScreen(self.session_ctx, car_id)  # the kept one is busy below
        elif screen is None or screen.ctx is not self.session_ctx:
            self._forget_intake()
            screen = self._intake = IntakeScreen(self.session_ctx, car_id)
            self.install_screen(screen, name="intake")
        else:
            screen.prepare(car_id)
        self.push_screen(screen)

    def _forget_intake(self) -> None:
        if self._intake is not None:
            with contextlib.suppress(Exception):  # still on a stack being torn down
                self.uninstall_screen(self._intake)
            self._intake = None


def _driver_class() -> Any:
    """Textual's own driver, but on Linux and macOS one whose input thread sleeps while nobody
    types (:mod:`prepfloor.quiet_driver`); ``TEXTUAL_DRIVER`` still chooses, as in Textual."""
    import os
    import sys

    if sys.platform == "win32" or os.environ.get("TEXTUAL_DRIVER"):
        return None
    from prepfloor.quiet_driver import QuietDriver

    return QuietDriver


def make_app(
    store: Store,
    settings: Settings | None = None,
    *,
    actor: Actor | None = None,
    preselect: str | None = None,
    sign_in_message: str = "",
    terminal: str | None = None,
    read_ahead: ReadAhead | None = None,
) -> PrepfloorApp:
    """The one app factory, for the command line and the tests."""
    return PrepfloorApp(
        store,
        settings,
        actor=actor,
        preselect=preselect,
        sign_in_message=sign_in_message,
        terminal=terminal,
        read_ahead=read_ahead,
    )
