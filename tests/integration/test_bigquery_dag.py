"""dag.test() of stellar_lineage_bigquery_pipeline: emulator + cost shim, fake Horizon / Stellar Expert."""

from __future__ import annotations

import pytest

from tests.support.bigquery_fixtures import bigquery_emulator, hubble_tables  # noqa: F401
from tests.support.dag_env import run_dag as run_dag_test
from tests.support.dag_env import stellar_dag_env
from tests.support.lineage_scenarios import A, scenario_dataset

pytestmark = pytest.mark.slow_module(50)  # rough wall time (s): started first under pytest-xdist

DAG_ID = "stellar_lineage_bigquery_pipeline"
ACCOUNTS = [A["alice"], A["bob"], A["carol"], A["phoenix"], A["hub"], A["quiet"]]


@pytest.fixture
def env(monkeypatch, tmp_path, airflow_db, hubble_tables):
    ds = scenario_dataset()
    hubble_tables(ds)
    with stellar_dag_env(monkeypatch, tmp_path, ds, rpm=6000) as (store, horizon, _expert):
        store.enqueue("public", ACCOUNTS)
        yield store, horizon


def run_dag(**conf):
    return run_dag_test(DAG_ID, **{"limit": 100, "network": "public", **conf})


def statuses(store):
    return {a: (r.status, r.pipeline_source) for a, r in store.get_many("public", ACCOUNTS).items()}


def test_approved_run_completes_the_batch_from_hubble(env, bigquery_emulator):
    store, horizon = env
    ok, states, dr = run_dag()
    assert ok, states
    assert states == {
        "check_settings": "success",
        "claim_batch": "success",
        "cost_guard": "success",
        "hubble_query": "success",
        "api_fallback": "skipped",
    }
    assert set(statuses(store).values()) == {("COMPLETE", "BIGQUERY")}
    assert bigquery_emulator.stats()["dry_runs"] == 1 and bigquery_emulator.stats()["jobs"] == 1
    decision = dr.get_task_instance("cost_guard").xcom_pull(task_ids="cost_guard", key="decision")
    assert decision["decision"] == "approved" and decision["estimate_usd"] > 0
    # the hub's payments pages are never read on the BigQuery path: one account call each
    assert horizon.count("/payments") == 0


def test_refused_run_falls_back_to_the_api_path(env, bigquery_emulator, monkeypatch):
    store, horizon = env
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_COST_LIMIT_USD", "0")
    ok, states, dr = run_dag()
    assert ok, states
    assert states["hubble_query"] == "skipped" and states["api_fallback"] == "success"
    assert set(statuses(store).values()) == {("COMPLETE", "BIGQUERY_WITH_API_FALLBACK")}
    assert bigquery_emulator.stats()["dry_runs"] == 1 and bigquery_emulator.stats()["jobs"] == 0


def test_job_over_its_byte_cap_falls_back(env, bigquery_emulator):
    store, horizon = env
    bigquery_emulator.inflate_jobs(1000.0)
    ok, states, dr = run_dag()
    assert ok, states
    assert states["hubble_query"] == "success" and states["api_fallback"] == "success"
    summary = dr.get_task_instance("hubble_query").xcom_pull(task_ids="hubble_query")
    assert summary["reason"] == "bytesBilledLimitExceeded"
    assert set(statuses(store).values()) == {("COMPLETE", "BIGQUERY_WITH_API_FALLBACK")}


def test_dry_run_only_touches_nothing(env, bigquery_emulator):
    store, horizon = env
    before = {a: (r.status, r.claim_owner, r.updated_at) for a, r in store.get_many("public", ACCOUNTS).items()}
    ok, states, dr = run_dag(dry_run_only=True)
    assert ok, states
    assert states == {
        "check_settings": "success",
        "claim_batch": "skipped",
        "cost_guard": "success",
        "hubble_query": "skipped",
        "api_fallback": "skipped",
    }
    after = {a: (r.status, r.claim_owner, r.updated_at) for a, r in store.get_many("public", ACCOUNTS).items()}
    assert after == before and set(r[0] for r in after.values()) == {"PENDING"}
    assert bigquery_emulator.stats()["dry_runs"] == 1 and bigquery_emulator.stats()["jobs"] == 0
    assert horizon.count() == 0
    decision = dr.get_task_instance("cost_guard").xcom_pull(task_ids="cost_guard", key="decision")
    assert decision["dry_run_only"] is True and decision["accounts"] == len(ACCOUNTS)
    spend = store.spend_summary()
    assert spend["dry_runs"] == 1 and spend["jobs"] == 0 and spend["refused"] == 0


def test_disabled_run_skips_cleanly(env, bigquery_emulator, monkeypatch):
    store, horizon = env
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_ENABLED", "false")
    ok, states, dr = run_dag()
    assert ok, states
    assert set(states.values()) == {"skipped"}
    assert set(statuses(store).values()) == {("PENDING", None)}
    assert bigquery_emulator.stats()["dry_runs"] == 0 and horizon.count() == 0
