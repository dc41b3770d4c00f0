"""Cassandra store: enqueue (mixed into ``CassandraLineageStore``).

A new record is ONE lightweight transaction ``INSERT … IF NOT EXISTS`` (so a plain write can never
overwrite an existing record), preceded by its pending-index hint (hint first, see ``queue.py``). A
refused insert returns the existing row: a FAILED/INVALID one re-requested at user priority is reset
by a second LWT ``IF status = ?``, anything else is left unchanged and our own fresh hint deleted.

Bulk (more than one account): the hints of a whole call are written, then all the inserts are in
flight together (``execute_concurrent``, ``CONCURRENCY`` requests at a time; each record is its own
partition, so they never contend), then the refused ones are handled one by one as above. That is two
pipelined rounds per call instead of two dependent round trips per record. An insert whose outcome
is unknown (timeout, dropped connection) is read back at SERIAL: the insert is ours exactly when the
row carries our fresh ``queue_token``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from cassandra import Unavailable
from cassandra.concurrent import execute_concurrent

from include.stellar_lineage.records import EnqueueResult, Priority, Status, utcnow
from include.stellar_lineage.store.cassandra import queue as q

log = logging.getLogger("include.stellar_lineage.store.cassandra")
P = Status.PENDING.value
CONCURRENCY = 128  # requests in flight per bulk round: the node's queue, not the client, sets the pace


def concurrently(session: Any, statements: Sequence[tuple[Any, Sequence[Any]]]) -> list[tuple[bool, Any]]:
    """Run (prepared statement, params) pairs ``CONCURRENCY`` at a time; ``(ok, result or error)``
    per pair, in order (an error is returned, not raised: the caller decides what it means)."""
    if not statements:
        return []
    return list(execute_concurrent(session, statements, concurrency=CONCURRENCY, raise_on_first_error=False))


def raise_failures(results: Iterable[tuple[bool, Any]]) -> None:
    """Raise the first error of plain (idempotent) writes: nothing after them may assume they landed."""
    for ok, value in results:
        if not ok:
            raise value


class EnqueueMixin:
    # provided by CassandraLineageStore
    session: Any
    stmts: Any
    execute: Any
    _apply_counts: Any
    _serial_read: Any

    def enqueue(
        self,
        network: str,
        accounts: Iterable[str],
        *,
        priority: Priority = Priority.REQUESTED,
    ) -> EnqueueResult:
        unique = list(dict.fromkeys(accounts))
        self.execute("network_put", (network,))
        now = q.ms(utcnow())
        if len(unique) > 1:
            outcomes = self._enqueue_many(network, [(a, int(priority), i) for i, a in enumerate(unique)], now)
        else:
            outcomes = [self._enqueue_one(network, a, priority, now) for a in unique]
        added = [a for a, (o, _s) in zip(unique, outcomes, strict=True) if o == "added"]
        reset = [a for a, (o, _s) in zip(unique, outcomes, strict=True) if o == "reset"]
        deltas = Counter(s for o, s in outcomes if o == "reset" and s)  # previous status of reset rows
        deltas[P] -= len(added) + len(reset)
        self._apply_counts(network, {k: -v for k, v in deltas.items()})
        return EnqueueResult(added, reset, [a for a, (o, _s) in zip(unique, outcomes, strict=True) if o == "unchanged"])

    def _enqueue_one(
        self, network: str, account: str, priority: int, now: dt.datetime, *, allow_reset: bool = True, seq: int = 0
    ) -> tuple[str, str | None]:
        """("added"|"reset"|"unchanged", status before a reset); the caller updates the counters."""
        # seq: position in the enqueue call, so accounts enqueued in one millisecond keep their order
        hint = q.PendingHint(int(priority), now, seq, account, q.new_token(), network)
        self.execute("pending_put", hint.key())  # hint first, see queue.py
        rs = self.execute("insert_new", (network, account, int(priority), now, now, hint.queue_token, seq))
        if rs.one()[0]:
            return "added", None
        return self._refused(hint, rs.one(), now, allow_reset)

    def _enqueue_many(
        self, network: str, items: Sequence[tuple[str, int, int]], now: dt.datetime, *, allow_reset: bool = True
    ) -> list[tuple[str, str | None]]:
        """``_enqueue_one`` for many distinct (account, priority, seq): hints, then the inserts, each
        round in flight together; outcomes in the order of ``items``."""
        hints = [q.PendingHint(prio, now, seq, account, q.new_token(), network) for account, prio, seq in items]
        raise_failures(concurrently(self.session, [(self.stmts["pending_put"], h.key()) for h in hints]))
        inserts = concurrently(
            self.session,
            [
                (self.stmts["insert_new"], (network, h.account, h.priority, now, now, h.queue_token, h.seq))
                for h in hints
            ],
        )
        outcomes: list[tuple[str, str | None]] = []
        unavailable: Exception | None = None
        dropped: list[q.PendingHint] = []  # our own hints of refused inserts left unchanged: deleted together
        for hint, (ok, rs) in zip(hints, inserts, strict=True):
            if ok:
                if rs.one()[0]:
                    outcomes.append(("added", None))
                elif _wants_reset(hint, rs.one(), allow_reset):
                    outcomes.append(self._refused(hint, rs.one(), now, allow_reset))
                else:
                    dropped.append(hint)
                    outcomes.append(("unchanged", None))
                continue
            if isinstance(rs, Unavailable):  # refused before Paxos started: not applied, hint left stale
                unavailable = unavailable or rs
                outcomes.append(("unchanged", None))
                continue
            log.warning("enqueue of %s/%s: outcome unknown (%s)", network, hint.account, type(rs).__name__)
            row = self._serial_read(network, hint.account)  # raises if still unreachable
            if row is not None and row.queue_token == hint.queue_token:
                outcomes.append(("added", None))
            elif row is None:  # not applied and still no record: try once more, on its own
                self.execute("pending_del", hint.key())
                outcomes.append(
                    self._enqueue_one(network, hint.account, hint.priority, now, allow_reset=allow_reset, seq=hint.seq)
                )
            else:
                outcomes.append(self._refused(hint, row, now, allow_reset))
        raise_failures(concurrently(self.session, [(self.stmts["pending_del"], h.key()) for h in dropped]))
        if unavailable is not None:
            # the applied ones are counted by the caller only if we return: count them here, then raise
            self._apply_counts(network, {P: sum(1 for o, _s in outcomes if o == "added")})
            raise unavailable
        return outcomes

    def _refused(
        self, hint: q.PendingHint, existing: Any, now: dt.datetime, allow_reset: bool
    ) -> tuple[str, str | None]:
        """The insert found ``existing``: reset it (FAILED/INVALID re-requested by a user) or leave it."""
        network, account = hint.network, hint.account
        self.execute("pending_del", hint.key())  # our own fresh key: nothing else can be using it
        if not _wants_reset(hint, existing, allow_reset):
            return "unchanged", None
        new_priority = min(hint.priority, existing.priority if existing.priority is not None else 99)
        reset = q.PendingHint(new_priority, q.aware(existing.created_at) or now, 0, account, q.new_token(), network)
        self.execute("pending_put", reset.key())
        rs = self.execute("reset", (new_priority, reset.queue_token, now, now, network, account, existing.status))
        if not rs.one()[0]:
            self.execute("pending_del", reset.key())
            return "unchanged", None
        return "reset", existing.status


def _wants_reset(hint: q.PendingHint, existing: Any, allow_reset: bool) -> bool:
    """A FAILED/INVALID record re-requested at user priority is reset; anything else stays as it is."""
    return (
        existing is not None
        and allow_reset
        and hint.priority <= Priority.REQUESTED
        and existing.status in (Status.FAILED.value, Status.INVALID.value)
    )
