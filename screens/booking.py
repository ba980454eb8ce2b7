"""Booking work (US-1.2, US-5.1): the scheduling form, opened from a car or from a grid cell.

The car is found by VIN digits, plate, order number or customer (a single match is picked at
once); the work, day, start, hours, provider and person follow.  Opened from a car, the work
follows the car's stage (cosmetic prep books cosmetic work) until the user picks the work; from a
grid cell, it is the cell's.
The provider defaults to the car's prep center (or any dealership with an enabled sharing
agreement for that work); only people with room that day are offered, and the person whose cell
the form was opened from, or whom the user picked, stays chosen when the day, hours or work change
(with their free hours, said when they are short; without hours of that work that day, the form
says so and leaves the pick to the user: never switched to someone else behind the user's back).
A pick is the user's when they make it in the open list, even of the option already shown (the
form's own choice then becomes theirs): ``Select.Picked``, not ``Changed``, tells it.  What the
form puts in its own fields (the work, the provider, the car's name) posts no ``Changed`` at all
(``prevent``): whoever reacts to a change reacts to the user's.
A day without room, or a booking that does not fit, is refused with the reason and the nearest day
with room, which ``ctrl+y`` takes: ``b`` and ``ctrl+s`` (or ``ctrl+y``) book a car's next free
slot.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen

from db import formats, validate
from db.clock import local_today
from db.errors import DoesNotFit, Invalid, PrepfloorError
from db.fast import TypeRow
from db.i18n import _
from db.vocab import CAR_STATUS_LABELS
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.widgets import (
    AppFooter,
    Input,
    Label,
    Option,
    OptionList,
    Select,
    Static,
    ready_to_save,
)

NOBODY = "__nobody__"


def day_text(day: date) -> str:
    """A day in a sentence: ``Fri, 4 Dec 2026`` / ``fre. 4. des. 2026``."""
    return formats.day_year(day)


class BookingDialog(ModalScreen[int | None]):
    """Returns the new booking's id (or None when closed without booking)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Book"),
        Binding("ctrl+y", "take_nearest", "Book the nearest day"),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = """
    BookingDialog { align: center middle; }
    BookingDialog > Vertical { width: 100%; max-width: 110; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1; }
    BookingDialog #title { text-style: bold; margin-bottom: 1; }
    BookingDialog .row { height: auto; min-height: 1; }
    BookingDialog .row > Label { width: 11; color: $text-muted; }
    BookingDialog .row > .field { width: 40; }
    BookingDialog .row > .message { width: 1fr; height: auto; padding-left: 1; color: $text-muted; }
    BookingDialog .row > .message.-error { color: $error; text-style: bold; }
    BookingDialog .row > .message.-ok { color: $success; }
    BookingDialog #car-matches { height: auto; max-height: 6; margin-left: 11; width: 1fr; }
    BookingDialog #problem { margin-top: 1; height: auto; color: $error; text-style: bold; }
    BookingDialog #keys { margin-top: 1; color: $text-muted; }
    """

    def __init__(
        self,
        ctx: SessionContext,
        *,
        car_id: int | None = None,
        provider_id: int | None = None,
        resource_type_id: int | None = None,
        day: date | None = None,
        user_id: str | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.car_id = car_id
        self.car_dealership: int | None = None
        self.preset_provider = provider_id
        self.preset_type = resource_type_id
        self.preset_day = day or local_today()
        self.preset_user = user_id
        self._names: dict[str, str] = {}  # the people listed so far, by id
        self._lost: str | None = None  # the person kept, not offered on the day now shown
        # who stays chosen when the day, hours or work change: the cell's person, then the
        # user's own pick (a person, or NOBODY: the team); None: the form picks who has room
        self._chosen: str | None = user_id
        self.types: dict[int, TypeRow] = {t.id: t for t in ctx.store.fast.bookable_types()}
        self.nearest: date | None = None
        self.busy = False
        self._save_when_ready = False
        self._default_type: int | None = None  # the work the form chose (not the user)
        self._nobody_on: date | None = None  # the day nobody with room was found for

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_("Book work"), id="title")
            yield from self._row(
                "car",
                _("Car *"),
                Input(
                    placeholder=_("VIN digits, plate, order number or customer"),
                    id="car",
                    compact=True,
                    classes="field",
                ),
            )
            yield OptionList(id="car-matches", compact=True)
            yield from self._row(
                "resource_type_id",
                _("Work *"),
                Select(
                    [(t.name, t.id) for t in self.types.values()],
                    id="resource_type_id",
                    compact=True,
                    classes="field",
                    allow_blank=not self.types,
                ),
            )
            yield from self._row(
                "date",
                _("Day *"),
                Input(
                    formats.date_field(self.preset_day),
                    placeholder=_("e.g. {day} or tomorrow").format(day=formats.date_example()),
                    id="date",
                    compact=True,
                    classes="field",
                ),
            )
            yield from self._row(
                "start_time",
                _("Start"),
                Input(
                    placeholder=_("e.g. 08:00 (optional)"),
                    id="start_time",
                    compact=True,
                    classes="field",
                ),
            )
            yield from self._row(
                "estimated_hours",
                _("Hours *"),
                Input(id="estimated_hours", compact=True, classes="field"),
            )
            yield from self._row(
                "provider_dealership_id",
                _("Done at *"),
                Select(
                    [],
                    id="provider_dealership_id",
                    compact=True,
                    classes="field",
                    prompt=_("Pick the car first"),
                ),
            )
            yield from self._row(
                "user_id",
                _("Person"),
                Select([], id="user_id", compact=True, classes="field", prompt="—"),
            )
            yield from self._row(
                "notes", _("Notes"), Input(id="notes", compact=True, classes="field")
            )
            yield Static("", id="problem", markup=False)
            yield Static(
                _("ctrl+s books · ctrl+y takes the nearest day offered · Escape closes"), id="keys"
            )
        yield AppFooter()

    def _row(self, name: str, label: str, widget: Any) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(label)
            yield widget
            yield Static("", id=f"msg-{name}", classes="message", markup=False)

    # -- start -----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        ready_to_save(self)
        self.query_one("#car-matches", OptionList).display = False
        technical = [t.id for t in self.types.values() if t.prep_stage == "technical"]
        if self.preset_type in self.types:
            self._set_type(self.preset_type)  # type: ignore[arg-type]
        elif technical:  # what is booked most: technical prep (a car's stage may change it)
            self._set_type(technical[0])
            self._default_type = technical[0]
        self._default_hours()
        if self.car_id is not None:
            self._pick_car(self.car_id)
            self.query_one("#resource_type_id").focus()
        else:
            self.query_one("#car", Input).focus()
            self._refresh_choices()

    def _set_type(self, value: int) -> None:
        """Choose the work for the user; the caller refreshes what depends on it."""
        select = self.query_one("#resource_type_id", Select)
        if select.value == value:
            return
        with self.prevent(Select.Changed):  # not the user's change: nothing more to do then
            select.value = value

    def _type(self) -> TypeRow | None:
        value = self.query_one("#resource_type_id", Select).value
        return self.types.get(value) if isinstance(value, int) else None  # type: ignore[arg-type]

    def _default_hours(self) -> None:
        rt = self._type()
        if rt is not None:
            self.query_one("#estimated_hours", Input).value = formats.hours_field(rt.default_hours)
            label = _("Person *") if rt.requires_assignment else _("Person")
            self.query_one("#user_id").parent.query_one(Label).update(label)  # type: ignore[union-attr]

    def _message(self, name: str, text: str, error: bool = True, ok: bool = False) -> None:
        message = self.query_one(f"#msg-{name}", Static)
        message.update(text)
        message.set_class(error and bool(text), "-error")
        message.set_class(ok and bool(text), "-ok")

    # -- the car ---------------------------------------------------------------------------------
    @on(Input.Changed, "#car")
    def _car_typed(self, event: Input.Changed) -> None:
        text = " ".join(event.value.split())
        if self.car_id is not None:  # the car picked is no longer what the field says
            self.query_one("#title", Static).update(_("Book work"))
        self.car_id = None
        if len(text) < 3:
            self.query_one("#car-matches", OptionList).display = False
            self._message("car", _("Type 3 or more characters.") if text else "", error=False)
            return
        self._find_cars(text)

    @work(thread=True, exclusive=True, group="booking-cars", exit_on_error=False)
    def _find_cars(self, text: str) -> None:
        rows = self.ctx.store.fast.find_cars(self.ctx.actor, text, 8)
        self.app.call_from_thread(self._show_cars, text, rows)

    def _show_cars(self, text: str, rows: list[Any]) -> None:
        if " ".join(self.query_one("#car", Input).value.split()) != text:
            return
        matches = self.query_one("#car-matches", OptionList)
        matches.clear_options()
        bookable = [r for r in rows if r.status not in ("draft", "delivered", "archived")]
        for row in bookable:
            car = " ".join(x for x in (row.brand, row.model) if x)
            matches.add_option(
                Option(
                    f"{row.license_plate or '—':<9} {car[:18]:<18} {(row.customer_name or '')[:14]:<14}"
                    f" {row.order_number or ''} [{CAR_STATUS_LABELS[row.status]}]",
                    id=str(row.id),
                )
            )
        if len(bookable) == 1:  # the one car: picked at once, the text stays as typed
            matches.display = False
            self._pick_car(bookable[0].id, keep_text=True)
            return
        matches.display = bool(bookable)
        if bookable:
            matches.highlighted = 0
            self._message(
                "car", _("{n} found: ↓ and Enter picks").format(n=len(bookable)), error=False
            )
        else:
            self._message("car", _("No car to book matches."))

    @on(Input.Submitted, "#car")
    def _car_enter(self) -> None:
        matches = self.query_one("#car-matches", OptionList)
        if matches.display and matches.option_count:
            self._pick_car(int(matches.get_option_at_index(0).id or 0))

    def on_key(self, event: Any) -> None:
        matches = self.query_one("#car-matches", OptionList)
        if event.key == "down" and self.query_one("#car", Input).has_focus and matches.display:
            matches.focus()
            event.stop()

    @on(OptionList.OptionSelected, "#car-matches")
    def _car_chosen(self, event: OptionList.OptionSelected) -> None:
        self._pick_car(int(event.option.id or 0))

    def _pick_car(self, car_id: int, keep_text: bool = False) -> None:
        brief = self.ctx.store.fast.car_brief(car_id)
        if brief is None:
            self._message("car", _("That car is gone."))
            return
        label, dealership_id, status = brief
        self.car_id = car_id
        self.car_dealership = dealership_id
        if keep_text:
            # the car is named in the title; the text typed stays as it is
            self._message("car", f"✓ {CAR_STATUS_LABELS[status]}", error=False, ok=True)
        else:
            with self.prevent(Input.Changed):  # the picked car's name, not typed
                self.query_one("#car", Input).value = label
            self._message("car", CAR_STATUS_LABELS[status], error=False)
        self.query_one("#car-matches", OptionList).display = False
        self.query_one("#title", Static).update(_("Book work · {car}").format(car=label))
        if self.query_one("#car-matches", OptionList).has_focus:
            self.query_one("#resource_type_id").focus()
        self._follow_stage(status)
        self._refresh_choices()

    def _follow_stage(self, status: str) -> None:
        """The work the car's stage calls for (cosmetic prep: cosmetic work), unless the grid
        cell said which work or the user chose it."""
        from db.jobs import work_type_for

        select = self.query_one("#resource_type_id", Select)
        if self.preset_type in self.types or select.value != self._default_type:
            return
        wanted = work_type_for(list(self.types.values()), status)
        if wanted is None or wanted == select.value:
            return
        self._set_type(wanted)
        self._default_type = wanted
        self._default_hours()

    # -- choices that depend on the others -------------------------------------------------------
    def _forget_refusal(self) -> None:
        """The user changed what is booked: the last refusal, and the nearest day it offered,
        were about a booking no longer on the form, so both go (``ctrl+y`` must not book what
        the form does not show).  When nobody has room for what it shows now, that is found and
        said again (:meth:`_show_people`).  Not when ``ctrl+y`` set the day itself: its booking is
        under way, and says so."""
        if self._save_when_ready:
            return
        self.nearest = None
        self.query_one("#problem", Static).update("")
        self.refresh_bindings()

    @on(Select.Changed, "#resource_type_id")
    def _type_changed(self, event: Select.Changed) -> None:
        self._forget_refusal()
        self._default_hours()
        self._refresh_choices()

    @on(Select.Picked, "#resource_type_id")
    def _work_picked(self, event: Select.Picked) -> None:
        """The user picked the work (the one shown again included): the car's stage no longer
        chooses it (:meth:`_follow_stage`)."""
        self._default_type = None

    @on(Select.Picked, "#user_id")
    def _person_picked(self, event: Select.Picked) -> None:
        """The user picked who does the work (the person shown again included: picked, they are
        the user's choice now, not the form's): that person stays chosen from now on, and what
        is said beside the field is about them (not the one before, short of hours); when the
        form had asked (the person kept had no hours of the work), what it asked is answered."""
        if not isinstance(event.value, str):
            return  # the blank line of the list: nobody chosen
        self._chosen = event.value
        self._forget_refusal()
        if self._lost is not None:
            self._lost = None
            self._message("user_id", "")
        self._refresh_people()  # what the field says beside it is about the person picked now

    @on(Select.Changed, "#provider_dealership_id")
    def _provider_changed(self) -> None:
        self._forget_refusal()
        self._refresh_people()

    @on(Input.Changed, "#date")
    @on(Input.Changed, "#estimated_hours")
    def _day_or_hours_changed(self, event: Input.Changed) -> None:
        name = event.input.id or ""
        self._forget_refusal()  # even while what is typed is not a day or hours yet
        try:
            if name == "date":
                validate.parse_date(event.value, "date")
            else:
                validate.hours(event.value, "estimated_hours")
        except Invalid as problem:
            self._message(name, problem.message)
            return
        self._message(name, "")
        self._refresh_people()

    def _refresh_choices(self) -> None:
        rt = self._type()
        consumer = self.car_dealership or self.ctx.actor.dealership_id
        if rt is None or consumer is None:
            return
        self._load_providers(consumer, rt.id)

    @work(thread=True, exclusive=True, group="booking-providers", exit_on_error=False)
    def _load_providers(self, consumer: int, resource_type_id: int) -> None:
        from db import grid

        providers = grid.providers_for(self.ctx.store.fast, consumer, resource_type_id)
        self.app.call_from_thread(self._show_providers, providers)

    def _show_providers(self, providers: list[tuple[int, str, str]]) -> None:
        select = self.query_one("#provider_dealership_id", Select)
        current = select.value
        wanted = self.preset_provider if self.preset_provider is not None else current
        ids = [did for did, _name, _why in providers]
        with self.prevent(Select.Changed):  # the people are read below, once
            select.set_options([(f"{name} ({why})", did) for did, name, why in providers])
            if wanted in ids:
                select.value = wanted
            elif ids:
                select.value = ids[0]
        if not providers:
            self._message(
                "provider_dealership_id", _("No prep center or sharing agreement for this work.")
            )
        else:
            self._message("provider_dealership_id", "")
        self._refresh_people()

    def _refresh_people(self, *, relabel: bool = False) -> None:
        """The people with room for the form's work, day and hours; ``relabel``: only their free
        hours told afresh, the person chosen kept (:meth:`_relabel_people`)."""
        rt = self._type()
        provider = self.query_one("#provider_dealership_id", Select).value
        try:
            day = validate.parse_date(self.query_one("#date", Input).value, "date")
            hours = validate.hours(self.query_one("#estimated_hours", Input).value)
        except Invalid:
            return
        if rt is None or not isinstance(provider, int) or day is None:
            return
        chosen = self.query_one("#user_id", Select).value
        if relabel:
            self._relabel_people(provider, rt.id, day, hours, chosen)
        else:
            # the person chosen (the cell's, or the user's pick) is listed even without the room:
            # never switched to someone else behind the user's back; their free hours are shown,
            # and a refusal names them and their nearest day
            keep = self._chosen if self._chosen != NOBODY else None
            self._load_people(provider, rt.id, day, hours, keep)

    def on_data_changed(self, event: DataChanged) -> None:
        """Another terminal booked, cancelled or changed hours: the people's free hours follow,
        the person chosen kept (unless their list is being read anew already)."""
        if not event.touches("resource_bookings", "resource_capacities", "users"):
            return
        reading = any(
            w.node is self and w.name == "_load_people" and w.is_running for w in self.workers
        )
        if not reading:
            self._refresh_people(relabel=True)

    @work(thread=True, exclusive=True, group="booking-people", exit_on_error=False)
    def _load_people(
        self, provider: int, resource_type_id: int, day: date, hours: float, keep: str | None
    ) -> None:
        from db import grid

        people = grid.people_with_room(
            self.ctx.store.fast, provider, resource_type_id, day, hours, keep=keep
        )
        self.app.call_from_thread(self._show_people, people, day, hours)

    def _person_options(self, people: list[tuple[str, str, float]]) -> list[tuple[str, str]]:
        rt = self._type()
        options: list[tuple[str, str]] = []
        if rt is not None and not rt.requires_assignment:
            options.append((_("Nobody yet (the team)"), NOBODY))
        return options + [
            (_("{name} ({hours} free)").format(name=name, hours=formats.hours(free)), uid)
            for uid, name, free in people
        ]

    @work(thread=True, exclusive=True, group="booking-people", exit_on_error=False)
    def _relabel_people(
        self, provider: int, resource_type_id: int, day: date, hours: float, chosen: object
    ) -> None:
        """After a refusal, or another terminal's change: the people's free hours as they are
        now, the person chosen kept even when they have not the room any more (a refusal says
        so; the list must not switch to someone else behind the user's back)."""
        from db import grid

        keep = chosen if isinstance(chosen, str) and chosen != NOBODY else None
        people = grid.people_with_room(
            self.ctx.store.fast, provider, resource_type_id, day, hours, keep=keep
        )
        self.app.call_from_thread(self._show_relabelled, people, chosen)

    def _show_relabelled(self, people: list[tuple[str, str, float]], chosen: object) -> None:
        select = self.query_one("#user_id", Select)
        options = self._person_options(people)
        if chosen not in [v for _label, v in options] or select.value != chosen:
            return  # the form changed meanwhile: its own refresh tells
        select.set_options(options)
        select.value = chosen

    def _show_people(self, people: list[tuple[str, str, float]], day: date, hours: float) -> None:
        rt = self._type()
        select = self.query_one("#user_id", Select)
        options = self._person_options(people)
        shown = select.value
        self._names.update((uid, name) for uid, name, _free in people)
        select.set_options(options)
        values = [v for _label, v in options]
        self._lost = None
        if self._chosen in values:
            select.value = self._chosen
        elif self._chosen is not None and self._chosen != NOBODY:
            # the person chosen has no hours that day (or does not do this work): nobody else is
            # chosen in their place; the user picks, or goes back to a day of theirs
            self._lost = self._chosen
        elif shown in values:  # the form's own pick still has the room: it stays
            select.value = shown
        elif values:
            select.value = values[0]
        from db import grid

        chosen = next(((name, free) for uid, name, free in people if uid == select.value), None)
        if self._lost is not None and values:
            self._message(
                "user_id",
                _("{name} has no hours of this work on {day}: pick who does it.").format(
                    name=self._names.get(self._lost, _("The person chosen")), day=formats.day(day)
                ),
            )
            if self._save_when_ready:  # ctrl+s came while the list was read: it says the same
                self._save_when_ready = False
                self.action_save()
        elif not people and rt is not None and rt.requires_assignment:
            self._message("user_id", _("Nobody has room on {day}.").format(day=formats.day(day)))
            self._find_nearest(day)
        else:
            # the person kept without the room: said now; ctrl+s is refused with their nearest day
            said = ""
            if chosen is not None and not grid.has_room(chosen[1], hours):
                name, free = chosen
                said = _("{name} has {hours} free on {day}.").format(
                    name=name, hours=formats.hours(max(free, 0.0)), day=formats.day(day)
                )
            self._message("user_id", said, error=False)
            if self._nobody_on is not None and not self._save_when_ready:
                self._nobody_on = None  # someone has room now: the old offer is gone
                self.query_one("#problem", Static).update("")
            if self._save_when_ready:
                self._save_when_ready = False
                self.action_save()

    @work(thread=True, exclusive=True, group="booking-nearest", exit_on_error=False)
    def _find_nearest(self, day: date) -> None:
        """Nobody has room that day: the nearest day someone has, offered before saving."""
        import uuid

        from db import grid, nearest

        rt = self._type()
        provider = self.query_one("#provider_dealership_id", Select).value
        consumer = self.car_dealership or self.ctx.actor.dealership_id
        try:
            hours = validate.hours(self.query_one("#estimated_hours", Input).value)
        except Invalid:
            return
        if rt is None or not isinstance(provider, int) or consumer is None:
            return
        people = [
            uuid.UUID(uid)
            for uid, _name in grid.people_for_type(self.ctx.store.fast, provider, rt.id)
        ]
        best = self.ctx.store.query(
            nearest.nearest_day,
            provider_id=provider,
            consumer_id=consumer,
            resource_type_id=rt.id,
            hours=hours,
            around=day,
            anyone_of=people,
        )
        self.app.call_from_thread(self._offer_nearest, day, best)

    def _offer_nearest(self, day: date, nearest: date | None) -> None:
        try:
            shown = validate.parse_date(self.query_one("#date", Input).value, "date")
        except Invalid:
            shown = None
        if shown != day:
            return  # an offer for a day the form no longer shows (ctrl+y took one meanwhile)
        self._save_when_ready = False
        self.nearest = nearest
        self._nobody_on = day
        self.query_one("#problem", Static).update(self._nobody_text())
        self.refresh_bindings()

    def _nobody_text(self) -> str:
        day = self._nobody_on
        if day is None:
            return ""
        if self.nearest is None:
            return _("Nobody has room on {day}, nor on a day in the next weeks.").format(
                day=formats.day(day)
            )
        return _("Nobody has room on {day}. {offer}").format(
            day=formats.day(day), offer=_take_text(self.nearest)
        )

    # -- booking ---------------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The form as ``ledger.book`` takes it (raises Invalid for a field typed wrong)."""
        import uuid

        if self.car_id is None:
            raise Invalid(_("Pick the car: type its plate, VIN digits, order or customer."), "car")
        rt = self._type()
        if rt is None:
            raise Invalid(_("Pick the work."), "resource_type_id")
        day = validate.parse_date(self.query_one("#date", Input).value, "date")
        if day is None:
            raise Invalid(_("The day is required."), "date")
        start = validate.parse_time(self.query_one("#start_time", Input).value, "start_time")
        hours = validate.hours(self.query_one("#estimated_hours", Input).value, "estimated_hours")
        provider = self.query_one("#provider_dealership_id", Select).value
        if not isinstance(provider, int):
            raise Invalid(_("Pick where the work is done."), "provider_dealership_id")
        person = self.query_one("#user_id", Select).value
        if person == Select.NULL and self._lost is not None:
            raise Invalid(_("Pick who does the work."), "user_id")
        user_id = None if person in (NOBODY, Select.NULL) else uuid.UUID(str(person))
        if rt.requires_assignment and user_id is None:
            raise Invalid(
                _("{work} needs a person: pick one with room.").format(work=rt.name), "user_id"
            )
        return {
            "car_id": self.car_id,
            "resource_type_id": rt.id,
            "date": day,
            "start_time": start,
            "estimated_hours": hours,
            "provider_dealership_id": provider,
            "user_id": user_id,
            "notes": self.query_one("#notes", Input).value,
        }

    def action_save(self) -> None:
        if self.busy:
            return
        for name in ("car", "resource_type_id", "date", "start_time", "estimated_hours"):
            if name != "car":
                self._message(name, "")
        try:
            values = self.values()
        except Invalid as problem:
            if problem.field == "user_id" and self.nearest is not None:
                self.query_one("#problem", Static).update(self._nobody_text())
                return  # nobody has room: the refusal is the nearest day and its key
            self._refused({problem.field or "": problem.message})
            return
        self.busy = True
        self.query_one("#problem", Static).update(_("Booking…"))
        self._book(values)

    def worker_failed(self, worker: Any, message: str) -> bool:
        """The database failed under the booking: the form stays as typed, ctrl+s tries again."""
        if worker.group != "booking-save":
            return False
        self._refused({"": message})
        self.notify(message, severity="error", timeout=15)
        return True

    @work(thread=True, group="booking-save", exit_on_error=False)
    def _book(self, values: dict[str, Any]) -> None:
        from db import ledger

        try:
            booking = self.ctx.store.run(ledger.book, self.ctx.actor, **values)
        except DoesNotFit as refusal:
            self.app.call_from_thread(self._does_not_fit, refusal)
        except Invalid as problem:
            self.app.call_from_thread(self._refused, {problem.field or "": problem.message})
        except PrepfloorError as refusal:
            self.app.call_from_thread(self._refused, {"": str(refusal)})
        else:
            self.app.call_from_thread(self._booked, booking.id, values)

    def _booked(self, booking_id: int, values: dict[str, Any]) -> None:
        self.busy = False
        self.notify(_("Booked for {day}.").format(day=day_text(values["date"])))
        self.dismiss(booking_id)

    def _does_not_fit(self, refusal: DoesNotFit) -> None:
        self.busy = False
        self.nearest = refusal.nearest_day
        if self.nearest is not None:
            text = _("Does not fit: {reason} {offer}").format(
                reason=refusal.reason, offer=_take_text(self.nearest)
            )
        else:
            text = _("Does not fit: {reason}").format(reason=refusal.message)
        self.query_one("#problem", Static).update(text)
        self.refresh_bindings()
        self._refresh_people(relabel=True)  # their free hours as the refusal found them

    def _refused(self, errors: dict[str, str]) -> None:
        self.busy = False
        rest = []
        beside = []  # said beside their field too: at 80 columns that column is narrow
        for name, message in errors.items():
            if name and self.query(f"#msg-{name}"):
                self._message(name, message)
                target = self.query_one(f"#{name}")
                target.focus()
                beside.append(message)
            else:
                rest.append(message)
        text = " ".join(rest or beside)
        if self.nearest is not None:  # the day offered still stands, with its key
            text += f" {_take_text(self.nearest)}"
        self.query_one("#problem", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "take_nearest":
            return self.nearest is not None
        return True

    def action_take_nearest(self) -> None:
        """Book on the nearest day offered (once the people with room that day are known)."""
        if self.nearest is None:
            return
        self.query_one("#problem", Static).update(
            _("Booking on {day}…").format(day=day_text(self.nearest))
        )
        self._save_when_ready = True
        # as the field shows a day; the people with room follow, then the booking is saved
        self.query_one("#date", Input).value = formats.date_field(self.nearest)
        self.nearest = None
        self.refresh_bindings()

    def action_cancel(self) -> None:
        self.dismiss(None)


def _take_text(day: date) -> str:
    """The nearest day with room and the key that books it there."""
    return _("ctrl+y books it on {day}, the nearest day with room.").format(day=day_text(day))
