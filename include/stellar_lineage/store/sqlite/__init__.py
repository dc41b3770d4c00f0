"""The embedded SQLite store: the default for one machine and for tests (migrations in ``migrations/``)."""

from include.stellar_lineage.store.sqlite.reads import ts
from include.stellar_lineage.store.sqlite.store import SqliteLineageStore

__all__ = ["SqliteLineageStore", "ts"]
