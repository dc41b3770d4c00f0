"""Write one batch query's answer (``pipeline.run_batch``): the requested accounts, then their ancestors.

The batch query (hubble/sql/hubble_lineage.sql) answers creator, creation and children for every
account of the batch AND for every account up their creator chains. Both kinds are written the same
way: Hubble's lineage plus Horizon's current attributes (one ``/accounts/{id}``), and Horizon's
after-``as_of`` delta (one payments page) only when the account changed after Hubble's last load, so
a batch's whole chain costs no Horizon history crawl. Results are written with ``source="BIGQUERY"``.

* ``write_results`` — the requested accounts (held by the run's owner). What Hubble did not find, or
  what Horizon cannot answer now, is handed to the run's API fallback.
* ``climb_ancestors`` — ancestors waiting in the queue (PENDING: enqueued by the completions just
  written, or earlier) are claimed by name through the one claim path and written level by level
  (each completion enqueues the next creator). Ancestors held elsewhere or finished are left alone;
  one that cannot be finished now is released, never handed (the fallback finishes the batch's claim
  only).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from include.stellar_lineage.config import Settings
from include.stellar_lineage.graph_delta import scan_after, unchanged_since
from include.stellar_lineage.hubble.results import HubbleLineage, lineage_result
from include.stellar_lineage.payloads import HubbleBatchSummary
from include.stellar_lineage.records import PipelineSource
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)


def write_results(
    store: LineageStore,
    settings: Settings,
    network: str,
    owner: str,
    parsed: Mapping[str, HubbleLineage],
    client: Any,
    summary: HubbleBatchSummary,
    deadline: float | None,
    *,
    ancestors: bool = False,
) -> None:
    """Write the Hubble answer of accounts ``owner`` holds. ``ancestors=True``: what would go to the
    fallback is released instead (the fallback finishes the batch's claim only), and completions are
    counted under ``"ancestors"``."""
    from include.stellar_lineage.clients import AccountNotFound
    from include.stellar_lineage.faults import Fault, classify, retry_backoff

    def hand(account: str, reason: str) -> None:
        if not ancestors:
            summary["handed"].append(account)
            summary["reason"] = summary["reason"] or reason
        else:
            summary["released"] += int(store.release(network, account, owner=owner))

    for account, item in parsed.items():
        if not item.found:
            hand(account, "missing_from_hubble")  # Hubble has no creation row: the API path decides
            continue
        if deadline is not None and time.monotonic() > deadline:
            summary["released"] += int(store.release(network, account, owner=owner))
            continue
        try:
            state = client.horizon.account(account)  # rate-limited like every API request
            # Hubble's children are complete up to its last loaded ledger; what came after is
            # Horizon's delta (one payments page), needed only if the account changed since.
            unchanged = item.as_of_ledger is not None and unchanged_since(state, item.as_of_ledger)
            delta = None
            if item.as_of_ledger is not None and not unchanged:
                delta = scan_after(client.horizon, account, item.as_of_ledger, max_pages=settings.horizon_max_pages)
            tags = client.expert.tags(account)
            result = lineage_result(item, state, tags, delta=delta, unchanged=unchanged)
        except AccountNotFound as exc:  # merged for good: the same outcome as on the API path
            summary["invalid"] += int(
                store.mark_invalid(network, account, owner=owner, reason=str(exc), source=PipelineSource.BIGQUERY.value)
            )
            continue
        except Exception as exc:  # noqa: BLE001 - classified (faults.py); no error loses the record
            if classify(exc) is not Fault.RECORD:
                # Provider down, breaker open, a configuration fault: not this record's fault. The API
                # fallback (same run) takes it over and applies the breaker / fails the run uncharged.
                hand(account, f"horizon_unavailable: {type(exc).__name__}")
                continue
            status = store.retry_later(
                network,
                account,
                owner=owner,
                error=f"{type(exc).__name__}: {exc}"[:500],
                max_retries=settings.max_retry_attempts,
                source=PipelineSource.BIGQUERY.value,
                backoff=retry_backoff(settings),
            )
            summary["retry_later"] += int(status is not None)
            log.warning("%s/%s: Horizon attributes failed (%s) -> %s", network, account, exc, status)
            continue
        if store.complete(network, account, owner=owner, result=result, source=PipelineSource.BIGQUERY.value):
            summary["ancestors" if ancestors else "complete"] += 1


def climb_ancestors(
    store: LineageStore,
    settings: Settings,
    network: str,
    owner: str,
    pipeline: str,
    ancestors: Mapping[str, HubbleLineage],
    client: Any,
    summary: HubbleBatchSummary,
    deadline: float | None,
) -> None:
    """Finish the PENDING ones among ``ancestors`` from the batch query's answer (see module doc)."""
    rest = {account: item for account, item in ancestors.items() if item.found}
    while rest and (deadline is None or time.monotonic() <= deadline):
        claimed = store.claim_batch(len(rest), pipeline=pipeline, owner=owner, network=network, accounts=list(rest))
        if not claimed:
            break  # the rest is finished, held by another worker, or not queued (nothing below it needs it)
        level = {r.stellar_account: rest.pop(r.stellar_account) for r in claimed}
        write_results(store, settings, network, owner, level, client, summary, deadline, ancestors=True)
