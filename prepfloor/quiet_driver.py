"""A terminal driver whose input thread sleeps until a key comes.

Textual's Linux driver (8.2.8) reads keys in a thread that looks up from its wait ten times a
second, key or not, to notice when to stop and to time out an escape sequence typed half-way.
On a shop server with fifty sessions open and nobody typing, those wake-ups are most of what the
sessions cost (measured: a bare Textual app idles at about 1 ms of CPU a second; fifty of them are
5 % of a core).  This driver's thread waits on the terminal and on a pipe of its own, with no
time limit unless the parser holds part of an escape sequence (then as Textual does, a tenth of a
second, so that a lone Escape still arrives).  Stopping the input writes to the pipe, so the
thread ends at once.  Everything else is Textual's driver.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver

ESCAPE_WAIT = 0.1  # seconds: how often a half-read escape sequence is looked at (as Textual)


class _WakingEvent(threading.Event):
    """The driver's stop flag: setting it also wakes the sleeping input thread."""

    def __init__(self, driver: QuietDriver) -> None:
        super().__init__()
        self._driver = driver

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):
            os.write(self._driver._wake_write, b"\0")


def typed_enter(event: Any) -> Any:
    """Enter typed before prepfloor had the terminal (while the program started: the terminal was
    still in its line mode, which turns the Enter key's CR into LF) reads as Enter, not as
    ``ctrl+j``: "per⏎1234⏎" typed as an SSH session opens signs Per in.  A paste is one event of
    its own and keeps its line breaks."""
    if isinstance(event, events.Key) and event.key == "ctrl+j":
        return events.Key("enter", "\r")
    return event


class QuietDriver(LinuxDriver):
    """Textual's Linux driver, with an input thread that sleeps while nobody types."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read = self._wake_write = -1  # the pipe: made when the input starts
        self._suspended = False
        self.exit_event = _WakingEvent(self)

    def start_application_mode(self) -> None:
        if self._wake_read < 0:  # first start, or back from a suspend (which closed the pipe)
            self._wake_read, self._wake_write = os.pipe()
            os.set_blocking(self._wake_read, False)
        super().start_application_mode()

    def suspend_application_mode(self) -> None:
        super().suspend_application_mode()
        self._suspended = True

    def resume_application_mode(self) -> None:
        """Back from a suspend (ctrl+z, then ``fg``), and only then.  A terminal that hangs up
        (an SSH link dropped) sends SIGCONT along with SIGHUP; Textual resumes on every SIGCONT,
        and so started the app's terminal mode a second time in a session that was ending: a
        second input thread, on a closed pipe, that the session's exit then waited for forever
        (a served session outlived its connection, holding its memory and the database)."""
        if not self._suspended:
            return
        self._suspended = False
        super().resume_application_mode()

    def run_input_thread(self) -> None:
        from textual._xterm_parser import XTermParser

        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        with selectors.DefaultSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ, "keys")
            selector.register(self._wake_read, selectors.EVENT_READ, "wake")
            while not self.exit_event.is_set():
                # no time limit unless an escape sequence is half read
                waiting = getattr(parser, "_timeout_time", None) is not None
                for key, _mask in selector.select(ESCAPE_WAIT if waiting else None):
                    if key.data == "wake":
                        with contextlib.suppress(OSError):
                            os.read(self._wake_read, 512)
                        continue
                    data = os.read(self.fileno, 4096)
                    if not data:  # the terminal is gone: nothing more to read from it
                        selector.unregister(self.fileno)
                        continue
                    for event in parser.feed(decode(data)):
                        self.process_message(typed_enter(event))
                for event in parser.tick():
                    self.process_message(event)
        with contextlib.suppress(Exception):
            for _event in parser.feed(""):
                pass

    def close(self) -> None:
        super().close()
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_read = self._wake_write = -1
