"""
### Stellar lineage — API pipeline (every 2 minutes, and at once on new work)

Free and always available: Horizon + Stellar Expert, paced by a host-wide rate limiter shared with
the BigQuery DAG's fallback.

Scheduled on the `stellar_lineage_queue` asset **or** its 2-minute cron (`AssetOrTimeSchedule`):
every successful enqueue emits an asset event, so a requested account starts within seconds
(run type `asset_triggered`) instead of waiting for the next slot. It is one of the two runs that may
overlap (`max_active_runs=2`): when two runs are already working a full queue it starts as soon as
one ends, and the requested account is claimed first anyway (user requests outrank climbing).

1. **check_schedule** — validates every `stellar_lineage_*` Variable (a bad value fails here,
   before any record is touched); skips the run when `api_pipeline_enabled` is false or when
   `api_pipeline_interval_seconds` (> 120) says this 2-minute slot is too early (only cron slots
   skip: manual and asset-triggered runs answer a request and always run).
2. **recover_stuck** — PROCESSING records older than `stuck_threshold_minutes` go back to PENDING.
3. **claim_batch** — atomically claims `api_pipeline_batch_size` records (`auto`: what the Horizon
   budget of one interval can finish, capped by the queue depth). Capacity left over goes to the
   refresh policy (`refresh_after_days` > 0): COMPLETE records collected longer ago are re-queued at
   the lowest priority and claimed here too (their old data stays until overwritten).
4. **process_batch** — fetches each account, writes the result, and climbs each chain to the root
   until `RUN_SPAN_SECONDS` (225 s) after the run's slot, i.e. into the next slot: two runs overlap,
   paced by the shared rate limiter, so the budget is used without a gap between runs (claims are
   atomic: no record is shared); unfinished work is released to PENDING (skipped when
   nothing was claimed). The BigQuery DAG's `api_fallback` is the same operator.
5. **attribute_followups** — lowest priority, only while nothing is PENDING: current Horizon
   attributes of records that `graph_mode` completed from the creator graph alone (one request each).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from include.stellar_lineage.assets import LINEAGE_QUEUE
from include.stellar_lineage.dag_defaults import API_MAX_CONSECUTIVE_FAILED_RUNS, DEFAULT_ARGS
from include.stellar_lineage.operators.api_finish import FinishClaimedOperator
from include.stellar_lineage.operators.claim import ClaimLineageBatchOperator
from include.stellar_lineage.operators.followups import AttributeFollowupsOperator
from include.stellar_lineage.operators.recover import RecoverStuckRecordsOperator
from include.stellar_lineage.runtime import RUN_SPAN_SECONDS


@dag(
    dag_id="stellar_lineage_api_pipeline",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("*/2 * * * *", timezone="UTC"), assets=LINEAGE_QUEUE),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    # 2: a run works into the next slot (RUN_SPAN_SECONDS) while the next one claims, both paced by the
    # shared rate limiter, so the budget is used in full; claims are atomic, so no record is shared.
    # An asset-triggered run (a new request) counts as one of them: claims are atomic and the
    # limiter host-wide, so it never shares a record with a cron run or exceeds the budget.
    max_active_runs=2,
    max_consecutive_failed_dag_runs=API_MAX_CONSECUTIVE_FAILED_RUNS,
    # process_batch stops RUN_SPAN_SECONDS after the slot; attribute_followups (<= 25 s) may follow.
    dagrun_timeout=dt.timedelta(seconds=RUN_SPAN_SECONDS + 55),
    default_args={**DEFAULT_ARGS, "retry_delay": dt.timedelta(seconds=5), "retry_exponential_backoff": False},
    doc_md=__doc__,
    tags=["stellar-lineage", "pipeline/api", "source/horizon"],
)
def stellar_lineage_api_pipeline():
    @task(task_id="check_schedule", execution_timeout=dt.timedelta(seconds=30))
    def check_schedule(dag_run=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.stellar_lineage.runtime import on_demand, run_is_due, task_settings

        settings = task_settings()
        if not settings.api_pipeline_enabled:
            raise AirflowSkipException("stellar_lineage_api_pipeline_enabled is false: skipping this run")
        manual = on_demand(dag_run.run_type)
        if not run_is_due(dag_run.run_after.timestamp(), settings.api_pipeline_interval_seconds, manual=manual):
            raise AirflowSkipException(
                f"api_pipeline_interval_seconds={settings.api_pipeline_interval_seconds}: not due in this slot"
            )
        return {"interval_seconds": settings.api_pipeline_interval_seconds}

    recover = RecoverStuckRecordsOperator(task_id="recover_stuck", execution_timeout=dt.timedelta(seconds=30))
    claim = ClaimLineageBatchOperator(task_id="claim_batch", pipeline="API", execution_timeout=dt.timedelta(seconds=30))
    process = FinishClaimedOperator(
        task_id="process_batch",
        claim=claim.output,
        source="API",
        deadline_seconds=RUN_SPAN_SECONDS,
        run_span_seconds=RUN_SPAN_SECONDS,
        execution_timeout=dt.timedelta(seconds=RUN_SPAN_SECONDS + 5),
    )

    followups = AttributeFollowupsOperator(
        task_id="attribute_followups",
        deadline_seconds=15,
        # also after a skipped process_batch (nothing claimed); not when the run itself was skipped
        trigger_rule="none_failed_min_one_success",
        execution_timeout=dt.timedelta(seconds=25),
    )

    check_schedule() >> recover >> claim >> process >> followups
    claim >> followups


stellar_lineage_api_pipeline()
