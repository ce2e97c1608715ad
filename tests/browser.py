"""A real browser for the tests of heapline's HTML pages: headless Chromium
(Debian's `chromium` package), driven through the DevTools protocol over a
pipe (--remote-debugging-pipe: JSON messages ended by NUL on file descriptors
3 and 4), so the tests need no package beyond the browser itself.

    with Browser() as b:
        page = b.open(Path("report.html"))
        page.eval("document.title")
        page.click("#lines-table th[data-col='3'] button")
        page.screenshot(Path("shot.png"))
        page.requests      # every URL the page asked for, as the browser saw it
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    env = os.environ.get("HEAPLINE_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def need_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("no headless Chromium (apt-get install chromium; or set "
                    "HEAPLINE_CHROMIUM): the HTML pages are tested in a real browser")
    return path


class BrowserError(Exception):
    pass


class Browser:
    """One headless Chromium; `open` gives a Page (one tab) per call."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.exe = need_chromium()
        self.timeout = timeout
        self._id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []
        self.profile_dir = tempfile.mkdtemp(prefix="hl-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds() -> None:  # in the child: the protocol's descriptors 3 and 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [self.exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--mute-audio",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--remote-debugging-pipe", f"--user-data-dir={self.profile_dir}",
             "about:blank"],
            preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

    # ---- protocol -----------------------------------------------------------
    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        want = self._id
        deadline = time.monotonic() + self.timeout
        while True:
            for m in self._read(deadline):
                if m.get("id") == want:
                    if "error" in m:
                        raise BrowserError(f"{method}: {m['error']}")
                    return dict(m.get("result", {}))
                self.events.append(m)

    def _read(self, deadline: float) -> Iterator[dict[str, Any]]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowserError("the browser did not answer in time")
        ready, _, _ = select.select([self._from_chrome], [], [], left)
        if ready:
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed its pipe")
            self._buffer += chunk
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            yield json.loads(raw)

    def wait_event(self, method: str, session: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method and e.get("sessionId") == session:
                    return self.events.pop(i)
            for m in self._read(deadline):
                self.events.append(m)

    def open(self, path: Path | str, width: int = 1366, height: int = 900,
             dark: bool = False) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session)
        self.send("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
            session=session)
        url = path if isinstance(path, str) else path.resolve().as_uri()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session)
        page.wait_for("document.documentElement.dataset.ready === '1'")
        return page

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile_dir, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def eval(self, expression: str, await_promise: bool = False) -> Any:
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": await_promise})
        if "exceptionDetails" in r:
            raise BrowserError(f"{expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.eval(f"!!({expression})"):
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}; console: "
                                   f"{self.console()}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        x, y = self.center(selector)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                    "button": "left", "clickCount": 1})

    def hover(self, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def center(self, selector: str) -> tuple[float, float]:
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }})()""")
        if box is None:
            raise BrowserError(f"no element {selector}")
        return float(box[0]), float(box[1])

    def texts(self, selector: str) -> list[str]:
        return list(self.eval(f"[...document.querySelectorAll({json.dumps(selector)})]"
                              ".map(e => e.textContent)"))

    def screenshot(self, path: Path, full: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full:
            w, h = self.eval("[document.documentElement.scrollWidth, "
                             "document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": w, "height": min(h, 8000), "scale": 1})
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def _events(self, method: str) -> list[dict[str, Any]]:
        # drain what has arrived, then the events of this page
        try:
            self.send("Runtime.evaluate", {"expression": "0"})
        except BrowserError:
            pass
        return [e for e in self.browser.events
                if e.get("method") == method and e.get("sessionId") == self.session]

    @property
    def requests(self) -> list[str]:
        """URLs of every request the page made (Network.requestWillBeSent)."""
        return [e["params"]["request"]["url"] for e in self._events("Network.requestWillBeSent")]

    def console(self) -> list[str]:
        out = []
        for e in self._events("Runtime.consoleAPICalled"):
            out.append(" ".join(str(a.get("value", a.get("description", "")))
                                for a in e["params"].get("args", [])))
        for e in self._events("Runtime.exceptionThrown"):
            out.append("exception: " + json.dumps(e["params"]["exceptionDetails"])[:500])
        for e in self._events("Log.entryAdded"):
            out.append(f"{e['params']['entry'].get('level')}: {e['params']['entry'].get('text')}")
        return out
