"""The cost guard's arithmetic and decision: pure functions, no I/O (unit-tested in tests/include).

Cost model (BigQuery on-demand, reference/hubble_bigquery.md B.3):

* estimated USD = dry-run bytes / 2**40 x ``bigquery_price_per_tib_usd`` (the price is per TiB);
* BigQuery bills at least 10 MiB per referenced table, so a tiny estimate is still charged that
  minimum: the guard compares the *billable* bytes, max(estimate, 10 MiB x tables), with the limits;
* ``bigquery_size_limit_gb`` is in GB (10**9 bytes), so existing limits keep their meaning
  (docs/architecture.md).

Refusal order (the first that applies is reported): cost limit, size limit, daily budget.
"""

from __future__ import annotations

import dataclasses
import math

from typing import Any

from include.stellar_lineage.config import Settings
from include.stellar_lineage.payloads import QueryDecision
from include.stellar_lineage.records import SpendEntry

TIB = 2**40
GB = 10**9
MIN_BILLED_PER_TABLE = 10 * 2**20  # BigQuery's minimum charge per referenced table (10 MB)
# maximum_bytes_billed = estimate x (1 + margin): the dry run is an upper bound after partition
# pruning, but Hubble's incremental tables grow between the dry run and the job (seconds apart, one
# refresh every ~30 min adds well under 1 %). 2 % absorbs that without letting a different, larger
# query through; the cap is never above the configured limits.
CAP_MARGIN = 0.02

APPROVED = "approved"
PARTLY_APPROVED = "partly_approved"  # a run split into queries (bigquery_batch_size), some refused
REFUSED_COST = "refused_cost"
REFUSED_SIZE = "refused_size"
REFUSED_BUDGET = "refused_budget"
REFUSED_NETWORK = "refused_network"
REFUSED_DRY_RUN_FAILED = "refused_dry_run_failed"
DRY_RUN_ONLY = "dry_run_only"


def usd_for_bytes(nbytes: int | float, price_per_tib_usd: float) -> float:
    return float(nbytes) / TIB * price_per_tib_usd


def record_job_spend(
    store: Any,
    settings: Settings,
    *,
    network: str,
    nbytes: int,
    decision: str,
    run_id: str,
    detail: str,
    accounts: int = 0,
) -> None:
    """One BigQuery job in the spend ledger (batch queries and graph snapshots alike)."""
    store.record_spend(
        SpendEntry(
            kind="job",
            network=network,
            bytes=nbytes,
            usd=usd_for_bytes(nbytes, settings.bigquery_price_per_tib_usd),
            accounts=accounts,
            decision=decision,
            run_id=run_id,
            detail=detail,
        )
    )


def billable_bytes(estimate_bytes: int, referenced_tables: int) -> int:
    return max(int(estimate_bytes), MIN_BILLED_PER_TABLE * max(1, referenced_tables))


def limit_bytes(settings: Settings) -> int:
    """The largest byte count both the cost and the size limit allow."""
    by_size = int(settings.bigquery_size_limit_gb * GB)
    if settings.bigquery_price_per_tib_usd <= 0:
        return by_size
    by_cost = int(settings.bigquery_cost_limit_usd / settings.bigquery_price_per_tib_usd * TIB)
    return min(by_size, by_cost)


@dataclasses.dataclass(frozen=True)
class CostDecision:
    decision: str
    estimate_bytes: int
    billable_bytes: int
    estimate_usd: float
    spent_today_usd: float
    max_bytes_billed: int | None  # set when approved
    reason: str

    @property
    def approved(self) -> bool:
        return self.decision == APPROVED

    def as_query(self, *, approved: bool, accounts: int, network: str, dry_run_only: bool) -> QueryDecision:
        """The decision as the guard hands it to the query task (XCom)."""
        return QueryDecision(
            decision=self.decision,
            approved=approved,
            estimate_bytes=self.estimate_bytes,
            billable_bytes=self.billable_bytes,
            estimate_usd=self.estimate_usd,
            spent_today_usd=self.spent_today_usd,
            max_bytes_billed=self.max_bytes_billed,
            accounts=accounts,
            network=network,
            reason=self.reason,
            per_account_usd=self.estimate_usd / max(1, accounts),
            dry_run_only=dry_run_only,
        )


def decide(
    estimate_bytes: int, settings: Settings, *, spent_today_usd: float, referenced_tables: int = 1
) -> CostDecision:
    """Approve or refuse one batch query from its dry-run estimate and today's spend."""
    billable = billable_bytes(estimate_bytes, referenced_tables)
    usd = usd_for_bytes(billable, settings.bigquery_price_per_tib_usd)
    gb = billable / GB

    def refuse(decision: str, reason: str) -> CostDecision:
        return CostDecision(decision, int(estimate_bytes), billable, usd, spent_today_usd, None, reason)

    if usd > settings.bigquery_cost_limit_usd:
        return refuse(
            REFUSED_COST,
            f"estimated ${usd:.4f} is over the cost limit "
            f"${settings.bigquery_cost_limit_usd:.2f} "
            "(stellar_lineage_bigquery_cost_limit_usd)",
        )
    if gb > settings.bigquery_size_limit_gb:
        return refuse(
            REFUSED_SIZE,
            f"estimated {gb:.3f} GB is over the size limit "
            f"{settings.bigquery_size_limit_gb:g} GB (stellar_lineage_bigquery_size_limit_gb)",
        )
    if spent_today_usd + usd > settings.bigquery_daily_budget_usd:
        return refuse(
            REFUSED_BUDGET,
            f"today's spend ${spent_today_usd:.4f} + estimate ${usd:.4f} would pass the "
            f"daily budget ${settings.bigquery_daily_budget_usd:.2f} "
            "(stellar_lineage_bigquery_daily_budget_usd)",
        )
    cap = max_bytes_billed(estimate_bytes, settings, referenced_tables=referenced_tables)
    return CostDecision(
        APPROVED,
        int(estimate_bytes),
        billable,
        usd,
        spent_today_usd,
        cap,
        f"estimated ${usd:.4f} ({gb:.3f} GB) within limits; cap {cap} bytes",
    )


def max_bytes_billed(estimate_bytes: int, settings: Settings, *, referenced_tables: int = 1) -> int:
    """The job's byte cap: billable estimate plus the margin, never above the configured limits."""
    wanted = math.ceil(billable_bytes(estimate_bytes, referenced_tables) * (1 + CAP_MARGIN))
    return max(1, min(wanted, limit_bytes(settings)))
