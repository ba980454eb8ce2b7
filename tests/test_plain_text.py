"""Stored text is never markup and never a control character: the cleaning, the plain-text widgets,
and a check that the screens keep using them (the wrong way stays hard to write)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from db.text import clean, one_line
from screens.plain import PlainTable, plain
from screens.widgets import Input, Label, Option, OptionList, Select, Static, TextArea

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "Tor [/] [@click=app.quit]x[/] [link=http://x]y[/link] \x1b]52;c;aGk=\x07\x1b]0;t\x07\x1b[2J\x00"
SHOWN = "Tor [/] [@click=app.quit]x[/] [link=http://x]y[/link] ]52;c;aGk=]0;t[2J"


def test_clean_removes_control_characters_and_keeps_what_people_type() -> None:
    assert clean(HOSTILE) == SHOWN
    assert clean("Bjørn Ødegård · 7,5 t [temp]") == "Bjørn Ødegård · 7,5 t [temp]"
    assert clean("line one\r\nline two\rthree\tcol") == "line one\nline two\nthree\tcol"
    assert clean("a\u202eb\u2066c\u2028d\ud800e") == "abcde"  # bidi overrides, separators
    assert clean("a\x85b\x9bc\x7fd") == "abcd"  # C1 controls (NEL, CSI) and DEL
    assert clean("two\nlines\tand tab", multiline=False) == "two lines and tab"
    assert one_line(None) == "" and one_line(7.5) == "7.5"


def test_plain_never_parses_markup() -> None:
    text = plain(HOSTILE)
    assert isinstance(text, Text) and text.plain == SHOWN and not text.spans
    kept = plain(Text.from_markup("[bold]x[/bold]\x1b[2J"))
    assert kept.plain == "x[2J" and kept.spans  # a Text of our own keeps its styles


def test_a_plain_table_keeps_brackets() -> None:
    from rich.console import Console

    table = PlainTable.grid()
    table.add_column()
    table.add_row(HOSTILE)
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    assert SHOWN in console.export_text()


class Shown(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(HOSTILE, id="static")
        yield Label(HOSTILE, id="label")
        yield Input(HOSTILE, id="input")
        yield TextArea("notes\n" + HOSTILE, id="notes")
        yield OptionList(HOSTILE, Option(HOSTILE, id="o"), id="options")
        yield Select([(HOSTILE, 1)], value=1, allow_blank=False, id="select")


async def test_the_plain_widgets_show_hostile_text_literally() -> None:
    app = Shown()
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        app.query_one("#static", Static).update(HOSTILE)
        assert str(app.query_one("#static", Static).render()) == SHOWN
        assert str(app.query_one("#label", Label).render()) == SHOWN
        field = app.query_one("#input", Input)
        assert field.value == SHOWN
        field.value = "paste \x1b]0;t\x07here"
        assert field.value == "paste ]0;there"
        assert app.query_one("#notes", TextArea).text == "notes\n" + SHOWN
        options = app.query_one("#options", OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(2)] == [SHOWN] * 2
        select = app.query_one("#select", Select)
        assert select.value == 1
        assert str(select.query_one("SelectCurrent #label").render()) == SHOWN


# ------------------------------------------------------------------------------------------------
# the screens use the plain widgets
# ------------------------------------------------------------------------------------------------
# Textual widgets that draw text they are given, as markup when it is a str: screens take them
# from screens.widgets instead (Static, Label, Input, Select, OptionList, Option, TextArea), or do
# not use them (DataTable, Button...: when one is needed, add a plain version to screens.widgets).
UNSAFE_WIDGETS = {
    "Static",
    "Label",
    "Input",
    "Select",
    "OptionList",
    "TextArea",
    "DataTable",
    "Button",
    "Checkbox",
    "RadioButton",
    "RadioSet",
    "ListItem",
    "ListView",
    "Tree",
    "Log",
    "RichLog",
    "Markdown",
    "Link",
    "Switch",
    "SelectionList",
    "Collapsible",
}


def _modules() -> list[Path]:
    return sorted((ROOT / "screens").glob("*.py")) + sorted((ROOT / "prepfloor").glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_screens_draw_text_only_through_the_plain_widgets(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong: list[str] = []
    own = path.name in ("widgets.py", "plain.py", "notes.py") and path.parent.name == "screens"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not own:
            names = {alias.name for alias in node.names}
            if node.module == "textual.widgets" and names & UNSAFE_WIDGETS:
                wrong.append(
                    f"line {node.lineno}: textual.widgets {sorted(names & UNSAFE_WIDGETS)}"
                )
            if node.module == "textual.widgets.option_list" and "Option" in names:
                wrong.append(f"line {node.lineno}: textual's Option")
            if node.module == "rich.table" and path.parent.name == "screens" and "Table" in names:
                wrong.append(f"line {node.lineno}: rich's Table (use screens.plain.PlainTable)")
        if isinstance(node, ast.Attribute) and node.attr == "from_markup":
            wrong.append(f"line {node.lineno}: from_markup")
        if (
            isinstance(node, ast.keyword)
            and node.arg == "markup"
            and isinstance(node.value, ast.Constant)
            and node.value.value is True
        ):
            wrong.append(f"line {node.lineno}: markup=True")
    assert wrong == [], f"{path.relative_to(ROOT)} draws text that could be read as markup"


def test_the_light_limits_are_the_tables_lengths() -> None:
    from db.limits import TEXT_LIMITS
    from db.models import TABLES
    from db.types import SafeString

    lengths = {
        name: {
            column.name: column.type.impl.length
            for column in model.__table__.columns  # type: ignore[attr-defined]
            if isinstance(column.type, SafeString) and column.type.impl.length is not None
        }
        for name, model in TABLES.items()
    }
    assert {name: columns for name, columns in lengths.items() if columns} == TEXT_LIMITS
