"""Account ids from Horizon, Stellar Expert and Hubble are untrusted: invalid ones are dropped before
they are stored, queued or linked, logged without their value, and the result says so."""

from __future__ import annotations

import pytest

from include.stellar_lineage.clients.http import MalformedResponse
from include.stellar_lineage.hubble.results import lineage_result, parse_rows
from tests.support.lineage_scenarios import A, running_stack
from tests.support.seed_shapes import DERIVED

BAD = [DERIVED.lower(), "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN6", "../../admin", "", 7]


@pytest.fixture
def stack(tmp_path):
    with running_stack(tmp_path) as s:
        yield s


def tamper(server, path_suffix, change):
    original = server.route

    def route(method, path, query, headers):
        reply = original(method, path, query, headers)
        if path.endswith(path_suffix) and isinstance(reply.body, dict):
            change(reply.body)
        return reply

    server.route = route


def _records(body):
    return body["_embedded"]["records"]


def test_invalid_children_are_dropped_counted_and_never_logged(stack, caplog):
    caplog.set_level("WARNING")
    before = [c["account"] for c in stack.client().fetch_lineage(A["alice"]).children["children"]]
    assert A["bob"] in before

    def corrupt(body):
        for rec in _records(body):
            if rec.get("type") == "create_account" and rec["account"] == A["bob"]:
                rec["account"] = DERIVED.lower()

    tamper(stack.horizon, "/payments", corrupt)
    result = stack.client().fetch_lineage(A["alice"])
    assert [c["account"] for c in result.children["children"]] == [a for a in before if a != A["bob"]]
    assert result.children["invalid_dropped"] == 1 and result.children["complete"] is False
    assert result.creator == A["funder"]
    assert "Dropped an invalid account id" in caplog.text and DERIVED.lower() not in caplog.text


@pytest.mark.parametrize("bad", [*BAD[:3], A["bob"].lower()])
def test_an_invalid_horizon_funder_is_dropped_and_stellar_expert_asked(stack, bad):
    def corrupt(body):
        for rec in _records(body):
            if rec.get("type") == "create_account" and rec["account"] == A["alice"]:
                rec["funder"] = bad

    tamper(stack.horizon, "/payments", corrupt)
    result = stack.client().fetch_lineage(A["alice"])
    assert result.creator == A["funder"] and result.creator_source == "stellar_expert"
    assert stack.expert.count("/account/") == 1


def test_invalid_creator_everywhere_is_a_malformed_response_without_the_value(stack):
    def corrupt_horizon(body):
        for rec in _records(body):
            if rec.get("account") == A["alice"]:
                rec["funder"] = DERIVED

    def corrupt_expert(body):
        if "creator" in body:
            body["creator"] = DERIVED

    tamper(stack.horizon, "/payments", corrupt_horizon)
    tamper(stack.expert, A["alice"], corrupt_expert)
    with pytest.raises(MalformedResponse) as err:
        stack.client().fetch_lineage(A["alice"])
    assert "not a valid G… account id" in str(err.value) and DERIVED not in str(err.value)


def test_hubble_rows_with_invalid_ids_are_dropped(caplog):
    caplog.set_level("WARNING")
    acc = A["alice"]
    rows = [
        {"subject": acc, "kind": "creator", "related": DERIVED, "created_at": "2020-01-01T00:00:00Z"},
        {"subject": A["bob"], "kind": "creator", "related": A["alice"], "created_at": "2020-01-02T00:00:00Z"},
        *[{"subject": acc, "kind": "child", "related": b, "created_at": "2020-01-03T00:00:00Z"} for b in BAD],
        {
            "subject": acc,
            "kind": "child",
            "related": A["carol"],
            "created_at": "2020-01-04T00:00:00Z",
            "child_total": 1,
        },
        # ancestors up the chain: a valid one becomes an ancestor entry, an invalid subject is dropped
        {"subject": A["funder"], "kind": "creator", "related": A["root"], "created_at": "2020-01-01T00:00:00Z"},
        *[{"subject": b, "kind": "creator", "related": A["root"], "created_at": "2020-01-01T00:00:00Z"} for b in BAD],
    ]
    parsed = parse_rows(rows, [acc, A["bob"]], network="public")
    assert set(parsed) == {acc, A["bob"], A["funder"]}
    assert parsed[A["funder"]].ancestor and parsed[A["funder"]].creator == A["root"] and not parsed[acc].ancestor
    assert parsed[acc].found is False and parsed[acc].creator is None  # goes to the API path
    assert parsed[A["bob"]].creator == A["alice"]
    assert [c["account"] for c in parsed[acc].children] == [A["carol"]] and parsed[acc].invalid_dropped == len(BAD)
    state = {"balances": [{"asset_type": "native", "balance": "1.0000000"}], "thresholds": {}, "flags": {}}
    children = lineage_result(parsed[acc], state, []).children
    assert children["invalid_dropped"] == len(BAD) and children["complete"] is False
    assert DERIVED not in caplog.text and DERIVED.lower() not in caplog.text
