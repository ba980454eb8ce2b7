"""``prepfloor serve`` for web browsers: the same app, screens, keys and rules as over SSH, drawn in
the page by Textual's web driver; sessions fork from the same warm zygote.

Why not textual-serve's own server: it has no sign-in, it starts a new Python process for every page
(a second or more, and no shared memory), and its page loads a font from the internet.  prepfloor
takes only its page script, stylesheet and fonts (the ``textual-serve`` package's static files) and
serves them itself, beside its own page and script (``prepfloor/web/``).

What is served, and nothing else (no listing of any folder):

* ``GET /``: the sign-in form, or the app's page once signed in;
* ``POST /sign-in``, ``POST /sign-out``: a form with its CSRF token, from this origin only;
* ``GET /ws``: the app's websocket, for a signed-in browser from this origin only;
* ``GET /download/<key>``: a file the app hands over (a copy, an export), to the page that asked;
* ``POST /upload``: a file from the browser's picker or dropped on the page, into the user's own
  file area (:mod:`db.file_area`, the same area and limits as SFTP);
* ``GET /static/<name>``: the page's scripts, stylesheets and fonts, from a fixed list.

Sign-in is by the user's prepfloor login and password (:func:`db.users.sign_in_password`: a slow
hash; wrong passwords lock the user out as wrong PINs do), and a session cookie (HttpOnly,
SameSite=Strict, Secure over TLS or behind an https origin).  A sign-in ends on sign-out, after
``[web] idle_minutes`` without a key (not for a workshop terminal's account, whose sign-in screen
signs people out itself), and after ``[web] max_hours``.  Refused sign-ins are counted per address
like refused SSH keys.  Every sign-in and refusal is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hmac
import html
import ipaddress
import logging
import secrets
import signal
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from db.i18n import _
from prepfloor.serve_config import WebSettings
from prepfloor.serve_limits import FailedLogins
from prepfloor.serve_web_session import UNCLAIMED_SECONDS, BrowserSession, _size, background

if TYPE_CHECKING:
    from prepfloor.serve import Hub

log = logging.getLogger("prepfloor.serve")

COOKIE = "prepfloor"
PRE_COOKIE = "prepfloor-form"  # the sign-in form's CSRF token, before anyone is signed in
SWEEP_SECONDS = 30.0
MAX_FORM = 16 * 1024  # bytes of a sign-in form
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "font-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" makes a form say Origin: null
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Server": "prepfloor",
}


def _static_files() -> dict[str, tuple[Any, str]]:
    """``name`` -> (file, content type): everything under /static/, and nothing else."""
    served = resources.files("textual_serve") / "static"
    ours = resources.files("prepfloor") / "web"
    return {
        "textual.js": (served / "js" / "textual.js", "text/javascript"),
        "xterm.css": (served / "css" / "xterm.css", "text/css"),
        "RobotoMono.ttf": (served / "fonts" / "RobotoMono-VariableFont_wght.ttf", "font/ttf"),
        "RobotoMono-Italic.ttf": (
            served / "fonts" / "RobotoMono-Italic-VariableFont_wght.ttf",
            "font/ttf",
        ),
        "prepfloor.js": (ours / "prepfloor.js", "text/javascript"),
        "prepfloor.css": (ours / "prepfloor.css", "text/css"),
    }


@dataclass(eq=False)
class SignIn:
    """One browser's sign-in: who, from where, its CSRF token and its pages' sessions."""

    token: str
    login: str
    name: str
    is_terminal: bool
    address: str
    csrf: str
    started: float
    seen: float
    clock: Callable[[], float] = time.monotonic
    sessions: set[BrowserSession] = field(default_factory=set)
    size: tuple[int, int] = (120, 40)  # of its last page: the next page's first guess
    waiting: BrowserSession | None = None  # started for a page that has not connected yet

    def used(self) -> None:
        self.seen = self.clock()

    def take_waiting(self) -> BrowserSession | None:
        session, self.waiting = self.waiting, None
        return session if session is not None and not session.closed else None


class SignIns:
    """The browsers signed in (kept in this process: a restart of the server signs them out)."""

    def __init__(self, settings: WebSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.by_token: dict[str, SignIn] = {}

    def new(self, login: str, name: str, is_terminal: bool, address: str) -> SignIn:
        now = self.clock()
        sign_in = SignIn(
            secrets.token_urlsafe(32),
            login,
            name,
            is_terminal,
            address,
            secrets.token_urlsafe(32),
            now,
            now,
            self.clock,
        )
        self.by_token[sign_in.token] = sign_in
        return sign_in

    def expired(self, sign_in: SignIn) -> str:
        """Why ``sign_in`` has ended ("" while it lasts)."""
        now = self.clock()
        if self.settings.max_hours and now - sign_in.started > self.settings.max_hours * 3600:
            return "max_hours"
        idle = self.settings.idle_minutes * 60
        if idle and not sign_in.is_terminal and now - sign_in.seen > idle:
            return "idle"
        return ""

    def get(self, token: str | None) -> SignIn | None:
        sign_in = self.by_token.get(token or "")
        if sign_in is None or self.expired(sign_in):
            return None
        return sign_in


class WebServer:
    """The HTTP side of ``prepfloor serve``."""

    def __init__(self, hub: Hub, settings: WebSettings) -> None:
        self.hub = hub
        self.settings = settings
        self.sign_ins = SignIns(settings)
        self.failures = FailedLogins(hub.limits.failed_logins, hub.limits.failed_window)
        self.static = _static_files()
        self.static_bytes: dict[str, tuple[bytes, bytes, str]] = {}
        self.runner: web.AppRunner | None = None
        self.sweeper: asyncio.Task[None] | None = None
        self.port = 0
        hub.web = self
        hub.web_downloads = {}

    # -- starting and stopping -------------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_FORM, middlewares=[self._headers])
        app.router.add_get("/", self.page)
        app.router.add_post("/sign-in", self.sign_in)
        app.router.add_post("/sign-out", self.sign_out_form)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/download/{key}", self.download)
        app.router.add_post("/upload", self.upload)
        app.router.add_get("/static/{name}", self.static_file)
        return app

    async def start(self) -> int:
        """Listen; returns the port (the one asked for, or the one given for port 0)."""
        context = None
        if self.settings.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(str(self.settings.tls_cert), str(self.settings.tls_key))
        self.runner = web.AppRunner(
            self.application(), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self.runner.setup()
        site = web.TCPSite(
            self.runner,
            self.settings.address,
            self.settings.port,
            ssl_context=context,
            reuse_address=True,
        )
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.settings.port
        self.sweeper = asyncio.ensure_future(self._sweep())
        return self.port

    async def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _sweep(self) -> None:
        """Sign-ins that have expired end, and their pages' sessions with them."""
        every = SWEEP_SECONDS
        if self.settings.idle_minutes:
            every = max(1.0, min(every, self.settings.idle_minutes * 60 / 4))
        while True:
            await asyncio.sleep(every)
            for sign_in in list(self.sign_ins.by_token.values()):
                why = self.sign_ins.expired(sign_in)
                if why:
                    self.sign_out(sign_in, why)

    # -- who is asking ---------------------------------------------------------------------------
    def address(self, request: web.Request) -> str:
        """The browser's address: behind a reverse proxy on this machine (an ``origin`` is set),
        the address the proxy says it serves (the last X-Forwarded-For entry)."""
        remote = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For", "")
        if self.settings.origin and forwarded and _loopback(remote):
            candidate = forwarded.split(",")[-1].strip()
            with contextlib.suppress(ValueError):
                return str(ipaddress.ip_address(candidate))
        return remote

    def origin(self, request: web.Request) -> str:
        """The origin pages are served from: ``[web] origin``, or the scheme and host asked for."""
        if self.settings.origin:
            return self.settings.origin
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{request.host}"

    def same_origin(self, request: web.Request) -> bool:
        """The request comes from one of our pages (a browser always says where from on a POST
        and a websocket)."""
        origin = request.headers.get("Origin")
        return origin is not None and hmac.compare_digest(origin, self.origin(request))

    def current(self, request: web.Request) -> SignIn | None:
        return self.sign_ins.get(request.cookies.get(self.cookie_name))

    @property
    def cookie_name(self) -> str:
        return f"__Host-{COOKIE}" if self.settings.secure else COOKIE

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.settings.secure,
        )

    @web.middleware
    async def _headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as refusal:
            response = refusal
        if not isinstance(response, web.WebSocketResponse) and not response.prepared:
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        if isinstance(response, web.HTTPException):
            raise response
        return response

    # -- pages -----------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        sign_in = self.current(request)
        if sign_in is None:
            said = {"out": _("Signed out."), "ended": _("Your sign-in has ended: sign in again.")}
            return self._sign_in_page(request, said.get(request.query.get("said", ""), ""))
        if sign_in.waiting is None or sign_in.waiting.closed:
            await self._start_early(sign_in)
        return web.Response(text=self._app_page(sign_in), content_type="text/html")

    async def _start_early(self, sign_in: SignIn) -> None:
        """Start the page's session now, while the browser loads the page's scripts (at the size
        of the last page; the page's own size follows when it connects)."""
        session = BrowserSession(self.hub, sign_in, sign_in.size)
        if await session.start():
            return  # refused: the websocket says why
        sign_in.waiting = session
        loop = asyncio.get_running_loop()
        loop.call_later(UNCLAIMED_SECONDS, session.unclaimed)

    def _sign_in_page(
        self, request: web.Request, message: str, status: int = 200, login: str = ""
    ) -> web.Response:
        token = request.cookies.get(PRE_COOKIE) or ""
        if len(token) < 32:
            token = secrets.token_urlsafe(32)
        text = SIGN_IN_PAGE.format(
            title=_e(_("Sign in · prepfloor")),
            heading=_e(_("Sign in to prepfloor")),
            login_label=_e(_("Login")),
            password_label=_e(_("Password")),
            button=_e(_("Sign in")),
            token=_e(token),
            login=_e(login),
            message=_e(message),
            hint=_e(_("No password yet? Ask an admin: prepfloor users set-password LOGIN.")),
        )
        response = web.Response(text=text, content_type="text/html", status=status)
        self._set_cookie(response, PRE_COOKIE, token)
        return response

    def _app_page(self, sign_in: SignIn) -> str:
        return APP_PAGE.format(
            title=_e(_("prepfloor")),
            csrf=_e(sign_in.csrf),
            who=_e(
                _("Signed in as {name}").format(name=sign_in.name)
                if not sign_in.is_terminal
                else _("Workshop terminal {name}").format(name=sign_in.name)
            ),
            upload=_e(_("Upload a file")),
            drop=_e(_("Drop the file to put it in your prepfloor files")),
            sign_out=_e(_("Sign out")),
            ended=_e(_("This prepfloor session has ended.")),
            again=_e(_("Open prepfloor again")),
            refused=_e(_("prepfloor could not start here.")),
        )

    async def sign_in(self, request: web.Request) -> web.Response:
        from db import users
        from db.errors import PrepfloorError

        address = self.address(request)
        if not self.same_origin(request):
            log.warning("web sign-in from %s refused: from another origin", address)
            raise web.HTTPForbidden(text=_("Sign in from prepfloor's own page."))
        form = await request.post()
        token = str(form.get("csrf", ""))
        expected = request.cookies.get(PRE_COOKIE, "")
        login = str(form.get("login", "")).strip()[:64]
        if not expected or not hmac.compare_digest(token, expected):
            log.warning("web sign-in from %s refused: the form's token did not match", address)
            return self._sign_in_page(
                request, _("The form had expired: sign in again."), 400, login
            )
        if self.failures.blocked(address):
            log.warning(
                "web sign-in of %r from %s refused: too many failed sign-ins", login, address
            )
            return self._sign_in_page(
                request, _("Too many failed sign-ins from here: wait a few minutes."), 429, login
            )
        password = str(form.get("password", ""))
        try:
            actor = await asyncio.to_thread(
                self.hub.store.run, users.sign_in_password, login, password, address=address
            )
        except PrepfloorError as refusal:
            self.failures.failed(address)
            log.warning("web sign-in of %r from %s refused: %s", login, address, refusal)
            return self._sign_in_page(request, str(refusal), 401, login)
        is_terminal = await asyncio.to_thread(self.hub.store.fast.is_terminal, actor.login)
        sign_in = self.sign_ins.new(actor.login, actor.display_name, is_terminal, address)
        log.info(
            "web sign-in of %s from %s%s",
            actor.login,
            address,
            " (terminal)" if is_terminal else "",
        )
        response = web.HTTPSeeOther("/")
        self._set_cookie(response, self.cookie_name, sign_in.token)
        response.del_cookie(PRE_COOKIE, path="/")
        raise response

    async def sign_out_form(self, request: web.Request) -> web.Response:
        sign_in = self.current(request)
        if sign_in is not None:
            form = await request.post()
            if not self.same_origin(request) or not hmac.compare_digest(
                str(form.get("csrf", "")), sign_in.csrf
            ):
                raise web.HTTPForbidden(text=_("Sign out from prepfloor's own page."))
            self.sign_out(sign_in, "the page")
        response = web.HTTPSeeOther("/?said=out")
        response.del_cookie(self.cookie_name, path="/")
        raise response

    def sign_out(self, sign_in: SignIn, why: str) -> None:
        """End ``sign_in`` and every page's session of it."""
        if self.sign_ins.by_token.pop(sign_in.token, None) is None:
            return
        log.info("web sign-out of %s from %s (%s)", sign_in.login, sign_in.address, why)
        for session in list(sign_in.sessions):
            background(_tell(session, ["prepfloor_signed_out", {"why": why}]))
            session.end(signal.SIGHUP)  # the app leaves the normal way

    # -- the app ---------------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        address = self.address(request)
        sign_in = self.current(request)
        if sign_in is None:
            log.warning("web session from %s refused: not signed in", address)
            raise web.HTTPForbidden(text=_("Sign in first."))
        if not self.same_origin(request):
            log.warning(
                "web session of %s from %s refused: from another origin (%r)",
                sign_in.login,
                address,
                request.headers.get("Origin"),
            )
            raise web.HTTPForbidden(text=_("Open prepfloor from its own page."))
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        size = _size(request.query.get("width"), request.query.get("height"))
        sign_in.size = size
        session = sign_in.take_waiting()
        if session is None:
            session = BrowserSession(self.hub, sign_in, size)
            refused = await session.start()
            if refused:
                await BrowserSession.refuse(ws, refused)
                return ws
        await session.attach(ws, size)
        return ws

    async def download(self, request: web.Request) -> web.StreamResponse:
        sign_in = self.current(request)
        key = request.match_info["key"]
        session = self.hub.web_downloads.get(key)
        if sign_in is None or session is None or session.sign_in is not sign_in:
            raise web.HTTPNotFound(text=_("No such file: ask prepfloor for it again."))
        item = session.downloads.get(key)
        if item is None or item.started:
            raise web.HTTPNotFound(text=_("No such file: ask prepfloor for it again."))
        item.started = True
        quoted = urllib.parse.quote(item.name, safe="")
        ascii_name = "".join(c if c.isalnum() or c in "._- ()" else "_" for c in item.name)
        response = web.StreamResponse(
            headers={
                "Content-Type": item.mime_type or "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quoted}",
                **SECURITY_HEADERS,
            }
        )
        await response.prepare(request)
        try:
            async for chunk in session.read_download(item):
                await response.write(chunk)
        finally:
            session.forget_download(key)
        await response.write_eof()
        log.info("web download by %s from %s: %s", sign_in.login, sign_in.address, item.name)
        return response

    async def upload(self, request: web.Request) -> web.Response:
        from db.errors import PrepfloorError
        from db.file_area import check_name

        sign_in = self.current(request)
        if sign_in is None or not self.same_origin(request):
            raise web.HTTPForbidden(text=_("Sign in first."))
        if not hmac.compare_digest(request.headers.get("X-CSRF-Token", ""), sign_in.csrf):
            raise web.HTTPForbidden(text=_("Upload from prepfloor's own page."))
        if sign_in.is_terminal:
            return _said(_("A workshop terminal keeps no files: sign in as yourself."), 403)
        name = urllib.parse.unquote(request.headers.get("X-File-Name", ""))
        instance = request.headers.get("X-Prepfloor-Instance", "")
        picked = request.headers.get("X-Prepfloor-Picked") == "1"
        area = self.hub.limits.file_area(sign_in.login)
        try:
            check_name(name)
            content = await _body(request, area.max_file)
            if content is None:
                raise area.too_big(name, request.content_length or area.max_file + 1)
            kept = await asyncio.to_thread(area.write_new, name, content)
        except PrepfloorError as refusal:
            log.warning(
                "web upload by %s from %s refused: %r: %s",
                sign_in.login,
                sign_in.address,
                name,
                refusal,
            )
            return _said(str(refusal), 400)
        log.info(
            "web upload by %s from %s: %r, %d bytes",
            sign_in.login,
            sign_in.address,
            kept,
            len(content),
        )
        sign_in.used()
        for session in sign_in.sessions:
            if session.instance == instance:
                await session.file_arrived(kept, picked)
        return _said(_("{name} is in your prepfloor files.").format(name=kept), 200, kept)

    async def static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        entry = self.static.get(name)
        if entry is None:
            raise web.HTTPNotFound()
        if name not in self.static_bytes:  # read (and compressed) once, on first use
            path, content_type = entry
            plain = path.read_bytes()
            packed = (
                gzip.compress(plain, 9, mtime=0) if not content_type.startswith("font") else b""
            )
            self.static_bytes[name] = (plain, packed, content_type)
        plain, packed, content_type = self.static_bytes[name]
        headers = {"Cache-Control": "private, max-age=86400", "Vary": "Accept-Encoding"}
        if packed and "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=packed, content_type=content_type, headers=headers)
        return web.Response(body=plain, content_type=content_type, headers=headers)


async def _body(request: web.Request, most: int) -> bytes | None:
    """The request's body, or None when it is longer than ``most`` bytes (not all read)."""
    if request.content_length is not None and request.content_length > most:
        return None
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > most:
            return None
        parts.append(chunk)
    return b"".join(parts)


def _said(message: str, status: int, name: str = "") -> web.Response:
    return web.json_response({"message": message, "name": name}, status=status)


async def _tell(session: BrowserSession, message: list[Any]) -> None:
    with contextlib.suppress(Exception):
        await session.ws.send_json(message)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def page_template(name: str) -> str:
    return (resources.files("prepfloor") / "web" / name).read_text(encoding="utf-8")


SIGN_IN_PAGE = page_template("sign-in.html")
APP_PAGE = page_template("app.html")

__all__ = ["SignIn", "SignIns", "WebServer"]
