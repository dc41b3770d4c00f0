"""
### Stellar lineage — BigQuery pipeline (on demand)

Full-history lineage from the public Hubble dataset (`crypto-stellar`): one query per
`bigquery_batch_size` accounts, each guarded by a free dry run. Trigger it from the UI form:

* **limit** — accounts claimed for the run (1–10,000), split into queries of `bigquery_batch_size`
  (one query costs about the same whatever its size, so larger queries are cheaper per account).
* **network** — `public` (Hubble publishes pubnet only; a `testnet` batch goes to the API path).
* **dry_run_only** — estimate and report only: nothing is claimed, queried or written (the dry run
  itself is free and is recorded in the spend ledger with decision `dry_run_only`).

Tasks:

1. **check_settings** — validates the `stellar_lineage_*` Variables; skips the run when
   `bigquery_enabled` is false; routes dry-run-only runs straight to the guard.
2. **claim_batch** — atomically claims `limit` PENDING records (the same claim path as the API DAG).
3. **cost_guard** — one dry run per query (bytes → USD at `bigquery_price_per_tib_usd`); refuses a
   query over `bigquery_cost_limit_usd`, `bigquery_size_limit_gb` or today's `bigquery_daily_budget_usd`
   (queries approved earlier in the run count); follows **hubble_query** when any query is approved,
   else **api_fallback**. Every dry run is written to the spend ledger.
4. **hubble_query** — one job per approved query, each with `maximum_bytes_billed` set from its
   estimate so BigQuery itself enforces the cap; writes results (`BIGQUERY`) with fresh attributes
   from Horizon. The query also answers every ancestor up the accounts' creator chains, so the
   queued ancestors are completed here too, without Horizon history requests. Dry runs and jobs
   carry `bigquery_job_labels` + `airflow-dag`/`airflow-task`.
5. **api_fallback** — whatever is still claimed (refused, job failed, or not in Hubble) goes through
   the API path as `BIGQUERY_WITH_API_FALLBACK`; nothing is left PROCESSING.

If the dry run itself fails (credentials, quota, network), nothing can be estimated, so nothing is
billed: the guard refuses (`refused_dry_run_failed`, kept in the spend ledger) and the batch goes
through the API path. Should the guard task itself crash, `api_fallback` (trigger rule `all_done`)
still finishes the claimed batch.
Connection `google_cloud_default` holds the credentials (never logged).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from include.stellar_lineage.dag_defaults import DEFAULT_ARGS
from include.stellar_lineage.operators.api_finish import FinishClaimedOperator
from include.stellar_lineage.operators.claim import ClaimLineageBatchOperator
from include.stellar_lineage.operators.hubble_cost_guard import HubbleCostGuardOperator
from include.stellar_lineage.operators.hubble_query import HubbleLineageQueryOperator


@dag(
    dag_id="stellar_lineage_bigquery_pipeline",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,  # "{{ params.limit }}" -> int, dry_run_only -> bool
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["stellar-lineage", "pipeline/bigquery", "pipeline/api", "source/hubble", "source/horizon"],
    params={
        "limit": Param(
            100,
            type="integer",
            minimum=1,
            maximum=10000,
            description="Accounts in the run (one BigQuery query per stellar_lineage_bigquery_batch_size).",
        ),
        "network": Param(
            "public", type="string", enum=["public", "testnet"], description="Stellar network of the batch."
        ),
        "dry_run_only": Param(
            False, type="boolean", description="Estimate the cost and report; claim, query and write nothing."
        ),
    },
)
def stellar_lineage_bigquery_pipeline():
    @task.branch(task_id="check_settings", execution_timeout=dt.timedelta(seconds=60))
    def check_settings(params: dict | None = None) -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.stellar_lineage.runtime import task_settings

        settings = task_settings()  # a bad Variable fails here at once, before any record is touched
        if not settings.bigquery_enabled:
            raise AirflowSkipException("stellar_lineage_bigquery_enabled is false: skipping this run")
        return "cost_guard" if params["dry_run_only"] else "claim_batch"

    claim = ClaimLineageBatchOperator(
        task_id="claim_batch",
        pipeline="BIGQUERY",
        batch_size="{{ params.limit }}",
        network="{{ params.network }}",
        execution_timeout=dt.timedelta(minutes=2),
    )
    guard = HubbleCostGuardOperator(
        task_id="cost_guard",
        claim=claim.output,
        query_task_id="hubble_query",
        fallback_task_id="api_fallback",
        network="{{ params.network }}",
        limit="{{ params.limit }}",
        dry_run_only="{{ params.dry_run_only }}",
        trigger_rule="none_failed_min_one_success",
        execution_timeout=dt.timedelta(minutes=5),
    )
    query = HubbleLineageQueryOperator(
        task_id="hubble_query",
        claim=claim.output,
        decision=guard.output["decision"],
        job_timeout_seconds=600,
        deadline_seconds=1800,
        execution_timeout=dt.timedelta(minutes=45),
    )
    fallback = FinishClaimedOperator(  # the API DAG's process_batch, with its own source
        task_id="api_fallback",
        claim=claim.output,
        source="BIGQUERY_WITH_API_FALLBACK",
        deadline_seconds=1800,
        trigger_rule="all_done",
        execution_timeout=dt.timedelta(minutes=40),
    )

    branch = check_settings()
    branch >> [claim, guard]
    claim >> guard >> [query, fallback]
    query >> fallback


stellar_lineage_bigquery_pipeline()
