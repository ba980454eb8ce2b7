"""What the manager's dashboard hands back (:mod:`db.dashboard`): tables of rows, each row with
what Enter opens behind it, and the cells as the screen, ``prepfloor report`` and a CSV write them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any, NamedTuple

from db import csvfile, formats
from db.i18n import _
from db.vocab import ROLE_LABELS

YELLOW_SHARE = 0.75  # a stay is yellow from this share of its target
LEVELS: tuple[str, ...] = ("green", "yellow", "red")


# ------------------------------------------------------------------------------------------------
# the tables
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    title: str  # as the reader's language writes it (the screen and ``prepfloor report``)
    kind: str = "text"  # text (short), name (a longer text), int, hours, days, pct, bar
    source: str = ""  # the title in English, the CSV's header (default: ``title``)

    @property
    def csv_title(self) -> str:
        return self.source or self.title


def _col(title: str, kind: str = "text") -> Col:
    """A column titled ``title`` (an English text marked with ``N_``), in the language spoken
    now; the CSV keeps the English title."""
    return Col(_(title), kind, title)


CarSource = Callable[[], tuple[tuple[int, ...], Mapping[int, str]]]


@dataclass(slots=True)
class Behind:
    """What Enter on a row opens: ``kind`` ``cars`` (``cars()`` gives their ids and a note per
    car, worked out when first asked: a group's figures stand on tens of thousands of cars) or
    ``bookings`` (the list :func:`behind_bookings` reads by ``spec``).  Not frozen: a group's
    dashboard makes thousands, and a frozen dataclass costs several times as much to make."""

    title: str
    kind: str = "cars"
    cars: CarSource | None = None
    spec: Mapping[str, Any] = field(default_factory=dict)
    _found: list[tuple[tuple[int, ...], Mapping[int, str]]] = field(
        default_factory=list, compare=False, repr=False
    )

    def _cars(self) -> tuple[tuple[int, ...], Mapping[int, str]]:
        if not self._found:
            self._found.append(self.cars() if self.cars is not None else ((), {}))
        return self._found[0]

    @property
    def ids(self) -> tuple[int, ...]:
        return self._cars()[0]

    @property
    def notes(self) -> Mapping[int, str]:
        return self._cars()[1]


class Row(NamedTuple):
    """One row of a dashboard table (a named tuple: a group's dashboard makes thousands)."""

    values: tuple[Any, ...]
    behind: Behind | None = None
    level: str = ""  # green / yellow / red, or "" (no judgement)
    short: str = ""  # the first value in a word or two (a stage's), where the whole does not fit


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[Col, ...]
    rows: list[Row]
    note: str = ""


@dataclass(frozen=True)
class Dashboard:
    scope: str  # "Vest HQ and 2 branches"
    root_id: int | None
    dealership_ids: tuple[int, ...]
    first: date
    last: date
    tables: list[Table]
    bottleneck: str  # one line, "" when no stay ended in the period
    scope_name: str = ""  # the root's name ("Vest HQ"; "All dealerships"), for file names

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def file_name(self, table: Table) -> str:
        """``stages-porsgrunn-20261029-20261127.csv``: the table, the scope and the period."""
        import re

        name = self.scope_name or self.scope.split(" and ")[0]
        where = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        return f"{table.key}-{where or 'all'}-{self.first:%Y%m%d}-{self.last:%Y%m%d}.csv"


def format_value(kind: str, value: Any) -> str:
    """A cell as the TUI and ``prepfloor report`` show it (numbers as the reader's language
    writes them: ``1,234.5`` / ``1 234,5``)."""
    if value is None:
        return "—"
    if kind == "int":
        return formats.number(int(value), 0)
    if kind in ("hours", "days"):
        return formats.fixed(float(value), 1)
    if kind == "pct":
        return formats.percent(float(value))
    return str(value)


def csv_value(kind: str, value: Any) -> Any:
    """A cell of the CSV: numbers as numbers (hours and days with two decimals, percentages 0-100
    with one), text as text (:func:`db.csvfile.writer` makes it safe for a spreadsheet)."""
    if value is None:
        return ""
    if kind in ("hours", "days"):
        return csvfile.number(value, 2)
    if kind == "pct":
        return csvfile.number(float(value) * 100, 1)
    return value


def write_csv(table: Table, path_or_file: str | os.PathLike[str] | IO[str]) -> int:
    """One dashboard table as CSV (titles, then the values; percentages as numbers 0-100).  Text
    cells are written spreadsheet-safe (:mod:`db.csvfile`).  Machine-readable whatever the
    language: English titles, numbers with a decimal point."""
    columns = [c for c in table.columns if c.kind != "bar"]
    keep = [i for i, c in enumerate(table.columns) if c.kind != "bar"]

    def write(handle: IO[str]) -> int:
        out = csvfile.writer(handle)
        has_level = any(r.level for r in table.rows)
        out.writerow([c.csv_title for c in columns] + (["level"] if has_level else []))
        for row in table.rows:
            cells = [csv_value(table.columns[i].kind, row.values[i]) for i in keep]
            out.writerow(cells + ([row.level] if has_level else []))
        return len(table.rows)

    if isinstance(path_or_file, str | os.PathLike):
        with open(path_or_file, "w", newline="", encoding="utf-8") as handle:
            return write(handle)
    return write(path_or_file)


def level_of(days: float, target: float) -> str:
    if days > target:
        return "red"
    if days >= YELLOW_SHARE * target:
        return "yellow"
    return "green"


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.9: the stay 90 % of the cars did not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _role(role: str) -> str:
    """A person's role in a figure table: ``mechanic`` / ``mekaniker``."""
    return ROLE_LABELS[role].lower() if role in ROLE_LABELS else role


def _span(first: date, last: date) -> str:
    """A period in a title: ``9 Dec-7 Jan`` / ``9. des.-7. jan.``."""
    return _("{first}-{last}").format(first=formats.day_month(first), last=formats.day_month(last))


def _week_col(title: str, week: int) -> Col:
    """A column of one ISO week (``title`` has a ``{week}``, marked with ``N_``)."""
    return Col(_(title).format(week=week), "hours", title.format(week=week))
