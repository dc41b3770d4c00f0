"""Airflow's audit log (the ``log`` table, written by ``action_logging`` on every REST write) stores the
trigger request body *before* the Param schema refuses it, masking only values under sensitive key
names. These tests pin that behaviour of Airflow 3.3 and show the remedy this project ships:
``[core] sensitive_var_conn_names`` includes ``accounts`` (Dockerfile, scripts/env.sh)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage.ui.security import AUDIT_SENSITIVE_NAME, audit_log_masking_configured
from tests.support.seed_shapes import DERIVED, VALID

DAG_ID = "stellar_lineage_enqueue"
PADDED = f'  "{DERIVED}",  '


def _sync_dags() -> None:
    """What dag.test() does first: the DAGs of the bundle written to the metadata DB."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        sync_bag_to_db(
            BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name),
            bundle.name,
            bundle.version,
        )


def _audit_rows() -> list[str]:
    from airflow.models import Log
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [row.extra or "" for row in session.scalars(select(Log).where(Log.event == "trigger_dag_run"))]


def _holds_seed(text: str) -> bool:
    return DERIVED in re.sub(r"[^A-Za-z0-9]", "", text).upper()


@pytest.fixture
def airflow_api(airflow_db, monkeypatch):
    from airflow import settings
    from airflow.api_fastapi.app import create_app, init_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    _sync_dags()
    app = create_app(apps="core")
    token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="auditor", role="admin"))

    def configure(names: str | None) -> None:
        if names is None:
            monkeypatch.delenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", raising=False)
        else:
            monkeypatch.setenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", names)
        settings._configure_secrets_masker()  # what Airflow does at start-up, from the same config

    try:
        with TestClient(app) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            yield client, configure
    finally:
        purge_cached_app()
        configure(None)


def _trigger(client, run_id: str):
    body = {"dag_run_id": run_id, "logical_date": None, "conf": {"accounts": [VALID, PADDED], "network": "public"}}
    return client.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json=body)


def test_without_the_setting_airflow_keeps_a_refused_body_in_the_audit_log(airflow_api):
    client, configure = airflow_api
    configure(None)
    assert not audit_log_masking_configured()
    before = len(_audit_rows())
    r = _trigger(client, "audit_unmasked")
    assert r.status_code == 400 and "Invalid input for param accounts" in r.text
    assert _holds_seed(r.text)  # jsonschema's message quotes the value back to whoever sent it
    rows = _audit_rows()[before:]
    assert len(rows) == 1 and _holds_seed(rows[0])  # stored although the run was refused: Airflow 3.3
    assert client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/audit_unmasked").status_code == 404


@pytest.mark.parametrize("names", [AUDIT_SENSITIVE_NAME, f"my_token_field, {AUDIT_SENSITIVE_NAME}"])
def test_with_accounts_as_a_sensitive_name_the_audit_log_is_clean(airflow_api, names):
    client, configure = airflow_api
    configure(names)
    assert audit_log_masking_configured()
    before = len(_audit_rows())
    r = _trigger(client, "audit_masked")
    assert r.status_code == 400
    (row,) = _audit_rows()[before:]
    extra = json.loads(row)
    assert extra["conf"] == {"accounts": ["***", "***"], "network": "public"} and not _holds_seed(row)
    # a valid trigger is still accepted and its run conf is intact (masking is for the audit log only)
    ok = client.post(
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        json={"dag_run_id": f"audit_ok_{len(names)}", "logical_date": None, "conf": {"accounts": [VALID]}},
    )
    assert ok.status_code == 200 and ok.json()["conf"]["accounts"] == [VALID]
