"""Admin mode: dealerships (US-2.x) — the list, a new one (``n``) and an edit (Enter), through the
rules of :mod:`db.admin` (a unique number, no cycle in the hierarchy, a sales-only dealership needs
a prep center that does prep).  Refusals stand beside their fields."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db import settings, validate
from db.settings import AgreementRow, DealershipRow, TypeRow, UserRow
from db.vocab import DEALERSHIP_TYPES
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static

TYPE_LABELS = {
    "sales_only": "Sales only",
    "prep_center_only": "Prep center only",
    "sales_and_prep": "Sales and prep",
}
YES_NO = [("Yes", "yes"), ("No", "no")]


class DealershipsTable(RowTable[DealershipRow]):
    BINDINGS = [Binding("enter", "select", "Edit")]


class DealershipsScreen(Screen[None]):
    BINDINGS = [
        Binding("n", "new", "New dealership"),
        Binding("r", "types", "Resource types"),
        Binding("a", "agreements", "Sharing agreements"),
        Binding("u", "users", "Users"),
        Binding("t", "targets", "SLA targets"),
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
        yield AppHeader(self.ctx, "Admin · Dealerships")
        yield Static(
            "Enter edits, n adds. A sales-only dealership needs a prep center that does prep; "
            "a dealership cannot be its own parent, even through others. Deactivating keeps its "
            "history. t: days a car may spend in each stage (SLA). r: resource types, a: sharing "
            "agreements, u: users.",
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
        from db.dashboard import targets_of

        fast = self.ctx.store.fast
        rows = settings.dealerships(fast)
        self.app.call_from_thread(self._show, rows, targets_of(fast))

    def _show(self, rows: list[DealershipRow], targets: dict[int, dict[str, float]]) -> None:
        self.rows = rows
        self.targets = targets
        self.table.set_rows(rows)

    def on_data_changed(self, _event: DataChanged) -> None:
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

    def action_targets(self) -> None:
        row = self.table.current
        if row is None:
            return
        from db import admin
        from db.sla import DEFAULT_STAGE_TARGETS, STAGE_LABELS, STAGE_SHORT

        ctx = self.ctx
        own = row.sla_targets or {}
        parent = self._label_of(row.parent_id) or "prepfloor's default"
        # what an empty stage means: the target of its headquarters (or the default)
        inherited = self.targets.get(row.parent_id or -1, DEFAULT_STAGE_TARGETS)
        fields = [
            FormField(
                key,
                STAGE_SHORT[key],
                f"{inherited.get(key, 0):g} days, as {parent}",
                value=f"{own[key]:g}" if own.get(key) is not None else "",
            )
            for key in STAGE_LABELS
        ]

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(admin.save_sla_targets, ctx.actor, row.id, values)

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(
                    f"SLA targets saved: {result.dealership_number} {result.dealership_name}."
                )
                self.load()

        self.app.push_screen(
            FormDialog(
                f"SLA targets of {row.number} {row.name} (days in each stage)",
                fields,
                save,
                intro="Empty: as its headquarters (else prepfloor's default). The dashboard shows a "
                "car yellow from 75% of its stage's target, red past it. Stages: registered until "
                "sent, in transit, arrived until inspected, waiting on parts, inspected until "
                "technical done, until cosmetic done, ready until handed over.",
            ),
            saved,
        )

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
                "brand_colors",
                "Brand colors",
                "primary, accent, secondary: #1c69d4 #0a2240",
                value=validate.brand_colors_text(row.brand_colors) if row else "",
            ),
            FormField(
                "logo",
                "Logo",
                "text for the header, e.g. ◆ BMW",
                value=(row.logo or "") if row else "",
            ),
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
            fields_["brand_colors"] = validate.brand_colors(fields_["brand_colors"])
            fields_["logo"] = fields_["logo"] or None
            return ctx.store.run(
                admin.save_dealership, ctx.actor, row.id if row else None, **fields_
            )

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(f"Saved: {result.dealership_number} {result.dealership_name}.")
                self.load()

        title = f"Dealership {row.number} {row.name}" if row else "New dealership"
        self.app.push_screen(FormDialog(title, fields, save, table="dealership"), saved)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _bool(value: str) -> bool:
    return value == "yes"


class ConfigList(Screen[None]):
    """A list of one kind of configuration: ``n`` adds, Enter edits, Escape back."""

    BINDINGS = [Binding("n", "new", "New"), Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    ConfigList #note { height: auto; padding: 1 1 0 1; color: $text-muted; }
    """
    TITLE_TEXT = ""
    NOTE = ""
    TABLE = ""  # the table the form writes (its fields' lengths)

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, f"Admin · {self.TITLE_TEXT}")
        yield Static(self.NOTE, id="note", markup=False)
        header = TableHeader()
        yield header
        yield DealershipsTable(
            self.columns(), self.cells, header=header, empty="Nothing yet: n adds."
        )
        yield AppFooter()

    @property
    def table(self) -> RowTable[Any]:
        return self.query_one(RowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="config", exit_on_error=False)
    def load(self) -> None:
        rows = self.fetch()
        self.app.call_from_thread(self.table.set_rows, rows)

    def on_data_changed(self, _event: DataChanged) -> None:
        self.load()

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        self.edit(event.row)

    def action_new(self) -> None:
        self.edit(None)

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def cells(self, row: Any) -> list[CellValue]:
        raise NotImplementedError

    def fetch(self) -> list[Any]:
        raise NotImplementedError

    def edit(self, row: Any) -> None:
        raise NotImplementedError

    def open_form(self, title: str, fields: list[FormField], save: Any) -> None:
        def saved(result: Any) -> None:
            if result is not None:
                self.notify("Saved.")
                self.load()

        self.app.push_screen(FormDialog(title, fields, save, table=self.TABLE), saved)


class ResourceTypesScreen(ConfigList):
    TABLE = "resource_types"
    TITLE_TEXT = "Resource types"
    NOTE = (
        "The kinds of work a prep center books. A type in use can be deactivated, not deleted; "
        "the prep stage says which of a car's schedule fields the work drives."
    )

    def columns(self) -> list[Column]:
        return [
            Column("code", "Code", 14),
            Column("name", "Name", 20, flex=2),
            Column("icon", "Icon", 10),
            Column("stage", "Stage", 10),
            Column("hours", "Default h", 9, right=True),
            Column("assign", "Person", 6),
            Column("prod", "Productive", 10),
            Column("book", "Bookable", 8),
            Column("active", "Active", 6),
        ]

    def cells(self, row: TypeRow) -> list[CellValue]:
        return [
            row.code,
            Cell(row.name, row.color or ""),
            row.icon or "",
            row.prep_stage or "",
            f"{row.default_duration_hours:g}",
            _yes(row.requires_assignment),
            _yes(row.is_productive),
            _yes(row.bookable),
            _yes(row.active) if row.active else Cell("no", "dim"),
        ]

    def fetch(self) -> list[Any]:
        return settings.resource_types(self.ctx.store.fast)

    def edit(self, row: TypeRow | None) -> None:
        from db import admin

        stages = [("— none —", ""), ("Technical", "technical"), ("Cosmetic", "cosmetic")]
        fields = [
            FormField("code", "Code *", "e.g. TECH_PREP", value=row.code if row else ""),
            FormField("name", "Name *", value=row.name if row else ""),
            FormField("description", "Description", value=(row.description or "") if row else ""),
            FormField(
                "icon",
                "Icon",
                "a name or symbol, e.g. wrench",
                value=(row.icon or "") if row else "",
            ),
            FormField("color", "Color", "e.g. #1c69d4", value=(row.color or "") if row else ""),
            FormField(
                "default_duration_hours",
                "Default hours *",
                value=f"{row.default_duration_hours:g}" if row else "1",
            ),
            FormField(
                "prep_stage",
                "Prep stage",
                options=stages,
                value=(row.prep_stage or "") if row else "",
            ),
            FormField(
                "requires_assignment",
                "Needs a person",
                options=YES_NO,
                value=_yes(row.requires_assignment) if row else "no",
            ),
            FormField(
                "is_productive",
                "Productive",
                options=YES_NO,
                value=_yes(row.is_productive) if row else "yes",
            ),
            FormField(
                "bookable", "Bookable", options=YES_NO, value=_yes(row.bookable) if row else "yes"
            ),
            FormField("active", "Active", options=YES_NO, value=_yes(row.active) if row else "yes"),
        ]
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            from db import validate

            fields_ = dict(values)
            for name in ("requires_assignment", "is_productive", "bookable", "active"):
                fields_[name] = _bool(fields_[name])
            fields_["prep_stage"] = fields_["prep_stage"] or None
            fields_["default_duration_hours"] = validate.hours(
                fields_["default_duration_hours"], "default_duration_hours"
            )
            return ctx.store.run(
                admin.save_resource_type, ctx.actor, row.id if row else None, **fields_
            )

        self.open_form(f"Resource type {row.code}" if row else "New resource type", fields, save)


class AgreementsScreen(ConfigList):
    TABLE = "resource_sharing"
    TITLE_TEXT = "Sharing agreements"
    NOTE = (
        "Who may book work at whose prep center, up to how many hours an ISO week; priority "
        "0-100 orders the provider's queue and decides who yields when capacity shrinks."
    )

    def columns(self) -> list[Column]:
        return [
            Column("provider", "Done at", 18, flex=1),
            Column("consumer", "For", 18, flex=1),
            Column("work", "Work", 16, flex=1),
            Column("cap", "h/week", 6, right=True),
            Column("priority", "Priority", 8, right=True),
            Column("enabled", "Enabled", 7),
        ]

    def cells(self, row: AgreementRow) -> list[CellValue]:
        return [
            row.provider,
            row.consumer,
            row.work,
            f"{row.max_hours_per_week:g}",
            str(row.priority),
            _yes(row.enabled) if row.enabled else Cell("no", "dim"),
        ]

    def fetch(self) -> list[Any]:
        return settings.agreements(self.ctx.store.fast)

    def edit(self, row: AgreementRow | None) -> None:
        from db import admin

        fast = self.ctx.store.fast
        dealerships = [(name, str(did)) for did, name in fast.dealerships(None)]
        types = [(t.name, str(t.id)) for t in fast.bookable_types()]
        warned: dict[str, float | None] = {"cap": None}  # a cap below this week's bookings, seen
        fields = [
            FormField(
                "provider_dealership_id",
                "Done at *",
                options=dealerships,
                value=str(row.provider_id) if row else "",
            ),
            FormField(
                "consumer_dealership_id",
                "For *",
                options=dealerships,
                value=str(row.consumer_id) if row else "",
            ),
            FormField(
                "resource_type_id",
                "Work *",
                options=types,
                value=str(row.resource_type_id) if row else "",
            ),
            FormField(
                "max_hours_per_week",
                "Hours a week *",
                value=f"{row.max_hours_per_week:g}" if row else "20",
            ),
            FormField("priority", "Priority (0-100) *", value=str(row.priority) if row else "50"),
            FormField(
                "enabled", "Enabled", options=YES_NO, value=_yes(row.enabled) if row else "yes"
            ),
            FormField("notes", "Notes", value=(row.notes or "") if row else ""),
        ]
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            from db.errors import Invalid

            fields_ = dict(values)
            for name in ("provider_dealership_id", "consumer_dealership_id", "resource_type_id"):
                fields_[name] = int(fields_[name])
            fields_["enabled"] = _bool(fields_["enabled"])
            try:
                fields_["max_hours_per_week"] = float(
                    str(fields_["max_hours_per_week"]).replace(",", ".")
                )
            except ValueError:
                raise Invalid("Hours a week: a number, e.g. 40.", "max_hours_per_week") from None
            try:
                fields_["priority"] = int(fields_["priority"])
            except ValueError:
                raise Invalid("Priority: a whole number from 0 to 100.", "priority") from None
            try:
                return ctx.store.run(
                    admin.save_sharing,
                    ctx.actor,
                    row.id if row else None,
                    below_booked_ok=warned["cap"] == fields_["max_hours_per_week"],
                    **fields_,
                )
            except admin.CapBelowBooked:
                warned["cap"] = fields_["max_hours_per_week"]  # the same cap again confirms it
                raise

        self.open_form("Sharing agreement" if row else "New sharing agreement", fields, save)


class UsersScreen(ConfigList):
    TABLE = "users"
    TITLE_TEXT = "Users"
    NOTE = (
        "n adds a user (the login is the OS login name for SSH); Enter changes role, dealership "
        "or whether they may sign in (a deactivated user keeps their history); p sets or clears "
        "a PIN (for shared workshop terminals)."
    )
    BINDINGS = [Binding("p", "pin", "PIN")]

    def columns(self) -> list[Column]:
        return [
            Column("login", "Login", 12),
            Column("name", "Name", 18, flex=2),
            Column("role", "Role", 11),
            Column("dealership", "Dealership", 18, flex=1),
            Column("pin", "PIN", 4),
            Column("active", "Active", 6),
        ]

    def cells(self, row: UserRow) -> list[CellValue]:
        return [
            row.login,
            row.name,
            row.role,
            row.dealership or "all",
            "yes" if row.has_pin else "",
            _yes(row.active) if row.active else Cell("no", "dim"),
        ]

    def fetch(self) -> list[Any]:
        return settings.users(self.ctx.store.fast)

    def edit(self, row: UserRow | None) -> None:
        import uuid

        from db import users
        from db.vocab import ROLE_LABELS

        dealerships = [("— none (admins) —", "")] + [
            (name, str(did)) for did, name in self.ctx.store.fast.dealerships(None)
        ]
        roles = [(label, role) for role, label in ROLE_LABELS.items()]
        fields = []
        if row is None:
            fields.append(FormField("login", "Login *", "the OS login name, e.g. kari"))
        fields += [
            FormField("display_name", "Name *", value=row.name if row else ""),
            FormField("role", "Role *", options=roles, value=row.role if row else "seller"),
            FormField(
                "dealership_id",
                "Dealership",
                options=dealerships,
                value=str(row.dealership_id) if row and row.dealership_id else "",
            ),
            FormField("email", "Email", value=(row.email or "") if row else ""),
        ]
        if row is not None:
            fields.append(
                FormField("active", "May sign in", options=YES_NO, value=_yes(row.active))
            )
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            fields_ = dict(values)
            fields_["dealership_id"] = (
                int(fields_["dealership_id"]) if fields_["dealership_id"] else None
            )
            if row is None:
                return ctx.store.run(users.create_user, ctx.actor, **fields_)
            fields_["active"] = _bool(fields_["active"])
            return ctx.store.run(users.update_user, ctx.actor, uuid.UUID(row.id), **fields_)

        self.open_form(f"User {row.login}" if row else "New user", fields, save)

    def action_pin(self) -> None:
        import uuid

        from db import users

        row: UserRow | None = self.table.current
        if row is None:
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            pin = values["pin"].strip() or None
            return ctx.store.run(users.set_pin, ctx.actor, uuid.UUID(row.id), pin)

        self.open_form(
            f"PIN for {row.name}",
            [FormField("pin", "New PIN", "4-8 digits; empty clears it")],
            save,
        )
