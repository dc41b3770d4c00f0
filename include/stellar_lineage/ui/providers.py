"""Settings and store access for the stats plugin inside the Airflow API server.

The API server is not a task: ``airflow.sdk.Variable`` needs a task supervisor there, so Variables
are read with ``airflow.models.Variable`` (environment ``AIRFLOW_VAR_*`` first, then secrets
backends, then the metadata DB, which the API server may use). Reads are cached for
``SETTINGS_TTL_SECONDS`` so a dashboard polling every 30 s costs no metadata-DB round trips, and a
changed Variable is picked up within a minute without restarting the API server.

Only the settings the UI needs are read: a bad value in an unrelated Variable (say the BigQuery
cost limit) must not take the dashboard down, while a bad store setting is reported with the
Variable's name. An unreachable metadata DB falls back to the defaults.

The store is opened on first use, never at import: an unreachable store must not break API-server
start-up. The opened store is kept (keyed by its settings) because opening may be expensive
(Cassandra connects a cluster; SQLite migrates) and ``SqliteLineageStore`` is safe to share across
the request threadpool (one connection per thread). A failed open is not cached, so the next
request retries.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from include.stellar_lineage.config import PREFIX, Settings, parse_settings
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

UI_FIELDS = ("store_backend", "sqlite_path", "cassandra_conn_id", "stuck_threshold_minutes")
SETTINGS_TTL_SECONDS = 60.0


class StoreUnavailable(RuntimeError):
    """The store could not be opened or its settings are invalid; the message says why."""


def read_variable(key: str) -> str | None:
    from airflow.models.variable import Variable  # imported lazily: only inside the API server

    value = Variable.get(key, default_var=None)
    return None if value is None else str(value)


def read_ui_settings(reader: Callable[[str], str | None] = read_variable) -> Settings:
    """Settings with the UI's fields from Variables and defaults for the rest.

    Raises ``ConfigError`` (naming the Variable) for an invalid value. A failing read (metadata DB
    down) counts as "not set": the dashboard then works with the defaults."""
    raw: dict[str, str | None] = {}
    for name in UI_FIELDS:
        try:
            raw[name] = reader(PREFIX + name)
        except Exception as exc:  # noqa: BLE001 - any backend failure means "use the default"
            log.warning("Could not read Variable %s%s (%s); using its default", PREFIX, name, exc)
            raw[name] = None
    return parse_settings(raw)


class CachedSettings:
    """``read_ui_settings`` memoised for ``ttl`` seconds; errors are not cached."""

    _instances: ClassVar[weakref.WeakSet[CachedSettings]] = weakref.WeakSet()

    def __init__(
        self,
        loader: Callable[[], Settings] = read_ui_settings,
        ttl: float = SETTINGS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader, self._ttl, self._clock = loader, ttl, clock
        self._lock = threading.Lock()
        self._value: Settings | None = None
        self._loaded_at = 0.0
        CachedSettings._instances.add(self)

    def reset(self) -> None:
        """Forget the cached value: the next call reads the Variables again."""
        with self._lock:
            self._value = None

    @classmethod
    def reset_all(cls) -> None:
        """Reset every live cache (the plugin's app is built once per process, at import)."""
        for cache in list(cls._instances):
            cache.reset()

    def __call__(self) -> Settings:
        with self._lock:
            if self._value is None or self._clock() - self._loaded_at >= self._ttl:
                self._value = self._loader()
                self._loaded_at = self._clock()
            return self._value


def default_store_opener(settings: Settings) -> LineageStore:
    from include.stellar_lineage.store import open_store  # lazy: backends import drivers

    return open_store(settings)


def _store_key(settings: Settings) -> tuple[Any, ...]:
    return (settings.store_backend, settings.sqlite_path, settings.cassandra_conn_id)


class StoreProvider:
    """Opens the store on first request and reuses it while its settings stay the same."""

    def __init__(self, opener: Callable[[Settings], LineageStore] = default_store_opener) -> None:
        self._opener = opener
        self._lock = threading.Lock()
        self._store: LineageStore | None = None
        self._key: tuple[Any, ...] | None = None

    def get(self, settings: Settings) -> LineageStore:
        key = _store_key(settings)
        with self._lock:
            if self._store is not None and self._key == key:
                return self._store
            old, self._store, self._key = self._store, None, None
            if old is not None:
                old.close()
            try:
                store = self._opener(settings)
            except Exception as exc:
                log.exception("Could not open the lineage store (%s backend)", settings.store_backend)
                raise StoreUnavailable(
                    f"lineage store ({settings.store_backend}) unavailable: {type(exc).__name__}: {exc}"
                ) from exc
            self._store, self._key = store, key
            return store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store, self._key = None, None
