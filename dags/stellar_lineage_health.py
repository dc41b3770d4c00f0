"""
### Stellar lineage — pipeline health (every 10 minutes)

Fails — so Airflow's normal alerting fires (`email_on_failure`, `on_failure_callback`, notifiers) —
when PENDING work exists but nothing completed for `stellar_lineage_health_max_minutes_without_progress`,
when more than `stellar_lineage_health_max_stuck` records are stuck in PROCESSING, or when the
BigQuery daily budget is exhausted, when a provider's circuit breaker is open, when more than
`stellar_lineage_health_max_failed_per_hour` records became FAILED in the last hour, or when API runs
keep failing on a configuration fault (Airflow auto-pauses the API DAG after 15 in a row). The
failure message says what is wrong and what to do. It also runs stuck recovery and the FAILED retry
timer, so pausing a pipeline DAG does not stop them.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, task

from include.stellar_lineage.dag_defaults import DEFAULT_ARGS


@dag(
    dag_id="stellar_lineage_health",
    schedule="*/10 * * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=5),
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["stellar-lineage", "ops"],
)
def stellar_lineage_health():
    @task(task_id="check_pipeline_health", execution_timeout=dt.timedelta(minutes=2))
    def check_pipeline_health() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from include.stellar_lineage.health import check_health
        from include.stellar_lineage.runtime import task_store

        from include.stellar_lineage.api_claim import recover

        with task_store() as (settings, store):
            recover(store, settings)  # also here: pausing a pipeline DAG does not stop recovery
            report = check_health(store, settings)
        if report["problems"]:
            # AirflowFailException: a failed check is an answer, not a flake; do not retry it.
            raise AirflowFailException("Pipeline unhealthy:\n- " + "\n- ".join(report["problems"]))
        return report

    check_pipeline_health()


stellar_lineage_health()
