"""Issue 15 must-show: after a snapshot of a synthetic world, 10,000 requested accounts complete with no
Hubble query and at most one Horizon request each, counted on the fake Horizon's side.

The snapshot is the world's create_account operations up to ``as_of`` loaded through the store's edge
API (``World.load_into``); the fake Horizon serves the same operations and account states over real
HTTP. Graph mode completes the records from the edge table in bulk, then the attribute follow-ups
(one ``GET /accounts/{id}`` each) fill the current attributes. ~1-2 minutes on the shared 2 cores.
"""

from __future__ import annotations

import collections
import json
import random

import pytest

from include.stellar_lineage.graph_mode import complete_from_graph, run_followups
from include.stellar_lineage.hubble.pipeline import GRAPH_COVERS, estimate_batch
from include.stellar_lineage.records import NETWORK_ROOTS
from tests.support.graph_world import build_world
from tests.support.lineage_scenarios import running_stack, scenario_settings

pytestmark = pytest.mark.slow_module(90)  # rough wall time (s): started first under pytest-xdist

REQUESTED = 10_000


class CountingHubble:
    """Counts every call that would reach BigQuery (the spend ledger records them too)."""

    def __init__(self) -> None:
        self.calls = 0

    def dry_run(self, accounts, **kw):
        self.calls += 1
        raise AssertionError("no Hubble query is needed once the graph is loaded")

    run = dry_run


def test_ten_thousand_requested_accounts_complete_from_the_graph(sqlite_store, tmp_path):
    world = build_world(REQUESTED + 1_000, n_later=50, seed=15)
    world.load_into(sqlite_store)
    requested = random.Random(15).sample(world.covered, REQUESTED)
    settings = scenario_settings(graph_mode=True, bigquery_batch_size=100)
    hubble = CountingHubble()
    with running_stack(tmp_path / "rl", world.ds) as stack:
        sqlite_store.enqueue("public", requested)
        # the BigQuery DAG's guard, batch by batch: no dry run, no job
        for i in range(0, REQUESTED, settings.bigquery_batch_size):
            batch = requested[i : i + settings.bigquery_batch_size]
            assert estimate_batch(sqlite_store, settings, batch, "public", hubble=hubble)["decision"] == GRAPH_COVERS
        out = complete_from_graph(sqlite_store, settings, "public", requested, owner="graph-run")
        assert stack.horizon.count() == 0 and stack.expert.count("/account/") == 0
        completed = out["complete"]
        assert completed >= REQUESTED and out["left_pending"] == 0
        records = sqlite_store.get_many("public", requested)
        assert all(r.status == "COMPLETE" and r.pipeline_source == "BIGQUERY" for r in records.values())
        assert sqlite_store.followup_depth() == completed

        client = stack.client(settings)
        summary = run_followups(sqlite_store, settings, lambda n: client, owner="followups", limit=completed + 10)
        per_path = collections.Counter(r.path for r in stack.horizon.request_log())
    assert hubble.calls == 0 and sqlite_store.spend_summary()["dry_runs"] == 0
    assert summary["claimed"] == completed and sqlite_store.followup_depth() == 0
    # server side: only GET /accounts/{id}, at most once per account, once per completed record
    assert all(path.startswith("/accounts/") and path.count("/") == 2 for path in per_path)
    assert max(per_path.values()) == 1 and sum(per_path.values()) == completed
    assert all(per_path[f"/accounts/{a}"] == 1 for a in requested)

    # the records are the world's truth: latest creation up to as_of, current balance from Horizon
    truth = {e.account: e for e in world.edges()}
    records = sqlite_store.get_many("public", requested)
    for account in requested:
        rec, edge = records[account], truth[account]
        assert (rec.stellar_creator_account, rec.stellar_account_created_at) == (edge.creator, edge.created_at)
        if account == world.vanished:
            assert "no longer exists" in rec.last_error
        else:
            state = world.ds.accounts[account]
            assert rec.xlm_balance == f"{state.balance:.7f}"
    changed = next(a for a in requested if a in world.changed_funders)
    children = json.loads(records[changed].child_accounts_json)
    assert children["complete"] is False and children["as_of_ledger"] == world.as_of_ledger  # "as of ledger N"
    assert sqlite_store.lineage("public", requested[0])["reaches_root"]
    assert sqlite_store.get("public", NETWORK_ROOTS["public"]).status == "COMPLETE"
