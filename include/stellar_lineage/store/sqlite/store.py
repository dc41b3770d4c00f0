"""SQLite lineage store: the embedded default for local runs and tests.

* Claims are one conditional ``UPDATE … WHERE status = 'PENDING' … RETURNING`` inside a
  ``BEGIN IMMEDIATE`` write transaction, so concurrent processes never receive the same record.
* Stats read trigger-maintained aggregate tables (``status_counts``, ``completions_by_minute``,
  ``spend_totals``, and for the dashboard trends ``outcomes_by_hour``/``latency_by_hour``: trends.py);
  pending/stuck lookups walk indexes. Nothing scans the whole table.
* Schema changes are numbered ``.sql`` files in ``migrations/``, applied by schema.py;
  ``check_schema`` names whatever is missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from include.stellar_lineage.records import (
    EnqueueResult,
    LineageRecord,
    LineageResult,
    Priority,
    Status,
    creator_priority,
    utcnow,
)
from include.stellar_lineage.store.base import LineageStore, wants_claim
from include.stellar_lineage.store.sqlite.followups import (
    DATA_ASSIGNMENTS,
    SqliteFollowups,
    add_followups_in,
    data_params,
)
from include.stellar_lineage.store.sqlite.graph import SqliteGraph
from include.stellar_lineage.store.sqlite.recovery import SqliteRecovery
from include.stellar_lineage.store.sqlite.refresh import SqliteRefresh
from include.stellar_lineage.store.sqlite.reads import SqliteReads, _row_to_record, ts
from include.stellar_lineage.store.sqlite.schema import SqliteSchema
from include.stellar_lineage.store.sqlite.trends import SqliteTrends

# The one way a record comes into being (enqueue, or a creator found by complete): PENDING, unless
# the row exists already.
_INSERT_PENDING = (
    "INSERT INTO lineage (network_name, stellar_account, status, priority, created_at, updated_at)"
    " VALUES (?, ?, 'PENDING', ?, ?, ?) ON CONFLICT DO NOTHING"
)


class SqliteLineageStore(
    SqliteSchema,
    SqliteTrends,
    SqliteRefresh,
    SqliteRecovery,
    SqliteGraph,
    SqliteFollowups,
    SqliteReads,
    LineageStore,
):
    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = str(path)
        self._local = threading.local()
        if migrate:
            self.migrate()
        self.check_schema()

    # --- connections --------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- queue --------------------------------------------------------------------------------
    def enqueue(
        self,
        network: str,
        accounts: Iterable[str],
        *,
        priority: Priority = Priority.REQUESTED,
    ) -> EnqueueResult:
        # Bulk: read which accounts exist (500 per query), then one executemany for the new rows and
        # one for the resets, all in one write transaction (1,000,000 requests in graph mode).
        unique = list(dict.fromkeys(accounts))
        now = ts(utcnow())
        with self._write() as conn:
            status: dict[str, str] = {}
            for i in range(0, len(unique), 500):
                chunk = unique[i : i + 500]
                status.update(
                    conn.execute(
                        "SELECT stellar_account, status FROM lineage WHERE network_name = ?"
                        f" AND stellar_account IN ({','.join('?' * len(chunk))})",
                        (network, *chunk),
                    ).fetchall()
                )
            added = [a for a in unique if a not in status]
            conn.executemany(_INSERT_PENDING, [(network, a, int(priority), now, now) for a in added])
            reset = []
            if priority <= Priority.REQUESTED:
                reset = [a for a in unique if status.get(a) in (Status.FAILED.value, Status.INVALID.value)]
                conn.executemany(
                    "UPDATE lineage SET status = 'PENDING', retry_count = 0, last_error = NULL, next_attempt_at = NULL,"
                    " failed_rounds = 0, pipeline_source = NULL, claim_owner = NULL, priority = min(priority, ?),"
                    " updated_at = ? WHERE network_name = ? AND stellar_account = ?"
                    " AND status IN ('FAILED', 'INVALID')",
                    [(int(priority), now, network, a) for a in reset],
                )
            was_reset = set(reset)
            unchanged = [a for a in unique if a in status and a not in was_reset]
        return EnqueueResult(added, reset, unchanged)

    def claim_batch(
        self,
        limit: int,
        *,
        pipeline: str,
        owner: str,
        network: str | None = None,
        accounts: Sequence[str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[LineageRecord]:
        if not wants_claim(limit, network, accounts):
            return []
        when = ts(now or utcnow())
        # not-yet-due rows are skipped inside the claim-order index walk (lineage_claim_order)
        where, params = ["status = 'PENDING'", "(next_attempt_at IS NULL OR next_attempt_at <= ?)"], [when]
        if network is not None:
            where.append("network_name = ?")
            params.append(network)
        if accounts is not None:
            where.append(f"stellar_account IN ({','.join('?' * len(accounts))})")
            params.extend(accounts)
        sql = (
            "UPDATE lineage SET status = 'PROCESSING', claim_owner = ?, claim_pipeline = ?,"
            " processing_started_at = ?, last_pipeline_attempt = ?, updated_at = ?"
            " WHERE status = 'PENDING' AND rowid IN (SELECT rowid FROM lineage WHERE "
            + " AND ".join(where)
            + " ORDER BY priority, created_at LIMIT ?) RETURNING *"
        )
        with self._write() as conn:
            rows = conn.execute(sql, (owner, pipeline, when, when, when, *params, limit)).fetchall()
        records = [_row_to_record(r) for r in rows]
        records.sort(key=lambda r: (r.priority, r.created_at))
        return records

    def _transition(self, network: str, account: str, owner: str, assignments: str, params: Sequence[Any]) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE lineage SET {assignments} WHERE network_name = ? AND stellar_account = ?"
                " AND status = 'PROCESSING' AND claim_owner = ?",
                (*params, network, account, owner),
            )
            return cur.rowcount == 1

    def complete(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        result: LineageResult,
        source: str,
        now: dt.datetime | None = None,
    ) -> bool:
        with self._write() as conn:
            return _complete_in(conn, network, account, owner, result, source, ts(now or utcnow()))

    def complete_many(
        self,
        network: str,
        results: Mapping[str, LineageResult],
        *,
        owner: str,
        source: str,
        followup: bool = False,
        now: dt.datetime | None = None,
    ) -> list[str]:
        """One write transaction for the whole batch (graph mode completes thousands per call): the
        rows still held are read once, then one ``executemany`` completes them and one enqueues their
        distinct creators. Inside ``BEGIN IMMEDIATE`` nobody can change a row in between."""
        when = ts(now or utcnow())
        accounts = list(results)
        with self._write() as conn:
            held: dict[str, int] = {}
            for i in range(0, len(accounts), 500):
                chunk = accounts[i : i + 500]
                held.update(
                    conn.execute(
                        "SELECT stellar_account, priority FROM lineage WHERE network_name = ? AND status = 'PROCESSING'"
                        f" AND claim_owner = ? AND stellar_account IN ({','.join('?' * len(chunk))})",
                        (network, owner, *chunk),
                    ).fetchall()
                )
            done = [a for a in accounts if a in held]
            conn.executemany(
                "UPDATE lineage SET status = 'COMPLETE', " + DATA_ASSIGNMENTS + ", pipeline_source = ?,"
                " processing_started_at = NULL, last_error = NULL, claim_owner = NULL, completed_at = ?,"
                " updated_at = ?, finished_at = ?"
                " WHERE network_name = ? AND stellar_account = ?",
                [(*data_params(results[a]), source, when, when, when, network, a) for a in done],
            )
            creators: dict[str, int] = {}
            for a in done:
                creator = results[a].creator
                if creator and creator != a:
                    prio = int(creator_priority(held[a]))
                    creators[creator] = min(prio, creators.get(creator, prio))
            conn.executemany(_INSERT_PENDING, [(network, c, p, when, when) for c, p in creators.items()])
            if followup and done:
                add_followups_in(conn, network, done, when)
        return done

    def retry_later(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        error: str,
        max_retries: int,
        now: dt.datetime | None = None,
        source: str | None = None,
        backoff: Callable[[int], dt.timedelta] | None = None,
    ) -> str | None:
        now = now or utcnow()
        key = (network, account, owner)
        with self._write() as conn:
            current = conn.execute(
                "SELECT retry_count FROM lineage WHERE network_name = ? AND stellar_account = ?"
                " AND status = 'PROCESSING' AND claim_owner = ?",
                key,
            ).fetchone()
            if current is None:
                return None
            retries = current[0] + 1
            due = ts(now + backoff(retries)) if backoff is not None and retries < max_retries else None
            row = conn.execute(
                "UPDATE lineage SET retry_count = ?, last_error = ?, next_attempt_at = ?,"
                " status = CASE WHEN ? >= ? THEN 'FAILED' ELSE 'PENDING' END,"
                " pipeline_source = CASE WHEN ? >= ? THEN coalesce(?, pipeline_source) ELSE pipeline_source END,"
                " claim_owner = NULL, processing_started_at = NULL, updated_at = ?,"
                " finished_at = CASE WHEN ? >= ? THEN ? ELSE finished_at END"
                " WHERE network_name = ? AND stellar_account = ? AND status = 'PROCESSING'"
                " AND claim_owner = ? RETURNING status",
                (
                    *(retries, error[:2000], due, retries, max_retries, retries, max_retries, source, ts(now)),
                    *(retries, max_retries, ts(now)),
                    *key,
                ),
            ).fetchone()
        return None if row is None else row[0]

    def mark_invalid(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        reason: str,
        now: dt.datetime | None = None,
        source: str | None = None,
    ) -> bool:
        return self._transition(
            network,
            account,
            owner,
            "status = 'INVALID', last_error = ?, pipeline_source = coalesce(?, pipeline_source), claim_owner = NULL,"
            " processing_started_at = NULL, updated_at = ?, finished_at = ?",
            (reason[:2000], source, *[ts(now or utcnow())] * 2),
        )

    def release(self, network: str, account: str, *, owner: str, now: dt.datetime | None = None) -> bool:
        return self._transition(
            network,
            account,
            owner,
            "status = 'PENDING', claim_owner = NULL, processing_started_at = NULL, updated_at = ?",
            (ts(now or utcnow()),),
        )


def _complete_in(
    conn: sqlite3.Connection, network: str, account: str, owner: str, result: LineageResult, source: str, when: str
) -> bool:
    """PROCESSING → COMPLETE inside the caller's write transaction; enqueues the creator if unseen."""
    row = conn.execute(
        "UPDATE lineage SET status = 'COMPLETE', " + DATA_ASSIGNMENTS + ", pipeline_source = ?,"
        " processing_started_at = NULL, last_error = NULL, claim_owner = NULL, completed_at = ?, updated_at = ?,"
        " finished_at = ?"
        " WHERE network_name = ? AND stellar_account = ? AND status = 'PROCESSING'"
        " AND claim_owner = ? RETURNING priority",
        (*data_params(result), source, when, when, when, network, account, owner),
    ).fetchone()
    if row is None:
        return False
    if result.creator and result.creator != account:
        conn.execute(_INSERT_PENDING, (network, result.creator, int(creator_priority(row[0])), when, when))
    return True
