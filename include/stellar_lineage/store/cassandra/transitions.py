"""Owner-guarded transitions after a claim (complete / retry_later / mark_invalid / release) of the
Cassandra store. Mixed into ``CassandraLineageStore``; see ``store/cassandra.py`` for the data model.

Each is one LWT ``IF status = 'PROCESSING' AND claim_owner = ? AND claim_token = ?``: the token is read
from the row first, so a claim that was recovered and re-claimed - even by a worker using the same
owner name - is never overwritten by the late holder of the old claim.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from cassandra import Unavailable

from include.stellar_lineage.records import (
    LineageResult,
    Status,
    creator_priority,
    result_columns,
    utcnow,
)
from include.stellar_lineage.store.cassandra import queue as q

log = logging.getLogger("include.stellar_lineage.store.cassandra")
P, PR = Status.PENDING.value, Status.PROCESSING.value


class TransitionsMixin:
    # provided by CassandraLineageStore
    execute: Any
    _rows: Any
    _count: Any
    _serial_read: Any
    _enqueue_one: Any
    _record_outcome: Any  # trends.py

    def _guarded(
        self,
        network: str,
        account: str,
        owner: str,
        name: str,
        make_params: Any,
        *,
        target: Any,
        when: dt.datetime,
        due: dt.datetime | None = None,
    ) -> Any:
        """Run the owner-guarded LWT ``name``; returns the row as it was before, or None when the
        claim was lost. ``target(row)`` is the status the row moves to (PENDING needs a hint: in the
        pending index, or in the delayed index when ``due`` lies in the future)."""
        row = self._rows(network, [account]).get(account)
        if row is None or row.status != PR or row.claim_owner != owner:
            return None
        to_pending = target(row) == P
        token = q.new_token() if to_pending else None
        hint: q.PendingHint | q.DelayedHint | None = None
        failed = q.failed_entry(network, account, when) if target(row) == Status.FAILED.value else None
        if failed is not None:  # hint first: a FAILED row is always findable by requeue_failed
            self.execute("failed_put", failed)
        if to_pending:
            pending = q.hint_for_row(row, network, token)
            if due is not None and due > when:
                hint = q.DelayedHint(due, pending)
                self.execute("delayed_put", hint.put_params())
            else:
                hint = pending
                self.execute("pending_put", pending.key())
        params = (*make_params(row, token), network, account, owner, row.claim_token)
        try:
            applied = self.execute(name, params).one()[0]
        except Unavailable:
            raise  # refused before Paxos started: not applied, the caller may retry
        except Exception as exc:  # noqa: BLE001 - timeout / dropped connection: outcome unknown, settle it
            log.warning(
                "%s of %s/%s: outcome unknown (%s); reading back at SERIAL", name, network, account, type(exc).__name__
            )
            after = self._serial_read(network, account)  # raises if still unreachable
            # our transition applied iff the row left PROCESSING for our target at our time, while
            # still carrying the claim token (a later claim would have replaced it)
            applied = (
                after is not None
                and after.claim_token == row.claim_token
                and after.status == target(row)
                and q.aware(after.updated_at) == when
            )
        if not applied:
            if hint:
                self.execute("delayed_del" if isinstance(hint, q.DelayedHint) else "pending_del", hint.key())
            if failed is not None:
                self.execute("failed_del", failed)
            return None
        if failed is not None:
            self.execute("failure_add", (network, when.replace(minute=0, second=0, microsecond=0)))
        if row.processing_started_at is not None:
            self.execute(
                "processing_del", (network, q.bucket(account), row.processing_started_at, account, row.claim_token)
            )
        self._count(network, PR, -1)
        return row

    def complete(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        result: LineageResult,
        source: str,
        now: dt.datetime | None = None,
    ) -> bool:
        when = q.ms(now or utcnow())
        entry = q.complete_entry(network, account, when)
        self.execute("complete_put", entry)  # entry first: a COMPLETE row is always findable by the refresh
        done = self._guarded(
            network,
            account,
            owner,
            "complete",
            lambda row, _t: (*result_columns(result, balance=q.to_decimal), source, when, when),
            target=lambda row: Status.COMPLETE.value,
            when=when,
        )
        if done is None:
            self.execute("complete_del", entry)
            return False
        row = done
        self._count(network, Status.COMPLETE.value, 1, source)
        self._record_outcome(network, row, Status.COMPLETE.value, source, when)
        hour = when.replace(minute=0, second=0, microsecond=0)
        self.execute("completion_add", (network, hour, when.replace(second=0, microsecond=0), source))
        if result.creator and result.creator != account:
            prio = creator_priority(row.priority if row.priority is not None else 1)
            if self._enqueue_one(network, result.creator, prio, when, allow_reset=False)[0] == "added":
                self._count(network, P, 1)
        return True

    def retry_later(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        error: str,
        max_retries: int,
        now: dt.datetime | None = None,
        source: str | None = None,
        backoff: Callable[[int], dt.timedelta] | None = None,
    ) -> str | None:
        when = q.ms(now or utcnow())
        current = self._rows(network, [account]).get(account)
        retries = ((current.retry_count or 0) if current is not None else 0) + 1
        due = q.ms(when + backoff(retries)) if backoff is not None and retries < max_retries else None

        def status(row: Any) -> str:
            return Status.FAILED.value if (row.retry_count or 0) + 1 >= max_retries else P

        def params(row: Any, token: Any) -> tuple[Any, ...]:
            # the delay belongs to the retry count the LWT writes; a row that changed in between fails it
            row_due = due if (row.retry_count or 0) + 1 == retries else None
            failed = status(row) == Status.FAILED.value
            row_source = (source or row.pipeline_source) if failed else row.pipeline_source
            return (status(row), (row.retry_count or 0) + 1, error[:2000], row_source, token, row_due, when)

        done = self._guarded(network, account, owner, "retry", params, target=status, when=when, due=due)
        if done is None:
            return None
        self._count(network, status(done), 1)
        if status(done) == Status.FAILED.value:
            self._record_outcome(network, done, Status.FAILED.value, source, when)
        return status(done)

    def mark_invalid(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        reason: str,
        now: dt.datetime | None = None,
        source: str | None = None,
    ) -> bool:
        when = q.ms(now or utcnow())
        done = self._guarded(
            network,
            account,
            owner,
            "invalid",
            lambda row, _t: (reason[:2000], source or row.pipeline_source, when),
            target=lambda row: Status.INVALID.value,
            when=when,
        )
        if done is not None:
            self._count(network, Status.INVALID.value, 1)
            self._record_outcome(network, done, Status.INVALID.value, source, when)
        return done is not None

    def release(self, network: str, account: str, *, owner: str, now: dt.datetime | None = None) -> bool:
        when = q.ms(now or utcnow())
        done = self._guarded(
            network, account, owner, "release", lambda row, t: (t, when), target=lambda row: P, when=when
        )
        if done is not None:
            self._count(network, P, 1)
        return done is not None
