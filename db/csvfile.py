"""CSV files that prepfloor writes, safe to open in a spreadsheet; and values quoted in messages.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (some also after a tab or a
carriage return) as a formula: a customer name typed as ``=HYPERLINK("http://…","Click")`` becomes
a link, ``=cmd|' /C calc'!A0`` asks to start a program.  Every CSV file prepfloor writes (``prepfloor
export``, the dashboard's tables, the payroll hours) goes through :func:`writer`, which writes such
a *text* cell with a single quote in front (OWASP, "CSV injection"): the spreadsheet shows it as
text.  Numbers stay numbers (a negative number of hours is ``-1.50``, not text), and a cell is
cleaned of control characters (:func:`db.text.clean`; a line break or tab inside a cell stays).

Reading a file (``prepfloor import``): :func:`read_text` opens only a regular file (never a pipe,
a device or a folder, and without blocking on a FIFO), reads at most :data:`MAX_FILE_BYTES` and
says so; :func:`records` turns a row that cannot be read (a cell over :data:`MAX_CELL_CHARS`
characters) into a reason for that row; :func:`unquote` takes the quote above off again, so an
exported file imports as it was exported.

Values quoted in messages go through :func:`db.text.shown`: one clean line, cut.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from db import formats
from db.errors import Invalid
from db.i18n import N_, _
from db.text import clean as clean_text
from db.text import shown

# What makes a spreadsheet read a cell as a formula (or hide what follows).
FORMULA_STARTS: frozenset[str] = frozenset("=+-@\t\r")
QUOTE = "'"
MAX_FILE_BYTES = 50 * 1024 * 1024  # an import reads at most this much (about 300,000 cars)
MAX_CELL_CHARS = csv.field_size_limit()  # 131,072: Python's csv module reads no longer cell


class Number(str):
    """A number already written as text (``"-1.50"``, two decimals): a numeric cell, never quoted."""


def number(value: float | int | Decimal, places: int = 2) -> Number:
    """``value`` with ``places`` decimals, as a numeric cell."""
    return Number(f"{float(value):.{places}f}")


def _needs_quote(text: str) -> bool:
    first = text[:1]
    # A text that starts with the quote and then a formula character gets a quote too, so that
    # :func:`unquote` gives back exactly what was stored.
    return first in FORMULA_STARTS or (first == QUOTE and text[1:2] in FORMULA_STARTS)


def text_cell(value: str) -> str:
    """A text cell: cleaned, and quoted when a spreadsheet would run it as a formula."""
    value = clean_text(value)
    return QUOTE + value if _needs_quote(value) else value


def cell(value: Any) -> Any:
    """One cell: ``None`` empty; numbers (``int``, ``float``, ``Decimal``, :class:`Number`) as they
    are; anything else is text (:func:`text_cell`)."""
    if value is None:
        return ""
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, bool):
        return text_cell(str(value))
    if isinstance(value, int | float | Decimal):
        return value
    return text_cell(value if isinstance(value, str) else str(value))


def unquote(text: str) -> str:
    """A cell read from a file: the quote :func:`text_cell` put before a formula character taken
    off (``'=SUM(A1)`` → ``=SUM(A1)``, ``'+47 912 34 567`` → ``+47 912 34 567``)."""
    if text[:1] == QUOTE and _needs_quote(text[1:]):
        return text[1:]
    return text


class Writer:
    """``csv.writer`` whose every row goes through :func:`cell`."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._out = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._out.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: IO[str], **options: Any) -> Writer:
    """A CSV writer for ``handle`` (options as :func:`csv.writer`'s) that writes spreadsheet-safe
    cells: the one way prepfloor writes CSV."""
    return Writer(handle, **options)


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
def _megabytes(size: int) -> str:
    return _("{size} MB").format(size=formats.fixed(size / 1024 / 1024, 1))


def _too_big(name: str, size: int, *, over: bool = False) -> Invalid:
    if over:  # it grew while it was read: only that it is over the limit is known
        said = _(
            "{name} is over {size}; prepfloor reads at most {limit} in one import. Split it into "
            "smaller files, each with the header row, and import them one by one."
        )
    else:
        said = _(
            "{name} is {size}; prepfloor reads at most {limit} in one import. Split it into "
            "smaller files, each with the header row, and import them one by one."
        )
    return Invalid(
        said.format(name=name, size=_megabytes(size), limit=_megabytes(MAX_FILE_BYTES)), "path"
    )


_NOT_A_FILE = {
    "folder": N_(
        "{name} is a folder, not a file: save the rows as a CSV file and import that file."
    ),
    "pipe": N_("{name} is a pipe, not a file: save the rows as a CSV file and import that file."),
    "device": N_(
        "{name} is a device, not a file: save the rows as a CSV file and import that file."
    ),
    "socket": N_(
        "{name} is a socket, not a file: save the rows as a CSV file and import that file."
    ),
    "other": N_(
        "{name} is not a regular file, not a file: save the rows as a CSV file and import that "
        "file."
    ),
}


def _not_a_file(name: str, mode: int) -> Invalid:
    if stat.S_ISDIR(mode):
        kind = "folder"
    elif stat.S_ISFIFO(mode):
        kind = "pipe"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "device"
    elif stat.S_ISSOCK(mode):
        kind = "socket"
    else:
        kind = "other"
    return Invalid(_(_NOT_A_FILE[kind]).format(name=name), "path")


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them (raises Invalid).

    A pipe, a device, a socket or a folder is refused before anything is read: the file is opened
    with ``O_NONBLOCK`` (so that opening a FIFO does not wait for a writer) and checked with
    ``fstat``.  A file over ``limit`` bytes is refused, also one that grows while it is read."""
    name = shown(path.name or path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        before = os.stat(path)  # refuse a device before even opening it
        if not stat.S_ISREG(before.st_mode):
            raise _not_a_file(name, before.st_mode)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Invalid(_("There is no file {path}.").format(path=shown(path)), "path") from None
    except PermissionError:
        raise Invalid(
            _("prepfloor may not read {path} (permission denied).").format(path=shown(path)),
            "path",
        ) from None
    except OSError as error:
        raise Invalid(
            _("Cannot open {path}: {error}.").format(path=shown(path), error=error.strerror),
            "path",
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between the two looks
            raise _not_a_file(name, info.st_mode)
        if info.st_size > limit:
            raise _too_big(name, info.st_size)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise _too_big(name, limit, over=True)
        return b"".join(chunks)
    except OSError as error:
        raise Invalid(
            _("Cannot read {name}: {error}.").format(name=name, error=error.strerror), "path"
        ) from None
    finally:
        os.close(fd)


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The file as text: UTF-8 (with or without a BOM), else Windows-1252 (Excel's "CSV").  A
    spreadsheet workbook (``.xlsx``, ``.ods``, ``.xls``) is refused with what to do instead."""
    data = read_bytes(path, limit)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise Invalid(
            _(
                "{name} is a spreadsheet workbook, not a CSV file: open it and save it as CSV "
                "(comma or semicolon separated), then import that file."
            ).format(name=shown(path.name)),
            "path",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def delimiter(header_line: str) -> str:
    """Comma, semicolon (Excel in Norway) or tab: whichever the header uses most."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def records(text: str) -> Iterator[tuple[list[str] | None, str | None]]:
    """The records of CSV ``text`` (the delimiter from its first line), each as ``(cells, None)``,
    or ``(None, reason)`` for one that cannot be read (a cell longer than
    :data:`MAX_CELL_CHARS`): that record is skipped and the next one is read."""
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(first_line))
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field limit" in str(error):
                yield (
                    None,
                    _(
                        "A value in this row is longer than {limit} characters; no field takes "
                        "that much."
                    ).format(limit=formats.number(MAX_CELL_CHARS, 0)),
                )
            else:
                yield (
                    None,
                    _("This row cannot be read as CSV ({error}).").format(error=shown(error)),
                )
            continue
        yield cells, None


__all__ = [
    "FORMULA_STARTS",
    "MAX_CELL_CHARS",
    "MAX_FILE_BYTES",
    "Number",
    "Writer",
    "cell",
    "delimiter",
    "number",
    "read_bytes",
    "read_text",
    "records",
    "text_cell",
    "unquote",
    "writer",
]
