"""A served user's own file area on the server: where ``prepfloor serve`` users hand files over
(by SFTP) and take copies and exports away.

A user served by ``prepfloor serve`` has no account on the server, so no path on it is theirs: they
get one folder, ``<files>/<login>/`` (``<files>`` is ``files`` in the service's data folder unless
``[serve] files`` says otherwise), created 0700 by the service user.  The area is flat (files, no
folders), and everything in it is done relative to the area's open folder with ``O_NOFOLLOW``:

* a name is one path component: no ``/``, not ``.`` or ``..``, no control characters, at most 255
  bytes, so no name reaches outside the area;
* a symbolic link is never followed, and a file is read only when it is a regular file with one
  link (a hard link to the database, made by someone on the server, is not opened);
* a file is at most ``max_file`` bytes (the document limit), the area at most ``quota`` bytes and
  :data:`MAX_FILES` files.

The SFTP server (:mod:`prepfloor.serve_files`) and the served app both use it; a local terminal
has no area (the user's own paths and the OS's permissions apply there).  Light on purpose (no
SQLAlchemy): the served app builds one before its first frame.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from db import formats
from db.errors import Invalid
from db.i18n import _, ngettext
from db.text import one_line

MAX_FILES = 1000  # files in one area
MAX_NAME_BYTES = 255
OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
OPEN_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
FILE_MODE = 0o600
AREA_MODE = 0o700


def human_size(size: int) -> str:
    """'512 B', '12 KB', '3.4 MB' (the decimal mark of the language spoken: '3,4 MB')."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{formats.fixed(size / (1024 * 1024), 1)} MB"


@dataclass(frozen=True)
class AreaFile:
    name: str
    size: int
    modified: datetime  # UTC

    @property
    def id(self) -> str:  # a list keeps its cursor on the same file across refreshes
        return self.name


def check_name(name: str) -> str:
    """``name`` when it can name a file in an area (one path component, printable); else
    :class:`Invalid` saying why."""
    if not name or name in (".", ".."):
        raise Invalid(_("A file needs a name."), "file")
    if "/" in name or "\\" in name or "\0" in name:
        raise Invalid(
            _(
                "{name} is a path: your prepfloor files have no folders, so give just the "
                "file's name."
            ).format(name=repr(one_line(name))),
            "file",
        )
    if one_line(name) != name or name != name.strip():
        raise Invalid(
            _(
                "{name}: a file name cannot hold control characters or begin or end with a space."
            ).format(name=repr(one_line(name).strip())),
            "file",
        )
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise Invalid(
            _("A file name is at most {limit} bytes.").format(limit=MAX_NAME_BYTES), "file"
        )
    return name


def sftp_quote(name: str) -> str:
    """``name`` as sftp's command line reads it back (quoted when it holds spaces or quotes)."""
    if name and all(c.isalnum() or c in "._-+,=@%" for c in name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class FileArea:
    """One user's file area.  Nothing touches the disk until a method is called."""

    root: Path  # the folder of every user's area
    login: str
    quota: int  # bytes
    max_file: int  # bytes
    host: str = ""  # how staff reach the server, for the commands prepfloor shows
    port: int = 22

    # -- what the user is told -------------------------------------------------------------------
    @property
    def sftp_command(self) -> str:
        """``sftp -P 2222 kari@shopserver``: how the user opens their files from their computer."""
        port = f"-P {self.port} " if self.port != 22 else ""
        return f"sftp {port}{self.login}@{self.host or 'the-server'}"

    def how_to_put(self, example: str = "invoice.pdf") -> str:
        port = f"-P {self.port} " if self.port != 22 else ""
        scp = f"scp {port}{example} {self.login}@{self.host or 'the-server'}:"
        return _("From your computer: {sftp}, then put {example} (or in one go: {scp}).").format(
            sftp=self.sftp_command, example=example, scp=scp
        )

    def how_to_fetch(self, name: str) -> str:
        return _("To fetch it: {sftp}, then get {name}").format(
            sftp=self.sftp_command, name=sftp_quote(name)
        )

    def _full(self, used: int, adding: int) -> Invalid:
        return Invalid(
            _(
                "Your prepfloor files are full ({used} of {quota}; this needs {adding} more). "
                "Remove files you no longer need: {sftp}, then rm NAME."
            ).format(
                used=human_size(used),
                quota=human_size(self.quota),
                adding=human_size(adding),
                sftp=self.sftp_command,
            ),
            "file",
        )

    def too_big(self, name: str, size: int) -> Invalid:
        return Invalid(
            _("{name} is {size}; a file can be at most {most}.").format(
                name=one_line(name), size=human_size(size), most=human_size(self.max_file)
            ),
            "file",
        )

    # -- the folder ------------------------------------------------------------------------------
    def open_dir(self) -> int:
        """The area's folder, opened (the caller closes it); made 0700 on first use.  Its last
        component is never a symbolic link, and it must belong to the service user."""
        name = self.login
        if not name or name in (".", "..") or "/" in name or "\0" in name:
            raise Invalid(
                _("prepfloor keeps no files for the login {login}.").format(
                    login=repr(one_line(name))
                ),
                "file",
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=AREA_MODE)
            root = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            raise Invalid(
                _("The server's file folder cannot be opened: {why}. Tell an admin.").format(
                    why=error.strerror or error
                ),
                "file",
            ) from None
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, AREA_MODE, dir_fd=root)
            fd = os.open(name, OPEN_DIR, dir_fd=root)
        except OSError as error:
            raise Invalid(
                _("Your prepfloor files cannot be opened ({why}). Tell an admin.").format(
                    why=error.strerror or error
                ),
                "file",
            ) from None
        finally:
            os.close(root)
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            os.close(fd)
            raise Invalid(
                _("Your prepfloor files belong to another account on the server. Tell an admin."),
                "file",
            )
        if stat.S_IMODE(info.st_mode) != AREA_MODE:
            os.fchmod(fd, AREA_MODE)
        return fd

    @contextlib.contextmanager
    def opened(self) -> Iterator[int]:
        fd = self.open_dir()
        try:
            yield fd
        finally:
            os.close(fd)

    # -- reading ---------------------------------------------------------------------------------
    @staticmethod
    def scan(fd: int) -> list[AreaFile]:
        """The files in the area that can be opened (regular, one link, a name that can be
        shown), newest first."""
        found = []
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                    check_name(entry.name)
                except (OSError, Invalid):
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                    when = datetime.fromtimestamp(info.st_mtime, UTC)
                    found.append(AreaFile(entry.name, info.st_size, when))
        found.sort(key=lambda f: (f.modified, f.name), reverse=True)
        return found

    @staticmethod
    def usage(fd: int) -> tuple[int, int]:
        """``(bytes, entries)`` the area holds now."""
        used = count = 0
        with os.scandir(fd) as entries:
            for entry in entries:
                count += 1
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode):
                        used += info.st_size
        return used, count

    def files(self) -> list[AreaFile]:
        """What is in the area, newest first."""
        with self.opened() as fd:
            return self.scan(fd)

    def open_file(self, fd: int, name: str) -> int:
        """``name`` opened for reading: a regular file with one link, never through a symbolic
        link.  The caller closes it."""
        check_name(name)
        shown = one_line(name)
        try:
            file = os.open(name, OPEN_READ, dir_fd=fd)
        except FileNotFoundError:
            raise Invalid(
                _("{name} is not in your prepfloor files (any more).").format(name=shown), "file"
            ) from None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.EMLINK):
                raise Invalid(
                    _("{name} is a link: prepfloor opens only files.").format(name=shown), "file"
                ) from None
            raise Invalid(
                _("{name} cannot be read: {why}.").format(name=shown, why=error.strerror or error),
                "file",
            ) from None
        info = os.fstat(file)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(file)
            raise Invalid(
                _("{name} is not a plain file: prepfloor does not open it.").format(name=shown),
                "file",
            )
        os.set_blocking(file, True)
        return file

    def read(self, name: str) -> bytes:
        """The content of ``name`` (at most ``max_file`` bytes, else :class:`Invalid`)."""
        with self.opened() as fd:
            file = self.open_file(fd, name)
            try:
                size = os.fstat(file).st_size
                if size > self.max_file:
                    raise self.too_big(name, size)
                chunks = []
                left = self.max_file + 1
                while left > 0:
                    chunk = os.read(file, min(left, 1 << 20))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    left -= len(chunk)
            finally:
                os.close(file)
        content = b"".join(chunks)
        if len(content) > self.max_file:
            raise self.too_big(name, len(content))
        return content

    # -- writing ---------------------------------------------------------------------------------
    def check_room(self, fd: int, adding: int, *, new_file: bool) -> None:
        """:class:`Invalid` when ``adding`` more bytes (and a new file) do not fit the quota."""
        used, count = self.usage(fd)
        if new_file and count >= MAX_FILES:
            raise Invalid(
                _(
                    "Your prepfloor files hold {count} files, the most they can. Remove files "
                    "you no longer need: {sftp}, then rm NAME."
                ).format(count=MAX_FILES, sftp=self.sftp_command),
                "file",
            )
        if used + adding > self.quota:
            raise self._full(used, adding)

    def write_new(self, name: str, content: bytes) -> str:
        """Keep ``content`` as ``name`` in the area, or as "name (2).ext", "name (3).ext"... when
        the name is taken (never over another file).  Returns the name it got."""
        check_name(name)
        if len(content) > self.max_file:
            raise self.too_big(name, len(content))
        stem, suffix = os.path.splitext(name)
        if not stem:  # ".csv"
            stem, suffix = name, ""
        with self.opened() as fd:
            self.check_room(fd, len(content), new_file=True)
            for n in range(1, MAX_FILES + 2):
                target = name if n == 1 else f"{stem} ({n}){suffix}"
                try:
                    check_name(target)
                    file = os.open(target, OPEN_NEW, FILE_MODE, dir_fd=fd)
                except FileExistsError:
                    continue
                except OSError as error:
                    raise Invalid(
                        _("{name} cannot be kept in your prepfloor files: {why}.").format(
                            name=one_line(name), why=error.strerror or error
                        ),
                        "file",
                    ) from None
                try:
                    view = memoryview(content)
                    while view:
                        view = view[os.write(file, view) :]
                except OSError as error:
                    os.close(file)
                    with contextlib.suppress(OSError):
                        os.unlink(target, dir_fd=fd)
                    raise Invalid(
                        _("{name} could not be written: {why}.").format(
                            name=one_line(name), why=error.strerror or error
                        ),
                        "file",
                    ) from None
                os.close(file)
                return target
        raise Invalid(
            _("Too many copies of {name} in your prepfloor files.").format(name=one_line(name)),
            "file",
        )

    def keep_export(self, name: str, write: Callable[[IO[str]], int]) -> str:
        """An export (CSV text that ``write`` writes, returning its line count) kept in the area as
        ``name`` (or "name (2)"...); returns what to tell the user: where it is, how to fetch it."""
        buffer = io.StringIO(newline="")
        count = write(buffer)
        kept = self.write_new(name, buffer.getvalue().encode("utf-8"))
        written = ngettext(
            "{count} line written to {name} in your prepfloor files.",
            "{count} lines written to {name} in your prepfloor files.",
            count,
        ).format(count=count, name=kept)
        return f"{written} {self.how_to_fetch(kept)}"
