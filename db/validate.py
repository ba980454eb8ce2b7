"""Field validation: what a form checks as you type and every rule checks again on save.

Each function takes raw input and returns the clean value or raises :class:`Invalid` with a message
that says what is wrong and what to type instead.  Light (no SQLAlchemy).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from db.errors import Invalid
from db.i18n import _

VIN_LENGTH = 17
# ISO 3779: digits and capital letters except I, O and Q (easily mistaken for 1 and 0).
VIN_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-./]+$")
EARLIEST_MODEL_YEAR = 1950


def clean_text(value: str | None) -> str | None:
    """Trimmed text, or ``None`` for empty."""
    if value is None:
        return None
    value = " ".join(str(value).split())
    return value or None


def normalize_vin(value: str | None) -> str:
    """Upper case, spaces and dashes removed: what people type from a windscreen sticker.

    Only ASCII letters change case: a German sharp s (U+00DF) or a long s (U+017F) stays what it
    is (and is refused), it never becomes ``SS`` or ``S``."""
    return "".join(
        ch.upper() if ch.isascii() else ch for ch in value or "" if not ch.isspace() and ch != "-"
    )


def vin_problem(value: str | None) -> str | None:
    """Why a VIN is not valid, or ``None`` when it is (after :func:`normalize_vin`)."""
    vin = normalize_vin(value)
    if not vin:
        return _("VIN is required (17 characters).")
    bad = sorted({ch for ch in vin if ch not in VIN_ALPHABET})
    if bad:
        letters = ", ".join(bad)
        if set(bad) & set("IOQ"):
            return _(
                "VIN cannot contain {letters} (I, O and Q are never used: type 1 or 0)."
            ).format(letters=letters)
        return _("VIN cannot contain {letters}.").format(letters=letters)
    if len(vin) != VIN_LENGTH:
        return _("VIN has {count} characters; it needs exactly {length}.").format(
            count=len(vin), length=VIN_LENGTH
        )
    return None


def vin(value: str | None, field: str = "vin") -> str:
    problem = vin_problem(value)
    if problem:
        raise Invalid(problem, field)
    return normalize_vin(value)


def license_plate(value: str | None, field: str = "license_plate") -> str | None:
    plate = clean_text(value)
    if plate is None:
        return None
    plate = plate.upper()
    if not re.fullmatch(r"[A-Z0-9ÆØÅÄÖÜ \-]{2,12}", plate):
        raise Invalid(_("Plate: 2-12 letters, digits, spaces or dashes."), field)
    return plate


def model_year(
    value: int | str | None, field: str = "model_year", *, today: date | None = None
) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        year = int(str(value).strip())
    except ValueError:
        raise Invalid(_("Model year must be a year, e.g. 2026."), field) from None
    from db.clock import local_today

    latest = (today or local_today()).year + 2
    if not EARLIEST_MODEL_YEAR <= year <= latest:
        raise Invalid(
            _("Model year must be between {earliest} and {latest}.").format(
                earliest=EARLIEST_MODEL_YEAR, latest=latest
            ),
            field,
        )
    return year


def email(value: str | None, field: str = "customer_email") -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    if not _EMAIL.match(text):
        raise Invalid(
            _("Email looks wrong: it needs a name, @ and a domain (kari@example.no)."), field
        )
    return text.lower()


def phone(value: str | None, field: str = "customer_phone") -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    digits = sum(ch.isdigit() for ch in text)
    if not _PHONE_CHARS.match(text) or not 5 <= digits <= 15:
        raise Invalid(_("Phone: 5-15 digits, may start with + (e.g. +47 912 34 567)."), field)
    return text


def hours(
    value: float | int | str | None,
    field: str = "hours",
    *,
    allow_zero: bool = False,
    maximum: float = 24.0,
) -> float:
    """Hours in steps of a quarter hour, so sums stay exact."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(_("Hours are required."), field)
    try:
        number = float(_HOURS_UNIT.sub("", str(value).strip()).replace(",", ".").strip())
    except ValueError:
        raise Invalid(_("Hours must be a number, e.g. 2 or 1.5."), field) from None
    if number != number:  # NaN
        raise Invalid(_("Hours must be a number, e.g. 2 or 1.5."), field)
    if number < 0:
        raise Invalid(_("Hours cannot be negative."), field)
    if number == 0 and not allow_zero:
        raise Invalid(_("Hours must be more than 0."), field)
    if number > maximum:
        from db.formats import number as shown_number

        raise Invalid(
            _("Hours cannot be more than {maximum}.").format(maximum=shown_number(maximum)), field
        )
    if round(number * 4) != number * 4:
        raise Invalid(_("Hours go in quarter hours: 0.25, 0.5, 0.75, 1, ..."), field)
    return number


# The days prepfloor plans and records: a date outside them is a typing mistake (and 9999-12-31
# would overflow every "the day after").
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def parse_date(
    value: str | date | None, field: str = "date", *, today: date | None = None
) -> date | None:
    """A day as it is typed in either language prepfloor speaks (or a date), between
    :data:`EARLIEST_DAY` and :data:`LATEST_DAY`; empty: ``None``.

    ``2026-11-30``, ``30.11.2026``, ``30.11.26``, ``30/11/2026``; without the year (``30.11``,
    ``30/11``) the nearest such day (this year's; next year's when this year's is more than half a
    year gone); ``today``/``i dag``, ``tomorrow``/``i morgen``, ``i overmorgen``, ``+3`` (days
    from today); a weekday (``friday``, ``fre``, ``fredag``): today or the next such day."""
    if isinstance(value, datetime):
        value = value.date()
    if value is None or isinstance(value, date):
        return _in_range(value, field)
    text = " ".join(str(value).strip().lower().split())
    if not text:
        return None
    if today is None:
        from db.clock import local_today

        today = local_today()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y", "%d/%m/%y"):
        try:
            return _in_range(datetime.strptime(text, fmt).date(), field)
        except ValueError:
            continue
    found = _day_without_year(text, today)
    if found is None:
        found = _day_in_words(text, today)
    if found is not None:
        return _in_range(found, field)
    from db.formats import date_example

    raise Invalid(
        _("Date: type it as {example} (or {words}).").format(
            example=date_example(), words=_("today, tomorrow, a weekday")
        ),
        field,
    )


_RELATIVE_DAYS = {
    "today": 0,
    "i dag": 0,
    "idag": 0,
    "tomorrow": 1,
    "i morgen": 1,
    "imorgen": 1,
    "i overmorgen": 2,
    "overmorgen": 2,
    "yesterday": -1,
    "i går": -1,
    "igår": -1,
}
_DAY_MONTH = re.compile(r"^(\d{1,2})[./](\d{1,2})\.?$")
_PLUS_DAYS = re.compile(r"^\+\s*(\d{1,3})$")
_HOURS_UNIT = re.compile(r"\s*(h|t|timer|time|hours|hour|hrs)\.?$", re.IGNORECASE)


def _day_without_year(text: str, today: date) -> date | None:
    """``31.10`` or ``31/10``: that day this year, or next year's when this year's is more than
    half a year gone (``15.01`` typed in December is January's)."""
    match = _DAY_MONTH.match(text)
    if match is None:
        return None
    day_, month_ = int(match.group(1)), int(match.group(2))
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month_, day_)
        except ValueError:
            continue
        if (today - found).days <= 183:
            return found
    return None


def _day_in_words(text: str, today: date) -> date | None:
    if text in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[text])
    plus = _PLUS_DAYS.match(text)
    if plus:
        return today + timedelta(days=int(plus.group(1)))
    from db.formats import weekday_names

    number = weekday_names().get(text.rstrip("."))
    if number is None:
        return None
    ahead = (number - today.weekday()) % 7
    return today + timedelta(days=ahead)


def _in_range(day: date | None, field: str) -> date | None:
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        from db.formats import date_field

        raise Invalid(
            _("Date: a day between {first} and {last} ({day} is outside).").format(
                first=EARLIEST_DAY.year, last=LATEST_DAY.year, day=date_field(day)
            ),
            field,
        )
    return day


def parse_time(value: str | time | None, field: str = "start_time") -> time | None:
    """A time of day typed as 08:30, 8.30, 0830 or 8 (or a time); empty: ``None``."""
    if value is None or isinstance(value, time):
        return value
    text = str(value).strip()
    if not text:
        return None
    for fmt in ("%H:%M", "%H.%M", "%H%M", "%H"):
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise Invalid(_("Time: type it as 08:30."), field)


def required(value: object, label: str, field: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(_("{label} is required.").format(label=label), field)


def pin(value: str, field: str = "pin") -> str:
    text = (value or "").strip()
    if not text.isdigit() or not 4 <= len(text) <= 8:
        raise Invalid(_("A PIN is 4 to 8 digits."), field)
    return text


PASSWORD_MIN = 10
PASSWORD_MAX = 200


def password(value: str | None, login: str = "", field: str = "password") -> str:
    """A new password as typed (spaces count, none is taken away): 10 to 200 characters, not only
    spaces, and not the user's ``login``."""
    text = value or ""
    if len(text) > PASSWORD_MAX:
        raise Invalid(
            _("A password is at most {most} characters ({typed} typed).").format(
                most=PASSWORD_MAX, typed=len(text)
            ),
            field,
        )
    if not text.strip():
        raise Invalid(_("A password cannot be only spaces."), field)
    if len(text) < PASSWORD_MIN:
        raise Invalid(
            _("A password is at least {least} characters ({typed} typed).").format(
                least=PASSWORD_MIN, typed=len(text)
            ),
            field,
        )
    if login and text.strip().lower() == login.strip().lower():
        raise Invalid(_("The password cannot be the login: pick something else."), field)
    return text


_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
BRAND_COLOR_KEYS: tuple[str, ...] = ("primary", "accent", "secondary")


def brand_colors(text: str | None, field: str = "brand_colors") -> dict[str, str] | None:
    """``"#1c69d4 #0a2240"`` (primary, then optional accent and secondary) as ``brand_colors``; empty: None
    (the default theme)."""
    words = (text or "").replace(",", " ").split()
    if not words:
        return None
    if len(words) > len(BRAND_COLOR_KEYS):
        raise Invalid(_("At most three colors: the primary, the accent, the secondary."), field)
    for word in words:
        problem = color_problem(word)
        if problem:
            raise Invalid(problem, field)
    return {key: word.lower() for key, word in zip(BRAND_COLOR_KEYS, words, strict=False)}


def color_problem(value: str | None) -> str | None:
    """Why ``value`` is not a color like ``#1c69d4`` (None: it is one, or it is empty)."""
    if not (value or "").strip():
        return None
    if not _HEX_COLOR.match(str(value).strip()):
        return _("{value} is not a color like #1c69d4.").format(value=repr(value))
    return None


def brand_colors_text(colors: dict[str, object] | None) -> str:
    """The stored ``brand_colors`` as the form shows them (the twin of :func:`brand_colors`)."""
    if not colors:
        return ""
    return " ".join(str(colors[k]) for k in BRAND_COLOR_KEYS if colors.get(k))
