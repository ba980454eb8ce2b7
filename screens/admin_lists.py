"""Admin mode's configuration lists beside the dealerships (:mod:`screens.admin`): resource types,
sharing agreements and users.  Each is a list (``n`` adds, Enter edits, Escape back) whose form
saves through a rule of :mod:`db.admin` or :mod:`db.users`, refusals beside their fields.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color, ColorParseError
from textual.screen import Screen

from db import settings
from db.settings import AgreementRow, TypeRow, UserRow
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static

YES_NO = [("Yes", "yes"), ("No", "no")]


class EditTable(RowTable[Any]):
    """A configuration list: Enter edits the row."""

    BINDINGS = [Binding("enter", "select", "Edit")]


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
        yield EditTable(self.columns(), self.cells, header=header, empty="Nothing yet: n adds.")
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
        return [  # at 80 columns: code, name, stage, hours, person, bookable, active
            Column("code", "Code", 14),
            Column("name", "Name", 20, flex=2, least=14),
            Column("icon", "Icon", 10, drop=1),
            Column("stage", "Stage", 10, drop=3),
            Column("hours", "Default h", 9, right=True),
            Column("assign", "Person", 6),
            Column("prod", "Productive", 10, drop=2),
            Column("book", "Bookable", 8),
            Column("active", "Active", 6),
        ]

    def cells(self, row: TypeRow) -> list[CellValue]:
        return [
            row.code,
            Cell(row.name, self.readable(row.color)),
            row.icon or "",
            row.prep_stage or "",
            f"{row.default_duration_hours:g}",
            _yes(row.requires_assignment),
            _yes(row.is_productive),
            _yes(row.bookable),
            _yes(row.active) if row.active else Cell("no", "dim"),
        ]

    def readable(self, color: str | None) -> str:
        """A type's colour for its name: its hue, light or dark enough to read (4.5:1) on the
        list and on its cursor row, whatever colour was typed."""
        from screens.theme import with_contrast

        if not color:
            return ""
        try:
            parsed = Color.parse(color)
        except ColorParseError:
            return ""  # a colour stored by hand that is none: the list's own
        variables = self.app.theme_variables
        grounds = [
            variables.get(name, "#121212")
            for name in ("background", "block-cursor-background", "block-cursor-blurred-background")
        ]
        return with_contrast(parsed, [g for g in grounds if g.startswith("#")]).hex

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
            Column("provider", "Done at", 18, flex=1, least=14),
            Column("consumer", "For", 18, flex=1, least=14),
            Column("work", "Work", 16, flex=1, least=12),
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
            Column("login", "Login", 12, least=10),
            Column("name", "Name", 18, flex=2, least=14),
            Column("role", "Role", 11),
            Column("dealership", "Dealership", 18, flex=1, least=14),
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
