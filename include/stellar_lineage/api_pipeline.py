"""The API path: process claimed records through Horizon + Stellar Expert and climb their chains.

Used by the 2-minute API DAG (``source="API"``) and by the BigQuery DAG's fallback
(``source="BIGQUERY_WITH_API_FALLBACK"``): one implementation, two callers.

Within one call, a small pool of worker threads takes the claimed records. After a worker completes
an account whose creator is not COMPLETE, it claims that creator through the store's claim path
(``claim_batch(accounts=[creator])``: atomic, so a concurrent run never double-processes it) and
processes it next, depth first, so a user's chain reaches the root before new chains start. The
rate limiter paces every HTTP request; a deadline safely inside the DAG's interval stops new work,
and whatever was claimed but not attempted is released back to PENDING. Nothing is left PROCESSING.

Outcome per record (``faults.py`` says whose fault an error is): COMPLETE; INVALID only for a 404 on
``/accounts/{id}``; a provider fault (5xx/timeouts/connection errors/429 storms, or an open breaker)
releases the record without a retry charge, unless the same provider answered other records after it
in this run (then it is this record's problem: ``retry_later``); record faults (malformed bodies, no
creator anywhere, anything unexpected) → ``retry_later`` (PENDING with retry+1 and a backoff, FAILED at
the cap); a configuration fault (401/403, limiter/breaker/store unusable, bad Connection) stops the run:
everything held goes back to PENDING untouched and ``RunConfigurationError`` names cause and fix.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from include.stellar_lineage import graph_resolve
from include.stellar_lineage.breaker import EXPERT_KEY, ProviderBreakers, breakers_from_settings, horizon_key
from include.stellar_lineage.clients.http import StellarApiError
from include.stellar_lineage.config import Settings
from include.stellar_lineage.faults import (
    ClientSetupError,
    Fault,
    RunConfigurationError,
    classify,
    explain,
    retry_backoff,
)
from include.stellar_lineage.api_claim import record_run
from include.stellar_lineage.lease import claim_lease
from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult, Status
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.payloads import ClaimedRecord

log = logging.getLogger(__name__)

# Horizon requests per account in the common case (account + one payments page); used to size
# batches and to decide whether the deadline leaves room for one more account.
HORIZON_REQUESTS_PER_ACCOUNT = 2
MAX_WORKERS = 4
SUMMARY_KEYS = (
    "complete",
    "climbed",
    "invalid",
    "retry_later",
    "failed",
    "released",
    "provider_released",
    "breaker_released",
    "claim_lost",
)


class LineageFetcher(Protocol):
    def fetch_lineage(self, account: str) -> LineageResult: ...


ClientFactory = Callable[[str], LineageFetcher]


def default_client_factory(settings: Settings, breakers: ProviderBreakers | None = None) -> ClientFactory:
    """Clients from the Airflow Connections, one per network, reporting to the host-wide breakers."""
    from include.stellar_lineage.clients import build_api_client

    cache: dict[str, LineageFetcher] = {}
    lock = threading.Lock()

    def factory(network: str) -> LineageFetcher:
        with lock:
            if network not in cache:
                try:
                    cache[network] = build_api_client(network, settings, breakers=breakers)
                except ValueError as exc:  # a Connection without host, an unknown network
                    raise ClientSetupError(str(exc)) from exc
            return cache[network]

    return factory


def seconds_per_account(settings: Settings) -> float:
    """Time one account costs at the configured Horizon rate."""
    return HORIZON_REQUESTS_PER_ACCOUNT * 60.0 / settings.horizon_requests_per_minute


def auto_batch_size(settings: Settings, queue_depth: int, window_seconds: float) -> int:
    """How many records one run can finish: the Horizon budget of the window, capped by the queue."""
    budget = int(window_seconds / seconds_per_account(settings))
    return max(0, min(queue_depth, max(1, budget)))


class _Run:
    """State shared by the worker threads of one ``process_claimed`` call."""

    def __init__(
        self,
        store: LineageStore,
        settings: Settings,
        source: str,
        owner: str,
        pipeline: str,
        deadline: float | None,
        client_for: ClientFactory,
        climb: bool,
        breakers: ProviderBreakers | None,
    ) -> None:
        self.store, self.settings, self.source, self.owner = store, settings, source, owner
        self.pipeline, self.deadline, self.client_for, self.climb = pipeline, deadline, client_for, climb
        self.breakers = breakers
        self.pending: collections.deque[tuple[str, str]] = collections.deque()
        self.lock = threading.Lock()
        self.seen: set[tuple[str, str]] = set()
        self.counts: collections.Counter[str] = collections.Counter()
        self.completed: list[dict[str, str]] = []
        self.fatal: tuple[BaseException, str] | None = None  # first configuration fault, and its network
        # provider -> records completed with its answers in this run; a provider fault is the record's
        # own only if the provider answered others after it (see settle_suspects)
        self.answered: collections.Counter[str] = collections.Counter()
        self.suspects: list[tuple[str, str, str, str, int]] = []  # network, account, provider, error, mark

    def time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def next_item(self) -> tuple[str, str] | None:
        with self.lock:
            return self.pending.popleft() if self.pending else None

    def worker(self) -> None:
        from include.stellar_lineage import ratelimit

        with ratelimit.deadline(self.deadline):
            account: str | None  # the claimed account, then each creator this worker climbs to
            while (item := self.next_item()) is not None:
                network, account = item
                try:
                    while account is not None:
                        if self.fatal is not None or self.time_left() < seconds_per_account(self.settings):
                            self._release(network, account)
                            break
                        if self.breakers is not None and self.breakers.is_open(horizon_key(network)):
                            self._count("breaker_released", self.store.release(network, account, owner=self.owner))
                            break
                        account = self._process(network, account)
                except Exception as exc:  # noqa: BLE001 - a store call failed: the store is unusable
                    self._stop(exc, network)

    def _stop(self, exc: BaseException, network: str) -> None:
        with self.lock:
            if self.fatal is None:
                self.fatal = (exc, network)
        log.error("Configuration fault, stopping the run: %s: %s", type(exc).__name__, exc)

    def _process(self, network: str, account: str) -> str | None:
        """Process one claimed account; return the creator this worker claimed next, if any."""
        try:
            result = self.client_for(network).fetch_lineage(account)
        except Exception as exc:  # noqa: BLE001 - every error is classified; none loses the record
            fault = classify(exc)
            if fault is Fault.INVALID:
                self._count(
                    "invalid",
                    self.store.mark_invalid(network, account, owner=self.owner, reason=str(exc), source=self.source),
                )
                log.warning("%s/%s INVALID: %s", network, account, exc)
            elif fault is Fault.DEADLINE:  # the rate budget runs out before the deadline: next run
                log.info("%s/%s released: %s", network, account, exc)
                self._release(network, account)
            elif fault is Fault.CONFIG:
                self._release(network, account)
                self._stop(exc, network)
            elif fault is Fault.PROVIDER:
                provider = getattr(exc, "provider", horizon_key(network))
                with self.lock:  # decided at the end of the run, see settle_suspects
                    self.suspects.append((network, account, provider, str(exc), self.answered[provider]))
            else:
                if not isinstance(exc, StellarApiError):
                    log.exception("Unexpected error for %s/%s; will retry later", network, account)
                self._retry(network, account, f"{type(exc).__name__}: {exc}")
            return None
        with self.lock:
            self.answered[horizon_key(network)] += 1
            if result.tags is not None or result.creator_source == "stellar_expert":
                self.answered[EXPERT_KEY] += 1
        source = graph_resolve.pipeline_source(result, self.source)  # BIGQUERY when the graph answered
        if not self.store.complete(network, account, owner=self.owner, result=result, source=source):
            log.warning("%s/%s: claim lost before completion (recovered as stuck?)", network, account)
            self._count("claim_lost", True)
            return None
        with self.lock:
            self.counts["complete"] += 1
            self.completed.append({"network": network, "account": account, "creator": result.creator or ""})
        log.info(
            "%s/%s COMPLETE (creator %s via %s, %s children%s)",
            network,
            account,
            result.creator or "none: network root",
            result.creator_source,
            result.children.get("count", 0),
            "" if result.children.get("complete", True) else ", partial",
        )
        return self._claim_creator(network, account, result.creator)

    def _claim_creator(self, network: str, account: str, creator: str | None) -> str | None:
        if not self.climb or not creator or creator == account or account == NETWORK_ROOTS.get(network):
            return None
        with self.lock:
            if (network, creator) in self.seen:  # a cycle in bad data, or another worker has it
                return None
            self.seen.add((network, creator))
        claimed = self.store.claim_batch(
            1, pipeline=self.pipeline, owner=self.owner, network=network, accounts=[creator]
        )
        if not claimed:
            return None  # COMPLETE/INVALID/FAILED already, or someone else is processing it
        self._count("climbed", True)
        return creator

    def _retry(self, network: str, account: str, error: str) -> None:
        status = self.store.retry_later(
            network,
            account,
            owner=self.owner,
            error=error[:500],
            max_retries=self.settings.max_retry_attempts,
            source=self.source,
            backoff=retry_backoff(self.settings),
        )
        self._count("failed" if status == Status.FAILED.value else "retry_later", status is not None)
        log.warning("%s/%s -> %s: %s", network, account, status or "claim lost", error[:500])

    def _release(self, network: str, account: str) -> None:
        self._count("released", self.store.release(network, account, owner=self.owner))

    def settle_suspects(self) -> None:
        """Records that hit a provider fault: charged (record-level) only if that provider answered other
        records after the fault and its breaker is closed - then the provider works and this account
        does not; otherwise released without a charge (an outage is nobody's record's fault)."""
        for network, account, provider, error, mark in self.suspects:
            healthy = self.answered[provider] > mark and not (self.breakers and self.breakers.is_open(provider))
            if healthy and self.fatal is None:
                self._retry(network, account, f"ProviderUnavailable (others answered): {error}")
            else:
                self._count("provider_released", self.store.release(network, account, owner=self.owner))
                log.warning("%s/%s released without a retry charge: %s", network, account, error[:300])

    def release_remaining(self) -> None:
        while (item := self.next_item()) is not None:
            self._release(*item)

    def _count(self, key: str, happened: bool) -> None:
        if happened:
            with self.lock:
                self.counts[key] += 1


def process_claimed(
    store: LineageStore,
    claimed: Sequence[ClaimedRecord],
    *,
    settings: Settings,
    source: str,
    owner: str,
    pipeline: str | None = None,
    deadline: float | None = None,
    client_factory: ClientFactory | None = None,
    climb: bool = True,
    workers: int = MAX_WORKERS,
    breakers: ProviderBreakers | None = None,
) -> dict[str, Any]:
    """Process records this owner has claimed (``[{"network", "account"}]``); see module doc.

    ``deadline`` is a ``time.monotonic()`` value. Returns counts per outcome and the completed list.
    ``breakers`` defaults to the host-wide ones of ``settings`` (tests pass their own). Raises
    ``RunConfigurationError`` (after releasing everything held, uncharged) on a configuration fault.
    """
    held = store.held_by(claimed, owner)
    if breakers is None:
        try:
            breakers = breakers_from_settings(settings)
        except Exception as exc:  # noqa: BLE001 - classified: the breaker state is unusable
            _release_all(store, held, owner)
            error = RunConfigurationError(explain(exc, next(iter(held), "")))
            record_run(settings, error)
            raise error from exc
    run = _Run(
        store,
        settings,
        source,
        owner,
        pipeline or source,
        deadline,
        graph_resolve.graph_aware_factory(
            client_factory or default_client_factory(settings, breakers), store, settings
        ),
        climb,
        breakers,
    )
    graph_done = 0
    if settings.graph_mode and hasattr(store, "graph_state"):  # covered records need no request at all
        from include.stellar_lineage.graph_mode import complete_from_graph

        for network in list(held):
            done = complete_from_graph(
                store, settings, network, held[network], owner=owner, held=True, pipeline=pipeline or source
            )
            graph_done += done.get("complete", 0)
            held[network] = done["uncovered"]
    for key in ((n, a) for n, accounts in held.items() for a in accounts):
        if key not in run.seen:
            run.seen.add(key)
            run.pending.append(key)
    n_workers = max(1, min(workers, len(run.pending)))
    started = time.monotonic()
    if run.pending:
        lease = claim_lease(store, claimed, owner, stuck_threshold_s=settings.stuck_threshold_minutes * 60)
        with lease, ThreadPoolExecutor(n_workers, thread_name_prefix="lineage") as pool:
            for future in [pool.submit(run.worker) for _ in range(n_workers)]:
                future.result()
    try:
        run.release_remaining()
        run.settle_suspects()
    except Exception as settle_error:  # noqa: BLE001 - the store failed while settling: report it as such
        run.fatal = run.fatal or (settle_error, "")
    summary: dict[str, Any] = {key: run.counts.get(key, 0) for key in SUMMARY_KEYS}
    summary.update(
        claimed=len(claimed),
        seconds=round(time.monotonic() - started, 2),
        completed=run.completed,
        source=source,
        graph_complete=graph_done,
    )
    log.info("API path (%s): %s", source, {k: v for k, v in summary.items() if k != "completed"})
    if run.fatal is not None:
        cause, network = run.fatal
        error = RunConfigurationError(
            f"{explain(cause, network)} The {summary['claimed']} records claimed by this run went back to "
            "PENDING without a retry charge."
        )
        record_run(settings, error, breakers)
        raise error from cause
    if source == "API":
        record_run(settings, None, breakers)
    return summary


def _release_all(store: LineageStore, held: dict[str, list[str]], owner: str) -> None:
    for network, accounts in held.items():
        for account in accounts:
            store.release(network, account, owner=owner)
