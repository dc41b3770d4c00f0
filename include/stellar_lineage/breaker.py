"""Circuit breakers per provider ("horizon:public", "horizon:testnet", "stellar_expert"), host-wide.

Why: an outage is the provider's fault, not the records'. Without a breaker every run sends its whole
batch to a dead provider and charges each record a retry (reference: DESIGN "Whose fault is it?").

State machine (one per provider, shared by every task process of both DAGs)::

    CLOSED --(failure_threshold consecutive provider faults)--> OPEN
    OPEN   --(probe_interval since opening / the last probe)--> one probe granted (half-open)
    probe ok / any success --> CLOSED          probe failed --> OPEN (the interval restarts)

A "provider fault" is a request that still failed after the HTTP retry policy: 5xx, timeout,
connection error, 429 beyond Retry-After. While OPEN, runs claim nothing for that provider and release
what they hold without charging a retry; ``try_probe`` grants at most one probe per interval to the
whole host, whichever process asks first.

Why our own small state machine and not pybreaker: pybreaker's storage reads and writes state,
counter and opened-at as separate, non-atomic operations and lets the first *call* through in every
process when half-open; here several OS processes must agree on one probe per interval, so every
change is one compare-and-set of the whole state (a version number) in shared storage.

Storage interface (``BreakerStorage``): ``load``/``compare_and_set``/``load_all`` of a small JSON
document per provider. ``SqliteBreakerStorage`` keeps it in a SQLite file next to the rate limiter's
(same directory, WAL, ``BEGIN IMMEDIATE``); a cluster-wide backend (e.g. Redis: a key per provider,
CAS with WATCH/MULTI or a Lua script) implements the same three methods.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DB_NAME = "breakers.sqlite3"
RUN_PREFIX = "run:"
CLOSED, OPEN = "closed", "open"


def horizon_key(network: str) -> str:
    return f"horizon:{network}"


EXPERT_KEY = "stellar_expert"


class BreakerUnavailable(RuntimeError):
    """The breaker state cannot be opened or written: a configuration/infrastructure fault."""

    def __init__(self, where: str, exc: BaseException) -> None:
        super().__init__(
            f"circuit-breaker state {where} cannot be opened or written ({type(exc).__name__}: {exc}). Fix: make "
            "the directory writable for the Airflow user, or delete the file if it is corrupt (it is recreated, "
            "every provider starts closed)."
        )


@dataclasses.dataclass(frozen=True)
class BreakerState:
    status: str = CLOSED
    failures: int = 0  # consecutive provider faults (reset by any success)
    opened_at: float | None = None  # wall-clock seconds; shared by every process on the host
    probe_at: float | None = None  # when the last probe was granted
    last_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerState:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class BreakerStorage(abc.ABC):
    """Where breaker states live. Versions make every change a compare-and-set (no lost updates
    between processes); version 0 means "no document yet"."""

    @abc.abstractmethod
    def load(self, provider: str) -> tuple[int, dict[str, Any]]:
        """(version, state document); ``(0, {})`` when the provider has none yet."""

    @abc.abstractmethod
    def compare_and_set(self, provider: str, version: int, state: dict[str, Any]) -> bool:
        """Store ``state`` as version ``version + 1`` iff the stored version is still ``version``."""

    @abc.abstractmethod
    def load_all(self) -> dict[str, dict[str, Any]]:
        """Every provider's state document (for health reports)."""

    def close(self) -> None:  # noqa: B027 - optional
        pass


class SqliteBreakerStorage(BreakerStorage):
    """Host-wide storage in ``<directory>/breakers.sqlite3`` (the rate limiter's directory)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / DB_NAME
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS breakers (provider TEXT PRIMARY KEY, version INTEGER NOT NULL,"
                " state TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise BreakerUnavailable(str(self.path), exc) from exc

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise BreakerUnavailable(str(self.path), exc) from exc

    def load(self, provider: str) -> tuple[int, dict[str, Any]]:
        with self._guard() as db:
            row = db.execute("SELECT version, state FROM breakers WHERE provider = ?", (provider,)).fetchone()
        return (0, {}) if row is None else (int(row[0]), json.loads(row[1]))

    def compare_and_set(self, provider: str, version: int, state: dict[str, Any]) -> bool:
        text = json.dumps(state, sort_keys=True)
        with self._guard() as db:
            if version == 0:
                cur = db.execute(
                    "INSERT INTO breakers (provider, version, state) VALUES (?, 1, ?) ON CONFLICT DO NOTHING",
                    (provider, text),
                )
            else:
                cur = db.execute(
                    "UPDATE breakers SET version = version + 1, state = ? WHERE provider = ? AND version = ?",
                    (text, provider, version),
                )
            return cur.rowcount == 1

    def load_all(self) -> dict[str, dict[str, Any]]:
        with self._guard() as db:
            return {p: json.loads(s) for p, s in db.execute("SELECT provider, state FROM breakers")}

    def close(self) -> None:
        with self._lock:
            self._db.close()


class ProviderBreakers:
    """The breakers of every provider over one storage."""

    def __init__(
        self,
        storage: BreakerStorage,
        *,
        failure_threshold: int,
        probe_interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage, self.failure_threshold, self.probe_interval_s = storage, failure_threshold, probe_interval_s
        self._clock = clock

    def state(self, provider: str) -> BreakerState:
        return BreakerState.from_dict(self.storage.load(provider)[1])

    def is_open(self, provider: str) -> bool:
        """True while regular traffic to ``provider`` must not be sent (open or half-open)."""
        return self.state(provider).status == OPEN

    def _change(self, provider: str, change: Callable[[BreakerState], BreakerState | None]) -> BreakerState:
        """Apply ``change`` atomically (retrying on a concurrent update); None = leave as is."""
        while True:
            version, doc = self.storage.load(provider)
            current = BreakerState.from_dict(doc)
            new = change(current)
            if new is None or new == current:
                return current
            if self.storage.compare_and_set(provider, version, new.to_dict()):
                if new.status != current.status:
                    log.warning(
                        "Circuit breaker %s: %s -> %s (%s)", provider, current.status, new.status, new.last_error
                    )
                return new

    def record_success(self, provider: str) -> None:
        self._change(provider, lambda s: None if s == BreakerState() else BreakerState())

    def record_failure(self, provider: str, reason: str) -> bool:
        """Count one provider fault; returns True when the breaker is (now) open."""
        now = self._clock()

        def change(s: BreakerState) -> BreakerState:
            if s.status == OPEN:
                return dataclasses.replace(s, last_error=reason[:300])
            failures = s.failures + 1
            if failures >= self.failure_threshold:
                return BreakerState(OPEN, failures, now, None, reason[:300])
            return dataclasses.replace(s, failures=failures, last_error=reason[:300])

        return self._change(provider, change).status == OPEN

    def try_probe(self, provider: str) -> bool:
        """Whether this caller may send the one probe of the current interval (granting it)."""
        now = self._clock()
        granted = False

        def change(s: BreakerState) -> BreakerState | None:
            nonlocal granted
            granted = False
            last = max(s.opened_at or 0.0, s.probe_at or 0.0)
            if s.status != OPEN or now - last < self.probe_interval_s:
                return None
            granted = True
            return dataclasses.replace(s, probe_at=now)

        self._change(provider, change)
        return granted

    def probe_failed(self, provider: str, reason: str) -> None:
        self._change(provider, lambda s: dataclasses.replace(s, last_error=f"probe failed: {reason}"[:300]))

    def snapshot(self) -> dict[str, BreakerState]:
        return {
            p: BreakerState.from_dict(d) for p, d in self.storage.load_all().items() if not p.startswith(RUN_PREFIX)
        }

    # Run outcomes share the storage (a document per pipeline under "run:"), so health can say that the
    # API DAG keeps failing on a configuration fault - and that Airflow has paused it.
    def record_run(self, pipeline: str, error: str | None) -> None:
        now = self._clock()

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            if error is None:
                return {"consecutive_failures": 0, "last_success_at": now, "last_error": doc.get("last_error", "")}
            return {
                **doc,
                "consecutive_failures": int(doc.get("consecutive_failures", 0)) + 1,
                "last_failure_at": now,
                "last_error": error[:500],
            }

        key = RUN_PREFIX + pipeline
        while True:
            version, doc = self.storage.load(key)
            if self.storage.compare_and_set(key, version, change(doc)):
                return

    def run_outcome(self, pipeline: str) -> dict[str, Any]:
        return self.storage.load(RUN_PREFIX + pipeline)[1]


def breakers_from_settings(settings: Any, directory: str | os.PathLike[str] | None = None) -> ProviderBreakers:
    """The breakers for Settings (thresholds from the ``breaker_*`` Variables): host-wide next to the
    rate limiter's file, or cluster-wide in Redis when the rate limiter is (``rate_limiter_backend``)."""
    from include.stellar_lineage.ratelimit import default_directory

    storage: BreakerStorage
    if getattr(settings, "rate_limiter_backend", "host") == "redis":
        from include.stellar_lineage.breaker_redis import RedisBreakerStorage

        storage = RedisBreakerStorage.from_settings(settings)
    else:
        storage = SqliteBreakerStorage(directory if directory is not None else default_directory())
    return ProviderBreakers(
        storage,
        failure_threshold=settings.breaker_failure_threshold,
        probe_interval_s=float(settings.breaker_probe_interval_seconds),
    )
