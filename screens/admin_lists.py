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

from db import formats, settings
from db.i18n import N_, _
from db.settings import AgreementRow, TypeRow, UserRow
from db.vocab import PREP_STAGE_LABELS, PREP_STAGES, ROLE_LABELS
from screens.context import SessionContext
from screens.forms import FormDialog, FormField
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static

YES_NO = [(N_("Yes"), "yes"), (N_("No"), "no")]


def yes_no() -> list[tuple[str, str]]:
    """The choice of a yes/no field, in the reader's language."""
    return [(_(label), value) for label, value in YES_NO]


class EditTable(RowTable[Any]):
    """A configuration list: Enter edits the row."""

    BINDINGS = [Binding("enter", "select", "Edit")]


def _yes(value: bool) -> str:
    """The value of a yes/no field (a code, not shown)."""
    return "yes" if value else "no"


def _said(value: bool) -> CellValue:
    """Yes or no in a list (no dimmed)."""
    return _("yes") if value else Cell(_("no"), "dim")


def _bool(value: str) -> bool:
    return value == "yes"


class ConfigList(Screen[None]):
    """A list of one kind of configuration: ``n`` adds, Enter edits, Escape back."""

    BINDINGS = [Binding("n", "new", "New"), Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    ConfigList #note { height: auto; padding: 1 1 0 1; color: $text-muted; }
    """
    TITLE_TEXT = ""  # marked with N_: drawn in the reader's language
    NOTE = ""
    TABLE = ""  # the table the form writes (its fields' lengths)
    SHOWS: tuple[str, ...] = ()  # other tables whose names the list shows

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Admin · {title}").format(title=_(self.TITLE_TEXT)))
        yield Static(_(self.NOTE), id="note", markup=False)
        header = TableHeader()
        yield header
        yield EditTable(self.columns(), self.cells, header=header, empty=_("Nothing yet: n adds."))
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

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches(self.TABLE, *self.SHOWS):
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
        self.push_form(FormDialog(title, fields, save, table=self.TABLE))

    def push_form(self, form: FormDialog) -> None:
        """Show ``form``; once it has saved, say so and read the list again."""

        def saved(result: Any) -> None:
            if result is not None:
                self.notify(_("Saved."))
                self.load()

        self.app.push_screen(form, saved)


class ResourceTypesScreen(ConfigList):
    TABLE = "resource_types"
    TITLE_TEXT = N_("Resource types")
    NOTE = N_(
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
            PREP_STAGE_LABELS.get(row.prep_stage, row.prep_stage) if row.prep_stage else "",
            formats.number(row.default_duration_hours),
            _("yes") if row.requires_assignment else _("no"),
            _("yes") if row.is_productive else _("no"),
            _("yes") if row.bookable else _("no"),
            _said(row.active),
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

        stages = [(_("— none —"), "")] + [(PREP_STAGE_LABELS[s], s) for s in PREP_STAGES]
        fields = [
            FormField("code", _("Code *"), _("e.g. TECH_PREP"), value=row.code if row else ""),
            FormField("name", _("Name *"), value=row.name if row else ""),
            FormField(
                "description", _("Description"), value=(row.description or "") if row else ""
            ),
            FormField(
                "icon",
                _("Icon"),
                _("a name or symbol, e.g. wrench"),
                value=(row.icon or "") if row else "",
            ),
            FormField(
                "color", _("Color"), _("e.g. #1c69d4"), value=(row.color or "") if row else ""
            ),
            FormField(
                "default_duration_hours",
                _("Default hours *"),
                value=formats.hours_field(row.default_duration_hours if row else 1),
            ),
            FormField(
                "prep_stage",
                _("Prep stage"),
                options=stages,
                value=(row.prep_stage or "") if row else "",
            ),
            FormField(
                "requires_assignment",
                _("Needs a person"),
                options=yes_no(),
                value=_yes(row.requires_assignment) if row else "no",
            ),
            FormField(
                "is_productive",
                _("Productive"),
                options=yes_no(),
                value=_yes(row.is_productive) if row else "yes",
            ),
            FormField(
                "bookable",
                _("Bookable"),
                options=yes_no(),
                value=_yes(row.bookable) if row else "yes",
            ),
            FormField(
                "active", _("Active"), options=yes_no(), value=_yes(row.active) if row else "yes"
            ),
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

        if row is not None:
            title = _("Resource type {code}").format(code=row.code)
        else:
            title = _("New resource type")
        self.open_form(title, fields, save)


class AgreementsScreen(ConfigList):
    TABLE = "resource_sharing"
    SHOWS = ("dealership", "resource_types")
    TITLE_TEXT = N_("Sharing agreements")
    NOTE = N_(
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
            formats.number(row.max_hours_per_week),
            str(row.priority),
            _said(row.enabled),
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
                _("Done at *"),
                options=dealerships,
                value=str(row.provider_id) if row else "",
            ),
            FormField(
                "consumer_dealership_id",
                _("For *"),
                options=dealerships,
                value=str(row.consumer_id) if row else "",
            ),
            FormField(
                "resource_type_id",
                _("Work *"),
                options=types,
                value=str(row.resource_type_id) if row else "",
            ),
            FormField(
                "max_hours_per_week",
                _("Hours a week *"),
                value=formats.hours_field(row.max_hours_per_week if row else 20),
            ),
            FormField(
                "priority", _("Priority (0-100) *"), value=str(row.priority) if row else "50"
            ),
            FormField(
                "enabled",
                _("Enabled"),
                options=yes_no(),
                value=_yes(row.enabled) if row else "yes",
            ),
            FormField("notes", _("Notes"), value=(row.notes or "") if row else ""),
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
                raise Invalid(_("Hours a week: a number, e.g. 40."), "max_hours_per_week") from None
            try:
                fields_["priority"] = int(fields_["priority"])
            except ValueError:
                raise Invalid(_("Priority: a whole number from 0 to 100."), "priority") from None
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

        self.open_form(_("Sharing agreement") if row else _("New sharing agreement"), fields, save)


class UsersScreen(ConfigList):
    TABLE = "users"
    SHOWS = ("dealership",)
    TITLE_TEXT = N_("Users")
    NOTE = N_(
        "n adds a user (the login is the OS login name for SSH); Enter changes role, dealership "
        "or whether they may sign in (a deactivated user keeps their history); p sets or clears "
        "a PIN (workshop terminals), w a password (browser)."
    )
    BINDINGS = [Binding("p", "pin", "PIN"), Binding("w", "password", "Password")]

    def columns(self) -> list[Column]:
        return [
            Column("login", "Login", 12, least=10),
            Column("name", "Name", 18, flex=2, least=14),
            Column("role", "Role", 11),
            Column("dealership", "Dealership", 18, flex=1, least=14),
            Column("pin", "PIN", 4),
            Column("password", "Password", 8, drop=1),
            Column("active", "Active", 6),
        ]

    def cells(self, row: UserRow) -> list[CellValue]:
        return [
            row.login,
            row.name,
            ROLE_LABELS.get(row.role, row.role).lower(),
            row.dealership or _("all"),
            _("yes") if row.has_pin else "",
            _("yes") if row.has_password else "",
            _said(row.active),
        ]

    def fetch(self) -> list[Any]:
        return settings.users(self.ctx.store.fast)

    def edit(self, row: UserRow | None) -> None:
        import uuid

        from db import users

        dealerships = [(_("— none (admins) —"), "")] + [
            (name, str(did)) for did, name in self.ctx.store.fast.dealerships(None)
        ]
        roles = [(label, role) for role, label in ROLE_LABELS.items()]
        fields = []
        if row is None:
            fields.append(FormField("login", _("Login *"), _("the OS login name, e.g. kari")))
        fields += [
            FormField("display_name", _("Name *"), value=row.name if row else ""),
            FormField("role", _("Role *"), options=roles, value=row.role if row else "seller"),
            FormField(
                "dealership_id",
                _("Dealership"),
                options=dealerships,
                value=str(row.dealership_id) if row and row.dealership_id else "",
            ),
            FormField("email", _("Email"), value=(row.email or "") if row else ""),
        ]
        if row is not None:
            fields.append(
                FormField("active", _("May sign in"), options=yes_no(), value=_yes(row.active))
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

        title = _("User {login}").format(login=row.login) if row else _("New user")
        self.open_form(title, fields, save)

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
            _("PIN for {name}").format(name=row.name),
            [FormField("pin", _("New PIN"), _("4-8 digits; empty clears it"))],
            save,
        )

    def action_password(self) -> None:
        from screens.password import password_form

        row: UserRow | None = self.table.current
        if row is not None:
            self.push_form(password_form(self.ctx, row.id, row.name, has_password=row.has_password))
