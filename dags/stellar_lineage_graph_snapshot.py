"""
### Stellar lineage — creator graph from Hubble (snapshot on demand, daily refresh optional)

Loads **every** successful `create_account` of the network into the store's edge table (account →
creator, ledger, creation time, operation id; children by creator) from ONE cost-guarded Hubble query:
the ≈ 96 GB (≈ $0.55) scan one batch query pays, for the whole network (reference/hubble_graph.md).

* **mode = snapshot** — the full graph: latest successful creation per account by operation id.
* **mode = refresh** — only the MONTH partitions since the loaded graph's `as_of` (≈ 1–3 GB), upserted.
* **dry_run_only** — run the guard (free dry run, recorded in the spend ledger) and stop.

Tasks:

1. **check_settings** — validates the Variables; a scheduled (daily) run refreshes only when
   `stellar_lineage_graph_refresh_daily` is true, else it skips; skips when `bigquery_enabled` is false.
2. **cost_guard** — dry run of the graph query through the same guard as the batch pipeline (cost and
   size limits, daily budget, spend ledger); an interrupted load of the same mode resumes instead
   (no new query, no new charge).
3. **load_graph** — `CREATE TABLE … AS` into a short-lived table (24 h expiry) of
   `stellar_lineage_bigquery_scratch_dataset` in the billing project with `maximum_bytes_billed`,
   read with the BigQuery Storage Read API in streams, loaded in chunks (progress: rows/s, ETA);
   `as_of_ledger` advances when the load is complete. A retry resumes from the recorded cursor.

Needs `roles/bigquery.jobUser`, `roles/bigquery.readSessionUser` and table create rights on the scratch
dataset in the billing project (Connection `google_cloud_default`).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from include.stellar_lineage.dag_defaults import DEFAULT_ARGS
from include.stellar_lineage.operators.graph_snapshot import GraphCostGuardOperator, GraphLoadOperator

MODE = "{{ ti.xcom_pull(task_ids='check_settings', key='mode') }}"


@dag(
    dag_id="stellar_lineage_graph_snapshot",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["stellar-lineage", "pipeline/bigquery", "source/hubble"],
    params={
        "mode": Param(
            "snapshot",
            type="string",
            enum=["snapshot", "refresh"],
            description="snapshot = the whole graph (one ~96 GB scan); refresh = partitions since as_of.",
        ),
        "network": Param("public", type="string", enum=["public"], description="Hubble publishes pubnet only."),
        "dry_run_only": Param(False, type="boolean", description="Estimate the cost and report; load nothing."),
    },
)
def stellar_lineage_graph_snapshot():
    @task.branch(task_id="check_settings", execution_timeout=dt.timedelta(seconds=60))
    def check_settings(params: dict | None = None, dag_run=None, ti=None) -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.stellar_lineage.runtime import task_settings

        settings = task_settings()  # a bad Variable fails here at once
        if not settings.bigquery_enabled:
            raise AirflowSkipException("stellar_lineage_bigquery_enabled is false: skipping this run")
        mode = params["mode"]
        if str(getattr(dag_run, "run_type", "")).lower().endswith("scheduled"):
            if not settings.graph_refresh_daily:
                raise AirflowSkipException("stellar_lineage_graph_refresh_daily is false: no scheduled refresh")
            mode = "refresh"
        ti.xcom_push(key="mode", value=mode)
        return "cost_guard"

    guard = GraphCostGuardOperator(
        task_id="cost_guard",
        load_task_id="load_graph",
        mode=MODE,
        network="{{ params.network }}",
        dry_run_only="{{ params.dry_run_only }}",
        execution_timeout=dt.timedelta(minutes=5),
    )
    load = GraphLoadOperator(
        task_id="load_graph",
        decision=guard.output["decision"],
        mode=MODE,
        network="{{ params.network }}",
        job_timeout_seconds=3600,
        retries=3,
        execution_timeout=dt.timedelta(hours=3),
    )
    check_settings() >> guard >> load


stellar_lineage_graph_snapshot()
