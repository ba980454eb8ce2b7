"""Dates, times, hours and numbers as the reader's language writes them (Babel's CLDR data).

English: ``Sat 31 Oct``, ``14:05``, ``7.5 h``, ``week 44``, dates in forms as ``2025-10-31``.
Norwegian: ``lør. 31. okt.``, ``14:05``, ``7,5 t``, ``uke 44``, dates in forms as ``31.10.2025``.
Both use 24-hour times and ISO weeks.  What is typed is read in either language's way
(:func:`db.validate.parse_date`, :func:`db.validate.parse_hours`); CSV files and the database keep
ISO dates and a decimal point whatever the language.

Babel is imported when a date is first drawn, not before the first frame.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from db.i18n import BABEL_LOCALES, current, gettext_in


@lru_cache(maxsize=4)
def _locale(lang: str) -> Any:
    from babel import Locale

    return Locale.parse(BABEL_LOCALES.get(lang, "en_GB"))


def locale(lang: str | None = None) -> Any:
    """The Babel locale of ``lang``, else of the language spoken now."""
    return _locale(lang or current())


def _t(lang: str | None, message: str) -> str:
    return gettext_in(lang or current(), message)


def _skeleton(skeleton: str, value: date | datetime, lang: str | None) -> str:
    # the zone is part of the key: two moments equal in UTC are different days in two zones
    return _skeleton_in(skeleton, value, getattr(value, "tzinfo", None), lang or current())


# Babel takes 0.1-0.3 ms a value, and the same few values come again and again (the days of a
# plan, hours such as 0.5 and 1.5; a booking's notification is worded while it holds the write
# lock): the words of each are kept once made.
@lru_cache(maxsize=4096)
def _skeleton_in(skeleton: str, value: date | datetime, _zone: Any, lang: str) -> str:
    from babel.dates import format_skeleton

    return format_skeleton(skeleton, value, locale=locale(lang))


@lru_cache(maxsize=4096)
def _decimal(value: float | int, pattern: str, lang: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, format=pattern, locale=locale(lang))


def day(value: date | datetime, lang: str | None = None) -> str:
    """A day with its weekday, in a list: ``Sat 31 Oct`` / ``lør. 31. okt.``."""
    return _skeleton("MMMEd", value, lang)


def day_year(value: date | datetime, lang: str | None = None) -> str:
    """A day with its weekday and year: ``Sat, 31 Oct 2026`` / ``lør. 31. okt. 2026``."""
    return _skeleton("yMMMEd", value, lang)


def day_month(value: date | datetime, lang: str | None = None) -> str:
    """A day without its weekday: ``31 Oct`` / ``31. okt.``."""
    return _skeleton("MMMd", value, lang)


def numeric_day(value: date | datetime, lang: str | None = None) -> str:
    """A day in figures, without the year: ``31/10`` / ``31.10.``."""
    return _skeleton("Md", value, lang)


def weekday(value: date | datetime, width: str = "abbreviated", lang: str | None = None) -> str:
    """The weekday: ``Sat`` / ``lør.`` (``wide``: ``Saturday`` / ``lørdag``; ``short``:
    ``Sa`` / ``lø.``)."""
    from babel.dates import format_date

    pattern = {"wide": "EEEE", "short": "EEEEEE", "abbreviated": "EEE"}.get(width, "EEE")
    return format_date(value, pattern, locale=locale(lang))


def date_field(value: date | datetime | None) -> str:
    """A day as it is typed into a form in the language spoken: ``2025-10-31`` in English (as
    prepfloor's English users have always typed it), the locale's short date in Norwegian
    (``31.10.2025``).  Either is read back by :func:`db.validate.parse_date`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if current() == "en":
        return value.isoformat()
    from babel.dates import format_date

    return format_date(value, "short", locale=locale())


def date_example() -> str:
    """How a day is typed in the language spoken, for a hint: ``2026-11-30`` / ``30.11.2026``."""
    return date_field(date(2026, 11, 30))


def clock(value: time | datetime, lang: str | None = None) -> str:
    """A time of day, 24-hour: ``14:05``."""
    from babel.dates import format_time

    return format_time(value, "HH:mm", locale=locale(lang))


def moment(value: datetime, lang: str | None = None) -> str:
    """A local moment in a list: ``Sat 31 Oct 14:05`` / ``lør. 31. okt. 14:05``."""
    return f"{day(value, lang)} {clock(value, lang)}"


def moment_year(value: datetime) -> str:
    """A local moment with its year: ``Sat, 31 Oct 2026 14:05``."""
    return f"{day_year(value)} {clock(value)}"


def short_moment(value: datetime) -> str:
    """A local moment without weekday: ``31 Oct 14:05`` / ``31. okt. 14:05``."""
    return f"{day_month(value)} {clock(value)}"


def week(value: date | int, lang: str | None = None) -> str:
    """An ISO week: ``week 44`` / ``uke 44``."""
    number = value if isinstance(value, int) else value.isocalendar().week
    return _t(lang, "week {number}").format(number=number)


def number(value: float | int | None, digits: int = 2, lang: str | None = None) -> str:
    """A number with at most ``digits`` decimals and the language's decimal mark: ``7.5`` /
    ``7,5``; ``1,250`` / ``1 250`` for thousands."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return _decimal(value, pattern, lang or current())


def fixed(value: float | int | None, digits: int = 2) -> str:
    """A number with exactly ``digits`` decimals: ``7.50`` / ``7,50``."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _decimal(value, pattern, current())


def hours(value: float | int | None, digits: int = 2, lang: str | None = None) -> str:
    """Hours with their unit: ``7.5 h`` / ``7,5 t``."""
    return _t(lang, "{hours} h").format(hours=number(value or 0, digits, lang))


def hours_field(value: float | int | None) -> str:
    """Hours as they are typed into a form: ``7.5`` / ``7,5`` (no thousands mark)."""
    if value is None:
        return ""
    from babel.numbers import format_decimal

    return format_decimal(value, format="0.##", locale=locale())


def percent(value: float | None, digits: int = 0) -> str:
    """A share (0.25) as a percentage: ``25%`` / ``25 %``."""
    if value is None:
        return ""
    from babel.numbers import format_percent

    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "") + "%"
    return format_percent(value, format=pattern, locale=locale())


def duration(seconds: float, lang: str | None = None) -> str:
    """A compact duration for lists: ``45m``, ``3h 20m``, ``4d 6h`` / ``45 min``, ``3 t 20 min``,
    ``4 d 6 t``."""
    seconds = max(0, int(seconds))
    minutes = seconds // 60
    if minutes < 60:
        return _t(lang, "{minutes}m").format(minutes=minutes)
    whole_hours, minutes = divmod(minutes, 60)
    if whole_hours < 24:
        return _t(lang, "{hours}h {minutes}m").format(hours=whole_hours, minutes=f"{minutes:02d}")
    days, whole_hours = divmod(whole_hours, 24)
    return _t(lang, "{days}d {hours}h").format(days=days, hours=whole_hours)


def weekday_names() -> dict[str, int]:
    """Every way the languages prepfloor speaks write a weekday (``monday``, ``mon``,
    ``mandag``, ``man``), lower case, to its number (Monday 0)."""
    return dict(_weekday_names())


@lru_cache(maxsize=1)
def _weekday_names() -> tuple[tuple[str, int], ...]:
    from babel.dates import get_day_names

    found: dict[str, int] = {}
    for lang in BABEL_LOCALES:
        for width in ("wide", "abbreviated"):
            for number_, name in get_day_names(width, locale=_locale(lang)).items():
                found.setdefault(str(name).lower().rstrip("."), int(number_))
    return tuple(found.items())


def nok(ore: int | None) -> str:
    """An amount kept in øre as NOK with two decimals: ``4,901.00`` / ``4 901,00``."""
    if ore is None:
        return ""
    from decimal import Decimal

    return fixed(Decimal(int(ore)) / 100, 2)  # type: ignore[arg-type]


def label_of(number: object, name: object) -> str | None:
    """``499 Porsgrunn``: a dealership's number and name as messages and screens name it (None
    when there is none)."""
    return None if number is None else f"{number} {name}"
