"""What a session hears from the database (a part of :class:`prepfloor.app.PrepfloorApp`): the
change feed, who is signed in, a write held up by another terminal, the unread count and the
alerts, the day's digest, the inbox."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from textual import work
from textual.notifications import Notification, Notify
from textual.screen import ModalScreen

from db.errors import PrepfloorError
from db.i18n import _
from db.vocab import PRIORITY_LABELS
from screens.messages import DataChanged

if TYPE_CHECKING:
    from db.access import Actor


class SessionFeed:
    """The change feed and what follows from it; mixed into the app (``self`` is the app)."""

    # -- the change feed -------------------------------------------------------------------------
    def _start_polling(self, newest: int = 0) -> None:
        """The session hears of every committed change through the database itself
        (:class:`db.feed.Watcher`: PostgreSQL LISTEN, or a watch on the SQLite files): nothing is
        asked of the database while nothing changes.  ``newest``: the event the screens' first
        reads had seen (changes after it are heard at once); 0: from the feed's start.

        Started after the first frame (:meth:`PrepfloorApp.on_mount`): its thread (inotify through
        ``ctypes``, or PostgreSQL's LISTEN connection) would otherwise share the CPU with the
        first screen.  Nothing is missed meanwhile: it hears every change after ``newest``."""
        if self._exit or self._closing:  # the app closed before its first frame
            return
        from db.feed import Watcher

        self._watcher = Watcher(self.store.url, self._heard, newest).start()

    def _heard(self, change: Any) -> None:
        """In the watcher's thread: hand the change to the app's thread."""
        with contextlib.suppress(Exception):  # the app is closing
            self.call_from_thread(self._changed, change)

    async def on_unmount(self) -> None:
        watcher = getattr(self, "_watcher", None)
        if watcher is not None:
            watcher.stop()

    def _changed(self, change: Any) -> None:
        """A change was committed (here or elsewhere): the screen reloads what it touched."""
        if self.session_ctx is None:
            return
        self._last_event_id = change.newest
        if change.quiet:
            return  # a sign-in somewhere: nothing on screen changed
        if change.touches("users", "dealership"):
            self._ask_who_is_signed_in()
        for screen in self._shown_screens():
            screen.post_message(DataChanged(change))
        self.refresh_unread()

    def _shown_screens(self) -> list[Any]:
        """The screens on view: the top one and, while it is a dialog, the screens it is drawn
        over (the grid's line under the booking form must not say what was true before another
        terminal's change)."""
        shown = []
        for screen in reversed(self.screen_stack):
            shown.append(screen)
            if not isinstance(screen, ModalScreen):
                break
        return shown

    # -- who is signed in -----------------------------------------------------------------------
    def _signed_out_by_write(self, refusal: PrepfloorError) -> None:
        """``Store.on_signed_out`` (called in the thread of the write): the user was switched off
        or their role or dealership changed, so the write was refused; back to the sign-in screen
        with the refusal's words."""
        ctx = self.session_ctx
        if ctx is None or getattr(refusal, "user_id", None) not in (None, ctx.actor.user_id):
            return
        # ``call_later`` posts a message: safe from any thread, and it does not wait for the
        # sign-out (which tears down the screen whose worker is calling).
        self.call_later(self._sign_out_changed_user, ctx.actor, str(refusal))

    def _write_waiting(self, waiting: bool) -> None:
        """``Store.on_wait`` (any thread): a save has waited about a second for another
        terminal's change (``True``), or is through or given up (``False``: the toast goes; a
        refusal is said in its own words)."""
        if threading.get_ident() == self._thread_id:
            self._show_waiting(waiting)
        else:
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.call_from_thread(self._show_waiting, waiting)

    def _show_waiting(self, waiting: bool) -> None:
        if waiting:  # this says why keys wait: not also that they are kept
            self._held_note = self._swap_note(self._held_note)
        self._waiting_note = self._swap_note(
            self._waiting_note,
            _("Waiting for another terminal's change…") if waiting else None,
            _("Saving") if self.session_ctx is not None else _("Signing in"),
            self.store.write_wait,
        )

    def _swap_note(
        self, old: Notification | None, text: str | None = None, title: str = "", timeout: float = 0
    ) -> Notification | None:
        """A toast that stays while something lasts (at most ``timeout`` seconds): ``old`` taken
        down (if still up), ``text`` put up (if any); returns the new one."""
        if old is not None and old in self._notifications:
            self._unnotify(old)
        if text is None:
            return None
        note = Notification(text, title, "information", timeout, markup=False)
        self.post_message(Notify(note))
        return note

    def _ask_who_is_signed_in(self) -> None:
        """When the feed moved: check who is signed in, unless a check is still running (one at
        a time, none cancelled: the next move of the feed asks again)."""
        if self.session_ctx is None or self._who_check_running:
            return
        self._who_check_running = True
        self._check_signed_in_user()

    @work(thread=True, group="poll-who", exit_on_error=False)
    def _check_signed_in_user(self) -> None:
        """Is the signed-in user still active, with the same role and dealership?  One
        primary-key read; if not, sign out and say why."""
        try:
            ctx = self.session_ctx
            if ctx is None:
                return
            try:
                problem = self.store.fast.actor_change(ctx.actor)
            except Exception as error:  # a dropped connection: the next change asks again
                self.log.error(f"who is signed in: {error!r}")
                return
            if problem is not None:
                self.call_later(self._sign_out_changed_user, ctx.actor, problem)
        finally:
            self._who_check_running = False

    async def _sign_out_changed_user(self, actor: Actor, message: str) -> None:
        """Sign out, if ``actor`` is still the one signed in (not someone who signed in since)."""
        if self.session_ctx is not None and self.session_ctx.actor == actor:
            await self.action_sign_out(message)

    @work(thread=True, group="digest", exit_on_error=False)
    def _deliver_digest(self, actor: Actor) -> None:
        """The day's digest note at the first sign-in of the day, then the header's count."""
        from db import inbox

        if not inbox.digest_due(self.store.fast, actor.user_id):
            return  # most sign-ins: nothing to write, and no ORM to load for it
        if self.store.run(inbox.deliver_digest, actor):
            self.call_from_thread(self.refresh_unread)

    @work(thread=True, exclusive=True, group="poll-notes", exit_on_error=False)
    def refresh_unread(self) -> None:
        """The header's unread count, and a toast for each new high or urgent notification."""
        from db import inbox

        ctx = self.session_ctx
        if ctx is None:
            return
        fast, me = self.store.fast, ctx.actor.user_id
        count = inbox.unread_count(fast, me)
        alerts = []
        if self._last_note_id is None:
            self._last_note_id = inbox.newest_id(fast, me)
        else:
            alerts = inbox.alerts_since(fast, me, self._last_note_id)
            if alerts:
                self._last_note_id = alerts[-1].id
        self.call_from_thread(self._show_notes, count, alerts)

    def _show_notes(self, count: int, alerts: list[Any]) -> None:
        self.unread = count
        for note in alerts:
            self.notify(
                _("{message} (f8: inbox)").format(message=note.message),
                title=PRIORITY_LABELS[note.priority]
                if note.priority in PRIORITY_LABELS
                else note.priority.capitalize(),
                severity="error" if note.priority == "urgent" else "warning",
                timeout=15,
            )

    def action_inbox(self) -> None:
        from screens.inbox import InboxScreen

        if self.session_ctx is None or isinstance(self.screen, InboxScreen):
            return
        self.push_screen(InboxScreen(self.session_ctx))
