"""Widgets every screen shares: the plain-text widgets, the header with who is signed in, the
footer with the keys.

The screens take ``Static``, ``Label``, ``Input``, ``Select``, ``OptionList``, ``Option`` and
``TextArea`` from here, not from ``textual.widgets`` (a test holds them to it): these are Textual's
widgets that never read what they show as markup and never pass a control character on to the
terminal (:mod:`screens.plain`).  Whatever a screen puts in them — a customer name, a note typed by
someone at another dealership, a value another program wrote — is drawn as the characters it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.visual import RichVisual, VisualType
from textual.widget import Widget
from textual.widgets import Input as TextualInput
from textual.widgets import Label as TextualLabel
from textual.widgets import OptionList as TextualOptionList
from textual.widgets import Select as TextualSelect
from textual.widgets import Static as TextualStatic
from textual.widgets._select import SelectOverlay
from textual.widgets.option_list import Option as TextualOption

from db.i18n import N_, _, ngettext
from db.text import one_line
from screens.context import SessionContext
from screens.plain import plain, safe_visual


def ready_to_save(screen: Any) -> None:
    """``screen``'s keys save (a form, a booking, a clock, a choice that changes something): the
    session loads its write path in the background now, not on the first save's key
    (:meth:`prepfloor.app.PrepfloorApp.warm_writes`).  Call it when the screen is mounted."""
    warm = getattr(screen.app, "warm_writes", None)
    if warm is not None:
        warm()


# ------------------------------------------------------------------------------------------------
# plain-text widgets
# ------------------------------------------------------------------------------------------------
class Static(TextualStatic):
    """Textual's ``Static``: never markup, never a control character.

    It also keeps the height of a rich renderable (a table, a block of lines) for its width until
    the content changes.  Textual forgets a widget's measured height whenever any size changes,
    and lays a screen out again after every layout that sized a widget anew, so a car's view
    rendered each of its tables whole twice to measure them: 40-60 ms of the ~200 ms it takes to
    open one.  A rich renderable's height depends on the renderable and the width alone (Textual's
    ``RichVisual.get_height`` reads no style), so the kept height is exact.
    """

    _rich_height: tuple[RichVisual, int, int] | None = None  # (content, width, height)

    def __init__(self, content: VisualType = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(safe_visual(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(safe_visual(content), layout=layout)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        visual = self.visual
        if not isinstance(visual, RichVisual):
            return super().get_content_height(container, viewport, width)
        kept = self._rich_height
        if kept is not None and kept[0] is visual and kept[1] == width:
            return kept[2]
        height = super().get_content_height(container, viewport, width)
        self._rich_height = (visual, width, height)
        return height


class Label(TextualLabel):
    """Textual's ``Label``: never markup, never a control character."""

    def __init__(self, content: VisualType = "", *, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(safe_visual(content), markup=False, **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(safe_visual(content), layout=layout)


class Input(TextualInput):
    """Textual's ``Input`` whose value never holds a control character, however it got there
    (a paste, a barcode reader, a value from the database)."""

    def validate_value(self, value: str) -> str:
        return one_line(value)


def __getattr__(name: str) -> Any:
    """``TextArea`` lives in :mod:`screens.notes` (Textual's text area costs milliseconds to
    import, and only the order form has one)."""
    if name == "TextArea":
        from screens.notes import TextArea

        return TextArea
    raise AttributeError(name)


class Option(TextualOption):
    """An option whose prompt is plain text."""

    def __init__(self, prompt: VisualType, id: str | None = None, disabled: bool = False) -> None:
        super().__init__(safe_visual(prompt, multiline=False), id, disabled)


def _option(item: Any) -> Any:
    return safe_visual(item, multiline=False) if isinstance(item, str | Text) else item


class OptionList(TextualOptionList):
    """Textual's ``OptionList`` that never reads its prompts as markup."""

    def __init__(self, *content: Any, markup: bool = False, **kwargs: Any) -> None:
        super().__init__(*(_option(item) for item in content), markup=False, **kwargs)

    def add_options(self, items: Iterable[Any]) -> OptionList:
        super().add_options([_option(item) for item in items])
        return self


def _choices(options: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """A Select's options with plain-text prompts (a ``str`` prompt would be read as markup)."""
    return [
        (plain(prompt) if isinstance(prompt, str | Text) else prompt, v) for prompt, v in options
    ]


class Select(TextualSelect):  # type: ignore[type-arg]
    """Textual's ``Select`` whose choices are plain text, and which says when the user picks.

    ``Changed`` comes whenever the value changes, also when a screen sets it, and not when the
    user picks the option already shown.  ``Picked`` comes for every pick by the user (keys or
    mouse in the open list), the same option again included, and for nothing else: a screen
    that must tell the user's choice from its own listens to this."""

    class Picked(Message):
        """The user picked ``value`` in ``select`` (maybe the value it had already)."""

        def __init__(self, select: Select, value: Any) -> None:
            super().__init__()
            self.select = select
            self.value = value

        @property
        def control(self) -> Select:
            return self.select

    def __init__(self, options: Iterable[tuple[Any, Any]], **kwargs: Any) -> None:
        super().__init__(_choices(options), **kwargs)

    @on(SelectOverlay.UpdateSelection)
    def _user_picked(self, event: SelectOverlay.UpdateSelection) -> None:
        # runs before Textual's own handler sets the value, which posts Changed (if it changed)
        # after this: a screen hears Picked first and reads the value already set
        self.post_message(self.Picked(self, self._options[event.option_index][1]))

    def set_options(self, options: Iterable[tuple[Any, Any]]) -> None:
        super().set_options(_choices(options))


LOGO_WIDTH = 16  # cells of the logo text the header shows


class AppHeader(Horizontal):
    """``<logo>  prepfloor · <screen>`` on the left; user, role and dealership on the right.

    The screen's title always shows: on a narrow terminal (80 columns) the header first leaves
    out the dealership, then the word prepfloor, shortens the unread count, keeps only the user's
    name and drops the logo; only then is the title cut (with an ellipsis)."""

    DEFAULT_CSS = """
    AppHeader { height: 1; background: $primary; color: $button-color-foreground; dock: top; }
    AppHeader > #title { width: 1fr; padding: 0 1; text-style: bold; text-wrap: nowrap;
        text-overflow: ellipsis; }
    AppHeader > #who { width: auto; padding: 0 1; text-wrap: nowrap; }
    AppHeader > #unread { width: auto; padding: 0 1; text-style: bold; background: $warning;
        color: $background;
        text-wrap: nowrap; }
    """

    def __init__(self, ctx: SessionContext | None, title: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.title_text = title
        self.unread = 0
        self._shown: tuple[str, str, str] | None = None

    def title_line(self, *, logo: bool = True, name: bool = True) -> str:
        shown = (self.ctx.logo or "")[:LOGO_WIDTH] if self.ctx is not None and logo else ""
        return f"{shown + '  ' if shown else ''}{'prepfloor · ' if name else ''}{self.title_text}"

    def compose(self) -> ComposeResult:
        yield Static(self.title_line(), id="title", markup=False)
        yield Static("", id="unread", markup=False)
        yield Static(self.who(), id="who", markup=False)

    def on_mount(self) -> None:
        self.query_one("#unread").display = False
        headers = getattr(self.app, "unread_headers", None)
        if self.ctx is not None and headers is not None:
            # Told by the app, which holds its headers weakly.  A watch of the app's count kept
            # every header of every closed screen alive until the count next changed (Textual
            # drops a closed widget's watch only then): ~0.45 MB a car's view in a session.
            headers.add(self)
            self.show_unread(self.app.unread)

    def on_unmount(self) -> None:
        headers = getattr(self.app, "unread_headers", None)
        if headers is not None:
            headers.discard(self)

    def show_unread(self, count: int) -> None:
        self.unread = count
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def who(self, *, dealership: bool = True, role: bool = True) -> str:
        if self.ctx is None:
            return _("not signed in")
        actor = self.ctx.actor
        parts = [actor.display_name]
        if role:
            parts.append(actor.role_label)
        if self.ctx.dealership and dealership:
            parts.append(self.ctx.dealership)
        return " · ".join(parts)

    def set_title(self, title: str) -> None:
        self.title_text = title
        self._fit()

    def _fit(self) -> None:
        """The fullest header that leaves the whole title on the line."""
        from rich.cells import cell_len

        count = self.unread
        long_unread = (
            ngettext("✉ {n} unread (f8)", "✉ {n} unread (f8)", count).format(n=count)
            if count
            else ""
        )
        short_unread = f"✉ {count}" if count else ""
        steps = [  # (logo, the word prepfloor, unread, who): fullest first
            (True, True, long_unread, self.who()),
            (True, True, long_unread, self.who(dealership=False)),
            (True, False, long_unread, self.who(dealership=False)),
            (True, False, short_unread, self.who(dealership=False)),
            (True, False, short_unread, self.who(dealership=False, role=False)),
            (False, False, short_unread, self.who(dealership=False, role=False)),
        ]
        width = self.size.width
        for logo, name, unread, who in steps:
            title = self.title_line(logo=logo, name=name)
            used = cell_len(title) + 2 + cell_len(who) + 2
            if unread:
                used += cell_len(unread) + 2
            if used <= width:
                break
        shown = (title, unread, who)
        if shown == self._shown:
            return
        self._shown = shown
        self.query_one("#title", Static).update(title)
        badge = self.query_one("#unread", Static)
        badge.update(unread)
        badge.display = bool(unread)
        self.query_one("#who", Static).update(who)


class AppFooter(Widget):
    """The keys of the screen on one line, drawn as one widget.

    The order, at any width: first the keys that are always there (``PINNED``: sign out, help
    and the inbox, when signed in); then the screen's own keys as the screen declares them (the
    focused list's first, then the screen's: the order of use); then the keys of everywhere
    (the modes, a new car, quit).  Whole keys only: when they do not all fit, the line ends with
    ``f1 more`` (the help lists every key).  The palette's key (``^p Find``) keeps the right end.

    Textual's own footer is a widget per key, composed again whenever the focus moves and the
    bindings change: a third of the CPU of a session's first frame went there, and its keys'
    watchers outlived them.  This one redraws a line of text.  A click on a key presses it.
    """

    # The app's actions whose keys are always on the line, in this order.
    PINNED = ("sign_out", "help", "inbox")
    # (key, key shown, description, enabled); the descriptions are translated when drawn
    MORE = ("f1", "f1", N_("more"), True)  # says where the keys that did not fit are
    PALETTE_LABEL = N_("Find")  # ctrl+p: find a car, go to a screen

    COMPONENT_CLASSES = {"app-footer--key", "app-footer--description", "app-footer--disabled"}
    DEFAULT_CSS = """
    AppFooter {
        dock: bottom; height: 1; width: 1fr; text-wrap: nowrap; text-overflow: clip;
        background: $footer-background; color: $footer-foreground;
        .app-footer--key { color: $footer-key-foreground; background: $footer-key-background;
            text-style: bold; }
        .app-footer--description { color: $footer-description-foreground;
            background: $footer-description-background; }
        .app-footer--disabled { text-style: dim; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[int, int, str]] = []  # (from, to, key) of each key on the line

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def _line(self) -> Text:
        key_style = self.get_component_rich_style("app-footer--key")
        text_style = self.get_component_rich_style("app-footer--description")
        dim = self.get_component_rich_style("app-footer--disabled", partial=True)
        styles = (key_style, text_style, dim)
        pinned: dict[str, tuple[str, str, str, bool]] = {}
        ordered: list[tuple[str, str, str, bool]] = []  # the screen's, in the order of its keys
        everywhere: list[tuple[int, tuple[str, str, str, bool]]] = []
        # the app's keys in the order its class declares them (Textual's own come first else)
        declared = [getattr(b, "action", None) for b in getattr(self.app, "BINDINGS", [])]
        seen: set[str] = set()
        palette = None
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                palette = (binding.key, self.app.get_key_display(binding), enabled)
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = (binding.key, self.app.get_key_display(binding), binding.description, enabled)
            if binding.action in self.PINNED:
                pinned[binding.action] = key
            elif node is self.app:
                where = declared.index(binding.action) if binding.action in declared else 999
                everywhere.append((where, key))
            else:
                ordered.append(key)
        keys = [pinned[action] for action in self.PINNED if action in pinned]
        rest = ordered + [key for _where, key in sorted(everywhere, key=lambda e: e[0])]
        right = Text(no_wrap=True)
        right_keys: list[tuple[int, int, str]] = []
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            # the palette's key at the right end, as Textual's footer has it
            right.append("▏", style=text_style)
            entry = (palette[0], palette[1], self.PALETTE_LABEL, palette[2])
            self._add(right, right_keys, entry, *styles)
        room = max(0, self.size.width - len(right))
        more = self.MORE

        def width(entries: list[tuple[str, str, str, bool]]) -> int:
            return sum(len(shown) + len(_(text)) + 3 for _key, shown, text, _on in entries)

        if width(keys + rest) > room:  # whole keys in order, then where the others are
            budget = room - width([more])
            for entry in rest:
                if width([*keys, entry]) > budget:
                    break
                keys.append(entry)
            keys.append(more)
        else:
            keys += rest
        line = Text(no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, str]] = []
        for entry in keys:
            self._add(line, spans, entry, *styles)
        if len(line) > room:  # narrower than the keys that are always there
            spans = [k for k in spans if k[1] <= room]
            line.truncate(room)
        line.pad_right(room - len(line))
        spans += [(room + a, room + b, key) for a, b, key in right_keys]
        line.append_text(right)
        self._keys = spans
        return line

    @staticmethod
    def _add(
        line: Text,
        keys: list[tuple[int, int, str]],
        entry: tuple[str, str, str, bool],
        key: Style,
        text: Style,
        dim: Style,
    ) -> None:
        """Append `` key description `` to ``line``; note where it is (a click presses it)."""
        binding_key, shown, description, enabled = entry
        start = len(line)
        line.append(f" {shown} ", style=key + dim if not enabled else key)
        line.append(f"{_(description)} ", style=text + dim if not enabled else text)
        keys.append((start, len(line), binding_key))

    def render(self) -> Text:
        return self._line()

    def on_click(self, event: Click) -> None:
        for start, end, key in self._keys:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return


class SearchBoxKeys:
    """``/`` into the screen's ``#search`` box; Escape there clears it, then back to the list
    (the screen's ``table``)."""

    table: Widget

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()  # type: ignore[attr-defined]

    def action_leave_search(self) -> None:
        search = self.query_one("#search", Input)  # type: ignore[attr-defined]
        if search.has_focus and search.value:
            search.value = ""
        self.table.focus()
