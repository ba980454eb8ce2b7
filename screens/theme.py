"""A dealership's ``brand_colors`` as a Textual theme."""

from __future__ import annotations

from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "textual-dark"


def _color(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return Color.parse(value.strip()).hex
    except ColorParseError:
        return None


def brand_theme(name: str, brand_colors: dict[str, Any] | None) -> Theme | None:
    """A theme from ``{"primary": "#1c69d4", "secondary": ..., "accent": ..., "dark": true}``, or
    ``None`` when the colors are missing or not colors (the default theme is used then)."""
    if not brand_colors:
        return None
    primary = _color(brand_colors.get("primary"))
    if primary is None:
        return None
    dark = brand_colors.get("dark", True)
    # Error, warning and success keep their usual meaning whatever the brand: a red error
    # must not turn brand blue.
    from textual.theme import BUILTIN_THEMES

    base = BUILTIN_THEMES[DEFAULT_THEME]
    return Theme(
        name=name,
        primary=primary,
        secondary=_color(brand_colors.get("secondary")),
        accent=_color(brand_colors.get("accent")),
        error=_color(brand_colors.get("error")) or base.error,
        warning=_color(brand_colors.get("warning")) or base.warning,
        success=_color(brand_colors.get("success")) or base.success,
        dark=bool(dark) if isinstance(dark, bool) else True,
    )
