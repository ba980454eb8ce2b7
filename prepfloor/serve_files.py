"""SFTP in ``prepfloor serve``: each user's own file area, and nothing else.

A served user has no account on the server.  To hand a file over (an invoice to attach) or take
one away (a saved copy, a CSV export) they use SFTP, signed in by the same key as their sessions:
``sftp -P 2222 kari@shopserver`` (``put``, ``get``, ``ls``, ``rm``, ``rename``), or OpenSSH's
``scp``, which speaks SFTP.  What they see as ``/`` is their file area (:mod:`db.file_area`):

* every path resolves inside the area (``..`` stops at its top); a path that names anything but
  a file directly in it is refused, and so are folders, symbolic and hard links;
* nothing is opened through a symbolic link, and only regular files with one link are opened;
  a file is at most the document limit, the area at most ``[serve] files_quota``;
* every SFTP start, upload, download, removal and refusal is logged, with login and address.

A shared workshop terminal account gets no SFTP (its people are not known to the server until
they sign in to the app), and the user must still be active when the SFTP session starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncssh
from asyncssh.constants import FXF_APPEND, FXF_CREAT, FXF_EXCL, FXF_READ, FXF_TRUNC, FXF_WRITE

from db.errors import Invalid
from db.file_area import AREA_MODE, FILE_MODE, FileArea, check_name, human_size
from db.i18n import N_, _

if TYPE_CHECKING:
    from prepfloor.serve_config import ServeSettings

log = logging.getLogger("prepfloor.serve")

MAX_HANDLES = 16  # files one SFTP session may hold open at once
NO_FOLDERS = N_("Only your prepfloor files are here: no folders, and nothing outside them.")
NOTHING_KEPT = N_("Nothing was kept.")
OPEN_WRITE = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass
class Handle:
    """An open file of an SFTP session."""

    fd: int
    name: str
    writable: bool
    append: bool = False
    size: int = 0  # where the file ends, as this session wrote it
    created: bool = False
    written: int = 0
    read: int = 0
    refused: str = ""  # why the upload was stopped: the partial file is removed on close

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:  # asyncssh's ranges request
        return os.lseek(self.fd, offset, whence)


class FilesService:
    """What the SFTP sessions of one server share: the settings, and how full each area being
    written is (so that two uploads at once by one user keep the quota between them)."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.used: dict[str, int] = {}

    def area(self, login: str) -> FileArea:
        return self.settings.file_area(login)


class AreaSFTP(asyncssh.SFTPServer):
    """One SFTP session, confined to one user's file area (held open as a folder fd)."""

    def __init__(
        self, chan: Any, service: FilesService, area: FileArea, folder: int, address: str
    ) -> None:
        super().__init__(chan)
        self.service = service
        self.area = area
        self.folder = folder
        self.login = area.login
        self.address = address
        self.handles: set[int] = set()  # fds of the open Handles

    # -- saying and logging ------------------------------------------------------------------------
    def _log(self, what: str) -> None:
        log.info("sftp: %s from %s %s", self.login, self.address, what)

    def _refused(self, what: str, tell: str = "") -> None:
        """Log ``what`` was refused (in English); tell the user ``tell`` (in their language)."""
        log.warning("refused sftp %s for %s from %s", what, self.login, self.address)
        if tell:  # OpenSSH's sftp shows only a status code: say it on the session's stderr too
            with contextlib.suppress(Exception):
                self.channel.write_stderr(f"prepfloor: {tell}\n".encode())

    # -- paths -------------------------------------------------------------------------------------
    def _parts(self, path: bytes) -> list[str]:
        """The path's components inside the area: ``..`` stops at the top, as in a chroot."""
        try:
            text = path.decode("utf-8")
        except UnicodeDecodeError:
            self._refused(f"path {path!r} (not UTF-8)")
            raise asyncssh.SFTPNoSuchFile(_("File names are UTF-8.")) from None
        parts: list[str] = []
        for part in text.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return parts

    def _name(self, path: bytes) -> str:
        """The name of a file directly in the area that ``path`` means; else refused."""
        parts = self._parts(path)
        if not parts:
            raise asyncssh.SFTPFileIsADirectory(_("That is the folder of your prepfloor files."))
        if len(parts) > 1:
            self._refused(f"path {path.decode('utf-8', 'replace')!r} (outside the file area)")
            raise asyncssh.SFTPPermissionDenied(_(NO_FOLDERS))
        try:
            return check_name(parts[0])
        except Invalid as refusal:
            self._refused(f"name {parts[0]!r}", str(refusal))
            raise asyncssh.SFTPPermissionDenied(str(refusal)) from None

    def _lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=self.folder, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _file(self, name: str) -> os.stat_result:
        """``name`` is a regular file in the area (a link or anything else is refused)."""
        info = self._lstat(name)
        if info is None:
            raise asyncssh.SFTPNoSuchFile(
                _("{name} is not in your prepfloor files.").format(name=name)
            )
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            self._refused(f"{name!r} (not a plain file)")
            raise asyncssh.SFTPPermissionDenied(_("{name} is not a plain file.").format(name=name))
        return info

    @staticmethod
    def _attrs(info: os.stat_result, folder: bool = False) -> asyncssh.SFTPAttrs:
        kind = stat.S_IFDIR | AREA_MODE if folder else stat.S_IFREG | FILE_MODE
        return asyncssh.SFTPAttrs(
            size=info.st_size,
            permissions=kind,
            atime=int(info.st_atime),
            mtime=int(info.st_mtime),
            nlink=1,
        )

    def format_user(self, uid: int | None) -> str:
        return self.login

    def format_group(self, gid: int | None) -> str:
        return self.login

    # -- looking -----------------------------------------------------------------------------------
    def realpath(self, path: bytes) -> bytes:
        return ("/" + "/".join(self._parts(path))).encode()

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        if not self._parts(path):
            return self._attrs(os.fstat(self.folder), folder=True)
        return self._attrs(self._file(self._name(path)))

    lstat = stat

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        assert isinstance(file_obj, Handle)
        return self._attrs(os.fstat(file_obj.fd))

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        if self._parts(path):
            self._refused(f"listing {path.decode('utf-8', 'replace')!r} (no folders)")
            raise asyncssh.SFTPNoSuchFile(_(NO_FOLDERS))
        here = self._attrs(os.fstat(self.folder), folder=True)
        yield asyncssh.SFTPName(b".", attrs=here)
        yield asyncssh.SFTPName(b"..", attrs=here)
        for file in FileArea.scan(self.folder):
            info = self._lstat(file.name)
            if info is not None and stat.S_ISREG(info.st_mode):
                yield asyncssh.SFTPName(file.name.encode(), attrs=self._attrs(info))

    def readlink(self, path: bytes) -> bytes:
        self._name(path)
        raise asyncssh.SFTPNoSuchFile(_("There are no links in your prepfloor files."))

    # -- opening, reading, writing -----------------------------------------------------------------
    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Handle:
        name = self._name(path)
        if len(self.handles) >= MAX_HANDLES:
            raise asyncssh.SFTPFailure(
                _("At most {count} files open at once.").format(count=MAX_HANDLES)
            )
        if not pflags & (FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC):
            return self._open_read(name)
        return self._open_write(name, pflags)

    def open56(self, *args: Any) -> Handle:
        raise asyncssh.SFTPOpUnsupported(_("SFTP version 3 only"))

    def _open_read(self, name: str) -> Handle:
        try:
            fd = self.area.open_file(self.folder, name)
        except Invalid as refusal:
            if self._lstat(name) is None:
                raise asyncssh.SFTPNoSuchFile(str(refusal)) from None
            self._refused(f"reading {name!r}", str(refusal))
            raise asyncssh.SFTPPermissionDenied(str(refusal)) from None
        self.handles.add(fd)
        return Handle(fd, name, writable=False)

    def _open_write(self, name: str, pflags: int) -> Handle:
        before = self._lstat(name)
        if before is not None:
            if pflags & FXF_EXCL and pflags & FXF_CREAT:
                raise asyncssh.SFTPFileAlreadyExists(
                    _("{name} is already there.").format(name=name)
                )
            self._file(name)
        elif not pflags & FXF_CREAT:
            raise asyncssh.SFTPNoSuchFile(
                _("{name} is not in your prepfloor files.").format(name=name)
            )
        else:
            try:
                self.area.check_room(self.folder, 0, new_file=True)
            except Invalid as refusal:
                self._refused(f"upload {name!r} (the file area is full)", str(refusal))
                raise asyncssh.SFTPQuotaExceeded(str(refusal)) from None
        flags = OPEN_WRITE | (os.O_RDWR if pflags & FXF_READ else os.O_WRONLY)
        if before is None:
            flags |= os.O_CREAT | os.O_EXCL  # made here, now: never through a link
        try:
            fd = os.open(name, flags, FILE_MODE, dir_fd=self.folder)
        except FileExistsError:
            raise asyncssh.SFTPFailure(
                _("{name} was made meanwhile: try again.").format(name=name)
            ) from None
        except OSError as error:
            self._refused(f"writing {name!r} ({error.strerror})")
            raise asyncssh.SFTPPermissionDenied(
                _("{name} cannot be written.").format(name=name)
            ) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            self._refused(f"writing {name!r} (not a plain file)")
            raise asyncssh.SFTPPermissionDenied(_("{name} is not a plain file.").format(name=name))
        os.set_blocking(fd, True)
        if pflags & FXF_TRUNC and info.st_size:
            os.ftruncate(fd, 0)  # only once it is known to be a plain file of the area's
        self.handles.add(fd)
        handle = Handle(fd, name, writable=True, append=bool(pflags & FXF_APPEND))
        handle.size = os.fstat(fd).st_size
        handle.created = before is None
        self.service.used[self.login] = FileArea.usage(self.folder)[0]
        return handle

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        assert isinstance(file_obj, Handle)
        data = os.pread(file_obj.fd, size, offset)
        file_obj.read += len(data)
        return data

    def _grow(self, handle: Handle, end: int) -> None:
        """Room for ``handle``'s file to end at ``end``; else the upload is stopped."""
        if end > self.area.max_file:
            limit = human_size(self.area.max_file)
            refusal = Invalid(
                _("{name} is larger than {limit}, the most a file can be.").format(
                    name=handle.name, limit=limit
                )
            )
            self._stop(handle, refusal, "over the size limit")
        growth = max(0, end - handle.size)
        used = self.service.used.get(self.login, 0)
        if used + growth > self.area.quota:
            refusal = Invalid(
                _(
                    "{name} does not fit: your prepfloor files would hold more than {quota}. "
                    "Remove files you no longer need ({command}, then rm NAME). Nothing was kept."
                ).format(
                    name=handle.name,
                    quota=human_size(self.area.quota),
                    command=self.area.sftp_command,
                )
            )
            self._stop(handle, refusal, "the file area is full")
        self.service.used[self.login] = used + growth

    def _stop(self, handle: Handle, refusal: Invalid, why: str) -> None:
        message = str(refusal)
        if handle.created and _(NOTHING_KEPT) not in message:
            message += " " + _(NOTHING_KEPT)
        if not handle.refused:
            handle.refused = message
            self._refused(f"upload {handle.name!r} ({why})", message)
        raise asyncssh.SFTPQuotaExceeded(message)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        assert isinstance(file_obj, Handle)
        if not file_obj.writable:
            raise asyncssh.SFTPPermissionDenied(_("The file was opened for reading."))
        if file_obj.refused:
            raise asyncssh.SFTPQuotaExceeded(file_obj.refused)
        if file_obj.append:
            offset = file_obj.size
        end = offset + len(data)
        self._grow(file_obj, end)
        view = memoryview(data)
        at = offset
        while view:
            written = os.pwrite(file_obj.fd, view, at)
            view, at = view[written:], at + written
        file_obj.size = max(file_obj.size, end)
        file_obj.written += len(data)
        return len(data)

    def close(self, file_obj: object) -> None:
        assert isinstance(file_obj, Handle)
        if file_obj.fd not in self.handles:
            return
        self.handles.discard(file_obj.fd)
        inode = os.fstat(file_obj.fd).st_ino
        os.close(file_obj.fd)
        name = file_obj.name
        if file_obj.refused:
            now = self._lstat(name)
            if now is not None and now.st_ino == inode:
                os.unlink(name, dir_fd=self.folder)
                self._log(f"removed the unfinished upload {name!r}")
        elif file_obj.writable and (file_obj.created or file_obj.written):
            self._log(f"put {name!r} ({human_size(file_obj.size)})")
        elif file_obj.read:
            self._log(f"got {name!r} ({human_size(file_obj.read)})")

    def fsync(self, file_obj: object) -> None:
        assert isinstance(file_obj, Handle)
        os.fsync(file_obj.fd)

    # -- changing attributes: sizes through an open file, times; never modes or owners -------------
    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        assert isinstance(file_obj, Handle)
        if attrs.size is not None:
            if not file_obj.writable:
                raise asyncssh.SFTPPermissionDenied(_("The file was opened for reading."))
            self._grow(file_obj, attrs.size)
            os.ftruncate(file_obj.fd, attrs.size)
            file_obj.size = attrs.size
        if attrs.atime is not None and attrs.mtime is not None:
            os.utime(file_obj.fd, (attrs.atime, attrs.mtime))

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        if not self._parts(path):
            return None
        name = self._name(path)
        self._file(name)
        if attrs.size is not None:
            raise asyncssh.SFTPOpUnsupported(_("Change a file's size through an open file."))
        if attrs.atime is not None and attrs.mtime is not None:
            os.utime(name, (attrs.atime, attrs.mtime), dir_fd=self.folder, follow_symlinks=False)
        return None

    lsetstat = setstat

    # -- removing and renaming ---------------------------------------------------------------------
    def remove(self, path: bytes) -> None:
        name = self._name(path)
        self._file(name)
        os.unlink(name, dir_fd=self.folder)
        self._log(f"removed {name!r}")

    def _rename(self, oldpath: bytes, newpath: bytes, replace: bool) -> None:
        old, new = self._name(oldpath), self._name(newpath)
        self._file(old)
        there = self._lstat(new)
        if there is not None:
            if not replace:
                raise asyncssh.SFTPFileAlreadyExists(_("{name} is already there.").format(name=new))
            self._file(new)
        os.rename(old, new, src_dir_fd=self.folder, dst_dir_fd=self.folder)
        self._log(f"renamed {old!r} to {new!r}")

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._rename(oldpath, newpath, replace=False)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        self._rename(oldpath, newpath, replace=True)

    # -- what is not offered -----------------------------------------------------------------------
    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._refused(f"mkdir {path.decode('utf-8', 'replace')!r}", _(NO_FOLDERS))
        raise asyncssh.SFTPPermissionDenied(_(NO_FOLDERS))

    def rmdir(self, path: bytes) -> None:
        self._refused(f"rmdir {path.decode('utf-8', 'replace')!r}")
        raise asyncssh.SFTPPermissionDenied(_(NO_FOLDERS))

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        self._refused(f"symlink {newpath.decode('utf-8', 'replace')!r}", _("Links are not kept."))
        raise asyncssh.SFTPPermissionDenied(_("Links are not kept in your prepfloor files."))

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        self._refused(f"hard link {newpath.decode('utf-8', 'replace')!r}", _("Links are not kept."))
        raise asyncssh.SFTPPermissionDenied(_("Links are not kept in your prepfloor files."))

    def statvfs(self, path: bytes) -> Any:
        raise asyncssh.SFTPOpUnsupported(_("Not offered."))

    def fstatvfs(self, file_obj: object) -> Any:
        raise asyncssh.SFTPOpUnsupported(_("Not offered."))

    def exit(self) -> None:
        """The client ended the session: close everything, and report success (OpenSSH's scp
        counts a session that ends without an exit status as failed)."""
        for fd in self.handles:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.handles.clear()
        if self.folder >= 0:
            os.close(self.folder)
            self.folder = -1
        with contextlib.suppress(Exception):
            self.channel.exit(0)
        self._log("closed their files")


def sftp_factory(
    service: FilesService,
    login: str,
    address: str,
    still_allowed: Callable[[], Awaitable[tuple[str, str]]],
) -> Callable[[Any], Awaitable[AreaSFTP]]:
    """What asyncssh calls with the channel when the client starts the sftp subsystem: the
    user's area, once ``still_allowed()`` says nothing against it (it returns why not: as the
    server's log says it, and as the user is told)."""

    async def start(chan: Any) -> AreaSFTP:
        why_not, told = await still_allowed()
        area = service.area(login)
        folder = -1
        if not why_not:
            try:
                folder = area.open_dir()
            except Invalid as refusal:
                why_not = told = str(refusal)
        if why_not:
            log.warning("refused sftp for %s from %s: %s", login, address, why_not)
            raise asyncssh.PermissionDenied(f"prepfloor: {told}")
        used, _files = FileArea.usage(folder)
        service.used[login] = used
        log.info(
            "sftp: %s from %s opened their files (%s of %s)",
            login,
            address,
            human_size(used),
            human_size(area.quota),
        )
        return AreaSFTP(chan, service, area, folder, address)

    return start


def sftp_session(factory: Callable[[Any], Awaitable[AreaSFTP]]) -> Any:
    """A session channel that runs the SFTP protocol with ``factory``'s server (asyncssh's own
    stream session, as its ``sftp_factory`` option makes; SFTP version 3, as OpenSSH speaks)."""
    from asyncssh.stream import SSHServerStreamSession

    return SSHServerStreamSession(None, factory, 3, False)
