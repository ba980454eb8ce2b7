"""A role mode's home: cars per stage in the user's scope (Enter lists them), and one line on the
screens this mode will hold."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from db.vocab import CAR_STATUS_LABELS, CAR_STATUSES
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.modes import ModeInfo
from screens.widgets import AppFooter, AppHeader


class OverviewScreen(Screen[None]):
    BINDINGS = [Binding("u", "sharing", "Sharing")]
    DEFAULT_CSS = """
    OverviewScreen #coming { padding: 1 2 0 2; color: $text-muted; }
    OverviewScreen #caption { padding: 1 2 0 2; text-style: bold; }
    OverviewScreen OptionList { margin: 0 2; height: auto; max-height: 1fr; width: 60; }
    """

    def __init__(self, ctx: SessionContext, mode: ModeInfo) -> None:
        super().__init__()
        self.ctx = ctx
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, self.mode.title)
        yield Static(self.mode.coming, id="coming", markup=False)
        yield Static("Cars by stage (Enter lists them)", id="caption")
        yield OptionList(id="stages")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load(self) -> None:
        counts = self.ctx.store.fast.status_counts(self.ctx.actor)
        self.app.call_from_thread(self._show, counts)

    def _show(self, counts: dict[str, int]) -> None:
        stages = self.query_one(OptionList)
        highlighted = stages.highlighted
        stages.clear_options()
        width = max(len(label) for label in CAR_STATUS_LABELS.values())
        stages.add_options(
            [
                Option(f"{CAR_STATUS_LABELS[s]:<{width}}  {counts.get(s, 0):>7,}", id=s)
                for s in CAR_STATUSES
            ]
        )
        stages.highlighted = highlighted if highlighted is not None else 0

    @on(OptionList.OptionSelected)
    def _open_stage(self, event: OptionList.OptionSelected) -> None:
        from screens.cars import CarListScreen

        status = str(event.option.id)
        self.app.push_screen(
            CarListScreen(self.ctx, statuses=(status,), title=f"Cars · {CAR_STATUS_LABELS[status]}")
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sharing":  # the managers of both sides of an agreement see its use
            return self.ctx.actor.role in ("manager", "coordinator", "admin")
        return True

    def action_sharing(self) -> None:
        from screens.schedule import SharingScreen

        self.app.push_screen(SharingScreen(self.ctx))

    def on_data_changed(self, _event: DataChanged) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        self.load()
