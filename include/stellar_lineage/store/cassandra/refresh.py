"""Cassandra store: the refresh policy's re-queue (issue 16). Mixed into ``CassandraLineageStore``; see
``store.py`` for the data model and ``queue.py`` for the hint rules.

``requeue_stale`` reads ``lineage_complete_index`` (migration 008: 8 partitions per network ordered by
completion time, ``completed_at < cutoff LIMIT n`` each; bounded by ``limit``, never the table), then one
row read and one LWT ``IF status = 'COMPLETE' AND completed_at = <the entry's time>`` per record,
pending hint first (at ``Priority.REFRESH``). The condition on ``completed_at`` makes an entry of an
older COMPLETE episode (the record was re-collected since) fail harmlessly; such entries, and entries
whose row left COMPLETE, are dropped as they are met. They are at least the cutoff old, so none can
belong to a completion still in flight. Data columns and ``pipeline_source`` are not written: the
record keeps what was collected until the new collection's ``complete`` overwrites it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.stellar_lineage.records import Priority, Status, utcnow
from include.stellar_lineage.store.cassandra import queue as q

P, C = Status.PENDING.value, Status.COMPLETE.value


class RefreshMixin:
    # provided by CassandraLineageStore
    session: Any
    stmts: Any
    execute: Any
    _rows: Any
    _count: Any

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
        now = q.ms(now or utcnow())
        cutoff = q.ms(completed_before)
        reads = [
            self.session.execute_async(self.stmts["complete_before"], (network, b, cutoff, limit))
            for b in range(q.BUCKETS)
        ]
        entries = sorted((e for f in reads for e in f.result()), key=lambda e: (e.completed_at, e.stellar_account))
        rows = self._rows(network, [e.stellar_account for e in entries]) if entries else {}
        out: list[tuple[str, str]] = []
        for e in entries:
            if len(out) >= limit:
                break
            at = q.aware(e.completed_at)
            key = q.complete_entry(network, e.stellar_account, at)
            row = rows.get(e.stellar_account)
            if row is None or row.status != C or q.aware(row.completed_at) != at:
                self.execute("complete_del", key)  # an older episode's entry, or the row left COMPLETE
                continue
            token = q.new_token()
            hint = q.PendingHint(
                int(Priority.REFRESH), q.aware(row.created_at) or now, 0, e.stellar_account, token, network
            )
            self.execute("pending_put", hint.key())  # hint first: a PENDING row is always claimable
            rs = self.execute(
                "refresh_requeue", (int(Priority.REFRESH), token, now, now, network, e.stellar_account, at)
            )
            if not rs.one()[0]:
                self.execute("pending_del", hint.key())
                continue
            self.execute("complete_del", key)
            self._count(network, C, -1, row.pipeline_source or "")
            self._count(network, P, 1)
            out.append((network, e.stellar_account))
        return out
