"""dag.test() of stellar_lineage_enqueue: pasted input is normalised, seeds never reach conf, XCom or store;
a successful run emits a queue asset event (what starts an API pipeline run at once; the scheduler
side is in the e2e test)."""

from __future__ import annotations

import json

import pytest

from include.stellar_lineage.assets import LINEAGE_QUEUE
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support.dag_env import run_dag
from tests.support.seed_shapes import DERIVED, VALID, VALID2
from tests.support.stellar_dataset import address

DAG_ID = "stellar_lineage_enqueue"


@pytest.fixture
def store(monkeypatch, tmp_path, airflow_db):
    path = tmp_path / "lineage.db"
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH", str(path))
    s = SqliteLineageStore(path)
    yield s
    s.close()


def test_pasted_csv_is_enqueued_and_the_report_never_echoes(store):
    bad = VALID[:-1] + "6"
    ok, states, dr = run_dag(DAG_ID, accounts=[f'"{VALID}",', f"{VALID2} {bad}", VALID], network="public")
    assert ok, states
    xcom = dr.get_task_instance("enqueue_accounts").xcom_pull(task_ids="enqueue_accounts")
    assert xcom["added"] == [VALID, VALID2] and xcom["duplicates"] == 1
    assert xcom["invalid"] == [{"index": 1, "part": 1, "reason": "bad checksum or encoding (not a valid StrKey)"}]
    assert [(n["index"], n["part"]) for n in xcom["normalised"]] == [(0, 0), (1, 0)]
    assert bad not in json.dumps(xcom)
    assert store.get_many("public", [VALID, VALID2])[VALID].status == "PENDING"


def test_a_seed_is_refused_before_a_run_exists(store):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        run_dag(DAG_ID, accounts=[VALID, f"my key: {DERIVED.lower()},"], network="public")
    assert store.get_many("public", [VALID]) == {}


def _queue_events() -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(
            select(func.count(AssetEvent.id))
            .select_from(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.uri == LINEAGE_QUEUE.uri)
        )


def test_enqueue_emits_a_queue_asset_event(store):
    before = _queue_events()
    accounts = [address("asset-event-1"), address("asset-event-2")]
    ok, states, _dr = run_dag(DAG_ID, accounts=accounts, network="testnet")
    assert ok, states
    assert _queue_events() == before + 1
    assert {a: r.status for a, r in store.get_many("testnet", accounts).items()} == dict.fromkeys(accounts, "PENDING")


def test_a_run_with_nothing_valid_fails_and_emits_nothing(store):
    before = _queue_events()
    ok, states, _dr = run_dag(DAG_ID, accounts=["not-an-address"], network="public")
    assert not ok and states["enqueue_accounts"] == "failed"
    assert _queue_events() == before


def test_descendants_depth_enqueues_the_children_of_a_collected_account(store):
    from include.stellar_lineage.records import LineageResult, Priority

    hub, kids = address("dag-crawl-hub"), [address(f"dag-crawl-kid-{i}") for i in range(3)]
    store.enqueue("public", [hub])
    store.claim_batch(1, pipeline="API", owner="t", network="public", accounts=[hub])
    children = {"count": 3, "complete": True, "source": "horizon", "children": [{"account": k} for k in kids]}
    assert store.complete("public", hub, owner="t", result=LineageResult(None, None, children=children), source="API")
    ok, states, dr = run_dag(DAG_ID, accounts=[hub], network="public", descendants_depth=1)
    assert ok, states
    xcom = dr.get_task_instance("enqueue_accounts").xcom_pull(task_ids="enqueue_accounts")
    assert xcom["unchanged"] == [hub] and xcom["descendants"]["added"] == 3
    assert {store.get("public", k).priority for k in kids} == {Priority.DESCENDANT}
