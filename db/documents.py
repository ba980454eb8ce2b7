"""Documents attached to a car (improvement 7): invoices, photos, checklists.

The file is kept in the database (``car_documents.content``), so every site and every SSH session
sees it; lists select the other columns only.  A terminal has no file picker.  On a local terminal
(a workshop PC, or OpenSSH with one OS account per person, where the OS's permissions apply) the
user types a path (:func:`read_path` checks it) and saves a copy back to a folder
(:func:`save_copy`).  A session of ``prepfloor serve`` never opens a path the user typed: it picks a
file from the user's own file area (:func:`read_area_file`) and saves copies there
(:func:`save_copy_to_area`); see :mod:`db.file_area`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import Session

from db import events, workflow
from db.access import Actor
from db.clock import utcnow
from db.errors import Invalid, NotFound, WorkflowRefused
from db.file_area import FileArea, human_size
from db.i18n import N_, Labels, _
from db.models import CarDocument
from db.vocab import DOCUMENT_TYPES

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_FILENAME = 255
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".heic", ".webp", ".gif"})
DOCUMENT_TYPE_LABELS = Labels(
    {
        "invoice": N_("Invoice"),
        "photo": N_("Photo"),
        "checklist": N_("Checklist"),
        "other": N_("Other"),
    }
)


def read_path(path: str) -> tuple[str, bytes]:
    """The file named by a typed path: ``(filename, content)``.  Quotes around the path (what a
    terminal's drag and drop adds) and ``~`` are understood."""
    text = (path or "").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if not text:
        raise Invalid(_("Type the path of the file to attach."), "path")
    file = Path(text).expanduser()
    if not file.exists():
        raise Invalid(_("No file at {path}: check the path.").format(path=file), "path")
    if file.is_dir():
        raise Invalid(
            _("{path} is a folder: type the path of a file in it.").format(path=file), "path"
        )
    if not file.is_file():
        raise Invalid(
            _("{path} is not a regular file: type the path of a document.").format(path=file),
            "path",
        )
    limit = MAX_DOCUMENT_BYTES
    try:
        size = file.stat().st_size
        if size > limit:
            raise Invalid(_too_big(file.name, size), "path")
        with file.open("rb") as handle:
            content = handle.read(limit + 1)
    except PermissionError:
        raise Invalid(
            _("prepfloor may not read {path} (permission denied).").format(path=file), "path"
        ) from None
    except OSError as error:
        raise Invalid(
            _("{path} cannot be read: {why}.").format(path=file, why=error.strerror or error),
            "path",
        ) from None
    if len(content) > limit:
        raise Invalid(_too_big(file.name, len(content)), "path")
    if not content:
        raise Invalid(_empty(file.name), "path")
    return file.name, content


def _too_big(name: str, size: int) -> str:
    return _("{name} is {size}; a document can be at most {most}. Attach a smaller copy.").format(
        name=name, size=human_size(size), most=human_size(MAX_DOCUMENT_BYTES)
    )


def _empty(name: str) -> str:
    return _("{name} is empty: there is nothing to attach.").format(name=name)


def file_area(root: Path, login: str, *, quota: int, host: str = "", port: int = 22) -> FileArea:
    """The file area of ``login`` under ``root``: a file in it is at most a document's size."""
    return FileArea(root, login, quota=quota, max_file=MAX_DOCUMENT_BYTES, host=host, port=port)


def read_area_file(area: FileArea, name: str) -> tuple[str, bytes]:
    """A file the user put in their file area, picked by its name: ``(filename, content)``.  Only
    a regular file directly in the area is read, never through a link (:meth:`FileArea.read`)."""
    content = area.read(name)
    if not content:
        raise Invalid(_empty(name), "file")
    return name, content


def guess_type(filename: str) -> str:
    """What a file probably is, from its name: the words in it first, then the kind of file."""
    name = Path(filename or "").name.lower()
    if "invoice" in name or "faktura" in name:
        return "invoice"
    if "checklist" in name:
        return "checklist"
    if Path(name).suffix in PHOTO_SUFFIXES:
        return "photo"
    return "other"


def _clean_filename(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    if name in ("", ".", ".."):
        raise Invalid(_("The document needs a file name."), "filename")
    if len(name) > MAX_FILENAME:
        raise Invalid(
            _("The file name is at most {limit} characters.").format(limit=MAX_FILENAME),
            "filename",
        )
    return name


def attach_document(
    session: Session,
    actor: Actor,
    car_id: int,
    *,
    filename: str,
    content: bytes,
    type: str | None = None,
) -> CarDocument:
    """Keep a file with the car."""
    actor.require("document.attach")
    car = workflow.load_car(session, actor, car_id)
    if car.status == "archived":
        raise WorkflowRefused(_("The car is archived: documents can no longer be attached to it."))
    name = _clean_filename(filename)
    if not content:
        raise Invalid(_empty(name), "path")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise Invalid(_too_big(name, len(content)), "path")
    kind = (type or "").strip().lower() or guess_type(name)
    if kind not in DOCUMENT_TYPES:
        raise Invalid(_("Type is invoice, photo, checklist or other."), "type")
    document = CarDocument(
        car_id=car.id,  # type: ignore[arg-type]
        type=kind,
        filename=name,
        filesize=len(content),
        content=bytes(content),
        uploaded_by_id=actor.user_id,
        uploaded_at=utcnow(),
    )
    session.add(document)
    session.flush()
    events.record(
        session,
        actor,
        "car_documents",
        document.id,
        "attach",
        {"filename": name, "type": kind, "filesize": len(content)},
        car_id=car.id,
    )
    return document


def _write_new(folder: Path, filename: str, content: bytes) -> Path:
    """Write ``content`` to ``folder/filename``, or to "name (2).ext", "name (3).ext"... when the
    name is taken (never over another file)."""
    stem, suffix = Path(filename).stem, Path(filename).suffix
    n = 1
    while True:
        target = folder / (filename if n == 1 else f"{stem} ({n}){suffix}")
        try:
            with target.open("xb") as handle:
                handle.write(content)
        except FileExistsError:
            n += 1
            continue
        return target


def _document(session: Session, actor: Actor, document_id: int) -> CarDocument:
    """The document, when it is on a car the actor sees."""
    missing = NotFound(
        _("Document #{id} does not exist or is not on one of your cars.").format(id=document_id)
    )
    document = session.get(CarDocument, document_id)
    if document is None:
        raise missing
    try:
        workflow.load_car(session, actor, document.car_id)
    except NotFound:
        raise missing from None
    return document


def save_copy(session: Session, actor: Actor, document_id: int, folder: Path) -> Path:
    """Write a copy of the document into ``folder`` (made when missing); a name that is taken
    gets " (2)", " (3)"...  Returns the path written."""
    document = _document(session, actor, document_id)
    folder = Path(str(folder).strip()).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _write_new(folder, _clean_filename(document.filename), document.content or b"")
    except (NotADirectoryError, FileExistsError):
        raise Invalid(
            _("{folder} is a file, not a folder.").format(folder=folder), "folder"
        ) from None
    except PermissionError:
        raise Invalid(
            _("prepfloor may not write to {folder} (permission denied).").format(folder=folder),
            "folder",
        ) from None
    except OSError as error:
        raise Invalid(f"{folder}: {error.strerror or error}.", "folder") from None


def document_file(session: Session, actor: Actor, document_id: int) -> tuple[str, bytes]:
    """The document's file name and bytes, for a browser to download."""
    document = _document(session, actor, document_id)
    return _clean_filename(document.filename), document.content or b""


def save_copy_to_area(session: Session, actor: Actor, document_id: int, area: FileArea) -> str:
    """Keep a copy of the document in the user's file area (a taken name gets " (2)", " (3)"...,
    and the area's quota holds).  Returns the name it got there."""
    document = _document(session, actor, document_id)
    return area.write_new(_clean_filename(document.filename), document.content or b"")
