"""SQLite store: the refresh policy's re-queue (issue 16). Mixed into ``SqliteLineageStore``.

``requeue_stale`` walks the partial index ``lineage_complete_age`` (network, completed_at) of
migration 006 - only COMPLETE rows, oldest collection first - and moves up to ``limit`` of them back
to PENDING at ``Priority.REFRESH`` in one conditional ``UPDATE … RETURNING``. Nothing else of the row
changes: creator, attributes, children, tags and ``pipeline_source`` stay as collected until the new
collection overwrites them (``complete``), so the lineage page keeps showing them meanwhile.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.stellar_lineage.records import Priority, utcnow
from include.stellar_lineage.store.sqlite.reads import ts


class SqliteRefresh:
    """Mixin: needs ``self._write()``."""

    _write: Any

    def requeue_stale(
        self,
        network: str,
        *,
        completed_before: dt.datetime,
        limit: int,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        if limit <= 0:
            return []
        with self._write() as conn:
            rows = conn.execute(
                "UPDATE lineage SET status = 'PENDING', priority = ?, retry_count = 0, next_attempt_at = NULL,"
                " claim_owner = NULL, updated_at = ?"
                " WHERE status = 'COMPLETE' AND rowid IN (SELECT rowid FROM lineage INDEXED BY lineage_complete_age"
                " WHERE network_name = ? AND status = 'COMPLETE' AND completed_at < ?"
                " ORDER BY completed_at LIMIT ?) RETURNING network_name, stellar_account, completed_at",
                (int(Priority.REFRESH), ts(now or utcnow()), network, ts(completed_before), limit),
            ).fetchall()
        return [(r[0], r[1]) for r in sorted(rows, key=lambda r: r[2])]  # RETURNING has no order
