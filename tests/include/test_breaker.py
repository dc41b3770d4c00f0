"""Circuit breakers: the state machine, one probe per interval across OS processes, and the time-scaled
outage (fake Horizon down for several runs) through the API path's claim + process steps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from include.stellar_lineage.api_claim import claim_for_api
from include.stellar_lineage.api_pipeline import process_claimed
from include.stellar_lineage.breaker import ProviderBreakers, SqliteBreakerStorage
from tests.support.lineage_scenarios import running_stack, scenario_settings
from tests.support.stellar_dataset import ROOTS, Dataset, address

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_probes_once_per_interval_and_closes_on_success(tmp_path):
    clock = Clock()
    b = ProviderBreakers(SqliteBreakerStorage(tmp_path), failure_threshold=3, probe_interval_s=60, clock=clock)
    assert not b.record_failure("horizon:public", "HTTP 503")
    b.record_success("horizon:public")  # a success resets the streak
    assert not b.record_failure("horizon:public", "HTTP 503")
    assert not b.record_failure("horizon:public", "HTTP 503")
    assert b.record_failure("horizon:public", "HTTP 503") and b.is_open("horizon:public")
    assert not b.is_open("horizon:testnet") and not b.is_open("stellar_expert")  # per provider
    assert not b.try_probe("horizon:public")  # interval not over yet
    clock.now += 60
    assert b.try_probe("horizon:public") and not b.try_probe("horizon:public")  # one per interval
    b.probe_failed("horizon:public", "HTTP 503")
    clock.now += 30
    assert not b.try_probe("horizon:public")  # the interval restarts at the probe
    clock.now += 30
    assert b.try_probe("horizon:public")
    b.record_success("horizon:public")
    assert not b.is_open("horizon:public") and b.state("horizon:public").failures == 0


def test_one_probe_per_interval_across_processes(tmp_path):
    b = ProviderBreakers(SqliteBreakerStorage(tmp_path), failure_threshold=1, probe_interval_s=3600)
    b.storage.compare_and_set("horizon:public", 0, {"status": "open", "failures": 1, "opened_at": 1.0})
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(PROJECT_ROOT)!r})
        from include.stellar_lineage.breaker import ProviderBreakers, SqliteBreakerStorage
        b = ProviderBreakers(SqliteBreakerStorage({str(tmp_path)!r}), failure_threshold=1, probe_interval_s=3600)
        time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
        print(sum(b.try_probe("horizon:public") for _ in range(20)))
        """
    )
    start = time.time() + 2.0
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(start)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    grants = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sum(grants) == 1, grants


def outage_dataset(funders: int = 4, per_funder: int = 30) -> tuple[Dataset, list[str]]:
    ds = Dataset("public")
    leaves = []
    funder_list = [address(f"outage-funder-{f}") for f in range(funders)]
    for f, funder in enumerate(funder_list):
        ds.create_account(ROOTS["public"], funder, "100000", ledger=10 + f)
    for f, funder in enumerate(funder_list):
        for i in range(per_funder):
            leaf = address(f"outage-leaf-{f}-{i}")
            ds.create_account(funder, leaf, "10", ledger=100 + f * per_funder + i)
            leaves.append(leaf)
    return ds, leaves


def test_horizon_outage_fails_nothing_and_sends_one_probe_per_run(sqlite_store, tmp_path):
    """120 queued accounts; Horizon answers 503 to everything for 6 runs (scaled: one run = 120 s of
    the breaker's clock, the HTTP retry backoff shortened). Then it recovers."""
    ds, leaves = outage_dataset()
    settings = scenario_settings(http_max_attempts=3, api_pipeline_batch_size=200)
    clock = Clock()
    with running_stack(tmp_path / "rl", ds) as stack:
        breakers = stack.breakers(settings, clock=clock)
        client = stack.client(settings, breakers=breakers)

        def run(n: int) -> tuple[int, dict]:
            before = stack.horizon.count()
            records, _report = claim_for_api(
                sqlite_store, settings, 200, owner=f"run-{n}", breakers=breakers, client_factory=lambda _n: client
            )
            summary = process_claimed(
                sqlite_store,
                [{"network": r.network_name, "account": r.stellar_account} for r in records],
                settings=settings,
                source="API",
                owner=f"run-{n}",
                client_factory=lambda _n: client,
                breakers=breakers,
            )
            clock.now += 120
            return stack.horizon.count() - before, summary

        sqlite_store.enqueue("public", leaves)
        stack.horizon.faults.fail_5xx = 10**9
        sent = [run(n)[0] for n in range(6)]
        during = sqlite_store.get_many("public", leaves)
        stack.horizon.faults.fail_5xx = 0
        after = [run(n) for n in range(6, 8)]
    # while down: the first run stops after the threshold; later runs send at most the one probe
    assert sent[0] <= settings.http_max_attempts * (settings.breaker_failure_threshold + 4)
    assert sent[1:] == [1] * 5, sent  # exactly the probe: one per run (the probe interval = one run)
    assert all(r.status == "PENDING" and r.retry_count == 0 for r in during.values())
    by_status = sqlite_store.stats("public", stuck_threshold=__import__("datetime").timedelta(minutes=15))["by_status"]
    assert by_status["FAILED"] == 0 and by_status["PENDING"] == 0 and by_status["PROCESSING"] == 0
    assert all(r.status == "COMPLETE" for r in sqlite_store.get_many("public", leaves).values())
    assert after[0][1]["complete"] >= 120
    assert sqlite_store.lineage("public", leaves[0])["reaches_root"]


def test_breaker_variables_set_threshold_and_probe_interval(tmp_path):
    from include.stellar_lineage.breaker import breakers_from_settings

    settings = scenario_settings(breaker_failure_threshold=2, breaker_probe_interval_seconds=7)
    b = breakers_from_settings(settings, tmp_path)
    assert not b.record_failure("stellar_expert", "timeout")
    assert b.record_failure("stellar_expert", "timeout")
    b._clock = lambda: b.state("stellar_expert").opened_at + 6.9
    assert not b.try_probe("stellar_expert")
    b._clock = lambda: b.state("stellar_expert").opened_at + 7.0
    assert b.try_probe("stellar_expert")
