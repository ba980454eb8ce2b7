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

A worker of a screen that has closed (a form saved and closed while it still read who has room)
may answer after the screen's widgets are gone: its query finds nothing.  That is not a failure
the user can do anything about, and the screen it was for is gone: it is logged, not said.

Both use private parts of Textual 8.2.8 (``App._workers``, ``WorkerManager._remove_worker``,
``App._dispatch_action``, ``App._screen_stacks``); ``tests/test_failures.py`` holds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.css.query import QueryError
from textual.notifications import SeverityLevel
from textual.worker import Worker, WorkerState
from textual.worker_manager import WorkerManager

from db.i18n import _
from db.text import clean, one_line

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


def closed(app: App[Any], node: Any) -> bool:
    """Has the screen of ``node`` (a screen or a widget) been closed: taken off every screen stack
    of the app (Textual removes its widgets after that, while its workers may still answer)?"""
    from textual.screen import Screen

    try:
        screen = node if isinstance(node, Screen) else node.screen
    except Exception:  # no longer in the DOM
        return True
    stacks = getattr(app, "_screen_stacks", None) or {"": app.screen_stack}
    return not any(screen in stack for stack in stacks.values())


def install(app: App[Any]) -> None:
    """Watch ``app``'s workers (call it in the app's constructor, before any worker starts)."""
    app._workers = WatchedWorkers(app)


class SaysFailures:
    """Toasts of plain text, and a failed worker or action said where the user is looking; mixed
    into the app (``self`` is the app)."""

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast of plain text: a message quotes what people typed (a part, a name), so it is
        never read as markup and carries no control character, whatever the caller asks."""
        super().notify(
            clean(str(message)),
            title=one_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def worker_failed(self, worker: Worker[Any]) -> None:
        """A worker of any screen ended in an error (:mod:`prepfloor.failures`): say it where the
        user is looking.  The change feed's poll tries again by itself; the write path loaded
        ahead of a save (``warm-writes``) is loaded again by the save, which says what fails."""
        error = worker.error
        self.log.error(f"worker {worker.name!r} of {worker.node!r} failed: {error!r}")
        if worker.group in ("poll", "warm-writes") or error is None:
            return
        if isinstance(error, QueryError) and closed(self, worker.node):
            return  # a late answer for a screen that has closed: nothing is left to show it in
        from db.failures import describe

        message = describe(error)
        node = worker.node
        # a screen that was saving takes it back (its form stays open with what was typed)
        takes_it = getattr(node, "worker_failed", None) if node is not self else None
        if takes_it is not None and takes_it(worker, message):
            return
        self.notify(message, title=_("Not done"), severity="error", timeout=15)

    def say_failure(self, error: BaseException, doing: str = "") -> None:
        """A failed read or write, in plain words: what failed, that nothing was saved, what to
        do (:func:`db.failures.describe`).  A form that was saving stays open with what was
        typed; the session keeps running."""
        from db.failures import describe

        self.notify(describe(error, doing), title=_("Not done"), severity="error", timeout=15)

    async def _dispatch_action(self, namespace: Any, action_name: str, params: Any) -> bool:
        """An action that fails on the database says so and the session keeps running (Textual
        would end the app)."""
        from db.failures import is_database_fault

        try:
            return await super()._dispatch_action(namespace, action_name, params)
        except Exception as error:
            if not is_database_fault(error):
                raise
            self.log.error(f"action {action_name!r} failed: {error!r}")
            self.say_failure(error)
            return True
