"""A signed-out browser asking for a plugin page is sent to Airflow's login page (with ``next``);
API clients and scripts keep the JSON 401."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.ui.app import create_app

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "lineage_stats"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def client(tmp_path_factory, airflow_db):
    from airflow.api_fastapi.app import init_auth_manager

    init_auth_manager()
    settings = parse_settings({"sqlite_path": str(tmp_path_factory.mktemp("login") / "l.db")})
    outer = FastAPI()  # as Airflow mounts plugin apps: under a prefix, here also below a base path
    outer.mount("/base/stellar-lineage", create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings))
    return TestClient(outer, follow_redirects=False)


@pytest.mark.parametrize("path", ["/base/stellar-lineage/", "/base/stellar-lineage/lineage/GABC?network=public"])
def test_a_page_without_a_session_redirects_to_the_login(client, path):
    r = client.get(path, headers=HTML)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == "/base/auth/login"
    assert parse_qs(target.query)["next"] == [f"http://testserver{path}"]


def test_a_bad_token_on_a_page_redirects_too(client):
    r = client.get("/base/stellar-lineage/", headers={**HTML, "Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 303


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/base/stellar-lineage/api/pipeline-stats", HTML),  # API routes never redirect
        ("/base/stellar-lineage/static/style.css", HTML),
        ("/base/stellar-lineage/", {"Accept": "application/json"}),  # a script asking for JSON
        ("/base/stellar-lineage/", {}),  # curl / requests default: */*
    ],
)
def test_scripts_and_api_clients_keep_the_json_401(client, path, headers):
    r = client.get(path, headers=headers)
    assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
