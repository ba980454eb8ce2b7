"""prepfloor's colours: the default theme, a dealership's ``brand_colors`` as a theme, and the
truecolors of the color names that table cells use (``"green"``, ``"red"``).

Every text colour is chosen from the background it is drawn on, so that it reaches WCAG 2 AA
contrast (4.5:1, relative luminance) whatever brand colour an admin types: the header's text
is white or black, whichever its brand-coloured background allows; the footer's keys, the
warning, error and success colours keep their hue and move lighter (dark themes) or darker
(light themes) until they reach it; the cursor row of a list is a shade of the primary colour
dark (or light) enough for the status colours on it.  ``tests/test_contrast.py`` measures it.

The screens' CSS uses Textual's own theme variables only (``$button-color-foreground`` is the text
on ``$primary``, as in Textual's themes), so switching to any of Textual's themes still works.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from rich.terminal_theme import TerminalTheme
from textual.color import WHITE, Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

DEFAULT_THEME = "prepfloor"
MINIMUM_CONTRAST = 4.5  # WCAG 2 AA for text
BLACK_TEXT = Color(0, 0, 0)
# The luminance of a list's cursor row (dark themes; light themes mirror it): dark enough that
# every status colour (ANSI_DARK, the theme's warning, error and success) reaches 4.5:1 on it.
CURSOR_LUMINANCE = 0.03
BLURRED_CURSOR_LUMINANCE = 0.016
LIGHT_CURSOR_LUMINANCE = 0.6
LIGHT_BLURRED_CURSOR_LUMINANCE = 0.74


# ------------------------------------------------------------------------------------------------
# WCAG 2 contrast
# ------------------------------------------------------------------------------------------------
def _parse(color: Color | str) -> Color:
    return color if isinstance(color, Color) else Color.parse(color)


def luminance(color: Color | str) -> float:
    """WCAG 2 relative luminance: 0 for black, 1 for white."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = _parse(color).rgb
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(foreground: Color | str, background: Color | str) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""
    a, b = luminance(foreground), luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def readable_on(background: Color | str) -> Color:
    """White text on ``background`` when it reaches 4.5:1, else black (one of the two always
    reaches it: the larger of their ratios is at least 4.58)."""
    return WHITE if contrast(WHITE, background) >= MINIMUM_CONTRAST else BLACK_TEXT


def _with_lightness(color: Color, lightness: float) -> Color:
    h, s, _light = color.hsl
    return Color.from_hsl(h, s, max(0.0, min(1.0, lightness)))


def with_contrast(
    color: Color | str, backgrounds: Iterable[Color | str], minimum: float = MINIMUM_CONTRAST
) -> Color:
    """``color`` with its hue and saturation, made lighter (on dark backgrounds) or darker (on
    light ones) by as little as it takes to reach ``minimum`` against every background."""
    color = _parse(color)
    grounds = [_parse(b) for b in backgrounds]

    def enough(candidate: Color) -> bool:
        return all(contrast(candidate, g) >= minimum for g in grounds)

    if not grounds or enough(color):
        return color
    lighter = max(luminance(g) for g in grounds) < 0.18  # dark backgrounds: move towards white
    low, high = color.hsl.l, 1.0 if lighter else 0.0
    if not enough(_with_lightness(color, high)):
        return WHITE if lighter else BLACK_TEXT
    for _step in range(30):
        middle = (low + high) / 2
        if enough(_with_lightness(color, middle)):
            high = middle
        else:
            low = middle
    return _with_lightness(color, high)


def with_luminance(color: Color | str, target: float) -> Color:
    """``color`` with its hue and saturation at the lightness whose luminance is ``target``."""
    color = _parse(color)
    low, high = 0.0, 1.0
    for _step in range(30):
        middle = (low + high) / 2
        if luminance(_with_lightness(color, middle)) < target:
            low = middle
        else:
            high = middle
    return _with_lightness(color, (low + high) / 2)


# ------------------------------------------------------------------------------------------------
# themes
# ------------------------------------------------------------------------------------------------
def accessible(theme: Theme) -> Theme:
    """``theme`` with its text colours chosen for 4.5:1 on the backgrounds they are drawn on
    (the theme's own colours stay where they are backgrounds: the header keeps the brand)."""
    dark = theme.dark
    system = dataclasses.replace(theme, variables={}).to_color_system()
    generated = system.generate()
    background = Color.parse(generated["background"])
    surface = Color.parse(generated["surface"])
    panel = Color.parse(generated["panel"])
    primary = Color.parse(generated["primary"])
    foreground = Color.parse(generated["foreground"])
    if dark:
        cursor = with_luminance(primary, CURSOR_LUMINANCE)
        blurred = with_luminance(primary, BLURRED_CURSOR_LUMINANCE)
    else:
        cursor = with_luminance(primary, LIGHT_CURSOR_LUMINANCE)
        blurred = with_luminance(primary, LIGHT_BLURRED_CURSOR_LUMINANCE)
    grounds = [background, surface, panel, cursor, blurred]

    def text(value: str | None, fallback: str) -> str:
        return with_contrast(Color.parse(value or fallback), grounds).hex

    accent = Color.parse(generated["accent"])
    tinted = {  # Textual's coloured text (a tint of its colour): readable on every background
        name: with_contrast(Color.parse(generated[name]), grounds).hex
        for name in (
            "text-primary",
            "text-secondary",
            "text-accent",
            "text-warning",
            "text-error",
            "text-success",
        )
    }
    variables = {
        **tinted,
        # the header: brand colour behind, white or black text
        "button-color-foreground": readable_on(primary).hex,
        "footer-key-foreground": with_contrast(accent, [panel]).hex,
        "footer-foreground": with_contrast(foreground, [panel]).hex,
        "footer-description-foreground": with_contrast(foreground, [panel]).hex,
        "block-cursor-background": cursor.hex,
        "block-cursor-foreground": with_contrast(foreground, [cursor]).hex,
        "block-cursor-blurred-background": blurred.hex,
        "block-cursor-blurred-foreground": with_contrast(foreground, [blurred]).hex,
        **theme.variables,
    }
    return dataclasses.replace(
        theme,
        warning=text(theme.warning, generated["warning"]),
        error=text(theme.error, generated["error"]),
        success=text(theme.success, generated["success"]),
        variables=variables,
    )


def computed_default_theme() -> Theme:
    """prepfloor's default theme as the rules above make it (:func:`default_theme` holds the
    result; ``tests/test_contrast.py`` checks that they agree)."""
    base = BUILTIN_THEMES["textual-dark"]
    return accessible(dataclasses.replace(base, name=DEFAULT_THEME))


# What computed_default_theme() gives: computing it at every start took milliseconds of the
# first frame, and it never changes unless the rules or Textual's dark theme do.
_DEFAULT_TEXT = {
    "warning": "#FFA62B",
    "error": "#D57E93",
    "success": "#4EBF71",
    "variables": {
        "text-primary": "#57A5E2",
        "text-secondary": "#769CB7",
        "text-accent": "#FFC473",
        "text-warning": "#FFC473",
        "text-error": "#D28093",
        "text-success": "#8AD4A1",
        "button-color-foreground": "#FFFFFF",
        "footer-key-foreground": "#FEA62B",
        "footer-foreground": "#E0E0E0",
        "footer-description-foreground": "#E0E0E0",
        "block-cursor-background": "#003259",
        "block-cursor-foreground": "#E0E0E0",
        "block-cursor-blurred-background": "#00243F",
        "block-cursor-blurred-foreground": "#E0E0E0",
    },
}


def default_theme() -> Theme:
    """prepfloor's theme when a dealership has no brand colours: Textual's dark theme's colours,
    with readable text (:func:`computed_default_theme`, computed once)."""
    base = BUILTIN_THEMES["textual-dark"]
    return dataclasses.replace(base, name=DEFAULT_THEME, **_DEFAULT_TEXT)  # type: ignore[arg-type]


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
    base = BUILTIN_THEMES["textual-dark"]
    return accessible(
        Theme(
            name=name,
            primary=primary,
            secondary=_color(brand_colors.get("secondary")),
            accent=_color(brand_colors.get("accent")),
            error=_color(brand_colors.get("error")) or base.error,
            warning=_color(brand_colors.get("warning")) or base.warning,
            success=_color(brand_colors.get("success")) or base.success,
            dark=bool(dark) if isinstance(dark, bool) else True,
        )
    )


# ------------------------------------------------------------------------------------------------
# the color names of table cells
# ------------------------------------------------------------------------------------------------
def _ansi(base: TerminalTheme, dark: bool) -> TerminalTheme:
    """``base`` with every colour but black (white on a light theme) readable on a theme's
    backgrounds and its cursor row."""
    if dark:
        grounds = [
            Color.parse("#121212"),
            Color.parse("#1e1e1e"),
            with_luminance(Color.parse("#808080"), CURSOR_LUMINANCE),
        ]
        skip = {0}
    else:
        grounds = [
            Color.parse("#efefef"),
            Color.parse("#f5f5f5"),
            with_luminance(Color.parse("#808080"), LIGHT_CURSOR_LUMINANCE),
        ]
        skip = {7, 15}
    palette = [tuple(base.ansi_colors[i]) for i in range(16)]
    if dark:  # Monokai's red is a pink; "red" (late, full, failed) should read as red
        palette[1] = palette[9] = (235, 45, 45)
    # a little above 4.5: the brands' cursor rows are of other hues, their luminance as near the
    # target as whole RGB steps allow
    minimum = MINIMUM_CONTRAST + 0.1
    colors = [
        color if i in skip else with_contrast(Color(*color), grounds, minimum).rgb
        for i, color in enumerate(palette)
    ]
    return TerminalTheme(
        tuple(base.background_color),
        tuple(base.foreground_color),
        [tuple(c) for c in colors[:8]],
        [tuple(c) for c in colors[8:]],
    )


def computed_ansi_themes() -> tuple[TerminalTheme, TerminalTheme]:
    """The dark and light ANSI themes as :func:`_ansi` makes them (``ANSI_DARK`` and
    ``ANSI_LIGHT`` hold the result; ``tests/test_contrast.py`` checks that they agree)."""
    from textual._ansi_theme import ALABASTER, MONOKAI

    return _ansi(MONOKAI, True), _ansi(ALABASTER, False)


# What computed_ansi_themes() gives (computed once: ~13 ms of every start otherwise).
_ANSI_DARK_COLORS = [
    (26, 26, 26), (242, 115, 115), (152, 224, 36), (253, 151, 31),
    (175, 130, 255), (255, 97, 158), (88, 209, 235), (196, 197, 181),
    (159, 154, 132), (242, 115, 115), (152, 224, 36), (224, 213, 97),
    (175, 130, 255), (255, 97, 158), (88, 209, 235), (246, 246, 239),
]  # fmt: skip
_ANSI_LIGHT_COLORS = [
    (0, 0, 0), (153, 49, 44), (47, 96, 27), (112, 80, 0),
    (44, 80, 168), (117, 59, 151), (0, 92, 126), (247, 247, 247),
    (85, 85, 85), (172, 15, 15), (46, 97, 0), (125, 73, 0),
    (0, 88, 148), (149, 21, 149), (0, 94, 113), (247, 247, 247),
]  # fmt: skip


def _ansi_themes() -> tuple[TerminalTheme, TerminalTheme]:
    from textual._ansi_theme import ALABASTER, MONOKAI

    return tuple(  # type: ignore[return-value]
        TerminalTheme(
            tuple(base.background_color),
            tuple(base.foreground_color),
            colors[:8],
            colors[8:],
        )
        for base, colors in ((MONOKAI, _ANSI_DARK_COLORS), (ALABASTER, _ANSI_LIGHT_COLORS))
    )


ANSI_DARK, ANSI_LIGHT = _ansi_themes()


# Textual registers each of its built-in themes with every App it makes; prepfloor's default joins
# them so that ``app.theme = DEFAULT_THEME`` works in any app (PrepfloorApp starts with it).
BUILTIN_THEMES.setdefault(DEFAULT_THEME, default_theme())
