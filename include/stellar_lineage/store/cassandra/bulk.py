"""Bulk claims/completion and attribute follow-ups of graph mode for the Cassandra store (migration 007).

* ``_claim_named`` (``claim_batch`` with more than one named account) runs the claim LWTs
  concurrently: named rows are distinct partitions, so they do not contend.
* ``complete_many`` runs the owner-guarded ``complete`` LWTs of a batch concurrently (each record is
  its own partition, so they do not contend), then queues the follow-ups.
* ``complete_pending_many`` (graph mode, records nobody holds) skips the claim: one plain read per
  record and creator, then ONE LWT per record ``IF status = 'PENDING' AND queue_token = ?`` straight to
  COMPLETE (its refresh-index entry written first, as ``complete`` does); creators are enqueued only
  when the read found no row, counters move once per batch. That is 1 LWT where claim + complete +
  creator enqueue took 3.
* A follow-up row lives in ``attribute_followups`` ``((network, bucket), account)``. Claim: an LWT
  ``IF claimed_at < stale-limit`` (new rows carry the epoch), so two claimers never both win and a
  dead worker's claim is taken again once stale. Finish/drop: an LWT delete ``IF claim_owner = ?``.
  Claim scans start at a random bucket and a random account so concurrent claimers spread out and the
  tombstones of finished rows are not all stepped over by every scan.
* ``attribute_followup_counts`` keeps the depth without a scan (updated after each applied LWT).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from types import SimpleNamespace
from collections.abc import Mapping, Sequence
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
from include.stellar_lineage.store.followup_interface import ACCOUNT_GONE_NOTE

log = logging.getLogger("include.stellar_lineage.store.cassandra")
FOLLOWUP_BUCKETS = 32
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CONCURRENCY = 32
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class BulkMixin:
    # provided by CassandraLineageStore
    session: Any
    stmts: Any
    execute: Any
    complete: Any
    networks: Any
    get_many: Any
    _claim_one: Any
    _settle: Any
    _record_outcome: Any  # trends.py
    _rows: Any
    _count: Any
    _serial_read: Any
    _enqueue_one: Any

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
        rows: dict[str, Any] = {}
        for i in range(0, len(wanted), 256):  # plain reads, a bounded number in flight
            rows.update(self._rows(network, wanted[i : i + 256]))
        todo = [
            (account, result, rows[account])
            for account, result in results.items()
            if account in rows and rows[account].status == Status.PENDING.value and q.is_due(rows[account], when)
        ]

        def one(item: tuple[str, LineageResult, Any]) -> bool:
            account, result, row = item
            columns = result_columns(result, balance=q.to_decimal)
            params = (*columns, source, pipeline, when, when, when, network, account, row.queue_token)
            entry = q.complete_entry(network, account, when)
            self.execute("complete_put", entry)  # entry first: a COMPLETE row is always findable by the refresh
            try:
                applied = bool(self.execute("complete_pending", params).was_applied)
            except Unavailable:
                raise  # refused before Paxos started: not applied
            except Exception as exc:  # noqa: BLE001 - timeout / dropped connection: read back at SERIAL
                log.warning("complete_pending of %s/%s: outcome unknown (%s)", network, account, type(exc).__name__)
                after = self._serial_read(network, account)  # raises if still unreachable
                applied = (
                    after is not None
                    and after.status == Status.COMPLETE.value
                    and after.queue_token == row.queue_token
                    and q.aware(after.updated_at) == when
                )
            if applied:  # the episode's queue hint is finished (a leftover one is dropped by claimers)
                self.execute("pending_del", q.hint_for_row(row, network).key())
                # the row as this write left it: claimed by ``pipeline`` at ``when`` (trends.py)
                done_row = SimpleNamespace(stellar_account=account, claim_pipeline=pipeline, last_pipeline_attempt=when)
                self._record_outcome(network, done_row, Status.COMPLETE.value, source, when)
            else:
                self.execute("complete_del", entry)
            return applied

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            won = list(pool.map(one, todo))
        done = [item for item, ok in zip(todo, won, strict=True) if ok]
        if not done:
            return []
        self._count(network, Status.COMPLETE.value, len(done), source)
        self._count(network, Status.PENDING.value, -len(done))
        self.execute(
            "completion_add_n",
            (
                len(done),
                network,
                when.replace(minute=0, second=0, microsecond=0),
                when.replace(second=0, microsecond=0),
                source,
            ),
        )
        unseen: dict[str, int] = {}  # creators without a row: enqueued as complete() would
        for account, result, row in done:
            if result.creator and result.creator != account and result.creator not in rows:
                prio = creator_priority(row.priority if row.priority is not None else 1)
                unseen[result.creator] = min(prio, unseen.get(result.creator, prio))
        added = sum(
            self._enqueue_one(network, creator, prio, when, allow_reset=False)[0] == "added"
            for creator, prio in unseen.items()
        )
        if added:
            self._count(network, Status.PENDING.value, added)
        accounts = [account for account, _r, _row in done]
        if followup:
            self.add_followups(network, accounts, now=when)
        return accounts

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

    def add_followups(self, network: str, accounts: Sequence[str], *, now: dt.datetime | None = None) -> int:
        when = q.ms(now or utcnow())
        unique = list(dict.fromkeys(accounts))
        added = 0
        for i in range(0, len(unique), 256):  # a bounded number of LWTs in flight
            futures = [
                self.session.execute_async(
                    self.stmts["followup_add"], (network, q.bucket(a, FOLLOWUP_BUCKETS), a, when, EPOCH)
                )
                for a in unique[i : i + 256]
            ]
            added += sum(1 for f in futures if f.result().was_applied)
        if added:
            self.execute("followup_count_add", (added, network))
        return added

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
        now = q.ms(now or utcnow())
        stale = now - stale_after
        claimed: list[tuple[str, str]] = []
        for net in [network] if network else self.networks():
            first = random.randrange(FOLLOWUP_BUCKETS)
            for b in [(first + i) % FOLLOWUP_BUCKETS for i in range(FOLLOWUP_BUCKETS)]:
                start = "G" + random.choice(_ALPHABET[:4])  # G + A..D: where account ids begin
                for lower in (start, ""):  # from a random point to the end, then from the start
                    rows = self.execute("followup_scan", (net, b, lower, (limit - len(claimed)) * 2))
                    for row in rows:
                        if len(claimed) >= limit:
                            break
                        if q.aware(row.claimed_at) is not None and q.aware(row.claimed_at) >= stale:
                            continue  # held by a live claim
                        applied = self.execute(
                            "followup_claim", (owner, now, net, b, row.stellar_account, stale)
                        ).was_applied
                        if applied:
                            claimed.append((net, row.stellar_account))
                    if len(claimed) >= limit:
                        return claimed
        return claimed

    def finish_followup(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        result: LineageResult | None,
        now: dt.datetime | None = None,
    ) -> bool:
        when = q.ms(now or utcnow())
        if not self._drop_followup(network, account, owner):
            return False
        if result is None:
            self.execute("record_note", (ACCOUNT_GONE_NOTE, when, network, account))
        else:
            columns = result_columns(result, balance=q.to_decimal)
            self.execute("record_data", (*columns, when, network, account))
        return True

    def release_followup(
        self, network: str, account: str, *, owner: str, max_attempts: int, now: dt.datetime | None = None
    ) -> bool:
        b = q.bucket(account, FOLLOWUP_BUCKETS)
        row = self.execute("followup_get", (network, b, account)).one()
        if row is None or row.claim_owner != owner:
            return False
        attempts = (row.attempts or 0) + 1
        if attempts >= max_attempts:
            return self._drop_followup(network, account, owner)
        return bool(self.execute("followup_release", (EPOCH, attempts, network, b, account, owner)).was_applied)

    def followup_depth(self, network: str | None = None) -> int:
        total = 0
        for net in [network] if network else self.networks():
            row = self.execute("followup_count", (net,)).one()
            total += int(row.n) if row is not None and row.n is not None else 0
        return total

    def _drop_followup(self, network: str, account: str, owner: str) -> bool:
        applied = self.execute(
            "followup_delete", (network, q.bucket(account, FOLLOWUP_BUCKETS), account, owner)
        ).was_applied
        if applied:
            self.execute("followup_count_add", (-1, network))
        return bool(applied)
