"""
### Stellar lineage — retry FAILED records now

On demand. Every FAILED record (of the chosen network, or of all) goes back to PENDING with
`retry_count` 0 and is due at once, so a chain blocked by a FAILED ancestor resumes with the next
pipeline run. `last_error` is kept to show why it failed before. INVALID records (the account does not
exist) are not touched: re-request one through `stellar_lineage_enqueue` if you know better.

The same happens automatically: stuck recovery (in every claim and in the health DAG) re-queues
records FAILED for longer than `stellar_lineage_failed_retry_interval_hours`, at most
`stellar_lineage_failed_retry_max_rounds` times each. This action has no such bound.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from include.stellar_lineage.dag_defaults import DEFAULT_ARGS


@dag(
    dag_id="stellar_lineage_retry_failed",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(minutes=30),
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["stellar-lineage", "ops"],
    params={
        "network": Param("all", type="string", enum=["all", "public", "testnet"], title="Network"),
    },
)
def stellar_lineage_retry_failed():
    @task(task_id="requeue_failed")
    def requeue_failed(params: dict | None = None) -> dict:
        from include.stellar_lineage.runtime import task_store

        network = None if params["network"] == "all" else params["network"]
        done: list[tuple[str, str]] = []
        with task_store() as (_settings, store):
            while batch := store.requeue_failed(failed_before=None, network=network, limit=5000):
                done += batch  # re-queued rows are no longer FAILED: each call makes progress
        return {"requeued": len(done), "first": [f"{n}/{a}" for n, a in done[:100]]}

    requeue_failed()


stellar_lineage_retry_failed()
