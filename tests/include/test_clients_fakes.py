"""The fakes follow the documented wire behaviour (reference/stellar_apis.md §1.4, §1.8, §3, §6).

Client tests are only as good as the fakes, so the documented rules the client relies on are pinned here.
"""

from __future__ import annotations

import pytest
import requests

from tests.support.fake_http import GCRABudget
from tests.support.fake_stellar import NOT_FOUND_DETAIL, FakeHorizon, FakeStellarExpert
from tests.support.lineage_scenarios import A, HUB_CHILDREN, scenario_dataset
from tests.support.stellar_dataset import toid


@pytest.fixture(scope="module")
def servers():
    ds = scenario_dataset()
    with FakeHorizon(ds) as horizon, FakeStellarExpert({"public": ds}, api_key="k3y-for-tests") as expert:
        yield ds, horizon, expert


def get(server, path, **params):
    return requests.get(server.url + path, params=params, timeout=5)


def test_pages_default_limit_order_and_links(servers):
    ds, horizon, _ = servers
    r = get(horizon, f"/accounts/{A['hub']}/operations")
    assert r.headers["Content-Type"] == "application/hal+json; charset=utf-8"
    records = r.json()["_embedded"]["records"]
    assert len(records) == 10  # default limit
    ids = [int(x["id"]) for x in records]
    assert ids == sorted(ids) and all(x["paging_token"] == x["id"] for x in records)  # asc by default
    links = r.json()["_links"]
    assert links["self"]["href"].endswith("?cursor=&limit=10&order=asc")
    assert links["next"]["href"].endswith(f"?cursor={ids[-1]}&limit=10&order=asc")
    assert links["prev"]["href"].endswith(f"?cursor={ids[0]}&limit=10&order=desc")


def test_next_is_present_on_an_empty_last_page(servers):
    ds, horizon, _ = servers
    beyond = str(toid(ds.latest_ledger + 1, 0, 0))
    body = get(horizon, f"/accounts/{A['hub']}/payments", limit=200, cursor=beyond).json()
    assert body["_embedded"]["records"] == []
    assert body["_links"]["next"]["href"].endswith(f"?cursor={beyond}&limit=200&order=asc")  # next = self


def test_invalid_limit_order_and_account(servers):
    _, horizon, _ = servers
    for params, field in (
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "limit"),
        ({"order": "up"}, "order"),
        ({"cursor": "abc"}, "cursor"),
    ):
        r = get(horizon, f"/accounts/{A['hub']}/payments", **params)
        assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["extras"]["invalid_field"] == field
    r = get(horizon, "/accounts/GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN6")  # bad checksum
    assert r.status_code == 400 and r.json()["extras"]["invalid_field"] == "account_id"


def test_not_found_problem_is_exact(servers):
    _, horizon, _ = servers
    body = get(horizon, f"/accounts/{A['ghost']}").json()
    assert body == {
        "type": "https://stellar.org/horizon-errors/not_found",
        "title": "Resource Missing",
        "status": 404,
        "detail": NOT_FOUND_DETAIL,
    }
    # ...while the merged account's history is still served
    ops = get(horizon, f"/accounts/{A['ghost']}/payments").json()["_embedded"]["records"]
    assert [o["type"] for o in ops] == ["create_account", "account_merge"]


def test_retention_asc_starts_at_elder_desc_below_elder_is_gone(servers):
    ds, horizon, _ = servers
    ds.elder_ledger = 500
    try:
        first = get(horizon, f"/accounts/{A['hub']}/payments", limit=1, cursor="1").json()["_embedded"]["records"]
        assert int(first[0]["id"]) >> 32 == 500  # oldest retained record, not a 410
        r = get(horizon, f"/accounts/{A['hub']}/payments", order="desc", cursor=str(toid(500, 0, 0)))
        assert r.status_code == 410 and r.json()["title"] == "Data Requested Is Before Recorded History"
        assert get(horizon, "/").json()["history_elder_ledger"] == 500
    finally:
        ds.elder_ledger = 2


def test_payments_stream_excludes_other_operations(servers):
    _, horizon, _ = servers
    ops = get(horizon, f"/accounts/{A['alice']}/operations", limit=200).json()["_embedded"]["records"]
    pays = get(horizon, f"/accounts/{A['alice']}/payments", limit=200).json()["_embedded"]["records"]
    assert "set_options" in {o["type"] for o in ops} and "set_options" not in {o["type"] for o in pays}
    assert len(get(horizon, f"/accounts/{A['hub']}/payments", limit=200).json()["_embedded"]["records"]) == 200
    assert HUB_CHILDREN > 200


def test_home_domain_omitted_when_unset(servers):
    _, horizon, _ = servers
    assert "home_domain" not in get(horizon, f"/accounts/{A['bob']}").json()
    assert get(horizon, f"/accounts/{A['alice']}").json()["home_domain"] == "alice.example"


def test_stellar_expert_routes(servers):
    _, _, expert = servers
    body = get(expert, f"/explorer/public/account/{A['alice']}").json()
    assert body["creator"] == A["funder"] and isinstance(body["created"], int)
    assert "creator" not in get(expert, f"/explorer/public/account/{A['root']}").json()
    assert get(expert, f"/explorer/public/account/{A['ghost']}").json()["deleted"] is True
    assert get(expert, "/explorer/public/account/GBAD").status_code == 400
    assert get(expert, f"/explorer/directory/{A['bob']}").json() == {}  # unlisted: 200 + {}
    listed = get(expert, f"/explorer/public/directory/{A['alice']}").json()  # legacy path
    assert listed["tags"] == ["anchor", "issuer"]
    assert get(expert, "/explorer/public/tx").status_code == 402
    ok = requests.get(expert.url + "/explorer/public/tx", headers={"Authorization": "Bearer k3y-for-tests"}, timeout=5)
    assert ok.status_code == 200


def test_gcra_budget_headers_and_429(servers):
    _, horizon, _ = servers
    horizon.budget = GCRABudget(per_hour=3600, burst=2)
    try:
        statuses = [get(horizon, "/") for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert statuses[0].headers["X-Ratelimit-Limit"] == "3"
        assert [r.headers["X-Ratelimit-Remaining"] for r in statuses[:3]] == ["2", "1", "0"]
        assert statuses[3].headers["Retry-After"] == "1"
        assert statuses[3].json()["type"] == "https://stellar.org/horizon-errors/rate_limit_exceeded"
    finally:
        horizon.budget = None
