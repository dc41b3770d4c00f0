"""The API path: process claimed records through Horizon + Stellar Expert and climb their chains.

Used by the 2-minute API DAG (``source="API"``) and by the BigQuery DAG's fallback
(``source="BIGQUERY_WITH_API_FALLBACK"``): one implementation, two callers.

Within one call, a small pool of worker threads takes the claimed records. After a worker completes
an account whose creator is not COMPLETE, it claims that creator through the store's claim path
(``claim_batch(accounts=[creator])``: atomic, so a concurrent run never double-processes it) and
processes it next, depth first, so a user's chain reaches the root before new chains start. The
rate limiter paces every HTTP request; a deadline safely inside the DAG's interval stops new work,
and whatever was claimed but not attempted is released back to PENDING. Nothing is left PROCESSING.

Outcome per record: COMPLETE; INVALID only for a confirmed Horizon 404; transient faults (429, 5xx,
timeouts, malformed bodies, anything unexpected) → ``retry_later`` (PENDING with retry+1, FAILED at
the cap).
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
from include.stellar_lineage.config import Settings
from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult, Status
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.payloads import ClaimedRecord

log = logging.getLogger(__name__)

# Horizon requests per account in the common case (account + one payments page); used to size
# batches and to decide whether the deadline leaves room for one more account.
HORIZON_REQUESTS_PER_ACCOUNT = 2
MAX_WORKERS = 4


class LineageFetcher(Protocol):
    def fetch_lineage(self, account: str) -> LineageResult: ...


ClientFactory = Callable[[str], LineageFetcher]


def default_client_factory(settings: Settings) -> ClientFactory:
    from include.stellar_lineage.clients import build_api_client

    cache: dict[str, LineageFetcher] = {}
    lock = threading.Lock()

    def factory(network: str) -> LineageFetcher:
        with lock:
            if network not in cache:
                cache[network] = build_api_client(network, settings)
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
    ) -> None:
        self.store, self.settings, self.source, self.owner = store, settings, source, owner
        self.pipeline, self.deadline, self.client_for, self.climb = pipeline, deadline, client_for, climb
        self.pending: collections.deque[tuple[str, str]] = collections.deque()
        self.lock = threading.Lock()
        self.seen: set[tuple[str, str]] = set()
        self.counts: collections.Counter[str] = collections.Counter()
        self.completed: list[dict[str, str]] = []

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
                while account is not None:
                    if self.time_left() < seconds_per_account(self.settings):
                        self._release(network, account)
                        break
                    account = self._process(network, account)

    def _process(self, network: str, account: str) -> str | None:
        """Process one claimed account; return the creator this worker claimed next, if any."""
        from include.stellar_lineage.clients import AccountNotFound, TransientApiError

        from include.stellar_lineage.ratelimit import BudgetExhausted

        try:
            result = self.client_for(network).fetch_lineage(account)
        except BudgetExhausted as exc:  # the rate budget runs out before the deadline: next run
            log.info("%s/%s released: %s", network, account, exc)
            self._release(network, account)
            return None
        except AccountNotFound as exc:
            self._count(
                "invalid",
                self.store.mark_invalid(network, account, owner=self.owner, reason=str(exc), source=self.source),
            )
            log.warning("%s/%s INVALID: %s", network, account, exc)
            return None
        except TransientApiError as exc:
            self._retry(network, account, f"{type(exc).__name__}: {exc}")
            return None
        except Exception as exc:  # noqa: BLE001 - any other fault must not lose the record
            log.exception("Unexpected error for %s/%s; will retry later", network, account)
            self._retry(network, account, f"{type(exc).__name__}: {exc}")
            return None
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
        )
        self._count("failed" if status == Status.FAILED.value else "retry_later", status is not None)
        log.warning("%s/%s -> %s: %s", network, account, status or "claim lost", error[:500])

    def _release(self, network: str, account: str) -> None:
        self._count("released", self.store.release(network, account, owner=self.owner))

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
) -> dict[str, Any]:
    """Process records this owner has claimed (``[{"network", "account"}]``); see module doc.

    ``deadline`` is a ``time.monotonic()`` value. Returns counts per outcome and the completed list.
    """
    run = _Run(
        store,
        settings,
        source,
        owner,
        pipeline or source,
        deadline,
        graph_resolve.graph_aware_factory(client_factory or default_client_factory(settings), store, settings),
        climb,
    )
    held = store.held_by(claimed, owner)
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
        with ThreadPoolExecutor(n_workers, thread_name_prefix="lineage") as pool:
            for future in [pool.submit(run.worker) for _ in range(n_workers)]:
                future.result()
    summary: dict[str, Any] = {
        key: run.counts.get(key, 0)
        for key in ("complete", "climbed", "invalid", "retry_later", "failed", "released", "claim_lost")
    }
    summary.update(
        claimed=len(claimed),
        seconds=round(time.monotonic() - started, 2),
        completed=run.completed,
        source=source,
        graph_complete=graph_done,
    )
    log.info("API path (%s): %s", source, {k: v for k, v in summary.items() if k != "completed"})
    return summary
