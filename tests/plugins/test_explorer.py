"""The explorer's JSON (paged, searchable children with badges) and the account page's contents,
through the plugin app with a real SQLite store and a real Airflow JWT."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage import explorer
from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.records import LineageResult
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.ui.app import create_app
from tests.plugins.seed_lineage import CHILDREN, F1, I1, K2, K3, NETWORK_ROOTS, address, seed
from tests.support.stellar_dataset import address as named

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "lineage_stats"
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
HUB = address(200)
UNSEEN = address(250)
MANY = [named(f"explorer-child-{i}") for i in range(10_000)]


def _complete(store, account, creator, children, *, complete=True, tags=(), attrs=None, assets=None):
    owner = f"t-{account[:6]}"
    assert store.claim_batch(1, pipeline="API", owner=owner, network="public", accounts=[account], now=NOW)
    result = LineageResult(
        creator=creator,
        created_at=NOW - dt.timedelta(days=30),
        xlm_balance="10.0000000",
        home_domain="hub.example",
        attributes=attrs or {},
        assets=assets or [],
        tags=list(tags),
        children={
            "count": len(children) + (0 if complete else 5),
            "complete": complete,
            "source": "horizon",
            "children": [
                {"account": c, "created_at": (NOW - dt.timedelta(days=i % 30)).isoformat(), "starting_balance": "1"}
                for i, c in enumerate(children)
            ],
        },
    )
    assert store.complete("public", account, owner=owner, result=result, source="API", now=NOW)


def token_for_viewer() -> str:
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    user = SimpleAuthManagerUser(username="test-viewer", role="viewer")
    return init_auth_manager().generate_jwt(user, expiration_time_in_seconds=600)


@pytest.fixture(scope="module")
def client(tmp_path_factory, airflow_db):
    path = tmp_path_factory.mktemp("explorer") / "lineage.db"
    with SqliteLineageStore(path) as store:
        seed(store, NOW)
        store.enqueue("public", [HUB, MANY[0], MANY[1]])
        _complete(
            store,
            HUB,
            NETWORK_ROOTS["public"],
            MANY,
            complete=False,
            tags=("exchange", "anchor"),
            attrs={
                "flags": {"auth_required": True, "auth_revocable": False},
                "thresholds": {"low_threshold": 1, "med_threshold": 2, "high_threshold": 3},
                "signers": [{"key": HUB, "weight": 1, "type": "ed25519_public_key"}],
                "sponsor": K2,
                "sequence": "123",
                "data_keys": ["config"],
            },
            assets=[{"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": K2, "balance": "5.5"}],
        )
        _complete(store, MANY[0], HUB, [], tags=("wallet",))
    settings = parse_settings({"sqlite_path": str(path)})
    token = token_for_viewer()
    with TestClient(create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings, clock=lambda: NOW)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_children_page_of_ten_thousand_is_paged_with_badges(client):
    body = client.get(f"/api/children/{HUB}", params={"limit": 100, "offset": 0}).json()
    assert body["mode"] == "record" and body["total"] == 10_005 and body["matching"] == 10_000
    assert body["complete"] is False and body["source"] == "horizon"
    assert [c["account"] for c in body["items"]] == MANY[:100]
    first = body["items"][0]
    assert first["status"] == "COMPLETE" and first["pipeline_source"] == "API" and first["tags"] == ["wallet"]
    assert first["children_count"] == 0
    assert body["items"][1]["status"] == "PENDING" and body["items"][2]["status"] is None  # not in the store
    last = client.get(f"/api/children/{HUB}", params={"limit": 500, "offset": 9_900}).json()
    assert [c["account"] for c in last["items"]] == MANY[9_900:]


def test_children_search(client):
    needle = MANY[7_777][20:30]
    body = client.get(f"/api/children/{HUB}", params={"q": needle, "limit": 500}).json()
    expected = [a for a in MANY if needle in a]
    assert [c["account"] for c in body["items"]] == expected and body["matching"] == len(expected)
    lower = client.get(f"/api/children/{HUB}", params={"q": MANY[5][10:20].lower()}).json()
    expected = [a for a in MANY if MANY[5][10:20] in a]  # case-insensitive: addresses are upper case
    assert [c["account"] for c in lower["items"]] == expected[:100] and lower["matching"] == len(expected)


def test_children_route_errors(client):
    assert client.get("/api/children/GABC").status_code == 400
    assert client.get(f"/api/children/{UNSEEN}").status_code == 404
    assert client.get(f"/api/children/{HUB}", params={"limit": 501}).status_code == 422
    assert TestClient(client.app).get(f"/api/children/{HUB}").status_code == 401
    small = client.get(f"/api/children/{K3}").json()
    assert [c["account"] for c in small["items"]] == CHILDREN and small["complete"] is True


def test_account_page_shows_every_stored_attribute(client):
    page = client.get(f"/lineage/{HUB}").text
    for text in (
        "auth_required",
        "low_threshold 1",
        "ed25519_public_key",
        "USDC",
        "5.5",
        K2,  # sponsor
        "hub.example",
        "exchange, anchor",
        "last_pipeline_attempt",
        "pipeline_source",
        "children incomplete",
        explorer.CHILDREN_INCOMPLETE[:40],
        'src="../static/vendor/d3.v7.9.0.min.js"',
        'src="../static/lineage.js"',
        f'data-account="{HUB}"',
    ):
        assert text in page, text
    assert "<script>" not in page and " style=" not in page and "onclick" not in page  # CSP: nothing inline


def test_failed_and_invalid_pages_say_why(client):
    failed = client.get(f"/lineage/{F1}").text
    assert "Horizon 503 three times" in failed and "Retries" in failed and "retry cap" in failed
    invalid = client.get(f"/lineage/{I1}").text
    assert "Why INVALID" in invalid and "Horizon 404" in invalid


def test_lineage_json_carries_the_details(client):
    body = client.get(f"/api/lineage/{HUB}", params={"children_limit": 0}).json()
    assert body["details"]["tags"] == ["exchange", "anchor"] and body["details"]["children_count"] == 10_005
    assert dt.datetime.fromisoformat(body["record"]["last_pipeline_attempt"]) == NOW  # the claim in _complete
    assert body["details"]["attributes"]["thresholds"]["high_threshold"] == 3


def test_vendored_d3_is_served_and_pinned(client):
    r = client.get("/static/vendor/d3.v7.9.0.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.text.startswith("// https://d3js.org v7.9.0")
    import hashlib

    readme = (PLUGIN_DIR / "static" / "vendor" / "README.md").read_text()
    assert hashlib.sha256(r.content).hexdigest() in readme
    assert (PLUGIN_DIR / "static" / "vendor" / "d3.LICENSE.txt").read_text().startswith("Copyright 2010-2023 Mike")
    assert client.get("/static/vendor/../../plugin.py").status_code == 404
    assert client.get("/static/vendor/d3.LICENSE.txt").status_code == 404  # only .js/.css/.svg are served


def test_graph_mode_children_when_the_creator_graph_is_loaded(tmp_path):
    from include.stellar_lineage.records import CreationEdge, GraphState

    kids = [named(f"graph-kid-{i}") for i in range(7)]
    with SqliteLineageStore(tmp_path / "g.db") as store:
        store.enqueue("public", [K3, kids[0]])
        assert explorer.children_page(store, "public", K3)["mode"] == "record"  # no graph loaded yet
        t0 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
        edges = [
            CreationEdge(k, K3, 100 + i, t0 + dt.timedelta(minutes=i), (100 + i) << 32) for i, k in enumerate(kids)
        ]
        store.load_edges("public", edges)
        store.set_graph_state(GraphState("public", 200, t0, len(kids), t0, "snap", None))
        first = explorer.children_page(store, "public", K3, limit=3)
        assert first["mode"] == "graph" and first["total"] == 7 and first["complete"] is True
        assert [c["account"] for c in first["items"]] == kids[:3]
        assert first["items"][0]["status"] == "PENDING" and first["items"][1]["status"] is None
        rest = explorer.children_page(store, "public", K3, limit=5, cursor=first["next_cursor"])
        assert [c["account"] for c in rest["items"]] == kids[3:] and rest["next_cursor"] is None
        found = explorer.children_page(store, "public", K3, limit=7, q=kids[4][8:20].lower())
        assert [c["account"] for c in found["items"]] == [kids[4]]
        assert json.loads(json.dumps(found)) == found  # JSON as is: no tuples, datetimes or other types
        with pytest.raises(ValueError):
            explorer.children_page(store, "public", K3, cursor="not-a-cursor")
