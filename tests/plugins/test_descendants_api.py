"""The lineage JSON's descendants (from the creator graph's edge table), through the real plugin app
and Airflow auth, on a SQLite store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.records import CreationEdge, GraphState, utcnow
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.ui.app import create_app
from tests.support.stellar_dataset import address

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "lineage_stats"
T0 = dt.datetime(2021, 3, 1, tzinfo=dt.timezone.utc)
TOP = address("api-desc-top")
KIDS = [address(f"api-desc-kid-{i}") for i in range(3)]
GRANDKID = address("api-desc-grandkid")


@pytest.fixture(scope="module")
def client(tmp_path_factory, airflow_db):
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    path = tmp_path_factory.mktemp("desc") / "lineage.db"
    store = SqliteLineageStore(path)
    store.enqueue("public", [TOP])
    edges = [CreationEdge(k, TOP, 10 + i, T0, (10 + i) << 32) for i, k in enumerate(KIDS)]
    edges.append(CreationEdge(GRANDKID, KIDS[0], 20, T0, 20 << 32))
    store.load_edges("public", edges)
    store.set_graph_state(GraphState("public", 99, T0, len(edges), utcnow(), "s", None))
    store.close()
    token = init_auth_manager().generate_jwt(
        SimpleAuthManagerUser(username="viewer", role="viewer"), expiration_time_in_seconds=600
    )
    settings = parse_settings({"sqlite_path": str(path)})
    with TestClient(create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_lineage_json_pages_descendants_from_the_graph(client):
    first = client.get(f"/api/lineage/{TOP}", params={"descendants_depth": 2, "descendants_limit": 2}).json()
    page1 = first["descendants"]
    assert [(i["account"], i["depth"]) for i in page1["items"]] == [(KIDS[0], 1), (GRANDKID, 2)]
    assert page1["as_of_ledger"] == 99 and page1["next_cursor"]
    params = {"descendants_depth": 2, "descendants_limit": 2, "descendants_cursor": page1["next_cursor"]}
    page2 = client.get(f"/api/lineage/{TOP}", params=params).json()["descendants"]
    assert [i["account"] for i in page2["items"]] == KIDS[1:]


def test_descendants_are_opt_in_and_a_bad_cursor_is_a_400(client):
    assert "descendants" not in client.get(f"/api/lineage/{TOP}").json()
    bad = client.get(f"/api/lineage/{TOP}", params={"descendants_depth": 1, "descendants_cursor": "%%%"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]
