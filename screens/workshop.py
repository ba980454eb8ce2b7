"""Workshop mode: my jobs with one-key timers (US-1.5, US-5.3), made for a shared terminal.

Space (or Enter) starts the highlighted job's clock and the same key stops it; starting one job
stops the other in the same transaction.  The job whose clock runs is always the top row, whatever
day is shown, so the key that stops it is the first one pressed after signing in.  Open jobs are
listed only when this person can act on them: ``t`` takes those marked "open (t)", Space clocks
the team's work marked "team" without taking it.  The running clock is a database row: the big clock shows
the time since it started, so a closed terminal, a dropped SSH link or another terminal all show the
same clock.  ``c`` completes a job with notes, ``t`` takes an open job, ``i`` inspects the car,
``k`` checks it in, ``h`` shows my hours.  A clock left running past the shift is raised at sign-in:
stop it at the shift's end, type the real end, or keep it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Digits

from db import formats
from db.clock import local, local_today, utcnow
from db.errors import PrepfloorError
from db.i18n import _, ngettext
from db.vocab import BOOKING_STATUS_LABELS, CAR_STATUS_LABELS
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.table import Cell, CellValue, Column, RowTable, TableHeader
from screens.widgets import AppFooter, AppHeader, Static, ready_to_save

if TYPE_CHECKING:
    from db.jobs import JobRow, RunningTimer

STATUS_STYLE = {
    "scheduled": "",
    "confirmed": "",
    "in_progress": "bold cyan",
    "completed": "dim green",
}


def status_word(status: str) -> str:
    """A booking's status in a list: ``in progress``."""
    return BOOKING_STATUS_LABELS.get(status, status.replace("_", " ")).lower()


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class JobsTable(RowTable[Any]):
    BINDINGS = [
        Binding("enter", "select", "Start / stop"),
        Binding("space", "select", "Start / stop", show=False),
    ]


class MyJobsScreen(Screen[None]):
    """The person's jobs for a day (today by default), and the jobs they may take."""

    BINDINGS = [
        Binding("c", "complete", "Complete"),
        Binding("t", "take", "Take job"),
        Binding("i", "inspect", "Inspect"),
        Binding("k", "check_in", "Check in car"),
        Binding("h", "hours", "My hours"),
        Binding("left_square_bracket", "day(-1)", "Prev day", key_display="["),
        Binding("right_square_bracket", "day(1)", "Next day", key_display="]"),
        Binding("d", "today", "Today"),
    ]
    DEFAULT_CSS = """
    MyJobsScreen #running { height: 5; padding: 0 1; background: $boost; }
    MyJobsScreen #running.active { background: $success 30%; }
    MyJobsScreen #clock { width: auto; min-width: 30; color: $text; }
    MyJobsScreen #running-text { width: 1fr; padding: 1 2; text-style: bold; }
    MyJobsScreen #caption { height: 1; padding: 0 1; text-style: bold; }
    MyJobsScreen JobsTable { height: 1fr; text-style: bold; }
    MyJobsScreen #detail { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.day = local_today()
        self.timer: RunningTimer | None = None
        self.busy = False
        self.asked_forgotten = False
        self._away = False  # suspended under another screen since the last load

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _("Workshop · My jobs"))
        with Horizontal(id="running"):
            yield Digits("--:--:--", id="clock")
            yield Static(_("No clock running. Pick a job and press Space."), id="running-text")
        # the highlighted job's details sit under the clock: toasts come up from the bottom
        yield Static("", id="detail", markup=False)
        yield Static("", id="caption")
        header = TableHeader()
        yield header
        yield JobsTable(
            [
                Column("time", "Time", 5),
                Column("car", "Car", 20, flex=2, least=12),
                Column("vin", "VIN", 6),
                Column("work", "Work", 14, flex=1, least=10),
                Column("est", "Est h", 5, right=True),
                Column("clocked", "Clocked", 8, right=True),
                Column("status", "Status", 11),
                Column("parts", "Parts", 12, least=8, drop=1),  # the detail line says it too
            ],
            self.cells,
            header=header,
            row_key=lambda job: job.booking_id,
            empty=_("No jobs this day. ] shows the next day."),
        )
        yield AppFooter()

    @property
    def table(self) -> JobsTable:
        return self.query_one(JobsTable)

    def on_mount(self) -> None:
        ready_to_save(self)  # Enter starts and stops the clock: the first press need not wait
        self.table.focus()
        self.load()
        self.set_interval(1.0, self._tick)
        self._check_forgotten()

    # -- data ------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="jobs", exit_on_error=False)
    def load(self) -> None:
        from db import jobs

        fast, actor = self.ctx.store.fast, self.ctx.actor
        rows = jobs.my_jobs(fast, actor, self.day, 1)
        timer = jobs.running_timer(fast, actor.user_id)
        self.app.call_from_thread(self._show, rows, timer)

    def _show(self, rows: list[JobRow], timer: RunningTimer | None) -> None:
        self.timer = timer
        self.table.set_rows(rows)
        shown = [r for r in rows if r.date == self.day]
        mine = sum(1 for r in shown if r.mine)
        takeable = sum(1 for r in shown if not r.mine and r.takeable)
        team = sum(1 for r in shown if not r.mine and not r.takeable)
        if self.day == local_today():
            when = _("Today")
        else:
            when = f"{formats.weekday(self.day, 'wide')} {formats.day_month(self.day)}"
        parts = [ngettext("{n} job", "{n} jobs", mine).format(n=mine)]
        if takeable:
            parts.append(_("{n} open to take (t)").format(n=takeable))
        if team:
            parts.append(_("{n} team jobs (Space)").format(n=team))
        self.query_one("#caption", Static).update(f"{when}: {' · '.join(parts)}")
        self._tick()
        self._describe()

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches(
            "resource_bookings",
            "timebank_entries",
            "cars",
            "inspection_checklist_items",
            "parts_orders",
            "users",
        ):
            self.load()

    def on_screen_suspend(self) -> None:
        self._away = True  # another screen is over this one: changes are not heard meanwhile

    def on_screen_resume(self) -> None:
        if self._away:  # not the two resumes of the first showing (its first load is under way)
            self._away = False
            self.load()

    def _tick(self) -> None:
        """The big clock: elapsed since the running entry started (computed, not counted)."""
        panel = self.query_one("#running")
        text = self.query_one("#running-text", Static)
        digits = self.query_one("#clock", Digits)
        if self.timer is None:
            digits.update("--:--:--")
            panel.remove_class("active")
            text.update(_("No clock running. Pick a job and press Space."))
            return
        elapsed = (utcnow() - self.timer.started_at).total_seconds()
        digits.update(clock_text(elapsed))
        panel.add_class("active")
        since = local(self.timer.started_at)
        text.update(
            _("RUNNING: {work} · {car}\nsince {since} · Space on it stops, c completes").format(
                work=self.timer.work,
                car=self.timer.car_label,
                since=f"{formats.weekday(since)} {formats.clock(since)}",
            )
        )

    def cells(self, job: JobRow) -> list[CellValue]:
        running = self.timer is not None and self.timer.booking_id == job.booking_id
        clocked = job.clocked_hours
        if running and self.timer is not None:
            clocked += (utcnow() - self.timer.started_at).total_seconds() / 3600
        status = _("RUNNING") if running else status_word(job.status)
        if not job.mine and not running:
            status = _("open (t)") if job.takeable else _("team")
        if job.date != self.day:  # the running job of another day: its day instead of a time
            when = formats.numeric_day(job.date).rstrip(".")  # 31/10, 31.10: five cells
        else:
            when = formats.clock(job.start_time) if job.start_time else ""
        return [
            when,
            " ".join(x for x in (job.plate, job.brand, job.model) if x) or job.car_label,
            job.vin_tail or "",
            job.work,
            formats.number(job.estimated_hours),
            formats.fixed(clocked, 2),
            Cell(status, "bold reverse green" if running else STATUS_STYLE.get(job.status, "dim")),
            Cell(_("WAITING") if job.parts_waiting else "", "bold magenta"),
        ]

    def on_row_table_highlighted(self, _event: RowTable.Highlighted) -> None:
        self._describe()

    def _describe(self) -> None:
        job = self.table.current
        if job is None:
            self.query_one("#detail", Static).update("")
            return
        lines = []
        if job.parts_waiting:
            reason = job.parts_reason or _("Waiting on parts.")
            lines.append(_("Parts: {reason} It cannot start yet.").format(reason=reason))
        if job.seller_notes:
            lines.append(_("Seller: {notes}").format(notes=job.seller_notes))
        if job.booking_notes:
            lines.append(_("Coordinator: {notes}").format(notes=job.booking_notes))
        if job.work_notes:
            lines.append(_("Notes: {notes}").format(notes=job.work_notes))
        first = [job.car_label, job.work]
        if job.person and not job.mine:
            first.append(job.person)
        if job.car_status:
            status = CAR_STATUS_LABELS.get(job.car_status, job.car_status).lower()
            first.append(_("car {status}").format(status=status))
        if job.date != self.day:
            first.append(formats.day(job.date))
        lines.insert(0, " · ".join(first))
        self.query_one("#detail", Static).update("\n".join(lines))

    # -- the one key -----------------------------------------------------------------------------
    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        job: JobRow = event.row
        if self.timer is not None and self.timer.booking_id == job.booking_id:
            self._clock("stop", job)
        elif job.mine or job.team:  # the team's work is clocked without taking it
            self._clock("start", job)
        else:
            self.notify(_("This job is open: t takes it first."), severity="warning")

    def _clock(self, what: str, job: JobRow) -> None:
        if self.busy:
            return
        self.busy = True
        self._clock_in_thread(what, job)

    @work(thread=True, group="clock", exit_on_error=False)
    def _clock_in_thread(self, what: str, job: JobRow) -> None:
        from db import timers

        actor = self.ctx.actor
        try:
            if what == "start":
                self.ctx.store.run(timers.start, actor, job.booking_id)
                message = _("Started: {work} · {car}.").format(work=job.work, car=job.car_label)
            else:
                entry = self.ctx.store.run(timers.stop, actor)
                message = _("Stopped: {hours} on {car}.").format(
                    hours=formats.hours(entry.hours or 0), car=job.car_label
                )
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            message, severity = self._what_runs_now(what, job, message)
            timeout = 10 if severity == "warning" else None
            self.app.call_from_thread(self.notify, message, severity=severity, timeout=timeout)
        finally:
            self.busy = False
        self.app.call_from_thread(self.load)

    def _what_runs_now(self, what: str, job: JobRow, message: str) -> tuple[str, Any]:
        """(In the worker) Another terminal of the same person may have pressed at the same
        moment: when the clock that runs now is not the one this press meant, say which runs."""
        from db import jobs

        try:
            now = jobs.running_timer(self.ctx.store.fast, self.ctx.actor.user_id)
        except Exception:  # the reload that follows shows the clock, or says it cannot
            return message, "information"
        meant = job.booking_id if what == "start" else None
        if (now.booking_id if now is not None else None) == meant:
            return message, "information"
        if now is not None:
            said = _(
                "{message} Another terminal pressed too: your clock now runs on {work} · {car}."
            ).format(message=message, work=now.work, car=now.car_label)
        else:
            said = _("{message} Another terminal pressed too: your clock is stopped.").format(
                message=message
            )
        return said, "warning"

    # -- the other keys ----------------------------------------------------------------------------
    def action_complete(self) -> None:
        from db import timers
        from screens.forms import FormDialog, FormField

        job: JobRow | None = self.table.current
        if job is None or not (job.mine or job.running):
            return
        ctx = self.ctx

        def save(values: dict[str, Any]) -> Any:
            return ctx.store.run(timers.complete, ctx.actor, job.booking_id, values["notes"])

        def done(result: Any) -> None:
            if result is not None:
                self.notify(
                    _("Completed: {work} · {car}, {hours}.").format(
                        work=job.work,
                        car=job.car_label,
                        hours=formats.hours(result.actual_hours),
                    )
                )
                self.load()

        self.app.push_screen(
            FormDialog(
                _("Complete {work} · {car}").format(work=job.work, car=job.car_label),
                [
                    FormField(
                        "notes",
                        _("Notes"),
                        _("what was done, anything the next person must know"),
                    )
                ],
                save,
                intro=_(
                    "The clock stops, the hours are summed and the car moves on when all its "
                    "work of this kind is done. Enter completes; Escape keeps the job open."
                ),
            ),
            done,
        )

    def action_take(self) -> None:
        job: JobRow | None = self.table.current
        if job is not None and not job.mine and not job.takeable and job.team:
            self.notify(_("A team job: Space starts its clock, nobody needs to take it."))
            return
        if job is None or job.mine:
            self.notify(
                _("Pick an open job (its status reads '{open}').").format(open=_("open (t)")),
                severity="warning",
            )
            return
        self._take(job)

    @work(thread=True, group="clock", exit_on_error=False)
    def _take(self, job: JobRow) -> None:
        from db import timers

        try:
            self.ctx.store.run(timers.take, self.ctx.actor, job.booking_id)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            self.app.call_from_thread(
                self.notify,
                _("Yours now: {work} · {car}.").format(work=job.work, car=job.car_label),
            )
        self.app.call_from_thread(self.load)

    def action_inspect(self) -> None:
        from screens.inspection import InspectionScreen

        job: JobRow | None = self.table.current
        if job is not None and job.car_id is not None:
            self.app.push_screen(InspectionScreen(self.ctx, job.car_id, job.car_label))

    def action_check_in(self) -> None:
        job: JobRow | None = self.table.current
        if job is not None and job.car_id is not None:
            self._check_in(job)

    @work(thread=True, group="clock", exit_on_error=False)
    def _check_in(self, job: JobRow) -> None:
        from db import workflow

        try:
            self.ctx.store.run(workflow.move_car, self.ctx.actor, job.car_id, "at_prep_center")
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            self.app.call_from_thread(
                self.notify, _("Checked in: {car}.").format(car=job.car_label)
            )
        self.app.call_from_thread(self.load)

    def action_hours(self) -> None:
        self.app.push_screen(TimeBankScreen(self.ctx))

    def action_day(self, delta: int) -> None:
        self.day += timedelta(days=delta)
        self.load()

    def action_today(self) -> None:
        self.day = local_today()
        self.load()

    # -- a clock left running past the shift ------------------------------------------------------
    @work(thread=True, group="forgotten", exit_on_error=False)
    def _check_forgotten(self) -> None:
        from db import jobs

        ctx = self.ctx
        running = jobs.running_timer(ctx.store.fast, ctx.actor.user_id)
        if running is None or utcnow() - running.started_at <= timedelta(hours=ctx.shift_hours):
            return  # no clock past the shift (a read): nothing to flag, and no ORM to load for it
        from db import timers  # the rules of the clock, with the ORM: only for a write

        entry = ctx.store.run(timers.flag_forgotten, ctx.actor, ctx.actor.user_id, ctx.shift_hours)
        if entry is not None:
            self.app.call_from_thread(self._ask_forgotten, entry.id, entry.started_at)

    def _ask_forgotten(self, entry_id: int, started_at: datetime) -> None:
        from screens.dialogs import ChoiceDialog

        shift_end = started_at + timedelta(hours=self.ctx.shift_hours)
        hours = (utcnow() - started_at).total_seconds() / 3600
        end = local(shift_end)
        choices = [
            (
                "shift_end",
                _("Stop it at the end of the shift ({when})").format(
                    when=f"{formats.weekday(end)} {formats.clock(end)}"
                ),
            ),
            ("at", _("Type the real end time")),
            ("keep", _("Keep it running (I am still on it)")),
        ]

        def chosen(choice: str | None) -> None:
            if choice is None:
                return
            if choice == "at":
                self._ask_end(entry_id, started_at)
            else:
                self._resolve(entry_id, choice, None)

        self.app.push_screen(
            ChoiceDialog(
                _("Your clock has run since {since} ({hours}). Was it forgotten?").format(
                    since=formats.moment(local(started_at)), hours=formats.hours(hours, 1)
                ),
                choices,
                saves=True,
            ),
            chosen,
        )

    def _ask_end(self, entry_id: int, started_at: datetime) -> None:
        from db import validate
        from db.errors import Invalid
        from screens.forms import FormDialog, FormField

        day = local(started_at).date()

        def save(values: dict[str, Any]) -> Any:
            when = validate.parse_time(values["end"], "end")
            on = validate.parse_date(values["day"], "day") or day
            if when is None:
                raise Invalid(_("Type the time you stopped, e.g. 16:30."), "end")
            ended = datetime.combine(on, when, tzinfo=local(started_at).tzinfo)
            return self._resolve_now(entry_id, "at", ended)

        self.app.push_screen(
            FormDialog(
                _("When did you stop?"),
                [
                    FormField("day", _("Day"), value=formats.date_field(day)),
                    FormField("end", _("Time *"), _("e.g. 16:30")),
                ],
                save,
            ),
            lambda result: self.load(),
        )

    def _resolve_now(self, entry_id: int, choice: str, ended_at: datetime | None) -> Any:
        from db import timers

        return self.ctx.store.run(
            timers.resolve_forgotten,
            self.ctx.actor,
            entry_id,
            choice,
            ended_at=ended_at,
            shift_hours=self.ctx.shift_hours,
        )

    @work(thread=True, group="forgotten", exit_on_error=False)
    def _resolve(self, entry_id: int, choice: str, ended_at: datetime | None) -> None:
        try:
            self._resolve_now(entry_id, choice, ended_at)
        except PrepfloorError as refusal:
            self.app.call_from_thread(self.notify, str(refusal), severity="error", timeout=10)
        else:
            word = _("Kept running.") if choice == "keep" else _("Stopped at the end of the shift.")
            self.app.call_from_thread(self.notify, word)
        self.app.call_from_thread(self.load)


class TimeBankScreen(Screen[None]):
    """My hours (a coordinator or manager: everyone's at their dealerships) for a week: per day
    and work, productive or not, clocked against estimated.  ``e`` writes a CSV for payroll."""

    BINDINGS = [
        Binding("left_square_bracket", "week(-1)", "Prev week", key_display="["),
        Binding("right_square_bracket", "week(1)", "Next week", key_display="]"),
        Binding("e", "export", "Export CSV"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    TimeBankScreen #summary { height: auto; padding: 1 1 0 1; text-style: bold; }
    """

    def __init__(self, ctx: SessionContext) -> None:
        super().__init__()
        self.ctx = ctx
        today = local_today()
        self.monday = today - timedelta(days=today.weekday())
        self.rows: list[Any] = []

    def compose(self) -> ComposeResult:
        if self.ctx.actor.role in ("mechanic", "detailer"):
            title = _("Workshop · My hours")
        else:
            title = _("Workshop · Hours")
        yield AppHeader(self.ctx, title)
        yield Static("", id="summary", markup=False)
        header = TableHeader()
        yield header
        yield RowTable(
            [
                Column("person", "Person", 14, flex=1),
                Column("day", "Day", 13, least=10),  # ons. 31. des.
                Column("work", "Work", 16, flex=1),
                Column("productive", "Productive", 10),
                Column("clocked", "Clocked h", 9, right=True),
                Column("estimated", "Estimated h", 11, right=True),
            ],
            self.cells,
            header=header,
            row_key=lambda r: (r.user_id, r.day, r.resource_type_id),
            empty=_("No hours this week."),
        )
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(RowTable).focus()
        self.load()

    def cells(self, row: Any) -> list[CellValue]:
        return [
            row.person,
            formats.day(row.day),
            row.work,
            _("yes") if row.productive else Cell(_("no"), "dim"),
            formats.fixed(row.clocked, 2),
            formats.number(row.estimated),
        ]

    @work(thread=True, exclusive=True, group="hours", exit_on_error=False)
    def load(self) -> None:
        from db import timebank

        rows = timebank.hours(
            self.ctx.store.fast, self.ctx.actor, self.monday, self.monday + timedelta(days=6)
        )
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[Any]) -> None:
        from db import timebank

        self.rows = rows
        self.query_one(RowTable).set_rows(rows)
        lines = []
        for name, figures in timebank.summary(rows).items():
            ratio = figures.get("productivity")
            if ratio is not None:
                share = _("{percent} productive").format(percent=formats.percent(ratio))
            else:
                share = _("no hours")
            lines.append(
                _("{name}: {clocked} clocked ({share}), {estimated} estimated").format(
                    name=name,
                    clocked=formats.hours(figures["clocked"]),
                    share=share,
                    estimated=formats.hours(figures["estimated"]),
                )
            )
        sunday = self.monday + timedelta(days=6)
        head = _("Week {number} · {first} to {last}").format(
            number=self.monday.isocalendar()[1],
            first=formats.day_month(self.monday),
            last=f"{formats.day_month(sunday)} {sunday.year}",
        )
        self.query_one("#summary", Static).update("\n".join([head, *lines]))

    def action_week(self, delta: int) -> None:
        self.monday += timedelta(weeks=delta)
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # the home of a coordinator's workshop mode has nothing behind it
            return len(self.app.screen_stack) > 1
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_export(self) -> None:
        self._export(list(self.rows), self.monday)

    @work(thread=True, group="hours-export", exit_on_error=False)
    def _export(self, rows: list[Any], monday: date) -> None:
        from db import timebank
        from screens.car_records import keep_export

        name = f"hours-{self.ctx.actor.login}-{monday:%Y}-W{monday.isocalendar()[1]:02d}.csv"
        said, severity = keep_export(self.ctx, name, lambda out: timebank.write_csv(rows, out))
        self.app.call_from_thread(self.notify, said, severity=severity, timeout=20)

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("timebank_entries", "resource_bookings"):
            self.load()
