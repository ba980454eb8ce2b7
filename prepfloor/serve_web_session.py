"""One browser session of ``prepfloor serve``: a websocket on one side, the app (a child of the
zygote, on Textual's web driver) on the other, joined by a socket pair.

What crosses, and nothing else:

* from the page (JSON text frames, as Textual's ``textual.js`` sends them): keys (``stdin``), the
  size of the terminal (``resize``), focus and blur, and pings (answered here);
* from the app (Textual's packets: ``D`` frames, ``M`` JSON, ``P`` binary): frames go to the page
  as binary messages; a file the app delivers becomes a download the page fetches from
  ``/download/<key>`` with the same sign-in; a request for the file picker and a sign-out go to
  prepfloor's own script on the page.  A link the app would open is not passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from db.i18n import _
from prepfloor.serve_limits import BUSY

if TYPE_CHECKING:
    from aiohttp import web

    from prepfloor.serve import Hub
    from prepfloor.serve_web import SignIn

log = logging.getLogger("prepfloor.serve")

MAX_PACKET = 32 * 1024 * 1024  # bytes of one packet from the app
MAX_KEPT = 8 * 1024 * 1024  # bytes of frames kept for a page that has not connected yet
UNCLAIMED_SECONDS = 20.0  # a session started for a page that never connects ends after this
MAX_TERMINAL = (1000, 500)  # columns, rows: a page cannot make the app lay out a huge screen
CHUNK = 64 * 1024  # bytes of a download asked of the app at a time
HANGUP_GRACE_SECONDS = 0.5
GANGLION = b"__GANGLION__\n"  # what Textual's web driver writes before its first packet
MODES = re.compile(rb"(\x1b\[[0-9;?$]*[A-Za-z])+")  # a packet that only sets terminal modes


_running: set[asyncio.Future[Any]] = set()


def background(coroutine: Any) -> None:
    """Run ``coroutine`` on its own, kept until it ends (a task nobody holds may be collected)."""
    task = asyncio.ensure_future(coroutine)
    _running.add(task)
    task.add_done_callback(_running.discard)


@dataclass
class Download:
    """A file the app is handing to the browser, read from the app chunk by chunk."""

    key: str
    name: str
    mime_type: str
    chunks: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    started: bool = False


class BrowserSession:
    """One page's app session (counted with the SSH sessions against the server's limits).

    It may start before its page connects: the server starts it when it sends the page
    (:meth:`start`), so the app's first screen is being made while the browser loads the page's
    scripts; what the app draws meanwhile is kept and handed to the page when its websocket
    arrives (:meth:`attach`).  A session no page claims within :data:`UNCLAIMED_SECONDS` ends."""

    def __init__(self, hub: Hub, sign_in: SignIn, size: tuple[int, int]) -> None:
        self.hub = hub
        self.sign_in = sign_in
        self.ws: web.WebSocketResponse | None = None
        self.size = size
        self.instance = secrets.token_urlsafe(16)  # the page's name for this session (uploads)
        self.number: int | None = None
        self.pid = 0
        self.ours: socket.socket | None = None
        self.theirs: socket.socket | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None
        self.from_app: asyncio.Future[None] | None = None
        self.requested = False
        self.closed = False
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.downloads: dict[str, Download] = {}
        self.farewell = ""
        self.kept: list[bytes | list[Any]] = []  # for the page, until it connects
        self.kept_bytes = 0
        self.attached = asyncio.Event()
        self.drawn = asyncio.Event()  # the app has drawn its first screen

    @property
    def login(self) -> str:
        return self.sign_in.login

    @property
    def address(self) -> str:
        return self.sign_in.address

    # -- the whole life of the session -----------------------------------------------------------
    async def start(self) -> str:
        """Fork the app; "" when it is on its way, else why not (said to the user)."""
        refused, message = self.hub.refusal(self.login)
        if refused:
            log.info("web session of %s from %s refused: %s", self.login, self.address, refused)
            self.closed = True
            return message.strip()
        try:
            self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError as error:
            self.hub.out_of_resources(error, "a web session could not get a socket")
            self.closed = True
            return _(BUSY)
        self.number = self.hub.add(self)
        self.sign_in.sessions.add(self)
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.ours)
        await self._spawn()
        self.from_app = asyncio.ensure_future(self._from_app(self.reader))
        return ""

    def unclaimed(self) -> None:
        """No page came for this session: it ends."""
        if not self.attached.is_set() and not self.closed:
            log.info("web session %s: no page came for it", self.number)
            self.end(signal.SIGHUP)
            self.close()

    async def attach(self, ws: web.WebSocketResponse, size: tuple[int, int]) -> None:
        """The page's websocket: what was kept goes first, then both ways until either ends."""
        self.ws = ws
        self.sign_in.used()
        try:
            await ws.send_json(["instance_id", self.instance])
            resized = size != self.size
            if resized:  # the app draws the whole screen again at the page's size
                await self._resize(size)
            while self.kept:  # what the app drew before the page came
                item = self.kept.pop(0)
                if isinstance(item, bytes):
                    # frames of another size would scroll the page's terminal; the modes the
                    # app set (alternate screen, mouse, paste) are needed all the same
                    if not resized or MODES.fullmatch(item):
                        await ws.send_bytes(item)
                else:
                    await ws.send_json(item)
            self.attached.set()
            assert self.from_app is not None
            from_page = asyncio.ensure_future(self._from_page())
            done, _pending = await asyncio.wait(
                {self.from_app, from_page}, return_when=asyncio.FIRST_COMPLETED
            )
            if from_page in done and self.pid:  # the page went away: the app goes too
                log.info("web session %s: %s from %s left", self.number, self.login, self.address)
                self.end(signal.SIGHUP)
                pid = self.pid
                asyncio.get_running_loop().call_later(HANGUP_GRACE_SECONDS, self._kill, pid)
            for task in (self.from_app, from_page):
                if not task.done():
                    task.cancel()
            for task in (self.from_app, from_page):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        finally:
            self.close()

    async def _to_page(self, item: bytes | list[Any]) -> None:
        """A frame (bytes) or a message (JSON) for the page, kept until it has connected."""
        if self.ws is None or not self.attached.is_set():
            if self.kept_bytes > MAX_KEPT:  # the page is not coming: the frames are not kept
                return
            self.kept.append(item)
            self.kept_bytes += len(item) if isinstance(item, bytes) else 100
            return
        if isinstance(item, bytes):
            await self.ws.send_bytes(item)
        else:
            await self.ws.send_json(item)

    async def _spawn(self) -> None:
        zygote = self.hub.zygote
        while True:
            await zygote.ready
            if self.closed or self.theirs is None:
                return
            if zygote.sock is not None:
                break
            await asyncio.sleep(0)
        zygote.spawn(
            {
                "id": self.number,
                "login": self.login,
                "terminal": self.sign_in.is_terminal,
                "web": True,
                "size": list(self.size),
            },
            self.theirs.fileno(),
        )
        self.requested = True

    def zygote_restarted(self) -> None:
        if self.requested and not self.pid and self.theirs is not None:
            self.requested = False
            background(self._spawn())

    def started(self, pid: int) -> None:
        self.pid = pid
        if self.theirs is not None:
            self.theirs.close()
            self.theirs = None
        log.info(
            "web session %s: %s from %s runs as pid %s%s",
            self.number,
            self.login,
            self.address,
            pid,
            " (terminal: sign-in screen)" if self.sign_in.is_terminal else "",
        )

    # -- the page's side -------------------------------------------------------------------------
    async def _from_page(self) -> None:
        from aiohttp import WSMsgType

        assert self.ws is not None
        async for message in self.ws:
            if message.type != WSMsgType.TEXT:
                continue  # the page sends text only
            try:
                kind, *rest = json.loads(message.data)
            except (ValueError, TypeError):
                continue
            if kind == "stdin" and rest and isinstance(rest[0], str):
                self.sign_in.used()
                await self._packet(b"D", rest[0].encode("utf-8", "replace"))
            elif kind == "resize" and rest and isinstance(rest[0], dict):
                await self._resize(_size(rest[0].get("width"), rest[0].get("height")))
            elif kind in ("focus", "blur"):
                await self._meta({"type": kind})
            elif kind == "ping" and rest and isinstance(rest[0], str) and len(rest[0]) < 40:
                await self.ws.send_json(["pong", rest[0]])

    async def _resize(self, size: tuple[int, int]) -> None:
        """Tell the app the page's size, once it has drawn its first screen: a size told while it
        is still starting would be overtaken by the size it started with."""
        self.size = self.sign_in.size = size
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drawn.wait(), 10)
        await self._meta({"type": "resize", "width": size[0], "height": size[1]})

    async def _packet(self, kind: bytes, payload: bytes) -> None:
        if self.writer is None or self.writer.is_closing():
            return
        self.writer.write(kind + len(payload).to_bytes(4, "big") + payload)
        await self.writer.drain()  # an app that does not read holds the page back

    async def _meta(self, meta: dict[str, Any]) -> None:
        await self._packet(b"M", json.dumps(meta).encode())

    # -- the app's side --------------------------------------------------------------------------
    async def _from_app(self, reader: asyncio.StreamReader) -> None:
        try:
            await reader.readuntil(GANGLION)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return  # the app ended before it drew anything (a user switched off meanwhile)
        while True:
            try:
                head = await reader.readexactly(5)
                size = int.from_bytes(head[1:], "big")
                if size > MAX_PACKET:
                    log.warning("web session %s: a packet of %d bytes", self.number, size)
                    return
                payload = await reader.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            kind = head[:1]
            if kind == b"D":
                if not self.drawn.is_set() and not MODES.fullmatch(payload):
                    self.drawn.set()
                await self._to_page(payload)
            elif kind == b"M":
                await self._app_meta(payload)
            elif kind == b"P":
                self._app_binary(payload)

    async def _app_meta(self, payload: bytes) -> None:
        try:
            meta = json.loads(payload)
        except ValueError:
            return
        kind = meta.get("type")
        if kind == "deliver_file_start":
            key = str(meta.get("key", ""))
            name = os.path.basename(str(meta.get("name") or meta.get("path") or "prepfloor"))
            if not key or len(self.downloads) >= 16:
                return
            self.downloads[key] = Download(key, name, str(meta.get("mime_type") or ""))
            self.hub.web_downloads[key] = self
            await self._to_page(["prepfloor_download", {"url": f"/download/{key}"}])
        elif kind == "prepfloor_pick":
            await self._to_page(["prepfloor_pick", {}])
        elif kind == "prepfloor_sign_out":
            self.hub.web.sign_out(self.sign_in, "the app")
        # "exit" is followed by the end of the app; "open_url" is not passed on

    def _app_binary(self, payload: bytes) -> None:
        from textual._binary_encode import load

        try:
            kind, key, chunk = load(payload)
        except Exception:
            return
        download = self.downloads.get(key) if kind == "deliver_chunk" else None
        if download is not None:
            download.chunks.put_nowait(bytes(chunk) if chunk else None)

    async def read_download(self, download: Download) -> Any:
        """The file's bytes, chunk by chunk, as the app hands them over."""
        while True:
            await self._meta({"type": "deliver_chunk_request", "key": download.key, "size": CHUNK})
            try:
                chunk = await asyncio.wait_for(download.chunks.get(), 30)
            except TimeoutError:
                return
            if chunk is None:
                return
            yield chunk

    def forget_download(self, key: str) -> None:
        self.downloads.pop(key, None)
        self.hub.web_downloads.pop(key, None)

    async def file_arrived(self, name: str, picked: bool) -> None:
        await self._meta({"type": "prepfloor_file", "name": name, "picked": picked})

    # -- the end ---------------------------------------------------------------------------------
    def child_exited(self, code: int) -> None:
        how = f"exit code {code}" if code >= 0 else f"signal {-code}"
        log.info(
            "web session %s: %s from %s ended (%s)", self.number, self.login, self.address, how
        )
        self.pid = 0
        if not self.exited.done():
            self.exited.set_result(code)
        background(self._finish())

    async def _finish(self) -> None:
        await asyncio.sleep(0.2)  # the app's last frames are read first
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        elif self.ws is None:
            self.close()

    def end(self, signum: int, message: str = "") -> None:
        self.farewell = self.farewell or message
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)
        elif (signum == signal.SIGKILL or not self.requested) and self.ws is not None:
            background(self.ws.close())

    def _kill(self, pid: int) -> None:
        if self.hub.by_pid.get(pid) is self:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def close(self, code: int = 0, message: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.hub.remove(self.number)
        self.sign_in.sessions.discard(self)
        for key in list(self.downloads):
            self.forget_download(key)
        if self.writer is not None:
            self.writer.close()
        for sock in (self.ours, self.theirs):
            if sock is not None:
                sock.close()
        self.ours = self.theirs = None
        if self.from_app is not None and not self.from_app.done():
            self.from_app.cancel()
        if self.ws is not None and not self.ws.closed:
            background(self.ws.close())

    @staticmethod
    async def refuse(ws: web.WebSocketResponse, message: str) -> None:
        """Tell the page why no session starts, and close."""
        with contextlib.suppress(Exception):
            await ws.send_json(["prepfloor_refused", {"message": message}])
            await ws.close()


def _size(width: Any, height: Any) -> tuple[int, int]:
    def clamp(value: Any, most: int, default: int) -> int:
        try:
            return max(1, min(int(value), most))
        except (TypeError, ValueError):
            return default

    return clamp(width, MAX_TERMINAL[0], 80), clamp(height, MAX_TERMINAL[1], 24)
