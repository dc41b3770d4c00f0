"""dag.test() of stellar_lineage_api_pipeline against the fake Horizon / Stellar Expert servers."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from include.stellar_lineage.runtime import RUN_SPAN_SECONDS
from tests.support.chains import chain_dataset
from tests.support.dag_env import run_dag as run_dag_test
from tests.support.dag_env import stellar_dag_env

pytestmark = pytest.mark.slow_module(80)  # rough wall time (s): started first under pytest-xdist

DAG_ID = "stellar_lineage_api_pipeline"


@pytest.fixture
def env(monkeypatch, tmp_path, airflow_db):
    ds, chain = chain_dataset(6, name="dagtest")
    with stellar_dag_env(monkeypatch, tmp_path, ds) as (store, horizon, _expert):
        yield store, chain, horizon


def run_dag(run_after=None):
    ok, states, _dr = run_dag_test(DAG_ID, run_after=run_after)
    return ok, states


def test_seeded_leaf_completes_with_its_whole_chain_in_one_run(env):
    store, chain, horizon = env
    store.enqueue("public", [chain[0]])
    ok, states = run_dag()
    assert ok, states
    records = store.get_many("public", chain)
    assert [records[a].status for a in chain] == ["COMPLETE"] * 7
    assert all(records[a].pipeline_source == "API" for a in chain)
    assert records[chain[-1]].stellar_creator_account is None
    assert store.lineage("public", chain[0])["reaches_root"]
    # ≤ 3 Horizon requests per account (root document cached per client)
    assert horizon.count() <= 3 * 7


def test_disabled_pipeline_skips_cleanly(env, monkeypatch):
    store, chain, horizon = env
    store.enqueue("public", [chain[0]])
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_API_PIPELINE_ENABLED", "false")
    ok, states = run_dag()
    assert ok, states
    assert set(states.values()) == {"skipped"}
    assert store.get("public", chain[0]).status == "PENDING" and horizon.count() == 0


def test_bad_variable_fails_before_touching_records(env, monkeypatch):
    store, chain, horizon = env
    store.enqueue("public", [chain[0]])
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_API_PIPELINE_BATCH_SIZE", "-5")
    ok, states = run_dag()
    assert not ok and states["check_schedule"] == "failed"
    assert store.get("public", chain[0]).status == "PENDING" and horizon.count() == 0


def test_tiny_rate_budget_leaves_the_rest_pending_for_the_next_run(env, monkeypatch):
    """At 2 Horizon requests/min one run finishes only the leaf (its 2nd request waits 30 s, then the
    80 s left of the run leaves no room for another account); its creator stays PENDING, nothing is
    left PROCESSING, and the next run (budget restored) finishes the chain. The deadline counts from
    the run's slot: a run whose slot began RUN_SPAN_SECONDS - 80 s ago has 80 s left."""
    store, chain, horizon = env
    store.enqueue("public", [chain[0]])
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_HORIZON_REQUESTS_PER_MINUTE", "2")
    slot = pendulum.now("UTC").subtract(seconds=RUN_SPAN_SECONDS - 80)
    ok, states = run_dag(run_after=slot)
    assert ok, states
    records = store.get_many("public", chain)
    done = [a for a in chain if a in records and records[a].status == "COMPLETE"]
    assert done == [chain[0]]
    assert records[chain[1]].status == "PENDING" and records[chain[1]].retry_count == 0
    assert store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]["PROCESSING"] == 0

    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_HORIZON_REQUESTS_PER_MINUTE", "600")
    ok, states = run_dag()
    assert ok, states
    records = store.get_many("public", chain)
    assert [records[a].status for a in chain] == ["COMPLETE"] * 7


def test_a_testnet_chain_climbs_to_the_testnet_root(monkeypatch, tmp_path, airflow_db):
    """Same DAG, testnet fakes (its own Horizon connection, horizon_testnet, and network root)."""
    from include.stellar_lineage.records import NETWORK_ROOTS

    ds, chain = chain_dataset(4, name="dagtest-testnet", network="testnet")
    with stellar_dag_env(monkeypatch, tmp_path, ds) as (store, horizon, _expert):
        store.enqueue("testnet", [chain[0]])
        ok, states = run_dag()
        assert ok, states
        records = store.get_many("testnet", chain)
        assert [records[a].status for a in chain] == ["COMPLETE"] * 5
        assert chain[-1] == NETWORK_ROOTS["testnet"] and store.lineage("testnet", chain[0])["reaches_root"]
        assert store.queue_depth("public") == 0 and horizon.count() > 0


def test_refused_api_key_fails_the_run_and_charges_no_record(env):
    """A keyed Horizon refusing the Connection's (missing) key: the run fails naming the Connection,
    every claimed record is back to PENDING with retry_count 0, nothing FAILED, no task retry."""
    store, chain, horizon = env
    horizon.api_key = "only-this-key"
    store.enqueue("public", [chain[0], chain[1]])
    ok, states = run_dag()
    assert not ok and states["process_batch"] == "failed", states
    records = store.get_many("public", [chain[0], chain[1]])
    assert all(r.status == "PENDING" and r.retry_count == 0 for r in records.values())
    assert store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]["FAILED"] == 0
    assert 1 <= horizon.count() <= 4


def test_retry_failed_dag_requeues_every_failed_record(env):
    store, chain, _horizon = env
    store.enqueue("public", [chain[0], chain[1]])
    for account in (chain[0], chain[1]):
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[account])
        store.retry_later("public", account, owner="w", error="bad body", max_retries=1)
    ok, states, _dr = run_dag_test("stellar_lineage_retry_failed")
    assert ok, states
    records = store.get_many("public", [chain[0], chain[1]])
    assert all(r.status == "PENDING" and r.retry_count == 0 and r.last_error == "bad body" for r in records.values())
