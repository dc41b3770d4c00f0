"""Every DAG parses, follows the project's conventions, and parsing does no I/O."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.seed_shapes import shapes

from include.stellar_lineage.dag_defaults import ALLOWED_TAGS
from include.stellar_lineage.runtime import RUN_SPAN_SECONDS

# One BigQuery / snapshot / health run at a time (spend and alerts are per run); two API runs may overlap as one
# ends (each claims its own records); enqueue runs are independent user requests (file enqueues are
# heavier: two at a time).
MAX_ACTIVE_RUNS = {
    "stellar_lineage_api_pipeline": 2,
    "stellar_lineage_bigquery_pipeline": 1,
    "stellar_lineage_enqueue": 4,
    "stellar_lineage_enqueue_file": 2,
    "stellar_lineage_graph_snapshot": 1,  # one snapshot load at a time (it resumes, never runs twice)
    "stellar_lineage_retry_failed": 1,
    "stellar_lineage_health": 1,
}

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "stellar_lineage_enqueue",
    "stellar_lineage_api_pipeline",
    "stellar_lineage_bigquery_pipeline",
    "stellar_lineage_health",
    "stellar_lineage_retry_failed",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_present_and_named_after_files(dagbag):
    assert EXPECTED <= set(dagbag.dag_ids)
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_conventions(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= ALLOWED_TAGS, (dag_id, dag.tags)
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == MAX_ACTIVE_RUNS[dag_id], dag_id
        assert dag.doc_md, dag_id
        for t in dag.tasks:
            assert isinstance(t.retries, int) and t.retries >= 2, (dag_id, t.task_id, t.retries)
            assert t.owner == "stellar-lineage", (dag_id, t.task_id)


def test_api_pipeline_runs_on_its_cron_or_on_new_queue_work(dagbag):
    from airflow.sdk import AssetOrTimeSchedule

    from include.stellar_lineage.assets import LINEAGE_QUEUE

    dag = dagbag.dags["stellar_lineage_api_pipeline"]
    assert isinstance(dag.schedule, AssetOrTimeSchedule)
    assert dag.schedule.timetable.expression == "*/2 * * * *"
    assert dag.schedule.asset_condition == LINEAGE_QUEUE
    # Two runs overlap by design (the rate budget is used without a gap between runs); a third never does.
    assert dag.max_active_runs == 2
    # process_batch ends 225 s after the slot, the follow-ups after it; a run never outlives 2.5 slots.
    assert dag.dagrun_timeout is not None and dag.dagrun_timeout.total_seconds() <= 300
    process = dag.get_task("process_batch")
    assert process.run_span_seconds == RUN_SPAN_SECONDS < process.execution_timeout.total_seconds()
    assert [t.task_id for t in dag.topological_sort()] == [
        "check_schedule",
        "recover_stuck",
        "claim_batch",
        "process_batch",
        "attribute_followups",
    ]


def test_enqueue_params(dagbag):
    dag = dagbag.dags["stellar_lineage_enqueue"]
    assert dag.schedule is None
    assert set(dag.params.keys()) == {"accounts", "network", "descendants_depth"}
    assert dag.params.get_param("descendants_depth").schema["maximum"] == 3  # bounded
    from include.stellar_lineage.assets import LINEAGE_QUEUE

    assert [o.uri for o in dag.get_task("enqueue_accounts").outlets] == [LINEAGE_QUEUE.uri]
    assert dag.params.get_param("network").schema["enum"] == ["public", "testnet"]


_PARSE_WITHOUT_IO = r"""
import json, socket, sys
sys.path.insert(0, sys.argv[1])
calls = []
def forbid(name):
    def _f(*a, **k):
        calls.append(name)
        raise RuntimeError(name + " during DAG parsing")
    return _f
socket.socket.connect = forbid("socket.connect")
socket.create_connection = forbid("socket.create_connection")
socket.getaddrinfo = forbid("socket.getaddrinfo")
import airflow.sdk
airflow.sdk.Variable.get = staticmethod(forbid("Variable.get"))
airflow.sdk.BaseHook.get_connection = classmethod(forbid("BaseHook.get_connection"))
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1] + "/dags")
print(json.dumps({"calls": calls, "errors": list(bag.import_errors), "dags": sorted(bag.dag_ids)}))
"""


def test_parsing_does_no_variable_connection_or_network_access():
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("AIRFLOW_VAR_STELLAR_LINEAGE_API_PIPELINE_ENABLED", None)
    out = subprocess.run(
        [sys.executable, "-c", _PARSE_WITHOUT_IO, str(PROJECT_ROOT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["calls"] == [] and report["errors"] == []
    assert EXPECTED <= set(report["dags"])


def test_bigquery_params(dagbag):
    dag = dagbag.dags["stellar_lineage_bigquery_pipeline"]
    assert dag.schedule is None and dag.max_active_runs == 1
    assert set(dag.params.keys()) == {"limit", "network", "dry_run_only"}
    assert dag.params.get_param("network").schema["enum"] == ["public", "testnet"]
    assert dag.params.get_param("limit").value == 100


def test_health_schedule(dagbag):
    dag = dagbag.dags["stellar_lineage_health"]
    assert dag.schedule == "*/10 * * * *" and dag.max_active_runs == 1


def test_enqueue_refuses_secret_seeds_at_trigger_time(dagbag):
    from airflow.sdk.definitions.param import ParamValidationError

    param = dagbag.dags["stellar_lineage_enqueue"].params.get_param("accounts")
    good = ["GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7", "not-an-address"]
    assert param.resolve(good) == good  # invalid addresses are the task's job (reported, not stored)
    with pytest.raises(ParamValidationError):
        param.resolve(["SAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU2"])
    for name, (text, refused) in shapes().items():  # case-insensitive, unanchored, encoded, spaced
        assert refused, name
        with pytest.raises(ParamValidationError):
            param.resolve([good[0], text])
    # pasted lines of addresses (CSV, JSON, one per line, muxed) are the task's job, never refused here
    pasted = [f"{good[0]}, {good[0]}", f'["{good[0]}"]', f"{good[0]}\n{good[0]}", " ".join([good[0]] * 60)]
    pasted += ["Status PENDING " + good[0], "Sent " + good[0], f"S {good[0]}"]
    assert param.resolve(pasted) == pasted


_PARSE_IMPORTS = """
import json, runpy, sys
sys.path.insert(0, sys.argv[1])
import airflow.sdk  # already loaded in the dag-processor that forks each parse
heavy = ("airflow.providers.google", "google.cloud", "cassandra", "stellar_sdk", "pyarrow", "pandas", "redis")
report = {}
for path in sys.argv[2:]:
    before = set(sys.modules)
    runpy.run_path(path)
    report[path] = sorted(m for m in set(sys.modules) - before if m.startswith(heavy))
print(json.dumps(report))
"""


def test_parsing_imports_no_client_library():
    # The dag-processor re-parses every file in a fresh fork (every 30 s by default); a client library
    # imported at parse time is paid each time. A ``scheme://`` Asset URI once pulled in the Google
    # provider this way (0.6 s of CPU per parse instead of 0.05 s) and timed out a parse under load.
    files = sorted(str(p) for p in (PROJECT_ROOT / "dags").glob("*.py"))
    out = subprocess.run(
        [sys.executable, "-c", _PARSE_IMPORTS, str(PROJECT_ROOT), *files],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report) == len(files) >= 7
    assert {path: mods for path, mods in report.items() if mods} == {}
