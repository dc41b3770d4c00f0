"""Bulk claims and completion of graph mode for the Cassandra store (follow-ups: followups.py).

* ``_claim_named`` (``claim_batch`` with more than one named account) runs the claim LWTs
  concurrently: named rows are distinct partitions, so they do not contend.
* ``complete_many`` runs the owner-guarded ``complete`` LWTs of a batch concurrently (each record is
  its own partition, so they do not contend), then queues the follow-ups.
* ``complete_pending_many`` (graph mode, records nobody holds) skips the claim: one plain read per
  record and creator, then ONE LWT per record ``IF status = 'PENDING' AND queue_token = ?`` straight to
  COMPLETE. The whole call is a few pipelined rounds (``enqueue.concurrently``), not a chain of round
  trips per record: refresh-index entries of all (entry first, as ``complete`` does), then all the
  LWTs, then the pending-hint deletes and recent-list entries of the applied ones; counters and trend
  counters move once per call; creators without a row are enqueued in bulk. An LWT whose outcome is
  unknown is read back at SERIAL (ours when the row is COMPLETE with our episode's token and our time).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cassandra import Unavailable

from include.stellar_lineage.records import (
    LineageRecord,
    LineageResult,
    Status,
    creator_priority,
    result_columns,
    utcnow,
)
from include.stellar_lineage.store.cassandra import queue as q
from include.stellar_lineage.store.cassandra.enqueue import concurrently, raise_failures

log = logging.getLogger("include.stellar_lineage.store.cassandra")
CONCURRENCY = 32  # complete_many's owner-guarded transitions (threads: each is a read + an LWT)


class BulkMixin:
    # provided by CassandraLineageStore
    session: Any
    stmts: Any
    execute: Any
    complete: Any
    add_followups: Any
    get_many: Any
    _claim_one: Any
    _settle: Any
    _record_outcomes: Any  # trends.py
    _count: Any
    _serial_read: Any
    _enqueue_many: Any

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
        items = list(results.items())

        def one(item: tuple[str, LineageResult]) -> bool:
            return self.complete(network, item[0], owner=owner, result=item[1], source=source, now=now)

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            won = list(pool.map(one, items))
        done = [account for (account, _r), ok in zip(items, won, strict=True) if ok]
        if followup and done:
            self.add_followups(network, done, now=now)
        return done

    def complete_pending_many(
        self,
        network: str,
        results: Mapping[str, LineageResult],
        *,
        pipeline: str,
        owner: str,
        source: str,
        followup: bool = False,
        now: dt.datetime | None = None,
    ) -> list[str]:
        when = q.ms(now or utcnow())
        creators = [r.creator for r in results.values() if r.creator]
        wanted = list(dict.fromkeys([*results, *creators]))
        reads = concurrently(self.session, [(self.stmts["get_enqueued"], (network, a)) for a in wanted])
        raise_failures(reads)
        rows = {r.stellar_account: r for _ok, rs in reads if (r := rs.one()) is not None}
        todo = [
            (account, result, rows[account])
            for account, result in results.items()
            if account in rows and rows[account].status == Status.PENDING.value and q.is_due(rows[account], when)
        ]
        entries = [q.complete_entry(network, account, when) for account, _r, _row in todo]
        # entries first: a COMPLETE row is always findable by the refresh
        raise_failures(concurrently(self.session, [(self.stmts["complete_put"], e) for e in entries]))
        stmt = self.stmts["complete_pending"]
        lwts = concurrently(
            self.session,
            [
                (
                    stmt,
                    (
                        *result_columns(result, balance=q.to_decimal),
                        *(source, pipeline, when, when, when, network, account, row.queue_token),
                    ),
                )
                for account, result, row in todo
            ],
        )
        done: list[tuple[str, LineageResult, Any]] = []
        cleanup: list[tuple[Any, tuple[Any, ...]]] = []
        unavailable: Exception | None = None
        for item, entry, (ok, rs) in zip(todo, entries, lwts, strict=True):
            account, _result, row = item
            if ok:
                applied = bool(rs.one()[0])
            elif isinstance(rs, Unavailable):  # refused before Paxos started: not applied
                unavailable, applied = unavailable or rs, False
            else:  # timeout / dropped connection: outcome unknown, read back at SERIAL
                log.warning("complete_pending of %s/%s: outcome unknown (%s)", network, account, type(rs).__name__)
                after = self._serial_read(network, account)  # raises if still unreachable
                applied = (
                    after is not None
                    and after.status == Status.COMPLETE.value
                    and after.queue_token == row.queue_token
                    and q.aware(after.updated_at) == when
                )
            if applied:  # the episode's queue hint is finished (a leftover one is dropped by claimers)
                done.append(item)
                cleanup.append((self.stmts["pending_del"], q.hint_for_row(row, network).key()))
            else:
                cleanup.append((self.stmts["complete_del"], entry))
        for ok, error in concurrently(self.session, cleanup):
            if not ok:  # a leftover hint or index entry is dropped by its reader later: nothing is lost
                log.warning("index cleanup after complete_pending failed: %s", error)
        if done:
            self._account_completions(network, done, rows, pipeline, source, when, followup)
        if unavailable is not None:
            raise unavailable
        return [account for account, _r, _row in done]

    def _account_completions(
        self,
        network: str,
        done: list[tuple[str, LineageResult, Any]],
        rows: Mapping[str, Any],
        pipeline: str,
        source: str,
        when: dt.datetime,
        followup: bool,
    ) -> None:
        """Counters, trends, creators and follow-ups of the records ``complete_pending_many`` completed."""
        n = len(done)
        self._count(network, Status.COMPLETE.value, n, source)
        self._count(network, Status.PENDING.value, -n)
        hour, minute = when.replace(minute=0, second=0, microsecond=0), when.replace(second=0, microsecond=0)
        self.execute("completion_add_n", (n, network, hour, minute, source))
        # each row as this write left it: claimed by ``pipeline`` at ``when``, enqueued when the read saw
        self._record_outcomes(
            network,
            [(account, pipeline, when, q.aware(row.enqueued_at or row.created_at)) for account, _r, row in done],
            Status.COMPLETE.value,
            source,
            when,
        )
        unseen: dict[str, int] = {}  # creators without a row: enqueued as complete() would
        for account, result, row in done:
            if result.creator and result.creator != account and result.creator not in rows:
                prio = creator_priority(row.priority if row.priority is not None else 1)
                unseen[result.creator] = min(prio, unseen.get(result.creator, prio))
        outcomes = self._enqueue_many(network, [(c, p, 0) for c, p in unseen.items()], when, allow_reset=False)
        added = sum(1 for o, _s in outcomes if o == "added")
        if added:
            self._count(network, Status.PENDING.value, added)
        if followup:
            self.add_followups(network, [account for account, _r, _row in done], now=when)

    def _claim_named(
        self, hints: list[q.PendingHint], owner: str, pipeline: str, now: dt.datetime
    ) -> list[LineageRecord]:
        cleanup: list[Any] = []
        claimed: list[tuple[str, str]] = []
        errors: list[Exception] = []
        with ThreadPoolExecutor(max_workers=32) as pool:
            futures = [(h, pool.submit(self._claim_one, h, owner, pipeline, now, cleanup)) for h in hints]
            for hint, future in futures:
                try:
                    if future.result():
                        claimed.append((hint.network, hint.account))
                except Exception as exc:  # noqa: BLE001 - ClaimUnknown etc.: settled by recover_stuck
                    errors.append(exc)
        self._settle(cleanup, claimed)
        if errors and not claimed:
            raise errors[0]
        if errors:
            log.warning("named claim: %d of %d claims unresolved (left to recover_stuck)", len(errors), len(hints))
        records = list(self.get_many(hints[0].network, [a for _n, a in claimed]).values()) if claimed else []
        records.sort(key=lambda r: (r.priority, r.created_at))
        return records
