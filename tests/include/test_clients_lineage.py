"""fetch_lineage against the fake Horizon / Stellar Expert over real HTTP: exact LineageResults."""

from __future__ import annotations

import datetime as dt

import pytest

from include.stellar_lineage.clients import AccountNotFound, TransientApiError
from include.stellar_lineage.records import LineageResult
from tests.support.fake_http import Reply
from tests.support.fake_stellar import problem
from tests.support.lineage_scenarios import A, HUB_CHILDREN, LP_ID, running_stack, scenario_settings
from tests.support.stellar_dataset import address, iso


@pytest.fixture
def stack(tmp_path):
    with running_stack(tmp_path) as s:
        yield s


def horizon_requests(stack) -> list[str]:
    return [
        r.path + ("?" + "&".join(f"{k}={v}" for k, v in sorted(r.query.items())) if r.query else "")
        for r in stack.horizon.request_log()
    ]


def test_normal_account_exact_result_in_two_horizon_requests(stack):
    ds = stack.ds
    result = stack.client().fetch_lineage(A["alice"])
    trustline, pool = ds.state(A["alice"]).other_balances
    assert result == LineageResult(
        creator=A["funder"],
        created_at=ds.close_time(100),
        home_domain="alice.example",
        xlm_balance="47.8456789",  # 50 + 12.3456789 - 5 - 2.5 - 7, exact string
        attributes={
            "flags": {
                "auth_required": False,
                "auth_revocable": True,
                "auth_immutable": False,
                "auth_clawback_enabled": False,
            },
            "thresholds": {"low_threshold": 1, "med_threshold": 2, "high_threshold": 3},
            "signers": [
                {"weight": 1, "key": A["bob"], "type": "ed25519_public_key"},
                {"weight": 1, "key": A["alice"], "type": "ed25519_public_key"},
            ],
            "sequence": str(100 << 32),
            "subentry_count": 4,
            "num_sponsoring": 0,
            "num_sponsored": 1,
            "sponsor": A["funder"],
            "last_modified_ledger": 220,
            "last_modified_time": iso(ds.close_time(220)),
            "data_keys": ["config"],
        },
        assets=[trustline, pool],
        children={
            "count": 3,
            "complete": True,
            "source": "horizon",
            "children": [
                {"account": A["bob"], "created_at": iso(ds.close_time(102)), "starting_balance": "5.0000000"},
                {"account": A["carol"], "created_at": iso(ds.close_time(103)), "starting_balance": "2.5000000"},
                {"account": A["phoenix"], "created_at": iso(ds.close_time(220)), "starting_balance": "7.0000000"},
            ],
        },
        tags=["anchor", "issuer"],
        creator_source="horizon",
    )
    last_modified = dt.datetime.fromisoformat(result.attributes["last_modified_time"].replace("Z", "+00:00"))
    assert result.created_at != last_modified  # the seed's bug: creation time taken from last_modified_time
    assert pool["asset_type"] == "liquidity_pool_shares" and pool["liquidity_pool_id"] == LP_ID
    assert horizon_requests(stack) == [
        f"/accounts/{A['alice']}",
        f"/accounts/{A['alice']}/payments?limit=200&order=desc",
    ]
    assert [r.path for r in stack.expert.request_log()] == [f"/explorer/directory/{A['alice']}"]


def test_root_account_is_genesis_without_creator(stack):
    result = stack.client().fetch_lineage(A["root"])
    assert (result.creator, result.created_at, result.creator_source) == (None, None, "genesis")
    assert result.children == {
        "count": 2,
        "complete": True,
        "source": "horizon",
        "children": [
            {"account": A["funder"], "created_at": iso(stack.ds.close_time(3)), "starting_balance": "1000000.0000000"},
            {"account": A["issuer"], "created_at": iso(stack.ds.close_time(4)), "starting_balance": "1000.0000000"},
        ],
    }
    assert stack.expert.count("/account/") == 0  # genesis is known locally, no SE creator lookup


def test_merged_and_recreated_account_takes_latest_creation(stack):
    result = stack.client().fetch_lineage(A["phoenix"])
    assert (result.creator, result.created_at, result.creator_source) == (
        A["alice"],
        stack.ds.close_time(220),
        "horizon",
    )
    assert result.xlm_balance == "7.0000000"
    assert result.children == {"count": 0, "children": [], "complete": True, "source": "horizon"}


def test_merged_account_is_not_found_although_history_is_listed(stack):
    with pytest.raises(AccountNotFound) as err:
        stack.client().fetch_lineage(A["ghost"])
    assert err.value.account == A["ghost"] and err.value.network == "public"
    assert stack.horizon.count() == 1  # 404 is final: no retry, no payments scan


def test_unknown_account_is_not_found(stack):
    with pytest.raises(AccountNotFound, match="not found on public Horizon"):
        stack.client().fetch_lineage(address("never-created"))


def test_account_older_than_horizon_history_gets_creator_from_stellar_expert(stack):
    stack.ds.elder_ledger = 1000  # retention floor: old's create_account (ledger 50) is not served
    result = stack.client().fetch_lineage(A["old"])
    assert (result.creator, result.created_at, result.creator_source) == (
        A["funder"],
        stack.ds.close_time(50),
        "stellar_expert",
    )
    assert result.xlm_balance == "501.0000000"
    # Created before the window: older children could exist, so the list is not complete.
    assert result.children == {"count": 0, "children": [], "complete": False, "source": "horizon"}
    assert horizon_requests(stack) == [
        f"/accounts/{A['old']}",
        f"/accounts/{A['old']}/payments?limit=200&order=desc",
        "/",
    ]
    assert [r.path for r in stack.expert.request_log()] == [
        f"/explorer/public/account/{A['old']}",
        f"/explorer/directory/{A['old']}",
    ]


def test_root_document_is_cached_per_client(stack):
    stack.ds.elder_ledger = 1000
    client = stack.client()
    client.fetch_lineage(A["old"])
    client.fetch_lineage(A["funder"])  # also older than the window
    assert stack.horizon.count("^/$") == 1


def test_old_account_unknown_to_stellar_expert_is_transient(stack):
    stack.ds.elder_ledger = 1000
    stack.ds.ops = [op for op in stack.ds.ops if op.fields.get("account") != A["old"] or op.type != "create_account"]
    with pytest.raises(TransientApiError, match="creator of .* unknown"):
        stack.client().fetch_lineage(A["old"])


def test_children_over_several_pages(stack):
    result = stack.client().fetch_lineage(A["hub"])
    kids = result.children
    assert kids["count"] == HUB_CHILDREN and kids["complete"] is True
    assert [c["account"] for c in kids["children"]] == [address(f"scenario-hub-child-{i}") for i in range(HUB_CHILDREN)]
    assert A["hub"] not in [c["account"] for c in kids["children"]]  # never lists itself
    pages = stack.horizon.request_log("/payments")
    assert [p.query.get("cursor") for p in pages] == [None, str(_token(stack, 250)), str(_token(stack, 50))]
    assert (result.creator, result.creator_source) == (A["funder"], "horizon")


def _token(stack, child_index: int) -> int:
    """Paging token of the create op of hub child ``child_index`` (the last record of a desc page)."""
    target = address(f"scenario-hub-child-{child_index}")
    return next(op.id for op in stack.ds.ops if op.type == "create_account" and op.fields["account"] == target)


def test_page_cap_marks_children_incomplete(stack):
    client = stack.client(scenario_settings(horizon_max_pages=2))
    result = client.fetch_lineage(A["hub"])
    assert result.children["complete"] is False
    assert result.children["count"] == 400  # two pages of 200, newest first
    assert result.children["children"][0]["account"] == address(f"scenario-hub-child-{HUB_CHILDREN - 400}")
    # Its own creation op is beyond the cap, so the creator comes from Stellar Expert's full history.
    assert (result.creator, result.created_at, result.creator_source) == (
        A["funder"],
        stack.ds.close_time(400),
        "stellar_expert",
    )
    assert stack.horizon.count("/payments") == 2


def test_desc_paging_into_the_retention_floor_stops_incomplete(stack):
    stack.ds.elder_ledger = 500  # hub's children 0..98 and its creation are before the window
    result = stack.client(scenario_settings(horizon_max_pages=5)).fetch_lineage(A["hub"])
    assert result.children["count"] == HUB_CHILDREN - 99
    assert result.children["complete"] is False
    assert result.creator_source == "stellar_expert"


def test_window_moving_past_the_cursor_mid_scan_gives_410_and_incomplete_children(stack):
    # The retention floor rolls forward while we page: the second desc page's cursor is now "gone".
    original = stack.horizon.route

    def route(method, path, query, headers):
        reply = original(method, path, query, headers)
        if path.endswith("/payments"):
            stack.ds.elder_ledger = 700
        return reply

    stack.horizon.route = route
    result = stack.client().fetch_lineage(A["hub"])
    assert [r.status for r in stack.horizon.request_log("/payments")] == [200, 410]
    assert result.children["count"] == 200 and result.children["complete"] is False
    assert result.creator_source == "stellar_expert"


def test_at_most_three_horizon_requests_for_small_accounts(stack):
    client = stack.client()
    for name in ("alice", "bob", "carol", "phoenix", "funder", "quiet"):
        before = client.request_counts()["horizon"]
        client.fetch_lineage(A[name])
        assert client.request_counts()["horizon"] - before <= 3, name


def test_falls_back_to_operations_and_legacy_directory_when_routes_are_missing(stack):
    expected = stack.client().fetch_lineage(A["alice"])
    stack.horizon.reset()
    stack.expert.reset()
    h_route, e_route = stack.horizon.route, stack.expert.route

    def horizon_without_payments(method, path, query, headers):
        return problem(404) if path.endswith("/payments") else h_route(method, path, query, headers)

    def expert_without_new_directory(method, path, query, headers):
        if path.startswith("/explorer/directory/"):
            return Reply(404, "API endpoint was not found", "text/plain; charset=utf-8")
        return e_route(method, path, query, headers)

    stack.horizon.route, stack.expert.route = horizon_without_payments, expert_without_new_directory
    assert stack.client().fetch_lineage(A["alice"]) == expected  # set_options in /operations is ignored
    assert [r.path.rsplit("/", 1)[-1] for r in stack.horizon.request_log()][1:] == ["payments", "operations"]
    assert stack.expert.request_log()[-1].path == f"/explorer/public/directory/{A['alice']}"
