"""``prepfloor report``: the manager's dashboard as rich tables on standard output, without the TUI
(for a cron job that mails it each morning).  The figures are :func:`db.dashboard.dashboard`'s, the
same the ``f6`` screen shows.

Names in it (the dealership, people, kinds of work) are data: every title, header and cell is a
``rich.text.Text`` of one clean line (:func:`db.text.one_line`), never parsed for ``[markup]`` and
never carrying a control character to the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from db import formats
from db.i18n import _
from db.text import one_line

if TYPE_CHECKING:
    from db.dashboard import Dashboard, Table

LEVEL_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red", "": ""}


def plain(value: object, style: str = "") -> Text:
    """Stored text as a rich ``Text``: one clean line, never markup."""
    return Text(one_line(value), style=style)


def rich_table(table: Table) -> RichTable:
    """One dashboard table as a rich table (a level column when the table judges its rows)."""
    from db.dashboard import format_value

    out = RichTable(
        title=plain(table.title),
        title_justify="left",
        caption=plain(table.note) if table.note else None,
        caption_justify="left",
    )
    levels = any(r.level for r in table.rows)
    if levels:
        out.add_column("", width=1)
    for col in table.columns:
        out.add_column(
            plain(col.title), justify="left" if col.kind in ("text", "name", "bar") else "right"
        )
    for row in table.rows:
        cells = [
            plain(format_value(c.kind, v)) for c, v in zip(table.columns, row.values, strict=True)
        ]
        if levels:
            cells.insert(0, Text("●" if row.level else "", style=LEVEL_STYLE[row.level]))
        out.add_row(*cells)
    if not table.rows:
        out.add_row(
            *([""] if levels else []),
            _("Nothing in this period."),
            *[""] * (len(table.columns) - 1),
        )
    return out


def print_report(
    data: Dashboard,
    keys: list[str] | None = None,
    *,
    file: TextIO | None = None,
    width: int | None = None,
    color: bool | None = None,
) -> None:
    """Print the scope line, the bottleneck and the tables ``keys`` (default all)."""
    console = Console(
        file=file,
        width=width,
        no_color=color is False,
        force_terminal=color,
        markup=False,
        emoji=False,
        highlight=False,
    )
    period = _("{scope} · {first} to {last}").format(
        scope=data.scope, first=formats.day_year(data.first), last=formats.day_year(data.last)
    )
    console.print(plain(period, "bold"))
    if data.bottleneck:
        console.print(plain(data.bottleneck, "yellow"))
    for table in data.tables:
        if keys and table.key not in keys:
            continue
        console.print()
        console.print(rich_table(table))
