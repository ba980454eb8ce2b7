"""The app as ``prepfloor serve`` runs it: it touches nothing on the server but the user's files.

A served session's user has no account on the server, so Textual's commands that write files or
start programs there (screenshots, saving text, opening a browser, suspending the process to a
shell that does not exist) are off.  Files come and go through the signed-in user's file area
(:mod:`db.file_area`, reached by SFTP): the session's context carries it, so attaching a document
picks a file from it, and copies and exports are kept in it; no path the user types is opened.
The rest of the app is the same as on a workshop terminal.
"""

from __future__ import annotations

import asyncio
import io
import signal
import threading
from collections.abc import Iterable
from typing import Any, ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from db.access import Actor
from db.i18n import N_, _
from prepfloor.app import PrepfloorApp
from prepfloor.serve_config import ServeSettings

# The system commands of the palette that act on the server rather than on the session.
SERVER_COMMANDS = frozenset({"Screenshot"})
NOT_SERVED = N_("Not available over SSH: it would act on the server, not on your screen.")


class ServedApp(PrepfloorApp):
    """:class:`PrepfloorApp` for one SSH session of ``prepfloor serve``."""

    # A shared terminal account's sign-in screen is reachable from wherever its key is: a user
    # without a PIN (or badge) must not be one Enter away.
    PIN_REQUIRED = True

    def start_session(self, actor: Actor) -> None:
        super().start_session(actor)
        # Set before any screen can read it: the mode's screens are made above, but they look at
        # the context only when a key asks for a file.
        assert self.session_ctx is not None
        self.session_ctx.files = self.serve_settings.file_area(actor.login)

    @property
    def serve_settings(self) -> ServeSettings:
        return self.settings.serve if self.settings is not None else ServeSettings()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # as Textual titles them, or as the palette says them in the reader's language
        hidden = SERVER_COMMANDS | {_(title) for title in SERVER_COMMANDS}
        for command in super().get_system_commands(screen):
            if command.title not in hidden:
                yield command

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("screenshot", "suspend_process"):
            return False
        return super().check_action(action, parameters)

    def on_mount(self) -> None:
        # The server ends a session with SIGTERM (stopping) or SIGHUP (the link dropped): leave
        # the app the normal way, so the terminal is restored and the database closed.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self.exit)

    # Each of these would write a file on the server or run a program there.
    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.notify(_(NOT_SERVED), severity="warning")

    def deliver_screenshot(self, *args: Any, **kwargs: Any) -> str | None:
        self.notify(_(NOT_SERVED), severity="warning")
        return None

    def save_screenshot(self, *args: Any, **kwargs: Any) -> str:
        raise PermissionError(_(NOT_SERVED))

    def deliver_text(self, *args: Any, **kwargs: Any) -> str | None:
        self.notify(_(NOT_SERVED), severity="warning")
        return None

    def deliver_binary(self, *args: Any, **kwargs: Any) -> str | None:
        self.notify(_(NOT_SERVED), severity="warning")
        return None

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        self.notify(_("Open {url} on your own computer.").format(url=url), severity="information")

    def action_suspend_process(self) -> None:
        return None


class BrowserApp(ServedApp):
    """:class:`ServedApp` for a web browser (:mod:`prepfloor.serve_web`): the same screens, keys and
    rules, drawn by Textual's web driver.  Copies and exports are downloaded by the browser; a
    document is attached from the user's file area, where the browser's file picker and a file
    dropped on the page put it.  Signing out of a personal session signs the browser out too."""

    # A browser keeps ctrl+n (a new window) for itself: a page never sees it.  A new car is
    # alt+n here (ctrl+n still works where the browser passes it on, in an app window).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("alt+n", "new_car", "New car"),
        Binding("ctrl+n", "new_car", "New car", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from prepfloor.web_driver import BrowserDriver

        self.driver_class = BrowserDriver
        self._personal = kwargs.get("actor") is not None  # not a workshop PC's sign-in screen

    def start_session(self, actor: Actor) -> None:
        super().start_session(actor)
        assert self.session_ctx is not None
        self.session_ctx.browser = self

    # -- files to and from the browser -----------------------------------------------------------
    def download(self, name: str, content: bytes, mime_type: str | None = None) -> None:
        """Hand ``content`` to the browser as ``name`` (Textual's delivery to a web page); from
        any thread."""
        if threading.get_ident() != self._thread_id:
            self.call_from_thread(self.download, name, content, mime_type)
            return
        PrepfloorApp.deliver_binary(
            self, io.BytesIO(content), save_directory="/", save_filename=name, mime_type=mime_type
        )

    def pick_file(self) -> None:
        driver = self._driver
        if driver is not None and hasattr(driver, "pick_file"):
            driver.pick_file()

    def deliver_binary(self, *args: Any, **kwargs: Any) -> str | None:
        return PrepfloorApp.deliver_binary(self, *args, **kwargs)

    def deliver_text(self, *args: Any, **kwargs: Any) -> str | None:
        return PrepfloorApp.deliver_text(self, *args, **kwargs)

    def on_file_arrived(self, event: Any) -> None:
        """A file uploaded or dropped on the page is in the user's files: the screen that asked
        for it attaches it; otherwise the user is told where it is."""
        handler = getattr(self.screen, "file_arrived", None)
        if handler is not None and handler(event.name, event.picked):
            return
        self.notify(
            _("{name} is in your prepfloor files: attach it from a car's documents (a).").format(
                name=event.name
            ),
            timeout=12,
        )

    async def action_sign_out(self, message: str = "") -> None:
        if self._personal and self.session_ctx is not None:
            driver = self._driver
            if driver is not None and hasattr(driver, "write_meta"):
                driver.write_meta({"type": "prepfloor_sign_out"})  # the browser's sign-in ends
            self.exit(0)
            return
        await super().action_sign_out(message)
