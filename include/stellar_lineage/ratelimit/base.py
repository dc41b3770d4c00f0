"""What every rate-limiter backend shares: the budget, the wait loop, server feedback, deadlines.

Algorithm (both backends): a sliding-window *log* of grant times. A request is granted only if fewer
than ``N`` grants lie in the last ``W`` seconds (N = budget per window, W = 60 s for integral
per-minute rates), so **no 60-second window ever holds more than the limit** — strictly, not on
average as with a fixed window (the window is 1 s longer than 60 s so this also holds for the
server's arrival times). A second, shorter window (W/6 holding N/6) spreads the budget across the
minute instead of allowing the whole minute's budget as one burst, which upstream GCRA limiters
would punish.

Time is a *logical clock that only moves forward*: each backend advances it by the positive steps of
its source clock and ignores negative ones. A wall clock stepped back (NTP, a VM restore) therefore
neither forgets the grants of the last minute (no burst above the budget) nor ends an active 429
pause early; it only stands still for the instant of the step.

Server feedback (``observe``): a 429 with ``Retry-After`` pauses the api for every process sharing
the limiter; a low ``X-RateLimit-Remaining`` spreads the remaining budget over ``X-RateLimit-Reset``.

Every wait is bounded: waiting for a slot never passes the caller's ``deadline`` (``BudgetExhausted``)
and waiting for the limiter's own lock or server never takes longer than ``LOCK_WAIT_S`` (or the time
left before the deadline): then ``LimiterBusy`` (lock held by another process: try again next run) or
``LimiterUnavailable`` (state unusable: fail the run with the fix) says why.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("include.stellar_lineage.ratelimit")

MAX_HEADER_PAUSE_S = 300.0  # never trust a header to stop the host/cluster for longer than this
LOG_EVERY_S = 15.0
GUARD_S = 1.0  # slack added to the 60 s window, see Budget
LOCK_WAIT_S = 5.0  # longest wait for the limiter's lock / server: well inside any run deadline
KEEP_S = 120.0  # grant history kept (>= every window, also of processes running another budget)


class BudgetExhausted(RuntimeError):
    """The next request slot lies beyond the caller's deadline: stop instead of waiting past it."""


class LimiterBusy(BudgetExhausted):
    """The limiter's lock was not free within its bounded wait (another process stuck inside its
    transaction). Treated like an exhausted budget: nothing is sent, the record goes back untouched
    for the next run."""


class LimiterUnavailable(RuntimeError):
    """The limiter's state cannot be opened, read or written (corrupt or read-only state file, full disk,
    Redis unreachable or not answering within the bound). A configuration/infrastructure fault, not a
    record's: callers fail the run and leave records alone. The message names the state and the fix."""


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


def lock_wait_bound() -> float:
    """Seconds a backend may wait for its lock/server now: ``LOCK_WAIT_S``, less near the deadline."""
    limit = getattr(_deadline, "value", None)
    if limit is None:
        return LOCK_WAIT_S
    return max(0.05, min(LOCK_WAIT_S, limit - time.monotonic()))


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
        self.keep = max(self.window, KEEP_S)


def advance(logical: float | None, last_source: float | None, source: float) -> float:
    """The logical clock after reading ``source``: forward steps count, backward steps do not."""
    if logical is None or last_source is None:
        return source
    return logical + max(0.0, source - last_source)


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


class RateLimiter:
    """``acquire(api)`` before every HTTP attempt; ``observe(api, headers, status)`` after it.

    Backends implement ``_try_grant`` (atomically: grant now, or say how long to wait) and
    ``_set_pause`` (extend the api's pause to at least ``seconds`` from now).
    """

    scope = "host"  # who shares the budget, for log lines

    def __init__(self, rates: Mapping[str, float], *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.budgets = {api: Budget(rpm) for api, rpm in rates.items()}
        self._sleep = sleep

    def close(self) -> None:  # pragma: no cover - backends override
        pass

    def _try_grant(self, api: str, budget: Budget) -> tuple[float, str]:
        raise NotImplementedError

    def _set_pause(self, api: str, seconds: float, reason: str) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ acquire
    def acquire(self, api: str) -> float:
        """Block (sleeping) until a request to ``api`` is allowed; returns the seconds waited."""
        budget = self._budget(api)
        started = time.monotonic()
        waited = 0.0  # sum of our sleeps: also right when tests inject a simulated sleep
        next_log = LOG_EVERY_S
        while True:
            wait, why = self._try_grant(api, budget)
            if wait <= 0:
                if waited >= LOG_EVERY_S:
                    log.info("Rate limiter: %s request granted after %.1f s", api, waited)
                return waited
            limit = getattr(_deadline, "value", None)
            if limit is not None and wait > limit - time.monotonic():
                raise BudgetExhausted(f"next {api} request slot in {wait:.1f} s is past the run's deadline")
            if waited >= next_log:
                log.info(
                    "Rate limiter: waiting for %s (%s), %.0f s so far (%.0f s real), next slot in %.1f s",
                    api,
                    why,
                    waited,
                    time.monotonic() - started,
                    wait,
                )
                next_log = waited + LOG_EVERY_S
            # Jitter so processes woken for the same slot do not all hit the state at once.
            pause = wait + random.uniform(0, min(0.05, wait / 10))
            self._sleep(pause)
            waited += pause

    # ------------------------------------------------------------------ feedback
    def pause(self, api: str, seconds: float, reason: str) -> None:
        """Stop every process sharing this limiter from calling ``api`` for ``seconds``."""
        seconds = min(max(seconds, 0.0), MAX_HEADER_PAUSE_S)
        self._set_pause(api, seconds, reason)
        if seconds >= 1:
            log.info("Rate limiter (%s): pausing %s for %.1f s (%s)", self.scope, api, seconds, reason)

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
