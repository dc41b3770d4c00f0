"""Headless Chromium driven over the Chrome DevTools Protocol, with no browser download.

Uses the Debian ``chromium`` package and the ``websockets`` client already in the venv (Airflow
depends on it), so CI needs only ``apt-get install -y chromium``. ``Browser`` starts Chromium with a
fresh profile, collects console errors, uncaught exceptions and failed loads from every frame, and
always shuts Chromium down (``close`` is idempotent and also runs from ``__exit__``).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
]


def find_chromium() -> str:
    for name in (os.environ.get("CHROMIUM_BIN"), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    raise RuntimeError(
        "Chromium not found: install the Debian package (apt-get install -y chromium) or set CHROMIUM_BIN"
    )


class Browser:
    def __init__(self, *, width: int = 1440, height: int = 1000, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.errors: list[str] = []
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self.proc = subprocess.Popen(
            [
                find_chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.ws = None
        try:
            port = self._devtools_port()
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
            page = next(t for t in targets if t["type"] == "page")
            # legacy=True: websockets 17 otherwise wants a context manager; this object owns the socket.
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=64 * 2**20, open_timeout=10, legacy=True)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send(
                "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
            )
        except BaseException:
            self.close()
            raise

    def _devtools_port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with code {self.proc.returncode} before DevTools was ready")
            if marker.exists() and (text := marker.read_text().split()):
                return int(text[0])
            time.sleep(0.1)
        raise TimeoutError("Chromium did not open its DevTools port")

    # --- protocol ---------------------------------------------------------------------------------
    def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self._ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer to {method}")
            message = json.loads(self.ws.recv(timeout=remaining))
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._on_event(message)

    def _on_event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.errors.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.errors.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        self._events.append(message)

    def pump(self, seconds: float) -> None:
        """Process events for ``seconds`` (console errors arrive asynchronously)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self._on_event(json.loads(self.ws.recv(timeout=remaining)))
            except TimeoutError:
                return

    # --- page helpers -----------------------------------------------------------------------------
    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", what=f"load of {url}")

    def wait_for(self, expression: str, *, what: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression)
            except RuntimeError:  # page is navigating: the context went away
                last = None
            if last:
                return last
            self.pump(0.2)
        raise TimeoutError(
            f"timed out waiting for {what} ({expression!r} -> {last!r}); url={self.evaluate('location.href')!r}"
        )

    def requests_sent(self, since: int = 0) -> list[dict[str, Any]]:
        """``request`` objects (url, method, headers, postData) of every Network.requestWillBeSent event
        from event number ``since`` on (``len(browser.events_seen())`` marks a point)."""
        return [e["params"]["request"] for e in self._events[since:] if e.get("method") == "Network.requestWillBeSent"]

    def events_seen(self) -> list[dict[str, Any]]:
        return list(self._events)

    def screenshot(self, path: Path) -> Path:
        """Full-page PNG (height follows the content)."""
        size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        data = self.send(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    # --- shutdown ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - the browser may already be gone
                pass
            self.ws = None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
