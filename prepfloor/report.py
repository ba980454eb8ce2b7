"""``prepfloor report``: the manager's dashboard as rich tables on standard output, without the TUI
(for a cron job that mails it each morning).  The figures are :func:`db.dashboard.dashboard`'s, the
same the ``f6`` screen shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

if TYPE_CHECKING:
    from db.dashboard import Dashboard, Table

LEVEL_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red", "": ""}


def rich_table(table: Table) -> RichTable:
    """One dashboard table as a rich table (a level column when the table judges its rows)."""
    from db.dashboard import format_value

    out = RichTable(
        title=table.title, title_justify="left", caption=table.note or None, caption_justify="left"
    )
    levels = any(r.level for r in table.rows)
    if levels:
        out.add_column("", width=1)
    for col in table.columns:
        out.add_column(
            col.title, justify="left" if col.kind in ("text", "name", "bar") else "right"
        )
    for row in table.rows:
        cells = [
            Text(format_value(c.kind, v)) for c, v in zip(table.columns, row.values, strict=True)
        ]
        if levels:
            cells.insert(0, Text("●" if row.level else "", style=LEVEL_STYLE[row.level]))
        out.add_row(*cells)
    if not table.rows:
        out.add_row(
            *([""] if levels else []), "Nothing in this period.", *[""] * (len(table.columns) - 1)
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
    console = Console(file=file, width=width, no_color=color is False, force_terminal=color)
    console.print(
        Text(
            f"{data.scope} · {data.first:%d %b %Y} to {data.last:%d %b %Y}",
            style="bold",
        )
    )
    if data.bottleneck:
        console.print(Text(data.bottleneck, style="yellow"))
    for table in data.tables:
        if keys and table.key not in keys:
            continue
        console.print()
        console.print(rich_table(table))
