"""Lineage stores: the interface, the SQLite default and the Cassandra / Astra DB backend.

``open_store(settings)`` is the one place that turns configuration into a store; tasks, the plugin
and the scripts all use it.
"""

from __future__ import annotations

import os
from pathlib import Path

from include.stellar_lineage.config import Settings
from include.stellar_lineage.store.base import LineageStore, SchemaError

__all__ = ["LineageStore", "SchemaError", "open_store", "sqlite_path"]


def sqlite_path(settings: Settings) -> Path:
    """The SQLite store file: the Variable, else $AIRFLOW_HOME/stellar_lineage.db."""
    if settings.sqlite_path:
        return Path(settings.sqlite_path).expanduser()
    home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return Path(home) / "stellar_lineage.db"


def open_store(settings: Settings, *, migrate: bool = False) -> LineageStore:
    """Open the configured store and check its schema (fails fast naming anything missing).

    Tasks open with ``migrate=False`` so a deployment never changes schema behind the operator's
    back; the setup command and tests migrate explicitly. The embedded SQLite store is the
    exception: it is created on first use because nobody else owns its file.
    """
    if settings.store_backend == "cassandra":
        from include.stellar_lineage.store.cassandra import CassandraLineageStore

        # from_connection migrates (only when asked) and then checks the schema, failing fast.
        return CassandraLineageStore.from_connection(settings.cassandra_conn_id, migrate=migrate)
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    return SqliteLineageStore(sqlite_path(settings), migrate=True)
