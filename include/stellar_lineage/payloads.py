"""What tasks hand to each other through XCom, as TypedDicts (JSON-able, checked by mypy).

A claim task returns a ``Claim``; the tasks that finish it (the cost guard, the Hubble query, the API
path) read it back through ``claim.output``. The cost guard pushes a ``RunDecision`` (one
``QueryDecision`` per query of ``bigquery_batch_size`` accounts) that the query task reads; the graph
snapshot's guard pushes one ``QueryDecision`` for the graph query. Each finishing task returns its
summary: ``ApiRunSummary`` (the API path, both DAGs), ``HubbleBatchSummary`` (the Hubble query task),
``RecoverySummary`` (stuck recovery).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class ClaimedRecord(TypedDict):
    network: str
    account: str


class Claim(TypedDict):
    """One run's claim: the owner token every finishing task acts as, and what it claimed."""

    owner: str
    pipeline: str
    records: list[ClaimedRecord]


class QueryDecision(TypedDict):
    """The cost guard's decision on one BigQuery query (``hubble.pipeline.estimate_batch``).

    ``decision`` is one of ``hubble.cost``'s outcomes (``approved``, ``refused_*``, ``dry_run_only``
    in the ledger) or ``graph_covers`` / ``resume``; ``approved`` says whether the job may run."""

    decision: str
    approved: bool
    estimate_bytes: int
    estimate_usd: float
    max_bytes_billed: int | None  # the job's maximum_bytes_billed; set when approved
    accounts: int
    network: str
    reason: str
    billable_bytes: NotRequired[int]  # absent when no dry run was made (refused before, or failed)
    spent_today_usd: NotRequired[float]
    per_account_usd: NotRequired[float]
    dry_run_only: NotRequired[bool]
    batch: NotRequired[list[str]]  # the query's accounts (the run's guard: estimate_run)
    plan: NotRequired[dict[str, Any]]  # the graph snapshot's plan (hubble.graph.GraphPlan.as_dict)


class RunDecision(TypedDict):
    """The cost guard's decision on a run (``hubble.pipeline.estimate_run``): the sums and one
    ``QueryDecision`` per query; ``approved`` when at least one query may run."""

    decision: str
    approved: bool
    estimate_bytes: int
    billable_bytes: int
    estimate_usd: float
    max_bytes_billed: int | None
    accounts: int
    network: str
    per_account_usd: float
    dry_run_only: bool
    reason: str
    chunks: list[QueryDecision]


class ApiRunSummary(TypedDict):
    """What one run of the API path did (``api_pipeline.process_claimed``), records per outcome."""

    complete: int
    climbed: int  # creators claimed and processed in the same run (chain climbing)
    invalid: int
    retry_later: int
    failed: int
    released: int  # back to PENDING unattempted (deadline, configuration fault)
    provider_released: int  # a provider fault: back to PENDING without a retry charge
    breaker_released: int  # the provider's breaker was open
    claim_lost: int
    claimed: int
    seconds: float
    source: str
    graph_complete: int  # completed from the creator graph alone (graph mode)


class HubbleBatchSummary(TypedDict):
    """What the Hubble query task did (``hubble.pipeline.run_batch``); ``handed`` stays claimed for
    the API fallback task, ``reason`` says why the first of them was handed over; ``ancestors`` were
    completed from the same query (``hubble.batch_write.climb_ancestors``)."""

    complete: int
    ancestors: int
    invalid: int
    retry_later: int
    released: int
    handed: list[str]
    reason: str | None


class RecoverySummary(TypedDict):
    requeued: int
    failed: int
