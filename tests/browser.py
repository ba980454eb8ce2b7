"""A real browser for the tests of prepfloor in a web page: Debian's ``chromium``, headless, driven
by Playwright, and what the page shows read back from the bytes its terminal is given.

The terminal in the page (xterm.js in Textual's ``textual.js``) draws on a canvas, so there is no
text in the page to read.  :class:`PageScreen` listens to the page's websocket as the browser
receives it (Playwright's frame events) and feeds every frame to a terminal emulator (``pyte``)
of the page's size: what it shows is what the page drew.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from test_serve import wait_for

CHROMIUM = os.environ.get("PREPFLOOR_CHROMIUM") or shutil.which("chromium") or ""
# As the machine's own check starts it: no sandbox as root, no GPU, and no background traffic
# (updates, sync, field trials) that a closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]
LIMIT = 30.0


def needs_chromium() -> pytest.MarkDecorator:
    """Skip without a browser, unless CI requires one (``.ci/run`` installs it)."""
    missing = not CHROMIUM
    if missing and os.environ.get("PREPFLOOR_REQUIRE_BROWSER"):
        raise RuntimeError("PREPFLOOR_REQUIRE_BROWSER is set but there is no chromium")
    return pytest.mark.skipif(
        missing, reason="Debian's chromium is needed (apt install chromium); .ci/run installs it"
    )


def launch(playwright: Any, *extra: str) -> Any:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra], headless=True
    )


class PageScreen:
    """What the page's terminal shows, from the frames the browser received."""

    def __init__(self, page: Any) -> None:
        import pyte

        self.page = page
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.sockets: list[Any] = []
        self.heard: list[Any] = []  # the JSON messages the page received
        page.on("websocket", self._socket)

    def _socket(self, ws: Any) -> None:
        query = parse_qs(urlparse(ws.url).query)
        if "width" in query and "height" in query:
            self.screen.resize(int(query["height"][0]), int(query["width"][0]))
        self.sockets.append(ws)
        ws.on("framereceived", self._received)
        ws.on("framesent", self._sent)

    def _received(self, payload: Any) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)
        else:
            self.heard.append(json.loads(payload))

    def _sent(self, payload: Any) -> None:
        if isinstance(payload, str):
            message = json.loads(payload)
            if message[0] == "resize":
                size = message[1]
                self.screen.resize(size["height"], size["width"])

    def text(self) -> str:
        self.page.wait_for_timeout(10)  # let Playwright deliver the frames it has
        return "\n".join(self.screen.display)

    def wait_text(self, *texts: str, limit: float = LIMIT) -> str:
        def shown() -> str | None:
            now = self.text()
            return now if all(t in now for t in texts) else None

        try:
            return wait_for(shown, f"{texts!r} on the page", limit)
        except AssertionError:
            raise AssertionError(f"{texts!r} never shown; the page shows:\n{self.text()}") from None

    def keys(self, *keys: str) -> None:
        """Press keys in the terminal (Playwright's names: "F2", "Enter", "a")."""
        self.page.locator(".xterm-helper-textarea").focus()
        for key in keys:
            self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.locator(".xterm-helper-textarea").focus()
        self.page.keyboard.type(text)
