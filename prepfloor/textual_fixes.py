"""Faults in the Textual release prepfloor pins (8.2.8), mended until Textual mends them.

**A toast's timer.**  A toast takes its time left when it is made and starts its timer when it is
mounted.  The toast rack makes one for each notification that has not expired yet; one that
expires in the microseconds between that check and the toast's ``__init__`` gets a negative time
left.  Textual's timer, given a negative delay, counts backwards for ever without yielding: the
session freezes at 100 % CPU.  It happens when a toast runs out at the moment a screen is switched
(the rack is then shown again on the new screen), which on a busy floor is a matter of time.  The
mend: a toast's timer never starts below one millisecond.  ``tests/test_typeahead.py`` holds it.

**A frame drawn to be thrown away.**  While a batch of updates is open (the app's start, from its
compose to its mount, is one), Textual's ``App._display`` drops every frame, but a screen whose
layout changed meanwhile still draws one in full (``Screen._compositor_refresh``, called later
and still within the batch): at start, the whole first screen was drawn once for nothing (a
twentieth of the start-up).  The mend: a screen draws nothing while a batch is open, and draws
itself (in full: its compositor still holds the whole screen as changed) once the batch has
ended, unless it has been drawn since.  ``tests/test_start_first_frame.py`` holds it.

**Eager tasks on Python 3.12 and later.**  ``App.run_async`` makes the event loop start every
new task at once (``asyncio.eager_task_factory``, which Python 3.11 does not have), where tests
(``App.run_test``) start them on the loop's next turn.  A mode's first screen is then composed
and mounted inside ``App._init_mode``, before Textual records it as the mode's screen: an
``Input`` on it asks for the app's screen while it mounts, finds none, and the app ends with
"No known mode" (prepfloor's sign-in screen on every start, and the first screen of each mode).
The mend: the app's tasks start on the loop's next turn, as on Python 3.11, where every test and
every walk of prepfloor runs.  ``tests/test_eager_tasks.py`` holds it.

**Closed widgets kept in memory.**  ``StylesCache.get_inner_outer`` is a method under
``functools.lru_cache``, so its cache's keys hold the widget's styles cache itself, and with it
every line the widget last drew: the last 1,024 of them stay alive after their widgets are gone.
In a session that opens car after car, memory grew by about 35 MB over the first hundred car views
(Textual's issue 6665).  The mend: the same two styles, cached by the two colours alone.
``tests/test_closed_screens.py`` holds it.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from textual._styles_cache import StylesCache
from textual.app import App
from textual.color import Color
from textual.events import Mount
from textual.screen import Screen
from textual.style import Style
from textual.widgets._toast import Toast

SHORTEST = 0.001  # seconds


def _on_mount(self: Toast, _event: Mount) -> None:
    self.set_timer(max(self._timeout, SHORTEST), self._expire)


Toast._on_mount = _on_mount  # type: ignore[method-assign]


_compositor_refresh = Screen._compositor_refresh
_end_batch = App._end_batch


def _refresh_after_batch(self: Screen[Any]) -> None:
    app = self.app
    if app._batch_count and not app.is_inline and self is app.screen:
        app._screens_not_drawn = {*getattr(app, "_screens_not_drawn", ()), self}
        return
    _compositor_refresh(self)


def _end_batch_and_draw(self: App[Any]) -> None:
    _end_batch(self)
    if not self._batch_count:
        waiting: set[Screen[Any]] = getattr(self, "_screens_not_drawn", set())
        self._screens_not_drawn = set()
        for screen in waiting:
            screen.call_later(_draw_if_still_changed, screen)


def _draw_if_still_changed(screen: Screen[Any]) -> None:
    """The frame held back by the batch, unless the screen has been drawn since."""
    if screen.is_attached and screen._compositor._dirty_regions:
        _refresh_after_batch(screen)


Screen._compositor_refresh = _refresh_after_batch  # type: ignore[method-assign]
App._end_batch = _end_batch_and_draw  # type: ignore[method-assign]


_process_messages = App._process_messages


async def _process_messages_not_eagerly(self: App[Any], *args: Any, **kwargs: Any) -> None:
    loop = asyncio.get_running_loop()
    if loop.get_task_factory() is getattr(asyncio, "eager_task_factory", object()):
        loop.set_task_factory(None)
    await _process_messages(self, *args, **kwargs)


App._process_messages = _process_messages_not_eagerly  # type: ignore[method-assign]


@lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    return Style(background=base_background + background), Style(background=base_background)


StylesCache.get_inner_outer = staticmethod(_inner_outer)  # type: ignore[method-assign,assignment]
