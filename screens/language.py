"""The language a user reads prepfloor in: the dialog that shows and changes it (ctrl+l, or
"Language" in the command palette), in both languages' own words so that anyone finds it."""

from __future__ import annotations

from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from db.i18n import LANGUAGES, _, current
from screens.dialogs import ChoiceDialog


def language_dialog(chosen: str | None) -> ChoiceDialog:
    """The languages, each in its own words; the one in use marked.  ``chosen``: the user's own
    choice (``None``: they follow the site's)."""
    now = current()
    choices = [(code, f"{name}{'  ✓' if code == now else ''}") for code, name in LANGUAGES.items()]
    choices.append(("", _("The site's language (as set on the server)")))
    note = (
        _("You follow the site's language now.")
        if chosen is None
        else _("Chosen by you: {language}.").format(language=LANGUAGES.get(chosen, chosen))
    )
    return ChoiceDialog(_("Language / Språk"), choices, note, current=chosen or "", saves=True)


class LanguageCommand(Provider):
    """ "Language · Språk" in the command palette."""

    def _command(self) -> tuple[str, str] | None:
        app: Any = self.app
        if getattr(app, "session_ctx", None) is None:
            return None
        return (
            _("Language / Språk: {language}").format(language=LANGUAGES[current()]),
            _("Read prepfloor in English or Norwegian (ctrl+l)"),
        )

    async def discover(self) -> Hits:
        found = self._command()
        if found is not None:
            yield DiscoveryHit(found[0], self.app.action_language, help=found[1])  # type: ignore[attr-defined]

    async def search(self, query: str) -> Hits:
        found = self._command()
        if found is None:
            return
        matcher = self.matcher(query)
        for text in (found[0], "language", "språk"):
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(found[0]),
                    self.app.action_language,  # type: ignore[attr-defined]
                    text=found[0],
                    help=found[1],
                )
                return
