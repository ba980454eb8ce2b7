"""prepfloor's message catalogs: extract the texts marked in the code, update the Norwegian
catalog, compile it, and check it (the tests run :func:`problems`).

    python tests/catalog.py update     # new texts into db/locale/nb/.../prepfloor.po (msgstr "")
    python tests/catalog.py compile    # .po -> .mo (the app reads the .mo)
    python tests/catalog.py check      # what the test checks: every text translated, same
                                       # placeholders, the .mo made from the .po of now

Texts are marked with ``_()``, ``N_()``, ``ngettext()`` (see :mod:`db.i18n`); the description of a
``Binding(key, action, description)`` and the title of a ``Column(key, title, ...)`` are marked
by their place.
"""

from __future__ import annotations

import io
import string
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("prepfloor", "screens", "db")
LOCALE_DIR = ROOT / "db" / "locale"
LANGUAGES = ("nb",)
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "Binding": (3,),
    "Column": (2,),
    "_t": (2,),
    "gettext_in": (2,),
    "Said": (1,),
}
METHOD_MAP = [("**/migrations/**", "ignore"), ("**.py", "python")]


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "prepfloor.po"


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "prepfloor.mo"


def extract() -> Catalog:
    """Every text marked in prepfloor's code, with where it is."""
    catalog = Catalog(project="prepfloor", charset="utf-8")
    for source in SOURCES:
        folder = ROOT / source
        for filename, lineno, message, comments, context in extract_from_dir(
            str(folder), METHOD_MAP, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            catalog.add(
                message,
                None,
                [(f"{source}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="prepfloor", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def write(lang: str, catalog: Catalog) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False, no_location=True)
    path.write_bytes(buffer.getvalue())


def update() -> None:
    """The catalog of each language holds exactly the texts of the code (new ones untranslated;
    those the code no longer has are dropped)."""
    template = extract()
    for lang in LANGUAGES:
        catalog = read(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        write(lang, catalog)


def compile_all() -> None:
    for lang in LANGUAGES:
        catalog = read(lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        mo_path(lang).write_bytes(buffer.getvalue())


def _fields(text: str) -> set[str]:
    try:
        return {
            name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None
        }
    except ValueError:
        return {"<broken braces>"}


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def problems() -> list[str]:
    """What is wrong with the catalogs: a text of the code missing or untranslated, a fuzzy
    translation, placeholders that differ from the English, a .mo older than its .po."""
    found: list[str] = []
    template = extract()
    for lang in LANGUAGES:
        catalog = read(lang)
        for message in template:
            if not message.id:
                continue
            entry = catalog.get(message.id, context=message.context)
            where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
            key = message.id if isinstance(message.id, str) else message.id[0]
            if entry is None:
                found.append(f"{lang}: not in the catalog: {key!r} ({where})")
                continue
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if not all(strings):
                found.append(f"{lang}: not translated: {key!r} ({where})")
                continue
            if entry.fuzzy:
                found.append(f"{lang}: fuzzy: {key!r} ({where})")
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            wanted = set().union(*(_fields(i) for i in ids))
            for text in strings:
                if _fields(text) != wanted and not (
                    len(ids) > 1 and _fields(text) <= wanted  # a plural form may leave out {n}
                ):
                    found.append(
                        f"{lang}: placeholders differ: {key!r} has {sorted(wanted)}, "
                        f"the translation {text!r} has {sorted(_fields(text))}"
                    )
        mo = mo_path(lang)
        if not mo.exists():
            found.append(f"{lang}: no compiled catalog {mo} (python tests/catalog.py compile)")
            continue
        with mo.open("rb") as handle:
            compiled = read_mo(handle)
        want = {(_key(m.id), m.context): _key(m.string) for m in catalog if m.id and not m.fuzzy}
        have = {(_key(m.id), m.context): _key(m.string) for m in compiled if m.id}
        if want != have:
            found.append(
                f"{lang}: {mo.name} is not made from the .po of now (python tests/catalog.py compile)"
            )
    return found


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        listed = problems()
        print("\n".join(listed) or "The catalogs are complete.")
        sys.exit(1 if listed else 0)
    else:
        sys.exit(f"unknown command {command!r}: update, compile or check")
