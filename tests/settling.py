"""Waiting in pilot tests until what the keys caused has taken effect.

A key pressed by the pilot can wait in the app's type-ahead backlog behind the previous key's
settle (prepfloor/typeahead.py), and be handed over after the pilot's own pause has returned: on a
busy machine the frame a test reads can then be the one before the key.  :func:`settle` waits for
the backlog, the workers and the repaint together, until a round finds all three quiet.
"""

from __future__ import annotations

import contextlib
from typing import Any

from textual.worker import WorkerCancelled, WorkerFailed


async def settle(pilot: Any, app: Any, *, failed_ok: bool = False) -> None:
    """Until no typed key waits, no worker runs and the screen has repainted.

    A worker cancelled because a newer one replaced it, or because its dialog closed after its
    write, has ended too; a failed worker is allowed with ``failed_ok`` (the app says what failed;
    the test checks what it says)."""
    allowed: tuple[type[Exception], ...] = (WorkerCancelled,)
    if failed_ok:
        allowed += (WorkerFailed,)
    for _ in range(5):
        await pilot.pause()
        await app.typeahead.idle()
        with contextlib.suppress(*allowed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        keys_waiting = app.typeahead.backlog or app.typeahead.settling
        if not keys_waiting and not any(w.is_running for w in app.workers):
            return
