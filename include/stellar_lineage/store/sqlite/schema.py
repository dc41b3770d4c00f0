"""SQLite store schema: numbered ``.sql`` migrations in ``migrations/`` (applied in order, each once,
recorded in ``schema_migrations``) and ``check_schema``, which names whatever a store file is missing
instead of failing later on the first statement that needs it. Mixed into ``SqliteLineageStore``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from include.stellar_lineage.records import utcnow
from include.stellar_lineage.store.base import SchemaError
from include.stellar_lineage.store.sqlite.reads import _FIELDS, ts

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Migration 007 (trends.py): every terminal transition in store.py writes finished_at in its own UPDATE (no
# second row update per completion); the 007 triggers keep the counters and enqueued_at.
TREND_COLUMNS = ("enqueued_at", "finished_at")
REQUIRED_TABLES = (
    "lineage",
    "failures_by_hour",
    "status_counts",
    "completions_by_minute",
    "spend_ledger",
    "spend_totals",
    "creation_edges",
    "graph_state",
    "attribute_followups",
    "outcomes_by_hour",
    "latency_by_hour",
)


class SqliteSchema:
    """Mixin: needs ``self.path``, ``self._conn()`` and ``self._write()``."""

    path: str
    _conn: Any
    _write: Any

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self._write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
                version = int(path.name.split("_", 1)[0])
                if version in done:
                    continue
                for statement in split_sql(path.read_text()):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, path.stem, ts(utcnow())))
                applied.append(path.stem)
        return applied

    def check_schema(self) -> None:
        conn = self._conn()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [f"table {t}" for t in REQUIRED_TABLES if t not in tables]
        if "lineage" in tables:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(lineage)")}
            missing += [f"column lineage.{c}" for c in (*_FIELDS, *TREND_COLUMNS) if c not in columns]
        if missing:
            raise SchemaError(
                f"SQLite store {self.path} is missing: {', '.join(missing)}. "
                "Run the store migration (scripts/setup or SqliteLineageStore(path, migrate=True))."
            )


def split_sql(text: str) -> list[str]:
    """Split a migration file into statements; trigger bodies keep their inner semicolons."""
    statements, buffer = [], ""
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
