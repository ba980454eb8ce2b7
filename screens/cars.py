"""The car list screen: search by VIN, plate, order number or customer; Enter opens a car."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from db import formats
from db.fast import CarQuery
from db.i18n import N_, _, ngettext
from db.vocab import CAR_STATUS_LABELS
from screens.carlist import CarListHeader, CarTable
from screens.context import SessionContext
from screens.messages import DataChanged
from screens.widgets import AppFooter, AppHeader, Input, SearchBoxKeys, Static

MIN_SEARCH = 3  # shorter searches match too much to be of use, and cannot use the index


class CarListScreen(SearchBoxKeys, Screen[None]):
    """Every car the user may see, newest first."""

    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("a", "toggle_archived", "Archived"),
        Binding("escape", "leave_search", "Back to list", show=False),
    ]
    AUTO_FOCUS = "#cars"  # the list has the keys from the first frame (not the search box first)
    DEFAULT_CSS = """
    CarListScreen #search { margin: 0 1; }
    CarListScreen #summary { height: 1; padding: 0 2; color: $text-muted; }
    CarListScreen CarTable { height: 1fr; }
    """

    def __init__(
        self,
        ctx: SessionContext,
        *,
        statuses: tuple[str, ...] = (),
        title: str = N_("Cars"),
        search: str = "",
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.title_text = title
        self.query_value = CarQuery(search=search, statuses=statuses)
        self._away = False

    def compose(self) -> ComposeResult:
        yield AppHeader(self.ctx, _(self.title_text))
        yield Input(
            value=self.query_value.search,
            id="search",
            placeholder=_("Search: VIN (or its last digits), plate, order number or customer"),
        )
        yield Static("", id="summary")
        header = CarListHeader()
        yield header
        yield CarTable(self.ctx, self.query_value, header=header, id="cars")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one(CarTable).focus()
        self._show_summary(None)

    @property
    def table(self) -> CarTable:
        return self.query_one(CarTable)

    def _show_summary(self, total: int | None) -> None:
        q = self.query_value
        if q.statuses:
            scope = ", ".join(CAR_STATUS_LABELS[s] for s in q.statuses)
        elif q.include_archived:
            scope = _("all cars, archived too")
        else:
            scope = _("all cars but archived (a: show archived)")
        if total is None:
            count = _('… cars matching "{search}"') if q.search else _("… cars")
        elif q.search:
            count = ngettext(
                '{count} car matching "{search}"', '{count} cars matching "{search}"', total
            )
        else:
            count = ngettext("{count} car", "{count} cars", total)
        # the figure only once it is known (the first frame does not wait for Babel's data)
        shown = "" if total is None else formats.number(total, 0)
        count = count.format(count=shown, search=q.search)
        self.query_one("#summary", Static).update(f"{count} · {scope}")

    def _set_query(self, query: CarQuery) -> None:
        self.query_value = query
        self._show_summary(None)
        self.table.set_query(query)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        q = self.query_value
        text = " ".join(event.value.split())
        if 0 < len(text) < MIN_SEARCH:
            self.query_one("#summary", Static).update(
                _(
                    "Type {count} or more characters to search (VIN digits, plate, order, name)."
                ).format(count=MIN_SEARCH)
            )
            return
        if text != q.search:
            self._set_query(
                CarQuery(search=text, statuses=q.statuses, include_archived=q.include_archived)
            )

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        """Enter in the search box opens the first match (type, Enter: done)."""
        self.table.focus()
        if self.table.current is not None:
            self.table.action_open()

    @on(CarTable.Counted)
    def _counted(self, event: CarTable.Counted) -> None:
        self._show_summary(event.total)

    @on(CarTable.Opened)
    def _open(self, event: CarTable.Opened) -> None:
        from screens.car_detail import CarDetailScreen

        self.app.push_screen(CarDetailScreen(self.ctx, event.car_id))

    def on_data_changed(self, event: DataChanged) -> None:
        if event.touches("cars", "car_access"):
            self.table.refresh_data()

    def on_screen_suspend(self) -> None:
        self._away = True  # another screen is over this one: changes are not heard meanwhile

    def on_screen_resume(self) -> None:
        # back from another screen: what changed meanwhile is shown.  (Textual resumes a mode's
        # screen twice when it is first shown, while its first load is under way: no reload.)
        if self._away:
            self._away = False
            self.table.refresh_data()

    def action_toggle_archived(self) -> None:
        q = self.query_value
        self._set_query(
            CarQuery(search=q.search, statuses=q.statuses, include_archived=not q.include_archived)
        )
