"""The graph snapshot DAG's first task: manual runs take the form's mode; daily scheduled runs refresh
only when stellar_lineage_graph_refresh_daily is true (and skip otherwise)."""

from __future__ import annotations

import types

import pytest


def check_settings():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag().dags["stellar_lineage_graph_snapshot"]
    return dag.get_task("check_settings").python_callable


class FakeTI:
    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def run(run_type: str, mode: str = "snapshot") -> FakeTI:
    ti = FakeTI()
    assert (
        check_settings()(params={"mode": mode}, dag_run=types.SimpleNamespace(run_type=run_type), ti=ti) == "cost_guard"
    )
    return ti


def test_manual_runs_use_the_form_mode():
    assert run("manual", "snapshot").pushed["mode"] == "snapshot"
    assert run("manual", "refresh").pushed["mode"] == "refresh"


def test_scheduled_runs_refresh_only_when_the_variable_says_so(monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException, match="graph_refresh_daily is false"):
        run("scheduled")
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_GRAPH_REFRESH_DAILY", "true")
    assert run("scheduled", "snapshot").pushed["mode"] == "refresh"
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_ENABLED", "false")
    with pytest.raises(AirflowSkipException, match="bigquery_enabled is false"):
        run("manual")
