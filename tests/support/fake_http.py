"""Shared machinery of the fake HTTP servers: a real ThreadingHTTPServer on 127.0.0.1, a request
log with arrival times, and runtime-settable fault switches (latency, 429, 5xx, timeouts, bad JSON).

Faults are injected *before* the route handler runs, so they apply to every endpoint matching
``Faults.path_pattern`` — exactly what a flaky upstream looks like to a client.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    t_mono: float  # time.monotonic() at arrival (same clock in every process on Linux)
    t_wall: float  # time.time() at arrival
    status: int
    authorization: str | None


@dataclasses.dataclass
class Faults:
    """Switches tests flip at runtime. Counters decrement as they fire."""

    latency_s: float = 0.0
    path_pattern: str = ""  # regex searched in the path; "" = every path
    fail_429: int = 0  # next N matching requests get 429
    storm_429: bool = False  # every matching request gets 429 until switched off
    retry_after: int | None = 1  # Retry-After seconds on 429s (None: header omitted)
    fail_5xx: int = 0
    status_5xx: int = 503
    timeouts: int = 0  # next N requests sleep timeout_sleep_s before answering
    timeout_sleep_s: float = 5.0
    malformed: int = 0  # next N requests get a truncated JSON body with status 200


class GCRABudget:
    """Horizon-like GCRA limiter (throttled): ``per_hour`` sustained, ``burst`` extra.

    Produces the X-RateLimit-* headers Horizon sends (Limit = burst + 1, Reset in seconds).
    """

    def __init__(self, per_hour: float, burst: int) -> None:
        self.interval = 3600.0 / per_hour
        self.burst = burst
        self.tat = 0.0  # theoretical arrival time
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            now = time.monotonic()
            tat = max(self.tat, now)
            limit = self.burst + 1
            allow_at = tat + self.interval - limit * self.interval
            if now < allow_at:
                remaining, retry = 0, math.ceil(allow_at - now)
                reset = math.ceil(tat - now)
                return False, {
                    "X-Ratelimit-Limit": str(limit),
                    "X-Ratelimit-Remaining": "0",
                    "X-Ratelimit-Reset": str(reset),
                    "Retry-After": str(max(retry, 1)),
                }
            self.tat = tat + self.interval
            remaining = int((now - (self.tat - limit * self.interval)) / self.interval)
            reset = math.ceil(self.tat - now)
            return True, {
                "X-Ratelimit-Limit": str(limit),
                "X-Ratelimit-Remaining": str(max(remaining, 0)),
                "X-Ratelimit-Reset": str(reset),
            }


class Reply(Exception):
    """Raised by route handlers to send a response: ``Reply(status, body, content_type, headers)``."""

    def __init__(
        self,
        status: int,
        body: Any,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status, self.body, self.content_type, self.headers = status, body, content_type, headers or {}


class FakeServer:
    """Base class: subclasses implement ``route(method, path, query, headers) -> Reply`` and
    ``rate_limited_reply(headers)``."""

    name = "fake"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.faults = Faults()
        self.budget: GCRABudget | None = None
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        # A short poll interval keeps stop() (shutdown waits for one poll) fast in tests.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ inspection
    def reset(self) -> None:
        with self._lock:
            self.faults = Faults()
            self.requests.clear()

    def request_log(self, pattern: str = "") -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if re.search(pattern, r.path)]

    def count(self, pattern: str = "") -> int:
        return len(self.request_log(pattern))

    # ------------------------------------------------------------------ overridable
    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    def rate_limited_reply(self, headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    def error_reply(self, status: int) -> Reply:
        return Reply(status, {"error": "Server error", "status": status})

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[Reply, float, bool]:
        """Returns (reply, sleep-before-answer seconds, malformed?)."""
        arrived_mono, arrived_wall = time.monotonic(), time.time()  # before any work: true arrival
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            f = self.faults
            applies = not f.path_pattern or re.search(f.path_pattern, parts.path) is not None
            sleep, malformed, reply = f.latency_s, False, None
            if applies and f.timeouts > 0:
                f.timeouts -= 1
                sleep += f.timeout_sleep_s
            if applies and (f.storm_429 or f.fail_429 > 0):
                f.fail_429 = max(0, f.fail_429 - 1)
                extra = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                reply = self.rate_limited_reply(extra)
            elif applies and f.fail_5xx > 0:
                f.fail_5xx -= 1
                reply = self.error_reply(f.status_5xx)
            elif applies and f.malformed > 0:
                f.malformed -= 1
                malformed = True
        rl_headers: dict[str, str] = {}
        if reply is None and self.budget is not None:
            allowed, rl_headers = self.budget.take()
            if not allowed:
                reply = self.rate_limited_reply(rl_headers)
        if reply is None:
            try:
                reply = self.route(method, parts.path, query, headers)
            except Reply as r:
                reply = r
        if rl_headers and reply.status != 429:
            reply.headers = {**rl_headers, **reply.headers}
        with self._lock:
            self.requests.append(
                RequestRecord(
                    method, parts.path, query, arrived_mono, arrived_wall, reply.status, headers.get("authorization")
                )
            )
        return reply, sleep, malformed

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes on a kept-alive connection: with Nagle on, the body
            # waits for the client's delayed ACK of the headers (~40 ms a request). Real servers set
            # TCP_NODELAY too.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (stdlib name)
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply, sleep, malformed = server._dispatch("GET", self.path, headers)
                if sleep:
                    time.sleep(sleep)
                if isinstance(reply.body, (dict, list)):
                    body = json.dumps(reply.body, indent=2).encode()
                else:
                    body = str(reply.body).encode()
                if malformed:
                    body = body[: max(1, len(body) // 2)]  # truncated JSON, still "200 OK"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing to answer

            def log_message(self, fmt: str, *args: Any) -> None:
                pass  # the request log replaces stderr access logs

        return Handler


def run_forever(servers: list[FakeServer], on_ready: Callable[[], None]) -> None:
    for s in servers:
        s.start()
    on_ready()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for s in servers:
            s.stop()
