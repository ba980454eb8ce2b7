"""``prepfloor serve`` to web browsers, beside its SSH sessions in the same run: one server with
``[web]`` on, the demo database, real ``ssh -tt`` clients (as bench_serve.py) and Debian's chromium
(headless, driven by Playwright), both at 120x40.

Prints, for SSH and for the browser:

* one session to the first painted screen (the car list with its count line), median of N: for
  SSH from starting ``ssh``, for the browser from opening the page (already signed in) until the
  page's terminal shows the list (read from the frames the browser received);
* the server's share of that: the page, its static files and the websocket fetched by a plain
  client (no browser) until the app's frames show the list, median of N (the browser's own work,
  a headless Chromium drawing xterm.js without a GPU on the same CPUs, is the rest);
* a key to its repaint in the browser: from the key going down in the page to the first frame
  the page receives after it, drawn (the next animation frame), p50 and p99 over N keys (arrows
  moving the cursor in the car list);
* N sessions at once (32) until every one shows that screen;
* server memory per session: PSS of the server's whole process tree with the N sessions up, minus
  the idle server, over N: when the last one has painted, and 3 s later.

Usage: python bench/bench_web.py [--runs 10] [--keys 200] [--at-once 32] [--db FILE.db]
Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, code_version, load_note
from bench_serve import (
    COLS,
    ROWS,
    Backend,
    Served,
    free_port,
    one_login,
    prepare,
    pss_mb,
    tree,
    wait_port,
)

sys.path.insert(0, str(ROOT / "tests"))
from browser import launch

PASSWORD = "bench-password-1"
PAINTED = "cars · all cars"
# Records, in the page, when each key went down and when each frame arrived and was drawn.
TIMING = """
(() => {
  const Native = window.WebSocket;
  window.__keys = []; window.__frames = [];
  window.addEventListener("keydown", () => window.__keys.push(performance.now()), true);
  window.WebSocket = function (url, protocols) {
    const ws = new Native(url, protocols);
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") {
        requestAnimationFrame(() => window.__frames.push(performance.now()));
      }
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""


class ServedWeb(Served):
    """``prepfloor serve`` with ``[web]`` on a port of its own."""

    def __init__(self, workdir: Path, url: str) -> None:
        self.web_port = free_port()
        super().__init__(workdir, url, self.web_port)
        wait_port(self.web_port, self.process)
        self.base = f"http://127.0.0.1:{self.web_port}"


class Page:
    """One browser page of prepfloor, and what its terminal shows."""

    def __init__(self, browser: Any, base: str, state: dict[str, Any]) -> None:
        import pyte

        self.context = browser.new_context(
            base_url=base, storage_state=state, viewport={"width": 1500, "height": 900}
        )
        self.context.add_init_script(TIMING)
        self.page = self.context.new_page()
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.page.on("websocket", self._socket)
        self.started = 0.0
        self.painted: float | None = None

    def _socket(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: Any) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)
            if self.painted is None and PAINTED in "\n".join(self.screen.display):
                self.painted = time.perf_counter() - self.started

    def open(self) -> None:
        self.started = time.perf_counter()
        self.page.goto("/", wait_until="commit")

    def close(self) -> None:
        self.context.close()


def server_share(base: str, login: str, runs: int) -> list[float]:
    """Seconds from asking for the page to the painted list, fetched without a browser."""
    import asyncio
    import re

    import aiohttp
    import pyte

    async def measure() -> list[float]:
        out = []
        jar = aiohttp.CookieJar(unsafe=True)  # cookies of 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            page = await (await client.get(base + "/")).text()
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token is not None
            form = {"csrf": token.group(1), "login": login, "password": PASSWORD}
            await client.post(base + "/sign-in", data=form, headers={"Origin": base})
            for run in range(runs + 1):
                screen = pyte.Screen(COLS, ROWS)
                stream = pyte.ByteStream(screen)
                started = time.perf_counter()
                await (await client.get(base + "/")).text()
                for name in ("prepfloor.css", "xterm.css", "prepfloor.js", "textual.js"):
                    await (await client.get(f"{base}/static/{name}")).read()
                await (await client.get(f"{base}/static/RobotoMono.ttf")).read()
                url = f"{base}/ws?width={COLS}&height={ROWS}"
                async with client.ws_connect(url, headers={"Origin": base}) as ws:
                    async for message in ws:
                        if message.type == aiohttp.WSMsgType.BINARY:
                            stream.feed(message.data)
                            if PAINTED in "\n".join(screen.display):
                                break
                if run:  # the first, not counted
                    out.append(time.perf_counter() - started)
                await asyncio.sleep(0.5)  # its session ends
        return out

    return asyncio.run(measure())


def signed_in_state(browser: Any, base: str, login: str) -> dict[str, Any]:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#terminal")
    state = context.storage_state()
    context.close()
    return state


def until_pages_painted(pages: list[Page], limit: float = 180) -> float:
    deadline = time.monotonic() + limit
    while any(p.painted is None for p in pages):
        if time.monotonic() > deadline:
            raise RuntimeError("pages did not paint")
        pages[0].page.wait_for_timeout(5)  # Playwright delivers the frames while it waits
    return max(p.painted or 0 for p in pages)


def one_page(browser: Any, base: str, state: dict[str, Any]) -> float:
    page = Page(browser, base, state)
    page.open()
    painted = until_pages_painted([page], 60)
    page.close()
    return painted


def key_latencies(browser: Any, base: str, state: dict[str, Any], keys: int) -> list[float]:
    """Milliseconds from a key going down to the next frame drawn, per key."""
    page = Page(browser, base, state)
    page.open()
    until_pages_painted([page], 60)
    page.page.wait_for_timeout(1000)
    page.page.locator(".xterm-helper-textarea").focus()
    latencies = []
    for n in range(keys):
        page.page.evaluate("() => { window.__frames = []; window.__keys = []; }")
        page.page.keyboard.press("ArrowDown" if (n // 10) % 2 == 0 else "ArrowUp")
        page.page.wait_for_function("() => window.__frames.length > 0", timeout=10_000)
        page.page.wait_for_timeout(30)  # the rest of this key's frames
        down, first = page.page.evaluate("() => [window.__keys[0], window.__frames[0]]")
        latencies.append(first - down)
    page.close()
    return latencies


def pages_at_once(
    backend: ServedWeb, browser: Any, state: dict[str, Any], n: int
) -> tuple[float, float, float]:
    time.sleep(1.0)
    idle_pss = pss_mb(tree(backend.process.pid))
    pages = [Page(browser, backend.base, state) for _ in range(n)]
    for page in pages:
        page.open()
    seconds = until_pages_painted(pages)
    at_paint = (pss_mb(tree(backend.process.pid)) - idle_pss) / n
    pages[0].page.wait_for_timeout(3000)
    settled = (pss_mb(tree(backend.process.pid)) - idle_pss) / n
    for page in pages:
        page.close()
    return seconds, at_paint, settled


def ssh_at_once(backend: Backend, login: str, key: Path, n: int) -> tuple[float, float, float]:
    from bench_serve import at_once

    seconds, _cpu, at_paint, settled = at_once(backend, login, key, n)
    return seconds, at_paint, settled


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="single sessions of each kind")
    parser.add_argument("--keys", type=int, default=200, help="keys timed in the browser")
    parser.add_argument("--at-once", type=int, default=32, help="sessions at once")
    parser.add_argument("--db", type=Path, help="a SQLite file to copy (default: a new demo)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from db import users
    from db.store import Store

    load_before = load_note()
    workdir = Path(tempfile.mkdtemp(prefix="prepfloor-bench-web-"))
    url, login, key = prepare(workdir, args.db)
    store = Store(url)
    actor = store.fast.actor(login)
    assert actor is not None
    store.run(users.set_password, None, actor.user_id, PASSWORD)
    store.close()
    backend = ServedWeb(workdir, url)
    try:
        share = server_share(backend.base, login, args.runs)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            state = signed_in_state(browser, backend.base, login)
            one_login(backend, login, key)  # the first of each, not counted
            one_page(browser, backend.base, state)
            ssh: list[float] = []
            web: list[float] = []
            for _ in range(args.runs):  # interleaved: both see the same machine
                ssh.append(one_login(backend, login, key))
                web.append(one_page(browser, backend.base, state))
            keys = key_latencies(browser, backend.base, state, args.keys)
            ssh_burst = ssh_at_once(backend, login, key, args.at_once)
            web_burst = pages_at_once(backend, browser, state, args.at_once)
            browser.close()
    finally:
        backend.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    what = args.db or "the demo database"
    print(f"\nprepfloor serve: SSH and web browser sessions, {COLS}x{ROWS}, {what}")
    print(f"code {code_version()}; before: {load_before}; after: {load_note()}")
    print(f"{'':48}{'SSH':>16}{'browser':>16}{'goal (web)':>14}")

    def row(label: str, a: str, b: str, goal: str) -> None:
        print(f"{label:48}{a:>16}{b:>16}{goal:>14}")

    row(
        f"session to first screen (median of {args.runs})",
        f"{statistics.median(ssh):.3f} s",
        f"{statistics.median(web):.3f} s",
        "≤ 0.5 s",
    )
    row("  (min / max)", f"{min(ssh):.2f} / {max(ssh):.2f}", f"{min(web):.2f} / {max(web):.2f}", "")
    row(
        "  of which the server's share (no browser)",
        "",
        f"{statistics.median(share):.3f} s",
        "",
    )
    ordered = sorted(keys)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    row(
        f"key to repaint in the page, p50 / p99 ({args.keys})",
        "",
        f"{statistics.median(keys):.0f} / {p99:.0f} ms",
        "p99 ≤ 50 ms",
    )
    row(
        f"{args.at_once} sessions at once, until all painted",
        f"{ssh_burst[0]:.2f} s",
        f"{web_burst[0]:.2f} s",
        "",
    )
    row(
        "server memory per session (PSS), at paint",
        f"{ssh_burst[1]:.1f} MB",
        f"{web_burst[1]:.1f} MB",
        "",
    )
    row(
        "server memory per session (PSS), 3 s later",
        f"{ssh_burst[2]:.1f} MB",
        f"{web_burst[2]:.1f} MB",
        "≤ 25 MB",
    )


if __name__ == "__main__":
    main()
