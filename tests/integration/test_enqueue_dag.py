"""dag.test() of stellar_lineage_enqueue: pasted input is normalised, seeds never reach conf, XCom or store."""

from __future__ import annotations

import json

import pytest

from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support.dag_env import run_dag
from tests.support.seed_shapes import DERIVED, VALID, VALID2

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
