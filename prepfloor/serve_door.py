"""One connection of ``prepfloor serve``: authentication by the user's SSH key, then app sessions
(:mod:`prepfloor.serve_session`) or the user's files (:mod:`prepfloor.serve_files`), nothing else.

A connection is turned away at the door, with a message the client shows, when its address has
too many failed logins or the server has no open files to spare; only a key offered and refused
counts as a failed login.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import asyncssh

from db.i18n import _
from prepfloor.serve_files import sftp_factory, sftp_session
from prepfloor.serve_limits import BUSY
from prepfloor.serve_session import AppSession

if TYPE_CHECKING:
    from prepfloor.serve import Hub

log = logging.getLogger("prepfloor.serve")

TURN_AWAY_SECONDS = 3.0  # a connection turned away at the door is cut after this at the latest


class Door(asyncssh.SSHServer):
    """One SSH connection: authentication by key, then app sessions and nothing else.

    A failed login is a connection that offered a key and had it refused (a key that is not the
    user's, or a user who does not exist).  A connection that closes or times out without trying
    a key is logged but not counted: it proves nothing, and behind a shop's NAT every idle link
    would count against everyone."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.conn: Any = None
        self.address = "?"
        self.username = ""
        self.who: Any = None
        self.fingerprint = ""
        self.tried: list[str] = []  # fingerprints of the keys refused
        self.signed_in = False
        # turned away at the door (a blocked address, no room): not a login; (code, message)
        self.turned_away: tuple[int, str] | None = None
        self._cut: asyncio.TimerHandle | None = None
        self.unchecked = ""  # why a key could not be checked (the database failed)

    def connection_made(self, conn: Any) -> None:
        self.conn = conn
        self.hub.doors.add(self)
        peer = conn.get_extra_info("peername") or ("?",)
        self.address = str(peer[0])
        if self.hub.failures.blocked(self.address):
            log.warning(
                "refused %s: too many failed logins (wait %g s)",
                self.address,
                self.hub.limits.failed_window,
            )
            self._turn_away(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                _("prepfloor: too many failed logins from your address; try again later."),
            )
        elif not self.hub.room_for_a_connection():
            self.hub.out_of_files("new connections are turned away until some close")
            self._turn_away(asyncssh.DISC_TOO_MANY_CONNECTIONS, _(BUSY))

    def _turn_away(self, code: int, message: str) -> None:
        """Close the connection, with ``message`` for the client when it gets as far as asking
        to sign in (:meth:`begin_auth`; closed earlier, a client still sending its greeting
        fails on a broken pipe and shows nothing); one that does not within
        ``TURN_AWAY_SECONDS`` is cut."""
        self.turned_away = (code, message)
        self._cut = asyncio.get_running_loop().call_later(TURN_AWAY_SECONDS, self.conn.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.doors.discard(self)
        if self._cut is not None:
            self._cut.cancel()
        if self.turned_away or self.signed_in:
            return
        timeout = exc is not None and "timeout" in str(exc).lower()
        if self.tried:  # a key offered and refused: a failed login
            self.hub.failures.failed(self.address)
            reason = f"no registered key ({', '.join(self.tried)})"
        elif self.unchecked:
            reason = f"the key could not be checked ({self.unchecked})"
        elif timeout:
            reason = "login timeout"
        elif self.username:
            reason = "no key offered (only SSH keys are accepted)"
        else:
            reason = "closed before signing in"
        log.warning("refused login %r from %s: %s", self.username or "?", self.address, reason)

    def refused(self, what: str) -> None:
        log.warning("refused %s for %s from %s", what, self._login(), self.address)

    def _login(self) -> str:
        return self.who.login if self.who else self.username or "?"

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self.turned_away:  # the client now waits for an answer: it reads this one
            self.conn.disconnect(*self.turned_away)
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        try:
            who = await self.hub.key_login(username, fingerprint)
        except Exception as error:  # the database could not be read: not the user's failure
            self.unchecked = str(error).splitlines()[0][:200] if str(error) else repr(error)
            self.hub.notices.warn("key check", f"could not check keys: {self.unchecked}")
            return False
        if who is None:
            if fingerprint not in self.tried:
                self.tried.append(fingerprint)
            return False
        self.who = who
        self.fingerprint = fingerprint
        return True

    def auth_completed(self) -> None:
        self.signed_in = True
        log.info("login %s from %s", self.who.login, self.address)

    def session_requested(self) -> Any:
        if not self.who:
            return False
        return Channel(self.hub, self)

    def files_session(self) -> Any:
        """The session for the sftp subsystem: the user's own files; None when refused."""
        if self.who.is_terminal:
            self.refused("sftp (a shared terminal account has no files)")
            return None
        factory = sftp_factory(self.hub.files, self.who.login, self.address, self._still_allowed)
        return sftp_session(factory)

    async def _still_allowed(self) -> tuple[str, str]:
        """Why the signed-in user may no longer open their files, as the server's log says it
        and as the user is told (``("", "")`` when they may)."""
        who = await self.hub.key_login(self.who.login, self.fingerprint)
        if who is None:
            return (
                f"{self.who.login} is no longer an active user with this key.",
                _("{login} is no longer an active user with this key.").format(
                    login=self.who.login
                ),
            )
        if who.is_terminal:
            return (
                "a shared terminal account has no files.",
                _("a shared terminal account has no files."),
            )
        return "", ""

    def connection_requested(self, dest_host: str, dest_port: int, *args: Any) -> bool:
        self.refused(f"forwarding to {dest_host}:{dest_port}")
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        self.refused(f"remote forwarding of port {listen_port}")
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        self.refused("forwarding to a socket")
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        self.refused("remote forwarding of a socket")
        return False


class Channel(asyncssh.SSHServerSession):  # type: ignore[type-arg]
    """A session channel: the app (a shell on a pty), or the user's files when the client starts
    the sftp subsystem.  The client's request decides; until then, and for the app, every call goes
    to the app's session, which refuses what is not offered."""

    def __init__(self, hub: Hub, door: Door) -> None:
        self.door = door
        self.chan: Any = None
        self.inner: Any = AppSession(hub, door)

    def subsystem_requested(self, subsystem: str) -> bool:
        if subsystem != "sftp":
            return bool(self.inner.subsystem_requested(subsystem))
        files = self.door.files_session()
        if files is None:
            return False
        self.inner = files  # the app's session made nothing yet: it is simply dropped
        files.connection_made(self.chan)
        return bool(files.subsystem_requested(subsystem))

    def connection_made(self, chan: Any) -> None:
        self.chan = chan
        self.inner.connection_made(chan)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def session_started(self) -> None:
        self.inner.session_started()

    def data_received(self, data: Any, datatype: Any) -> None:
        self.inner.data_received(data, datatype)

    def eof_received(self) -> bool:
        return bool(self.inner.eof_received())

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return bool(self.inner.pty_requested(term_type, term_size, term_modes))

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.inner.terminal_size_changed(width, height, pixwidth, pixheight)

    def shell_requested(self) -> bool:
        return bool(self.inner.shell_requested())

    def exec_requested(self, command: str) -> bool:
        return bool(self.inner.exec_requested(command))

    def break_received(self, msec: int) -> bool:
        return bool(self.inner.break_received(msec))

    def signal_received(self, signal: str) -> None:
        self.inner.signal_received(signal)

    def soft_eof_received(self) -> None:
        self.inner.soft_eof_received()
