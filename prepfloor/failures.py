"""Nothing fails silently: one place where every failed action and worker of every screen is said.

Textual sends a worker's ``StateChanged`` to the widget or screen that started it, and does not
bubble it: a thread worker of a screen that failed (the database's disk full, PostgreSQL out of
connections) ended without a word, and the user saw a form close as if saved.  An exception in an
action ends the whole app.  prepfloor's database work runs in workers and actions, so the app
watches both:

* :class:`WatchedWorkers` replaces the app's worker manager; every worker that ends in ERROR, on
  any screen, is handed to ``app.say_failure``;
* the app's ``_dispatch_action`` catches a database fault raised by an action and says it
  (``PrepfloorApp``), so the session keeps running.

Both use private parts of Textual 8.2.8 (``App._workers``, ``WorkerManager._remove_worker``,
``App._dispatch_action``); ``tests/test_failures.py`` holds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.worker import Worker, WorkerState
from textual.worker_manager import WorkerManager

if TYPE_CHECKING:
    from textual.app import App


class WatchedWorkers(WorkerManager):
    """The app's workers; the ones that fail are said (``app.say_failure(worker)``)."""

    def _remove_worker(self, worker: Worker[Any]) -> None:
        super()._remove_worker(worker)
        if worker.state == WorkerState.ERROR and worker.error is not None:
            say = getattr(self._app, "worker_failed", None)
            if say is not None:
                say(worker)


def install(app: App[Any]) -> None:
    """Watch ``app``'s workers (call it in the app's constructor, before any worker starts)."""
    app._workers = WatchedWorkers(app)
