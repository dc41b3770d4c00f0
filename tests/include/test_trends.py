"""trends.py's pure parts, and SQLite migration 007 on a store that has data from before it."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest

from include.stellar_lineage import trends
from include.stellar_lineage.records import LineageRecord, LineageResult
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.store.sqlite.schema import MIGRATIONS_DIR, split_sql
from tests.support.stellar_dataset import address

UTC = dt.timezone.utc


def test_sqlite_trigger_buckets_match_the_python_bounds():
    sql = (MIGRATIONS_DIR / "007_dashboard_trends.sql").read_text()
    pairs = [(int(ms), int(b)) for ms, b in re.findall(r"WHEN ms <= (\d+) THEN (\d+)", sql)]
    assert pairs == [(s * 1000, i) for i, s in enumerate(trends.LATENCY_BOUNDS_S)]
    assert f"ELSE {len(trends.LATENCY_BOUNDS_S)}" in sql


def test_pipeline_of_an_outcome():
    assert trends.trend_pipeline("API", "COMPLETE", "API") == "API"
    assert trends.trend_pipeline("API", "COMPLETE", "BIGQUERY") == "GRAPH"  # graph mode in an API run
    assert trends.trend_pipeline("API", "FAILED", "BIGQUERY") == "API"
    assert trends.trend_pipeline("BIGQUERY", "COMPLETE", "BIGQUERY_WITH_API_FALLBACK") == "BIGQUERY"
    assert trends.trend_pipeline("GRAPH", "INVALID", None) == "GRAPH"
    assert trends.trend_pipeline(None, "FAILED", None) == "UNKNOWN"


def test_percentiles_interpolate_inside_a_bucket():
    stats = trends.LatencyStats()
    assert trends.percentile_s(stats, 0.5) is None
    for ms in (45_000, 50_000, 55_000, 58_000):  # all in (30, 60] s
        stats.add(trends.latency_bucket(ms), 1)
    assert trends.percentile_s(stats, 0.5) == 45.0 and trends.percentile_s(stats, 1.0) == 60.0
    stats.add(trends.latency_bucket(10**10), 1)  # over a week: the open bucket reports its lower bound
    assert trends.percentile_s(stats, 1.0) == float(trends.LATENCY_BOUNDS_S[-1])


def test_cursor_round_trip_and_refusals():
    at = dt.datetime(2026, 11, 30, 12, 0, 1, 123000, tzinfo=UTC)
    record = LineageRecord(stellar_account=address("cursor"), network_name="public")
    cursor = trends.encode_cursor(trends.RecentEntry(at, record))
    assert trends.decode_cursor(cursor) == (at, record.stellar_account)
    for bad in ("", "%%%", "bm8", "MjAyNi0xMS0zMHxH|x", "MjAyNi0xMS0zMFQxMjowMDowMHxHQQ"):  # last: naive time
        with pytest.raises(ValueError, match="cursor"):
            trends.decode_cursor(bad)


def test_trend_payload_fills_every_day_and_keeps_unknown_pipelines_apart():
    now = dt.datetime(2026, 11, 30, 9, tzinfo=UTC)
    rows = [
        trends.OutcomeDay(dt.date(2026, 11, 30), "API", "COMPLETE", 3, 3000),
        trends.OutcomeDay(dt.date(2026, 11, 24), "GRAPH", "COMPLETE", 2, 0),
        trends.OutcomeDay(dt.date(2026, 11, 23), "API", "COMPLETE", 9, 0),  # outside 7 days
        trends.OutcomeDay(dt.date(2026, 11, 29), "UNKNOWN", "FAILED", 1, 0),
    ]
    body = trends.trend_payload(rows, network="public", days=7, now=now)
    assert [d["day"] for d in body["series"]] == [f"2026-11-{d}" for d in range(24, 31)]
    assert body["series"][-1]["API"] == {"complete": 3, "failed": 0, "invalid": 0}
    assert body["totals"]["GRAPH"]["complete"] == 2 and body["totals"]["API"]["complete"] == 3
    assert body["other_pipelines"] == {"complete": 0, "failed": 1, "invalid": 0}


def test_migration_007_on_a_store_with_older_rows(tmp_path):
    """Rows finished before 007: in the recent list (finish time = updated_at), not in the trend."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)")
    for migration in sorted(MIGRATIONS_DIR.glob("*.sql")):
        version = int(migration.name.split("_", 1)[0])
        if version >= 7:
            continue
        for statement in split_sql(migration.read_text()):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '')", (version, migration.stem))
    old, queued = address("pre-007-done"), address("pre-007-queued")
    finished = "2026-11-29T08:00:00.000000+00:00"
    conn.execute(
        "INSERT INTO lineage (network_name, stellar_account, status, pipeline_source, claim_pipeline, created_at,"
        " updated_at) VALUES ('public', ?, 'COMPLETE', 'API', 'API', ?, ?), ('public', ?, 'PENDING', NULL, NULL, ?, ?)",
        (old, finished, finished, queued, finished, finished),
    )
    conn.close()

    store = SqliteLineageStore(path)  # applies 007 (and any later migration)
    now = dt.datetime(2026, 11, 30, 8, tzinfo=UTC)
    [entry] = store.recent_accounts("public", limit=10, now=now)
    assert entry.record.stellar_account == old and entry.finished_at == dt.datetime.fromisoformat(finished)
    assert store.outcome_days("public", days=7, now=now) == []  # the trend starts at the migration
    # the queued one finishes after the migration: counted, with its latency from its enqueue time
    [claimed] = store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[queued], now=now)
    result = LineageResult(creator=None, created_at=dt.datetime(2019, 5, 1, tzinfo=UTC))
    assert store.complete("public", queued, owner="w", result=result, source="API", now=now)
    stats = store.latency_stats("public", since=now - dt.timedelta(hours=1), now=now)
    assert stats["API"].n == 1 and stats["API"].total_ms == 24 * 3600 * 1000
    assert [e.record.stellar_account for e in store.recent_accounts("public", limit=10, now=now)] == [queued, old]
    assert claimed.stellar_account == queued
