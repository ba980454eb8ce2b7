"""What ``prepfloor serve`` holds back under load: failed logins per address, the open-files limit,
and log lines about trouble that repeats (said once a minute, not once per connection).

* :class:`FailedLogins` counts keys refused per address; an address with too many recent ones is
  turned away for a while.  Connections that close or time out without offering a key are not
  counted: a shop's staff share one NAT address, and idle links must not lock them all out.
* :func:`raise_file_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit at start (a systemd
  service starts at 1,024); :class:`FileRoom` says whether one more connection fits, keeping some
  descriptors free for the sessions' terminals, the database and the zygote.
* :class:`Notices` writes a warning at most once a minute per kind, with how often it happened since.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from db.i18n import N_

log = logging.getLogger("prepfloor.serve")

NOTICE_EVERY = 60.0  # seconds between two log lines about the same repeating trouble
OUT_OF_FILES = (errno.EMFILE, errno.ENFILE)
OUT_OF_RESOURCES = (*OUT_OF_FILES, errno.ENOBUFS, errno.ENOMEM)
BUSY = N_("prepfloor: the server is busy; try again in a minute.")  # said: _(BUSY)


class FailedLogins:
    """Failed logins per address; an address with too many recent ones is refused for a while."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        times = self._seen.setdefault(address, deque())
        cutoff = self.clock() - self.window
        while times and times[0] < cutoff:
            times.popleft()
        return times

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())

    def blocked(self, address: str) -> bool:
        times = self._recent(address)
        if not times:
            self._seen.pop(address, None)
        return len(times) >= self.limit


class Notices:
    """Warnings about trouble that repeats: one line per kind per ``every`` seconds."""

    def __init__(self, every: float = NOTICE_EVERY, clock: Callable[[], float] = time.monotonic):
        self.every = every
        self.clock = clock
        self._last: dict[str, float] = {}
        self._since: dict[str, int] = {}

    def warn(self, kind: str, message: str) -> bool:
        """Log ``message`` unless a ``kind`` line was written less than ``every`` seconds ago;
        True when it was written."""
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._since[kind] = self._since.get(kind, 0) + 1
            return False
        again = self._since.pop(kind, 0)
        if again:
            message += f" ({again} more time{'s' if again != 1 else ''} since the last report)"
        log.warning("%s", message)
        self._last[kind] = now
        return True


def raise_file_limit() -> tuple[int, int]:
    """Raise the soft open-files limit to the hard one; (the limit now, the limit before), or
    (0, 0) where there is no limit to speak of."""
    try:
        import resource
    except ImportError:  # not a Unix
        return 0, 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 0, 0
    target = hard
    if target == resource.RLIM_INFINITY:  # Linux caps a descriptor number at fs.nr_open
        try:
            target = int(Path("/proc/sys/fs/nr_open").read_text())
        except (OSError, ValueError):
            target = 1 << 20
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target, soft
        except (OSError, ValueError) as error:
            log.warning(
                "could not raise the open-files limit from %d to %d: %s", soft, target, error
            )
    return soft, soft


def open_files() -> int | None:
    """How many descriptors this process has open (None where that cannot be read)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno in OUT_OF_FILES:
            return 1 << 30  # not even one more: certainly full
        return None


class FileRoom:
    """Whether one more connection fits under the open-files limit, keeping ``headroom``
    descriptors free for what the connections already in need (ptys, database, zygote)."""

    def __init__(self, limit: int, count: Callable[[], int | None] = open_files) -> None:
        self.limit = limit
        self.headroom = max(32, limit // 16)
        self.count = count

    def fits(self) -> bool:
        if self.limit <= 0:  # no limit
            return True
        used = self.count()
        return used is None or used + self.headroom < self.limit
