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


def test_open_breaker_is_reported_with_since_when(sqlite_store, host_state_dir):
    from include.stellar_lineage.breaker import breakers_from_settings

    settings = defaults()
    breakers = breakers_from_settings(settings, host_state_dir)
    for _ in range(settings.breaker_failure_threshold):
        breakers.record_failure("horizon:public", "horizon GET /: HTTP 503 after 4 attempts")
    report = check_health(sqlite_store, settings)
    [problem] = report["problems"]
    assert problem.startswith("[horizon:public] circuit breaker open since ") and "HTTP 503" in problem
    assert report["open_breakers"] == ["horizon:public"]
    breakers.record_success("horizon:public")
    assert check_health(sqlite_store, settings)["problems"] == []


def _failed(store, account, now):
    store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[account], now=now)
    store.retry_later("public", account, owner="w", error="bad body", max_retries=1, now=now)


def test_failed_growth_is_reported(sqlite_store):
    settings = dataclasses.replace(defaults(), health_max_failed_per_hour=1)
    sqlite_store.enqueue("public", [A, B])
    now = utcnow()
    _failed(sqlite_store, A, now)
    assert check_health(sqlite_store, settings, now=now)["problems"] == []
    _failed(sqlite_store, B, now)
    [problem] = check_health(sqlite_store, settings, now=now)["problems"]
    assert "[public] 2 records became FAILED in the last hour (threshold 1)" in problem
    assert "stellar_lineage_retry_failed" in problem


def test_consecutive_failed_api_runs_and_the_auto_pause_are_reported(sqlite_store, host_state_dir):
    from include.stellar_lineage.breaker import breakers_from_settings
    from include.stellar_lineage.dag_defaults import API_MAX_CONSECUTIVE_FAILED_RUNS

    breakers = breakers_from_settings(defaults(), host_state_dir)
    breakers.record_run("api", "horizon GET /accounts/x: HTTP 403 (Forbidden) - the provider refused ...")
    [problem] = check_health(sqlite_store, defaults())["problems"]
    assert "failed 1 run(s) in a row" in problem and "HTTP 403" in problem and "auto-paused" not in problem
    for _ in range(API_MAX_CONSECUTIVE_FAILED_RUNS - 1):
        breakers.record_run("api", "HTTP 403")
    [problem] = check_health(sqlite_store, defaults())["problems"]
    assert "Airflow has auto-paused stellar_lineage_api_pipeline" in problem and "unpause" in problem
    breakers.record_run("api", None)
    assert check_health(sqlite_store, defaults())["problems"] == []
