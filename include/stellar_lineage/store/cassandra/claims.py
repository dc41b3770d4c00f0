"""Cassandra store: claiming PENDING records (mixed into ``CassandraLineageStore``).

A claim is an LWT ``IF status = 'PENDING' AND queue_token = ?`` on the record row, found through the
pending index hints (``queue.py``). The processing hint is written before the LWT, so a claimed row is
always findable by stuck recovery.

A claim whose LWT times out (``WriteTimeout``, write_type CAS) or whose connection drops has an
unknown outcome: the row is read back at SERIAL consistency, which finishes any in-flight Paxos round,
and the claim is ours exactly when the row carries our fresh ``claim_token``. If even that read fails
the batch stops; a claim we could not confirm stays PROCESSING and ``recover_stuck`` requeues it, so
it is neither lost nor handed out twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from cassandra import Unavailable

from include.stellar_lineage.records import LineageRecord, Status, utcnow
from include.stellar_lineage.store.base import wants_claim
from include.stellar_lineage.store.cassandra import queue as q

log = logging.getLogger(__name__)
P, PR = Status.PENDING.value, Status.PROCESSING.value


class ClaimUnknown(RuntimeError):
    """A claim's outcome could not be learned (node unreachable); recover_stuck will settle it."""


class ClaimsMixin:
    """Needs the store's session, prepared statements, row reads and counters."""

    session: Any
    stmts: Any
    execute: Any
    networks: Any
    get_many: Any
    lost_claims: int
    _spread: int
    _rows: Any
    _claim_named: Any
    _serial_read: Any
    _apply_counts: Any

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
        now = q.ms(now or utcnow())
        if accounts is not None:
            assert network is not None  # wants_claim refuses named accounts without their network
            rows = [r for r in self._rows(network, accounts).values() if r.status == P and q.is_due(r, now)]
            candidates: Iterable[q.PendingHint] = sorted(q.hint_for_row(r, network) for r in rows)
            if len(rows) > 1:  # named rows are distinct partitions: claim them concurrently (graph mode bulk)
                return self._claim_named(list(candidates)[:limit], owner, pipeline, now)
        else:
            networks = [network] if network else self.networks()
            q.promote_due(self.session, self.stmts, networks, now)  # not-yet-due rows stay out of the way
            candidates = q.pending_in_order(self.session, self.stmts, networks, max(limit, 16))
        claimed: list[tuple[str, str]] = []
        cleanup: list[Any] = []  # index deletes after a won claim: overlapped, awaited at the end
        stream = iter(candidates)
        lost = 0
        try:
            while len(claimed) < limit:
                # Try the next `need` candidates in random order: uncontended this claims exactly the
                # first `need` in claim order. Each lost race widens the next window, so concurrent
                # claimers spread out instead of all fighting for the head of the queue (in strict
                # order they lose almost every LWT); order is then best-effort, as in any queue.
                need = limit - len(claimed)
                window = list(itertools.islice(stream, need * min(8, 1 + self._spread + lost)))
                if not window:
                    break
                random.shuffle(window)
                for hint in window:
                    if len(claimed) >= limit:
                        break
                    if self._claim_one(hint, owner, pipeline, now, cleanup):
                        claimed.append((hint.network, hint.account))
                    else:
                        lost += 1
        except Exception:  # ClaimUnknown, node gone mid-batch, ...
            if not claimed:
                raise
            # what we hold is valid: hand it out; an unsettled claim is left to recover_stuck
            log.exception("claim batch interrupted; returning the %d records already claimed", len(claimed))
        finally:
            # remember contention for the next batch (a claimer in a busy pool stays spread out)
            self._spread = min(8, lost) if lost else self._spread // 2
            self._settle(cleanup, claimed)
        records: list[LineageRecord] = []
        for net in dict.fromkeys(n for n, _a in claimed):
            records += self.get_many(net, [a for n, a in claimed if n == net]).values()
        records.sort(key=lambda r: (r.priority, r.created_at))
        return records

    def _settle(self, cleanup: list[Any], claimed: list[tuple[str, str]]) -> None:
        # A failed cleanup write loses nothing: a leftover hint is dropped by the next claimer that
        # trips over it; a missed counter update leaves the counter off (see module docstring).
        for future in cleanup:
            try:
                future.result()
            except Exception:
                log.warning("index cleanup after claim failed", exc_info=True)
        for net, n in Counter(n for n, _a in claimed).items():
            try:
                self._apply_counts(net, {P: -n, PR: n})
            except Exception:
                log.warning("counter update after claim failed", exc_info=True)

    def _claim_one(self, hint: q.PendingHint, owner: str, pipeline: str, now: dt.datetime, cleanup: list[Any]) -> bool:
        network, account = hint.network, hint.account
        token = q.new_token()
        entry = (network, q.bucket(account), now, account, token)
        self.execute("processing_put", entry)  # hint first: a claimed row is always findable by recovery
        try:
            rs = self.execute("claim", (owner, pipeline, token, now, now, now, network, account, hint.queue_token))
            applied, current = rs.one()[0], rs.one()
        except Unavailable:
            # refused by the coordinator before any Paxos round started: definitely not applied
            with contextlib.suppress(Exception):  # a leftover entry is dropped by recovery later
                self.execute("processing_del", entry)
            raise ClaimUnknown(f"cluster unavailable while claiming {network}/{account}") from None
        except Exception as exc:  # noqa: BLE001 - WriteTimeout(CAS), OperationTimedOut, connection lost: unknown
            log.warning(
                "claim of %s/%s: outcome unknown (%s); reading back at SERIAL", network, account, type(exc).__name__
            )
            try:
                current = self._serial_read(network, account)
            except Exception as read_exc:  # noqa: BLE001 - re-raised as ClaimUnknown
                raise ClaimUnknown(f"claim of {network}/{account} unresolved: {read_exc}") from exc
            applied = current is not None and current.claim_token == token
        if applied:
            cleanup.append(self.session.execute_async(self.stmts["pending_del"], hint.key()))
            return True
        self.lost_claims += 1
        self.execute("processing_del", entry)
        self._drop_stale_hint(hint, current)
        return False

    def _drop_stale_hint(self, hint: q.PendingHint, row: Any) -> None:
        if row is None or getattr(row, "status", None) is None:
            stale = row is None or q.is_old(hint.queue_token)  # no row (yet?) behind this hint
        elif row.queue_token == hint.queue_token:
            stale = row.status != P  # this episode already ended
        else:
            stale = q.is_old(hint.queue_token)  # maybe a transition still in flight: wait
        if stale:
            self.execute("pending_del", hint.key())
