"""One run of the API path: the worker threads of one ``api_pipeline.process_claimed`` call.

``ApiRun`` holds what the workers share (the queue of held records, counts, the first configuration
fault) and maps every outcome of a fetch to a store transition (``faults.py`` says whose fault an
error is): COMPLETE and climb to the creator through the claim path, INVALID, release (deadline,
configuration fault, open breaker), retry later, or a provider-fault *suspect* settled at the end of
the run (``settle_suspects``).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from include.stellar_lineage import graph_resolve
from include.stellar_lineage.breaker import EXPERT_KEY, ProviderBreakers, horizon_key
from include.stellar_lineage.clients.http import StellarApiError
from include.stellar_lineage.config import Settings
from include.stellar_lineage.faults import Fault, classify, retry_backoff
from include.stellar_lineage.payloads import ApiRunSummary
from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult, Status
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

# Horizon requests per account in the common case (account + one payments page); used to size
# batches and to decide whether the deadline leaves room for one more account.
HORIZON_REQUESTS_PER_ACCOUNT = 2


class LineageFetcher(Protocol):
    def fetch_lineage(self, account: str) -> LineageResult: ...


ClientFactory = Callable[[str], LineageFetcher]


def seconds_per_account(settings: Settings) -> float:
    """Time one account costs at the configured Horizon rate."""
    return HORIZON_REQUESTS_PER_ACCOUNT * 60.0 / settings.horizon_requests_per_minute


class ApiRun:
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
        self._count("complete", True)
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

    def summary(self, *, claimed: int, seconds: float, graph_complete: int) -> ApiRunSummary:
        """What the run did, per outcome (the operators' XCom result)."""
        c = self.counts
        return ApiRunSummary(
            complete=c["complete"],
            climbed=c["climbed"],
            invalid=c["invalid"],
            retry_later=c["retry_later"],
            failed=c["failed"],
            released=c["released"],
            provider_released=c["provider_released"],
            breaker_released=c["breaker_released"],
            claim_lost=c["claim_lost"],
            claimed=claimed,
            seconds=seconds,
            source=self.source,
            graph_complete=graph_complete,
        )
