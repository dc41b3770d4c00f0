"""The dashboard's trends, latency and recent-accounts routes over HTTP, against a real SQLite store
(tests/support/trend_data.py) and Airflow's real auth, like test_lineage_stats_api.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.ui.app import create_app
from tests.support.trend_data import PLAN, seed_trends, trend_account

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "lineage_stats"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
ROUTES = ["/api/trends", "/api/trends?days=30", "/api/latency", "/api/recent-accounts"]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    path = tmp_path_factory.mktemp("trends") / "lineage.db"
    store = SqliteLineageStore(path)
    newest_first = seed_trends(store, "public", NOW)
    store.enqueue("testnet", [trend_account("queued", "testnet")])  # testnet: nothing finished
    store.close()
    return path, newest_first


@pytest.fixture(scope="module")
def client(seeded, airflow_db):
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    settings = parse_settings({"sqlite_path": str(seeded[0])})
    app = create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings, clock=lambda: NOW)
    token = init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="t", role="viewer"))
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.mark.parametrize("path", ROUTES)
def test_routes_need_a_user(client, path):
    anon = TestClient(client.app)
    assert anon.get(path).status_code == 401
    assert anon.get(path, headers={"Authorization": "Bearer nope"}).status_code == 403


def _totals(body):
    return {p: {k: v for k, v in t.items() if v} for p, t in body["totals"].items() if any(t.values())}


def test_trends_7_and_30_days(client):
    week = client.get("/api/trends", params={"network": "public"}).json()
    assert week["days"] == 7 and len(week["series"]) == 7
    assert week["series"][-1]["day"] == NOW.date().isoformat()  # oldest first, today last
    assert _totals(week) == {"API": {"complete": 3, "failed": 1}, "BIGQUERY": {"complete": 2}, "GRAPH": {"complete": 1}}
    month = client.get("/api/trends", params={"network": "public", "days": 30}).json()
    assert len(month["series"]) == 30
    assert _totals(month) == {
        "API": {"complete": 3, "failed": 1},
        "BIGQUERY": {"complete": 2, "invalid": 1},
        "GRAPH": {"complete": 2},
    }
    # the per-day series adds up to the totals, and each record sits on its finish day
    graph_2 = (NOW - dt.timedelta(days=12, minutes=16)).date().isoformat()
    assert [d["GRAPH"]["complete"] for d in month["series"] if d["day"] == graph_2] == [1]
    assert sum(d["API"]["complete"] for d in month["series"]) == 3
    empty = client.get("/api/trends", params={"network": "testnet"}).json()
    assert _totals(empty) == {}


def test_trends_refuse_other_windows(client):
    response = client.get("/api/trends", params={"days": 14})
    assert response.status_code == 400 and "7, 30" in response.json()["detail"]
    assert client.get("/api/trends", params={"network": "mainnet"}).status_code == 400


def test_latency_per_pipeline_24h_and_7d(client):
    body = client.get("/api/latency", params={"network": "public"}).json()
    day, week = body["windows"]["24h"], body["windows"]["7d"]
    assert {p: (v["count"], v["mean_seconds"]) for p, v in day.items()} == {
        "API": (2, 112.5),
        "BIGQUERY": (1, 1500.0),
        "GRAPH": (1, 2.0),
    }
    assert {p: (v["count"], v["mean_seconds"]) for p, v in week.items()} == {
        "API": (3, 275.0),
        "BIGQUERY": (2, 1950.0),
        "GRAPH": (1, 2.0),
    }
    # 45 s and 180 s: p50 falls in the (30, 60] s bucket, p95 in (120, 300] s (interpolated)
    assert day["API"]["p50_seconds"] == 60.0 and 120 < day["API"]["p95_seconds"] <= 300
    assert body["bucket_bounds_seconds"][:3] == [1, 2, 5]
    none = client.get("/api/latency", params={"network": "testnet"}).json()["windows"]["24h"]["API"]
    assert none == {"count": 0, "mean_seconds": None, "p50_seconds": None, "p95_seconds": None}


def test_recent_accounts_paged_newest_first(client, seeded):
    expected = [d["account"] for d in seeded[1]]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"network": "public", "limit": 4, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/recent-accounts", params=params).json()
        seen += [a["stellar_account"] for a in body["accounts"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 3 and len(expected) == len(PLAN)
    first = client.get("/api/recent-accounts", params={"limit": 2}).json()["accounts"][0]
    newest = seeded[1][0]
    assert first["stellar_account"] == newest["account"] and first["status"] == newest["status"]
    assert dt.datetime.fromisoformat(first["finished_at"]) == newest["finished_at"]
    by_name = {d["account"]: d["name"] for d in seeded[1]}
    rows = client.get("/api/recent-accounts", params={"limit": 20}).json()["accounts"]
    pipelines = {by_name[r["stellar_account"]]: r["pipeline"] for r in rows}
    assert pipelines["graph-1"] == "GRAPH" and pipelines["bq-2"] == "BIGQUERY" and pipelines["api-f"] == "API"
    failed = next(r for r in rows if by_name[r["stellar_account"]] == "api-f")
    assert failed["status"] == "FAILED" and failed["last_error"] == "Horizon 503"
    assert client.get("/api/recent-accounts", params={"network": "testnet"}).json()["accounts"] == []


def test_recent_accounts_refuses_a_foreign_cursor(client):
    for cursor in ("not-a-cursor", "Zm9vfGJhcg", "MjAyNi0wMS0wMXxH"):
        response = client.get("/api/recent-accounts", params={"cursor": cursor})
        assert response.status_code == 400 and "cursor" in response.json()["detail"], cursor
    assert client.get("/api/recent-accounts", params={"limit": 0}).status_code == 422


def test_dashboard_page_has_the_new_sections(client):
    page = client.get("/").text
    for marker in ('id="c-trend"', 'id="latency-table"', 'id="recent-list"', "static/trends.js"):
        assert marker in page, marker
    assert client.get("/static/trends.js").status_code == 200
