"""The ``LineageStore`` interface every backend implements (SQLite, Cassandra).

The contract test suite in ``tests/include/store_contract.py`` is written against this interface
only; each backend runs the same tests.

Rules every implementation keeps:

* one row per ``(network, stellar_account)``; enqueue is idempotent;
* ``claim_batch`` is atomic: two claimers never receive the same record;
* every transition after a claim is guarded by the claim owner, so a worker whose claim was recovered
  (stuck) and handed to someone else cannot overwrite the newer claim;
* ``stats``/``pending_accounts``/``recover_stuck`` never iterate the whole table.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from include.stellar_lineage.payloads import ClaimedRecord
from include.stellar_lineage.records import (
    NETWORK_ROOTS,
    CreationEdge,
    EnqueueResult,
    GraphState,
    LineageRecord,
    LineageResult,
    Priority,
    RecoveryResult,
    SpendEntry,
    Status,
)

STATS_SOURCES = ("API", "BIGQUERY", "BIGQUERY_WITH_API_FALLBACK")
# Edges per write transaction / concurrent round of a graph load: small enough that no load holds the
# store for more than a fraction of a second at a time (reference/hubble_graph.md, "Store side").
EDGE_CHUNK = 5000


class SchemaError(RuntimeError):
    """The store's schema is missing or older than this code; the message names what is missing."""


class LineageStore(abc.ABC):
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

    # --- bulk completion and attribute follow-ups (graph mode) --------------------------------
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

    @abc.abstractmethod
    def add_followups(self, network: str, accounts: Sequence[str], *, now: dt.datetime | None = None) -> int:
        """Queue a Horizon attribute fetch for COMPLETE records that were completed from the graph
        alone. Idempotent per account; returns how many were added."""

    @abc.abstractmethod
    def claim_followups(
        self,
        limit: int,
        *,
        owner: str,
        network: str | None = None,
        stale_after: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> list[tuple[str, str]]:
        """Atomically take up to ``limit`` follow-ups as ``(network, account)`` (oldest first on SQLite;
        Cassandra spreads claimers over buckets instead: follow-ups are unordered enrichment). A
        follow-up claimed longer than ``stale_after`` ago (its worker died) can be taken again."""

    @abc.abstractmethod
    def finish_followup(
        self,
        network: str,
        account: str,
        *,
        owner: str,
        result: LineageResult | None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Drop ``owner``'s follow-up and, with a ``result``, write its data fields (creator, times,
        attributes, balance, assets, children, tags) into the record if it is still COMPLETE; status
        and pipeline_source stay. ``result=None``: the account no longer exists on Horizon; the
        record keeps its lineage and says so in ``last_error``. False when the claim was lost."""

    @abc.abstractmethod
    def release_followup(
        self, network: str, account: str, *, owner: str, max_attempts: int, now: dt.datetime | None = None
    ) -> bool:
        """A transient failure: the follow-up goes back for a later attempt, or is dropped once it
        has failed ``max_attempts`` times (the record keeps its graph lineage). False when lost."""

    @abc.abstractmethod
    def followup_depth(self, network: str | None = None) -> int:
        """Follow-ups waiting or in flight."""

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
    def renew_claims(self, network: str, accounts: Sequence[str], *, owner: str, now: dt.datetime | None = None) -> int:
        """Lease heartbeat: ``processing_started_at`` = ``now`` for the records ``owner`` still holds, so
        a long holder (a big BigQuery batch) is not recovered as stuck. Returns how many were renewed."""

    @abc.abstractmethod
    def failures_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        """Records that became FAILED since ``since`` (hour precision: a partly covered hour counts)."""

    # --- reads --------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_many(self, network: str, accounts: Sequence[str]) -> dict[str, LineageRecord]:
        """Records by account for the given accounts; unknown accounts are absent."""

    def get(self, network: str, account: str) -> LineageRecord | None:
        return self.get_many(network, [account]).get(account)

    @abc.abstractmethod
    def iter_records(
        self,
        *,
        network: str | None = None,
        status: str | None = None,
        source: str | None = None,
        updated_since: dt.datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[LineageRecord]:
        """Every record matching the filters, read ``page_size`` rows at a time (export). Memory stays
        flat whatever the table size; order is the store's key order. A whole-table read by nature:
        for exports and admin tools, never for stats or per-request pages."""

    @abc.abstractmethod
    def queue_depth(self, network: str | None = None) -> int:
        """Number of PENDING records (all networks when ``network`` is None)."""

    @abc.abstractmethod
    def stats(self, network: str, *, stuck_threshold: dt.timedelta, now: dt.datetime | None = None) -> dict[str, Any]:
        """Aggregates maintained by the store (no full scan). Shape::

        {"network": str,
         "by_status": {"PENDING": n, "PROCESSING": n, "COMPLETE": n, "FAILED": n, "INVALID": n},
         "complete_by_source": {"API": n, "BIGQUERY": n, "BIGQUERY_WITH_API_FALLBACK": n},
         "last_24h_by_source": {same keys},          # completions in the last 24 h
         "hourly_completions": [{"hour": iso, "API": n, "BIGQUERY": n,
                                 "BIGQUERY_WITH_API_FALLBACK": n}, ...],  # 24 entries, oldest first
         "stuck": n}                                # PROCESSING older than stuck_threshold
        """

    def completions_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        """Records completed since ``since`` (at most 24 h back). This default reads the hourly
        buckets of ``stats`` (hour precision: a partly covered hour counts whole); backends with finer
        aggregates override it."""
        stats = self.stats(network, stuck_threshold=dt.timedelta(minutes=15), now=now)
        total = 0
        for bucket in stats["hourly_completions"]:
            if dt.datetime.fromisoformat(bucket["hour"]) + dt.timedelta(hours=1) > since:
                total += sum(v for k, v in bucket.items() if k != "hour")
        return total

    @abc.abstractmethod
    def pending_accounts(
        self,
        network: str | None = None,
        *,
        limit: int = 100,
    ) -> list[LineageRecord]:
        """Up to ``limit`` PENDING/PROCESSING records, PROCESSING first, then claim order."""

    # --- BigQuery spend ledger ---------------------------------------------------------------
    @abc.abstractmethod
    def record_spend(self, entry: SpendEntry) -> None: ...

    @abc.abstractmethod
    def spend_summary(self, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """``{"today_usd", "total_usd", "today_bytes", "total_bytes", "jobs", "dry_runs",
        "refused", "saved_usd", "accounts_billed"}``; "today" is the UTC day of ``now``;
        ``saved_usd`` sums the estimates of refused dry runs."""

    # --- creator graph (edge table; reference/hubble_graph.md) -------------------------------------
    @abc.abstractmethod
    def load_edges(self, network: str, edges: Iterable[CreationEdge], *, chunk_size: int = EDGE_CHUNK) -> int:
        """Upsert edges in chunks of ``chunk_size`` (one short write transaction / concurrent round
        each): per account the edge with the highest ``op_id`` wins, whatever the load order, and the
        children index follows (a re-created account leaves its old creator's children). Returns the
        number of accounts that had no edge before, so ``GraphState.edges`` can be kept without a
        count over the table."""

    @abc.abstractmethod
    def edges_of(self, network: str, accounts: Sequence[str]) -> dict[str, CreationEdge]:
        """Edges by account; accounts without an edge are absent."""

    @abc.abstractmethod
    def children_edges(
        self, network: str, creator: str, *, limit: int = 100, after_op_id: int | None = None
    ) -> list[CreationEdge]:
        """The accounts ``creator`` created (their latest creation is by ``creator``), ordered by
        ``op_id``; the next page starts after the last page's ``op_id``."""

    @abc.abstractmethod
    def children_count(self, network: str, creator: str) -> int:
        """Number of accounts whose latest creation is by ``creator``."""

    def creator_chain(self, network: str, account: str, *, max_depth: int = 256) -> list[CreationEdge]:
        """``account``'s edge, its creator's edge, ... up to the root or the first account without an
        edge. Latest-creation edges can form cycles (A creates B, A merges into B, B re-creates A), so
        the walk stops at the first account it has already visited."""
        chain: list[CreationEdge] = []
        seen = {account}
        current = account
        while len(chain) < max_depth:
            edge = self.edges_of(network, [current]).get(current)
            if edge is None:
                break
            chain.append(edge)
            if edge.creator in seen:
                break
            seen.add(edge.creator)
            current = edge.creator
        return chain

    @abc.abstractmethod
    def graph_state(self, network: str) -> GraphState | None:
        """How far the network's edge table is loaded; None before the first load."""

    @abc.abstractmethod
    def set_graph_state(self, state: GraphState) -> None:
        """Replace the network's graph state (written after each loaded chunk and at the end)."""

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

    # --- derived ------------------------------------------------------------------------------
    def held_by(self, claimed: Sequence[ClaimedRecord], owner: str) -> dict[str, list[str]]:
        """Of the claimed ``[{"network", "account"}]``, those ``owner`` still holds (PROCESSING under
        its claim), by network in input order: a retried task skips what its first try finished."""
        wanted: dict[str, list[str]] = {}
        for item in claimed:
            wanted.setdefault(item["network"], []).append(item["account"])
        held: dict[str, list[str]] = {}
        for network, accounts in wanted.items():
            found = self.get_many(network, accounts)
            mine = [
                a
                for a in accounts
                if (r := found.get(a)) is not None and r.status == Status.PROCESSING.value and r.claim_owner == owner
            ]
            if mine:
                held[network] = mine
        return held

    def lineage(self, network: str, account: str, *, max_depth: int = 256) -> dict[str, Any] | None:
        """The record, its chain of creators up to the root (or the first unknown ancestor) and
        its children. A cycle in bad data ends the walk instead of looping."""
        record = self.get(network, account)
        if record is None:
            return None
        chain: list[LineageRecord] = []
        seen = {account}
        current = record
        while current.stellar_creator_account and len(chain) < max_depth:
            creator = current.stellar_creator_account
            if creator in seen:
                break
            seen.add(creator)
            parent = self.get(network, creator)
            if parent is None:
                chain.append(LineageRecord(stellar_account=creator, network_name=network, status="UNKNOWN"))
                break
            chain.append(parent)
            current = parent
        root = NETWORK_ROOTS.get(network)
        return {
            "record": record,
            "chain": chain,
            "reaches_root": bool(chain and chain[-1].stellar_account == root) or account == root,
        }


def record_matches(
    record: LineageRecord, *, network: str | None, status: str | None, source: str | None, since: dt.datetime | None
) -> bool:
    """The ``iter_records`` filters, for backends that cannot push them into the read."""
    return (
        (network is None or record.network_name == network)
        and (status is None or record.status == status)
        and (source is None or record.pipeline_source == source)
        and (since is None or (record.updated_at is not None and record.updated_at >= since))
    )


def wants_claim(limit: int, network: str | None, accounts: Sequence[str] | None) -> bool:
    """Argument check shared by every ``claim_batch``: False when there is nothing to claim."""
    if accounts is not None and network is None:
        raise ValueError("claiming named accounts needs their network")
    return limit > 0 and (accounts is None or len(accounts) > 0)
