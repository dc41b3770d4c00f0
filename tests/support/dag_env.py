"""What a dag.test() of this project needs: the fake Stellar servers as Airflow Connections, a SQLite
store and an isolated rate-limit directory, all through environment variables (no metadata-DB
writes), plus a runner that returns the run's outcome."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.stellar_dataset import Dataset


@contextlib.contextmanager
def stellar_dag_env(
    monkeypatch: Any, tmp_path: Path, ds: Dataset, *, rpm: int = 600
) -> Iterator[tuple[SqliteLineageStore, FakeHorizon, FakeStellarExpert]]:
    store_path = tmp_path / "lineage.db"
    with FakeHorizon(ds) as horizon, FakeStellarExpert({ds.network: ds}) as expert:
        monkeypatch.setenv(
            f"AIRFLOW_CONN_HORIZON_{ds.network.upper()}", json.dumps({"conn_type": "http", "host": horizon.url})
        )
        monkeypatch.setenv("AIRFLOW_CONN_STELLAR_EXPERT", json.dumps({"conn_type": "http", "host": expert.url}))
        monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH", str(store_path))
        monkeypatch.setenv("STELLAR_LINEAGE_RATELIMIT_DIR", str(tmp_path / "ratelimit"))
        monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_HORIZON_REQUESTS_PER_MINUTE", str(rpm))
        monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_STELLAR_EXPERT_REQUESTS_PER_MINUTE", str(rpm))
        store = SqliteLineageStore(store_path)
        try:
            yield store, horizon, expert
        finally:
            store.close()


def run_dag(dag_id: str, run_after: Any = None, **run_conf: Any) -> tuple[bool, dict[str, str], Any]:
    """dag.test() the DAG (``run_after``: the run's slot, default now); returns (succeeded, states, dag run)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    dr = DagBag().dags[dag_id].test(run_after=run_after, run_conf=run_conf or None)
    states = {ti.task_id: ti.state for ti in dr.get_task_instances()}
    return dr.state == DagRunState.SUCCESS, states, dr
