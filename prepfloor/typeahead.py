"""Type-ahead: every key is handled in the order it arrived, by the widget that has focus once the
previous key's effects are done.

Textual hands a key to the focused widget the moment the app takes the key off its queue.  What a
key does often takes effect later: ``focus()`` is applied by a callback queued behind the keys that
are already waiting, a pushed screen composes and mounts in its own task, a form fills itself from
a worker thread.  Keys that arrive in one burst (a paste, a badge or barcode reader, an SSH link
that stalls and then catches up, a fast typist on a busy server) then reach the widget that had
focus a moment before: ``16`` typed on a capacity cell saved 6 hours.

:class:`TypeAhead` is the one mechanism for every screen.  A key (or a paste) that arrives while the
effects of the previous one are still settling waits in a backlog.  *Settled* means:

* every message pump of the app and of its current screen has handled what was queued before (a
  barrier, the way Textual's Pilot waits between keys), repeated until a round queued nothing new
  and neither the screen nor the focus changed;
* the workers started since the key have finished (a form that loads its data in a thread, a
  sign-in or a save that waits for another terminal's change, a check that opens the next step,
  the command palette gathering what matches the query typed so far: an Enter that arrives before
  it has finished would pick a stale result).

Then the next key is handed over, as if the user had waited.  A key that arrives when nothing is
settling is handled at once: typing at a human pace costs nothing.

A key waits as long as the database may take with the previous key's work, not less: a write is
given up after the ``write_wait`` setting (10 s), and the key behind it then goes to the screen
the refusal left, as it would have had the user waited.  (A limit of a few seconds put the Space
of a mechanic's "pål⏎1234⏎ " typed while another terminal held the database on the sign-in
screen, and no clock started.)  The limit, :func:`limit_for`, is that wait and a margin for
what follows it (the next screen, its first read); past it the next key is handed over anyway, so
a key is never stuck.  While keys have waited :data:`SAY_AFTER` seconds, the app is told
(``on_held``): the user sees their keys are kept, not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

MARGIN = 5.0  # seconds a key waits beyond the database's own limit on a write (the next screen)
SAY_AFTER = 1.5  # seconds keys wait before the user is told they are kept
BARRIER_WAIT = 2.0  # seconds one round of the barrier may take
MAX_ROUNDS = 50  # barrier rounds per key


def is_typed(event: events.Event) -> bool:
    """A key or a paste from the terminal (not one Textual passes on to a widget)."""
    return isinstance(event, events.Key | events.Paste) and not event.is_forwarded


def limit_for(write_wait: float) -> float:
    """Seconds a key waits at most for what the previous key started, when a write waits at most
    ``write_wait`` seconds for another terminal's change."""
    return write_wait + MARGIN


class TypeAhead:
    """The backlog of keys of one app, and the settling after each key.

    ``limit``: seconds a key waits at most for what the previous key started (:func:`limit_for`).
    ``on_held``: told ``True`` when keys have waited :data:`SAY_AFTER` seconds, ``False`` when
    they have been handed over."""

    def __init__(
        self,
        app: App[Any],
        limit: float,
        on_held: Callable[[bool], None] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.on_held = on_held
        self._say: asyncio.TimerHandle | None = None  # tells on_held the keys wait
        self._said = False
        self.backlog: deque[events.Key | events.Paste] = deque()
        self.settling = False
        self._replay: set[int] = set()  # ids of the events handed back to the app by the gate
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    # -- what the app asks ---------------------------------------------------------------------
    def hold(self, event: events.Key | events.Paste) -> bool:
        """Keep ``event`` for later (``True``) when the previous key is still settling or keys are
        already waiting; ``False``: handle it now."""
        if id(event) in self._replay:
            self._replay.discard(id(event))
            return False
        if self.settling or self.backlog:
            self.backlog.append(event)
            self._idle.clear()
            if self._say is None and self.on_held is not None:
                self._say = asyncio.get_running_loop().call_later(SAY_AFTER, self._held)
            return True
        return False

    def starting(self) -> None:
        """The app is starting: keys typed before its first screen has settled (shown, its data
        loaded) wait, as they would behind a key that opened that screen.  Textual hands the
        app the keys that came while it started only after its mount, so none is lost before."""
        self._begin(set())

    def handled(self) -> None:
        """A key was handed to the screen: settle before the next one."""
        self._begin(self._running_ids())

    def _begin(self, before: set[int]) -> None:
        """Settle (the workers in ``before`` not waited for), then hand over the backlog."""
        if self.settling:
            return  # the running settle hands over the backlog after this key too
        self.settling = True
        self._idle.clear()
        self._task = asyncio.create_task(self._run(before))

    async def idle(self) -> None:
        """Wait until no key waits and the last one has settled (for tests and benches)."""
        await self._idle.wait()

    # -- settling ------------------------------------------------------------------------------
    async def _run(self, before: set[int]) -> None:
        try:
            while True:
                await self._settle(before)
                if not self.backlog or not self.app.is_running:
                    return
                event = self.backlog.popleft()
                if not self.backlog:
                    self._handed_over()
                before = self._running_ids()
                again = _copy(event)
                self._replay.add(id(again))
                self.app.post_message(again)
        except Exception as error:  # never leave keys stuck: hand the rest over as they are
            self.app.log.error(f"type-ahead: {error!r}")
            while self.backlog:
                again = _copy(self.backlog.popleft())
                self._replay.add(id(again))
                self.app.post_message(again)
        finally:
            self.settling = False
            self._handed_over()
            self._idle.set()

    # -- saying that keys wait -----------------------------------------------------------------
    def _held(self) -> None:
        if self.backlog and self.on_held is not None:
            self._said = True
            self.on_held(True)

    def _handed_over(self) -> None:
        """No key waits any longer."""
        if self._say is not None:
            self._say.cancel()
            self._say = None
        if self._said and self.on_held is not None:
            self._said = False
            self.on_held(False)

    async def _settle(self, before: set[int]) -> None:
        """Until every pump has handled what the last key caused, and its workers have ended."""
        deadline = time.monotonic() + self.limit
        while time.monotonic() < deadline:
            await self._quiet(deadline)
            running = [w for w in self._running_workers() if id(w) not in before]
            if not running:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.wait([asyncio.ensure_future(_finished(w)) for w in running], timeout=left)
            before |= {id(w) for w in running}  # waited for once; what they caused settles next

    async def _quiet(self, deadline: float) -> None:
        """Barrier rounds until one round queued nothing new and moved neither screen nor focus."""
        for _round in range(MAX_ROUNDS):
            if time.monotonic() >= deadline:
                return
            screen, focused = self.app.screen, self.app.focused
            pumps = self._pumps()
            await _barrier(pumps)
            if (
                screen is self.app.screen
                and focused is self.app.focused
                and all(pump.message_queue_size == 0 for pump in pumps)
            ):
                return

    def _pumps(self) -> list[MessagePump]:
        try:
            return [self.app, *self.app.screen.walk_children(with_self=True)]
        except Exception:  # no screen (starting, closing)
            return [self.app]

    def _running_workers(self) -> list[Any]:
        return [w for w in self.app.workers if w.state.name not in _ENDED]

    def _running_ids(self) -> set[int]:
        return {id(w) for w in self._running_workers()}


_ENDED = frozenset({"SUCCESS", "ERROR", "CANCELLED"})


def _copy(event: events.Key | events.Paste) -> events.Key | events.Paste:
    if isinstance(event, events.Key):
        return events.Key(event.key, event.character)
    return events.Paste(event.text)


async def _barrier(pumps: list[MessagePump]) -> None:
    """Wait until each pump has handled everything queued before this call."""
    remaining = 0
    done = asyncio.Event()

    def one_done() -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()

    for pump in pumps:
        if pump.call_later(one_done):
            remaining += 1
    if remaining:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), BARRIER_WAIT)


async def _finished(worker: Any) -> None:
    with contextlib.suppress(Exception):  # failed or cancelled: it has ended all the same
        await worker.wait()
