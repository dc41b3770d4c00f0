"""The table: every shape of a pasted secret seed, through every place it could land.

For each shape (tests/support/seed_shapes.py: plain, trailing comma, quoted, zero-width space, BOM +
soft hyphen, lower case, mixed case, ``seed:`` prefix, inside a sentence, JSON array, CSV line,
surrounded by newlines, URL-encoded once and twice, URL query value, full-width, grouped, split over
two lines) the seed must be refused or redacted, and the full seed (any case, punctuation removed,
URL-decoded) must appear in none of the captured sinks:

* ``DagRun.conf``: a trigger with the shape (dag.test) is refused by the Param schema; no run holds it;
* task log, XCom, store: the enqueue task's own code run on the shape *without* the schema in front
  (defence in depth), its log records captured at the root logger, its return value (the XCom) and a
  dump of the SQLite store;
* HTTP response and access log line: the dashboard mounted in Airflow's real API app, asked for the
  shape by path and by query; Airflow's ``http.access`` lines captured.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sqlite3
import urllib.parse

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.ui.providers import CachedSettings
from include.stellar_lineage.validation import SEED_REASON
from tests.support.dag_env import run_dag
from tests.support.seed_shapes import DERIVED, VALID, shapes

SHAPES = shapes()
ENQUEUE = "stellar_lineage_enqueue"


def _leaks(text: str) -> bool:
    for _ in range(2):
        text = urllib.parse.unquote(text)
    import unicodedata

    squeezed = re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKC", text)).upper()
    return DERIVED in squeezed


@pytest.fixture(scope="module")
def env(airflow_db, tmp_path_factory):
    from airflow.api_fastapi.app import create_app, init_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    store_path = tmp_path_factory.mktemp("sinks") / "lineage.db"
    SqliteLineageStore(store_path).close()
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH", str(store_path))
    CachedSettings.reset_all()  # the plugin's app is built once per process: read this test's Variable
    app = create_app(apps="core")
    token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="sinks", role="viewer"))
    try:
        with TestClient(app) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            yield {"store_path": store_path, "client": client}
    finally:
        purge_cached_app()
        mp.undo()
        CachedSettings.reset_all()  # later tests must not see this module's store


def _run_conf_of_every_enqueue_run() -> str:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return json.dumps([r.conf for r in session.scalars(select(DagRun).where(DagRun.dag_id == ENQUEUE))])


def _task_without_the_schema(text: str, store_path, monkeypatch) -> tuple[dict, str, list[str]]:
    """The enqueue task's callable on [VALID, text]; returns (XCom, captured log, masked secrets)."""
    from airflow.dag_processing.dagbag import DagBag

    from include.stellar_lineage import runtime

    masked: list[str] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", masked.append)
    monkeypatch.setattr(runtime, "task_settings", lambda: parse_settings({"sqlite_path": str(store_path)}))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        task = DagBag().dags[ENQUEUE].get_task("enqueue_accounts")
        xcom = task.python_callable(params={"accounts": [VALID, text], "network": "public"})
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    return xcom, stream.getvalue(), masked


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_seed_shape_is_refused_and_reaches_no_sink(env, name, monkeypatch, capfd):
    from airflow.sdk.exceptions import ParamValidationError
    import structlog

    text, _ = SHAPES[name]
    sinks: dict[str, str] = {}

    # 1. trigger: refused by the Param schema before any run exists
    with pytest.raises(ParamValidationError):
        run_dag(ENQUEUE, accounts=[VALID, text], network="public")
    sinks["DagRun.conf"] = _run_conf_of_every_enqueue_run()

    # 2. the task on its own: refused by index and reason, masked, nothing stored
    xcom, log_text, masked = _task_without_the_schema(text, env["store_path"], monkeypatch)
    assert xcom["added"] + xcom["unchanged"] == [VALID]
    assert xcom["invalid"] == [{"index": 1, "part": 0, "reason": SEED_REASON}]
    assert masked and any(DERIVED in m.upper() or _leaks(m) for m in masked)  # told to Airflow's masker
    assert "Rejected entry 1 part 0" in log_text
    sinks["task log"] = log_text + capfd.readouterr().out
    sinks["XCom"] = json.dumps(xcom)
    with sqlite3.connect(env["store_path"]) as conn:
        sinks["store"] = "\n".join(conn.iterdump())

    # 3. the dashboard in Airflow's API app: responses and the access log lines
    client = env["client"]
    with structlog.testing.capture_logs() as logs:
        responses = [
            client.get("/stellar-lineage/lineage", params={"account": text}),
            client.get("/stellar-lineage/api/lineage/" + urllib.parse.quote(text, safe="")),
            client.get("/stellar-lineage/lineage/" + urllib.parse.quote(text, safe="")),
        ]
    assert all(r.status_code in (400, 404) for r in responses), [r.status_code for r in responses]
    sinks["HTTP response"] = "\n".join(r.text + json.dumps(dict(r.headers)) for r in responses)
    access = [e for e in logs if e.get("event") == "request finished"]
    assert len(access) == 3
    sinks["access log"] = json.dumps(access)

    leaked = [sink for sink, content in sinks.items() if _leaks(content)]
    assert leaked == [], (name, leaked)
