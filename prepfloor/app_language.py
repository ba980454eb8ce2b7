"""The language a session speaks (a part of :class:`prepfloor.app.PrepfloorApp`): ctrl+l shows
it and changes it, and every screen is made again in the new one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from db.errors import PrepfloorError
from db.i18n import LANGUAGES, _, choose, use
from screens.modes import BY_NAME

if TYPE_CHECKING:
    from db.access import Actor


class SpeaksLanguages:
    """The user's language; mixed into the app (``self`` is the app)."""

    def action_language(self) -> None:
        """Show the language in use and change it (ctrl+l, or the palette)."""
        if self.session_ctx is None:
            return
        from screens.language import language_dialog

        self.push_screen(language_dialog(self._user_language), self._language_chosen)

    def _language_chosen(self, chosen: str | None) -> None:
        if chosen is None or self.session_ctx is None:
            return  # Escape: nothing changes
        self._save_language(self.session_ctx.actor, chosen or None)

    @work(thread=True, group="language", exit_on_error=False)
    def _save_language(self, actor: Actor, language: str | None) -> None:
        from db.users import set_language

        try:
            self.store.run(set_language, actor, actor.user_id, language)
        except PrepfloorError as refusal:
            self.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
            return
        self.call_from_thread(self._speak, actor, language)

    async def _speak(self, actor: Actor, language: str | None) -> None:
        """Speak the user's new language from now on: every screen is made again in it (a detail
        view or a list open over the mode's screen closes; an order form being typed cannot be
        open, :meth:`check_action`)."""
        if self.session_ctx is None or self.session_ctx.actor != actor:
            return
        self._user_language = language
        spoken = use(choose(language, self.site_language))
        await self.remake_screens()
        self.notify(
            _("prepfloor speaks {language} from now on.").format(language=LANGUAGES[spoken])
        )

    async def remake_screens(self) -> None:
        """Make the session's screens again (their words, their keys' labels), on the mode the
        user is on."""
        ctx = self.session_ctx
        if ctx is None:
            return
        here = self.current_mode
        names = [m.name for m in self.session_modes()]
        while len(self.screen_stack) > 1:  # dialogs and detail views over the mode's screen
            self.pop_screen()
        for name in names:
            if name != here:
                await self.remove_mode(name)
                self.add_mode(name, self._mode_factory(BY_NAME[name]))
        if here in names:
            await self.switch_mode("signin")
            await self.remove_mode(here)
            self.add_mode(here, self._mode_factory(BY_NAME[here]))
            await self.switch_mode(here)
        self._forget_intake()
        self.refresh_bindings()
