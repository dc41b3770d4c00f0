"""Payloads of the stats plugin, built from the store's aggregates.

Pure functions over the ``LineageStore`` interface: no Airflow, no FastAPI, no I/O beyond the store
calls named below, so they are unit-tested against a real SQLite store without a server. Every
number comes from ``store.stats`` / ``store.spend_summary`` / ``store.queue_depth`` / ``store.pending_accounts`` /
``store.lineage``, which the store answers from maintained aggregates or indexed lookups, never by
iterating every record, so a poll costs the same whatever the table size.

Semantics of ``pipeline_stats`` (documented in the README):

* ``api_total`` / ``bigquery_total`` / ``bigquery_with_fallback_total``: COMPLETE records of the
  network by the ``pipeline_source`` that produced them;
* ``pending_total`` / ``processing_total`` / ``complete_total`` / ``failed_total`` /
  ``invalid_total``: records of the network in that status;
* ``total_accounts``: every record of the network, whatever its status (queued ones included);
* ``last_24h``: completions in the 24 hours before ``timestamp``, by pipeline source;
* ``queue_depth``: PENDING records waiting for a claim (what the API DAG's ``auto`` batch size uses);
* ``stuck_total``: PROCESSING records claimed longer ago than ``stuck_threshold_minutes``;
* ``bigquery_spend``: the BigQuery spend ledger, all networks together (one billing account).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from include.stellar_lineage.explorer import account_details, child_count, tag_list
from include.stellar_lineage.records import NETWORK_ROOTS, LineageRecord, Status, utcnow
from include.stellar_lineage.store.base import STATS_SOURCES, LineageStore

# pipeline_source value -> key stem of the seed's JSON (``api_total``, ``last_24h.api``, ...)
SOURCE_KEYS = {"API": "api", "BIGQUERY": "bigquery", "BIGQUERY_WITH_API_FALLBACK": "bigquery_with_fallback"}
STATUSES = tuple(s.value for s in Status)
PENDING_LIMIT = 100


def _aware(value: dt.datetime) -> dt.datetime:
    # stores write aware UTC; guard against a naive value from migrated seed data
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat()


def _usd(value: float | int | None) -> float:
    return round(float(value or 0.0), 6)


def bigquery_spend(spend: dict[str, Any]) -> dict[str, Any]:
    """The four spend numbers of the stats JSON. ``cost_per_account_usd`` is None before any job."""
    accounts = int(spend.get("accounts_billed") or 0)
    total = _usd(spend.get("total_usd"))
    return {
        "today_usd": _usd(spend.get("today_usd")),
        "total_usd": total,
        "cost_per_account_usd": round(total / accounts, 6) if accounts else None,
        "saved_usd": _usd(spend.get("saved_usd")),
    }


def build_pipeline_stats(
    agg: dict[str, Any], spend: dict[str, Any], *, network: str, now: dt.datetime
) -> dict[str, Any]:
    """The seed's ``/api/pipeline-stats/`` keys plus ours, from ``store.stats`` and ``spend_summary``."""
    by_status = {s: int(agg.get("by_status", {}).get(s, 0)) for s in STATUSES}
    complete = agg.get("complete_by_source", {})
    last_24h = agg.get("last_24h_by_source", {})
    out: dict[str, Any] = {f"{SOURCE_KEYS[s]}_total": int(complete.get(s, 0)) for s in STATS_SOURCES}
    out.update(
        {
            "pending_total": by_status[Status.PENDING.value],
            "processing_total": by_status[Status.PROCESSING.value],
            "complete_total": by_status[Status.COMPLETE.value],
            "failed_total": by_status[Status.FAILED.value],
            "invalid_total": by_status[Status.INVALID.value],
            "last_24h": {SOURCE_KEYS[s]: int(last_24h.get(s, 0)) for s in STATS_SOURCES},
            "timestamp": _iso(now),
            "total_accounts": sum(by_status.values()),
            "network": network,
            "queue_depth": by_status[Status.PENDING.value],
            "stuck_total": int(agg.get("stuck", 0)),
            "bigquery_spend": bigquery_spend(spend),
        }
    )
    return out


def pipeline_stats(
    store: LineageStore, network: str, *, stuck_threshold: dt.timedelta, now: dt.datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    agg = store.stats(network, stuck_threshold=stuck_threshold, now=now)
    return build_pipeline_stats(agg, store.spend_summary(now=now), network=network, now=now)


def dashboard(
    store: LineageStore, network: str, *, stuck_threshold: dt.timedelta, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Everything the dashboard page draws, from the same two aggregate calls as ``pipeline_stats``."""
    now = now or utcnow()
    agg = store.stats(network, stuck_threshold=stuck_threshold, now=now)
    spend = store.spend_summary(now=now)
    stats = build_pipeline_stats(agg, spend, network=network, now=now)
    hourly = [
        {"hour": h["hour"], **{SOURCE_KEYS[s]: int(h.get(s, 0)) for s in STATS_SOURCES}}
        for h in agg.get("hourly_completions", [])
    ]
    done_24h = sum(stats["last_24h"].values())
    return {
        "stats": stats,
        "hourly_completions": hourly,
        "rate_per_hour_24h": round(done_24h / 24, 2),
        "stuck_threshold_minutes": int(stuck_threshold.total_seconds() // 60),
        "spend": {
            **stats["bigquery_spend"],
            **{k: int(spend.get(k) or 0) for k in ("jobs", "dry_runs", "refused", "accounts_billed")},
            **{k: int(spend.get(k) or 0) for k in ("today_bytes", "total_bytes")},
        },
    }


def _minutes_since(then: dt.datetime | None, now: dt.datetime) -> int:
    if then is None:
        return 0
    return max(0, int((now - _aware(then)).total_seconds() // 60))


def pending_entry(record: LineageRecord, *, now: dt.datetime, stuck_threshold: dt.timedelta) -> dict[str, Any]:
    """One row of ``pending-accounts``. ``age_minutes`` is the time spent in the current state:
    since the claim for PROCESSING, since the last change (or creation) for PENDING. Only PROCESSING
    records can be stuck, with the store's own rule (claimed strictly before ``now - threshold``);
    a waiting PENDING row is not stuck."""
    processing = record.status == Status.PROCESSING.value
    since = record.processing_started_at if processing else (record.updated_at or record.created_at)
    stuck = bool(
        processing
        and record.processing_started_at is not None
        and _aware(record.processing_started_at) < now - stuck_threshold
    )
    return {
        "stellar_account": record.stellar_account,
        "network_name": record.network_name,
        "status": record.status,
        "age_minutes": _minutes_since(since, now),
        "is_stuck": stuck,
        "retry_count": int(record.retry_count or 0),
        "claim_pipeline": record.claim_pipeline,
        "last_error": record.last_error,
    }


def pending_accounts(
    store: LineageStore,
    networks: tuple[str, ...],
    *,
    stuck_threshold: dt.timedelta,
    limit: int = PENDING_LIMIT,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Up to ``limit`` PENDING/PROCESSING records (PROCESSING first) of one or all networks, with
    exact totals even when the list is cut.

    Totals cost no full ``stats()`` call in the usual case: PENDING comes from ``queue_depth`` (a
    counter), and because the store lists PROCESSING records first, a list holding fewer than
    ``limit`` of them holds all of them, so their count and stuck count are exact. Only with
    ``limit`` or more records in flight are the aggregates asked for those two numbers."""
    now = now or utcnow()
    network = networks[0] if len(networks) == 1 else None
    records = store.pending_accounts(network, limit=limit)[:limit]
    accounts = [pending_entry(r, now=now, stuck_threshold=stuck_threshold) for r in records]
    in_flight = [a for a in accounts if a["status"] == Status.PROCESSING.value]
    if len(in_flight) < limit:
        processing, stuck = len(in_flight), sum(a["is_stuck"] for a in in_flight)
    else:
        aggs = [store.stats(net, stuck_threshold=stuck_threshold, now=now) for net in networks]
        processing = sum(int(a.get("by_status", {}).get(Status.PROCESSING.value, 0)) for a in aggs)
        stuck = sum(int(a.get("stuck", 0)) for a in aggs)
    pending = store.queue_depth(network)
    return {
        "accounts": accounts,
        "count": len(accounts),
        "total_pending": pending + processing,  # the seed's name: PENDING + PROCESSING
        "pending_total": pending,
        "processing_total": processing,
        "stuck_total": stuck,
        "network": network,
        "timestamp": _iso(now),
    }


def _node(record: LineageRecord, depth: int) -> dict[str, Any]:
    return {
        "depth": depth,
        "stellar_account": record.stellar_account,
        "status": record.status,
        "stellar_creator_account": record.stellar_creator_account,
        "stellar_account_created_at": _iso(record.stellar_account_created_at),
        "pipeline_source": record.pipeline_source,
        "home_domain": record.home_domain,
        "xlm_balance": record.xlm_balance,
        "tags": tag_list(record.tags),
        "children_count": child_count(record.child_accounts_json),
    }


def parse_children(raw: str | None, *, limit: int) -> dict[str, Any]:
    """``child_accounts_json`` → ``{count, complete, source, children[:limit], truncated}``.
    A malformed value is reported, not raised: one bad row must not break the page."""
    empty: dict[str, Any] = {"count": 0, "complete": False, "source": None, "children": [], "truncated": False}
    if not raw:
        return empty
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return {**empty, "error": "child_accounts_json is not valid JSON"}
    if not isinstance(data, dict):
        return {**empty, "error": "child_accounts_json is not a JSON object"}
    children = [c for c in data.get("children") or [] if isinstance(c, dict)]
    return {
        "count": int(data.get("count") or len(children)),
        "complete": bool(data.get("complete", False)),
        "source": data.get("source"),
        "children": children[:limit],
        "truncated": len(children) > limit,
    }


def lineage(store: LineageStore, network: str, account: str, *, children_limit: int = 200) -> dict[str, Any] | None:
    """The account, its creators up to the root (``chain``, depth 0 = the account) and its children;
    None when the account is unknown. Uses ``store.lineage`` (one keyed lookup per ancestor)."""
    found = store.lineage(network, account)
    if found is None:
        return None
    record: LineageRecord = found["record"]
    chain = [_node(record, 0)] + [_node(r, i) for i, r in enumerate(found["chain"], start=1)]
    return {
        "network": network,
        "account": account,
        "record": {
            **_node(record, 0),
            "retry_count": int(record.retry_count or 0),
            "last_error": record.last_error,
            "updated_at": _iso(record.updated_at),
            "created_at": _iso(record.created_at),
            "last_pipeline_attempt": _iso(record.last_pipeline_attempt),
            "processing_started_at": _iso(record.processing_started_at),
            "claim_pipeline": record.claim_pipeline,
        },
        "details": account_details(record),
        "chain": chain,
        "reaches_root": bool(found["reaches_root"]),
        "root": NETWORK_ROOTS.get(network),
        "children": parse_children(record.child_accounts_json, limit=children_limit),
    }
