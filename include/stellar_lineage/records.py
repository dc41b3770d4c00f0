"""The lineage record, its states and the values the pipelines write into it.

One row per ``(network_name, stellar_account)``. Field names follow the seed system so that a migrated
seed deployment keeps its column names. Times are timezone-aware UTC ``datetime``s; the XLM balance is
kept as an exact 7-decimal string (``"72.8563792"``), never a float.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Callable
from typing import Any

NETWORKS = ("public", "testnet")

# Root (genesis) accounts: derived from the network passphrase, they have no create_account operation.
NETWORK_ROOTS = {
    "public": "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7",
    "testnet": "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H",
}


class Status(str, enum.Enum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    INVALID = "INVALID"


class PipelineSource(str, enum.Enum):
    API = "API"
    BIGQUERY = "BIGQUERY"
    BIGQUERY_WITH_API_FALLBACK = "BIGQUERY_WITH_API_FALLBACK"


class Priority(enum.IntEnum):
    """Claim order: lower first, then oldest enqueue first.

    * CHAIN: an ancestor of a user-requested account (climbing an already started user chain), so a
      user's chain finishes before new chains start;
    * REQUESTED: an account a user asked for (enqueue DAG / UI);
    * CLIMBED: an ancestor found by climbing from work nobody requested;
    * DESCENDANT: found by a downward crawl a user asked for (``crawl.py``);
    * REFRESH: a COMPLETE record collected more than ``refresh_after_days`` ago, re-queued by the API
      DAG's claim step only with capacity nothing else wants (``refresh.py``): lowest of all.

    ``LineageStore.complete`` enqueues the creator as CHAIN when the completed record was CHAIN or
    REQUESTED, else as CLIMBED.
    """

    CHAIN = 0
    REQUESTED = 1
    CLIMBED = 2
    DESCENDANT = 3  # a descendants crawl (enqueue DAG's descendants_depth): after every chain
    REFRESH = 4  # re-collecting stale COMPLETE data (refresh_after_days): lowest, after everything


def creator_priority(child_priority: int) -> "Priority":
    """Priority of a creator enqueued because ``child`` completed."""
    if child_priority <= Priority.REQUESTED:
        return Priority.CHAIN
    return Priority.CLIMBED


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class LineageResult:
    """What a pipeline learned about one account; written by ``LineageStore.complete``."""

    creator: str | None
    created_at: dt.datetime | None
    home_domain: str | None = None
    xlm_balance: str | None = None
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    assets: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # {"count": int, "children": [{"account", "created_at", "starting_balance"}...],
    #  "complete": bool, "source": "horizon"|"hubble"}
    children: dict[str, Any] = dataclasses.field(default_factory=dict)
    tags: list[str] | None = dataclasses.field(default_factory=list)  # None: directory unavailable, unknown
    creator_source: str | None = None  # "horizon" | "stellar_expert" | "hubble" | "genesis"


def result_columns(
    result: LineageResult,
    *,
    timestamp: Callable[[dt.datetime | None], Any] = lambda t: t,
    balance: Callable[[str | None], Any] = lambda b: b,
) -> tuple[Any, ...]:
    """The data columns a result writes into its record, in every store's order: creator, created_at,
    home_domain, xlm_balance, attributes/assets/children as JSON, tags comma-joined (None: the directory
    was unavailable). ``timestamp``/``balance`` convert to the backend's column types; status,
    pipeline_source and times are the transition's own."""
    return (
        result.creator,
        timestamp(result.created_at),
        result.home_domain,
        balance(result.xlm_balance),
        json.dumps(result.attributes, sort_keys=True),
        json.dumps(result.assets),
        json.dumps(result.children),
        None if result.tags is None else ",".join(result.tags),
    )


@dataclasses.dataclass
class LineageRecord:
    stellar_account: str
    network_name: str
    status: str = Status.PENDING.value
    stellar_creator_account: str | None = None
    stellar_account_created_at: dt.datetime | None = None
    home_domain: str | None = None
    xlm_balance: str | None = None
    stellar_account_attributes_json: str | None = None
    stellar_account_assets_json: str | None = None
    child_accounts_json: str | None = None
    tags: str | None = None
    pipeline_source: str | None = None
    last_pipeline_attempt: dt.datetime | None = None
    processing_started_at: dt.datetime | None = None
    retry_count: int = 0
    last_error: str | None = None
    priority: int = Priority.REQUESTED.value
    claim_owner: str | None = None
    claim_pipeline: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None  # PENDING but not claimable before this (retry backoff)
    failed_rounds: int = 0  # automatic re-queues out of FAILED so far
    completed_at: dt.datetime | None = None  # when it last became COMPLETE: what the refresh policy ages

    @property
    def key(self) -> tuple[str, str]:
        return (self.network_name, self.stellar_account)


@dataclasses.dataclass(frozen=True)
class EnqueueResult:
    added: list[str]
    reset: list[str]
    unchanged: list[str]


@dataclasses.dataclass(frozen=True)
class RecoveryResult:
    requeued: list[tuple[str, str]]
    failed: list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class SpendEntry:
    """One BigQuery dry run or job, kept in the spend ledger."""

    kind: str  # "dry_run" | "job"
    network: str
    bytes: int
    usd: float
    accounts: int
    decision: str  # "approved" | "refused_cost" | "refused_size" | "refused_budget" | "ran" | "failed"
    run_id: str = ""
    detail: str = ""
    at: dt.datetime = dataclasses.field(default_factory=utcnow)


@dataclasses.dataclass(frozen=True)
class CreationEdge:
    """One edge of the network's creator graph (reference/hubble_graph.md): the funder of an account's
    latest successful create_account. ``op_id`` is the operation's TOID (``ledger << 32 | tx << 12 |
    op``), so it orders creations even inside one ledger; per account the highest ``op_id`` wins."""

    account: str  # the created account (G...)
    creator: str  # the funder of its latest successful create_account (G..., muxed resolved)
    ledger: int  # ledger sequence of that operation
    created_at: dt.datetime  # closed_at of that ledger (UTC, aware)
    op_id: int  # history operation id (orders creations; latest per account wins)


@dataclasses.dataclass(frozen=True)
class GraphState:
    """How far the edge table of one network is loaded."""

    network: str
    as_of_ledger: int  # every successful create_account up to and including this ledger is loaded
    as_of_time: dt.datetime | None
    edges: int  # edges stored
    loaded_at: dt.datetime
    snapshot_id: str  # id of the snapshot/refresh that produced it (resume key)
    resume_cursor: str | None  # where an interrupted load resumes (None when finished)


# Horizon account fields kept in ``stellar_account_attributes_json`` (both pipelines shape records alike).
ATTRIBUTE_KEYS = (
    "flags",
    "thresholds",
    "signers",
    "sequence",
    "subentry_count",
    "num_sponsoring",
    "num_sponsored",
    "last_modified_ledger",
    "last_modified_time",
)


def native_balance(state: dict[str, Any]) -> str:
    """The exact 7-decimal XLM balance string of a Horizon account (never via float)."""
    for entry in state.get("balances") or []:
        if isinstance(entry, dict) and entry.get("asset_type") == "native":
            balance = entry.get("balance")
            if isinstance(balance, str):
                return balance
    raise ValueError("no native balance entry")


def account_attributes(state: dict[str, Any]) -> dict[str, Any]:
    """The attributes JSON of a Horizon account state."""
    attrs = {key: state.get(key) for key in ATTRIBUTE_KEYS}
    if state.get("sponsor"):
        attrs["sponsor"] = state["sponsor"]
    attrs["data_keys"] = sorted((state.get("data") or {}).keys())
    return attrs
