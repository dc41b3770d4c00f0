"""The BigQuery Variables change what reaches BigQuery: dag.test() of the BigQuery DAG against the
emulator + cost shim, which records every dry run and job (kind, labels, size of @accounts).

* ``stellar_lineage_bigquery_job_labels``: on every dry run and job, with ``airflow-dag`` /
  ``airflow-task`` as the Google provider adds them (and the job id + console link pushed);
* ``stellar_lineage_bigquery_batch_size``: a run's limit is split into queries of that size, each
  dry-run and guarded (limit 250, batch size 100 = 3 dry runs + 3 jobs of 100, 100 and 50 accounts),
  and the daily budget counts the queries approved before in the same run.
"""

from __future__ import annotations

import datetime as dt

import pytest

from include.stellar_lineage.hubble import cost
from include.stellar_lineage.records import NETWORK_ROOTS
from tests.support.bigquery_fixtures import bigquery_emulator, hubble_tables  # noqa: F401
from tests.support.dag_env import run_dag, stellar_dag_env
from tests.support.lineage_scenarios import HUB_CHILDREN, NAMES, A, scenario_dataset
from tests.support.stellar_dataset import address

DAG_ID = "stellar_lineage_bigquery_pipeline"
HUB_KIDS = [address(f"scenario-hub-child-{i}") for i in range(HUB_CHILDREN)]
IN_HUBBLE = [A[n] for n in NAMES] + [NETWORK_ROOTS["public"]] + HUB_KIDS[: 100 - len(NAMES) - 1]
NOT_IN_HUBBLE = [address(f"never-created-{i}") for i in range(150)]  # Horizon: 404 -> INVALID


@pytest.fixture
def env(monkeypatch, tmp_path, airflow_db, hubble_tables):
    ds = scenario_dataset()
    hubble_tables(ds)
    with stellar_dag_env(monkeypatch, tmp_path, ds, rpm=60000) as (store, _horizon, _expert):
        yield store, monkeypatch


def test_job_labels_reach_every_dry_run_and_job(env, bigquery_emulator):
    store, monkeypatch = env
    store.enqueue("public", IN_HUBBLE[:5])
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_JOB_LABELS", '{"team": "data", "env": "test"}')
    ok, states, dr = run_dag(DAG_ID, limit=5, network="public", dry_run_only=False)
    assert ok and states["hubble_query"] == "success", states
    seen = bigquery_emulator.requests()
    assert [r["kind"] for r in seen] == ["dry_run", "job"]
    dag_labels = {"team": "data", "env": "test", "airflow-dag": DAG_ID}
    assert seen[0]["labels"] == {**dag_labels, "airflow-task": "cost_guard"}
    assert seen[1]["labels"] == {**dag_labels, "airflow-task": "hubble_query"}
    # the job id and its console link (the task's "BigQuery job" extra link)
    ti = dr.get_task_instance("hubble_query")
    (job_id,) = ti.xcom_pull(task_ids="hubble_query", key="bigquery_job_ids")
    assert ti.xcom_pull(task_ids="hubble_query", key="bigquery_job") == {
        "project_id": "test-project",
        "location": "US",
        "job_id": job_id,
    }
    link = ti.xcom_pull(task_ids="hubble_query", key="_link_BigQueryJobConsoleLink")
    assert link.startswith("https://console.cloud.google.com/bigquery?project=test-project&") and job_id in link


def test_default_labels_are_the_app_label(env, bigquery_emulator):
    store, _monkeypatch = env
    store.enqueue("public", IN_HUBBLE[:3])
    ok, states, _dr = run_dag(DAG_ID, limit=3, network="public", dry_run_only=True)
    assert ok, states
    (dry_run,) = bigquery_emulator.requests()
    assert dry_run["labels"] == {"app": "stellar-lineage", "airflow-dag": DAG_ID, "airflow-task": "cost_guard"}


def test_limit_250_with_batch_size_100_is_three_dry_runs_and_three_jobs(env, bigquery_emulator):
    store, monkeypatch = env
    store.enqueue("public", IN_HUBBLE + NOT_IN_HUBBLE)
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_BATCH_SIZE", "100")
    ok, states, dr = run_dag(DAG_ID, limit=250, network="public", dry_run_only=False)
    assert ok, states
    seen = bigquery_emulator.requests()
    assert [(r["kind"], r["accounts"]) for r in seen if r["kind"] == "dry_run"] == [
        ("dry_run", n) for n in (100, 100, 50)
    ]
    assert [r["accounts"] for r in seen if r["kind"] == "job"] == [100, 100, 50]
    decision = dr.get_task_instance("cost_guard").xcom_pull(task_ids="cost_guard", key="decision")
    assert decision["decision"] == cost.APPROVED and len(decision["chunks"]) == 3
    summary = dr.get_task_instance("hubble_query").xcom_pull(task_ids="hubble_query")
    # 'ghost' is in Hubble but merged since (Horizon 404); the 150 unknown go to the fallback
    assert summary["complete"] == 99 and summary["invalid"] == 1 and len(summary["handed"]) == 150
    assert states["api_fallback"] == "success"
    counts = store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]
    assert counts["COMPLETE"] == 99 and counts["INVALID"] == 151 and counts["PROCESSING"] == 0


def test_batch_size_changes_the_number_of_queries(env, bigquery_emulator):
    store, monkeypatch = env
    store.enqueue("public", IN_HUBBLE[:30])
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_BATCH_SIZE", "7")
    ok, states, _dr = run_dag(DAG_ID, limit=30, network="public", dry_run_only=True)
    assert ok, states
    assert [r["accounts"] for r in bigquery_emulator.requests()] == [7, 7, 7, 7, 2]


def test_each_query_is_guarded_and_the_budget_counts_earlier_queries(env, bigquery_emulator):
    store, monkeypatch = env
    store.enqueue("public", IN_HUBBLE[:20])
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_BATCH_SIZE", "10")
    # every query of this data set bills the 2 x 10 MiB minimum: a budget of 1.5 queries admits one
    one_query_usd = cost.usd_for_bytes(2 * cost.MIN_BILLED_PER_TABLE, 6.25)
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_DAILY_BUDGET_USD", str(one_query_usd * 1.5))
    ok, states, dr = run_dag(DAG_ID, limit=20, network="public", dry_run_only=False)
    assert ok, states
    decision = dr.get_task_instance("cost_guard").xcom_pull(task_ids="cost_guard", key="decision")
    assert decision["decision"] == cost.PARTLY_APPROVED
    assert [c["decision"] for c in decision["chunks"]] == [cost.APPROVED, cost.REFUSED_BUDGET]
    assert [r["kind"] for r in bigquery_emulator.requests()] == ["dry_run", "dry_run", "job"]
    assert states["hubble_query"] == "success" and states["api_fallback"] == "success"
    records = store.get_many("public", IN_HUBBLE[:20])
    assert {records[a].pipeline_source for a in IN_HUBBLE[:10] if a != A["ghost"]} == {"BIGQUERY"}
    assert {records[a].pipeline_source for a in IN_HUBBLE[10:20]} == {"BIGQUERY_WITH_API_FALLBACK"}
