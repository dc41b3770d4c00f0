"""Copy the seed's uuid-keyed lineage table into this store (one-off, offline).

The seed keyed ``stellar_creator_account_lineage`` by ``((id), stellar_account, network_name)`` with a
random ``id``, so it holds duplicate rows per account and cannot be altered into our
``((network_name, stellar_account))`` key. This reads it once (paged full scan), keeps one row per
(network, account) - the most finished status, then the latest ``updated_at`` - maps the seed's
statuses, and inserts into the migrated target keyspace (``INSERT … IF NOT EXISTS``, so re-running
never overwrites what the new system already wrote). The backfill then indexes and counts the rows.

Status mapping: COMPLETE / BIGQUERY_COMPLETE / DONE_* -> COMPLETE; INVALID -> INVALID;
FAILED / ERROR -> FAILED; anything else (PENDING, PROCESSING, RE_INQUIRY, IN_PROGRESS_*, …) -> PENDING,
since no worker holds a claim across the migration. ``xlm_balance`` (a 32-bit float in the seed) becomes
the shortest decimal that is the same float32. Memory: one row per distinct account.
"""

from __future__ import annotations

import decimal
import re
import struct
from typing import Any

from include.stellar_lineage.records import Status
from include.stellar_lineage.store.cassandra.admin import backfill as cassandra_backfill
from include.stellar_lineage.store.cassandra import queue as q

_TABLE_RE = re.compile(r"^[A-Za-z]\w{0,47}\.[A-Za-z]\w{0,47}$")
# columns copied when the seed table has them (names are identical in both schemas)
COPIED = (
    "stellar_creator_account",
    "stellar_account_created_at",
    "home_domain",
    "xlm_balance",
    "stellar_account_attributes_json",
    "stellar_account_assets_json",
    "child_accounts_json",
    "tags",
    "pipeline_source",
    "last_pipeline_attempt",
    "retry_count",
    "last_error",
    "created_at",
    "updated_at",
)
_RANK = {Status.COMPLETE.value: 4, Status.INVALID.value: 3, Status.FAILED.value: 2, Status.PENDING.value: 1}


def map_status(seed_status: str | None) -> str:
    s = (seed_status or "").upper()
    if s in ("COMPLETE", "BIGQUERY_COMPLETE") or s.startswith("DONE_"):
        return Status.COMPLETE.value
    if s == "INVALID":
        return Status.INVALID.value
    if s in ("FAILED", "ERROR"):
        return Status.FAILED.value
    return Status.PENDING.value


def copy_seed_table(store: Any, source: str, *, log: Any = None) -> dict[str, int]:
    if not _TABLE_RE.match(source):
        raise ValueError(f"source must be keyspace.table (plain identifiers), got {source!r}")
    src_ks, src_table = source.split(".")
    if src_ks == store.keyspace:
        raise ValueError("copy into a different keyspace: both tables are named stellar_creator_account_lineage")
    have = {
        r.column_name
        for r in store.session.execute(
            "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s",
            (src_ks, src_table),
        )
    }
    if not {"stellar_account", "network_name", "status"} <= have:
        raise ValueError(f"{source} does not look like the seed lineage table (columns: {sorted(have)})")
    columns = [c for c in COPIED if c in have]
    scan = store.session.prepare(
        f"SELECT network_name, stellar_account, status, {', '.join(columns)} FROM {src_ks}.{src_table}"
    )
    scan.fetch_size = 1000
    best: dict[tuple[str, str], Any] = {}
    scanned = 0
    for row in store.session.execute(scan):
        scanned += 1
        key = (row.network_name, row.stellar_account)
        rank = (_RANK[map_status(row.status)], q.aware(row.updated_at) if "updated_at" in have else None)
        current = best.get(key)
        if current is None or _newer(rank, current[0]):
            best[key] = (rank, row)
    insert = store.session.prepare(
        f"INSERT INTO {store.keyspace}.stellar_creator_account_lineage "
        f"(network_name, stellar_account, status, priority, {', '.join(columns)}) "
        f"VALUES (?, ?, ?, 1, {', '.join('?' * len(columns))}) IF NOT EXISTS"
    )
    insert.consistency_level = store.consistency.normal
    insert.serial_consistency_level = store.consistency.serial
    copied = 0
    for (network, account), (_rank, row) in best.items():
        status = map_status(row.status)
        values = [_convert(c, getattr(row, c), row.status) for c in columns]
        copied += bool(store.session.execute(insert, (network, account, status, *values)).one()[0])
    done = cassandra_backfill.backfill(store, log=log)  # queue entries + counters for the new rows
    cassandra_backfill.index_failed(store, log=log)  # copied FAILED rows reach the timer and retry-all
    cassandra_backfill.index_complete(store, log=log)  # copied COMPLETE rows reach the refresh policy
    if log:
        log.info("seed copy from %s: %d rows scanned, %d accounts, %d inserted", source, scanned, len(best), copied)
    return {"scanned": scanned, "accounts": len(best), "inserted": copied, "indexed": done["adopted"]}


def _newer(rank: tuple[int, Any], other: tuple[int, Any]) -> bool:
    if rank[0] != other[0]:
        return rank[0] > other[0]
    return rank[1] is not None and (other[1] is None or rank[1] > other[1])


def _f32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def _float32_digits(value: float) -> str:
    """Shortest decimal that is the same 32-bit float: 72.85 rather than 72.8499984741211 (the seed
    stored a float32; its extra digits are noise, the lost precision cannot be recovered)."""
    target = _f32(value)
    for digits in range(6, 10):
        text = f"{value:.{digits}g}"
        if _f32(float(text)) == target:
            return text
    return repr(value)


def _convert(column: str, value: Any, seed_status: str | None) -> Any:
    if column == "xlm_balance" and value is not None:
        return decimal.Decimal(_float32_digits(float(value)))
    if column == "pipeline_source":
        if not value and (seed_status or "").upper() == "BIGQUERY_COMPLETE":
            return "BIGQUERY"
        return value or None
    if column == "retry_count":
        return value or 0
    return value
