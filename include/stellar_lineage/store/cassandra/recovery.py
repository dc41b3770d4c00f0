"""Cassandra store: the ways out of FAILED and stuck that issue 11 adds. Mixed into
``CassandraLineageStore``; see ``store.py`` for the data model and ``queue.py`` for the hint rules.

* ``requeue_failed`` reads ``lineage_failed_index`` (8 partitions per network, ordered by when the
  episode failed; bounded by the number of FAILED records, not the table), then one row read and one
  LWT ``IF status = 'FAILED'`` per record, pending hint first. Entries whose row left FAILED meanwhile
  (re-requested) are dropped as they are met.
* ``renew_claims`` moves a held claim's processing-index entry to ``now`` (new entry first, LWT
  ``IF status = 'PROCESSING' AND claim_owner AND claim_token``, then the old entry goes).
* ``failures_since`` sums the hourly ``lineage_failures`` counters (one partition per network).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from include.stellar_lineage.records import Status, utcnow
from include.stellar_lineage.store.cassandra import queue as q

P, PR, F = Status.PENDING.value, Status.PROCESSING.value, Status.FAILED.value
_FAR_FUTURE = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


class RecoveryMixin:
    # provided by CassandraLineageStore
    session: Any
    execute: Any
    _rows: Any
    _count: Any
    networks: Any

    @property
    def stmts(self) -> dict[str, Any]:
        raise NotImplementedError  # the store prepares them

    def requeue_failed(
        self,
        *,
        failed_before: dt.datetime | None,
        max_rounds: int | None = None,
        network: str | None = None,
        limit: int = 10_000,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        now = q.ms(now or utcnow())
        cutoff = q.ms(failed_before) if failed_before is not None else _FAR_FUTURE
        out: list[tuple[str, str]] = []
        for net in [network] if network else self.networks():
            reads = [
                self.session.execute_async(self.stmts["failed_before"], (net, b, cutoff, limit))
                for b in range(q.BUCKETS)
            ]
            entries = sorted((e for f in reads for e in f.result()), key=lambda e: e.failed_at)
            rows = self._rows(net, [e.stellar_account for e in entries]) if entries else {}
            for e in entries:
                if len(out) >= limit:
                    break
                key = (net, q.bucket(e.stellar_account), e.failed_at, e.stellar_account)
                row = rows.get(e.stellar_account)
                if row is None or row.status != F or (net, e.stellar_account) in out:
                    self.execute("failed_del", key)  # re-requested meanwhile, or an older episode's entry
                    continue
                rounds = row.failed_rounds or 0
                if max_rounds is not None and rounds >= max_rounds:
                    continue  # bounded: stays FAILED until someone asks (retry-all, re-request)
                token = q.new_token()
                hint = q.hint_for_row(row, net, token)
                self.execute("pending_put", hint.key())
                counted = rounds + 1 if max_rounds is not None else rounds
                rs = self.execute("requeue", (counted, token, now, now, net, e.stellar_account))
                if not rs.one()[0]:
                    self.execute("pending_del", hint.key())
                    continue
                self.execute("failed_del", key)
                self._count(net, F, -1)
                self._count(net, P, 1)
                out.append((net, e.stellar_account))
        return out

    def renew_claims(self, network: str, accounts: Sequence[str], *, owner: str, now: dt.datetime | None = None) -> int:
        now = q.ms(now or utcnow())
        renewed = 0
        for account, row in self._rows(network, list(accounts)).items():
            if row.status != PR or row.claim_owner != owner:
                continue
            entry = (network, q.bucket(account), now, account, row.claim_token)
            self.execute("processing_put", entry)  # new entry first: the claim stays findable
            if self.execute("renew", (now, now, network, account, owner, row.claim_token)).one()[0]:
                if row.processing_started_at is not None and q.aware(row.processing_started_at) != now:
                    self.execute(
                        "processing_del",
                        (network, q.bucket(account), row.processing_started_at, account, row.claim_token),
                    )
                renewed += 1
            else:
                self.execute("processing_del", entry)
        return renewed

    def failures_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        hour = q.ms(since).replace(minute=0, second=0, microsecond=0)
        return sum(r.n for r in self.execute("failures", (network, hour)))
