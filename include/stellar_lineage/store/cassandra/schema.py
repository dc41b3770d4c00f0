"""Versioned CQL migrations (``store/cassandra/cql/NNN_name.cql``) and the start-up schema check.

* ``migrate`` applies every file not yet recorded in ``{ks}.schema_migrations`` in order. Each
  ``ALTER TABLE … ADD col`` is skipped when the column already exists, because seed deployments added
  ``pipeline_source``/``last_pipeline_attempt``/``processing_started_at`` by hand
  (``cassandra_migration_dual_pipeline.cql``) without any migrations table; ``CREATE … IF NOT EXISTS``
  is idempotent by itself. A crash half-way through a file is therefore safe to re-run.
* ``check_schema`` reads ``system_schema`` and raises ``SchemaError`` naming every missing table and
  column, so a worker fails at start-up instead of with "Undefined column name pipeline_source" in the
  middle of a batch.
* Schema changes wait for agreement across nodes (``wait_for_schema_agreement``) before the next one.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from include.stellar_lineage.store.base import SchemaError

CQL_DIR = Path(__file__).with_name("cql")
LINEAGE_TABLE = "stellar_creator_account_lineage"
_ALTER_ADD = re.compile(r"^ALTER\s+TABLE\s+\S+?\.(\w+)\s+ADD\s+(\w+)\s+\w+", re.IGNORECASE | re.DOTALL)
_CREATE = re.compile(r"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+\S+?\.(\w+)\s*\((.*)\)", re.IGNORECASE | re.DOTALL)
_COLUMN = re.compile(r"^\s*(\w+)\s+\w+(?:<[^>]*>)?\s*,?\s*$")


def migration_files() -> list[Path]:
    files = sorted(CQL_DIR.glob("[0-9][0-9][0-9]_*.cql"))
    versions = [int(f.name[:3]) for f in files]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers in {CQL_DIR}: {[f.name for f in files]}")
    return files


def statements(path: Path, keyspace: str) -> list[str]:
    """Statements of one migration file with ``{ks}`` filled in; ``--`` comments dropped."""
    text = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return [s.strip().replace("{ks}", keyspace) for s in text.split(";") if s.strip()]


def expected_schema() -> dict[str, set[str]]:
    """Table -> columns that the migrations produce, derived from the .cql files themselves so the
    check can never drift from the migrations."""
    tables: dict[str, set[str]] = {}
    for path in migration_files():
        for stmt in statements(path, "ks"):
            if m := _CREATE.match(stmt):
                # one "name type" per line in our files; the PRIMARY KEY line is not a column
                tables[m.group(1)] = {
                    c.group(1)
                    for line in m.group(2).splitlines()
                    if (c := _COLUMN.match(line)) and c.group(1).upper() != "PRIMARY"
                }
            elif m := _ALTER_ADD.match(stmt):
                tables.setdefault(m.group(1), set()).add(m.group(2))
    return tables


def _existing(session: Any, keyspace: str) -> dict[str, set[str]]:
    rows = session.execute(
        "SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = %s", (keyspace,)
    )
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row.table_name, set()).add(row.column_name)
    return out


def _partition_key(session: Any, keyspace: str, table: str) -> list[str]:
    rows = session.execute(
        "SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
        (keyspace, table),
    )
    return [r.column_name for r in sorted(rows, key=lambda r: r.position) if r.kind == "partition_key"]


def _check_key(session: Any, keyspace: str) -> None:
    pk = _partition_key(session, keyspace, LINEAGE_TABLE)
    if pk and sorted(pk) != ["network_name", "stellar_account"]:
        raise SchemaError(
            f"{keyspace}.{LINEAGE_TABLE} is partitioned by ({', '.join(pk)}), expected "
            "((network_name, stellar_account)); the seed's uuid-keyed table allows duplicate rows and "
            "cannot be altered in place - migrate a new keyspace and copy it with `cassandra_migrate "
            "--copy-seed-table <this keyspace>.stellar_creator_account_lineage`"
        )


def check_schema(session: Any, keyspace: str) -> None:
    keyspaces = session.execute(
        "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s", (keyspace,)
    )
    if not list(keyspaces):
        raise SchemaError(f"Cassandra keyspace {keyspace!r} does not exist (create it, then run migrate)")
    _check_key(session, keyspace)  # first: migrating would alter the seed's own table
    have = _existing(session, keyspace)
    missing: list[str] = []
    for table, columns in expected_schema().items():
        if table not in have:
            missing.append(f"table {keyspace}.{table}")
            continue
        missing += [f"column {table}.{c}" for c in sorted(columns - have[table])]
    if missing:
        raise SchemaError(
            f"Cassandra keyspace {keyspace!r} is missing: {', '.join(missing)}. Run "
            "`python -m include.stellar_lineage.store.cassandra.admin --conn-id <id>` to migrate."
        )


def applied_migrations(session: Any, keyspace: str) -> set[str]:
    have = _existing(session, keyspace)
    if "schema_migrations" not in have:
        return set()
    return {r.name for r in session.execute(f"SELECT name FROM {keyspace}.schema_migrations")}


def migrate(session: Any, keyspace: str, *, log: Any = None, post_steps: dict[str, Any] | None = None) -> list[str]:
    """Apply pending migrations; ``post_steps[name]()`` runs after a file's statements and before the
    file is recorded, so a crash in between re-runs both (post steps must be re-runnable)."""
    _check_key(session, keyspace)  # never ALTER a seed's uuid-keyed table
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations (name text PRIMARY KEY, applied_at timestamp)"
    )
    session.cluster.control_connection.wait_for_schema_agreement()
    done = applied_migrations(session, keyspace)
    applied: list[str] = []
    for path in migration_files():
        if path.stem in done:
            continue
        for stmt in statements(path, keyspace):
            if m := _ALTER_ADD.match(stmt):
                table, column = m.group(1), m.group(2)
                if column in _existing(session, keyspace).get(table, set()):
                    if log:
                        log.info("migration %s: %s.%s already exists, skipped", path.stem, table, column)
                    continue
            session.execute(stmt, timeout=60)
            session.cluster.control_connection.wait_for_schema_agreement()
        if post_steps and path.stem in post_steps:
            post_steps[path.stem]()
        session.execute(
            f"INSERT INTO {keyspace}.schema_migrations (name, applied_at) VALUES (%s, %s)",
            (path.stem, dt.datetime.now(dt.UTC)),
        )
        applied.append(path.stem)
        if log:
            log.info("migration %s applied to keyspace %s", path.stem, keyspace)
    return applied
