"""The driver of a browser session of ``prepfloor serve``: Textual's web driver, which speaks the
packet protocol of Textual's web tools on fds 0 and 1 (a socket to the server), plus what a browser
session hands the app: a file the user uploaded or dropped on the page.

The server (:mod:`prepfloor.serve_web`) copies the browser's keys and sizes in, and the app's
frames, downloads and requests out; the app never touches the network itself.
"""

from __future__ import annotations

from typing import Any

from textual.drivers.web_driver import WebDriver
from textual.message import Message


class FileArrived(Message):
    """A file the user uploaded (picked or dropped on the page) is now in their file area."""

    def __init__(self, name: str, picked: bool) -> None:
        super().__init__()
        self.name = name
        self.picked = picked  # chosen in the picker the app asked for (not just dropped)


class BrowserDriver(WebDriver):
    """:class:`WebDriver` that also hears of uploads and can ask the page for its file picker.

    When the page has gone (the server closed the socket), what the app still writes while it
    leaves is dropped: there is nobody to show it to, and the app must exit cleanly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = self._write

        def write(data: bytes) -> None:
            try:
                view = memoryview(data)
                while view:  # a socket may take part of a large frame
                    view = view[raw(view) :]
            except (BrokenPipeError, ConnectionResetError):
                self.gone = True

        self.gone = False
        self._write = write  # type: ignore[method-assign]

    def on_meta(self, packet_type: str, payload: dict[str, object]) -> None:
        if packet_type == "prepfloor_file":
            name = payload.get("name")
            if isinstance(name, str) and name:
                self._app.post_message(FileArrived(name, bool(payload.get("picked"))))
            return
        super().on_meta(packet_type, payload)

    def pick_file(self) -> None:
        """Ask the page to open the browser's file picker."""
        self.write_meta({"type": "prepfloor_pick"})
