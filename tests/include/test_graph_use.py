"""Resolution from the creator graph (issue 15): the API path and graph mode against the fake Horizon
over real HTTP, the SQLite store's edge table loaded from the same synthetic operations the fake
Horizon serves. Requests are counted on the server side."""

from __future__ import annotations

import json

import pytest

from include.stellar_lineage.api_pipeline import process_claimed
from include.stellar_lineage.graph_mode import complete_from_graph, run_followups
from include.stellar_lineage.hubble.pipeline import GRAPH_COVERS, estimate_batch
from include.stellar_lineage.records import NETWORK_ROOTS
from tests.support.graph_world import build_world, leaves
from tests.support.lineage_scenarios import running_stack, scenario_settings

ROOT = NETWORK_ROOTS["public"]


@pytest.fixture(scope="module")
def world():
    return build_world(60, n_later=6, seed=11)


@pytest.fixture
def store(sqlite_store, world):
    world.load_into(sqlite_store)
    return sqlite_store


def claim(store, accounts, owner="run-1", pipeline="API"):
    got = store.claim_batch(len(accounts), pipeline=pipeline, owner=owner, network="public", accounts=accounts)
    return [{"network": r.network_name, "account": r.stellar_account} for r in got]


def run(store, stack, settings, accounts, source="API"):
    store.enqueue("public", accounts)
    client = stack.client(settings)
    return process_claimed(
        store,
        claim(store, accounts),
        settings=settings,
        source=source,
        owner="run-1",
        client_factory=lambda network: client,
    )


def creation_op(world, account):
    ops = [o for o in world.ds.ops if o.type == "create_account" and o.fields["account"] == account]
    return [o for o in ops if o.ledger <= world.as_of_ledger][-1]


def test_covered_unchanged_account_costs_one_horizon_request(store, world, tmp_path):
    leaf = next(a for a in leaves(world) if a not in (world.recreated, world.vanished))
    with running_stack(tmp_path / "rl", world.ds) as stack:
        run(store, stack, scenario_settings(), [leaf])
        rec = store.get("public", leaf)
        assert stack.horizon.count(f"^/accounts/{leaf}$") == 1
        assert stack.horizon.count(f"^/accounts/{leaf}/") == 0  # no history request
        assert stack.expert.count("/account/") == 0  # no Stellar Expert creator lookup
    op = creation_op(world, leaf)
    assert rec.status == "COMPLETE" and rec.pipeline_source == "BIGQUERY"
    assert rec.stellar_creator_account == op.fields["funder"] and rec.stellar_account_created_at == op.created_at
    children = json.loads(rec.child_accounts_json)
    assert children == {
        "count": 0,
        "children": [],
        "complete": True,
        "source": "graph",
        "as_of_ledger": world.as_of_ledger,
    }
    assert rec.xlm_balance == "5.0000000"  # the current Horizon state, not the graph's
    assert json.loads(rec.stellar_account_attributes_json)["creation"]["ledger"] == op.ledger


def test_whole_chain_resolves_from_the_graph_one_request_per_account(store, world, tmp_path):
    deepest = max(leaves(world), key=lambda a: len(store.creator_chain("public", a)))
    chain = [e.creator for e in store.creator_chain("public", deepest)]
    assert chain[-1] == ROOT and len(chain) >= 3
    with running_stack(tmp_path / "rl", world.ds) as stack:
        summary = run(store, stack, scenario_settings(), [deepest])
        horizon = stack.horizon.request_log()
    assert summary["complete"] == len(chain) + 1
    for account in [deepest, *chain]:
        rec = store.get("public", account)
        assert rec.status == "COMPLETE" and rec.pipeline_source == "BIGQUERY", account
    # one /accounts/{id} each; a payments page only for accounts whose entry changed after the snapshot
    # (they funded a later account), plus Horizon's root document (retention floor) once for those
    changed = [a for a in [deepest, *chain] if world.ds.accounts[a].last_modified_ledger > world.as_of_ledger]
    expected = [f"/accounts/{a}" for a in [deepest, *chain]] + [f"/accounts/{a}/payments" for a in changed]
    paths = [r.path for r in horizon]
    assert sorted(p for p in paths if p != "/") == sorted(expected)
    assert paths.count("/") == (1 if changed else 0)
    assert store.get("public", ROOT).stellar_creator_account is None


def test_children_created_after_the_snapshot_come_from_one_delta_scan(store, world, tmp_path):
    funder = sorted(world.changed_funders)[0]
    later_children = [
        o.fields["account"]
        for o in world.ds.ops
        if o.type == "create_account" and o.fields["funder"] == funder and o.ledger > world.as_of_ledger
    ]
    graph_children = [e.account for e in store.children_edges("public", funder, limit=1000)]
    with running_stack(tmp_path / "rl", world.ds) as stack:
        run(store, stack, scenario_settings(), [funder])
        payments = stack.horizon.request_log(f"^/accounts/{funder}/payments$")
    assert len(payments) == 1 and payments[0].query["order"] == "asc"
    assert int(payments[0].query["cursor"]) == (world.as_of_ledger + 1) << 32
    children = json.loads(store.get("public", funder).child_accounts_json)
    assert [c["account"] for c in children["children"]] == graph_children + later_children
    assert children["count"] == len(graph_children) + len(later_children)
    assert children["complete"] is True and children["source"] == "graph+horizon"


def test_recreated_after_the_snapshot_takes_the_later_creator(store, world, tmp_path):
    with running_stack(tmp_path / "rl", world.ds) as stack:
        run(store, stack, scenario_settings(), [world.recreated])
    latest = [o for o in world.ds.ops if o.type == "create_account" and o.fields["account"] == world.recreated][-1]
    rec = store.get("public", world.recreated)
    assert latest.ledger > world.as_of_ledger
    assert (
        rec.stellar_creator_account == latest.fields["funder"] != creation_op(world, world.recreated).fields["funder"]
    )
    assert rec.stellar_account_created_at == latest.created_at


def test_account_created_after_the_snapshot_takes_the_normal_api_path(store, world, tmp_path):
    account = world.later[0]
    with running_stack(tmp_path / "rl", world.ds) as stack:
        run(store, stack, scenario_settings(), [account])
        assert stack.horizon.count(f"^/accounts/{account}/payments$") == 1  # the usual desc scan
    rec = store.get("public", account)
    assert rec.status == "COMPLETE" and rec.pipeline_source == "API"
    assert json.loads(rec.child_accounts_json)["source"] == "horizon"


def test_merged_since_the_snapshot_is_invalid_as_on_the_api_path(store, world, tmp_path):
    with running_stack(tmp_path / "rl", world.ds) as stack:
        run(store, stack, scenario_settings(), [world.vanished])
    assert store.get("public", world.vanished).status == "INVALID"


def test_graph_mode_completes_without_requests_then_followups_cost_one_each(store, world, tmp_path):
    requested = [a for a in leaves(world) if a != world.recreated][:10]
    settings = scenario_settings(graph_mode=True)
    with running_stack(tmp_path / "rl", world.ds) as stack:
        summary = run(store, stack, settings, requested)
        assert stack.horizon.count() == 0 and stack.expert.count() == 0
        done = summary["graph_complete"]
        assert done >= len(requested) and store.followup_depth() == done
        for account in requested:
            rec = store.get("public", account)
            assert rec.status == "COMPLETE" and rec.pipeline_source == "BIGQUERY"
            assert rec.xlm_balance is None and json.loads(rec.stellar_account_attributes_json)["attributes_pending"]
            assert json.loads(rec.child_accounts_json)["complete"] is False  # "as of ledger N" until checked
        client = stack.client(settings)
        fu = run_followups(store, settings, lambda n: client, owner="fu", limit=1000)
        per_account = [stack.horizon.count(f"^/accounts/{a}$") for a in requested]
        assert stack.horizon.count() == done and per_account == [1] * len(requested)
    assert fu["claimed"] == done and store.followup_depth() == 0
    assert fu.get("vanished", 0) == int(world.vanished in requested)
    for account in requested:
        rec = store.get("public", account)
        if account == world.vanished:
            assert "no longer exists" in rec.last_error
            continue
        assert rec.xlm_balance == "5.0000000" and "attributes_pending" not in rec.stellar_account_attributes_json
        assert json.loads(rec.child_accounts_json)["complete"] is True  # unchanged since the snapshot


def test_graph_mode_bulk_completes_pending_and_leaves_uncovered_pending(store, world):
    store.enqueue("public", [*world.covered[:20], *world.later])
    out = complete_from_graph(
        store, scenario_settings(graph_mode=True), "public", [*world.covered[:20], *world.later], owner="bulk", chunk=7
    )
    assert out["left_pending"] == len(world.later)
    assert all(store.get("public", a).status == "PENDING" for a in world.later)
    assert all(store.get("public", a).status == "COMPLETE" for a in world.covered[:20])
    assert store.lineage("public", world.covered[19])["reaches_root"]  # chain climbed in the same call


def test_bigquery_batch_makes_no_hubble_query_once_a_graph_is_loaded(store, world):
    class NoHubble:
        def dry_run(self, accounts):
            raise AssertionError("Hubble must not be queried")

    decision = estimate_batch(store, scenario_settings(), world.covered[:5], "public", hubble=NoHubble())
    assert decision["decision"] == GRAPH_COVERS and not decision["approved"]
    assert store.spend_summary()["dry_runs"] == 0


def test_bigquery_fallback_writes_graph_records_as_bigquery(store, world, tmp_path):
    leaf = leaves(world)[0]
    with running_stack(tmp_path / "rl", world.ds) as stack:
        run(store, stack, scenario_settings(), [leaf, world.later[1]], source="BIGQUERY_WITH_API_FALLBACK")
    assert store.get("public", leaf).pipeline_source == "BIGQUERY"
    assert store.get("public", world.later[1]).pipeline_source == "BIGQUERY_WITH_API_FALLBACK"
