"""One app session of ``prepfloor serve``: the SSH channel on one side, a pty on the other, and the
app (a child of the zygote) on the pty's far side.  Bytes are copied both ways with flow control,
window-size changes are forwarded, and the session's end is told to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import signal
import struct
import termios
from typing import TYPE_CHECKING, Any

import asyncssh

from db.i18n import _
from prepfloor.early_keys import as_typed
from prepfloor.serve_limits import BUSY

if TYPE_CHECKING:
    from prepfloor.serve import Hub
    from prepfloor.serve_door import Door

log = logging.getLogger("prepfloor.serve")

HANGUP_GRACE_SECONDS = 0.5  # a session whose client vanished gets this long, then SIGKILL
MAX_TERMINAL = (1000, 500)  # columns, rows: a client cannot make the app lay out a huge screen
INPUT_BACKLOG = 65536  # bytes of keys waiting for the app before the client is held back


class AppSession(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """One SSH session: a pty, and the app in a child of the zygote on its other side."""

    def __init__(self, hub: Hub, door: Door) -> None:
        self.hub = hub
        self.door = door
        self.chan: Any = None
        self.number: int | None = None
        self.term = ""
        self.size: tuple[int, int, int, int] | None = None
        self.pty_fd = -1  # our side
        self.slave_fd = -1  # the session's side, kept until the zygote has forked
        self.pid = 0
        self.pending = b""
        self.paused = False
        self.closed = False
        self.task: asyncio.Future[None] | None = None
        self.farewell = ""
        self.requested = False  # the fork request went to the zygote

    # -- what the client asks for ----------------------------------------------------------------
    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        self.term = term_type
        self.size = tuple(term_size)  # type: ignore[assignment]
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.door.refused(f"command {command[:60]!r}")
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        self.door.refused(f"subsystem {subsystem!r}")
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def eof_received(self) -> bool:
        return True  # a terminal session ends when the app does

    def session_started(self) -> None:
        if self.size is None:
            self.door.refused("a session without a terminal")
            self.close(1, _("prepfloor needs a terminal: connect with ssh -t.") + "\r\n")
            return
        refused, message = self.hub.refusal(self.login)
        if refused:
            self.door.refused(refused)
            self.close(1, message)
            return
        try:
            self.pty_fd, self.slave_fd = os.openpty()
        except OSError as error:  # out of descriptors (or ptys): said once a minute, not raised
            self.hub.out_of_resources(error, "a session could not get a terminal")
            self.close(1, _(BUSY) + "\r\n")
            return
        # keys that come before the app has the terminal reach it as typed (ctrl+s, Enter, ctrl+c:
        # keys, not flow control, a newline or a signal), and are not echoed back
        with contextlib.suppress(termios.error):  # the app still sets the mode when it starts
            modes = as_typed(termios.tcgetattr(self.slave_fd), signals=False)
            termios.tcsetattr(self.slave_fd, termios.TCSANOW, modes)
        self.number = self.hub.add(self)
        self._set_size()
        os.set_blocking(self.pty_fd, False)
        self.task = asyncio.ensure_future(self._spawn())

    async def _spawn(self) -> None:
        zygote = self.hub.zygote
        while True:
            await zygote.ready
            if self.closed or self.slave_fd < 0 or self.pid:
                return
            if zygote.sock is not None:
                break
            await asyncio.sleep(0)  # it died since: wait for the next one
        who = self.door.who
        zygote.spawn(
            {"id": self.number, "login": who.login, "terminal": who.is_terminal, "term": self.term},
            self.slave_fd,
        )
        self.requested = True

    def zygote_restarted(self) -> None:
        if self.requested and not self.pid and self.slave_fd >= 0:
            self.requested = False
            self.task = asyncio.ensure_future(self._spawn())

    def started(self, pid: int) -> None:
        self.pid = pid
        os.close(self.slave_fd)
        self.slave_fd = -1
        log.info(
            "session %s: %s from %s runs as pid %s%s",
            self.number,
            self.door.who.login,
            self.door.address,
            pid,
            " (terminal: sign-in screen)" if self.door.who.is_terminal else "",
        )
        asyncio.get_running_loop().add_reader(self.pty_fd, self._pty_readable)

    # -- bytes both ways -------------------------------------------------------------------------
    def data_received(self, data: bytes, datatype: Any) -> None:
        if self.pty_fd < 0:
            return
        self.pending += data
        self._flush_input()

    def _flush_input(self) -> None:
        loop = asyncio.get_running_loop()
        while self.pending and self.pty_fd >= 0:
            try:
                written = os.write(self.pty_fd, self.pending)
            except BlockingIOError:
                loop.add_writer(self.pty_fd, self._flush_input)
                if len(self.pending) > INPUT_BACKLOG and self.chan is not None:
                    self.chan.pause_reading()  # the app is not reading: hold the client back
                return
            except OSError:
                self.pending = b""
                break
            self.pending = self.pending[written:]
        if self.pty_fd >= 0:
            loop.remove_writer(self.pty_fd)
        if self.chan is not None:
            self.chan.resume_reading()

    def _read_pty(self) -> bool:
        """Copy what the app wrote to the client; False once the pty has no writer left."""
        try:
            data = os.read(self.pty_fd, 65536)
        except BlockingIOError:
            return True
        except OSError as error:
            if error.errno != errno.EIO:
                log.warning("session %s: pty read failed: %s", self.number, error)
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.pty_fd)
            return False
        self.chan.write(data)
        return True

    def _pty_readable(self) -> None:
        self._read_pty()

    def pause_writing(self) -> None:
        if self.pty_fd >= 0 and not self.paused:
            self.paused = True
            asyncio.get_running_loop().remove_reader(self.pty_fd)

    def resume_writing(self) -> None:
        if self.pty_fd >= 0 and self.paused:
            self.paused = False
            asyncio.get_running_loop().add_reader(self.pty_fd, self._pty_readable)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width, height, pixwidth, pixheight)
        self._set_size()

    def _set_size(self) -> None:
        if self.pty_fd >= 0 and self.size is not None:
            width, height, pixwidth, pixheight = self.size
            width = max(1, min(width, MAX_TERMINAL[0]))
            height = max(1, min(height, MAX_TERMINAL[1]))
            pixwidth, pixheight = min(pixwidth, 65535), min(pixheight, 65535)
            winsize = struct.pack("HHHH", height, width, pixwidth, pixheight)
            fcntl.ioctl(self.pty_fd, termios.TIOCSWINSZ, winsize)

    # -- the end ---------------------------------------------------------------------------------
    def child_exited(self, code: int) -> None:
        while self.pty_fd >= 0 and self._read_pty() and not self.paused:
            pass  # the app's last frame (the restored terminal) goes to the client first
        how = f"exit code {code}" if code >= 0 else f"signal {-code}"
        log.info(
            "session %s: %s from %s ended (%s)", self.number, self.login, self.door.address, how
        )
        message = ""
        if code < 0:
            message = "\r\n" + _("prepfloor stopped unexpectedly; sign in again.") + "\r\n"
        self.pid = 0
        self.close(code if code >= 0 else 128 - code, message)

    @property
    def login(self) -> str:
        return self.door.who.login if self.door.who else self.door.username

    def end(self, signum: int, message: str) -> None:
        """Ask the app to exit (SIGTERM, SIGHUP) or end it (SIGKILL); ``message`` is said after
        the app has restored the terminal."""
        self.farewell = self.farewell or message
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def close(self, code: int, message: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.hub.remove(self.number)
        message = self.farewell or message
        if self.chan is not None:
            try:
                if message:
                    self.chan.write_stderr(message.encode())
                self.chan.exit(code)
            except Exception as error:  # the channel is already closing
                log.info("session %s: could not report its end: %r", self.number, error)
        self._close_pty()

    def _close_pty(self) -> None:
        loop = asyncio.get_running_loop()
        for attr in ("pty_fd", "slave_fd"):
            fd = getattr(self, attr)
            if fd >= 0:
                loop.remove_reader(fd)
                loop.remove_writer(fd)
                os.close(fd)
                setattr(self, attr, -1)

    def connection_lost(self, exc: Exception | None) -> None:
        """The client went away (or the channel closed): the app goes too."""
        if self.pid:
            log.info("session %s: %s from %s hung up", self.number, self.login, self.door.address)
            pid = self.pid
            self.end(signal.SIGHUP, "")
            asyncio.get_running_loop().call_later(HANGUP_GRACE_SECONDS, _kill_if_alive, self, pid)
        self.chan = None
        self.closed = True
        self.hub.remove(self.number)
        self._close_pty()


def _kill_if_alive(session: AppSession, pid: int) -> None:
    if session.hub.by_pid.get(pid) is session:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
