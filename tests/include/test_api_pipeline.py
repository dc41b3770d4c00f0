"""The shared API path (process_claimed) against the fake Horizon / Stellar Expert over real HTTP."""

from __future__ import annotations

import json
import time

import pytest

from include.stellar_lineage.api_pipeline import auto_batch_size, process_claimed
from include.stellar_lineage.records import LineageResult, Priority
from tests.support.chains import chain_dataset
from tests.support.lineage_scenarios import A, running_stack, scenario_dataset, scenario_settings


def claim_all(store, owner="run-1", pipeline="API", limit=100):
    got = store.claim_batch(limit, pipeline=pipeline, owner=owner)
    return [{"network": r.network_name, "account": r.stellar_account} for r in got]


def factory_for(stack, settings):
    client = stack.client(settings)
    return lambda network: client


def test_chain_climbs_to_root_in_one_call(sqlite_store, tmp_path):
    ds, chain = chain_dataset(6)
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        sqlite_store.enqueue("public", [chain[0]])
        summary = process_claimed(
            sqlite_store,
            claim_all(sqlite_store),
            settings=settings,
            source="API",
            owner="run-1",
            client_factory=factory_for(stack, settings),
        )
    assert summary["complete"] == 7 and summary["climbed"] == 6
    records = sqlite_store.get_many("public", chain)
    assert all(records[a].status == "COMPLETE" and records[a].pipeline_source == "API" for a in chain)
    for child, creator in zip(chain, chain[1:], strict=False):
        assert records[child].stellar_creator_account == creator
    assert records[chain[-1]].stellar_creator_account is None  # the network root
    assert sqlite_store.queue_depth() == 0
    assert sqlite_store.lineage("public", chain[0])["reaches_root"]


def test_deadline_releases_unstarted_work(sqlite_store, tmp_path):
    ds, chain = chain_dataset(3)
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        sqlite_store.enqueue("public", [chain[0]])
        summary = process_claimed(
            sqlite_store,
            claim_all(sqlite_store),
            settings=settings,
            source="API",
            owner="run-1",
            deadline=time.monotonic() - 1,
            client_factory=factory_for(stack, settings),
        )
    assert summary["complete"] == 0 and summary["released"] == 1
    rec = sqlite_store.get("public", chain[0])
    assert rec.status == "PENDING" and rec.retry_count == 0


def test_outcomes_invalid_and_transient(sqlite_store, tmp_path):
    settings = scenario_settings(http_max_attempts=2)
    with running_stack(tmp_path / "rl", scenario_dataset()) as stack:
        sqlite_store.enqueue("public", [A["ghost"], A["alice"]])
        claimed = claim_all(sqlite_store)
        summary = process_claimed(
            sqlite_store,
            [c for c in claimed if c["account"] == A["ghost"]],
            settings=settings,
            source="API",
            owner="run-1",
            client_factory=factory_for(stack, settings),
        )
        assert summary["invalid"] == 1
        ghost = sqlite_store.get("public", A["ghost"])
        assert ghost.status == "INVALID" and "404" in ghost.last_error
        stack.horizon.faults.fail_5xx = 10_000
        summary = process_claimed(
            sqlite_store,
            [c for c in claimed if c["account"] == A["alice"]],
            settings=settings,
            source="API",
            owner="run-1",
            client_factory=factory_for(stack, settings),
        )
        # A provider outage is not alice's fault: released without a retry charge.
        assert summary["provider_released"] == 1 and summary["retry_later"] == 0
        alice = sqlite_store.get("public", A["alice"])
        assert alice.status == "PENDING" and alice.retry_count == 0
        # A malformed body for this account is: retried later, charged.
        stack.horizon.faults.fail_5xx = 0
        stack.horizon.faults.malformed = 10_000
        summary = process_claimed(
            sqlite_store,
            claim_all(sqlite_store),
            settings=settings,
            source="API",
            owner="run-1",
            client_factory=factory_for(stack, settings),
        )
    assert summary["retry_later"] == 1
    alice = sqlite_store.get("public", A["alice"])
    assert alice.status == "PENDING" and alice.retry_count == 1 and "MalformedResponse" in alice.last_error
    # not due before the backoff (retry_backoff_base_seconds = 120 s, jitter in its upper half)
    wait = (alice.next_attempt_at - alice.updated_at).total_seconds()
    assert 60 <= wait <= 120, wait
    assert sqlite_store.claim_batch(1, pipeline="API", owner="run-2") == []


class _CyclicClient:
    """Bad data: X's creator is Y and Y's creator is X."""

    def __init__(self, pairs):
        self.pairs, self.calls = pairs, []

    def fetch_lineage(self, account):
        self.calls.append(account)
        return LineageResult(
            creator=self.pairs[account],
            created_at=None,
            creator_source="horizon",
            children={"count": 0, "children": [], "complete": True, "source": "horizon"},
        )


def test_cycle_in_bad_data_terminates(sqlite_store):
    x, y = A["alice"], A["bob"]
    client = _CyclicClient({x: y, y: x})
    sqlite_store.enqueue("public", [x])
    summary = process_claimed(
        sqlite_store,
        claim_all(sqlite_store),
        settings=scenario_settings(),
        source="API",
        owner="run-1",
        client_factory=lambda n: client,
    )
    assert client.calls == [x, y]
    assert summary["complete"] == 2
    assert sqlite_store.lineage("public", x)["chain"][0].stellar_account == y


def test_retried_task_skips_what_it_finished(sqlite_store):
    x, y = A["alice"], A["bob"]
    client = _CyclicClient({x: None, y: None})
    sqlite_store.enqueue("public", [x, y])
    claimed = claim_all(sqlite_store)
    process_claimed(
        sqlite_store,
        claimed[:1],
        settings=scenario_settings(),
        source="API",
        owner="run-1",
        client_factory=lambda n: client,
    )
    again = process_claimed(
        sqlite_store,
        claimed,
        settings=scenario_settings(),
        source="API",
        owner="run-1",
        client_factory=lambda n: client,
    )
    assert again["complete"] == 1 and client.calls == [x, y]


def test_fallback_source_and_priority_of_climbed_creators(sqlite_store, tmp_path):
    ds, chain = chain_dataset(2)
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        sqlite_store.enqueue("public", [chain[0]])
        process_claimed(
            sqlite_store,
            claim_all(sqlite_store, pipeline="BIGQUERY"),
            settings=settings,
            source="BIGQUERY_WITH_API_FALLBACK",
            owner="run-1",
            pipeline="BIGQUERY",
            client_factory=factory_for(stack, settings),
            climb=False,
        )
    leaf = sqlite_store.get("public", chain[0])
    assert leaf.pipeline_source == "BIGQUERY_WITH_API_FALLBACK"
    assert json.loads(leaf.child_accounts_json)["complete"] is True
    parent = sqlite_store.get("public", chain[1])
    assert parent.status == "PENDING" and parent.priority == Priority.CHAIN


@pytest.mark.parametrize(
    ("rpm", "depth", "window", "expected"), [(60, 500, 90, 45), (60, 3, 90, 3), (60, 0, 90, 0), (1, 50, 90, 1)]
)
def test_auto_batch_size(rpm, depth, window, expected):
    assert auto_batch_size(scenario_settings(horizon_requests_per_minute=rpm), depth, window) == expected


def test_rate_budget_past_deadline_releases_instead_of_waiting(sqlite_store, tmp_path):
    """Another task on the host got a 429 with Retry-After 100 s, pausing Horizon host-wide; with 70 s
    left this run must not sleep past its deadline: it stops at once and the account goes back to
    PENDING without a retry."""
    ds, chain = chain_dataset(2)
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        stack.limiter.pause("horizon", 100, "HTTP 429 seen by another task")
        sqlite_store.enqueue("public", [chain[0]])
        t0 = time.monotonic()
        summary = process_claimed(
            sqlite_store,
            claim_all(sqlite_store),
            settings=settings,
            source="API",
            owner="run-1",
            deadline=t0 + 70,
            client_factory=factory_for(stack, settings),
        )
        elapsed = time.monotonic() - t0
        assert stack.horizon.count() == 0
    assert elapsed < 10, elapsed
    assert summary["complete"] == 0 and summary["released"] == 1
    rec = sqlite_store.get("public", chain[0])
    assert rec.status == "PENDING" and rec.retry_count == 0
