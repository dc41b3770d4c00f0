"""The one HTTP GET + retry policy used for Horizon and Stellar Expert.

Every *attempt* (each retry, each page) first takes a slot from the host-wide rate limiter, then
reports the response headers back to it. Retried: 429, 5xx, timeouts, connection errors and
unparseable JSON bodies, with exponential backoff + full jitter, never shorter than ``Retry-After``.
Never retried: other 4xx (they will not change by asking again). Request headers may carry API keys,
so they are never logged or put into error messages, and base URLs are shown without credentials
(``redact_url``).

Redirects are followed here, not by requests (which only drops ``Authorization`` on a host change and
would forward a key in any other header): within the base URL's origin (scheme, host, port) with the
configured headers; to any other origin with only ``Accept``/``User-Agent``, no URL credentials, and
never again with the key for the rest of that request. At most ``MAX_REDIRECTS`` hops.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import requests

log = logging.getLogger(__name__)

USER_AGENT = "stellar-lineage/1.0 (+airflow)"
MAX_REDIRECTS = 5
_SAFE_HEADERS = ("accept", "user-agent")  # the only headers sent to another origin after a redirect


def redact_url(url: str) -> str:
    """``url`` for logs and errors: user:password@ and query values replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    if "@" in parts.netloc:
        netloc = "***@" + netloc
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class StellarApiError(Exception):
    """Base class of every client error."""


class AccountNotFound(StellarApiError):
    """Horizon answered 404 for ``/accounts/{id}``: the account does not exist (or was merged)."""

    def __init__(self, account: str, network: str) -> None:
        super().__init__(f"Account {account} not found on {network} Horizon (HTTP 404)")
        self.account, self.network = account, network


class TransientApiError(StellarApiError):
    """Retries exhausted (or the server asked us to wait too long); worth trying again later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(TransientApiError):
    """Provider-level fault: 5xx, timeouts, connection errors or 429 still failing after the retry
    policy (or beyond the Retry-After cap), or the provider's circuit breaker is open. Never the
    record's fault: the API path releases the record without charging a retry."""

    def __init__(self, reason: str, provider: str) -> None:
        super().__init__(reason)
        self.provider = provider  # breaker key, e.g. "horizon:public"


class MalformedResponse(TransientApiError):
    """Bad JSON or an unexpected document shape. Record-level: retried later with backoff."""


class ApiRequestError(StellarApiError):
    """A non-retryable 4xx answer (400, 402, 403, 404 elsewhere than /accounts/{id}, 410 ...)."""

    def __init__(self, api: str, path: str, status: int, problem_type: str = "", title: str = "") -> None:
        kind = f" {problem_type.rsplit('/', 1)[-1]}" if problem_type else ""
        super().__init__(f"{api} GET {path}: HTTP {status}{kind}{f' ({title})' if title else ''}")
        self.api, self.path, self.status, self.problem_type, self.title = api, path, status, problem_type, title


class ProviderAuthError(ApiRequestError):
    """401/403: the API key (or the lack of one) is refused. A configuration fault: the run fails with
    the cause and the fix; no record is charged."""


class HttpClient:
    """GET JSON from one API base URL under the shared limiter and the retry policy."""

    def __init__(
        self,
        api: str,
        base_url: str,
        limiter: Any,
        *,
        timeout: float,
        max_attempts: int,
        headers: Mapping[str, str] | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        breakers: Any = None,
        breaker_key: str | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.api = api
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base, self.backoff_max, self.max_retry_after = backoff_base, backoff_max, max_retry_after
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        self._sleep = sleep
        self._local = threading.local()  # requests.Session is not guaranteed thread-safe: one per thread
        self._count_lock = threading.Lock()
        self.attempts_sent = 0  # every HTTP attempt, including retries and pages
        # Provider-level outcomes are reported to the host-wide circuit breaker (``breaker.py``).
        self.breakers, self.breaker_key = breakers, breaker_key or api

    @property
    def display_url(self) -> str:
        """The base URL without credentials: the only form that goes into logs and errors."""
        return redact_url(self.base_url)

    def __repr__(self) -> str:  # headers deliberately left out: they may hold keys
        return f"HttpClient({self.api!r}, {self.display_url!r})"

    def _session(self) -> requests.Session:
        # No headers on the session: they are passed per request, so a redirect hop can leave them out.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _send(self, url: str, params: Mapping[str, Any] | None) -> requests.Response:
        """One GET with the redirect policy of the module doc (every extra hop takes a limiter slot)."""
        origin, headers = _origin(url), dict(self._headers)
        for hop in range(MAX_REDIRECTS + 1):
            resp = self._session().get(url, params=params, headers=headers, timeout=self.timeout, allow_redirects=False)
            if not resp.is_redirect:
                return resp
            resp.close()
            if hop == MAX_REDIRECTS:
                raise ApiRequestError(self.api, urlsplit(url).path, resp.status_code, title="too many redirects")
            url, params = urljoin(resp.url, resp.headers["location"]), None  # Location carries its own query
            if _origin(url) != origin:
                url = _without_userinfo(url)
                log.warning("%s: redirected to another host (%s); no credentials sent", self.api, redact_url(url))
                # stays stripped for later hops, even back to the origin: a key never follows a foreign hop
                headers = {k: v for k, v in self._headers.items() if k.lower() in _SAFE_HEADERS}
            self.limiter.acquire(self.api)
            with self._count_lock:
                self.attempts_sent += 1
        raise AssertionError("unreachable")

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``base_url + path`` and return the JSON object; raise on anything else.

        While the provider's breaker is open nothing is sent (``ProviderUnavailable`` at once)."""
        if self.breakers is not None and self.breakers.is_open(self.breaker_key):
            raise ProviderUnavailable(
                f"{self.api} GET {path}: circuit breaker {self.breaker_key} is open", self.breaker_key
            )
        try:
            body = self._get_json(path, params, self.max_attempts)
        except ProviderUnavailable as exc:
            if self.breakers is not None:
                self.breakers.record_failure(self.breaker_key, str(exc))
            raise
        except ApiRequestError as exc:
            if self.breakers is not None and not isinstance(exc, ProviderAuthError):
                self.breakers.record_success(self.breaker_key)  # a 404/410 is a healthy provider's answer
            raise
        if self.breakers is not None:
            self.breakers.record_success(self.breaker_key)
        return body

    def probe(self, path: str) -> None:
        """One attempt, no retry and no breaker check: the half-open probe. Raises on failure."""
        self._get_json(path, None, 1)

    def _get_json(self, path: str, params: Mapping[str, Any] | None, max_attempts: int) -> dict[str, Any]:
        url = self.base_url + path
        last = "no attempt"
        for attempt in range(1, max_attempts + 1):
            self.limiter.acquire(self.api)
            with self._count_lock:
                self.attempts_sent += 1
            retry_after: float | None = None
            try:
                resp = self._send(url, params)
            except requests.Timeout:
                last = f"timeout after {self.timeout:g}s"
            except requests.ConnectionError as exc:
                last = f"connection error ({type(exc).__name__})"
            else:
                self.limiter.observe(self.api, resp.headers, resp.status_code)
                status = resp.status_code
                if 200 <= status < 300:
                    try:
                        body = resp.json()
                    except (ValueError, json.JSONDecodeError):
                        body = None
                        last = "invalid JSON body"
                    if body is not None:
                        if not isinstance(body, dict):
                            raise MalformedResponse(f"{self.api} GET {path}: expected a JSON object")
                        return body
                elif status == 429 or status >= 500:
                    last = f"HTTP {status}"
                    retry_after = _retry_after(resp.headers)
                    if retry_after is not None and retry_after > self.max_retry_after:
                        raise ProviderUnavailable(
                            f"{self.api} GET {path}: HTTP {status} with Retry-After "
                            f"{retry_after:g}s (over the {self.max_retry_after:g}s cap)",
                            self.breaker_key,
                        )
                else:
                    problem_type, title = _problem(resp)
                    error = ProviderAuthError if status in (401, 403) else ApiRequestError
                    raise error(self.api, path, status, problem_type, title)
            if attempt == max_attempts:
                break
            delay = self.backoff(attempt)
            if retry_after is not None:
                delay = max(delay, retry_after)  # the server's wish is a floor, jitter only adds
            log.warning(
                "%s GET %s: %s (attempt %d/%d), retrying in %.1f s",
                self.api,
                path,
                last,
                attempt,
                max_attempts,
                delay,
            )
            self._sleep(delay)
        reason = f"{self.api} GET {path}: {last} after {max_attempts} attempts"
        if last == "invalid JSON body":
            raise MalformedResponse(reason)
        raise ProviderUnavailable(reason, self.breaker_key)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")  # requests' headers are case-insensitive
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _problem(resp: requests.Response) -> tuple[str, str]:
    """(type, title) of a Horizon problem+json; ("", error text) for Stellar Expert's {error, status}."""
    try:
        body = resp.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("type", "")), str(body.get("title") or body.get("error") or "")[:200]
