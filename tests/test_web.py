"""prepfloor in a web browser, end to end: the real ``prepfloor serve`` with ``[web]`` on, Debian's
chromium driven by Playwright, and the database checked after.

Sign-in by password (wrong ones counted and locked out as wrong PINs are), the app by keys in the
page, a CSV export downloaded by the browser byte for byte, a document uploaded through the
browser's file picker and one dropped on the page, attached to the car; signing out; the websocket
refused without a sign-in or from another origin; nothing served that is not the app; and the page
working with every host but the server unreachable.

Nothing here asserts on wall-clock time: waits poll with a generous limit.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import LIMIT, PageScreen, launch, needs_chromium, wait_for
from sqlmodel import select
from test_serve import Server, free_port

from conftest import _admin_exec, _with_database, _worker
from db import timebank, timers, users
from db.engine import Database
from db.errors import LoginRefused
from db.models import CarDocument, User

pytestmark = [pytest.mark.slow, needs_chromium(), pytest.mark.xdist_group("web")]

PASSWORDS = {
    "seller495": "kari-sitt-passord",
    "mechanic499": "per-sitt-passord",
    "seller499": "siri-sitt-passord",
    "detailer499": "verksted-pc-passord",
    "coordinator495": "koordinator-passord",
}
HOSTILE_NAME = '<img src=x onerror="window.pwned=1">[b]Bo[/b] </script>\x1b]0;t\x07'

NAMES = {"seller495": "Kari Selger", "mechanic499": "Per Mekaniker"}


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def web_shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The small world with passwords, a car of Kari's, and an hour Per clocked this week, on
    each engine."""
    from world import book, build_world

    base = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        path = base / "prepfloor.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        server, template = (
            request.getfixturevalue("pg_server"),
            request.getfixturevalue("pg_template"),
        )
        name = f"prepfloor_web_{_worker()}"
        _admin_exec(
            server, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name} TEMPLATE {template}"
        )
        url = _with_database(server, name)
    db = Database(url)
    world = build_world(db)
    for login, password in PASSWORDS.items():
        db.run(users.set_password, None, world[login].user_id, password)
    db.run(users.set_terminal, None, world["detailer499"].user_id, True)
    db.run(
        users.update_user,
        None,
        world["coordinator495"].user_id,
        display_name=HOSTILE_NAME,
        role="coordinator",
        dealership_id=world.d["495"],
        active=True,
    )
    car_id = world.register("seller495", customer_name="Nora Webkunde", vin="WBA00000000WEB001")
    job = book(world, 0, 2, "mechanic499", car_id=car_id)
    db.run(timers.start, world["mechanic499"], job)
    db.run(timers.stop, world["mechanic499"])
    db.dispose()
    return {"base": base, "url": url, "car_id": car_id, "world": world}


@pytest.fixture(scope="module")
def web_server(web_shop: dict[str, Any]) -> Iterator[Server]:
    served = Server(
        web_shop["base"] / "main",
        web_shop["url"],
        failed_logins=1000,
        web={"port": free_port(), "idle_minutes": 30},
    )
    yield served
    served.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def chromium(playwright: Any) -> Iterator[Any]:
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def page(chromium: Any, web_server: Server) -> Iterator[Any]:
    context = chromium.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 800}, base_url=web_server.web_url
    )
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, login: str, password: str) -> PageScreen:
    screen = PageScreen(page)
    page.goto("/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
    return screen


def signed_in(page: Any, login: str) -> PageScreen:
    screen = sign_in(page, login, PASSWORDS[login])
    page.wait_for_selector("body.-first-byte", timeout=LIMIT * 1000)
    screen.wait_text(NAMES[login])
    return screen


def database(web_shop: dict[str, Any]) -> Database:
    return Database(web_shop["url"])


# ------------------------------------------------------------------------------------------------
# signing in and out
# ------------------------------------------------------------------------------------------------
def test_sign_in_opens_the_app_with_a_safe_cookie(page: Any, web_server: Server) -> None:
    screen = signed_in(page, "seller495")
    assert "My cars" in screen.text() or "Nora Webkunde" in screen.text()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "prepfloor"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]  # plain HTTP on loopback: a Secure cookie would not come back
    web_server.wait_log(r"web sign-in of seller495 from 127\.0\.0\.1")
    web_server.wait_log(r"web session \d+: seller495 from 127\.0\.0\.1 runs as pid \d+")


def test_wrong_passwords_are_refused_then_lock_the_user_out(
    page: Any, web_server: Server, web_shop: dict[str, Any]
) -> None:
    page.goto("/")
    page.fill("#login", "nobody-here")
    page.fill("#password", "whatever-it-is")
    page.click("button[type=submit]")
    unknown = page.inner_text("#message")
    for attempt in range(users.MAX_PIN_FAILURES):
        page.fill("#login", "seller499")
        page.fill("#password", f"wrong-password-{attempt}")
        page.click("button[type=submit]")
        # an unknown login and a wrong password read the same
        assert page.inner_text("#message") == unknown
    # locked now: the right password is refused too, and no session was started
    page.fill("#login", "seller499")
    page.fill("#password", PASSWORDS["seller499"])
    page.click("button[type=submit]")
    assert "locked" in page.inner_text("#message").lower()
    assert page.locator("#terminal").count() == 0
    db = database(web_shop)
    try:
        user = db.query(lambda s: s.exec(select(User).where(User.login == "seller499")).one())
        assert user.locked_until is not None
        # the lock-out is the PIN's: the same user is refused by PIN as well
        with pytest.raises(LoginRefused):
            db.run(users.sign_in, "seller499", "1234")
        db.run(users.set_password, None, user.id, PASSWORDS["seller499"])  # lifts the lock
    finally:
        db.dispose()
    web_server.wait_log(r"web sign-in of 'seller499' from 127\.0\.0\.1 refused")
    web_server.wait_log(r"refused seller499 by password from 127\.0\.0\.1: locked until")
    assert PASSWORDS["seller499"] not in web_server.log()


def test_sign_out_ends_the_session_and_the_cookie(
    page: Any, web_server: Server, chromium: Any
) -> None:
    signed_in(page, "mechanic499")
    cookies = page.context.cookies()
    mark = len(web_server.log())
    page.click("#sign-out button")
    page.wait_for_selector("#login")
    assert "Signed out" in page.inner_text("#message")
    web_server.wait_log(r"web sign-out of mechanic499", after=mark)
    web_server.wait_log(r"web session \d+: mechanic499 from 127\.0\.0\.1 ended", after=mark)
    # the old cookie, replayed by another browser, opens nothing
    other = chromium.new_context(base_url=web_server.web_url)
    try:
        other.add_cookies(cookies)
        replay = other.new_page()
        replay.goto("/")
        assert replay.locator("#login").count() == 1
    finally:
        other.close()


def test_signing_out_in_the_app_signs_the_browser_out(page: Any, web_server: Server) -> None:
    screen = signed_in(page, "mechanic499")
    screen.keys("F9")  # the app's own Sign out
    page.wait_for_selector("#login", timeout=LIMIT * 1000)
    assert "Signed out" in page.inner_text("#message")


def test_a_workshop_pc_signs_in_as_its_terminal_and_gets_the_pin_screen(page: Any) -> None:
    screen = sign_in(page, "detailer499", PASSWORDS["detailer499"])
    page.wait_for_selector("body.-first-byte", timeout=LIMIT * 1000)
    screen.wait_text("Sign in", "Who are you?")


def test_a_name_is_shown_on_the_page_as_text(page: Any) -> None:
    """Names are data from the database: on the page they are text, never markup or script."""
    sign_in(page, "coordinator495", PASSWORDS["coordinator495"])
    page.wait_for_selector("body.-first-byte", timeout=LIMIT * 1000)
    who = page.inner_text("#who")
    assert '<img src=x onerror="window.pwned=1">[b]Bo[/b] </script>' in who
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("#bar img").count() == 0
    # a login typed into the form is sent back as text too
    page.goto("/?said=out")
    page.context.clear_cookies()
    page.goto("/")
    page.fill("#login", '"><script>window.pwned=2</script>')
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert page.input_value("#login") == '"><script>window.pwned=2</script>'
    assert page.evaluate("() => window.pwned") is None


def test_a_sign_in_left_idle_ends(web_shop: dict[str, Any], chromium: Any) -> None:
    served = Server(
        web_shop["base"] / "idle",
        web_shop["url"],
        failed_logins=1000,
        web={"port": free_port(), "idle_minutes": 0.05},  # 3 seconds
    )
    try:
        context = chromium.new_context(base_url=served.web_url)
        page = context.new_page()
        signed_in(page, "mechanic499")
        page.wait_for_selector("#login", timeout=LIMIT * 1000)  # back at the sign-in form
        assert "ended" in page.inner_text("#message")
        served.wait_log(r"web sign-out of mechanic499 from 127\.0\.0\.1 \(idle\)")
        served.wait_log(r"web session \d+: mechanic499 from 127\.0\.0\.1 ended")
        context.close()
    finally:
        served.stop()


# ------------------------------------------------------------------------------------------------
# the app by keys, and files both ways
# ------------------------------------------------------------------------------------------------
def test_a_car_opens_by_keys(page: Any) -> None:
    screen = signed_in(page, "seller495")
    screen.keys("/")
    screen.type("Webkunde")
    screen.keys("Enter", "Enter")
    shown = screen.wait_text("WBA00000000WEB001")
    assert "Nora Webkunde" in shown


def test_a_new_car_is_alt_n_in_the_browser(page: Any) -> None:
    """A browser keeps ctrl+n for a new window; the footer offers alt+n, and it opens the form."""
    screen = signed_in(page, "seller495")
    assert "New car" in screen.text() and "^n" not in screen.text()
    screen.keys("Alt+n")
    screen.wait_text("New order: nothing saved yet.")


def test_an_export_is_downloaded_byte_for_byte(page: Any, web_shop: dict[str, Any]) -> None:
    from datetime import timedelta

    from db.store import Store

    screen = signed_in(page, "mechanic499")
    screen.keys("h")
    screen.wait_text("My hours")
    with page.expect_download(timeout=LIMIT * 1000) as waiting:
        screen.keys("e")
    download = waiting.value
    got = Path(download.path()).read_bytes()
    world = web_shop["world"]
    today = world.day(0)
    monday = today - timedelta(days=today.weekday())
    assert download.suggested_filename == (
        f"hours-mechanic499-{monday:%Y}-W{monday.isocalendar()[1]:02d}.csv"
    )
    store = Store(web_shop["url"])
    try:
        rows = timebank.hours(store.fast, world["mechanic499"], monday, monday + timedelta(days=6))
    finally:
        store.close()
    expected = io.StringIO(newline="")
    timebank.write_csv(rows, expected)
    assert rows and got == expected.getvalue().encode("utf-8")
    screen.wait_text("Downloading")


def _attached(web_shop: dict[str, Any], filename: str) -> bytes | None:
    db = database(web_shop)
    try:
        found = db.query(
            lambda s: s.exec(
                select(CarDocument).where(
                    CarDocument.car_id == web_shop["car_id"], CarDocument.filename == filename
                )
            ).first()
        )
        return found.content if found is not None else None
    finally:
        db.dispose()


def _open_documents(screen: PageScreen) -> None:
    screen.keys("/")
    screen.type("Webkunde")
    screen.keys("Enter", "Enter")
    screen.wait_text("WBA00000000WEB001")
    screen.keys("d")
    screen.wait_text("Documents")
    screen.keys("a")
    screen.wait_text("From your computer")


def test_a_document_picked_in_the_browser_is_attached_to_the_car(
    page: Any, web_shop: dict[str, Any], tmp_path: Path
) -> None:
    invoice = tmp_path / "faktura-4711.pdf"
    invoice.write_bytes(b"%PDF-1.4\n% prepfloor test\n" + bytes(range(256)) * 40)
    screen = signed_in(page, "seller495")
    _open_documents(screen)
    with page.expect_file_chooser(timeout=LIMIT * 1000) as choosing:
        screen.keys("u")
    choosing.value.set_files(str(invoice))
    wait_for(lambda: _attached(web_shop, invoice.name), "the document in the database")
    assert _attached(web_shop, invoice.name) == invoice.read_bytes()
    screen.wait_text("faktura-4711.pdf")


def test_a_file_dropped_on_the_page_is_attached(page: Any, web_shop: dict[str, Any]) -> None:
    screen = signed_in(page, "seller495")
    _open_documents(screen)
    page.evaluate(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["dropped photo bytes"], "bilde-foran.jpg",
                                    {type: "image/jpeg"}));
            for (const kind of ["dragenter", "dragover", "drop"]) {
                document.body.dispatchEvent(new DragEvent(kind, {dataTransfer: data,
                                                                 bubbles: true}));
            }
        }"""
    )
    wait_for(lambda: _attached(web_shop, "bilde-foran.jpg"), "the dropped file in the database")
    assert _attached(web_shop, "bilde-foran.jpg") == b"dropped photo bytes"


# ------------------------------------------------------------------------------------------------
# what is refused
# ------------------------------------------------------------------------------------------------
def _http(
    web_server: Server,
    method: str,
    path: str,
    body: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """A plain request (no browser): its status and text."""
    import http.client
    from urllib.parse import urlparse

    where = urlparse(web_server.web_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=LIMIT)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def _websocket(web_server: Server, headers: dict[str, str]) -> int:
    """The status a websocket handshake gets (101: opened)."""
    return _handshake(web_server, headers)[0]


def _handshake(web_server: Server, headers: dict[str, str]) -> tuple[int, str]:
    """A handshake that may be accepted: read the status line only, then hang up."""
    import socket
    from urllib.parse import urlparse

    where = urlparse(web_server.web_url)
    lines = [
        "GET /ws?width=80&height=24 HTTP/1.1",
        f"Host: {where.hostname}:{where.port}",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection((where.hostname, where.port), timeout=LIMIT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1]), status_line


def test_the_websocket_is_refused_without_a_sign_in_or_from_another_origin(
    page: Any, web_server: Server
) -> None:
    origin = web_server.web_url
    mark = len(web_server.log())
    assert _websocket(web_server, {"Origin": origin}) == 403
    web_server.wait_log(r"web session from 127\.0\.0\.1 refused: not signed in", after=mark)
    signed_in(page, "seller495")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "prepfloor"]
    cookies = {"Cookie": f"prepfloor={cookie['value']}"}
    assert _websocket(web_server, {**cookies, "Origin": "http://evil.example"}) == 403
    assert _websocket(web_server, cookies) == 403  # no Origin: not from a page of ours
    assert _websocket(web_server, {**cookies, "Origin": origin}) == 101  # the page's own: opens
    web_server.wait_log(r"refused: from another origin \('http://evil\.example'\)", after=mark)
    # a sign-in form posted from elsewhere is refused too
    status, _text = _http(
        web_server,
        "POST",
        "/sign-in",
        f"login=seller495&password={PASSWORDS['seller495']}",
        {"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403


@pytest.mark.parametrize(
    "path", ["/static/", "/static/../serve.py", "/static", "/etc/passwd", "/download/x", "/files/"]
)
def test_nothing_is_served_but_the_app(web_server: Server, path: str) -> None:
    status, text = _http(web_server, "GET", path)
    assert status == 404, (path, status)
    assert "Index of" not in text


def test_the_page_needs_nothing_from_the_internet(web_server: Server, playwright: Any) -> None:
    """Every host but the server unreachable (the browser resolves no other name); every request
    the page makes goes to the server, and none fails."""
    browser = launch(playwright, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    try:
        context = browser.new_context(base_url=web_server.web_url)
        page = context.new_page()
        requested: list[str] = []
        failed: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        signed_in(page, "seller495")
        page.wait_for_load_state("networkidle")
        fonts = page.evaluate("() => document.fonts.check('16px \"Roboto Mono\"')")
    finally:
        browser.close()
    outside = [url for url in requested if not url.startswith(web_server.web_url)]
    assert outside == [] and failed == []
    assert any(url.endswith("/static/RobotoMono.ttf") for url in requested)
    assert fonts
    assert re.search(r"/static/textual\.js$", " ".join(requested))
