"""Export: NDJSON / CSV of records round-trip every field; GraphML / DOT of a subgraph; the CLI;
the plugin routes stream and need a user."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from include.stellar_lineage import export
from include.stellar_lineage.export_cli import main
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support.explorer_data import seed_testnet_chain

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from tests.plugins.seed_lineage import seed

    path = tmp_path_factory.mktemp("export") / "lineage.db"
    with SqliteLineageStore(path) as store:
        seed(store, NOW)
        data = seed_testnet_chain(store, NOW, fanout=40)
    return path, data


def _all(path: Path) -> list:
    with SqliteLineageStore(path) as store:
        return list(store.iter_records())


@pytest.mark.parametrize(("fmt", "parse"), [("ndjson", export.parse_ndjson), ("csv", export.parse_csv)])
def test_records_round_trip_every_field(seeded, fmt, parse):
    path, _ = seeded
    originals = _all(path)
    with SqliteLineageStore(path) as store:
        text = "".join(export.export_records(store, fmt))
    back = list(parse(io.StringIO(text, newline="")))
    assert back == originals and len(back) == 13 + 2 + 7 + 10
    balances = {r.xlm_balance for r in back if r.xlm_balance}
    assert "72.8563792" in balances  # exact decimal string, never a float


def test_record_filters(seeded):
    path, _ = seeded
    with SqliteLineageStore(path) as store:
        rows = list(export.parse_ndjson(export.export_records(store, "ndjson", network="public", status="COMPLETE")))
        assert rows and all(r.network_name == "public" and r.status == "COMPLETE" for r in rows)
        bq = list(export.parse_ndjson(export.export_records(store, "ndjson", source="BIGQUERY")))
        assert len(bq) == 2
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        assert list(export.export_records(store, "ndjson", updated_since=later)) == []
        with pytest.raises(ValueError):
            export.export_records(store, "xml")


def test_graph_exports(seeded):
    path, data = seeded
    with SqliteLineageStore(path) as store:
        graphml = "".join(export.export_graph(store, "graphml", "testnet", data["hub"], depth=1))
        dot = "".join(export.export_graph(store, "dot", "testnet", data["hub"], depth=2))
    nodes, edges = export.parse_graphml(graphml)
    chain = data["chain"]
    assert set(chain[:5]) | set(data["fan"]) <= nodes and len(nodes) == 4 + 1 + 40
    assert (chain[3], data["fan"][7]) in edges and (chain[0], chain[1]) in edges  # root → L1 … hub → fan
    assert '<data key="status">COMPLETE</data>' in graphml and "hub.testnet.example" in graphml
    assert dot.startswith('digraph "lineage-testnet" {') and f'"{chain[4]}" -> "{chain[5]}";' in dot  # depth 2


def test_cli_records_and_graph(seeded, tmp_path):
    path, data = seeded
    out = tmp_path / "records.csv"
    assert main(["--sqlite", str(path), "--out", str(out), "records", "--format", "csv", "--network", "testnet"]) == 0
    with out.open(newline="") as fh:
        rows = list(export.parse_csv(fh))
    assert {r.network_name for r in rows} == {"testnet"} and len(rows) == 2 + 7 + 10
    buffer = io.StringIO()
    assert main(["--sqlite", str(path), "graph", data["leaf"], "--network", "testnet", "--format", "dot"], buffer) == 0
    assert buffer.getvalue().count("->") == 6  # the depth-6 chain, leaf without children


def test_cli_refuses_a_secret_seed_without_echoing_it(seeded, capsys):
    path, _ = seeded
    secret = "SBQWY3DNPFWGSZTFNZTHSZLTMVZXI5LJN5XXE3DJMFZWY2LPNZRW6ZLEMFXHI3TT"[:56]
    assert main(["--sqlite", str(path), "graph", secret]) == 1
    err = capsys.readouterr().err
    assert secret not in err and "secret seed" in err


def test_plugin_routes_stream_and_need_a_user(seeded, airflow_db):
    from fastapi.testclient import TestClient

    from include.stellar_lineage.config import parse_settings
    from include.stellar_lineage.ui.app import create_app
    from tests.plugins.test_explorer import PLUGIN_DIR, token_for_viewer

    path, data = seeded
    settings = parse_settings({"sqlite_path": str(path)})
    client = TestClient(create_app(assets_dir=PLUGIN_DIR, settings_loader=lambda: settings, clock=lambda: NOW))
    assert client.get("/api/export/records.ndjson").status_code == 401
    client.headers["Authorization"] = f"Bearer {token_for_viewer()}"
    r = client.get("/api/export/records.csv", params={"network": "testnet"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert len(list(export.parse_csv(io.StringIO(r.text, newline="")))) == 19
    nd = client.get("/api/export/records.ndjson", params={"status": "FAILED"}).text.splitlines()
    assert [json.loads(line)["status"] for line in nd] == ["FAILED"]
    assert client.get("/api/export/records.ndjson", params={"status": "DONE"}).status_code == 400
    assert client.get("/api/export/records.xml").status_code == 404
    g = client.get(f"/api/export/graph/{data['hub']}.graphml", params={"network": "testnet", "depth": 1})
    assert g.status_code == 200 and len(export.parse_graphml(g.text)[0]) == 45
    assert client.get("/api/export/graph/GABC.dot").status_code == 400
    assert client.get(f"/api/export/graph/{data['hub']}.dot", params={"network": "public"}).status_code == 404
