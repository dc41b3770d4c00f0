"""The ``LineageStore`` interface every backend implements (SQLite, Cassandra).

The contract test suite in ``tests/include/store_contract.py`` is written against this interface
only; each backend runs the same tests.

Rules every implementation keeps:

* one row per ``(network, stellar_account)``; enqueue is idempotent;
* ``claim_batch`` is atomic: two claimers never receive the same record;
* every transition after a claim is guarded by the claim owner, so a worker whose claim was recovered
  (stuck) and handed to someone else cannot overwrite the newer claim;
* ``stats``/``pending_accounts``/``recover_stuck`` never iterate the whole table.

The interface is split by concern: this module (queue, transitions, spend ledger, lifecycle),
``read_interface.py`` (reads and what derives from them), ``graph_interface.py`` (the creator graph's
edge table), ``followup_interface.py`` (graph mode's attribute follow-ups) and ``trend_interface.py``
(the dashboard's trends, latency and recent list).
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from include.stellar_lineage.records import (
    EnqueueResult,
    LineageRecord,
    LineageResult,
    Priority,
    RecoveryResult,
    SpendEntry,
)
from include.stellar_lineage.store.followup_interface import FollowupQueue
from include.stellar_lineage.store.graph_interface import EDGE_CHUNK, CreatorGraphStore
from include.stellar_lineage.store.read_interface import RecordReads, record_matches
from include.stellar_lineage.store.trend_interface import TrendReads

__all__ = ["EDGE_CHUNK", "STATS_SOURCES", "LineageStore", "SchemaError", "record_matches", "wants_claim"]

STATS_SOURCES = ("API", "BIGQUERY", "BIGQUERY_WITH_API_FALLBACK")


class SchemaError(RuntimeError):
    """The store's schema is missing or older than this code; the message names what is missing."""


class LineageStore(RecordReads, CreatorGraphStore, FollowupQueue, TrendReads):
    """The record queue and its transitions, the spend ledger and the lifecycle (here); reads
    (``RecordReads``), the creator graph's edge table (``CreatorGraphStore``) and graph mode's
    attribute follow-ups (``FollowupQueue``) and the dashboard trends (``TrendReads``)."""

    # --- queue --------------------------------------------------------------------------------
    @abc.abstractmethod
    def enqueue(
        self,
        network: str,
        accounts: Iterable[str],
        *,
        priority: Priority = Priority.REQUESTED,
    ) -> EnqueueResult:
        """Add accounts as PENDING. Unseen → added. FAILED/INVALID re-requested with
        ``Priority.REQUESTED`` → reset to PENDING (retry_count 0). Anything else → unchanged.
        Callers validate addresses first; the store does not."""

    @abc.abstractmethod
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
        """Atomically move up to ``limit`` PENDING records to PROCESSING for ``owner``.

        Rows whose ``next_attempt_at`` lies after ``now`` are not due and never claimed (nor read in
        bulk: each backend keeps not-yet-due rows out of its claim path). Order: priority, then age
        (oldest first). With ``accounts`` (requires ``network``) only those
        accounts are candidates, which is how a run climbs a chain through the same claim path.
        Sets ``claim_owner``, ``claim_pipeline``, ``processing_started_at`` and
        ``last_pipeline_attempt``."""

    @abc.abstractmethod
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
        """PROCESSING → COMPLETE with the result, if ``owner`` still holds the claim. Enqueues the
        creator when it is unseen, with ``records.creator_priority(record.priority)`` and
        ``stellar_creator_account`` unset. Returns False when the claim was lost."""

    @abc.abstractmethod
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
        """Record-level transient failure: retry_count+1 and PENDING, or FAILED once retry_count reaches
        ``max_retries``; a FAILED record carries ``source`` (the pipeline that decided) as its
        pipeline_source. A PENDING row is due again at ``now + backoff(new retry_count)`` (None: at
        once). Returns the new status, or None when the claim was lost."""

    @abc.abstractmethod
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
        """PROCESSING → INVALID (the account does not exist: Horizon 404 confirmed); ``source``, the
        pipeline that decided, becomes its pipeline_source."""

    @abc.abstractmethod
    def release(self, network: str, account: str, *, owner: str, now: dt.datetime | None = None) -> bool:
        """PROCESSING → PENDING without counting a retry (work not attempted, e.g. deadline)."""

    @abc.abstractmethod
    def recover_stuck(
        self, *, threshold: dt.timedelta, max_retries: int, now: dt.datetime | None = None
    ) -> RecoveryResult:
        """PROCESSING older than ``threshold`` → PENDING with retry_count+1, or FAILED at the cap.
        PENDING rows are never stuck."""

    # --- bulk completion (graph mode; the follow-up queue is FollowupQueue's) ------------------
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
        """``complete`` for many records ``owner`` holds; with ``followup`` every completed record also
        gets an attribute follow-up (``add_followups``). Returns the accounts completed (lost claims
        are skipped). Backends override this with one transaction or concurrent writes."""
        done = [
            account
            for account, result in results.items()
            if self.complete(network, account, owner=owner, result=result, source=source, now=now)
        ]
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
        """Graph mode's bulk path for records nobody holds: each due PENDING record among ``results``
        goes straight to COMPLETE (as ``claim_batch`` by name + ``complete_many`` would leave it,
        ``claim_pipeline`` = ``pipeline``, creators enqueued); records in any other state (held by a
        worker, finished, not yet due, unknown) are skipped. Returns the accounts completed. Backends
        may override this with one conditional write per record instead of a claim and a completion."""
        if not results:
            return []
        claimed = self.claim_batch(
            len(results), pipeline=pipeline, owner=owner, network=network, accounts=list(results)
        )
        held = {r.stellar_account: results[r.stellar_account] for r in claimed}
        return self.complete_many(network, held, owner=owner, source=source, followup=followup, now=now)

    @abc.abstractmethod
    def requeue_failed(
        self,
        *,
        failed_before: dt.datetime | None,
        max_rounds: int | None = None,
        network: str | None = None,
        limit: int = 10_000,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        """FAILED → PENDING (retry_count 0, due at once, ``last_error`` kept) for records that became
        FAILED before ``failed_before`` (None: every FAILED record). With ``max_rounds`` (the automatic
        timer) only records re-queued fewer times than that, and ``failed_rounds`` + 1; without it (the
        "retry all FAILED" action) every one, not counted. INVALID is never touched. Returns the
        re-queued ``(network, account)``; reads only FAILED records (an index), never the table."""

    @abc.abstractmethod
    def requeue_stale(
        self,
        network: str,
        *,
        completed_before: dt.datetime,
        limit: int,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        """The refresh policy: up to ``limit`` of ``network``'s COMPLETE records that last became
        COMPLETE before ``completed_before`` (oldest first) → PENDING at ``Priority.REFRESH``,
        retry_count 0, due at once. Every data field and ``pipeline_source`` stay as collected until the
        new collection overwrites them. Returns the re-queued ``(network, account)``; reads an index by
        completion time (``completed_at``), never the table."""

    @abc.abstractmethod
    def renew_claims(self, network: str, accounts: Sequence[str], *, owner: str, now: dt.datetime | None = None) -> int:
        """Lease heartbeat: ``processing_started_at`` = ``now`` for the records ``owner`` still holds, so
        a long holder (a big BigQuery batch) is not recovered as stuck. Returns how many were renewed."""

    @abc.abstractmethod
    def failures_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        """Records that became FAILED since ``since`` (hour precision: a partly covered hour counts)."""

    # --- BigQuery spend ledger ---------------------------------------------------------------
    @abc.abstractmethod
    def record_spend(self, entry: SpendEntry) -> None: ...

    @abc.abstractmethod
    def spend_summary(self, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """``{"today_usd", "total_usd", "today_bytes", "total_bytes", "jobs", "dry_runs",
        "refused", "saved_usd", "accounts_billed"}``; "today" is the UTC day of ``now``;
        ``saved_usd`` sums the estimates of refused dry runs."""

    # --- lifecycle ----------------------------------------------------------------------------
    @abc.abstractmethod
    def check_schema(self) -> None:
        """Raise ``SchemaError`` naming every missing table/column."""

    @abc.abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending schema migrations; return the names of those applied."""

    def close(self) -> None:  # noqa: B027 - optional for backends holding no resources
        pass

    def __enter__(self) -> LineageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wants_claim(limit: int, network: str | None, accounts: Sequence[str] | None) -> bool:
    """Argument check shared by every ``claim_batch``: False when there is nothing to claim."""
    if accounts is not None and network is None:
        raise ValueError("claiming named accounts needs their network")
    return limit > 0 and (accounts is None or len(accounts) > 0)
