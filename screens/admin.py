"""Admin mode: dealerships (US-2.x) — the list, a new one (``n``) and an edit (Enter), through the
rules of :mod:`db.admin` (a unique number, no cycle in the hierarchy, a sales-only dealership needs
a prep center that does prep; the type sets own prep).  Refusals stand beside their fields.  The
lists of resource types, sharing agreements and users are :mod:`screens.admin_lists`."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db import formats, settings, validate
from db.i18n import N_, _, ngettext
from db.settings import DealershipRow
from db.vocab import DEALERSHIP_TYPE_LABELS, DEALERSHIP_TYPES, OWN_PREP_OF_TYPE
from screens.admin_lists import (
    AgreementsScreen,
    EditTable,
    ResourceTypesScreen,
    UsersScreen,
    yes_no,
)
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Select, Static

TYPE_LABELS = DEALERSHIP_TYPE_LABELS
CENTER_EXPECTED = N_("Expected: its prep center.")


class DealershipForm(FormDialog):
    """The dealership form: choosing a type sets own prep to follow it (sales only: no, and the
    prep center is asked for beside its field; prep center only, sales and prep: yes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen_type = next(f.value for f in self.fields if f.name == "dealership_type")
        self.center_asked = False  # "Expected: …" stands beside the prep center

    @on(Select.Changed, "#dealership_type")
    def _type_chosen(self, event: Select.Changed) -> None:
        kind = str(event.value)
        if kind == self.chosen_type or kind not in OWN_PREP_OF_TYPE:
            return  # the value it opened with (a Select says so once as it mounts)
        self.chosen_type = kind
        self.query_one("#does_own_prep", Select).value = "yes" if OWN_PREP_OF_TYPE[kind] else "no"
        center = self.query_one("#prep_center_id", Select)
        if kind == "prep_center_only":
            center.value = ""  # a prep center prepares its own cars
        self.center_asked = kind == "sales_only" and not center.value
        message = self.query_one("#msg-prep_center_id", Static)
        message.update(_(CENTER_EXPECTED) if self.center_asked else "")

    @on(Select.Changed, "#prep_center_id")
    def _center_chosen(self, event: Select.Changed) -> None:
        if event.value and self.center_asked:
            self.center_asked = False
            self.query_one("#msg-prep_center_id", Static).update("")


class DealershipsTable(EditTable):
    """The dealerships: Enter edits one."""


class DealershipsScreen(Screen[None]):
    BINDINGS = [
        Binding("n", "new", "New dealership"),
        Binding("r", "types", "Resource types"),
        Binding("a", "agreements", "Sharing agreements"),
        Binding("u", "users", "Users"),
        Binding("t", "targets", "SLA targets"),
        Binding("m", "customer_messages", "Customer messages"),
    ]
    DEFAULT_CSS = """
    DealershipsScreen #note { height: auto; padding: 1 1 0 1; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.rows: list[DealershipRow] = []
        self.targets: dict[int, dict[str, float]] = {}  # every dealership's days per stage

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Admin · Dealerships"))
        yield Static(
            _(
                "Enter edits, n adds. A sales-only dealership needs a prep center that does prep; "
                "a dealership cannot be its own parent, even through others. Deactivating keeps "
                "its history. t: days a car may spend in each stage (SLA). r: resource types, a: "
                "sharing agreements, u: users, m: the dealership's customer messages."
            ),
            id="note",
            markup=False,
        )
        header = TableHeader()
        yield header
        yield DealershipsTable(
            [  # at 80 columns: number, name, type, own prep, prep center, active
                Column("number", "Number", 7, least=6),
                Column("name", "Name", 18, flex=2, least=14),
                Column("type", "Type", 19, least=16),  # Salg og klargjøring
                Column("prep", "Own prep", 8, drop=3),
                Column("center", "Prep center", 14, flex=1, least=12),
                Column("parent", "Part of", 14, flex=1, drop=2),
                Column("brand", "Brand", 8, drop=1),
                Column("active", "Active", 6),
            ],
            self.cells,
            header=header,
            empty=_("No dealerships yet: n adds the first."),
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
            _("yes") if row.does_own_prep else "",
            self._label_of(row.prep_center_id),
            self._label_of(row.parent_id),
            row.brand or "",
            _("yes") if row.active else Cell(_("no"), "dim"),
        ]

    @work(thread=True, exclusive=True, group="dealerships", exit_on_error=False)
    def load(self) -> None:
        from db.dashboard import targets_of

        fast = self.ctx.store.fast
        rows = settings.dealerships(fast)
        self.app.call_from_thread(self._show, rows, targets_of(fast))

    def _show(self, rows: list[DealershipRow], targets: dict[int, dict[str, float]]) -> None:
        self.rows = rows
        self.targets = targets
        self.table.set_rows(rows)

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("dealership"):
            self.load()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        self._edit(event.row)

    def action_new(self) -> None:
        self._edit(None)

    def action_types(self) -> None:
        self.app.push_screen(ResourceTypesScreen(self.ctx))

    def action_agreements(self) -> None:
        self.app.push_screen(AgreementsScreen(self.ctx))

    def action_users(self) -> None:
        self.app.push_screen(UsersScreen(self.ctx))

    def action_customer_messages(self) -> None:
        """The chosen dealership's messages to its customers: milestones and templates."""
        from screens.outbox_settings import CustomerMessagesScreen

        row = self.table.current
        if row is not None:
            self.app.push_screen(
                CustomerMessagesScreen(self.ctx, row.id, f"{row.number} {row.name}")
            )

    def action_targets(self) -> None:
        row = self.table.current
        if row is None:
            return
        from db import admin
        from db.sla import DEFAULT_STAGE_TARGETS, STAGE_LABELS, STAGE_SHORT

        ctx = self.ctx
        own = row.sla_targets or {}
        parent = self._label_of(row.parent_id) or _("prepfloor's default")
        # what an empty stage means: the target of its headquarters (or the default)
        inherited = self.targets.get(row.parent_id or -1, DEFAULT_STAGE_TARGETS)

        def hint(days: float) -> str:
            count = 1 if days == 1 else 2  # 1.5 days: plural
            return ngettext("{days} day, as {parent}", "{days} days, as {parent}", count)

        fields = [
            FormField(
                key,
                STAGE_SHORT[key],
                hint(inherited.get(key, 0)).format(
                    days=formats.number(inherited.get(key, 0)), parent=parent
                ),
                value=formats.hours_field(own[key]) if own.get(key) is not None else "",
            )
            for key in STAGE_LABELS
        ]

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(admin.save_sla_targets, ctx.actor, row.id, values)

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(
                    _("SLA targets saved: {number} {name}.").format(
                        number=result.dealership_number, name=result.dealership_name
                    )
                )
                self.load()

        self.app.push_screen(
            FormDialog(
                _("SLA targets of {number} {name} (days in each stage)").format(
                    number=row.number, name=row.name
                ),
                fields,
                save,
                intro=_(
                    "Empty: as its headquarters (else prepfloor's default). The dashboard shows a "
                    "car yellow from 75% of its stage's target, red past it. Stages: registered "
                    "until sent, in transit, arrived until inspected, waiting on parts, inspected "
                    "until technical done, until cosmetic done, ready until handed over."
                ),
            ),
            saved,
        )

    def _edit(self, row: DealershipRow | None) -> None:
        from db import admin

        others = [r for r in self.rows if row is None or r.id != row.id]
        parents = [(_("— none —"), "")] + [(f"{r.number} {r.name}", str(r.id)) for r in others]
        centers = [(_("— none —"), "")] + [
            (f"{r.number} {r.name}", str(r.id))
            for r in others
            if r.type == "prep_center_only" or r.does_own_prep
        ]
        fields = [
            FormField(
                "dealership_number", _("Number *"), _("e.g. 495"), value=row.number if row else ""
            ),
            FormField("dealership_name", _("Name *"), value=row.name if row else ""),
            FormField("location", _("Location"), value=(row.location or "") if row else ""),
            FormField(
                "dealership_type",
                _("Type *"),
                options=[(TYPE_LABELS[t], t) for t in DEALERSHIP_TYPES],
                value=row.type if row else "sales_and_prep",
            ),
            FormField(
                "does_own_prep",
                _("Own prep *"),
                options=yes_no(),
                value="yes" if (row.does_own_prep if row else True) else "no",
            ),
            FormField(
                "prep_center_id",
                _("Prep center"),
                options=centers,
                value=str(row.prep_center_id) if row and row.prep_center_id else "",
            ),
            FormField(
                "parent_dealership_id",
                _("Part of"),
                options=parents,
                value=str(row.parent_id) if row and row.parent_id else "",
            ),
            FormField("brand", _("Brand"), value=(row.brand or "") if row else ""),
            FormField(
                "brand_colors",
                _("Brand colors"),
                _("primary, accent, secondary: #1c69d4 #0a2240"),
                value=validate.brand_colors_text(row.brand_colors) if row else "",
            ),
            FormField(
                "logo",
                _("Logo"),
                _("text for the header, e.g. ◆ BMW"),
                value=(row.logo or "") if row else "",
            ),
            FormField(
                "active",
                _("Active *"),
                options=yes_no(),
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
            fields_["brand_colors"] = validate.brand_colors(fields_["brand_colors"])
            fields_["logo"] = fields_["logo"] or None
            return ctx.store.run(
                admin.save_dealership, ctx.actor, row.id if row else None, **fields_
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(
                    _("Saved: {number} {name}.").format(
                        number=result.dealership_number, name=result.dealership_name
                    )
                )
                self.load()

        if row is not None:
            title = _("Dealership {number} {name}").format(number=row.number, name=row.name)
        else:
            title = _("New dealership")
        self.app.push_screen(DealershipForm(title, fields, save, table="dealership"), saved)
