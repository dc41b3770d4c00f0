"""SQLite store: the ways out of FAILED and stuck (FAILED re-queue, lease renewal, stuck recovery,
FAILED growth). Mixed into ``SqliteLineageStore``; every statement walks an index
(``lineage_failed_age`` is partial on status = 'FAILED') or the ``failures_by_hour`` aggregate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from include.stellar_lineage.records import RecoveryResult, Status, utcnow
from include.stellar_lineage.store.sqlite.reads import ts


class SqliteRecovery:
    """Mixin: needs ``self._conn()`` and ``self._write()``."""

    _conn: Any
    _write: Any

    def requeue_failed(
        self,
        *,
        failed_before: dt.datetime | None,
        max_rounds: int | None = None,
        network: str | None = None,
        limit: int = 10_000,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        where: list[str] = ["status = 'FAILED'"]
        params: list[Any] = []
        if failed_before is not None:
            where.append("updated_at < ?")
            params.append(ts(failed_before))
        if max_rounds is not None:
            where.append("failed_rounds < ?")
            params.append(max_rounds)
        if network is not None:
            where.append("network_name = ?")
            params.append(network)
        sql = (
            "UPDATE lineage SET status = 'PENDING', retry_count = 0, next_attempt_at = NULL, claim_owner = NULL,"
            " failed_rounds = failed_rounds + ?, updated_at = ?"
            " WHERE rowid IN (SELECT rowid FROM lineage WHERE "
            + " AND ".join(where)
            + " ORDER BY updated_at LIMIT ?) RETURNING network_name, stellar_account"
        )
        counted = 1 if max_rounds is not None else 0
        with self._write() as conn:
            rows = conn.execute(sql, (counted, ts(now or utcnow()), *params, limit)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def renew_claims(self, network: str, accounts: Sequence[str], *, owner: str, now: dt.datetime | None = None) -> int:
        accounts = list(dict.fromkeys(accounts))
        if not accounts:
            return 0
        when = ts(now or utcnow())
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE lineage SET processing_started_at = ?, updated_at = ? WHERE network_name = ?"
                f" AND stellar_account IN ({','.join('?' * len(accounts))})"
                " AND status = 'PROCESSING' AND claim_owner = ?",
                (when, when, network, *accounts, owner),
            )
            return cur.rowcount

    def failures_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        row = (
            self._conn()
            .execute(
                "SELECT coalesce(sum(n), 0) FROM failures_by_hour WHERE network_name = ? AND hour >= ?",
                (network, int(since.timestamp()) // 3600),
            )
            .fetchone()
        )
        return int(row[0])

    def recover_stuck(
        self, *, threshold: dt.timedelta, max_retries: int, now: dt.datetime | None = None
    ) -> RecoveryResult:
        now = now or utcnow()
        with self._write() as conn:
            rows = conn.execute(
                "UPDATE lineage SET retry_count = retry_count + 1,"
                " status = CASE WHEN retry_count + 1 >= ? THEN 'FAILED' ELSE 'PENDING' END,"
                " last_error = 'stuck in PROCESSING since ' || processing_started_at || ' (claimed by '"
                " || coalesce(claim_pipeline, '?') || ')', claim_owner = NULL,"
                " processing_started_at = NULL, updated_at = ?,"
                " finished_at = CASE WHEN retry_count + 1 >= ? THEN ? ELSE finished_at END"
                " WHERE status = 'PROCESSING' AND processing_started_at < ?"
                " RETURNING network_name, stellar_account, status",
                (max_retries, ts(now), max_retries, ts(now), ts(now - threshold)),
            ).fetchall()
        requeued = [(r[0], r[1]) for r in rows if r[2] == Status.PENDING.value]
        failed = [(r[0], r[1]) for r in rows if r[2] == Status.FAILED.value]
        return RecoveryResult(requeued, failed)
