"""The BigQuery pipeline's steps, called by the thin operators in ``operators/``.

* ``estimate_run`` — the run's accounts in chunks of ``bigquery_batch_size``; per chunk
  ``estimate_batch``: dry run + decision (+ one spend-ledger entry); touches no lineage record.
* ``run_batch`` — one job per approved chunk; the query answers the chunk's accounts and every
  ancestor up their creator chains, written with ``source="BIGQUERY"`` (``batch_write``: no Horizon
  history crawl for the chain); returns the accounts it could not finish so the fallback task takes
  them (refused chunk, missing from Hubble, or the job failed).

What the run's owner still holds afterwards goes through the API path (``operators/api_finish.py``,
``source="BIGQUERY_WITH_API_FALLBACK"``).

Every claimed record ends COMPLETE, INVALID, PENDING (retry / released) or FAILED; none is left
PROCESSING, whatever BigQuery does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from include.stellar_lineage.config import Settings
from include.stellar_lineage.hubble import cost
from include.stellar_lineage.hubble.batch_write import climb_ancestors, write_results
from include.stellar_lineage.hubble.query import REFERENCED_TABLES, HubbleClient, HubbleUnavailable
from include.stellar_lineage.hubble.results import parse_rows
from include.stellar_lineage.payloads import Claim, HubbleBatchSummary, QueryDecision, RunDecision
from include.stellar_lineage.records import SpendEntry
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

HUBBLE_NETWORKS = ("public",)  # Hubble publishes pubnet only; testnet batches use the API path
GRAPH_COVERS = "graph_covers"  # the creator graph is loaded: no per-batch Hubble query at all


def estimate_batch(
    store: LineageStore,
    settings: Settings,
    accounts: Sequence[str],
    network: str,
    *,
    hubble: HubbleClient,
    run_id: str = "",
    dry_run_only: bool = False,
    committed_usd: float = 0.0,
    estimate: Callable[[], int] | None = None,
    referenced_tables: int = REFERENCED_TABLES,
) -> QueryDecision:
    """Dry-run one query's accounts and decide. ``committed_usd``: what earlier chunks of the same run
    were approved for, counted against today's budget. Returns the decision as a JSON-able dict.

    ``estimate`` replaces the batch query's dry run by another query's (the creator graph), which
    then goes through the same limits, daily budget and spend ledger."""
    if network not in HUBBLE_NETWORKS:
        return {
            "decision": cost.REFUSED_NETWORK,
            "approved": False,
            "estimate_bytes": 0,
            "estimate_usd": 0.0,
            "max_bytes_billed": None,
            "accounts": len(accounts),
            "network": network,
            "reason": f"Hubble has no {network} data; the batch goes through the API path",
        }
    # (the graph's own snapshot/refresh query, ``estimate`` given, is always estimated)
    graph = store.graph_state(network) if estimate is None else None
    if graph is not None:
        # Accounts the graph covers resolve from the edge table (graph_resolve); the others were created
        # after its as_of ledger, i.e. recently, which Horizon's retained history answers for free.
        return {
            "decision": GRAPH_COVERS,
            "approved": False,
            "estimate_bytes": 0,
            "estimate_usd": 0.0,
            "max_bytes_billed": None,
            "accounts": len(accounts),
            "network": network,
            "reason": f"the creator graph (as of ledger {graph.as_of_ledger}) answers this batch without a Hubble "
            "query; accounts created after it go through Horizon",
        }
    try:
        estimate_bytes = estimate() if estimate is not None else hubble.dry_run(accounts)
    except Exception as exc:  # noqa: BLE001 - no estimate means no spend: refuse, never guess
        # Credentials, quota, network, bad SQL: without an estimate nothing may be billed, so the
        # batch is refused like an over-limit one and goes through the API path.
        reason = f"dry run failed ({type(exc).__name__}: {str(exc)[:300]}); the batch goes through the API path"
        log.warning("Dry run for %d %s accounts failed: %s", len(accounts), network, reason, exc_info=True)
        store.record_spend(
            SpendEntry(
                kind="dry_run",
                network=network,
                bytes=0,
                usd=0.0,
                accounts=len(accounts),
                decision=cost.REFUSED_DRY_RUN_FAILED,
                run_id=run_id,
                detail=reason,
            )
        )
        return {
            "decision": cost.REFUSED_DRY_RUN_FAILED,
            "approved": False,
            "estimate_bytes": 0,
            "estimate_usd": 0.0,
            "max_bytes_billed": None,
            "accounts": len(accounts),
            "network": network,
            "reason": reason,
            "dry_run_only": dry_run_only,
        }
    spent = float(store.spend_summary().get("today_usd") or 0.0) + committed_usd
    decision = cost.decide(estimate_bytes, settings, spent_today_usd=spent, referenced_tables=referenced_tables)
    ledger_decision = cost.DRY_RUN_ONLY if dry_run_only else decision.decision
    store.record_spend(
        SpendEntry(
            kind="dry_run",
            network=network,
            bytes=decision.billable_bytes,
            usd=decision.estimate_usd,
            accounts=len(accounts),
            decision=ledger_decision,
            run_id=run_id,
            detail=decision.reason,
        )
    )
    log.info(
        "Dry run for %d %s accounts: %d bytes (billable %d) = $%.6f; spent today $%.4f -> %s (%s)",
        len(accounts),
        network,
        estimate_bytes,
        decision.billable_bytes,
        decision.estimate_usd,
        spent,
        decision.decision,
        decision.reason,
    )
    return decision.as_query(
        approved=decision.approved and not dry_run_only,
        accounts=len(accounts),
        network=network,
        dry_run_only=dry_run_only,
    )


def estimate_run(
    store: LineageStore,
    settings: Settings,
    accounts: Sequence[str],
    network: str,
    *,
    hubble: HubbleClient,
    run_id: str = "",
    dry_run_only: bool = False,
) -> RunDecision:
    """A run's accounts in chunks of ``bigquery_batch_size``: one dry run and one decision per chunk
    (the per-query limits apply to each; chunks approved earlier count against the daily budget).
    Returns the run's decision with the per-chunk ones (and their accounts) under ``chunks``."""
    size = settings.bigquery_batch_size
    chunks: list[QueryDecision] = []
    committed = 0.0
    for start in range(0, len(accounts), size):
        part = list(accounts[start : start + size])
        chunk = estimate_batch(
            store,
            settings,
            part,
            network,
            hubble=hubble,
            run_id=run_id,
            dry_run_only=dry_run_only,
            committed_usd=committed,
        )
        chunk["batch"] = part
        if chunk["decision"] == cost.APPROVED:
            committed += float(chunk["estimate_usd"])
        chunks.append(chunk)
    approved = [c for c in chunks if c["approved"]]
    refused = [c for c in chunks if c["decision"] != cost.APPROVED]
    if not refused:
        decision = cost.APPROVED
    elif len(refused) == len(chunks):
        decision = refused[0]["decision"]
    else:
        decision = cost.PARTLY_APPROVED
    if len(chunks) == 1:
        reason = chunks[0]["reason"]
    else:
        reason = f"{len(chunks) - len(refused)} of {len(chunks)} queries of up to {size} accounts approved"
        if refused:
            reason += f"; first refusal: {refused[0]['reason']}"
    total_usd = sum(float(c["estimate_usd"]) for c in chunks)
    return {
        "decision": decision,
        "approved": bool(approved),
        "estimate_bytes": sum(int(c["estimate_bytes"]) for c in chunks),
        "billable_bytes": sum(int(c.get("billable_bytes") or 0) for c in chunks),
        "estimate_usd": total_usd,
        "max_bytes_billed": sum(c["max_bytes_billed"] or 0 for c in approved) if approved else None,
        "accounts": len(accounts),
        "network": network,
        "per_account_usd": total_usd / max(1, len(accounts)),
        "dry_run_only": dry_run_only,
        "reason": reason,
        "chunks": chunks,
    }


def run_batch(
    store: LineageStore,
    settings: Settings,
    claim: Claim,
    guard: RunDecision,
    *,
    hubble: HubbleClient,
    client_for: Callable[[str], Any],
    run_id: str = "",
    timeout_s: float = 600.0,
    deadline: float | None = None,
    recheck_budget: bool = False,
) -> HubbleBatchSummary:
    """One job per approved chunk of the guard's decision (``estimate_run``); write what Hubble
    answered. Accounts of refused chunks, and of failed jobs, stay claimed for the fallback task."""
    owner = claim["owner"]
    held_now = store.held_by(claim["records"], owner)
    held = {(n, a) for n, accounts in held_now.items() for a in accounts}
    summary: HubbleBatchSummary = {
        "complete": 0,
        "ancestors": 0,  # ancestors completed from the same query (batch_write.climb_ancestors)
        "invalid": 0,
        "retry_later": 0,
        "released": 0,
        "handed": [],
        "reason": None,
    }
    for chunk in guard["chunks"]:
        network = chunk["network"]
        accounts = [a for a in chunk["batch"] if (network, a) in held]  # a retry skips finished chunks
        if not accounts:
            continue
        if not chunk["approved"] or chunk["max_bytes_billed"] is None or network not in HUBBLE_NETWORKS:
            summary["handed"] += accounts
            summary["reason"] = summary["reason"] or chunk["decision"]
            continue
        if recheck_budget:  # a retried task: the first try may have billed already
            spent = float(store.spend_summary().get("today_usd") or 0.0)
            again = cost.decide(
                int(chunk["estimate_bytes"]), settings, spent_today_usd=spent, referenced_tables=REFERENCED_TABLES
            )
            if not again.approved:
                log.warning("Retry refused by the guard: %s", again.reason)
                summary["handed"] += accounts
                summary["reason"] = again.decision
                continue
        try:
            outcome = hubble.run(accounts, max_bytes_billed=chunk["max_bytes_billed"], timeout_s=timeout_s)
        except HubbleUnavailable as exc:
            # bytesBilledLimitExceeded fails "without incurring a charge"; after a timeout the job may
            # have scanned, so the ledger keeps the estimate as a conservative upper bound.
            billed = int(chunk["billable_bytes"]) if exc.reason == "timeout" else 0
            cost.record_job_spend(
                store,
                settings,
                network=network,
                nbytes=billed,
                decision="failed",
                run_id=run_id,
                detail=str(exc)[:500],
                accounts=len(accounts),
            )
            log.warning("Hubble job failed (%s); %d accounts go to the API fallback", exc, len(accounts))
            summary["handed"] += accounts
            summary["reason"] = exc.reason
            continue
        billed = outcome.bytes_billed if outcome.bytes_billed is not None else int(chunk["billable_bytes"])
        cost.record_job_spend(
            store,
            settings,
            network=network,
            nbytes=billed,
            decision="ran",
            run_id=run_id,
            detail=f"job {outcome.job_id}; {len(outcome.rows)} rows; cache_hit={outcome.cache_hit}; "
            + (
                "bytes billed reported"
                if outcome.bytes_billed is not None
                else "bytes billed not reported: estimate recorded"
            ),
            accounts=len(accounts),
        )
        parsed = parse_rows(outcome.rows, accounts, network=network)
        client = client_for(network)
        requested = {a: item for a, item in parsed.items() if not item.ancestor}
        write_results(store, settings, network, owner, requested, client, summary, deadline)
        ancestors = {a: item for a, item in parsed.items() if item.ancestor}
        climb_ancestors(store, settings, network, owner, claim["pipeline"], ancestors, client, summary, deadline)
    log.info("Hubble batch: %s", {**summary, "handed": len(summary["handed"])})
    return summary
