"""The BigQuery path against the local emulator + cost shim, the real google-cloud-bigquery client and
the Google provider's BigQueryHook, with the fake Horizon / Stellar Expert of the API tests.

Fixture: the API tests' scenario data set (tests/support/lineage_scenarios.py) plus failed
transactions that exist only in Hubble. A batch is 100 accounts: the scenario's named accounts, the
network root and hub's children.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from include.stellar_lineage.api_pipeline import process_claimed
from include.stellar_lineage.hubble import cost
from include.stellar_lineage.hubble.pipeline import estimate_run, run_batch
from include.stellar_lineage.hubble.query import HubbleClient
from include.stellar_lineage.records import NETWORK_ROOTS, Status
from tests.support.bigquery_fixtures import (  # noqa: F401
    bigquery_emulator,
    hubble_tables,
)
from tests.support.lineage_scenarios import (
    HUB_CHILDREN,
    NAMES,
    A,
    running_stack,
    scenario_dataset,
    scenario_settings,
)
from tests.support.stellar_dataset import Op, address

OWNER = "BIGQUERY:stellar_lineage_bigquery_pipeline:test-run"
HUB_KIDS = [address(f"scenario-hub-child-{i}") for i in range(HUB_CHILDREN)]
BATCH = [A[n] for n in NAMES] + [NETWORK_ROOTS["public"]] + HUB_KIDS[: 100 - len(NAMES) - 1]
NOT_IN_HUBBLE = address("never-created-anywhere")


def failed_ops(ds):
    """Operations of failed transactions: Hubble has them (successful = false), Horizon does not."""
    late = ds.close_time(5000)
    return [
        # a failed later re-creation of alice by issuer must not replace her creator
        Op(
            (5000 << 32) | (1 << 12) | 1,
            "create_account",
            A["issuer"],
            late,
            {"funder": A["issuer"], "account": A["alice"], "starting_balance": "1.0000000"},
            (A["issuer"], A["alice"]),
            "ff" * 32,
        ),
        # a failed child creation by bob must not become a child
        Op(
            (5001 << 32) | (1 << 12) | 1,
            "create_account",
            A["bob"],
            ds.close_time(5001),
            {"funder": A["bob"], "account": address("failed-child"), "starting_balance": "1.0000000"},
            (A["bob"], address("failed-child")),
            "fe" * 32,
        ),
    ]


@pytest.fixture
def world(hubble_tables, tmp_path):
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    ds = scenario_dataset()
    hubble_tables(ds, failed_ops=failed_ops(ds))
    store = SqliteLineageStore(tmp_path / "lineage.db")
    with running_stack(tmp_path / "ratelimit", ds) as stack:
        yield ds, store, stack
    store.close()


def claim(store, accounts):
    store.enqueue("public", accounts)
    records = store.claim_batch(len(accounts), pipeline="BIGQUERY", owner=OWNER, network="public", accounts=accounts)
    assert len(records) == len(accounts)
    return {
        "owner": OWNER,
        "pipeline": "BIGQUERY",
        "records": [{"network": "public", "account": r.stellar_account} for r in records],
    }


def comparable(result_or_record) -> dict:
    """The fields both paths must agree on (sources and the Hubble-only creation block excluded)."""
    r = result_or_record
    if hasattr(r, "stellar_account"):  # a stored record
        attrs = json.loads(r.stellar_account_attributes_json)
        children = json.loads(r.child_accounts_json)
        out = {
            "creator": r.stellar_creator_account,
            "created_at": r.stellar_account_created_at,
            "home_domain": r.home_domain,
            "xlm_balance": r.xlm_balance,
            "assets": json.loads(r.stellar_account_assets_json),
            "tags": [t for t in (r.tags or "").split(",") if t],
        }
    else:
        attrs, children = dict(r.attributes), dict(r.children)
        out = {
            "creator": r.creator,
            "created_at": r.created_at,
            "home_domain": r.home_domain,
            "xlm_balance": r.xlm_balance,
            "assets": r.assets,
            "tags": r.tags,
        }
    attrs.pop("creation", None)
    out.update(attributes=attrs, children_count=children["count"], children=children["children"])
    return out


def assert_nothing_stuck(store, accounts):
    records = store.get_many("public", accounts)
    stuck = [a for a, r in records.items() if r.status == Status.PROCESSING.value]
    assert not stuck, stuck


def run_guarded(store, settings, claimed, stack):
    hubble = HubbleClient(settings)  # through BigQueryHook + google_cloud_default (anonymous, emulator)
    accounts = [r["account"] for r in claimed["records"]]
    guard = estimate_run(store, settings, accounts, "public", hubble=hubble, run_id="r1")
    summary = None
    if guard["approved"]:
        summary = run_batch(
            store,
            settings,
            claimed,
            guard,
            hubble=hubble,
            client_for=lambda network: stack.client(settings),
            run_id="r1",
            timeout_s=60,
        )
    fallback = None
    if store.held_by(claimed["records"], OWNER):
        fallback = process_claimed(  # what the api_fallback task runs (operators/api_finish.py)
            store,
            claimed["records"],
            settings=settings,
            source="BIGQUERY_WITH_API_FALLBACK",
            owner=claimed["owner"],
            pipeline=claimed["pipeline"],
            client_factory=lambda network: stack.client(settings),
        )
    return guard, summary, fallback


def test_batch_of_100_is_one_dry_run_and_one_job_and_equals_the_api_path(world, bigquery_emulator):
    ds, store, stack = world
    settings = scenario_settings()
    claimed = claim(store, BATCH)
    guard, summary, fallback = run_guarded(store, settings, claimed, stack)

    assert guard["decision"] == cost.APPROVED and guard["estimate_bytes"] > 0
    assert bigquery_emulator.stats()["dry_runs"] == 1 and bigquery_emulator.stats()["jobs"] == 1
    assert summary["handed"] == [] and fallback is None  # everything answered by Hubble
    assert summary["invalid"] == 1  # ghost was merged for good: Horizon 404, as on the API path
    assert_nothing_stuck(store, BATCH)

    records = store.get_many("public", BATCH)
    api = stack.client(settings)
    for account in BATCH:
        record = records[account]
        if account == A["ghost"]:
            assert record.status == Status.INVALID.value
            continue
        assert record.status == Status.COMPLETE.value and record.pipeline_source == "BIGQUERY", account
        assert comparable(record) == comparable(api.fetch_lineage(account)), account

    alice = records[A["alice"]]
    assert alice.stellar_creator_account == A["funder"]  # the failed re-creation by issuer is ignored
    assert json.loads(alice.stellar_account_attributes_json)["creation"]["ledger"] == 100
    assert records[A["phoenix"]].stellar_creator_account == A["alice"]  # latest creation wins
    assert json.loads(records[A["bob"]].child_accounts_json)["count"] == 0  # failed child ignored
    hub = json.loads(records[A["hub"]].child_accounts_json)
    assert hub["count"] == HUB_CHILDREN and hub["complete"] and hub["source"] == "hubble"
    # creators were enqueued by complete(): the funder of the hub children etc. are known
    assert store.get("public", A["funder"]).status == Status.COMPLETE.value

    spend = store.spend_summary()
    assert spend["dry_runs"] == 1 and spend["jobs"] == 1 and spend["accounts_billed"] == 100


def test_max_children_caps_the_list_but_not_the_count(world, bigquery_emulator):
    ds, store, stack = world
    settings = scenario_settings(bigquery_max_children=10)
    claimed = claim(store, [A["hub"]])
    run_guarded(store, settings, claimed, stack)
    hub = json.loads(store.get("public", A["hub"]).child_accounts_json)
    assert hub["count"] == HUB_CHILDREN and len(hub["children"]) == 10 and hub["complete"] is False


@pytest.mark.parametrize(
    "limits, spent_before, decision",
    [
        ({"bigquery_cost_limit_usd": 0.0}, 0.0, cost.REFUSED_COST),
        ({"bigquery_cost_limit_usd": 100.0, "bigquery_size_limit_gb": 0.001}, 0.0, cost.REFUSED_SIZE),
        ({"bigquery_daily_budget_usd": 0.5}, 0.5, cost.REFUSED_BUDGET),
    ],
)
def test_guard_refusal_sends_the_whole_batch_to_the_api_path(world, bigquery_emulator, limits, spent_before, decision):
    from include.stellar_lineage.records import SpendEntry

    ds, store, stack = world
    settings = scenario_settings(**limits)
    if spent_before:
        store.record_spend(
            SpendEntry(kind="job", network="public", bytes=1, usd=spent_before, accounts=1, decision="ran")
        )
    batch = BATCH[:20]
    claimed = claim(store, batch)
    guard, summary, fallback = run_guarded(store, settings, claimed, stack)

    assert guard["decision"] == decision and summary is None
    assert bigquery_emulator.stats()["dry_runs"] == 1 and bigquery_emulator.stats()["jobs"] == 0
    assert fallback["complete"] == len(batch) - 1 and fallback["invalid"] == 1  # ghost
    records = store.get_many("public", batch)
    for account in batch:
        if account != A["ghost"]:
            assert records[account].pipeline_source == "BIGQUERY_WITH_API_FALLBACK", account
    assert_nothing_stuck(store, batch)
    assert store.spend_summary()["refused"] == 1


def test_bytes_billed_limit_exceeded_falls_back(world, bigquery_emulator):
    ds, store, stack = world
    settings = scenario_settings()
    batch = BATCH[:20] + [NOT_IN_HUBBLE]
    claimed = claim(store, batch)
    bigquery_emulator.inflate_jobs(1000.0)  # the job would bill far more than the dry run said
    guard, summary, fallback = run_guarded(store, settings, claimed, stack)

    assert guard["approved"] and summary["reason"] == "bytesBilledLimitExceeded"
    assert sorted(summary["handed"]) == sorted(batch) and summary["complete"] == 0
    assert bigquery_emulator.stats()["refused_by_cap"] == 1
    records = store.get_many("public", batch)
    assert records[NOT_IN_HUBBLE].status == Status.INVALID.value  # Horizon 404 on the API path
    done = [a for a in batch if records[a].status == Status.COMPLETE.value]
    assert len(done) == len(batch) - 2
    assert all(records[a].pipeline_source == "BIGQUERY_WITH_API_FALLBACK" for a in done)
    assert_nothing_stuck(store, batch)
    ledger = store.spend_summary()
    assert ledger["jobs"] == 1 and ledger["total_usd"] == 0.0  # refused jobs are not charged


def test_accounts_missing_from_hubble_go_to_the_fallback_only(world, bigquery_emulator):
    ds, store, stack = world
    settings = scenario_settings()
    # 'late' exists on Horizon but Hubble's incremental table has not caught up with its creation yet
    late = address("created-after-hubble-refresh")
    ds.create_account(A["funder"], late, "3", ledger=9000)
    batch = [A["alice"], late]
    claimed = claim(store, batch)
    guard, summary, fallback = run_guarded(store, settings, claimed, stack)

    assert summary["handed"] == [late] and summary["complete"] == 1
    # alice's ancestors (funder, root) came with the same query; the fallback finishes 'late' only,
    # whose creator is then already COMPLETE: nothing left to climb
    assert summary["ancestors"] == 2
    assert fallback["complete"] == 1 and fallback["climbed"] == 0
    records = store.get_many("public", [*batch, A["funder"], A["root"]])
    assert records[A["alice"]].pipeline_source == "BIGQUERY"
    assert records[late].pipeline_source == "BIGQUERY_WITH_API_FALLBACK"
    assert records[late].stellar_creator_account == A["funder"]
    assert records[A["funder"]].pipeline_source == "BIGQUERY"
    assert records[A["root"]].status == "COMPLETE" and records[A["root"]].stellar_creator_account is None


def test_ancestors_of_a_batch_come_from_the_same_query_not_from_horizon(hubble_tables, bigquery_emulator, tmp_path):
    """Deep chains and a creation cycle above a batch: ONE dry run + ONE job answer every ancestor, and
    Horizon is asked only for current attributes (one /accounts/{id} per account of the whole chain,
    counted on the fake Horizon), never for history; every record equals what the API path computes."""
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    ds = scenario_dataset()
    d1, d2 = address("deep-1"), address("deep-2")
    ds.create_account(A["bob"], d1, "3", ledger=3000)
    ds.create_account(d1, d2, "2", ledger=3001)
    # a creation cycle: c1 creates c2, c1 merges into c2, c2 re-creates c1
    c1, c2 = address("cycle-1"), address("cycle-2")
    ds.create_account(A["carol"], c1, "4", ledger=3002)
    ds.create_account(c1, c2, "2", ledger=3003)
    ds.merge(c1, c2, ledger=3004)
    ds.create_account(c2, c1, "1", ledger=3005)
    hubble_tables(ds)
    batch = [d2, A["phoenix"], c1]
    chain = [d1, A["bob"], A["alice"], A["funder"], A["root"], c2]  # none of them requested
    store = SqliteLineageStore(tmp_path / "lineage.db")
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        guard, summary, fallback = run_guarded(store, settings, claim(store, batch), stack)
        horizon = stack.horizon.request_log()
        api = stack.client(settings)
        expected = {a: comparable(api.fetch_lineage(a)) for a in [*batch, *chain]}

    assert guard["approved"] and summary["complete"] == 3 and summary["ancestors"] == len(chain)
    assert summary["handed"] == [] and fallback is None
    spend = store.spend_summary()  # every dry run and job goes through the spend ledger
    assert spend["dry_runs"] == 1 and spend["jobs"] == 1
    paths = sorted(r.path for r in horizon)
    assert paths == sorted(f"/accounts/{a}" for a in [*batch, *chain]), paths  # no history request at all
    records = store.get_many("public", [*batch, *chain])
    for account, record in records.items():
        assert record.status == Status.COMPLETE.value and record.pipeline_source == "BIGQUERY", account
        assert comparable(record) == expected[account], account
    assert records[c1].stellar_creator_account == c2 and records[c2].stellar_creator_account == c1
    assert records[A["phoenix"]].stellar_creator_account == A["alice"]
    assert store.get("public", A["carol"]) is None  # not an ancestor: c1 was re-created by c2
    assert store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]["PENDING"] == 0


def test_creation_ties_inside_one_ledger_follow_the_operation_order(hubble_tables, bigquery_emulator, tmp_path):
    """Merged and re-created within one ledger (one closed_at): the latest operation wins, not the
    funder that sorts first."""
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    ds = scenario_dataset()
    first, latest = sorted([A["funder"], A["alice"]], reverse=True)  # the later funder sorts first
    twin = address("same-ledger-twin")
    ds.create_account(first, twin, "4", ledger=9100)
    ds.merge(twin, first, ledger=9100)
    ds.create_account(latest, twin, "6", ledger=9100)
    hubble_tables(ds)
    store = SqliteLineageStore(tmp_path / "lineage.db")
    with running_stack(tmp_path / "rl", ds) as stack:
        run_guarded(store, scenario_settings(), claim(store, [twin]), stack)
    record = store.get("public", twin)
    assert record.pipeline_source == "BIGQUERY" and record.stellar_creator_account == latest
    creation = json.loads(record.stellar_account_attributes_json)["creation"]
    assert creation["ledger"] == 9100 and creation["op_id"] == ds.ops[-1].id


def test_hubble_children_carry_their_as_of_and_merge_the_horizon_delta(hubble_tables, bigquery_emulator, tmp_path):
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    ds = scenario_dataset()
    hubble_tables(ds)  # Hubble's last load ends here
    as_of = ds.latest_ledger
    newer = address("child-after-hubble")
    ds.create_account(A["alice"], newer, "2", ledger=as_of + 50)  # only Horizon knows it
    store = SqliteLineageStore(tmp_path / "lineage.db")
    with running_stack(tmp_path / "rl", ds) as stack:
        run_guarded(store, scenario_settings(), claim(store, [A["alice"], A["bob"]]), stack)
        delta_scans = stack.horizon.request_log("/payments$")
    alice = json.loads(store.get("public", A["alice"]).child_accounts_json)
    assert [c["account"] for c in alice["children"]] == [A["bob"], A["carol"], A["phoenix"], newer]
    assert alice["count"] == 4 and alice["complete"] is True and alice["as_of_ledger"] == as_of
    assert alice["source"] == "hubble+horizon"
    bob = json.loads(store.get("public", A["bob"]).child_accounts_json)
    assert bob == {"count": 0, "children": [], "complete": True, "source": "hubble", "as_of_ledger": as_of}
    # one payments page, for alice only (bob's entry did not change after Hubble's load)
    assert [(r.path.split("/")[2], r.query["order"]) for r in delta_scans] == [(A["alice"], "asc")]


def test_hook_reaches_the_emulator_anonymously(bigquery_emulator):
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    hook = BigQueryHook(gcp_conn_id="google_cloud_default", use_legacy_sql=False, location="US")
    client = hook.get_client(project_id=hook.project_id, location="US")
    assert hook.project_id == "test-project"
    assert client._connection.API_BASE_URL == bigquery_emulator.shim_url
    assert type(client._credentials).__name__ == "AnonymousCredentials"
    assert [tuple(row.values()) for row in client.query("SELECT 1 AS one").result()] == [(1,)]  # a real job
