"""Text reaches WCAG 2 AA contrast (4.5:1, relative luminance) in prepfloor's default theme and in
the themes made from strong brand colours: computed from the themes' colours (every text/background
pair the screens use), and measured on what the coordinator's grid and a list's cursor row draw.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rich.segment import Segment
from textual.color import Color
from textual.filter import ANSIToTruecolor
from textual.theme import Theme

from screens.theme import (
    ANSI_DARK,
    ANSI_LIGHT,
    DEFAULT_THEME,
    MINIMUM_CONTRAST,
    brand_theme,
    contrast,
    default_theme,
    luminance,
    readable_on,
)

BRANDS = ["#1c69d4", "#e20074", "#ffcc00", "#000000", "#ffffff"]


def themes() -> list[Theme]:
    found = [default_theme()]
    for color in BRANDS:
        found.append(brand_theme(f"brand-{color}", {"primary": color, "accent": color}))  # type: ignore[arg-type]
        found.append(  # type: ignore[arg-type]
            brand_theme(f"brand-{color}-light", {"primary": color, "accent": color, "dark": False})
        )
    return found


THEMES = themes()


def resolve(value: str, background: Color) -> Color:
    """A theme variable's value as the opaque colour drawn on ``background`` (``auto 87%`` is
    Textual's contrasting text at that alpha; a colour with alpha is blended)."""
    words = value.split()
    if words[0] == "auto":
        alpha = float(words[1].rstrip("%")) / 100 if len(words) > 1 else 1.0
        return background + background.get_contrast_text(alpha)
    color = Color.parse(words[0])
    if len(words) > 1:
        color = color.with_alpha(float(words[1].rstrip("%")) / 100)
    return background + color


# (text, background): names of the theme's variables
PAIRS = [
    ("button-color-foreground", "primary"),  # the header
    ("background", "warning"),  # the unread count in the header
    ("footer-key-foreground", "footer-background"),
    ("footer-description-foreground", "footer-background"),
    ("text", "background"),
    ("text", "surface"),
    ("text-muted", "background"),
    ("text-muted", "surface"),
    ("text-muted", "panel"),
    ("block-cursor-foreground", "block-cursor-background"),
    ("block-cursor-blurred-foreground", "block-cursor-blurred-background"),
    # form messages, the dashboard's bottleneck, the grid's loads
    *[
        (color, ground)
        for color in ("error", "warning", "success")
        for ground in ("background", "surface", "panel", "block-cursor-background")
    ],
    ("background", "error"),  # an overbooked cell
    *[(f"text-{c}", "background") for c in ("primary", "accent", "warning", "error", "success")],
]


@pytest.mark.parametrize("theme", THEMES, ids=[t.name for t in THEMES])
def test_every_text_pair_of_the_theme_reaches_4_5(theme: Theme) -> None:
    variables = {**theme.to_color_system().generate(), **theme.variables}
    failures = []
    for text, ground in PAIRS:
        background = resolve(variables[ground], Color.parse(variables["background"]))
        foreground = resolve(variables[text], background)
        ratio = contrast(foreground, background)
        if ratio < MINIMUM_CONTRAST:
            failures.append(f"{text} on {ground}: {ratio:.2f}")
    assert not failures, failures


@pytest.mark.parametrize("theme", THEMES, ids=[t.name for t in THEMES])
def test_the_color_names_of_table_cells_are_readable_on_the_rows_and_the_cursor(
    theme: Theme,
) -> None:
    """ "On time" is green, "Late" red, a status cyan or magenta: on the list, on its cursor row
    and on a dialog, whatever the brand."""
    variables = {**theme.to_color_system().generate(), **theme.variables}
    palette = ANSI_DARK if theme.dark else ANSI_LIGHT
    names = {1: "red", 2: "green", 3: "yellow", 4: "blue", 5: "magenta", 6: "cyan"}
    failures = []
    for index, name in names.items():
        for bright in (0, 8):
            color = Color(*palette.ansi_colors[index + bright])
            for ground in ("background", "surface", "block-cursor-background"):
                background = Color.parse(variables[ground])
                ratio = contrast(color, background)
                if ratio < MINIMUM_CONTRAST:
                    failures.append(f"{'bright ' if bright else ''}{name} on {ground}: {ratio:.2f}")
    assert not failures, failures


def test_the_contrast_arithmetic() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert luminance("#1c69d4") == pytest.approx(0.1507, abs=0.001)
    for color in ["#ff0000", "#808080", "#0178d4", "#e20074", "#ffcc00", "#777777"]:
        assert contrast(readable_on(color), color) >= MINIMUM_CONTRAST


# ------------------------------------------------------------------------------------------------
# measured on the screen
# ------------------------------------------------------------------------------------------------
def drawn(app: Any) -> list[tuple[int, str, Color, Color, bool]]:
    """(line, text, colour, background, dim) of every piece of text on screen, in truecolor as
    the terminal gets it."""
    to_truecolor = ANSIToTruecolor(app.ansi_theme)
    found = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        segments: list[Segment] = to_truecolor.apply(list(strip), Color(0, 0, 0))
        for segment in segments:
            style = segment.style
            if style is None or not segment.text.strip():
                continue
            assert style.color is not None and style.bgcolor is not None, segment
            fg = Color(*style.color.get_truecolor())
            bg = Color(*style.bgcolor.get_truecolor())
            if style.reverse:
                fg, bg = bg, fg
            found.append((y, segment.text, fg, bg, bool(style.dim)))
    return found


def below(pieces: list[tuple[int, str, Color, Color, bool]]) -> list[str]:
    return [
        f"line {y} {text.strip()[:24]!r}: {contrast(fg, bg):.2f} ({fg.hex} on {bg.hex})"
        for y, text, fg, bg, dim in pieces
        if not dim and contrast(fg, bg) < MINIMUM_CONTRAST  # dim: a key that is off
    ]


def _brand(ui_store: Any, w: Any, color: str | None) -> None:
    from db import admin

    if color is not None:
        ui_store.run(
            admin.save_dealership,
            None,
            w.d["499"],
            brand_colors={"primary": color, "accent": color},
        )


@pytest.mark.parametrize("brand", [None, *BRANDS])
async def test_the_capacity_grid_measured_at_80x24(ui_store, coord_world, brand) -> None:  # type: ignore[no-untyped-def]
    """Every character of the grid screen: header, unread count, titles, cells (free, filling,
    full, overbooked, closed, the cursor), legend, footer."""
    from test_coordinator_ui import MONDAY, go_to_cell, open_grid

    from db import capacity, ledger, notify
    from prepfloor.app import make_app

    w = coord_world
    _brand(ui_store, w, brand)
    coordinator = w["coordinator499"]
    # filling on Monday (Per 4 of 8 h), full on Tuesday (Per and Pål 8 of 8 h)
    for login, hours, day in (
        ("mechanic499", 4, 0),
        ("mechanic499", 8, 1),
        ("mechanic2_499", 8, 1),
    ):
        w.db.run(
            ledger.book,
            coordinator,
            car_id=w.register(seller="seller499"),
            resource_type_id=w.rt["TECH_PREP"],
            user_id=w[login].user_id,
            date=MONDAY + timedelta(days=day),
            estimated_hours=hours,
        )
    w.db.run(  # Pål off sick on Tuesday after it was booked: overbooked
        capacity.set_capacity,
        coordinator,
        dealership_id=w.d["499"],
        resource_type_id=w.rt["TECH_PREP"],
        date=MONDAY + timedelta(days=1),
        allocated_hours=4,
        user_id=w["mechanic2_499"].user_id,
        allow_overbook=True,
    )
    w.db.run(lambda s: notify.send(s, None, [coordinator.user_id], "status_update", "unread"))
    app = make_app(ui_store, actor=coordinator)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_grid(app, pilot)
        go_to_cell(app, "TECH_PREP", None, MONDAY, w)
        await pilot.pause()
        pieces = drawn(app)
        assert len({bg for *_rest, bg, _dim in pieces}) > 2  # the cursor, a red cell, the header
        assert not below(pieces), below(pieces)
        texts = " ".join(text for _y, text, *_ in pieces)
        assert "16/16" in texts and "4/16" in texts and "4/8" in texts and "0/8" in texts
        assert "8/4" in texts  # overbooked


@pytest.mark.parametrize("brand", [None, *BRANDS])
async def test_on_time_on_the_cursor_row_measured(ui_store, ui_world, brand) -> None:  # type: ignore[no-untyped-def]
    """A seller's list: the cursor row, with "On time" in green on it, and the header."""
    from datetime import date

    from test_app import settle

    from prepfloor.app import make_app
    from screens.seller import MyCarsScreen

    w = ui_world
    _brand(ui_store, w, brand)
    w.register(seller="seller499", expected_delivery_date=date.today() + timedelta(days=60))
    app = make_app(ui_store, actor=w["seller499"])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        await app.switch_mode("seller")
        await settle(pilot, app)
        assert isinstance(app.screen, MyCarsScreen)
        cursor = Color.parse(app.theme_variables["block-cursor-background"])
        pieces = drawn(app)
        rows = {y for y, _text, _fg, bg, _dim in pieces if bg == cursor}
        assert rows, "no cursor row on screen"
        on_cursor = [p for p in pieces if p[0] in rows or p[0] == 0]  # and the header
        assert any("On time" in p[1] for p in on_cursor)
        assert not below(on_cursor), below(on_cursor)


async def test_the_app_starts_in_prepfloors_theme_with_its_cell_colours(ui_store, ui_world) -> None:  # type: ignore[no-untyped-def]
    from prepfloor.app import make_app

    app = make_app(ui_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME  # the sign-in screen too
        assert app.ansi_theme_dark is ANSI_DARK and app.ansi_theme_light is ANSI_LIGHT


def test_the_themes_kept_at_start_are_the_ones_the_rules_compute() -> None:
    """The default theme and the ANSI colours are kept as values (computing them took
    milliseconds of every start): they must be what the contrast rules make of Textual's
    colours today."""
    from screens.theme import computed_ansi_themes, computed_default_theme

    assert default_theme() == computed_default_theme()
    dark, light = computed_ansi_themes()
    for kept, computed in ((ANSI_DARK, dark), (ANSI_LIGHT, light)):
        assert [tuple(c) for c in kept.ansi_colors] == [tuple(c) for c in computed.ansi_colors]
        assert tuple(kept.background_color) == tuple(computed.background_color)
        assert tuple(kept.foreground_color) == tuple(computed.foreground_color)
