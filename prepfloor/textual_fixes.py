"""A fault in the Textual release prepfloor pins (8.2.8), mended until Textual mends it.

A toast takes its time left when it is made and starts its timer when it is mounted.  The toast
rack makes one for each notification that has not expired yet; one that expires in the
microseconds between that check and the toast's ``__init__`` gets a negative time left.  Textual's
timer, given a negative delay, counts backwards for ever without yielding: the session freezes at
100 % CPU.  It happens when a toast runs out at the moment a screen is switched (the rack is then
shown again on the new screen), which on a busy floor is a matter of time.  The mend: a toast's
timer never starts below one millisecond.  ``tests/test_typeahead.py`` holds it.
"""

from __future__ import annotations

from textual.events import Mount
from textual.widgets._toast import Toast

SHORTEST = 0.001  # seconds


def _on_mount(self: Toast, _event: Mount) -> None:
    self.set_timer(max(self._timeout, SHORTEST), self._expire)


Toast._on_mount = _on_mount  # type: ignore[method-assign]
