"""The users' own files in ``prepfloor serve``: SFTP confined to a user's file area, and a served
session that reads and writes files only there.

* the area itself (:mod:`db.file_area`): made 0700, one name per file, no link followed, limits;
* a real ``prepfloor serve`` with asyncssh and OpenSSH (``sftp``, ``scp``) clients: a put lands in
  the area, nothing reaches outside it, a file over the limit and a full area are refused and
  said, a shared terminal account and a deactivated user get no SFTP, everything is logged;
* a :class:`ServedApp` driven by keys: attaching lists the area (no path is typed), a file outside
  it cannot be attached by any input, copies and exports are kept there and say how to fetch them.

Nothing here asserts on wall-clock time.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from sqlmodel import select
from test_app import SIZE, settle
from test_serve import Server, make_key

from db import documents, queries, users
from db.engine import Database
from db.errors import Invalid
from db.file_area import FileArea, check_name, sftp_quote
from db.models import CarDocument
from prepfloor.config import Settings
from prepfloor.serve_config import ServeSettings
from screens.car_detail import CarDetailScreen
from screens.car_records import DocumentsDialog
from screens.forms import FormDialog
from screens.user_files import PickFileDialog

MB = 1024 * 1024
LOGIN_OPTIONS = [
    "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
    "-o", "IdentityAgent=none",
]  # fmt: skip


def area_at(root: Path, login: str = "kari", quota: int = 10 * MB) -> FileArea:
    return documents.file_area(root, login, quota=quota, host="shopserver", port=2222)


# ------------------------------------------------------------------------------------------------
# the area
# ------------------------------------------------------------------------------------------------
def test_an_area_is_made_private_and_keeps_every_file_it_is_given(tmp_path: Path) -> None:
    area = area_at(tmp_path / "files")
    assert area.files() == []
    folder = tmp_path / "files" / "kari"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert area.write_new("invoice.pdf", b"one") == "invoice.pdf"
    assert area.write_new("invoice.pdf", b"two") == "invoice (2).pdf"  # never over another file
    assert area.write_new("invoice.pdf", b"three") == "invoice (3).pdf"
    assert (folder / "invoice.pdf").read_bytes() == b"one"
    assert stat.S_IMODE((folder / "invoice (2).pdf").stat().st_mode) == 0o600
    assert {f.name for f in area.files()} == {"invoice.pdf", "invoice (2).pdf", "invoice (3).pdf"}
    assert area.read("invoice (3).pdf") == b"three"
    folder.chmod(0o755)  # loosened by someone: made private again on the next use
    area.files()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "name", ["", ".", "..", "../x", "/etc/passwd", "a/b", "a\\b", "bad\x1bname", "x\nrm", " x"]
)
def test_a_name_is_one_printable_component(name: str) -> None:
    with pytest.raises(Invalid):
        check_name(name)


def test_nothing_is_read_through_a_link_or_outside_the_area(tmp_path: Path) -> None:
    secret = tmp_path / "prepfloor.db"
    secret.write_bytes(b"SQLite format 3\0 the whole shop")
    area = area_at(tmp_path / "files")
    folder = tmp_path / "files" / "kari"
    area.files()
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "db").symlink_to(secret)
    os.link(secret, folder / "db-copy")  # a hard link, made by someone on the server
    os.mkfifo(folder / "pipe")
    (folder / "sub").mkdir()
    (folder / "fine.pdf").write_bytes(b"%PDF")
    assert [f.name for f in area.files()] == ["fine.pdf"]  # only what can be attached
    for name in (
        "passwd", "db", "db-copy", "pipe", "sub", "/etc/passwd", "../prepfloor.db",
        "../../../../etc/passwd", str(secret), "~/prepfloor.db", "nothing.pdf",
    ):  # fmt: skip
        with pytest.raises(Invalid):
            documents.read_area_file(area, name)
    assert documents.read_area_file(area, "fine.pdf") == ("fine.pdf", b"%PDF")


def test_an_area_that_is_a_link_or_another_accounts_is_not_opened(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.pdf").write_bytes(b"x")
    root = tmp_path / "files"
    root.mkdir()
    (root / "kari").symlink_to(elsewhere)
    with pytest.raises(Invalid, match="cannot be opened"):
        area_at(root).files()
    with pytest.raises(Invalid, match="keeps no files"):
        area_at(root, login="..").files()


def test_limits_of_a_file_and_of_an_area(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1000)
    area = area_at(tmp_path / "files", quota=2500)
    with pytest.raises(Invalid, match="at most 1000 B"):
        area.write_new("big.csv", b"x" * 1001)
    area.write_new("a.csv", b"x" * 1000)
    area.write_new("b.csv", b"x" * 1000)
    with pytest.raises(
        Invalid, match=r"Your prepfloor files are full.*sftp -P 2222 kari@shopserver"
    ):
        area.write_new("c.csv", b"x" * 600)
    (tmp_path / "files" / "kari" / "huge.pdf").write_bytes(b"x" * 1001)  # put there otherwise
    with pytest.raises(Invalid, match="at most 1000 B"):
        area.read("huge.pdf")


def test_what_the_user_is_told() -> None:
    area = area_at(Path("/nowhere"))
    assert area.sftp_command == "sftp -P 2222 kari@shopserver"
    assert "scp -P 2222 invoice.pdf kari@shopserver:" in area.how_to_put()
    assert area.how_to_fetch("hours.csv").endswith("then get hours.csv")
    assert area.how_to_fetch("invoice (2).pdf").endswith('then get "invoice (2).pdf"')
    assert sftp_quote('a "b".pdf') == '"a \\"b\\".pdf"'
    assert documents.file_area(Path("/x"), "kari", quota=1, host="h").sftp_command == "sftp kari@h"


def test_save_a_copy_to_the_area(ui_world: Any, tmp_path: Path) -> None:
    car_id = ui_world.register()
    seller = ui_world["seller495"]
    ui_world.db.run(documents.attach_document, seller, car_id, filename="x.pdf", content=b"%PDF")
    (document,) = queries.car_documents(ui_world.fast, seller, car_id)
    area = area_at(tmp_path / "files", login="seller495")
    names = [ui_world.db.query(documents.save_copy_to_area, seller, document.id, area)]
    names.append(ui_world.db.query(documents.save_copy_to_area, seller, document.id, area))
    assert names == ["x.pdf", "x (2).pdf"]
    assert area.read("x (2).pdf") == b"%PDF"


def test_serve_file_settings(tmp_path: Path) -> None:
    from prepfloor.config import ConfigError, Locations, load_settings

    where = Locations(tmp_path / "user.toml", tmp_path / "site.toml", tmp_path / "data")
    serve = load_settings("x.db", where).serve
    assert (serve.files, serve.files_quota, serve.hostname) == (None, 200, "")
    where.site_config.write_text(
        '[serve]\nfiles = "/srv/files"\nfiles_quota = 50\nhostname = "shop.example"\n'
    )
    serve = load_settings("x.db", where).serve
    assert (serve.files, serve.files_quota, serve.hostname) == (
        Path("/srv/files"),
        50,
        "shop.example",
    )
    area = serve.file_area("kari")
    assert (area.root, area.quota, area.sftp_command) == (
        Path("/srv/files"),
        50 * MB,
        "sftp -P 2222 kari@shop.example",
    )
    for bad, says in (("files_quota = 0", "at least 1"), ("hostname = 'a b'", "not a host name")):
        where.site_config.write_text(f"[serve]\n{bad}\n")
        with pytest.raises(ConfigError, match=says):
            load_settings("x.db", where)


# ------------------------------------------------------------------------------------------------
# SFTP against a real server
# ------------------------------------------------------------------------------------------------
needs_openssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="the OpenSSH client")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, Any]:
    """The small world; keys for seller495, admin, a terminal account and a user to switch off."""
    from world import build_world

    base = tmp_path_factory.mktemp("files")
    path = base / "prepfloor.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    world = build_world(db)
    keys = {}
    for login in ("seller495", "admin", "detailer499", "seller499", "coordinator499"):
        keys[login] = make_key(base, f"id_{login}")
        db.run(users.add_key, None, world[login].user_id, Path(f"{keys[login]}.pub").read_text())
    db.run(users.set_terminal, None, world["detailer499"].user_id, True)
    db.dispose()
    return {"base": base, "url": url, "db": path, "keys": keys, "world": world}


@pytest.fixture(scope="module")
def server(shop: dict[str, Any]) -> Any:
    served = Server(shop["base"] / "main", shop["url"], failed_logins=1000, hostname='"shop"')
    yield served
    served.stop()


def files_of(server: Server, login: str) -> Path:
    return server.base / "data" / "prepfloor" / "files" / login


async def connect(server: Server, shop: dict[str, Any], login: str) -> Any:
    return await asyncssh.connect(
        "127.0.0.1",
        server.port,
        username=login,
        client_keys=[str(shop["keys"][login])],
        known_hosts=None,
        agent_path=None,
        config=None,
    )


def openssh(
    server: Server, shop: Any, login: str, program: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    port = ["-P" if program in ("sftp", "scp") else "-p", str(server.port)]
    return subprocess.run(
        [program, *port, *LOGIN_OPTIONS, "-i", str(shop["keys"][login]), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_openssh
@pytest.mark.slow
def test_sftp_put_and_get_with_openssh(server: Server, shop: Any, tmp_path: Path) -> None:
    if shutil.which("sftp") is None:
        pytest.skip("no sftp client")
    mark = len(server.log())
    invoice = tmp_path / "invoice-4711.pdf"
    invoice.write_bytes(b"%PDF-1.4 an invoice")
    done = openssh(
        server, shop, "seller495", "sftp", "-b", "-", "seller495@127.0.0.1",
        stdin=f"put {invoice}\nls -l\nget invoice-4711.pdf {tmp_path / 'back.pdf'}\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    kept = files_of(server, "seller495") / "invoice-4711.pdf"
    assert kept.read_bytes() == invoice.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert (tmp_path / "back.pdf").read_bytes() == invoice.read_bytes()
    assert "invoice-4711.pdf" in done.stdout
    server.wait_log(r"sftp: seller495 from 127\.0\.0\.1 opened their files", after=mark)
    server.wait_log(
        r"sftp: seller495 from 127\.0\.0\.1 put 'invoice-4711\.pdf' \(19 B\)", after=mark
    )
    server.wait_log(r"sftp: seller495 from 127\.0\.0\.1 got 'invoice-4711\.pdf'", after=mark)


@needs_openssh
@pytest.mark.slow
def test_scp_hands_a_file_over_and_takes_one_away(
    server: Server, shop: Any, tmp_path: Path
) -> None:
    if shutil.which("scp") is None:
        pytest.skip("no scp client")
    photo = tmp_path / "dent front left.jpg"
    photo.write_bytes(b"\xff\xd8 a photo")
    done = openssh(server, shop, "seller495", "scp", str(photo), "seller495@127.0.0.1:")
    assert done.returncode == 0, done.stderr
    assert (files_of(server, "seller495") / photo.name).read_bytes() == photo.read_bytes()
    back = tmp_path / "back"
    back.mkdir()
    done = openssh(server, shop, "seller495", "scp", f"seller495@127.0.0.1:{photo.name}", str(back))
    assert done.returncode == 0, done.stderr
    assert (back / photo.name).read_bytes() == photo.read_bytes()
    # the old scp protocol (a command on the server) is not offered
    done = openssh(server, shop, "seller495", "scp", "-O", str(photo), "seller495@127.0.0.1:")
    assert done.returncode != 0


@pytest.mark.slow
async def test_no_path_reaches_outside_the_area(server: Server, shop: Any, tmp_path: Path) -> None:
    folder = files_of(server, "admin")
    mark = len(server.log())
    async with await connect(server, shop, "admin") as conn, conn.start_sftp_client() as sftp:
        assert await sftp.realpath("..") == "/"
        assert await sftp.realpath("/../../etc") == "/etc"  # a name inside the area
        assert folder.is_dir()
        local = tmp_path / "note.txt"
        local.write_bytes(b"a note")
        for outside in (
            "/etc/passwd", "../prepfloor.db", "../../../../etc/passwd", "/proc/self/environ",
            str(shop["db"]), "../files/seller495/invoice-4711.pdf", "x/../../etc/passwd",
        ):  # fmt: skip
            with pytest.raises(asyncssh.SFTPError):
                await sftp.get(outside, str(tmp_path / "got"))
            assert not (tmp_path / "got").exists()
        for target in ("/tmp/escaped.txt", "sub/escaped.txt", "/etc/escaped.txt"):
            with pytest.raises(asyncssh.SFTPError):
                await sftp.put(str(local), target)
        assert not Path("/tmp/escaped.txt").exists()
        # ".." stops at the top of the area, as in a chroot: this lands inside it
        await sftp.put(str(local), "../../inside.txt")
        assert (folder / "inside.txt").read_bytes() == b"a note"
        with pytest.raises(asyncssh.SFTPError):
            await sftp.listdir("/etc")
        assert "passwd" not in await sftp.listdir("..")
        with pytest.raises(asyncssh.SFTPError):
            await sftp.mkdir("sub")
        with pytest.raises(asyncssh.SFTPError):
            await sftp.symlink("/etc/passwd", "pw")
        with pytest.raises(asyncssh.SFTPError):
            await sftp.link("inside.txt", "hard")
        assert not (folder / "pw").exists() and not (folder / "hard").exists()

        # links made on the server by someone else are never followed, listed or written through
        (folder / "db").symlink_to(shop["db"])
        os.link(shop["db"], folder / "db-hard")
        assert {"db", "db-hard"} & set(await sftp.listdir("/")) == set()
        before = shop["db"].read_bytes()
        for name in ("db", "db-hard"):
            with pytest.raises(asyncssh.SFTPError):
                await sftp.get(name, str(tmp_path / "got"))
            with pytest.raises(asyncssh.SFTPError):
                await sftp.put(str(local), name)
            with pytest.raises(asyncssh.SFTPError):
                await sftp.rename("inside.txt", name)
            with pytest.raises(asyncssh.SFTPError):
                await sftp.remove(name)
        assert shop["db"].read_bytes() == before
        assert not (tmp_path / "got").exists()
        await sftp.rename("inside.txt", "renamed.txt")
        await sftp.remove("renamed.txt")
        assert not (folder / "renamed.txt").exists()
        (folder / "db").unlink()
        (folder / "db-hard").unlink()
    server.wait_log(
        r"refused sftp path '/etc/passwd' \(outside the file area\) for admin", after=mark
    )
    server.wait_log(r"refused sftp symlink 'pw' for admin from 127\.0\.0\.1", after=mark)
    server.wait_log(r"refused sftp hard link 'hard' for admin", after=mark)
    server.wait_log(r"refused sftp mkdir 'sub' for admin", after=mark)
    server.wait_log(r"refused sftp 'db-hard' \(not a plain file\) for admin", after=mark)


@pytest.mark.slow
async def test_names_and_open_files_are_limited(server: Server, shop: Any, tmp_path: Path) -> None:
    from prepfloor.serve_files import MAX_HANDLES

    mark = len(server.log())
    async with await connect(server, shop, "admin") as conn, conn.start_sftp_client() as sftp:
        for bad in ("bad\x1b[2Jname.pdf", "two\nlines.pdf"):
            with pytest.raises(asyncssh.SFTPError, match="control characters"):
                async with sftp.open(bad, "wb") as file:
                    await file.write(b"x")
        opened = [await sftp.open(f"f{n}.txt", "wb") for n in range(MAX_HANDLES)]
        with pytest.raises(asyncssh.SFTPError, match=f"At most {MAX_HANDLES} files open"):
            await sftp.open("one-more.txt", "wb")
        for file in opened:
            await file.close()
        for n in range(MAX_HANDLES):
            await sftp.remove(f"f{n}.txt")
    assert not any("\x1b" in p.name for p in files_of(server, "admin").iterdir())
    server.wait_log(r"refused sftp name 'bad\\x1b\[2Jname\.pdf' for admin", after=mark)


@pytest.mark.slow
async def test_a_file_over_the_limit_is_refused_and_not_kept(
    server: Server, shop: Any, tmp_path: Path
) -> None:
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"x" * (documents.MAX_DOCUMENT_BYTES + 1))  # not sparse: every byte is sent
    mark = len(server.log())
    async with await connect(server, shop, "admin") as conn, conn.start_sftp_client() as sftp:
        with pytest.raises(
            asyncssh.SFTPError,
            match=r"scan\.pdf is larger than 20\.0 MB, the most a file can be\. Nothing was kept\.",
        ):
            await sftp.put(str(big), "scan.pdf")
        assert "scan.pdf" not in await sftp.listdir()
    assert not (files_of(server, "admin") / "scan.pdf").exists()
    server.wait_log(
        r"refused sftp upload 'scan\.pdf' \(over the size limit\) for admin", after=mark
    )
    server.wait_log(r"sftp: admin from 127\.0\.0\.1 removed the unfinished upload", after=mark)


@needs_openssh
@pytest.mark.slow
def test_openssh_sftp_shows_why_a_file_is_refused(
    server: Server, shop: Any, tmp_path: Path
) -> None:
    if shutil.which("sftp") is None:
        pytest.skip("no sftp client")
    big = tmp_path / "big.pdf"
    with big.open("wb") as handle:
        handle.truncate(documents.MAX_DOCUMENT_BYTES + 1)
    done = openssh(
        server, shop, "admin", "sftp", "-b", "-", "admin@127.0.0.1", stdin=f"put {big}\n"
    )
    assert done.returncode != 0
    assert (
        "prepfloor: big.pdf is larger than 20.0 MB, the most a file can be. Nothing was kept."
    ) in done.stderr
    assert not (files_of(server, "admin") / "big.pdf").exists()


@pytest.mark.slow
async def test_the_area_quota_holds(shop: Any, tmp_path: Path) -> None:
    small = Server(shop["base"] / "quota", shop["url"], files_quota=1)
    try:
        part = tmp_path / "part.bin"
        part.write_bytes(b"x" * (600 * 1024))
        async with await connect(small, shop, "admin") as conn, conn.start_sftp_client() as sftp:
            await sftp.put(str(part), "one.bin")
            with pytest.raises(asyncssh.SFTPError, match=r"would hold more than 1\.0 MB"):
                await sftp.put(str(part), "two.bin")
            assert set(await sftp.listdir()) == {".", "..", "one.bin"}
            await sftp.remove("one.bin")
            await sftp.put(str(part), "two.bin")  # room again
        small.wait_log(r"refused sftp upload 'two\.bin' \(the file area is full\) for admin")
    finally:
        assert small.stop() == 0


@needs_openssh
@pytest.mark.slow
def test_a_terminal_account_gets_no_sftp(server: Server, shop: Any) -> None:
    if shutil.which("sftp") is None:
        pytest.skip("no sftp client")
    done = openssh(
        server, shop, "detailer499", "sftp", "-b", "-", "detailer499@127.0.0.1", stdin="ls\n"
    )
    assert done.returncode != 0
    server.wait_log(
        r"refused sftp \(a shared terminal account has no files\) for detailer499 from 127\.0\.0\.1"
    )
    assert not files_of(server, "detailer499").exists()
    # and other subsystems are still refused for everyone
    done = openssh(server, shop, "admin", "ssh", "-s", "admin@127.0.0.1", "netconf")
    assert done.returncode == 255 and "subsystem request failed" in done.stderr
    server.wait_log(r"refused subsystem 'netconf' for admin from 127\.0\.0\.1")


@pytest.mark.slow
async def test_a_deactivated_user_gets_no_sftp(server: Server, shop: Any) -> None:
    db = Database(shop["url"])
    who = db.query(lambda s: users.by_login(s, "seller499"))

    def set_active(active: bool) -> None:
        db.run(
            users.update_user,
            None,
            who.id,
            display_name=who.display_name,
            role=who.role,
            dealership_id=who.dealership_id,
            active=active,
        )

    try:
        # signed in while active, switched off before the SFTP session starts: refused
        async with await connect(server, shop, "seller499") as conn:
            set_active(False)
            with pytest.raises((asyncssh.Error, OSError)):
                async with conn.start_sftp_client() as sftp:
                    await sftp.listdir()
        server.wait_log(r"refused sftp for seller499 from 127\.0\.0\.1: seller499 is no longer")
        # and a new login is refused outright
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(server, shop, "seller499")
    finally:
        set_active(True)
        db.dispose()


# ------------------------------------------------------------------------------------------------
# a served app
# ------------------------------------------------------------------------------------------------
def served(ui_store: Any, actor: Any, root: Path) -> Any:
    from prepfloor.serve_app import ServedApp

    settings = Settings(
        database=ui_store.url,
        database_source="test",
        serve=ServeSettings(port=2222, files=root, hostname="shopserver"),
    )
    return ServedApp(ui_store, settings, actor=actor)


async def open_documents(app: Any, pilot: Any, car_id: int) -> None:
    await settle(pilot, app)
    app.open_car(car_id)
    await settle(pilot, app)
    assert isinstance(app.screen, CarDetailScreen)
    await pilot.press("d")
    await settle(pilot, app)
    assert isinstance(app.screen, DocumentsDialog)


def messages(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


def car_documents(world: Any, car_id: int) -> list[CarDocument]:
    return world.db.query(
        lambda s: list(s.exec(select(CarDocument).where(CarDocument.car_id == car_id)))
    )


async def test_attaching_in_a_served_session_lists_the_users_files(
    ui_store: Any, ui_world: Any, tmp_path: Path
) -> None:
    car_id = ui_world.register()
    root = tmp_path / "files"
    app = served(ui_store, ui_world["seller495"], root)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(app, pilot, car_id)
        await pilot.press("a")
        await settle(pilot, app)
        picker = app.screen
        assert isinstance(picker, PickFileDialog)  # a list to pick from; no path to type
        assert not list(picker.query("Input"))
        note = str(picker.query_one("#note").render())
        assert "sftp -P 2222 seller495@shopserver, then put invoice.pdf" in note
        assert "scp -P 2222 invoice.pdf seller495@shopserver:" in note
        assert picker.table.rows == [] and "Nothing here yet" in picker.table.empty

        # put there "by sftp" while the list is open: it shows up
        (root / "seller495" / "invoice-4711.pdf").write_bytes(b"%PDF-1.4 an invoice")
        picker.load()
        await settle(pilot, app)
        assert [f.name for f in picker.table.rows] == ["invoice-4711.pdf"]
        await pilot.press("enter")
        await settle(pilot, app)
        assert isinstance(app.screen, DocumentsDialog)
        assert [r.filename for r in app.screen.table.rows] == ["invoice-4711.pdf"]
        assert "Attached invoice-4711.pdf." in messages(app)

        (root / "seller495" / "dent.jpg").write_bytes(b"\xff\xd8 a photo")
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("t")  # attach as: the type asked first
        await settle(pilot, app)
        await pilot.press("down", "down", "enter")  # checklist
        await settle(pilot, app)
    docs = {d.filename: d for d in car_documents(ui_world, car_id)}
    assert docs["invoice-4711.pdf"].content == b"%PDF-1.4 an invoice"
    assert docs["invoice-4711.pdf"].type == "invoice"
    assert docs["dent.jpg"].type == "checklist"


async def test_a_served_session_cannot_attach_a_server_file_by_any_input(
    ui_store: Any, ui_world: Any, tmp_path: Path
) -> None:
    car_id = ui_world.register()
    root = tmp_path / "files"
    database = Path(ui_store.url.removeprefix("sqlite:///"))
    app = served(ui_store, ui_world["seller495"], root)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(app, pilot, car_id)
        # links to server files put in the area by someone on the server are not offered
        folder = root / "seller495"
        folder.mkdir(parents=True)
        (folder / "passwd").symlink_to("/etc/passwd")
        (folder / "shop.db").symlink_to(database)
        os.link(database, folder / "hard.db")
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, PickFileDialog)
        assert app.screen.table.rows == []
        await pilot.press(*"/etc/passwd", "enter", *str(database), "enter", "ctrl+s")
        await settle(pilot, app)
        assert not isinstance(app.screen, FormDialog)
        await pilot.press("escape")
        await settle(pilot, app)
        # the one way in takes a name from the list; a name from anywhere else is refused
        picker = PickFileDialog(app.session_ctx, car_id, "car")
        app.push_screen(picker)
        await settle(pilot, app)
        refusals = {
            "/etc/passwd": "is a path: your prepfloor files have no folders",
            str(database): "is a path: your prepfloor files have no folders",
            "../../etc/passwd": "is a path: your prepfloor files have no folders",
            "passwd": "passwd is a link: prepfloor opens only files.",
            "shop.db": "shop.db is a link: prepfloor opens only files.",
            "hard.db": "hard.db is not a plain file: prepfloor does not open it.",
            "..": "A file needs a name.",
        }
        for name, says in refusals.items():
            before = len(messages(app))
            picker._attach_file(name, None)
            await settle(pilot, app)
            assert says in " ".join(messages(app)[before:]), name
    assert car_documents(ui_world, car_id) == []


async def test_copies_and_exports_of_a_served_session_are_kept_in_the_users_files(
    ui_store: Any, ui_world: Any, tmp_path: Path
) -> None:
    from screens.workshop import TimeBankScreen

    car_id = ui_world.register()
    seller = ui_world["seller495"]
    ui_world.db.run(
        documents.attach_document, seller, car_id, filename="invoice.pdf", content=b"%PDF"
    )
    root = tmp_path / "files"
    app = served(ui_store, seller, root)
    async with app.run_test(size=SIZE) as pilot:
        await open_documents(app, pilot, car_id)
        await pilot.press("s")
        await settle(pilot, app)
        await pilot.press("enter")  # Enter saves a copy too
        await settle(pilot, app)
    assert (root / "seller495" / "invoice.pdf").read_bytes() == b"%PDF"
    assert (root / "seller495" / "invoice (2).pdf").read_bytes() == b"%PDF"
    said = messages(app)
    assert (
        "Saved a copy in your prepfloor files as invoice.pdf. To fetch it: "
        "sftp -P 2222 seller495@shopserver, then get invoice.pdf"
    ) in said
    assert any('then get "invoice (2).pdf"' in m for m in said)

    # the dashboard's export
    app = served(ui_store, ui_world["manager400"], root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await settle(pilot, app)
        await settle(pilot, app)
        await pilot.press("e")
        await settle(pilot, app)
        (export,) = list((root / "manager400").glob("*.csv"))
        assert f"then get {export.name}" in " ".join(messages(app))
        assert "sftp -P 2222 manager400@shopserver" in " ".join(messages(app))
        assert export.read_text().splitlines()[0].startswith("Status")

    # the time bank's export
    app = served(ui_store, ui_world["mechanic499"], root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.session_ctx is not None
        app.push_screen(TimeBankScreen(app.session_ctx))
        await settle(pilot, app)
        await pilot.press("e")
        await settle(pilot, app)
        (export,) = list((root / "mechanic499").glob("hours-mechanic499-*.csv"))
        assert f"then get {export.name}" in " ".join(messages(app))
    assert not (tmp_path / "exports").exists()


async def test_a_local_session_still_attaches_by_path(
    ui_store: Any, ui_world: Any, tmp_path: Path
) -> None:
    from prepfloor.app import make_app

    app = make_app(ui_store, actor=ui_world["seller495"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.session_ctx is not None and app.session_ctx.files is None
        await open_documents(app, pilot, ui_world.register())
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, FormDialog)
        assert app.screen.query_one("#path") is not None


def test_the_zygote_gets_the_file_settings() -> None:
    from prepfloor.serve_zygote import settings_from_message, settings_message

    serve = ServeSettings(port=2022, files=Path("/srv/files"), files_quota=5, hostname="shop")
    sent = Settings(database="x.db", database_source="test", serve=serve)
    got = settings_from_message(settings_message(sent)).serve
    assert (got.port, got.files, got.files_quota, got.hostname) == (
        2022,
        Path("/srv/files"),
        5,
        "shop",
    )
    assert got.file_area("kari").how_to_fetch("a.csv") == (
        "To fetch it: sftp -P 2022 kari@shop, then get a.csv"
    )
