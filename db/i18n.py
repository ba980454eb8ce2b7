"""The reader's language: the words of every screen, message and refusal, in English or in
Norwegian bokmål.

Text is written in English in the code and looked up in a gettext catalog
(``db/locale/<lang>/LC_MESSAGES/prepfloor.mo``, made from the ``.po`` beside it) at the moment it is
shown, so that a rule's refusal comes out in the language of the person it refuses.  One language
per process: a session (a terminal, an SSH session, a ``prepfloor`` command) chooses it with
:func:`use` when it knows who is reading: the user's own setting (``users.language``), else the
site's (``language`` in the config file), else the environment's locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``), else English.

Three ways to mark a text for the catalog:

- ``_("Saved.")`` translates now;
- ``ngettext("{n} car", "{n} cars", n)`` picks the plural form;
- ``N_("Cars")`` only marks a text written where no one reads it yet (a class's key bindings, a
  table of labels): whatever draws it calls ``_()`` on it.  :class:`Labels` is a table of such
  texts that translates each value when it is read.

Placeholders are named (``_("{car} is ready.").format(car=name)``) so that a translation may put
them in another order.  Light on purpose (only :mod:`gettext`): the first frame needs it.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

DOMAIN = "prepfloor"
LOCALE_DIR = Path(__file__).with_name("locale")

# The languages prepfloor speaks: code -> its name, as its speakers write it.
LANGUAGES: dict[str, str] = {"en": "English", "nb": "Norsk bokmål"}
DEFAULT_LANGUAGE = "en"
# The Babel locale of each language (its dates, numbers and weekdays).
BABEL_LOCALES: dict[str, str] = {"en": "en_GB", "nb": "nb_NO"}

_current = DEFAULT_LANGUAGE
_catalogs: dict[str, _gettext.NullTranslations] = {}
_translation: _gettext.NullTranslations = _gettext.NullTranslations()


def normalize(value: object) -> str | None:
    """The language a setting or a locale names (``nb``, ``no``, ``nn``, ``nb_NO.UTF-8``,
    ``Norsk``, ``en_US``, ``English``), or ``None`` when it names none that prepfloor speaks."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace("-", "_")
    if not text or text in ("c", "posix"):
        return None
    head = text.split(".")[0].split("@")[0].split("_")[0]
    if head in ("nb", "no", "nn", "nob", "nor", "norsk", "bokmål", "bokmal", "norwegian"):
        return "nb"
    if head in ("en", "eng", "english", "engelsk"):
        return "en"
    return None


def from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The language of the environment's locale (the first of ``LANGUAGE``, ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG`` that is set, as the C library reads them)."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        for part in value.split(":"):  # LANGUAGE is a list: nb:en
            found = normalize(part)
            if found:
                return found
        if name != "LANGUAGE":
            return None  # the first set locale decides, even when it is one we do not speak
    return None


def choose(*candidates: object) -> str:
    """The first of ``candidates`` that names a language (a user's, then the site's), else the
    environment's, else English."""
    for candidate in candidates:
        found = normalize(candidate)
        if found:
            return found
    return from_environment() or DEFAULT_LANGUAGE


def _catalog(lang: str) -> _gettext.NullTranslations:
    found = _catalogs.get(lang)
    if found is None:
        if lang == DEFAULT_LANGUAGE:
            found = _gettext.NullTranslations()  # the code's own words
        else:
            found = _gettext.translation(
                DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True
            )
        _catalogs[lang] = found
    return found


def use(lang: str | None) -> str:
    """Speak ``lang`` from now on in this process (a code :data:`LANGUAGES` knows, else the
    default); the language now spoken."""
    global _current, _translation
    chosen = normalize(lang) or DEFAULT_LANGUAGE
    _translation = _catalog(chosen)
    _current = chosen
    return chosen


def current() -> str:
    """The language spoken now (``en`` or ``nb``)."""
    return _current


def _(message: str) -> str:
    """``message`` in the language spoken now."""
    if not message:
        return message
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n``, in the language spoken now."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it (it is translated when drawn)."""
    return message


def gettext_in(lang: str, message: str) -> str:
    """``message`` in ``lang``, whatever is spoken now (a notification rendered for its reader)."""
    if not message:
        return message
    return _catalog(normalize(lang) or DEFAULT_LANGUAGE).gettext(message)


class Labels(Mapping[str, str]):
    """A table of texts marked with :func:`N_` (a status's label, a role's name) that gives each
    in the language spoken when it is read: ``CAR_STATUS_LABELS["draft"]`` is ``Draft`` or
    ``Utkast``."""

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> str:
        return _(self._items[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def source(self, key: str) -> str:
        """The English text of ``key`` (a message stored for readers of any language)."""
        return self._items[key]

    def __repr__(self) -> str:
        return f"Labels({self._items!r})"
