"""SQLite store: attribute follow-ups of graph mode (table ``attribute_followups``, migration 005).

A record completed from the creator graph alone is COMPLETE at once; its Horizon attributes come
later through a follow-up, the API path's lowest-priority work. A claim is one conditional
``UPDATE … RETURNING`` in a write transaction (never handed out twice); a claim older than the stale
threshold is taken again, so a dead worker loses nothing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from include.stellar_lineage.records import LineageResult, result_columns, utcnow
from include.stellar_lineage.store.followup_interface import ACCOUNT_GONE_NOTE
from include.stellar_lineage.store.sqlite.reads import ts

# The data fields a pipeline result writes into a record (status and pipeline_source excluded).
DATA_ASSIGNMENTS = (
    "stellar_creator_account = ?, stellar_account_created_at = ?, home_domain = ?, xlm_balance = ?,"
    " stellar_account_attributes_json = ?, stellar_account_assets_json = ?, child_accounts_json = ?, tags = ?"
)


def data_params(result: LineageResult) -> tuple[Any, ...]:
    return result_columns(result, timestamp=ts)


def add_followups_in(conn: sqlite3.Connection, network: str, accounts: Sequence[str], when: str) -> int:
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO attribute_followups (network_name, stellar_account, enqueued_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [(network, a, when) for a in dict.fromkeys(accounts)],
    )
    return conn.total_changes - before


class SqliteFollowups:
    # provided by SqliteLineageStore
    _write: Any
    _conn: Any

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def add_followups(self, network: str, accounts: Sequence[str], *, now: dt.datetime | None = None) -> int:
        with self._tx() as conn:
            return add_followups_in(conn, network, accounts, ts(now or utcnow()) or "")

    def claim_followups(
        self,
        limit: int,
        *,
        owner: str,
        network: str | None = None,
        stale_after: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        if limit <= 0:
            return []
        now = now or utcnow()
        where, params = ["(claimed_at IS NULL OR claimed_at < ?)"], [ts(now - stale_after)]
        if network is not None:
            where.append("network_name = ?")
            params.append(network)
        sql = (
            "UPDATE attribute_followups SET claim_owner = ?, claimed_at = ? WHERE rowid IN"
            " (SELECT rowid FROM attribute_followups WHERE " + " AND ".join(where) + " ORDER BY enqueued_at LIMIT ?)"
            " RETURNING network_name, stellar_account, enqueued_at"
        )
        with self._tx() as conn:
            rows = conn.execute(sql, (owner, ts(now), *params, limit)).fetchall()
        return [(r[0], r[1]) for r in sorted(rows, key=lambda r: r[2])]

    def finish_followup(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        result: LineageResult | None,
        now: dt.datetime | None = None,
    ) -> bool:
        when = ts(now or utcnow())
        with self._tx() as conn:
            gone = conn.execute(
                "DELETE FROM attribute_followups WHERE network_name = ? AND stellar_account = ? AND claim_owner = ?",
                (network, account, owner),
            ).rowcount
            if not gone:
                return False
            if result is None:
                conn.execute(
                    "UPDATE lineage SET last_error = ?, updated_at = ? WHERE network_name = ?"
                    " AND stellar_account = ? AND status = 'COMPLETE'",
                    (ACCOUNT_GONE_NOTE, when, network, account),
                )
            else:
                conn.execute(
                    "UPDATE lineage SET " + DATA_ASSIGNMENTS + ", updated_at = ? WHERE network_name = ?"
                    " AND stellar_account = ? AND status = 'COMPLETE'",
                    (*data_params(result), when, network, account),
                )
        return True

    def release_followup(
        self, network: str, account: str, *, owner: str, max_attempts: int, now: dt.datetime | None = None
    ) -> bool:
        with self._tx() as conn:
            row = conn.execute(
                "UPDATE attribute_followups SET claim_owner = NULL, claimed_at = NULL, attempts = attempts + 1"
                " WHERE network_name = ? AND stellar_account = ? AND claim_owner = ? RETURNING attempts",
                (network, account, owner),
            ).fetchone()
            if row is None:
                return False
            if row[0] >= max_attempts:
                conn.execute(
                    "DELETE FROM attribute_followups WHERE network_name = ? AND stellar_account = ?", (network, account)
                )
        return True

    def followup_depth(self, network: str | None = None) -> int:
        if network is None:
            return int(self._conn().execute("SELECT count(*) FROM attribute_followups").fetchone()[0])
        return int(
            self._conn()
            .execute("SELECT count(*) FROM attribute_followups WHERE network_name = ?", (network,))
            .fetchone()[0]
        )
