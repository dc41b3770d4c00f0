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

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from include.stellar_lineage import graph_resolve
from include.stellar_lineage.api_claim import record_run
from include.stellar_lineage.api_run import ApiRun, ClientFactory, LineageFetcher, seconds_per_account
from include.stellar_lineage.breaker import ProviderBreakers, breakers_from_settings
from include.stellar_lineage.config import Settings
from include.stellar_lineage.faults import ClientSetupError, RunConfigurationError, explain
from include.stellar_lineage.lease import claim_lease
from include.stellar_lineage.payloads import ApiRunSummary, ClaimedRecord
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

MAX_WORKERS = 4


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


def auto_batch_size(settings: Settings, queue_depth: int, window_seconds: float) -> int:
    """How many records one run can finish: the Horizon budget of the window, capped by the queue."""
    budget = int(window_seconds / seconds_per_account(settings))
    return max(0, min(queue_depth, max(1, budget)))


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
) -> ApiRunSummary:
    """Process records this owner has claimed (``[{"network", "account"}]``); see module doc.

    ``deadline`` is a ``time.monotonic()`` value. Returns counts per outcome.
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
    run = ApiRun(
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
    summary = run.summary(claimed=len(claimed), seconds=round(time.monotonic() - started, 2), graph_complete=graph_done)
    log.info("API path (%s): %s", source, summary)
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
