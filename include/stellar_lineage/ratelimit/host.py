"""Host-wide limiter: a SQLite file shared by every task process on one machine (the default).

Airflow runs each task instance in its own process, so the state lives in a SQLite file (WAL,
``BEGIN IMMEDIATE`` = one writer at a time) under ``$STELLAR_LINEAGE_RATELIMIT_DIR`` or
``$AIRFLOW_HOME/stellar_lineage_ratelimit/``. Each API name ("horizon", "stellar_expert") has its own
bucket. Algorithm, logical clock and bounded waits: see ``base``.

Source clock: ``time.monotonic()`` (CLOCK_MONOTONIC), which every process of one boot shares and
which NTP never steps. A reboot restarts it from a small value; the logical clock treats that as a
backward step (it stands still), so neither grants nor pauses written before are lost.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from include.stellar_lineage.ratelimit.base import (
    Budget,
    LimiterBusy,
    LimiterUnavailable,
    RateLimiter,
    advance,
    lock_wait_bound,
)

ENV_DIR = "STELLAR_LINEAGE_RATELIMIT_DIR"
DB_NAME = "ratelimit.sqlite3"
LOCK_OPEN_S = 5.0  # bounded wait for the schema lock when opening
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS grants (api TEXT NOT NULL, t REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS grants_api_t ON grants (api, t);"
    "CREATE TABLE IF NOT EXISTS pauses (api TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT);"
    "CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 0), source REAL NOT NULL,"
    " logical REAL NOT NULL);"
)


def unusable(path: Path, exc: BaseException) -> LimiterUnavailable:
    error = LimiterUnavailable(
        f"rate-limiter state {path} cannot be opened or written ({type(exc).__name__}: {exc}). Fix: make "
        f"the directory writable for the Airflow user, or delete the file if it is corrupt (it holds only "
        f"the last minutes of request times; it is recreated), or point ${ENV_DIR} at a writable directory."
    )
    error.path = path  # type: ignore[attr-defined]
    return error


def default_directory() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    airflow_home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return Path(airflow_home) / "stellar_lineage_ratelimit"


class HostRateLimiter(RateLimiter):
    """The limiter state in one SQLite file per host (keep it on local disk)."""

    scope = "host"

    def __init__(
        self,
        rates: Mapping[str, float],
        directory: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rates, sleep=sleep)
        self.directory = Path(directory) if directory is not None else default_directory()
        self.path = self.directory / DB_NAME
        self._clock = clock
        self._lock = threading.Lock()  # one connection per limiter, shared by this process's threads
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=LOCK_OPEN_S, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")  # the first read: a corrupt file fails here
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise unusable(self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _transaction(self, work: Callable[[sqlite3.Connection, float], tuple[float, str]]) -> tuple[float, str]:
        """Run ``work(db, logical_now)`` in one write transaction; every lock wait is bounded."""
        bound = lock_wait_bound()
        if not self._lock.acquire(timeout=bound):
            raise LimiterBusy(f"rate limiter busy in this process for {bound:.1f} s")
        try:
            db = self._db
            try:
                db.execute(f"PRAGMA busy_timeout = {int(bound * 1000)}")
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):  # another process holds it past the bound
                    raise LimiterBusy(f"rate limiter state {self.path} locked for {bound:.1f} s") from None
                raise unusable(self.path, exc) from exc
            except sqlite3.Error as exc:
                raise unusable(self.path, exc) from exc
            try:
                row = db.execute("SELECT logical, source FROM clock WHERE id = 0").fetchone()
                source = self._clock()
                if row is None:  # new file, or one written before the logical clock (another time base)
                    db.execute("DELETE FROM grants")
                    db.execute("DELETE FROM pauses")
                now = advance(row[0] if row else None, row[1] if row else None, source)
                db.execute(
                    "INSERT INTO clock (id, source, logical) VALUES (0, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET source = excluded.source, logical = excluded.logical",
                    (source, now),
                )
                result = work(db, now)
                db.execute("COMMIT")
                return result
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # keep the original error, not the rollback's
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):  # corrupted or made read-only while in use
                    raise unusable(self.path, exc) from exc
                raise
        finally:
            self._lock.release()

    def _try_grant(self, api: str, budget: Budget) -> tuple[float, str]:
        def work(db: sqlite3.Connection, now: float) -> tuple[float, str]:
            db.execute("DELETE FROM grants WHERE api = ? AND t <= ?", (api, now - budget.keep))
            row = db.execute("SELECT until, reason FROM pauses WHERE api = ?", (api,)).fetchone()
            if row and row[0] > now:
                return row[0] - now, f"paused: {row[1]}"
            wait = _window_wait(db, api, now, budget.count, budget.window)
            wait = max(wait, _window_wait(db, api, now, budget.short_count, budget.short_window))
            if wait > 0:
                return wait, f"{budget.rpm:g}/min budget used"
            db.execute("INSERT INTO grants (api, t) VALUES (?, ?)", (api, now))
            return 0.0, ""

        return self._transaction(work)

    def _set_pause(self, api: str, seconds: float, reason: str) -> None:
        def work(db: sqlite3.Connection, now: float) -> tuple[float, str]:
            db.execute(
                "INSERT INTO pauses (api, until, reason) VALUES (?, ?, ?) "
                "ON CONFLICT(api) DO UPDATE SET until = max(until, excluded.until), reason = excluded.reason",
                (api, now + seconds, reason),
            )
            return 0.0, ""

        self._transaction(work)


def _window_wait(db: sqlite3.Connection, api: str, now: float, count: int, window: float) -> float:
    """Seconds until fewer than ``count`` grants lie in ``(now - window, now]``."""
    # Only the count-th most recent grant matters: SQLite steps to it along the (api, t) index, instead
    # of handing Python up to ``count`` rows per grant (60,000 at a 1,000/s budget: quadratic in load).
    row = db.execute(
        "SELECT t FROM grants WHERE api = ? AND t > ? ORDER BY t DESC LIMIT 1 OFFSET ?", (api, now - window, count - 1)
    ).fetchone()
    if row is None:  # fewer than ``count`` grants in the window
        return 0.0
    # The count-th most recent grant must leave the window (strictly: t + window < now').
    return row[0] + window - now + 1e-3
