"""Attribute follow-ups of graph mode for the Cassandra store (migration 007; mixed into the store).

A follow-up row lives in ``attribute_followups`` ``((network, bucket), account)``.

* Add: an LWT ``INSERT … IF NOT EXISTS``, all of a call in flight together. Not a plain upsert: a row
  that is already there may be claimed by a worker right now, and an upsert would reset its
  ``claimed_at`` (another worker could then claim it too) and could not tell the depth counter whether
  the row is new.
* Claim: an LWT ``IF claimed_at < stale-limit`` (new rows carry the epoch), so two claimers never both
  win and a dead worker's claim is taken again once stale. Finish/drop: an LWT delete
  ``IF claim_owner = ?``. Claim scans start at a random bucket and a random account so concurrent
  claimers spread out and the tombstones of finished rows are not all stepped over by every scan.
* ``attribute_followup_counts`` keeps the depth without a scan (updated after each applied LWT).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from include.stellar_lineage.records import LineageResult, result_columns, utcnow
from include.stellar_lineage.store.cassandra import queue as q
from include.stellar_lineage.store.cassandra.enqueue import concurrently, raise_failures
from include.stellar_lineage.store.followup_interface import ACCOUNT_GONE_NOTE

FOLLOWUP_BUCKETS = 32
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class FollowupsMixin:
    # provided by CassandraLineageStore
    session: Any
    stmts: Any
    execute: Any
    networks: Any

    def add_followups(self, network: str, accounts: Sequence[str], *, now: dt.datetime | None = None) -> int:
        when = q.ms(now or utcnow())
        unique = list(dict.fromkeys(accounts))
        stmt = self.stmts["followup_add"]
        results = concurrently(
            self.session, [(stmt, (network, q.bucket(a, FOLLOWUP_BUCKETS), a, when, EPOCH)) for a in unique]
        )
        added = sum(1 for ok, rs in results if ok and rs.one()[0])
        if added:
            self.execute("followup_count_add", (added, network))
        raise_failures(results)  # the applied ones are counted above; an unknown outcome may leave the depth short
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
                        ).one()[0]
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
        return bool(self.execute("followup_release", (EPOCH, attempts, network, b, account, owner)).one()[0])

    def followup_depth(self, network: str | None = None) -> int:
        total = 0
        for net in [network] if network else self.networks():
            row = self.execute("followup_count", (net,)).one()
            total += int(row.n) if row is not None and row.n is not None else 0
        return total

    def _drop_followup(self, network: str, account: str, owner: str) -> bool:
        applied = self.execute("followup_delete", (network, q.bucket(account, FOLLOWUP_BUCKETS), account, owner)).one()[
            0
        ]
        if applied:
            self.execute("followup_count_add", (-1, network))
        return bool(applied)
