"""The stats plugin's HTTP contract, against a real SQLite store seeded through the store API and
Airflow's real auth (SimpleAuthManager JWTs, checked against the metadata DB's revoked-token table).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage.config import ConfigError, parse_settings
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.ui.app import create_app
from include.stellar_lineage.ui.providers import CachedSettings, StoreProvider, read_ui_settings
from tests.plugins.seed_lineage import (
    CHILDREN,
    EXPECTED_PUBLIC,
    K1,
    K2,
    K3,
    P1,
    ROOT,
    S1,
    T1,
    T2,
    UNKNOWN,
    seed,
)

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "lineage_stats"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
SEED_KEYS = {
    "bigquery_total",
    "bigquery_with_fallback_total",
    "api_total",
    "pending_total",
    "processing_total",
    "complete_total",
    "failed_total",
    "last_24h",
    "timestamp",
    "total_accounts",
}
OUR_KEYS = {"invalid_total", "network", "queue_depth", "stuck_total", "bigquery_spend"}
PROTECTED = [
    "/",
    "/api/pipeline-stats",
    "/api/dashboard",
    "/api/pending-accounts",
    f"/api/lineage/{K3}",
    f"/lineage/{K3}",
    f"/lineage?account={K3}",
    "/static/style.css",
    "/static/dashboard.js",
]


@pytest.fixture(scope="module")
def tokens(airflow_db):
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = init_auth_manager()

    def make(role: str = "viewer", seconds: int = 600) -> str:
        user = SimpleAuthManagerUser(username=f"test-{role}", role=role)
        return manager.generate_jwt(user, expiration_time_in_seconds=seconds)

    return make


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lineage") / "lineage.db"
    store = SqliteLineageStore(path)
    seed(store, NOW)
    store.close()
    return path


@pytest.fixture(scope="module")
def client(store_path, tokens):
    settings = parse_settings({"sqlite_path": str(store_path)})
    app = create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings, clock=lambda: NOW)
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {tokens()}"
        yield c


# --- authentication -------------------------------------------------------------------------
@pytest.mark.parametrize("path", PROTECTED)
def test_every_route_needs_a_user(client, path, tokens):
    anon = TestClient(client.app)
    assert anon.get(path).status_code == 401
    assert anon.get(path).json() == {"detail": "Not authenticated"}
    bad = anon.get(path, headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 403 and bad.json() == {"detail": "Invalid JWT token"}
    expired = anon.get(path, headers={"Authorization": f"Bearer {tokens(seconds=-120)}"})
    assert expired.status_code == 401 and expired.json() == {"detail": "Token Expired"}


def test_ui_session_cookie_is_accepted(client, tokens):
    browser = TestClient(client.app)
    browser.cookies.set("_token", tokens())  # what the Airflow UI's iframe sends
    page = browser.get("/")
    assert page.status_code == 200 and 'id="c-hourly"' in page.text
    assert browser.get("/api/pipeline-stats").json()["complete_total"] == 6
    assert browser.get("/static/dashboard.js").headers["content-type"].startswith("text/javascript")


def test_framework_docs_are_not_exposed(client):
    # app-level auth dependencies do not cover FastAPI's own /docs and /openapi.json: they are off
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404


# --- pipeline stats -------------------------------------------------------------------------
def test_pipeline_stats_has_exactly_the_seed_keys_plus_ours(client):
    body = client.get("/api/pipeline-stats", params={"network": "public"}).json()
    assert set(body) == SEED_KEYS | OUR_KEYS
    assert set(body["last_24h"]) == {"bigquery", "bigquery_with_fallback", "api"}
    assert set(body["bigquery_spend"]) == {"today_usd", "total_usd", "cost_per_account_usd", "saved_usd"}


def test_pipeline_stats_values(client):
    body = client.get("/api/pipeline-stats").json()  # network defaults to public, like the seed
    timestamp = dt.datetime.fromisoformat(body.pop("timestamp"))
    assert timestamp == NOW and timestamp.utcoffset() == dt.timedelta(0)
    assert body == EXPECTED_PUBLIC


def test_pipeline_stats_are_per_network(client):
    body = client.get("/api/pipeline-stats", params={"network": "testnet"}).json()
    assert (body["api_total"], body["pending_total"], body["complete_total"], body["total_accounts"]) == (1, 1, 1, 2)
    assert body["last_24h"] == {"bigquery": 0, "bigquery_with_fallback": 0, "api": 1}
    assert body["bigquery_spend"] == EXPECTED_PUBLIC["bigquery_spend"]  # one billing account for both


def test_unknown_network_is_a_400(client):
    r = client.get("/api/pipeline-stats", params={"network": "futurenet"})
    assert r.status_code == 400 and "expected one of public, testnet" in r.json()["detail"]


def test_dashboard_data_has_24_hourly_buckets(client):
    body = client.get("/api/dashboard").json()
    hours = body["hourly_completions"]
    assert len(hours) == 24 and hours == sorted(hours, key=lambda h: h["hour"])
    assert sum(h["api"] + h["bigquery"] + h["bigquery_with_fallback"] for h in hours) == 3
    assert body["rate_per_hour_24h"] == 0.12  # 3 completions / 24 h
    assert body["spend"]["jobs"] == 2 and body["spend"]["refused"] == 1 and body["spend"]["accounts_billed"] == 15
    assert body["stuck_threshold_minutes"] == 15


class _Recorder:
    """Wraps the store and records which methods a request used."""

    def __init__(self, store):
        self.store, self.calls = store, []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.store, name)


def test_stats_use_only_the_aggregates(store_path, tokens):
    recorder = _Recorder(SqliteLineageStore(store_path, migrate=False))
    provider = StoreProvider(opener=lambda settings: recorder)
    app = create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: parse_settings({}), store_provider=provider)
    c = TestClient(app, headers={"Authorization": f"Bearer {tokens()}"})
    for path in ("/api/pipeline-stats", "/api/dashboard"):
        recorder.calls.clear()
        assert c.get(path).status_code == 200
        assert sorted(recorder.calls) == ["spend_summary", "stats"], path


# --- pending accounts -----------------------------------------------------------------------
def test_pending_accounts_all_networks(client):
    body = client.get("/api/pending-accounts").json()
    assert (body["count"], body["total_pending"], body["pending_total"], body["processing_total"]) == (6, 6, 4, 2)
    first = body["accounts"][0]  # PROCESSING first, oldest claim first
    assert first == {
        "stellar_account": S1,
        "network_name": "public",
        "status": "PROCESSING",
        "age_minutes": 40,
        "is_stuck": True,
        "retry_count": 0,
        "claim_pipeline": "API",
        "last_error": None,
    }
    assert [a["is_stuck"] for a in body["accounts"]].count(True) == body["stuck_total"] == 1
    assert {a["stellar_account"] for a in body["accounts"] if a["status"] == "PENDING"} >= {P1, T2}


def test_pending_accounts_one_network(client):
    body = client.get("/api/pending-accounts", params={"network": "testnet"}).json()
    assert body["network"] == "testnet" and [a["stellar_account"] for a in body["accounts"]] == [T2]
    assert body["total_pending"] == 1


# --- lineage --------------------------------------------------------------------------------
def test_lineage_chain_to_root_with_children(client):
    body = client.get(f"/api/lineage/{K3}", params={"network": "public"}).json()
    assert [n["stellar_account"] for n in body["chain"]] == [K3, K2, K1, ROOT]
    assert [n["pipeline_source"] for n in body["chain"]] == [
        "BIGQUERY_WITH_API_FALLBACK",
        "BIGQUERY",
        "BIGQUERY",
        "API",
    ]
    assert body["chain"][-1]["stellar_account_created_at"] == "2015-09-30T16:46:54+00:00"
    assert body["reaches_root"] is True and body["root"] == ROOT
    assert [c["account"] for c in body["children"]["children"]] == CHILDREN
    assert body["children"]["count"] == 2 and body["children"]["truncated"] is False


def test_lineage_children_limit(client):
    body = client.get(f"/api/lineage/{K3}", params={"children_limit": 1}).json()
    assert len(body["children"]["children"]) == 1 and body["children"]["truncated"] is True


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        ("GABC", "wrong length"),
        (K3.lower(), "lowercase"),
        (f"M{K3[1:]}", "start with G"),
        (K3[:-1] + ("A" if K3[-1] != "A" else "B"), "checksum"),
    ],
)
def test_lineage_invalid_address_is_a_400_with_the_reason(client, account, reason):
    r = client.get(f"/api/lineage/{account}")
    assert r.status_code == 400 and reason in r.json()["detail"]


def test_lineage_never_echoes_a_secret_seed(client):
    from stellar_sdk import Keypair

    secret = Keypair.random().secret
    r = client.get(f"/api/lineage/{secret}")
    assert r.status_code == 400 and secret not in r.text and "secret seed" in r.json()["detail"]
    for page in (client.get(f"/lineage/{secret}"), client.get("/lineage", params={"account": secret})):
        assert page.status_code == 400 and secret not in page.text and "secret seed" in page.text


def test_lineage_unknown_account_is_a_404(client):
    r = client.get(f"/api/lineage/{UNKNOWN}")
    assert r.status_code == 404 and UNKNOWN in r.json()["detail"]
    assert client.get(f"/api/lineage/{T1}", params={"network": "public"}).status_code == 404  # testnet only


def test_lineage_page(client):
    page = client.get(f"/lineage/{K3}")
    assert page.status_code == 200
    assert page.text.count('<li class="node') == 4 and "network root" in page.text
    assert f'href="../lineage/{K2}?network=public"' in page.text  # relative: works under any base_url
    assert 'href="../../dags/stellar_lineage_api_pipeline" target="_top"' in page.text
    search = client.get("/lineage", params={"account": f"  {K3} ", "network": "public"})
    assert search.status_code == 200 and f'href="lineage/{K2}?network=public"' in search.text


def test_lineage_page_errors(client):
    bad = client.get("/lineage/GABC")
    assert bad.status_code == 400 and "wrong length" in bad.text
    missing = client.get(f"/lineage/{UNKNOWN}")
    assert missing.status_code == 404 and "stellar_lineage_enqueue" in missing.text


# --- settings and store failures ------------------------------------------------------------
def test_store_is_opened_on_first_request_and_failures_are_503(tmp_path, tokens):
    opened = []

    def opener(settings):
        opened.append(settings.sqlite_path)
        raise OSError("disk not mounted")

    app = create_app(
        assets_dir=PLUGIN_DIR, settings_loader=lambda: parse_settings({}), store_provider=StoreProvider(opener=opener)
    )
    assert opened == []  # creating the app (plugin import) never touches the store
    c = TestClient(app, headers={"Authorization": f"Bearer {tokens()}"})
    r = c.get("/api/pipeline-stats")
    assert r.status_code == 503 and "OSError: disk not mounted" in r.json()["detail"]
    assert c.get("/").status_code == 200  # the page still loads and shows the error banner itself
    assert c.get(f"/lineage/{K3}").status_code == 503
    assert len(opened) == 2  # a failed open is retried on the next request, not cached


def test_bad_store_variable_is_a_503_naming_it(tokens):
    def loader():
        return read_ui_settings(lambda key: "soon" if key.endswith("stuck_threshold_minutes") else None)

    app = create_app(assets_dir=PLUGIN_DIR, settings_loader=loader)
    r = TestClient(app, headers={"Authorization": f"Bearer {tokens()}"}).get("/api/pipeline-stats")
    assert r.status_code == 503 and "stellar_lineage_stuck_threshold_minutes" in r.json()["detail"]


def test_settings_reader_failures_fall_back_to_defaults():
    def broken(key):
        raise RuntimeError("metadata DB unreachable")

    settings = read_ui_settings(broken)
    assert settings.store_backend == "sqlite" and settings.stuck_threshold_minutes == 15
    # an unrelated bad Variable does not matter: only the UI's fields are read
    assert read_ui_settings(lambda key: "x" if "bigquery" in key else None).bigquery_cost_limit_usd == 0.71
    with pytest.raises(ConfigError, match="stellar_lineage_store_backend"):
        read_ui_settings(lambda key: "mysql" if key.endswith("store_backend") else None)


def test_cached_settings_reload_after_ttl():
    values, clock = iter(["10", "20"]), [0.0]
    cached = CachedSettings(
        lambda: parse_settings({"stuck_threshold_minutes": next(values)}), ttl=60, clock=lambda: clock[0]
    )
    assert cached().stuck_threshold_minutes == 10
    clock[0] = 59
    assert cached().stuck_threshold_minutes == 10
    clock[0] = 61
    assert cached().stuck_threshold_minutes == 20


# --- the plugin inside Airflow's own API app --------------------------------------------------
def test_plugin_registration():
    spec = importlib.util.spec_from_file_location("lineage_stats_plugin_under_test", PLUGIN_DIR / "plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.LineageStatsPlugin
    assert [a["url_prefix"] for a in plugin.fastapi_apps] == ["/stellar-lineage"]
    (view,) = plugin.external_views
    assert view["destination"] == "nav" and view["url_route"] == "stellar-lineage"
    assert view["href"] == "stellar-lineage/" and not view["href"].startswith("/")
    for key in ("icon", "icon_dark_mode"):
        assert (PLUGIN_DIR / "static" / Path(view[key]).name).is_file()


def test_mounted_in_airflow_api_server(store_path, tokens, monkeypatch):
    """Through Airflow's real app: plugin discovery, mount, auth and the Variable-based settings."""
    from airflow.api_fastapi.app import create_app as create_airflow_app, purge_cached_app

    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH", str(store_path))
    CachedSettings.reset_all()  # the plugin's app (built once per process) may hold an earlier test's store
    app = create_airflow_app(apps="core")
    try:
        with TestClient(app) as c:
            assert c.get("/stellar-lineage/api/pipeline-stats").status_code == 401
            r = c.get("/stellar-lineage/api/pipeline-stats", headers={"Authorization": f"Bearer {tokens()}"})
            assert r.status_code == 200 and r.json()["complete_total"] == 6
            plugins = c.get("/api/v2/plugins", headers={"Authorization": f"Bearer {tokens('admin')}"}).json()
            names = [p["name"] for p in plugins["plugins"]]
            assert "stellar_lineage_stats" in names
    finally:
        purge_cached_app()
