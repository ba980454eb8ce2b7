"""A closed screen leaves nothing of itself in memory.

A car's view is opened and closed hundreds of times a day on a coordinator's terminal, and a
served session lives as long as the person stays signed in.  Textual 8.2.8 kept the styles cache
of the last 1,024 widgets drawn (``StylesCache.get_inner_outer`` under ``functools.lru_cache``),
and with it every line each of them last drew: about 35 MB over a hundred car views.
``prepfloor/textual_fixes.py`` mends it.
"""

from __future__ import annotations

import gc
import weakref

from test_app import SIZE, settle, text_of
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style
from textual.widget import Widget

from prepfloor.app import make_app
from screens.car_detail import CarDetailScreen
from world import ordered_car


async def test_a_closed_car_view_leaves_none_of_its_widgets_drawn_lines_behind(
    ui_store, ui_world
) -> None:  # type: ignore[no-untyped-def]
    w = ui_world
    car = ordered_car(w, "WBA99900011122255", "495-902")
    app = make_app(ui_store, actor=w["coordinator499"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        # What the first frame loaded is put out of the collector's sight a moment after it; a
        # screen open then is kept for good (test below), so the views come after that.
        while app._frozen is None:
            await pilot.pause(0.05)
        await settle(pilot, app)
        drawn: list[weakref.ref[StylesCache]] = []
        for _ in range(8):
            app.open_car(car)
            await settle(pilot, app)
            assert isinstance(app.screen, CarDetailScreen)
            assert "WBA99900011122255" in text_of(app)
            widgets = [app.screen, *app.screen.query(Widget)]
            drew = [x._styles_cache for x in widgets if x._styles_cache._cache]
            assert len(drew) > 5  # the view's widgets drew their lines
            drawn += [weakref.ref(cache) for cache in drew]
            await pilot.press("escape")
            await settle(pilot, app)
        assert not isinstance(app.screen, CarDetailScreen)
        gc.collect()
        alive = [ref for ref in drawn if ref() is not None]
        # At most one view's worth: the last one, while it goes (Textual lets a closed screen go
        # a turn later).  Before the mend: all eight.
        assert len(alive) <= len(drawn) // 8, (len(alive), len(drawn))


def test_what_is_loaded_is_put_out_of_sight_once_and_again_only_for_the_orm(
    ui_store, ui_world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Each time the app freezes what it has loaded (``PrepfloorApp.freeze_loaded``), a screen
    open at that moment is kept for good: the first frame's timer, the write path's warm-up and
    the idle check all ask, and only the first ask, and the first after the ORM is loaded,
    freeze."""
    import sys

    app = make_app(ui_store, actor=ui_world["coordinator499"])
    frozen: list[bool] = []
    app.freeze_loaded = lambda: frozen.append("sqlalchemy.orm" in sys.modules)  # type: ignore[method-assign]
    orm = sys.modules["sqlalchemy.orm"]
    monkeypatch.delitem(sys.modules, "sqlalchemy.orm")  # a session that has only read
    app._freeze_what_is_new()
    app._freeze_what_is_new()
    assert frozen == [False]
    monkeypatch.setitem(sys.modules, "sqlalchemy.orm", orm)  # a write loaded the ORM
    app._freeze_what_is_new()
    app._freeze_what_is_new()
    assert frozen == [False, True]


def test_the_styles_are_the_same_whichever_widget_asks() -> None:
    """The mend's cache keeps the two styles Textual made, by the two colours alone."""
    base, background = Color(10, 20, 30), Color(200, 100, 50, 0.5)
    inner, outer = StylesCache().get_inner_outer(base, background)
    assert inner == Style(background=base + background)
    assert outer == Style(background=base)
    assert StylesCache().get_inner_outer(base, background) == (inner, outer)
