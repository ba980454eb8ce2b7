"""Car intake (US-1.1): one form for a new order, a draft being finished, or a registered car's order
details being edited.

Everything by keyboard: Tab / shift+Tab move between fields, ctrl+s registers (or saves the edit),
ctrl+b saves a draft, Escape asks before anything typed is dropped.  Each field is checked as it is
typed, and again on save by the rules in :mod:`db.cars`; the message stands beside the field.  A new
order is saved as a draft whenever the cursor leaves a field, so a closed terminal loses at most the
field being typed, and the draft can be finished from any session (My cars → Enter).
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import DescendantBlur
from textual.screen import Screen
from textual.widget import Widget

from db import formats, validate
from db.clock import local, utcnow
from db.errors import Invalid, InvalidFields, PrepfloorError, Stale
from db.i18n import N_, Labels, _, ngettext
from db.vocab import CAR_STATUS_LABELS, CAR_TYPE_LABELS, CAR_TYPES
from screens.context import SessionContext
from screens.notes import TextArea
from screens.widgets import (
    AppFooter,
    AppHeader,
    Input,
    Label,
    Option,
    OptionList,
    Select,
    Static,
    ready_to_save,
)

# (field, label, placeholder); * marks what registration needs.  Both are translated when drawn.
TEXT_FIELDS: dict[str, tuple[str, str]] = {
    "vin": (N_("VIN *"), N_("17 characters (windscreen or papers)")),
    "license_plate": (N_("Plate"), N_("e.g. EV 12345")),
    "brand": (N_("Brand *"), N_("e.g. BMW")),
    "model": (N_("Model *"), N_("e.g. iX3")),
    "model_year": (N_("Model year"), N_("e.g. 2026")),
    "color": (N_("Color"), ""),
    "order_number": (N_("Order number *"), ""),
    "customer_name": (N_("Customer *"), N_("name")),
    "customer_phone": (N_("Phone"), "+47 912 34 567"),
    "customer_email": (N_("Email"), "kari@example.no"),
    # how a day is typed in the language spoken (the form shows it so: formats.date_field)
    "expected_delivery_date": (N_("Delivery by"), N_("2026-12-18 or 18.12.2026")),
}
# The date fields: shown as formats.date_field, read back by validate.parse_date.
DATE_FIELDS: frozenset[str] = frozenset({"expected_delivery_date"})
# What registration needs comes first, in the order Tab visits it: a car is its data, Tabs and
# ctrl+s.  A VIN typed or scanned fills the brand (and, where the VIN says it, the model year).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        N_("Order (* needed to register)"),
        ("vin", "brand", "model", "order_number", "customer_name", "car_type"),
    ),
    (N_("Vehicle"), ("license_plate", "model_year", "color")),
    (
        N_("Customer and seller"),
        ("customer_phone", "customer_email", "dealership_id", "seller_id"),
    ),
    (N_("Delivery"), ("expected_delivery_date", "accessories", "seller_notes")),
)
# The fields a VIN fills (when empty, or still holding what an earlier VIN filled).
VIN_FILLS: tuple[str, ...] = ("brand", "model_year")
LABELS = Labels(
    {
        **{name: label for name, (label, _hint) in TEXT_FIELDS.items()},
        "car_type": N_("Car type *"),
        "dealership_id": N_("Dealership"),
        "seller_id": N_("Seller"),
        "accessories": N_("Accessories"),
        "seller_notes": N_("Seller notes"),
    }
)


def car_label(values: dict[str, Any]) -> str:
    what = " ".join(str(values[k]) for k in ("brand", "model") if values.get(k)) or _("Car")
    ident = values.get("license_plate") or values.get("order_number") or ""
    return f"{what} {ident}".strip()


class IntakeScreen(Screen[None]):
    """A new car (``car_id`` None), a draft (``car_id`` of a draft) or an edit (a registered car)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+b", "save_draft", "Save draft"),
        Binding("ctrl+o", "open_duplicate", "Open that car"),
        Binding("escape", "close", "Close"),
    ]
    DEFAULT_CSS = """
    IntakeScreen #form { padding: 0 1; }
    IntakeScreen #state { height: 1; padding: 0 1; color: $text-muted; }
    IntakeScreen .section { text-style: bold; margin-top: 1; height: 1; }
    IntakeScreen .row { height: auto; min-height: 1; margin-bottom: 0; }
    IntakeScreen .row > Label { width: 16; height: 1; color: $text-muted; }
    IntakeScreen .row > .field { width: 36; }
    IntakeScreen .row > .message { width: 1fr; height: auto; padding-left: 2; color: $text-muted; }
    IntakeScreen .row > .message.-error { color: $error; text-style: bold; }
    IntakeScreen .row > .message.-ok { color: $success; }
    IntakeScreen .row > .message.-warning { color: $warning; text-style: bold; }
    IntakeScreen #accessory-list { height: auto; max-height: 6; }
    IntakeScreen #seller_notes { height: 4; }
    IntakeScreen .accessories { width: 36; height: auto; }
    """

    def __init__(self, ctx: SessionContext, car_id: int | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self._save_lock = threading.Lock()
        self._mounted_once = False
        self._messages: dict[str, tuple[str, str]] = {}
        self._vin_filled: dict[str, str] = {}  # field -> the value a VIN put there
        self._vin_said: Any = None  # what the VIN in the field says (db.vin.VinInfo)
        self.prepare(car_id)

    def prepare(self, car_id: int | None) -> None:
        """Make the form ready for an order: a new one (``None``), a draft, or a car to edit.

        The app keeps one form per session and prepares it for each use: composing its sixty
        widgets again took some 300 ms, ready again takes a few.
        """
        self.car_id = car_id
        self.status: str | None = None if car_id else "draft"
        self.updated_at: datetime | None = None
        self.saved: dict[str, Any] = {}  # what the database holds, as the form shows it
        self.accessories: list[str] = []
        self.duplicate_car_id: int | None = None
        self.duplicate_is_draft = False
        self.tried_save = False
        self.busy = False
        self.ready = car_id is None
        self._needs_start = True

    @property
    def editing(self) -> bool:
        """A registered car's order details (no drafts saved on the way)."""
        return self.status not in (None, "draft")

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield AppHeader(
            self.ctx,
            _("New car") if self.car_id is None else _("Car #{id}").format(id=self.car_id),
        )
        yield Static("", id="state", markup=False)
        with VerticalScroll(id="form"):
            for title, names in SECTIONS:
                yield Static(_(title), classes="section")
                for name in names:
                    with Horizontal(classes="row", id=f"row-{name}"):
                        yield Label(LABELS[name])
                        yield from self._field(name)
                        yield Static("", classes="message", id=f"msg-{name}", markup=False)
        yield AppFooter()

    def _field(self, name: str) -> ComposeResult:
        if name in TEXT_FIELDS:
            yield Input(id=name, placeholder=_(TEXT_FIELDS[name][1]), compact=True, classes="field")
        elif name == "car_type":
            yield Select(
                [(CAR_TYPE_LABELS[t], t) for t in CAR_TYPES],
                id=name,
                value="new",
                allow_blank=False,
                compact=True,
                classes="field",
            )
        elif name == "dealership_id":
            yield Select([], id=name, prompt=_("Dealership"), compact=True, classes="field")
        elif name == "seller_id":
            yield Select([], id=name, prompt=_("Seller"), compact=True, classes="field")
        elif name == "accessories":
            with VerticalScrollFree(classes="accessories"):
                yield Input(
                    id="accessory-new",
                    placeholder=_("type one, Enter adds it"),
                    compact=True,
                )
                yield OptionList(id="accessory-list", compact=True)
        elif name == "seller_notes":
            yield TextArea(id=name, compact=True, classes="field", soft_wrap=True)

    def on_mount(self) -> None:
        ready_to_save(self)  # a draft is kept as it is typed
        self._fill_dealerships()
        self._mounted_once = True
        self._start()

    def on_screen_resume(self) -> None:
        if self._mounted_once and self._needs_start:
            self._start()

    def _start(self) -> None:
        """Show the order :meth:`prepare` chose: empty fields, or the car's once loaded."""
        self._needs_start = False
        self._clear()
        if self.car_id is None:
            self.query_one(AppHeader).set_title(_("New car"))
            self._set_state(_("New order: nothing saved yet."))
            self._select_dealership(self.ctx.actor.dealership_id)
            self._fill_sellers(self.ctx.actor.dealership_id, self._default_seller())
            self.query_one("#vin", Input).focus()
        else:
            self.query_one(AppHeader).set_title(_("Car #{id}").format(id=self.car_id))
            self._set_state(_("Loading…"))
            self.load()

    def _clear(self) -> None:
        with self.prevent(Input.Changed, Select.Changed):  # the form's own: no check, no save
            for name in TEXT_FIELDS:
                self.query_one(f"#{name}", Input).value = ""
            self.query_one("#accessory-new", Input).value = ""
            self.query_one("#car_type", Select).value = "new"
            self.query_one("#seller_notes", TextArea).text = ""
            self._show_accessories()
        self._vin_filled.clear()
        self._vin_said = None
        for name in LABELS:
            self._messages.pop(name, None)
            self._message(name, "")
        self.refresh_bindings()
        self.query_one("#form").scroll_home(animate=False)

    def _select_dealership(self, dealership_id: int | None) -> None:
        select = self.query_one("#dealership_id", Select)
        with self.prevent(Select.Changed):  # its sellers are filled by the caller
            if dealership_id is not None and any(
                value == dealership_id for _label, value in select._options
            ):
                select.value = dealership_id

    def _default_seller(self) -> str | None:
        actor = self.ctx.actor
        return str(actor.user_id) if actor.role in ("seller", "manager") else None

    def _fill_dealerships(self) -> None:
        actor = self.ctx.actor
        ids = None if actor.all_dealerships else sorted(actor.dealership_ids)
        options = self.ctx.store.fast.dealerships(ids)
        select = self.query_one("#dealership_id", Select)
        with self.prevent(Select.Changed):
            select.set_options([(label, did) for did, label in options])
            if actor.dealership_id is not None and any(
                d == actor.dealership_id for d, _name in options
            ):
                select.value = actor.dealership_id

    def _fill_sellers(self, dealership_id: int | None, keep: str | None) -> None:
        select = self.query_one("#seller_id", Select)
        people = self.ctx.store.fast.sellers(dealership_id) if dealership_id else []
        with self.prevent(Select.Changed):
            select.set_options([(name, uid) for uid, name in people])
            if keep is not None and any(uid == keep for uid, _name in people):
                select.value = keep

    # -- loading a draft or a car ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="intake-load", exit_on_error=False)
    def load(self) -> None:
        from db import workflow

        try:
            car = self.ctx.store.query(workflow.load_car, self.ctx.actor, self.car_id)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self._load_failed, str(refusal))
            return
        self.app.call_from_thread(self._loaded, car)

    def _load_failed(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)
        self.dismiss()

    def _loaded(self, car: Any) -> None:
        values = self._values_of(car)
        self.status = car.status
        self.updated_at = car.updated_at
        self.saved = dict(values)
        self._fill(values)
        for name in TEXT_FIELDS:  # what the order still lacks or has wrong, beside its field
            self._show_check(name, values[name], final=False)
        self.ready = True
        label = car_label(values)
        if self.editing:
            self.query_one(AppHeader).set_title(_("Edit {car}").format(car=label))
            self._set_state(
                _("{status}: edit the order details, ctrl+s saves.").format(
                    status=CAR_STATUS_LABELS[car.status]
                )
            )
        else:
            self.query_one(AppHeader).set_title(_("Draft {car}").format(car=label))
            self._set_state(_("Draft: finish it and press ctrl+s to register."))
        self.query_one("#vin", Input).focus()

    @staticmethod
    def _values_of(car: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            value = getattr(car, name)
            if isinstance(value, date):
                value = formats.date_field(value)  # as the reader types a day
            values[name] = "" if value is None else str(value)
        values["car_type"] = car.car_type or "new"
        values["dealership_id"] = car.dealership_id
        values["seller_id"] = str(car.seller_id) if car.seller_id else None
        values["accessories"] = list(car.accessories or [])
        values["seller_notes"] = car.seller_notes or ""
        return values

    def _fill(self, values: dict[str, Any]) -> None:
        self._vin_filled.clear()
        with self.prevent(Input.Changed, Select.Changed):  # loaded, not typed: no live check
            for name in TEXT_FIELDS:
                self.query_one(f"#{name}", Input).value = values[name]
            self.query_one("#car_type", Select).value = values["car_type"]
            dealership = self.query_one("#dealership_id", Select)
            if values["dealership_id"] is not None:
                dealership.value = values["dealership_id"]
            self.query_one("#seller_notes", TextArea).text = values["seller_notes"]
            self.accessories = list(values["accessories"])
            self._show_accessories()
        self._fill_sellers(values["dealership_id"], values["seller_id"])

    # -- reading the form ------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The form as the rules take it."""
        values: dict[str, Any] = {
            name: self.query_one(f"#{name}", Input).value for name in TEXT_FIELDS
        }
        for name in ("car_type", "dealership_id", "seller_id"):
            value = self.query_one(f"#{name}", Select).value
            values[name] = None if value is Select.NULL else value
        values["accessories"] = list(self.accessories)
        values["seller_notes"] = self.query_one("#seller_notes", TextArea).text
        return values

    def changed(self) -> dict[str, Any]:
        """The fields that differ from what the database holds."""
        now = self.values()
        if not self.saved:  # a new form: only what was typed counts, not the defaults
            return {k: v for k, v in now.items() if _typed(k, v)}
        return {k: v for k, v in now.items() if self.saved.get(k) != v}

    # -- checking as you type --------------------------------------------------------------------
    def _message(self, name: str, text: str, kind: str = "") -> None:
        if self._messages.get(name) == (text, kind):
            return  # unchanged: no new layout for a keystroke
        self._messages[name] = (text, kind)
        message = self.query_one(f"#msg-{name}", Static)
        message.update(text)
        message.set_class(kind == "error", "-error")
        message.set_class(kind == "ok", "-ok")
        message.set_class(kind == "warning", "-warning")

    def _check(self, name: str, value: Any, *, final: bool) -> str | None:
        """The problem with one field, or None.  ``final``: the user has left the field."""
        from db.cars import REQUIRED_TO_REGISTER, clean_fields

        if name == "vin":
            vin = validate.normalize_vin(value)
            if not vin:
                return _("VIN is required (17 characters).") if self.tried_save else None
            problem = validate.vin_problem(vin)
            if (
                problem
                and not final
                and len(vin) < validate.VIN_LENGTH
                and "contain" not in problem
            ):
                return None  # still typing: the count is shown instead
            return problem
        if name not in TEXT_FIELDS and name != "car_type":
            return None
        if name in REQUIRED_TO_REGISTER and not str(value or "").strip():
            if not self.tried_save:
                return None
            return _("{field} is required.").format(field=_(REQUIRED_TO_REGISTER[name]))
        if name == "model_year" and not final and len(str(value).strip()) < 4:
            return None
        _clean, errors = clean_fields({name: value})
        return errors.get(name)

    def _show_check(self, name: str, value: Any, *, final: bool) -> bool:
        problem = self._check(name, value, final=final)
        if problem:
            self._message(name, problem, "error")
            if name == "vin":
                self.duplicate_car_id = None
                self.refresh_bindings()
            return False
        if name == "vin":
            vin = validate.normalize_vin(value)
            if vin and len(vin) < validate.VIN_LENGTH:
                self._message(
                    name,
                    _("{typed}/{length} characters").format(
                        typed=len(vin), length=validate.VIN_LENGTH
                    ),
                )
            elif vin:
                self._read_vin(vin)
                self._show_vin_said()
                self._check_duplicate(vin)
            else:
                self._message(name, "")
            return True
        self._message(name, "")
        return True

    @on(Input.Changed)
    def _on_typing(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        if name not in TEXT_FIELDS:
            return
        self._show_check(name, event.value, final=False)

    def _read_vin(self, vin: str) -> None:
        """Fill what the VIN says (brand, model year) into the fields that are empty or still
        hold what an earlier VIN filled; what the seller typed is never overwritten."""
        from db import vin as vins

        said = vins.decode(vin)
        if said is None or said == self._vin_said:
            return
        self._vin_said = said
        if self.editing:
            return  # a registered car's brand and year are the seller's: the VIN only informs
        found = {"brand": said.brand, "model_year": said.model_year}
        for name in VIN_FILLS:
            field = self.query_one(f"#{name}", Input)
            ours = self._vin_filled.get(name)
            if field.value and field.value != ours:
                continue
            new = "" if found[name] is None else str(found[name])
            if new != field.value:
                field.value = new
            if new:
                self._vin_filled[name] = new
            else:
                self._vin_filled.pop(name, None)

    def _show_vin_said(self) -> None:
        """Beside the VIN: what it says, or the warning of a bad check digit (never an error)."""
        said = self._vin_said
        if said is None:
            self._message("vin", "")
        elif said.warning:
            self._message("vin", said.warning, "warning")
        else:
            self._message("vin", f"✓ {said.summary}".rstrip(), "ok")

    @work(thread=True, exclusive=True, group="intake-vin", exit_on_error=False)
    def _check_duplicate(self, vin: str) -> None:
        found = self.ctx.store.fast.active_vin(vin, self.car_id)
        self.app.call_from_thread(self._duplicate_found, vin, found)

    def _duplicate_found(self, vin: str, found: tuple[int, str | None, str] | None) -> None:
        if validate.normalize_vin(self.query_one("#vin", Input).value) != vin:
            return  # typed on meanwhile
        if found is not None and found[0] == self.car_id:
            found = None  # this form's own draft, saved while the check ran (leaving the field)
        if found is None:
            self.duplicate_car_id = None
            self._show_vin_said()
        else:
            car_id, order, status = found
            self.duplicate_car_id = car_id
            self.duplicate_is_draft = status == "draft"
            shown = CAR_STATUS_LABELS[status].lower()
            if order:
                text = _("Already registered: order {order} ({status}). ctrl+o opens it.").format(
                    order=order, status=shown
                )
            else:
                text = _("Already registered: car #{id} ({status}). ctrl+o opens it.").format(
                    id=car_id, status=shown
                )
            self._message("vin", text, "error")
        self.refresh_bindings()

    @on(Select.Changed)
    def _selected(self, event: Select.Changed) -> None:
        if event.select.id == "dealership_id" and event.value is not Select.NULL:
            keep = self.query_one("#seller_id", Select).value
            self._fill_sellers(int(event.value), None if keep is Select.NULL else str(keep))
        self._autosave()

    def on_descendant_blur(self, event: DescendantBlur) -> None:
        widget = event.widget
        name = widget.id or ""
        if name in TEXT_FIELDS and isinstance(widget, Input):
            tidy = _tidy(name, widget.value)
            if tidy != widget.value:
                with self.prevent(Input.Changed):  # shown as the rules store it: checked below
                    widget.value = tidy
            self._show_check(name, widget.value, final=True)
        self._autosave()

    # -- accessories -----------------------------------------------------------------------------
    @on(Input.Submitted, "#accessory-new")
    def _add_accessory(self, event: Input.Submitted) -> None:
        text = validate.clean_text(event.value)
        if not text:
            return
        if text.lower() in (a.lower() for a in self.accessories):
            self.notify(_("{item} is already on the list.").format(item=text), severity="warning")
            return
        self.accessories.append(text)
        event.input.value = ""
        self._show_accessories()
        self._autosave()

    def _show_accessories(self) -> None:
        listing = self.query_one("#accessory-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(a, id=str(i)) for i, a in enumerate(self.accessories)])
        listing.display = bool(self.accessories)
        message = _("Delete removes the highlighted one.") if self.accessories else ""
        self._message("accessories", message)

    def on_key(self, event: Any) -> None:
        listing = self.query_one("#accessory-list", OptionList)
        if event.key in ("delete", "backspace") and listing.has_focus:
            index = listing.highlighted
            if index is not None and 0 <= index < len(self.accessories):
                self.accessories.pop(index)
                self._show_accessories()
                if self.accessories:
                    listing.highlighted = min(index, len(self.accessories) - 1)
                else:
                    self.query_one("#accessory-new", Input).focus()
                self._autosave()
            event.stop()

    # -- saving ----------------------------------------------------------------------------------
    def _set_state(self, text: str) -> None:
        self.query_one("#state", Static).update(text)

    def _autosave(self) -> None:
        if not self.ready or self.editing or not self.changed():
            return
        self._save_draft(quiet=True)

    def action_save_draft(self) -> None:
        if self.editing:
            self.notify(_("This car is registered: ctrl+s saves your changes."))
            return
        self._save_draft(quiet=False)

    @work(thread=True, group="intake-draft", exit_on_error=False)
    def _save_draft(self, quiet: bool) -> None:
        from db import cars

        with self._save_lock:
            values = self.values()
            fields = self._draft_fields(values)
            if self.duplicate_car_id is not None:
                fields.pop("vin", None)  # that car's VIN: the message beside the field says so
            if self.car_id is None and not any(
                _typed(k, v) and self._vin_filled.get(k) != v for k, v in fields.items()
            ):
                return  # nothing worth a draft yet (what a refused VIN filled is not typed)
            try:
                car = self._store_draft(cars, fields)
            except cars.DuplicateVin:
                fields.pop("vin", None)  # keep the rest; the VIN message stays beside the field
                try:
                    car = self._store_draft(cars, fields)
                except PrepfloorError as refusal:
                    self.app.call_from_thread(self._draft_failed, str(refusal), quiet)
                    return
            except PrepfloorError as refusal:
                self.app.call_from_thread(self._draft_failed, str(refusal), quiet)
                return
            self.car_id = car.id
            self.updated_at = car.updated_at
        self.app.call_from_thread(self._draft_saved, values, quiet)

    def _store_draft(self, cars: Any, fields: dict[str, Any]) -> Any:
        return self.ctx.store.run(cars.save_draft, self.ctx.actor, self.car_id, **fields)

    def _draft_fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """What a draft keeps: everything that passes its check (a VIN still being typed waits)."""
        from db.cars import clean_fields

        _clean, errors = clean_fields(values)
        return {k: v for k, v in values.items() if k not in errors}

    def _draft_saved(self, values: dict[str, Any], quiet: bool) -> None:
        self.saved = values
        self.status = "draft"
        if self.duplicate_car_id is not None and self.duplicate_car_id == self.car_id:
            # the VIN's check ran while this draft was being saved and found the draft itself:
            # not a duplicate (ctrl+s would refuse the car for its own VIN)
            self.duplicate_car_id = None
            self._show_vin_said()
            self.refresh_bindings()
        stamp = local(utcnow()).strftime("%H:%M:%S")  # 24-hour, the same in every language
        self._set_state(
            _("Draft #{id} saved {time} (My cars → Enter reopens it). ctrl+s registers.").format(
                id=self.car_id, time=stamp
            )
        )
        if not quiet:
            self.notify(_("Draft saved: {car}.").format(car=car_label(values)))

    def _draft_failed(self, message: str, quiet: bool) -> None:
        self._set_state(_("Draft not saved: {reason}").format(reason=message))
        if not quiet:
            self.notify(message, severity="error", timeout=8)

    def action_save(self) -> None:
        if self.busy or not self.ready:
            return
        self.tried_save = True
        values = self.values()
        problems = {
            name: problem
            for name in (*TEXT_FIELDS, "car_type")
            if (problem := self._check(name, values[name], final=True))
        }
        for name in (*TEXT_FIELDS, "car_type"):
            if name in problems:
                self._message(name, problems[name], "error")
        if self.duplicate_car_id is not None and "vin" not in problems:
            problems["vin"] = "duplicate"
        if problems:
            self._focus_field(next(iter(problems)))
            count = len(problems)
            self._set_state(
                ngettext(
                    "Not saved: {n} field to fix (marked in red).",
                    "Not saved: {n} fields to fix (marked in red).",
                    count,
                ).format(n=count)
            )
            return
        self.busy = True
        self._set_state(_("Saving…"))
        self._save(values)

    @work(thread=True, group="intake-save", exit_on_error=False)
    def _save(self, values: dict[str, Any]) -> None:
        from db import cars

        try:
            with self._save_lock:
                if self.editing:
                    changes = {k: v for k, v in values.items() if self.saved.get(k) != v}
                    car = self.ctx.store.run(
                        cars.update_car,
                        self.ctx.actor,
                        self.car_id,
                        expected_updated_at=self.updated_at,
                        **changes,
                    )
                else:
                    car = self.ctx.store.run(
                        cars.register_car, self.ctx.actor, self.car_id, **values
                    )
        except Stale as stale:
            self.app.call_from_thread(self._stale, str(stale))
        except cars.DuplicateVin as duplicate:
            self.app.call_from_thread(self._refused, {"vin": duplicate.message}, duplicate.car_id)
        except InvalidFields as invalid:
            self.app.call_from_thread(self._refused, invalid.errors, None)
        except Invalid as invalid:
            self.app.call_from_thread(self._refused, {invalid.field or "": invalid.message}, None)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self._failed, str(refusal))
        else:
            self.app.call_from_thread(self._saved, car.id, car_label(values))

    def _refused(self, errors: dict[str, str], duplicate: int | None) -> None:
        self.busy = False
        shown = False
        for name, message in errors.items():
            if name and self.query(f"#msg-{name}"):
                self._message(name, message, "error")
                shown = True
        if duplicate is not None:
            self.duplicate_car_id = duplicate
            self._message(
                "vin", _("{reason} ctrl+o opens it.").format(reason=errors["vin"]), "error"
            )
            self.refresh_bindings()
        first = next(iter(errors))
        if first and self.query(f"#msg-{first}"):
            self._focus_field(first)
        text = " ".join(errors.values())
        self._set_state(
            _("Not saved: {reason}").format(reason=text)
            if not shown
            else _("Not saved: fix the fields in red.")
        )
        if not shown:
            self.notify(text, severity="error", timeout=8)

    def worker_failed(self, worker: Any, message: str) -> bool:
        """The database failed under a save (:meth:`PrepfloorApp.worker_failed`): the form stays
        open with what was typed, ctrl+s tries again."""
        if worker.group != "intake-save":
            return False
        self._failed(message)
        return True

    def _failed(self, message: str) -> None:
        self.busy = False
        self._set_state(_("Not saved: {reason}").format(reason=message))
        self.notify(message, severity="error", timeout=10)

    def _stale(self, message: str) -> None:
        """Someone saved the car after it was opened: show their values beside the fields."""
        self.busy = False
        self._set_state(_("{reason} ctrl+s again saves yours over theirs.").format(reason=message))
        self.notify(message, severity="warning", timeout=10)
        self._reload_theirs()

    @work(thread=True, group="intake-load", exit_on_error=False)
    def _reload_theirs(self) -> None:
        from db import workflow

        car = self.ctx.store.query(workflow.load_car, self.ctx.actor, self.car_id)
        self.app.call_from_thread(self._show_theirs, car)

    def _show_theirs(self, car: Any) -> None:
        theirs = self._values_of(car)
        mine = self.values()
        for name, value in theirs.items():
            if value != self.saved.get(name) and self.query(f"#msg-{name}"):
                shown = ", ".join(value) if isinstance(value, list) else value
                if mine.get(name) == value:
                    note = _("Now: {value}").format(value=shown or _("(empty)"))
                else:
                    note = _("Now: {value} (theirs)").format(value=shown or _("(empty)"))
                self._message(name, note, "error")
        self.saved = theirs
        self.updated_at = car.updated_at
        self.status = car.status

    def _saved(self, car_id: int, label: str) -> None:
        self.busy = False
        if self.editing:
            self.notify(_("Saved: {car}.").format(car=label))
        else:
            self.notify(
                _("Registered: {car}. The prep center's coordinators are told.").format(car=label)
            )
        self.dismiss()
        self.app.open_car(car_id)  # type: ignore[attr-defined]

    def _focus_field(self, name: str) -> None:
        target = "#accessory-new" if name == "accessories" else f"#{name}"
        found = self.query(target)
        if found:
            widget = found.first()
            widget.focus()
            widget.scroll_visible()

    # -- leaving ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_duplicate":
            return self.duplicate_car_id is not None
        if action == "save_draft":
            return not self.editing
        return True

    def action_open_duplicate(self) -> None:
        if self.duplicate_car_id is None:
            return
        if self.duplicate_is_draft:  # a draft is finished in its form, not looked at
            self.dismiss()
            self.app.open_intake(self.duplicate_car_id)  # type: ignore[attr-defined]
        else:
            self.app.open_car(self.duplicate_car_id)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        from screens.dialogs import ChoiceDialog

        if not self.changed():
            if self.car_id is not None and not self.editing:
                self.notify(_("Kept as draft #{id}.").format(id=self.car_id))
            self.dismiss()
            return
        if self.editing:
            choices = [("back", _("Back to the form")), ("drop", _("Drop my changes and close"))]
        else:
            choices = [
                ("keep", _("Keep it as a draft and close")),
                ("discard", _("Discard this order")),
                ("back", _("Back to the form")),
            ]

        def chosen(answer: str | None) -> None:
            if answer in (None, "back"):
                return
            if answer == "keep":
                self._keep_and_close()
            elif answer == "discard":
                self._discard()
            else:
                self.dismiss()

        title = _("Close these changes?") if self.editing else _("Close this order?")
        self.app.push_screen(ChoiceDialog(title, choices, saves=True), chosen)

    @work(thread=True, group="intake-draft", exit_on_error=False)
    def _keep_and_close(self) -> None:
        from db import cars

        with self._save_lock:
            fields = self._draft_fields(self.values())
            try:
                car = self._store_draft(cars, fields)
            except cars.DuplicateVin:
                fields.pop("vin", None)
                car = self._store_draft(cars, fields)
            except PrepfloorError as refusal:
                self.app.call_from_thread(self._draft_failed, str(refusal), False)
                return
            self.car_id = car.id
        self.app.call_from_thread(self.notify, _("Kept as draft #{id}.").format(id=car.id))
        self.app.call_from_thread(self.dismiss)

    @work(thread=True, group="intake-draft", exit_on_error=False)
    def _discard(self) -> None:
        from db import workflow

        with self._save_lock:
            if self.car_id is not None:
                try:
                    self.ctx.store.run(
                        workflow.move_car,
                        self.ctx.actor,
                        self.car_id,
                        "archived",
                        expected_status="draft",
                        note="draft discarded",
                    )
                except PrepfloorError as refusal:
                    self.app.call_from_thread(self._failed, str(refusal))
                    return
        self.app.call_from_thread(self.notify, _("Order discarded."))
        self.app.call_from_thread(self.dismiss)


def _tidy(name: str, value: str) -> str:
    """A VIN or plate as it will be stored (upper case; no spaces in a VIN); a day as the form
    shows days (``31.10``, ``i morgen`` or ``fredag`` become ``31.10.2025`` in Norwegian)."""
    if name == "vin":
        return validate.normalize_vin(value)
    if name == "license_plate":
        return " ".join(value.split()).upper()
    if name in DATE_FIELDS and value.strip():
        try:
            day = validate.parse_date(value, name)
        except Invalid:
            return value  # left as typed: the message beside the field says what to type
        return formats.date_field(day)
    return value


def _typed(name: str, value: Any) -> bool:
    """Does the value hold anything a person typed (a new form's defaults do not count)?"""
    if name == "car_type":
        return value != "new"
    if name in ("dealership_id", "seller_id"):
        return False
    return bool(value)


class VerticalScrollFree(Widget):
    """A plain vertical stack that takes its children's height (the accessory box)."""

    DEFAULT_CSS = "VerticalScrollFree { layout: vertical; height: auto; }"
