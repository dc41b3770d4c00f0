"""Whose fault is it? Dormant accounts, directory outages and configuration faults on the API path,
against the fake Horizon / Stellar Expert over real HTTP (each test takes a few seconds)."""

from __future__ import annotations

import pytest

from include.stellar_lineage.api_claim import claim_for_api
from include.stellar_lineage.api_pipeline import process_claimed
from include.stellar_lineage.faults import RunConfigurationError
from include.stellar_lineage.ratelimit import DB_NAME
from tests.support.chains import chain_dataset
from tests.support.lineage_scenarios import running_stack, scenario_settings
from tests.support.stellar_dataset import ROOTS, Dataset, address

ROOT = ROOTS["public"]


def claimed_dicts(records):
    return [{"network": r.network_name, "account": r.stellar_account} for r in records]


def dormant_dataset() -> tuple[Dataset, dict[str, str]]:
    """root → funder → dormant → leaf, all created before Horizon's retention floor (ledger 1000).
    ``dormant`` (and the root) have no retained operation at all: Horizon answers 404 on their
    history lists while ``/accounts/{id}`` is 200. ``leaf`` has one recent payment."""
    ds = Dataset("public")
    a = {name: address(f"dormant-{name}") for name in ("funder", "dormant", "leaf")}
    ds.create_account(ROOT, a["funder"], "1000", ledger=3)
    ds.create_account(a["funder"], a["dormant"], "100", ledger=10)
    ds.create_account(a["dormant"], a["leaf"], "10", ledger=20)
    ds.payment(a["funder"], a["leaf"], "1", ledger=2000)
    ds.elder_ledger = 1000
    return ds, a


def run_api(store, stack, settings, breakers, **kw):
    client = stack.client(settings, breakers=breakers)
    return process_claimed(
        store,
        claimed_dicts(store.claim_batch(500, pipeline="API", owner="run-1")),
        settings=settings,
        source="API",
        owner="run-1",
        client_factory=lambda network: client,
        breakers=breakers,
        **kw,
    )


def test_dormant_account_404_on_history_lists_climbs_to_the_root(sqlite_store, tmp_path):
    ds, a = dormant_dataset()
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        sqlite_store.enqueue("public", [a["leaf"]])
        summary = run_api(sqlite_store, stack, settings, stack.breakers(settings))
        dormant_lists = [r.status for r in stack.horizon.request_log(f"/accounts/{a['dormant']}/")]
        expert_asked = stack.expert.count(f"/account/{a['dormant']}")
    assert summary["complete"] == 4 and summary["retry_later"] == 0
    assert dormant_lists == [404, 404]  # /payments, then /operations: no retained history
    assert expert_asked == 1
    lineage = sqlite_store.lineage("public", a["leaf"])
    assert lineage["reaches_root"]
    assert [r.stellar_account for r in lineage["chain"]] == [a["dormant"], a["funder"], ROOT]
    dormant = sqlite_store.get("public", a["dormant"])
    assert dormant.stellar_creator_account == a["funder"]
    assert dormant.stellar_account_created_at == ds.close_time(10)
    import json

    children = json.loads(dormant.child_accounts_json)
    assert children["count"] == 0 and children["children"] == [] and children["complete"] is False


def test_account_404_is_still_invalid(sqlite_store, tmp_path):
    ds, _a = dormant_dataset()
    ghost = address("never-created")
    with running_stack(tmp_path / "rl", ds) as stack:
        settings = scenario_settings()
        sqlite_store.enqueue("public", [ghost])
        summary = run_api(sqlite_store, stack, settings, stack.breakers(settings))
    assert summary["invalid"] == 1 and sqlite_store.get("public", ghost).status == "INVALID"


def test_directory_outage_leaves_tags_unknown_and_completes(sqlite_store, tmp_path):
    ds, chain = chain_dataset(2, name="tags")
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        stack.expert.faults.path_pattern = "/directory/"
        stack.expert.faults.fail_5xx = 10**6
        sqlite_store.enqueue("public", [chain[0]])
        summary = run_api(sqlite_store, stack, settings, stack.breakers(settings))
    assert summary["complete"] == 3 and summary["retry_later"] == 0 and summary["failed"] == 0
    records = sqlite_store.get_many("public", chain)
    assert all(r.status == "COMPLETE" and r.tags is None and r.retry_count == 0 for r in records.values())


def test_403_fails_the_run_and_charges_no_record(sqlite_store, tmp_path):
    ds, chain = chain_dataset(3, name="keyed")
    leaves = [chain[0], chain[1], chain[2]]
    settings = scenario_settings()
    with running_stack(tmp_path / "rl", ds) as stack:
        stack.horizon.api_key = "the-right-key"
        sqlite_store.enqueue("public", leaves)
        client = stack.client(settings, horizon=_endpoint(stack.horizon.url, "an-expired-key"))
        breakers = stack.breakers(settings)
        with pytest.raises(RunConfigurationError) as err:
            process_claimed(
                sqlite_store,
                claimed_dicts(sqlite_store.claim_batch(10, pipeline="API", owner="run-1")),
                settings=settings,
                source="API",
                owner="run-1",
                client_factory=lambda network: client,
                breakers=breakers,
            )
        sent = stack.horizon.count()
    message = str(err.value)
    assert "HTTP 403" in message and "'horizon_public'" in message and "went back to PENDING" in message
    assert "an-expired-key" not in message
    assert sent <= 4  # one per worker at most: the run stops at the first refusal
    records = sqlite_store.get_many("public", leaves)
    assert all(r.status == "PENDING" and r.retry_count == 0 and r.last_error is None for r in records.values())
    assert not breakers.is_open("horizon:public")  # a refused key is not an outage


def test_corrupt_limiter_file_fails_the_claim_before_anything_is_claimed(sqlite_store, host_state_dir):
    host_state_dir.mkdir(parents=True, exist_ok=True)
    (host_state_dir / DB_NAME).write_bytes(b"not a database" * 500)
    sqlite_store.enqueue("public", [ROOT])
    with pytest.raises(RunConfigurationError) as err:
        claim_for_api(sqlite_store, scenario_settings(), 10, owner="run-1")
    assert DB_NAME in str(err.value) and "Nothing was claimed" in str(err.value)
    assert sqlite_store.get("public", ROOT).status == "PENDING"


def test_limiter_corrupted_mid_run_releases_every_record_uncharged(sqlite_store, tmp_path, host_state_dir):
    ds, chain = chain_dataset(3, name="corrupt")
    settings = scenario_settings()
    from include.stellar_lineage.api_pipeline import default_client_factory

    with running_stack(tmp_path / "rl", ds) as stack:
        sqlite_store.enqueue("public", chain[:3])
        records, _report = claim_for_api(sqlite_store, settings, 10, owner="run-1", breakers=stack.breakers(settings))
        assert len(records) == 3
        host_state_dir.mkdir(parents=True, exist_ok=True)
        (host_state_dir / DB_NAME).write_bytes(b"garbage!" * 4096)  # after the claim, before processing
        with pytest.raises(RunConfigurationError) as err:
            process_claimed(
                sqlite_store,
                claimed_dicts(records),
                settings=settings,
                source="API",
                owner="run-1",
                client_factory=default_client_factory(settings, stack.breakers(settings)),
            )
        assert stack.horizon.count() == 0
    assert "cannot be opened or written" in str(err.value)
    after = sqlite_store.get_many("public", chain[:3])
    assert all(r.status == "PENDING" and r.retry_count == 0 for r in after.values())


def _endpoint(url, key):
    from include.stellar_lineage.clients import Endpoint

    return Endpoint(url, {"Authorization": f"Bearer {key}"})


def test_retry_backoff_variables_double_the_delay_up_to_the_cap():
    from include.stellar_lineage.faults import retry_backoff

    delay = retry_backoff(scenario_settings(retry_backoff_base_seconds=10, retry_backoff_max_seconds=30))
    for _ in range(50):
        assert 5 <= delay(1).total_seconds() <= 10
        assert 10 <= delay(2).total_seconds() <= 20
        assert 15 <= delay(5).total_seconds() <= 30


def test_bigquery_write_back_hands_provider_faults_to_the_fallback_uncharged(sqlite_store, tmp_path):
    """Hubble answered, Horizon (attributes) is down: the record goes to the API fallback of the same
    run (which applies the breaker), not to retry_later; a malformed account body is charged."""
    from include.stellar_lineage.hubble.batch_write import write_results
    from include.stellar_lineage.hubble.results import HubbleLineage

    ds, chain = chain_dataset(2, name="bq-write")
    settings = scenario_settings(http_max_attempts=2)
    with running_stack(tmp_path / "rl", ds) as stack:
        sqlite_store.enqueue("public", chain[:2])
        sqlite_store.claim_batch(2, pipeline="BIGQUERY", owner="bq-run")
        summary = {"complete": 0, "invalid": 0, "retry_later": 0, "released": 0, "handed": [], "reason": None}
        parsed = {a: HubbleLineage(a, creator=ROOT, found=True) for a in chain[:2]}
        stack.horizon.faults.fail_5xx = 10**6
        write_results(
            sqlite_store,
            settings,
            "public",
            "bq-run",
            {chain[0]: parsed[chain[0]]},
            stack.client(settings),
            summary,
            None,
        )
        stack.horizon.faults.fail_5xx = 0
        stack.horizon.faults.malformed = 10**6
        write_results(
            sqlite_store,
            settings,
            "public",
            "bq-run",
            {chain[1]: parsed[chain[1]]},
            stack.client(settings),
            summary,
            None,
        )
    assert summary["handed"] == [chain[0]] and summary["retry_later"] == 1
    held = sqlite_store.get("public", chain[0])
    assert held.status == "PROCESSING" and held.claim_owner == "bq-run" and held.retry_count == 0
    charged = sqlite_store.get("public", chain[1])
    assert charged.status == "PENDING" and charged.retry_count == 1
    wait = (charged.next_attempt_at - charged.updated_at).total_seconds()  # the first backoff step, jittered
    assert settings.retry_backoff_base_seconds / 2 <= wait <= settings.retry_backoff_base_seconds, wait
