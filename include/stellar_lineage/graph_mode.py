"""Graph mode (Variable ``stellar_lineage_graph_mode``): lineage at the speed of the edge table.

With the creator graph loaded, creator, creation time, the whole chain and the children as of the
snapshot need no request at all (``graph_resolve``). Graph mode therefore completes covered records
from the graph alone, in bulk (claims by name and ``complete_many`` in chunks of ``CHUNK``), and
queues each one's Horizon attribute fetch as an *attribute follow-up*: the API path's lowest-priority
work (``run_followups``, one ``GET /accounts/{id}`` per account, run only with time left after the
queue). Children are "as of ledger N" until then; a follow-up that finds the account unchanged since
the snapshot marks them complete (``graph_resolve`` module doc).

Records the graph does not cover (created after the snapshot) are left PENDING untouched: the normal
API path takes them. Records the caller holds are completed owner-guarded (``complete_many``); the
others go from PENDING straight to COMPLETE (``complete_pending_many``: one conditional write per
record on Cassandra instead of a claim and a completion).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from include.stellar_lineage.graph_resolve import GraphResolver, result_from_graph
from include.stellar_lineage.records import PipelineSource
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

CHUNK = 5000  # records per claim / complete_many round: one short write transaction each on SQLite
FOLLOWUP_WORKERS = 4  # as the API path: overlap request latency; the limiter sets the pace
GRAPH_PIPELINE = "GRAPH"


def complete_from_graph(
    store: LineageStore,
    settings: Any,
    network: str,
    accounts: Sequence[str],
    *,
    owner: str,
    held: bool = False,
    pipeline: str = GRAPH_PIPELINE,
    resolver: GraphResolver | None = None,
    chunk: int = CHUNK,
) -> dict[str, Any]:
    """Complete the covered ones among ``accounts`` from the graph and climb their chains.

    ``held=False``: the due PENDING ones among ``accounts`` are completed without a separate claim.
    ``held=True``: ``owner`` holds them already (the API path's claim); the uncovered ones stay held
    and are returned in ``"uncovered"`` for the caller to process. Creators enqueued by the
    completions are claimed and completed the same way, so a chain is finished in one call.
    """
    resolver = resolver or GraphResolver(store, max_children=settings.bigquery_max_children)
    counts: collections.Counter[str] = collections.Counter()
    uncovered: list[str] = []
    if resolver.state(network) is None:
        return {"complete": 0, "left_pending": 0, "uncovered": list(accounts) if held else [], "graph": False}
    todo = collections.deque(dict.fromkeys(accounts))
    seen = set(todo)
    mine = set(todo) if held else set()  # held by owner already: completed owner-guarded, never released here
    started = time.monotonic()
    while todo:
        batch = [todo.popleft() for _ in range(min(chunk, len(todo)))]
        facts = resolver.facts_many(network, batch)
        results = {a: result_from_graph(facts[a]) for a in batch if a in facts}
        held_results = {a: r for a, r in results.items() if a in mine}
        done = store.complete_many(
            network, held_results, owner=owner, source=PipelineSource.BIGQUERY.value, followup=True
        )
        counts["claim_lost"] += len(held_results) - len(done)
        # records nobody holds: straight from PENDING to COMPLETE (no separate claim; others skipped)
        done += store.complete_pending_many(
            network,
            {a: r for a, r in results.items() if a not in mine},
            pipeline=pipeline,
            owner=owner,
            source=PipelineSource.BIGQUERY.value,
            followup=True,
        )
        counts["complete"] += len(done)
        for account in batch:
            if account not in facts:
                if account in mine:
                    uncovered.append(account)
                else:
                    counts["left_pending"] += 1  # not covered: untouched, the API path takes it
        for account in done:  # climb: the creators the completions just enqueued
            creator = results[account].creator
            if creator and creator not in seen:
                seen.add(creator)
                todo.append(creator)
    seconds = time.monotonic() - started
    log.info(
        "Graph mode %s: %d COMPLETE from the graph (%.0f/s), %d not covered (left PENDING), %d left to the API path",
        network,
        counts["complete"],
        counts["complete"] / seconds if seconds else 0.0,
        counts["left_pending"],
        len(uncovered),
    )
    return {
        "complete": counts["complete"],
        "left_pending": counts["left_pending"],
        "claim_lost": counts["claim_lost"],
        "uncovered": uncovered,
        "graph": True,
        "seconds": round(seconds, 3),
    }


def run_followups(
    store: LineageStore,
    settings: Any,
    client_for: Callable[[str], Any],
    *,
    owner: str,
    limit: int,
    deadline: float | None = None,
    workers: int = FOLLOWUP_WORKERS,
) -> dict[str, int]:
    """Fetch the Horizon attributes of up to ``limit`` graph-completed records (one request each, plus
    the optional Stellar Expert directory tags), ``workers`` at a time like the API path; the
    host-wide rate limiter paces them."""
    from include.stellar_lineage import ratelimit
    from include.stellar_lineage.clients import AccountNotFound
    from include.stellar_lineage.graph_delta import unchanged_since

    claimed = store.claim_followups(
        limit, owner=owner, stale_after=dt.timedelta(minutes=settings.stuck_threshold_minutes)
    )
    resolver = GraphResolver(store, max_children=settings.bigquery_max_children)

    def release(network: str, account: str, attempts: int = 2**31) -> str:
        return "released" if store.release_followup(network, account, owner=owner, max_attempts=attempts) else "lost"

    def one(network: str, account: str) -> str:
        if deadline is not None and time.monotonic() > deadline:
            return release(network, account)
        facts = resolver.facts(network, account)
        if facts is None:  # the graph no longer covers it (reloaded without it): try again later
            return release(network, account)
        client = client_for(network)
        try:
            state = client.horizon.account(account)
            tags = client.expert.tags(account)
        except AccountNotFound:  # merged after the snapshot: the lineage stays, the record says so
            return "vanished" if store.finish_followup(network, account, owner=owner, result=None) else "lost"
        except ratelimit.BudgetExhausted:
            return release(network, account)
        except Exception as exc:  # noqa: BLE001 - enrichment only: the record is COMPLETE already
            log.warning("attribute follow-up %s/%s failed: %s", network, account, exc)
            return "retry_later" if release(network, account, settings.max_retry_attempts) == "released" else "lost"
        result = result_from_graph(
            facts, state=state, tags=tags, unchanged_since_as_of=unchanged_since(state, facts.as_of_ledger)
        )
        return "attributes" if store.finish_followup(network, account, owner=owner, result=result) else "lost"

    def paced(item: tuple[str, str]) -> str:
        with ratelimit.deadline(deadline):  # thread-local: set in each worker thread
            return one(*item)

    counts: collections.Counter[str] = collections.Counter()
    if claimed:
        with ThreadPoolExecutor(max(1, min(workers, len(claimed))), thread_name_prefix="followup") as pool:
            counts.update(pool.map(paced, claimed))
        log.info("Attribute follow-ups: %s", dict(counts))
    return {"claimed": len(claimed), **counts}


def followups_with_time_left(store: LineageStore, settings: Any, owner: str, deadline: float) -> dict[str, int]:
    """Run follow-ups with the time a pipeline run has left (one Horizon request each, paced by the
    host-wide limiter); the API DAG calls this after its claimed batch, so they never delay the queue."""
    from include.stellar_lineage.api_pipeline import default_client_factory

    limit = int((deadline - time.monotonic()) * settings.horizon_requests_per_minute / 60.0)
    if limit <= 0:
        return {"claimed": 0}
    return run_followups(
        store, settings, default_client_factory(settings), owner=f"{owner}:followups", limit=limit, deadline=deadline
    )
