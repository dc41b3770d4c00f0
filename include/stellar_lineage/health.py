"""Pipeline health: what is wrong and what to do, evaluated from store aggregates only.

The health DAG fails its check task when any problem is found, so Airflow's normal alerting
(email_on_failure, on_failure_callback, Slack/PagerDuty notifiers) fires with this message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.stellar_lineage.breaker import OPEN, ProviderBreakers, breakers_from_settings
from include.stellar_lineage.config import Settings
from include.stellar_lineage.dag_defaults import API_MAX_CONSECUTIVE_FAILED_RUNS
from include.stellar_lineage.records import NETWORKS, Status, utcnow
from include.stellar_lineage.store.base import LineageStore


def check_health(
    store: LineageStore,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    networks: tuple[str, ...] = NETWORKS,
    breakers: Any = None,
) -> dict[str, Any]:
    """Return ``{"problems": [str], "networks": {network: facts}, "spend": {...}}``."""
    now = now or utcnow()
    stuck_after = dt.timedelta(minutes=settings.stuck_threshold_minutes)
    quiet = dt.timedelta(minutes=settings.health_max_minutes_without_progress)
    problems: list[str] = []
    facts: dict[str, Any] = {}
    for network in networks:
        stats = store.stats(network, stuck_threshold=stuck_after, now=now)
        pending = stats["by_status"].get(Status.PENDING.value, 0)
        recent = store.completions_since(network, now - quiet, now=now)
        waiting = [
            r
            for r in store.pending_accounts(network, limit=100)
            if r.status == Status.PENDING.value and r.created_at is not None
        ]
        oldest = min((r.created_at for r in waiting if r.created_at is not None), default=None)
        facts[network] = {
            "pending": pending,
            "completed_recently": recent,
            "stuck": stats["stuck"],
            "oldest_pending": oldest.isoformat() if oldest else None,
        }
        if pending and recent == 0 and oldest is not None and now - oldest > quiet:
            problems.append(
                f"[{network}] {pending} accounts PENDING (oldest since {oldest:%Y-%m-%d %H:%M} UTC) but nothing "
                f"completed in the last {settings.health_max_minutes_without_progress} min. Check that "
                "stellar_lineage_api_pipeline is unpaused and its recent runs succeeded, that "
                "stellar_lineage_api_pipeline_enabled is true, and the process_batch log for Horizon "
                "errors (connection horizon_public / horizon_testnet, HTTP 429 = rate limit)."
            )
        failed_last_hour = store.failures_since(network, now - dt.timedelta(hours=1), now=now)
        facts[network]["failed_last_hour"] = failed_last_hour
        if failed_last_hour > settings.health_max_failed_per_hour:
            problems.append(
                f"[{network}] {failed_last_hour} records became FAILED in the last hour (threshold "
                f"{settings.health_max_failed_per_hour}). Provider outages do not fail records, so these accounts' "
                "own data failed max_retry_attempts times: read their last_error on the dashboard. FAILED records "
                f"are re-queued after {settings.failed_retry_interval_hours:g} h; trigger stellar_lineage_retry_failed "
                "to re-queue them now."
            )
        if stats["stuck"] > settings.health_max_stuck:
            problems.append(
                f"[{network}] {stats['stuck']} records stuck in PROCESSING for more than "
                f"{settings.stuck_threshold_minutes} min (threshold {settings.health_max_stuck}). Workers died "
                "mid-batch; the API DAG's recover_stuck step re-queues them each run. If the number keeps "
                "growing, check worker logs and store connectivity."
            )
    breakers = breakers or breakers_from_settings(settings)
    runs = breakers.run_outcome("api")
    failures = int(runs.get("consecutive_failures", 0))
    if failures:
        paused = failures >= API_MAX_CONSECUTIVE_FAILED_RUNS
        problems.append(
            f"The API path failed {failures} run(s) in a row on a configuration fault: {runs.get('last_error', '')} "
            + (
                f"Airflow has auto-paused stellar_lineage_api_pipeline ({API_MAX_CONSECUTIVE_FAILED_RUNS} failed "
                "runs in a row): fix the cause above, then unpause it (UI toggle or `airflow dags unpause "
                "stellar_lineage_api_pipeline`)."
                if paused
                else f"Airflow pauses the DAG after {API_MAX_CONSECUTIVE_FAILED_RUNS} failed runs in a row; fix the "
                "cause above (no record was charged)."
            )
        )
    open_breakers = _open_breakers(breakers)
    for provider, state in open_breakers.items():
        since = dt.datetime.fromtimestamp(state.opened_at or 0, dt.timezone.utc)
        why = state.last_error or "provider faults"
        problems.append(
            f"[{provider}] circuit breaker open since {since:%Y-%m-%d %H:%M} UTC ({why}). "
            "Runs claim nothing for it and charge no retries; one probe per "
            f"{settings.breaker_probe_interval_seconds} s closes it when the provider answers. If it stays open, "
            "check the provider's status or point its Connection at another provider."
        )
    spend = store.spend_summary(now=now)
    if settings.bigquery_enabled and spend["today_usd"] >= settings.bigquery_daily_budget_usd:
        problems.append(
            f"BigQuery daily budget exhausted: ${spend['today_usd']:.4f} spent today of "
            f"${settings.bigquery_daily_budget_usd:.2f}. BigQuery batches fall back to the API path until "
            "00:00 UTC; raise stellar_lineage_bigquery_daily_budget_usd if this spend is intended."
        )
    return {
        "problems": problems,
        "networks": facts,
        "open_breakers": sorted(open_breakers),
        "api_consecutive_failed_runs": failures,
        "spend_today_usd": spend["today_usd"],
        "checked_at": now.isoformat(),
    }


def _open_breakers(breakers: ProviderBreakers) -> dict[str, Any]:
    """Open circuit breakers of this host (``breaker.py``)."""
    return {p: s for p, s in breakers.snapshot().items() if s.status == OPEN}
