"""The creator graph end to end on the BigQuery emulator (+ cost shim): a 200 k-create synthetic world
(tests/support/hubble_world.py) loaded with NDJSON load jobs, the snapshot query behind the cost guard,
its result table read with the Storage Read API over the emulator's gRPC port, loaded into a SQLite
edge table, and compared with the world's ground truth for EVERY account; then ledgers appended
after the snapshot and picked up by an incremental refresh whose dry-run estimate covers only the new
partitions, interrupted and resumed without a second query.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from include.stellar_lineage.config import parse_settings
from include.stellar_lineage.hubble import graph_load
from include.stellar_lineage.hubble.graph import GraphHubble, GraphNotLoaded, plan
from include.stellar_lineage.hubble.pipeline import estimate_batch
from include.stellar_lineage.hubble.query import HubbleClient
from include.stellar_lineage.hubble.storage_read import EMULATOR_ENV, read_client
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support import hubble_world as graph_world
from tests.support.bigquery_fixtures import HUBBLE_PROJECT, bigquery_emulator  # noqa: F401

N_CREATES = 200_000


@pytest.fixture(scope="module")
def world():
    return graph_world.generate(N_CREATES, seed=15, months=24, later_creates=3_000, later_months=2)


@pytest.fixture(scope="module")
def hubble_world(bigquery_emulator, world):  # noqa: F811 - pytest fixture
    client = bigquery_emulator.client()
    dataset = f"graphworld_{uuid.uuid4().hex[:8]}"
    graph_world.load_world(client, HUBBLE_PROJECT, dataset, world)
    saved = os.environ.get(EMULATOR_ENV)
    os.environ[EMULATOR_ENV] = bigquery_emulator.grpc_host
    settings = parse_settings({"bigquery_dataset": dataset, "bigquery_scratch_dataset": f"scratch_{dataset}"})
    yield client, dataset, settings
    if saved is None:
        os.environ.pop(EMULATOR_ENV, None)
    else:
        os.environ[EMULATOR_ENV] = saved
    for name in (f"{HUBBLE_PROJECT}.{dataset}", f"{HUBBLE_PROJECT}.{dataset}_dbt"):
        client.delete_dataset(name, delete_contents=True, not_found_ok=True)
    client.delete_dataset(
        f"{client.project}.{settings.bigquery_scratch_dataset}", delete_contents=True, not_found_ok=True
    )


def _month(text: str) -> str:
    return text[:7]


def expected_bytes(ops, ledgers, since: dt.datetime | None = None) -> int:
    """BigQuery's logical bytes of the referenced columns (NULL 0, INT64 8, BOOL 1, STRING 2 + len)
    over the kept MONTH partitions, computed from the world's rows (reference/hubble_graph.md)."""
    keep = (lambda row: True) if since is None else (lambda row: _month(row["closed_at"]) >= f"{since:%Y-%m}")
    total = 0
    for row in ops:
        if keep(row):
            total += 8 + 1 + (8 if since is not None else 0)  # op_id, successful (+ closed_at in WHERE)
            total += sum(2 + len(row[c]) for c in ("account", "funder") if row[c] is not None)
    total += sum(16 for row in ledgers if keep(row))  # sequence + closed_at
    return total


def guard(store, settings, graph, hubble):
    return estimate_batch(
        store,
        settings,
        [],
        "public",
        hubble=hubble.hubble,
        run_id="test",
        estimate=lambda: hubble.dry_run(graph),
        referenced_tables=2,
    )


def assert_matches_truth(store, truth, world) -> None:
    accounts = list(truth)
    edges = store.edges_of("public", accounts + world.failed_only)
    assert len(edges) == len(truth), "failed-only accounts must have no edge"
    wrong = [
        (a, edges.get(a), t)
        for a, t in truth.items()
        if a not in edges
        or (edges[a].creator, edges[a].ledger, edges[a].created_at) != (t.creator, t.ledger, t.created_at)
    ]
    assert not wrong, f"{len(wrong)} accounts differ from the ground truth, e.g. {wrong[:3]}"


def test_snapshot_equals_ground_truth_then_refresh_picks_up_new_ledgers(hubble_world, world, tmp_path, monkeypatch):
    client, dataset, settings = hubble_world
    store = SqliteLineageStore(tmp_path / "graph.db")
    hubble = GraphHubble(settings, HubbleClient(settings, client=client))
    with pytest.raises(GraphNotLoaded):
        plan(store, "public", "refresh")

    # --- snapshot -------------------------------------------------------------------------------
    graph = plan(store, "public", "snapshot")
    decision = guard(store, settings, graph, hubble)
    assert decision["approved"], decision
    assert decision["estimate_bytes"] == expected_bytes(world.ops, world.ledgers)
    fresh_flags: set[bool] = set()
    first_load = store.load_edges

    def spied_load(network, edges, *, chunk_size, fresh=False):
        fresh_flags.add(fresh)
        return first_load(network, edges, chunk_size=chunk_size, fresh=fresh)

    monkeypatch.setattr(store, "load_edges", spied_load)
    summary = graph_load.run_graph_load(
        store, settings, graph, decision, hubble=hubble, read_client=lambda: read_client(None)
    )
    monkeypatch.setattr(store, "load_edges", first_load)
    assert fresh_flags == {True}  # a first snapshot into an empty edge table may skip per-edge reads
    assert summary["new_accounts"] == summary["edges"] == len(world.truth)
    assert_matches_truth(store, world.truth, world)
    a, b = world.cycle  # A created B, A merged into B, B re-created A
    assert store.edges_of("public", [a])[a].creator == b and store.edges_of("public", [b])[b].creator == a
    assert [e.account for e in store.creator_chain("public", a)] == [a, b]
    assert all(store.edges_of("public", [c])[c].creator.startswith("G") for c in world.muxed_children[:50])
    state = store.graph_state("public")
    assert state.as_of_ledger == max(t.ledger for t in world.truth.values()) and state.resume_cursor is None
    spend = store.spend_summary()
    assert spend["dry_runs"] == 1 and spend["jobs"] == 1
    assert list(client.list_tables(f"{client.project}.{settings.bigquery_scratch_dataset}")) == []  # dropped

    # --- refresh after new ledgers --------------------------------------------------------------
    graph_world.append_later(client, HUBBLE_PROJECT, dataset, world)
    refresh = plan(store, "public", "refresh")
    assert refresh.since == state.as_of_time
    decision = guard(store, settings, refresh, hubble)
    all_ops, all_ledgers = world.ops + world.later_ops, world.ledgers + world.later_ledgers
    assert decision["estimate_bytes"] == expected_bytes(all_ops, all_ledgers, since=state.as_of_time)
    assert decision["estimate_bytes"] * 5 < expected_bytes(all_ops, all_ledgers), "refresh must prune partitions"

    # interrupted after two chunks, resumed without a new query
    calls = {"loads": 0, "queries": 0}
    real_load, real_query = store.load_edges, hubble.create_result_table

    def flaky_load(network, edges, *, chunk_size, fresh=False):
        assert not fresh, "a refresh upserts into a loaded graph: never fresh"
        calls["loads"] += 1
        if calls["loads"] == 3:
            raise ConnectionError("store went away")
        return real_load(network, edges, chunk_size=chunk_size)

    def counted_query(*args, **kw):
        calls["queries"] += 1
        return real_query(*args, **kw)

    monkeypatch.setattr(store, "load_edges", flaky_load)
    monkeypatch.setattr(hubble, "create_result_table", counted_query)
    with pytest.raises(ConnectionError):
        graph_load.run_graph_load(
            store, settings, refresh, decision, hubble=hubble, read_client=lambda: read_client(None), chunk_size=1000
        )
    halfway = store.graph_state("public")
    assert halfway.resume_cursor and halfway.as_of_ledger == state.as_of_ledger  # coverage not advanced yet
    resumed = plan(store, "public", "refresh")
    assert resumed.resume is not None
    summary = graph_load.run_graph_load(
        store, settings, resumed, {}, hubble=hubble, read_client=lambda: read_client(None), chunk_size=1000
    )
    assert calls["queries"] == 1, "the resumed load must not query again"
    assert_matches_truth(store, world.truth_later, world)
    done = store.graph_state("public")
    assert done.as_of_ledger == max(t.ledger for t in world.truth_later.values()) > state.as_of_ledger
    assert done.edges == len(world.truth_later) and done.resume_cursor is None
    assert summary["edges"] == done.edges
