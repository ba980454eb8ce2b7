"""What a VIN says about its car, read offline: the brand, the model year where the market puts
it in the VIN, and whether the check digit adds up where the market uses one.

Light (no SQLAlchemy): the intake form decodes a VIN as it is typed or scanned.  The manufacturer
comes from the ``vininfo`` package's table of world manufacturer identifiers (the first three
characters), shown as the brand a dealership writes (``Volkswagen``, ``Mercedes-Benz``, ``MINI``).

* **Model year**: the 10th character is the model year by law in North America (first character
  1-5) and in China (L), and there only; elsewhere (Europe, Japan, Korea) a manufacturer may use
  it for anything, so nothing is read from it.
* **Check digit**: the 9th character is a check digit over the other sixteen in the same markets
  (49 CFR 565 in North America, GB 16735 in China).  A wrong one is a warning: a character was
  probably mistyped, but the VIN on the papers is what counts, so it is never refused for it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from db import validate
from db.i18n import _, current

# The markets whose VINs carry a model year (10th character) and a check digit (9th).
CHECK_DIGIT_REGIONS = frozenset("12345L")
_REGION_NAMES = {"1": "North America", "L": "China"}  # shown through country_name()
# vininfo's names of countries that CLDR (Babel) calls otherwise, to their region codes.
_COUNTRY_CODES = {
    "Bosnia & Herzogovina": "BA",
    "Czech Republic": "CZ",
    "Dom. Republic": "DO",
    "Hong Kong": "HK",
    "Ivory Coast": "CI",
    "Macedonia": "MK",
    "Myanmar": "MM",
    "Turkey": "TR",
}

# ISO 3779 / SAE J853 model-year codes, in a 30-year cycle from 1980.
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

# The brand as a dealership writes it, for the start of a manufacturer's name in ``vininfo``
# (compared without case, accents, spaces or dashes); the longest start wins.
_BRANDS: dict[str, str] = {
    "alfa": "Alfa Romeo",
    "astonmartin": "Aston Martin",
    "audi": "Audi",
    "bentley": "Bentley",
    "bmw": "BMW",
    "byd": "BYD",
    "cadillac": "Cadillac",
    "chevrolet": "Chevrolet",
    "chrysler": "Chrysler",
    "citroen": "Citroën",
    "cupra": "Cupra",
    "dacia": "Dacia",
    "daimler": "Mercedes-Benz",
    "dodge": "Dodge",
    "ferrari": "Ferrari",
    "fiat": "Fiat",
    "ford": "Ford",
    "genesis": "Genesis",
    "honda": "Honda",
    "hyundai": "Hyundai",
    "jaguar": "Jaguar",
    "jeep": "Jeep",
    "kia": "Kia",
    "lamborghini": "Lamborghini",
    "landrover": "Land Rover",
    "lexus": "Lexus",
    "lotus": "Lotus",
    "maserati": "Maserati",
    "mazda": "Mazda",
    "mercedes": "Mercedes-Benz",
    "mini": "MINI",
    "mitsubishi": "Mitsubishi",
    "nissan": "Nissan",
    "opel": "Opel",
    "peugeot": "Peugeot",
    "polestar": "Polestar",
    "porsche": "Porsche",
    "renault": "Renault",
    "rollsroyce": "Rolls-Royce",
    "saab": "Saab",
    "seat": "SEAT",
    "skoda": "Škoda",
    "smart": "Smart",
    "subaru": "Subaru",
    "suzuki": "Suzuki",
    "tesla": "Tesla",
    "toyota": "Toyota",
    "volkswagen": "Volkswagen",
    "volvo": "Volvo",
    "vw": "Volkswagen",
}
_BY_LENGTH = sorted(_BRANDS.items(), key=lambda item: -len(item[0]))


@dataclass(frozen=True)
class VinInfo:
    """What a valid VIN says; ``None`` where it says nothing."""

    brand: str | None
    model_year: int | None
    country: str | None
    check_digit_ok: bool | None  # None: the market uses no check digit
    expected_check_digit: str | None

    @property
    def warning(self) -> str | None:
        """A bad check digit, in words (a warning, never a refusal)."""
        if self.check_digit_ok is not False:
            return None
        return _(
            "Check digit (9th character) should be {digit}: a typo? It saves as it is."
        ).format(digit=self.expected_check_digit)

    @property
    def summary(self) -> str:
        """``BMW · Germany`` or ``Ford · United States · 2019``: what the form shows beside the
        VIN."""
        parts = [x for x in (self.brand, country_name(self.country)) if x]
        if self.model_year is not None:
            parts.append(str(self.model_year))
        return " · ".join(parts)


def country_name(name: str | None) -> str | None:
    """A country (or region) as ``vininfo`` names it in English, in the language spoken (Babel's
    names; a name it does not know stays as it is)."""
    if not name or current() == "en":
        return name
    code = _country_codes().get(name)
    if code is None:
        return name
    from db.formats import locale

    return locale().territories.get(code, name)


@lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    from babel import Locale

    codes = {str(title): code for code, title in Locale.parse("en_GB").territories.items()}
    return {**codes, **_COUNTRY_CODES}


def uses_check_digit(vin: str) -> bool:
    """Does this VIN's market put a check digit in the 9th character (North America, China)?"""
    return bool(vin) and vin[0] in CHECK_DIGIT_REGIONS


def check_digit(vin: str) -> str:
    """The check digit the other sixteen characters of a 17-character VIN call for (0-9 or X)."""
    total = sum(_TRANSLITERATION[ch] * weight for ch, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def model_year(vin: str, today: date | None = None) -> int | None:
    """The model year of a North American or Chinese VIN (10th character), else ``None``.

    The code repeats every 30 years.  In North America the 7th character tells the cycle (a
    digit: 1980-2009, a letter: 2010-2039); elsewhere the latest year that is not more than a
    year ahead is taken (a model year starts before its calendar year)."""
    if not uses_check_digit(vin) or len(vin) != validate.VIN_LENGTH:
        return None
    index = _YEAR_CODES.find(vin[9])
    if index < 0:
        return None
    first = 1980 + index
    if vin[0] in "12345":
        return first if vin[6].isdigit() else first + 30
    from db.clock import local_today

    latest = (today or local_today()).year + 1
    year = first
    while year + 30 <= latest:
        year += 30
    return year


def brand_of(manufacturer: str | None) -> str | None:
    """The brand a dealership writes for a manufacturer's name in ``vininfo``'s table."""
    if not manufacturer or manufacturer == "UnsupportedBrand":
        return None
    key = _key(manufacturer)
    for start, brand in _BY_LENGTH:
        if key.startswith(start):
            return brand
    return manufacturer.strip() or None


def decode(value: str | None, today: date | None = None) -> VinInfo | None:
    """What a VIN says (after :func:`db.validate.normalize_vin`); ``None`` when it is not a
    valid VIN yet."""
    vin = validate.normalize_vin(value)
    if validate.vin_problem(vin) is not None:
        return None
    from vininfo import Vin

    try:
        info = Vin(vin)
        manufacturer, country = info.manufacturer, info.country
    except Exception:  # a table that does not know the VIN is a VIN that says nothing
        manufacturer, country = None, None
    checked = uses_check_digit(vin)
    expected = check_digit(vin) if checked else None
    return VinInfo(
        brand=brand_of(manufacturer),
        model_year=model_year(vin, today),
        country=country or _REGION_NAMES.get(vin[0]),
        check_digit_ok=(vin[8] == expected) if checked else None,
        expected_check_digit=expected,
    )


def _key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in plain if ch.isalnum() and not unicodedata.combining(ch))
