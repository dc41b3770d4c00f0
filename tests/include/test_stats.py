"""Pure payload builders of include/stellar_lineage/stats.py (no server, no Airflow)."""

from __future__ import annotations

import datetime as dt
import json

from include.stellar_lineage import stats
from include.stellar_lineage.records import LineageRecord

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
THRESHOLD = dt.timedelta(minutes=15)


def test_build_pipeline_stats_maps_sources_and_counts_every_record():
    agg = {
        "by_status": {"PENDING": 4, "PROCESSING": 1, "COMPLETE": 9, "FAILED": 2, "INVALID": 3},
        "complete_by_source": {"API": 5, "BIGQUERY": 3, "BIGQUERY_WITH_API_FALLBACK": 1},
        "last_24h_by_source": {"API": 2, "BIGQUERY": 0, "BIGQUERY_WITH_API_FALLBACK": 1},
        "stuck": 1,
    }
    spend = {"today_usd": 0.1, "total_usd": 1.2, "saved_usd": 3.0, "accounts_billed": 40}
    out = stats.build_pipeline_stats(agg, spend, network="public", now=NOW)
    assert (out["api_total"], out["bigquery_total"], out["bigquery_with_fallback_total"]) == (5, 3, 1)
    assert out["total_accounts"] == 19  # every record, not the sum of the source totals (9)
    assert out["queue_depth"] == out["pending_total"] == 4
    assert out["last_24h"] == {"api": 2, "bigquery": 0, "bigquery_with_fallback": 1}
    assert out["timestamp"] == "2026-05-01T12:00:00+00:00"
    assert out["bigquery_spend"] == {"today_usd": 0.1, "total_usd": 1.2, "cost_per_account_usd": 0.03, "saved_usd": 3.0}


def test_cost_per_account_is_none_before_any_job():
    assert stats.bigquery_spend({})["cost_per_account_usd"] is None
    assert stats.bigquery_spend({"total_usd": 0, "accounts_billed": 0}) == {
        "today_usd": 0.0,
        "total_usd": 0.0,
        "cost_per_account_usd": None,
        "saved_usd": 0.0,
    }


def test_pending_entry_ages_by_state_and_only_processing_is_stuck():
    waiting = LineageRecord(
        "GA", "public", status="PENDING", created_at=NOW - dt.timedelta(hours=5), updated_at=NOW - dt.timedelta(hours=2)
    )
    entry = stats.pending_entry(waiting, now=NOW, stuck_threshold=THRESHOLD)
    assert entry["age_minutes"] == 120 and entry["is_stuck"] is False  # a long wait is not "stuck"
    claimed = LineageRecord(
        "GB",
        "public",
        status="PROCESSING",
        updated_at=NOW,
        processing_started_at=NOW - dt.timedelta(minutes=16),
        retry_count=2,
    )
    entry = stats.pending_entry(claimed, now=NOW, stuck_threshold=THRESHOLD)
    assert (entry["age_minutes"], entry["is_stuck"], entry["retry_count"]) == (16, True, 2)
    # the store's rule: stuck when claimed strictly before now - threshold
    edge = LineageRecord("GC", "public", status="PROCESSING", processing_started_at=NOW - THRESHOLD)
    assert stats.pending_entry(edge, now=NOW, stuck_threshold=THRESHOLD)["is_stuck"] is False


def test_parse_children_reports_bad_data_instead_of_raising():
    assert stats.parse_children(None, limit=5)["children"] == []
    assert "not valid JSON" in stats.parse_children("{oops", limit=5)["error"]
    assert "not a JSON object" in stats.parse_children("[1, 2]", limit=5)["error"]
    raw = json.dumps(
        {"count": 7, "children": [{"account": f"G{i}"} for i in range(7)], "complete": True, "source": "hubble"}
    )
    out = stats.parse_children(raw, limit=3)
    assert out["count"] == 7 and len(out["children"]) == 3 and out["truncated"] is True
    assert out["complete"] is True and out["source"] == "hubble"


def test_pending_totals_are_exact_when_the_list_is_cut(sqlite_store):
    """With more records in flight than the list shows, totals come from the aggregates."""
    import datetime as dt

    from tests.plugins.seed_lineage import address

    accounts = [address(100 + i) for i in range(6)]
    sqlite_store.enqueue("public", accounts)
    now = dt.datetime.now(dt.timezone.utc)
    sqlite_store.claim_batch(2, pipeline="API", owner="old", now=now - dt.timedelta(minutes=30))
    sqlite_store.claim_batch(1, pipeline="API", owner="new", now=now)
    cut = stats.pending_accounts(sqlite_store, ("public",), stuck_threshold=THRESHOLD, limit=2, now=now)
    full = stats.pending_accounts(sqlite_store, ("public",), stuck_threshold=THRESHOLD, limit=100, now=now)
    assert cut["count"] == 2 and full["count"] == 6
    for key in ("total_pending", "pending_total", "processing_total", "stuck_total"):
        assert cut[key] == full[key], key
    assert (full["pending_total"], full["processing_total"], full["stuck_total"]) == (3, 3, 2)
