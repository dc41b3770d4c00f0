"""``stellar_lineage_refresh_after_days`` through the real API DAG (dag.test() against the fake Horizon /
Stellar Expert servers): stale COMPLETE records are re-collected with fresh data by the claim step's
spare capacity; recent ones, and everything when the Variable is 0, are left alone; a bad value fails
the run before any record is touched. Collection times are injected (records completed "8 days ago"
through the store's ``now``), so no clock is faked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from include.stellar_lineage.records import LineageResult, utcnow
from tests.support.chains import chain_dataset
from tests.support.dag_env import run_dag, stellar_dag_env

DAG_ID = "stellar_lineage_api_pipeline"
STALE_BALANCE, STALE_DOMAIN = "1.0000000", "stale.example"


@pytest.fixture
def env(monkeypatch, tmp_path, airflow_db):
    """The chain leaf → … → root, every account COMPLETE with stale data: the leaf collected 8 days
    ago, the others 6 days ago."""
    ds, chain = chain_dataset(3, name="refresh")
    with stellar_dag_env(monkeypatch, tmp_path, ds) as (store, horizon, _expert):
        now = utcnow()
        for i, account in enumerate(chain):
            at = now - dt.timedelta(days=8 if i == 0 else 6)
            store.enqueue("public", [account])
            assert store.claim_batch(1, pipeline="API", owner="seed", network="public", accounts=[account], now=at)
            old = LineageResult(
                creator=chain[i + 1] if i + 1 < len(chain) else None,
                created_at=at - dt.timedelta(days=365),
                home_domain=STALE_DOMAIN,
                xlm_balance=STALE_BALANCE,
            )
            assert store.complete("public", account, owner="seed", result=old, source="BIGQUERY", now=at)
        yield store, ds, chain, horizon, monkeypatch


def test_seven_days_recollects_the_record_completed_8_days_ago_only(env):
    store, ds, chain, horizon, monkeypatch = env
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_REFRESH_AFTER_DAYS", "7")
    started = utcnow()
    ok, states, _dr = run_dag(DAG_ID)
    assert ok and states["process_batch"] == "success", states
    leaf = store.get("public", chain[0])
    assert leaf.status == "COMPLETE" and leaf.pipeline_source == "API"  # re-collected by the API path
    assert Decimal(leaf.xlm_balance) == ds.accounts[chain[0]].balance != Decimal(STALE_BALANCE)
    assert leaf.home_domain != STALE_DOMAIN and leaf.stellar_creator_account == chain[1]
    assert leaf.completed_at >= started - dt.timedelta(seconds=1)  # the clock restarts
    for account in chain[1:]:  # 6 days old: untouched, not even fetched
        rec = store.get("public", account)
        assert (rec.status, rec.xlm_balance, rec.pipeline_source) == ("COMPLETE", STALE_BALANCE, "BIGQUERY")
    assert {r.path.split("/")[2] for r in horizon.request_log(r"^/accounts/")} == {chain[0]}


def test_zero_days_recollects_nothing(env):
    store, _ds, chain, horizon, monkeypatch = env
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_REFRESH_AFTER_DAYS", "0")
    ok, states, _dr = run_dag(DAG_ID)
    assert ok, states
    assert all(
        r.status == "COMPLETE" and r.xlm_balance == STALE_BALANCE for r in store.get_many("public", chain).values()
    )
    assert horizon.count() == 0


def test_a_bad_value_fails_the_run_before_any_record_is_touched(env):
    store, _ds, chain, horizon, monkeypatch = env
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_REFRESH_AFTER_DAYS", "-3")
    ok, states, _dr = run_dag(DAG_ID)
    assert not ok and states["check_schedule"] == "failed", states
    assert all(
        r.status == "COMPLETE" and r.xlm_balance == STALE_BALANCE for r in store.get_many("public", chain).values()
    )
    assert horizon.count() == 0
