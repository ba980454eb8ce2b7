"""Admin mode: dealerships (US-2.x) — the list, a new one (``n``) and an edit (Enter), through the
rules of :mod:`db.admin` (a unique number, no cycle in the hierarchy, a sales-only dealership needs
a prep center that does prep).  Refusals stand beside their fields."""

from __future__ import annotations

from typing import Any, NamedTuple

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from db.vocab import DEALERSHIP_TYPES
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader

TYPE_LABELS = {
    "sales_only": "Sales only",
    "prep_center_only": "Prep center only",
    "sales_and_prep": "Sales and prep",
}
YES_NO = [("Yes", "yes"), ("No", "no")]


class DealershipRow(NamedTuple):
    id: int
    number: str
    name: str
    location: str | None
    type: str
    brand: str | None
    does_own_prep: bool
    active: bool
    parent_id: int | None
    prep_center_id: int | None


def dealership_rows(fast: Any) -> list[DealershipRow]:
    rows = fast.rows(
        "SELECT id, dealership_number, dealership_name, location, dealership_type, brand, "
        "does_own_prep, active, parent_dealership_id, prep_center_id FROM dealership "
        "ORDER BY dealership_number"
    )
    return [
        DealershipRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7]), r[8], r[9])
        for r in rows
    ]


class DealershipsTable(RowTable[DealershipRow]):
    BINDINGS = [Binding("enter", "select", "Edit")]


class DealershipsScreen(Screen[None]):
    BINDINGS = [Binding("n", "new", "New dealership")]
    DEFAULT_CSS = """
    DealershipsScreen #note { height: auto; padding: 1 1 0 1; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.rows: list[DealershipRow] = []

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, "Admin · Dealerships")
        yield Static(
            "Enter edits, n adds. A sales-only dealership needs a prep center that does prep; "
            "a dealership cannot be its own parent, even through others. Deactivating keeps its "
            "history. (Resource types, sharing agreements and users are configured with the "
            "prepfloor command for now.)",
            id="note",
            markup=False,
        )
        header = TableHeader()
        yield header
        yield DealershipsTable(
            [
                Column("number", "Number", 7),
                Column("name", "Name", 18, flex=2),
                Column("type", "Type", 16),
                Column("prep", "Own prep", 8),
                Column("center", "Prep center", 14, flex=1),
                Column("parent", "Part of", 14, flex=1),
                Column("brand", "Brand", 8),
                Column("active", "Active", 6),
            ],
            self.cells,
            header=header,
            empty="No dealerships yet: n adds the first.",
        )
        yield AppFooter()

    @property
    def table(self) -> DealershipsTable:
        return self.query_one(DealershipsTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    def _label_of(self, dealership_id: int | None) -> str:
        for row in self.rows:
            if row.id == dealership_id:
                return f"{row.number} {row.name}"
        return ""

    def cells(self, row: DealershipRow) -> list[CellValue]:
        return [
            row.number,
            row.name,
            TYPE_LABELS.get(row.type, row.type),
            "yes" if row.does_own_prep else "",
            self._label_of(row.prep_center_id),
            self._label_of(row.parent_id),
            row.brand or "",
            "yes" if row.active else Cell("no", "dim"),
        ]

    @work(thread=True, exclusive=True, group="dealerships", exit_on_error=False)
    def load(self) -> None:
        rows = dealership_rows(self.ctx.store.fast)
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[DealershipRow]) -> None:
        self.rows = rows
        self.table.set_rows(rows)

    def on_data_changed(self, _event: DataChanged) -> None:
        self.load()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        self._edit(event.row)

    def action_new(self) -> None:
        self._edit(None)

    def _edit(self, row: DealershipRow | None) -> None:
        from db import admin

        others = [r for r in self.rows if row is None or r.id != row.id]
        parents = [("— none —", "")] + [(f"{r.number} {r.name}", str(r.id)) for r in others]
        centers = [("— none —", "")] + [
            (f"{r.number} {r.name}", str(r.id))
            for r in others
            if r.type == "prep_center_only" or r.does_own_prep
        ]
        fields = [
            FormField("dealership_number", "Number *", "e.g. 495", value=row.number if row else ""),
            FormField("dealership_name", "Name *", value=row.name if row else ""),
            FormField("location", "Location", value=(row.location or "") if row else ""),
            FormField(
                "dealership_type",
                "Type *",
                options=[(TYPE_LABELS[t], t) for t in DEALERSHIP_TYPES],
                value=row.type if row else "sales_and_prep",
            ),
            FormField(
                "does_own_prep",
                "Own prep *",
                options=YES_NO,
                value="yes" if (row.does_own_prep if row else True) else "no",
            ),
            FormField(
                "prep_center_id",
                "Prep center",
                options=centers,
                value=str(row.prep_center_id) if row and row.prep_center_id else "",
            ),
            FormField(
                "parent_dealership_id",
                "Part of",
                options=parents,
                value=str(row.parent_id) if row and row.parent_id else "",
            ),
            FormField("brand", "Brand", value=(row.brand or "") if row else ""),
            FormField(
                "active",
                "Active *",
                options=YES_NO,
                value="yes" if (row.active if row else True) else "no",
            ),
        ]
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            fields_ = dict(values)
            for name in ("does_own_prep", "active"):
                fields_[name] = fields_[name] == "yes"
            for name in ("prep_center_id", "parent_dealership_id"):
                fields_[name] = int(fields_[name]) if fields_[name] else None
            return ctx.store.run(
                admin.save_dealership, ctx.actor, row.id if row else None, **fields_
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(f"Saved: {result.dealership_number} {result.dealership_name}.")
                self.load()

        title = f"Dealership {row.number} {row.name}" if row else "New dealership"
        self.app.push_screen(FormDialog(title, fields, save), saved)
