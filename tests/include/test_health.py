"""Health check: each condition is detected with an actionable message, a healthy store passes."""

from __future__ import annotations

import dataclasses
import datetime as dt

from include.stellar_lineage.config import defaults
from include.stellar_lineage.health import check_health
from include.stellar_lineage.records import LineageResult, SpendEntry, utcnow

A = "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"
B = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def test_healthy_empty_store(sqlite_store):
    assert check_health(sqlite_store, defaults())["problems"] == []


def test_fresh_backlog_is_not_a_problem(sqlite_store):
    sqlite_store.enqueue("public", [A])
    assert check_health(sqlite_store, defaults())["problems"] == []


def test_stalled_backlog(sqlite_store):
    sqlite_store.enqueue("public", [A])
    later = utcnow() + dt.timedelta(minutes=45)
    report = check_health(sqlite_store, defaults(), now=later)
    [problem] = report["problems"]
    assert "[public] 1 accounts PENDING" in problem and "nothing completed in the last 30 min" in problem
    assert "stellar_lineage_api_pipeline is unpaused" in problem


def test_recent_completion_means_progress(sqlite_store):
    sqlite_store.enqueue("public", [A, B])
    sqlite_store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[B])
    later = utcnow() + dt.timedelta(minutes=45)
    sqlite_store.complete(
        "public",
        B,
        owner="w",
        result=LineageResult(creator=None, created_at=None),
        source="API",
        now=later - dt.timedelta(minutes=5),
    )
    assert check_health(sqlite_store, defaults(), now=later)["problems"] == []


def test_stuck_records(sqlite_store):
    sqlite_store.enqueue("public", [A, B])
    sqlite_store.claim_batch(2, pipeline="API", owner="w", now=utcnow() - dt.timedelta(hours=1))
    settings = dataclasses.replace(defaults(), health_max_stuck=1)
    problems = check_health(sqlite_store, settings)["problems"]
    assert any("2 records stuck in PROCESSING" in p and "recover_stuck" in p for p in problems)


def test_budget_exhausted(sqlite_store):
    sqlite_store.record_spend(SpendEntry("job", "public", 10**12, 5.5, 100, "ran"))
    problems = check_health(sqlite_store, defaults())["problems"]
    assert any("BigQuery daily budget exhausted" in p and "$5.00" in p for p in problems)
    off = dataclasses.replace(defaults(), bigquery_enabled=False)
    assert check_health(sqlite_store, off)["problems"] == []
