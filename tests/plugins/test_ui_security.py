"""Security headers, static-path hardening and seed redaction of the stats plugin (ui/security.py),
through the app alone and mounted in Airflow's real API app (whose access log is captured)."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.seeds import REDACTED, SEED_SHAPE
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.ui.app import create_app
from include.stellar_lineage.ui.security import CSP
from include.stellar_lineage.validation import SEED_MESSAGE
from tests.plugins.seed_lineage import K3, seed
from tests.support.seed_shapes import DERIVED, shapes

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "lineage_stats"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "SAMEORIGIN",
}


@pytest.fixture(scope="module")
def token(airflow_db):
    from airflow.api_fastapi.app import init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return init_auth_manager().generate_jwt(SimpleAuthManagerUser(username="sec", role="viewer"))


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("lineage") / "lineage.db"
    store = SqliteLineageStore(path)
    seed(store, NOW)
    store.close()
    return path


@pytest.fixture(scope="module")
def client(store_path, token):
    settings = parse_settings({"sqlite_path": str(store_path)})
    app = create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings, clock=lambda: NOW)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def _leaks(text: str) -> bool:
    squeezed = re.sub(r"[^A-Za-z0-9]", "", urllib.parse.unquote(urllib.parse.unquote(text))).upper()
    return DERIVED in text.upper() or DERIVED in squeezed


@pytest.mark.parametrize(
    "path",
    ["/", f"/lineage/{K3}", "/lineage?account=x", "/api/dashboard", "/static/style.css", "/static/nope.js", "/nope"],
)
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert {k: r.headers.get(k) for k in HEADERS} == HEADERS, path
    anonymous = TestClient(client.app).get(path)  # 401s (and 404s of unknown routes) too
    assert anonymous.status_code in (401, 404) and anonymous.headers["content-security-policy"] == CSP


def test_csp_is_strict_and_fits_the_airflow_iframe():
    assert "frame-ancestors 'self'" in CSP and "script-src 'self'" in CSP and "style-src 'self'" in CSP
    assert "unsafe" not in CSP and "default-src 'none'" in CSP


def test_pages_have_no_inline_script_or_style(client):
    for path in ("/", f"/lineage/{K3}", "/lineage?account=GBAD"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # every script is a file
        assert " style=" not in html and "javascript:" not in html and not re.search(r"\son\w+=", html)
    for js in (PLUGIN_DIR / "static").glob("*.js"):
        assert "setAttribute(k, attrs[k])" in js.read_text() or "setAttribute(" not in js.read_text()
        assert "eval(" not in js.read_text() and "innerHTML" not in js.read_text()


def test_search_field_is_never_submitted_natively(client):
    html = client.get("/").text
    form = re.search(r'<form class="search".*?</form>', html, re.S).group(0)
    assert re.findall(r'<input[^>]*\bname="(\w+)"', form) == ["network"]  # the account field has no name
    assert 'src="static/search.js"' in html
    assert f'data-seed-message="{SEED_MESSAGE}"' in form
    assert 'data-seed-pattern="' in form


@pytest.mark.parametrize(
    "path",
    [
        "/static/%00",
        "/static/style.css%00.js",
        "/static/..%2Fplugin.py",
        "/static/../plugin.py",
        "/static/%2e%2e/plugin.py",
        "/static/.hidden.js",
        "/static/a\\b.js",
        "/static/%FF%FE.js",
        "/static/" + "a" * 5000 + ".js",
        "/static/",
        "/static/style.css/",
        "/static/sub/../../plugin.py",
    ],
)
def test_malformed_static_paths_are_404_never_500(client, path):
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", list(shapes()))
def test_seed_in_a_url_is_refused_and_redacted_in_every_response(client, name):
    text = shapes()[name][0]
    for r in (
        client.get("/api/lineage/" + urllib.parse.quote(text, safe="")),
        client.get("/lineage/" + urllib.parse.quote(text, safe="")),
        client.get("/lineage", params={"account": text}),
    ):
        assert r.status_code in (400, 404), (name, r.status_code)
        assert not _leaks(r.text), (name, r.text[:300])


def test_the_seed_regex_in_the_page_matches_the_server(client):
    html = client.get("/").text
    import html as html_lib

    shown = html_lib.unescape(re.search(r'data-seed-pattern="([^"]*)"', html).group(1))
    assert shown == SEED_SHAPE


def test_access_log_line_of_airflow_never_holds_the_seed(store_path, token, monkeypatch):
    """Mounted in Airflow's real app: the ``http.access`` line is written from the same ASGI scope."""
    import structlog
    from airflow.api_fastapi.app import create_app as create_airflow_app, purge_cached_app

    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH", str(store_path))
    app = create_airflow_app(apps="core")
    urls = [
        f"/stellar-lineage/lineage/{DERIVED}",
        f"/stellar-lineage/api/lineage/{DERIVED.lower()}",
        f"/stellar-lineage/lineage?account={urllib.parse.quote(chr(34) + DERIVED + chr(34) + ',')}",
        "/stellar-lineage/lineage?account=" + "".join(f"%{ord(c):02X}" for c in DERIVED),
        f"/stellar-lineage/api/lineage/%0A{DERIVED}%0A",  # no route of the plugin matches a newline
        f"/api/v2/dags/{DERIVED}",  # Airflow's own routes too (the root middleware)
        f"/api/v2/dags?dag_id_pattern={DERIVED.lower()}",
        f"/stellar-lineage/lineage/{K3}",
    ]
    try:
        with TestClient(app) as c, structlog.testing.capture_logs() as logs:
            for url in urls:
                r = c.get(url, headers={"Authorization": f"Bearer {token}"})
                # the plugin's responses; Airflow's own 404s quote the id back (not ours to change)
                assert not _leaks(r.text) or not url.startswith("/stellar-lineage/"), (url, r.text[:300])
    finally:
        purge_cached_app()
    access = [e for e in logs if e.get("event") == "request finished"]
    assert len(access) == len(urls), logs
    for entry in access:
        line = f"{entry.get('path')}?{entry.get('query')}"
        assert not _leaks(line), line
    assert access[-1]["path"] == f"/stellar-lineage/lineage/{K3}"  # other requests are logged as they are
    assert sum(REDACTED in urllib.parse.unquote_plus(f"{e['path']}?{e['query']}") for e in access) == 7
