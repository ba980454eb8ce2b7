"""The SQLite write gate: one writer at a time on a database file, in the order they came; and
PostgreSQL's admission line, a few writers at a time on one machine.

SQLite makes a writer that finds the file locked sleep and retry (its busy handler), which wastes
most of the time under contention: with 32 sessions writing, throughput falls and the slowest writer
waits seconds.  The gate makes writers wait in line before ``BEGIN IMMEDIATE`` instead, so each one
starts the moment the previous one has committed.  Other programs that write the file still get
SQLite's busy timeout, and SQLite's own lock still keeps every write whole: the gate only orders the
writers, it never lets two transactions in at once that SQLite would not.

**A line, not a scramble** (Linux, :class:`WriteGate`): a writer takes a ticket (a counter kept in
``<database>.lock``), locks its own slot (one byte of that file) and waits for its predecessor's
slot to be let go.  Each waiter waits for exactly one other, so the one the holder lets go is the
next in line: the kernel wakes one process, and nobody is overtaken, so the longest wait is about as
long as the line times one write.  The locks are the kernel's open-file-description locks: a writer
that dies lets its slot go with its process.  A kernel without them (and other systems) get the
older gate (:class:`FlockGate`), one ``flock`` that wakes every waiter and lets whoever runs first
in, which is unfair under load (a few writers wait many turns).

The wait is bounded: when the gate is not free, a helper thread waits in the kernel's line while
the writer waits for it until its deadline; a writer that gives up leaves the helper in line, and
the helper lets its turn go the moment it gets it, unless the next writer of this process has come
for it meanwhile.  Where the lock file cannot be created (a read-only folder), writes go without the
gate.

**Lanes** (PostgreSQL, :func:`admission_for`): the same line, but a writer waits for the one
``lanes`` tickets before it, so that many write at once.  It keeps a busy machine's CPUs on the
writes under way (32 sessions writing at once on 2 CPUs each spent twice the CPU on a booking).  It
only orders: a writer that has waited its bound goes on without a turn (``or_go``), as the server's
row locks keep every write exact.  Its file is in the temporary folder, one per database, shared
by every user of the machine.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from db.errors import HeldUp

# where PostgreSQL's admission lines are kept (None: the temporary folder; the tests use their own)
LINES_FOLDER: str | None = None
SLOTS = 4096  # tickets in the ring of slots: far more than writers can ever wait at once
_COUNTER = 0  # byte 0..7: the next ticket; the lock on byte 0 guards it
_FIRST_SLOT = 8


class FlockGate:
    """The gate as one ``flock`` on ``<database>.lock`` (see the module's text)."""

    def __init__(self, database_path: str, *, path: str | None = None) -> None:
        self.path = path if path is not None else database_path + ".lock"
        self._shared = path is not None  # a file of its own in a folder every user writes
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = os.getpid()
        self._line = threading.Condition()
        self._in_line = False  # a helper thread is in the kernel's line for this process
        self._wanted = False  # a writer of this process is waiting for the helper
        self._granted = False  # the helper got the gate for the waiting writer

    # -- the lock itself: what a subclass changes ---------------------------------------------
    def _try(self, fd: int) -> bool:
        """Take the gate if it is free now."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _wait(self, fd: int) -> None:
        """Wait in the kernel's line until the gate is this process's (a helper thread)."""
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _let_go(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _forget(self) -> None:
        """A forked child starts with no place in any line."""

    # -- waiting, bounded ------------------------------------------------------------------------
    def _descriptor(self) -> int | None:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            if self._fd is not None:  # the parent's: its locks stay the parent's
                with suppress(OSError):
                    os.close(self._fd)
                self._fd = None
            try:
                self._fd = _open_shared(self.path) if self._shared else _open(self.path)
            except OSError:
                return None
            self._pid = os.getpid()
            self._line = threading.Condition()
            self._in_line = self._wanted = self._granted = False
            self._forget()
        return self._fd

    def _stand_in_line(self, fd: int) -> None:
        """The helper thread: wait for the gate, then give it to the writer or let it go."""
        try:
            self._wait(fd)
        except OSError:
            with self._line:
                self._in_line = False
                self._line.notify_all()
            return
        with self._line:
            self._in_line = False
            if self._wanted:
                self._granted = True
            else:
                self._let_go(fd)
            self._line.notify_all()

    def _send_helper(self, fd: int) -> None:
        self._in_line = True
        threading.Thread(
            target=self._stand_in_line, args=(fd,), name="prepfloor-gate", daemon=True
        ).start()

    def _take(self, fd: int, deadline: float) -> bool:
        """Take the gate before ``deadline`` (``time.monotonic()``); False when it was not."""
        with self._line:
            if not self._in_line:
                if self._try(fd):
                    return True
                self._send_helper(fd)
            self._wanted = True
            try:
                while not self._granted:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    if not self._in_line:  # the helper failed: stand in line again
                        self._send_helper(fd)
                    self._line.wait(left)
                self._granted = False
                return True
            finally:
                self._wanted = False

    @contextmanager
    def held(self, deadline: float | None = None, *, or_go: bool = False) -> Iterator[None]:
        """The gate, for one write transaction; :class:`HeldUp` when it is not free by
        ``deadline`` (``time.monotonic()``; None: wait as long as it takes), or with ``or_go``
        the transaction then goes on without it (an admission gate: the database's own locks
        keep the write exact)."""
        began = time.monotonic()
        end = deadline if deadline is not None else float("inf")
        wait = min(end - began, threading.TIMEOUT_MAX)
        if not self._thread_lock.acquire(timeout=max(wait, 0)):
            if not or_go:
                raise HeldUp(time.monotonic() - began)
            yield  # another write of this process holds the turn
            return
        try:
            fd = self._descriptor()
            if fd is None:
                yield
                return
            if not self._take(fd, end):
                if not or_go:
                    raise HeldUp(time.monotonic() - began)
                yield  # its helper stays in line, and lets the turn go when it comes
                return
            try:
                yield
            finally:
                self._let_go(fd)
        finally:
            self._thread_lock.release()


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)


def _open_shared(path: str) -> int:
    """The lock file of a gate kept in the temporary folder, for every user of this machine.
    Another user's file there is opened without ``O_CREAT`` (Linux refuses that in a sticky
    folder, ``fs.protected_regular``); a new one is made writable by all."""
    flags = os.O_RDWR | os.O_CLOEXEC
    for _ in range(3):
        try:
            return os.open(path, flags | os.O_NOFOLLOW)
        except FileNotFoundError:
            pass
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        except FileExistsError:
            continue  # made by another process in between: open it
        with suppress(OSError):
            os.fchmod(fd, 0o666)  # whatever the umask
        return fd
    raise FileNotFoundError(path)


def _range_lock(fd: int, kind: int, start: int, wait: bool) -> bool:
    """An open-file-description lock on one byte: ``kind`` F_WRLCK or F_UNLCK.  False when
    ``wait`` is off and another holds it."""
    # struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
    request = struct.pack("hhxxxxqqixxxx", kind, os.SEEK_SET, start, 1, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK, request)
        return True
    except (BlockingIOError, PermissionError):  # EAGAIN / EACCES: held by another
        if wait:
            raise
        return False


class WriteGate(FlockGate):
    """The gate as a line of tickets (see the module's text)."""

    def __init__(self, database_path: str, *, path: str | None = None, lanes: int = 1) -> None:
        super().__init__(database_path, path=path)
        self.lanes = max(1, min(lanes, SLOTS // 2))
        self._slot: int | None = None  # this process's slot in the line
        self._before: int | None = None  # the slot of the writer before it, not yet let go

    def _forget(self) -> None:
        self._slot = self._before = None

    def _ticket(self, fd: int, wait: bool) -> bool:
        """Take the next ticket: lock its slot, and note the slot before it."""
        if not _range_lock(fd, fcntl.F_WRLCK, _COUNTER, wait):
            return False
        try:
            ticket = int.from_bytes(os.pread(fd, 8, _COUNTER).ljust(8, b"\0"), "little")
            slot = _FIRST_SLOT + ticket % SLOTS
            # Free unless the ticket SLOTS before this one still waits or writes: wait for it
            # then (the counter stays locked, so nobody takes a ticket in between).
            if not _range_lock(fd, fcntl.F_WRLCK, slot, False):
                if not wait:
                    return False
                _range_lock(fd, fcntl.F_WRLCK, slot, True)
            os.pwrite(fd, (ticket + 1).to_bytes(8, "little"), _COUNTER)
        finally:
            _range_lock(fd, fcntl.F_UNLCK, _COUNTER, False)
        self._slot = slot
        # the writer ``lanes`` tickets before: with one lane, the one before; with more, as many
        # go at once (the tickets writing at once differ modulo ``lanes``)
        self._before = _FIRST_SLOT + (ticket - self.lanes) % SLOTS
        return True

    def _passed(self, fd: int, wait: bool) -> bool:
        """Has the writer before this one let its slot go?"""
        assert self._before is not None
        if not _range_lock(fd, fcntl.F_WRLCK, self._before, wait):
            return False
        _range_lock(fd, fcntl.F_UNLCK, self._before, False)
        self._before = None
        return True

    def _try(self, fd: int) -> bool:
        if self._slot is None and not self._ticket(fd, wait=False):
            return False
        return self._passed(fd, wait=False)

    def _wait(self, fd: int) -> None:
        if self._slot is None:
            self._ticket(fd, wait=True)
        self._passed(fd, wait=True)

    def _let_go(self, fd: int) -> None:
        slot, self._slot, self._before = self._slot, None, None
        if slot is not None:
            _range_lock(fd, fcntl.F_UNLCK, slot, False)


def _fair_line() -> bool:
    linux = sys.platform.startswith("linux") and struct.calcsize("P") == 8  # the layout above
    return linux and hasattr(fcntl, "F_OFD_SETLKW")


def gate_for(database_path: str) -> FlockGate:
    """The fair line where the kernel has open-file-description locks (Linux), else the flock."""
    if _fair_line():
        return WriteGate(database_path)
    return FlockGate(database_path)


def admission_for(key: str, lanes: int) -> WriteGate | None:
    """PostgreSQL: the line of this machine's sessions writing to the database named by ``key``,
    ``lanes`` at a time (None where the kernel has no fair line, or ``lanes`` is 0)."""
    if lanes < 1 or not _fair_line():
        return None
    return WriteGate(key, path=admission_path(key), lanes=lanes)


def admission_path(key: str) -> str:
    """The file of the line of the database named by ``key``: one per database, kept while the
    database is (whoever drops a database may remove it)."""
    name = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    folder = LINES_FOLDER if LINES_FOLDER is not None else tempfile.gettempdir()
    return os.path.join(folder, f"prepfloor-writes-{name}.lock")
