"""Host-wide HTTP rate limiter shared by every task process of both DAGs.

Airflow runs each task instance in its own process, so the limiter state lives in a SQLite file
(WAL, ``BEGIN IMMEDIATE`` = one writer at a time) under ``$STELLAR_LINEAGE_RATELIMIT_DIR`` or
``$AIRFLOW_HOME/stellar_lineage_ratelimit/``. Each API name ("horizon", "stellar_expert") has its own
bucket.

Algorithm: a sliding-window *log* of grant times. A request is granted only if fewer than ``N``
grants lie in the last ``W`` seconds (N = budget per window, W = 60 s for integral per-minute rates),
so **no 60-second window ever holds more than the limit** — strictly, not on average as with a fixed
window (the window is 1 s longer than 60 s so this also holds for the server's arrival times).
A second, shorter window (W/6 holding N/6) spreads the budget across the minute instead of allowing
the whole minute's budget as one burst, which upstream GCRA limiters would punish.

Server feedback (``observe``): a 429 with ``Retry-After`` pauses the api for the whole host; a low
``X-RateLimit-Remaining`` spreads the remaining budget over ``X-RateLimit-Reset`` seconds.
Grant times use the wall clock (``time.time``) because it is the one clock every process on the host
shares; entries "from the future" (clock stepped back) are discarded rather than trusted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

ENV_DIR = "STELLAR_LINEAGE_RATELIMIT_DIR"
DB_NAME = "ratelimit.sqlite3"
MAX_HEADER_PAUSE_S = 300.0  # never trust a header to stop the host for longer than this
LOG_EVERY_S = 15.0
GUARD_S = 1.0  # slack added to the 60 s window, see Budget


class BudgetExhausted(RuntimeError):
    """The next request slot lies beyond the caller's deadline: stop instead of waiting past it."""


class LimiterUnavailable(RuntimeError):
    """The limiter's state cannot be opened or written (corrupt file, read-only directory, full disk).

    A configuration/infrastructure fault, not a record's: callers fail the run and leave records alone.
    """

    def __init__(self, path: Path, exc: BaseException) -> None:
        super().__init__(
            f"rate-limiter state {path} cannot be opened or written ({type(exc).__name__}: {exc}). Fix: make "
            f"the directory writable for the Airflow user, or delete the file if it is corrupt (it holds only "
            f"the last minutes of request times; it is recreated), or point ${ENV_DIR} at a writable directory."
        )
        self.path = path


_deadline = threading.local()


@contextlib.contextmanager
def deadline(monotonic_deadline: float | None):
    """Within this block (this thread), ``acquire`` raises ``BudgetExhausted`` rather than wait
    past ``monotonic_deadline`` (a ``time.monotonic()`` value; None = no deadline)."""
    previous = getattr(_deadline, "value", None)
    _deadline.value = monotonic_deadline
    try:
        yield
    finally:
        _deadline.value = previous


def default_directory() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    airflow_home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return Path(airflow_home) / "stellar_lineage_ratelimit"


class Budget:
    """``requests_per_minute`` as (count N per window W seconds) + a smoothing window."""

    def __init__(self, requests_per_minute: float) -> None:
        if not requests_per_minute > 0:
            raise ValueError("requests_per_minute must be > 0")
        self.rpm = float(requests_per_minute)
        # For fractional rates below 1/min: 1 request per 60/rpm seconds (still never > rpm per minute).
        self.count = max(1, math.floor(self.rpm))
        # GUARD_S: our grant time and the server's arrival time differ by a variable delivery delay
        # (scheduling, a loaded host). Without slack, a slow first request and a fast 61st one can land
        # inside one 60 s window *as the server counts*. 1 s costs < 2 % of throughput.
        self.window = 60.0 * self.count / self.rpm + GUARD_S
        self.short_count = max(1, math.ceil(self.count / 6))
        self.short_window = self.window * self.short_count / self.count


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None  # HTTP-date Retry-After: Horizon never sends it; backoff covers it
    return number if math.isfinite(number) and number >= 0 else None


class HostRateLimiter:
    """``acquire(api)`` before every HTTP attempt; ``observe(api, headers, status)`` after it."""

    def __init__(
        self,
        rates: Mapping[str, float],
        directory: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budgets = {api: Budget(rpm) for api, rpm in rates.items()}
        self.directory = Path(directory) if directory is not None else default_directory()
        self.path = self.directory / DB_NAME
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()  # one connection per limiter, shared by this process's threads
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")  # the first read: a corrupt file fails here
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS grants (api TEXT NOT NULL, t REAL NOT NULL);"
                "CREATE INDEX IF NOT EXISTS grants_api_t ON grants (api, t);"
                "CREATE TABLE IF NOT EXISTS pauses (api TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT);"
            )
        except (OSError, sqlite3.Error) as exc:
            raise LimiterUnavailable(self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ acquire
    def acquire(self, api: str) -> float:
        """Block (sleeping) until a request to ``api`` is allowed; returns the seconds waited."""
        budget = self._budget(api)
        started = self._clock()
        next_log = started + LOG_EVERY_S
        while True:
            wait, why = self._try_grant(api, budget)
            now = self._clock()
            if wait <= 0:
                waited = now - started
                if waited >= LOG_EVERY_S:
                    log.info("Rate limiter: %s request granted after %.1f s", api, waited)
                return waited
            limit = getattr(_deadline, "value", None)
            if limit is not None and wait > limit - time.monotonic():
                raise BudgetExhausted(f"next {api} request slot in {wait:.1f} s is past the run's deadline")
            if now >= next_log:
                log.info(
                    "Rate limiter: waiting for %s (%s), %.0f s so far, next slot in %.1f s",
                    api,
                    why,
                    now - started,
                    wait,
                )
                next_log = now + LOG_EVERY_S
            # Jitter so processes woken for the same slot do not all hit the database at once.
            self._sleep(wait + random.uniform(0, min(0.05, wait / 10)))

    def _try_grant(self, api: str, budget: Budget) -> tuple[float, str]:
        try:
            return self._try_grant_locked(api, budget)
        except sqlite3.Error as exc:  # corrupted or made read-only while in use
            raise LimiterUnavailable(self.path, exc) from exc

    def _try_grant_locked(self, api: str, budget: Budget) -> tuple[float, str]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                # Drop history that can no longer matter (kept >= 120 s in case another process runs with a
                # different budget), and "future" rows left behind by a wall-clock step back.
                db.execute(
                    "DELETE FROM grants WHERE api = ? AND (t <= ? OR t > ?)",
                    (api, now - max(budget.window, 120.0), now + 1.0),
                )
                row = db.execute("SELECT until, reason FROM pauses WHERE api = ?", (api,)).fetchone()
                if row and row[0] > now and row[0] - now <= MAX_HEADER_PAUSE_S + 1:
                    db.execute("COMMIT")
                    return row[0] - now, f"paused: {row[1]}"
                wait = self._window_wait(api, now, budget.count, budget.window)
                wait = max(wait, self._window_wait(api, now, budget.short_count, budget.short_window))
                if wait > 0:
                    db.execute("COMMIT")
                    return wait, f"{budget.rpm:g}/min budget used"
                db.execute("INSERT INTO grants (api, t) VALUES (?, ?)", (api, now))
                db.execute("COMMIT")
                return 0.0, ""
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # keep the original error, not the rollback's
                    db.execute("ROLLBACK")
                raise

    def _window_wait(self, api: str, now: float, count: int, window: float) -> float:
        """Seconds until fewer than ``count`` grants lie in ``(now - window, now]``."""
        rows = self._db.execute(
            "SELECT t FROM grants WHERE api = ? AND t > ? ORDER BY t DESC LIMIT ?", (api, now - window, count)
        ).fetchall()
        if len(rows) < count:
            return 0.0
        # The count-th most recent grant must leave the window (strictly: t + window < now').
        return rows[-1][0] + window - now + 1e-3

    # ------------------------------------------------------------------ feedback
    def pause(self, api: str, seconds: float, reason: str) -> None:
        """Stop every process of this host from calling ``api`` for ``seconds``."""
        seconds = min(max(seconds, 0.0), MAX_HEADER_PAUSE_S)
        with self._lock:
            until = self._clock() + seconds
            try:
                self._db.execute(
                    "INSERT INTO pauses (api, until, reason) VALUES (?, ?, ?) "
                    "ON CONFLICT(api) DO UPDATE SET until = max(until, excluded.until), reason = excluded.reason",
                    (api, until, reason),
                )
            except sqlite3.Error as exc:
                raise LimiterUnavailable(self.path, exc) from exc
        if seconds >= 1:
            log.info("Rate limiter: pausing %s for %.1f s (%s)", api, seconds, reason)

    def observe(self, api: str, headers: Mapping[str, str], status: int | None = None) -> float:
        """Learn from a response's headers; returns the pause imposed (0 if none)."""
        retry_after = _seconds(_header(headers, "Retry-After"))
        if status == 429 or (retry_after is not None and status in (503, None)):
            seconds = retry_after if retry_after is not None else 1.0
            self.pause(api, seconds, f"HTTP {status or 429} Retry-After {seconds:g}s")
            return min(seconds, MAX_HEADER_PAUSE_S)
        remaining = _seconds(_header(headers, "X-RateLimit-Remaining"))
        reset = _seconds(_header(headers, "X-RateLimit-Reset"))
        limit = _seconds(_header(headers, "X-RateLimit-Limit"))
        if remaining is None or reset is None:
            return 0.0
        low_water = max(2.0, 0.05 * limit) if limit else 2.0
        if remaining > low_water:
            return 0.0
        # Spread what is left over the reset period rather than spending it and hitting 429.
        seconds = reset if remaining < 1 else reset / (remaining + 1)
        if seconds > 0:
            self.pause(api, seconds, f"X-RateLimit-Remaining {remaining:g}, reset in {reset:g}s")
        return min(seconds, MAX_HEADER_PAUSE_S)

    def _budget(self, api: str) -> Budget:
        try:
            return self.budgets[api]
        except KeyError:
            raise KeyError(f"No rate budget configured for API {api!r}; known: {sorted(self.budgets)}") from None


def limiter_from_settings(settings: object, directory: str | os.PathLike[str] | None = None) -> HostRateLimiter:
    """The limiter for Settings (``horizon_requests_per_minute`` / ``stellar_expert_requests_per_minute``)."""
    return HostRateLimiter(
        {
            "horizon": settings.horizon_requests_per_minute,  # type: ignore[attr-defined]
            "stellar_expert": settings.stellar_expert_requests_per_minute,
        },  # type: ignore[attr-defined]
        directory,
    )
