"""A Horizon outage, time-scaled: what it costs in FAILED records and wasted requests.

120 accounts are queued; the fake Horizon answers 503 to everything for ``--outage-runs`` runs of the
2-minute API schedule (15 runs = 30 minutes), then recovers. Each run does what the API DAG does:
recover stuck records, claim a batch (45 = what ``auto`` sizes at the default 60 requests/min), process
it through the API path. Time is scaled: no sleeping between runs (the breaker's clock advances 120 s per
run), the HTTP retry backoff shortened; the request counts and record outcomes are those of the real code.

The same script runs on a checkout without circuit breakers (e.g. commit 76d8bb7), which is how the
"before" column of benchmarks/RESULTS.md was produced::

    python benchmarks/bench_outage.py                       # this checkout
    git worktree add ../before 76d8bb7 && cp benchmarks/bench_outage.py ../before/benchmarks/ \\
        && (cd ../before && PYTHONPATH=. python benchmarks/bench_outage.py)
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.api_pipeline import process_claimed  # noqa: E402
from include.stellar_lineage.store.sqlite import SqliteLineageStore  # noqa: E402
from tests.support.lineage_scenarios import running_stack, scenario_settings  # noqa: E402
from tests.support.stellar_dataset import ROOTS, Dataset, address  # noqa: E402

try:  # present after issue 11
    from include.stellar_lineage.api_claim import claim_for_api
except ImportError:
    claim_for_api = None


def dataset(funders: int = 4, per_funder: int = 30) -> tuple[Dataset, list[str]]:
    ds = Dataset("public")
    names = [address(f"bench-outage-funder-{f}") for f in range(funders)]
    for f, funder in enumerate(names):
        ds.create_account(ROOTS["public"], funder, "100000", ledger=10 + f)
    leaves = []
    for f, funder in enumerate(names):
        for i in range(per_funder):
            leaf = address(f"bench-outage-leaf-{f}-{i}")
            ds.create_account(funder, leaf, "10", ledger=100 + f * per_funder + i)
            leaves.append(leaf)
    return ds, leaves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-runs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=45)
    args = parser.parse_args()
    ds, leaves = dataset()
    settings = scenario_settings(http_max_attempts=4)
    clock = [1_000_000.0]
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp) / "rl", ds) as stack:
        store = SqliteLineageStore(Path(tmp) / "lineage.db")
        breakers = stack.breakers(settings, clock=lambda: clock[0]) if hasattr(stack, "breakers") else None
        client = stack.client(settings, **({"breakers": breakers} if breakers else {}))
        extra = {"breakers": breakers} if "breakers" in inspect.signature(process_claimed).parameters else {}

        def run(n: int) -> None:
            owner = f"bench-run-{n}"
            store.recover_stuck(threshold=dt.timedelta(minutes=15), max_retries=settings.max_retry_attempts)
            if claim_for_api is not None:
                records, _ = claim_for_api(
                    store, settings, args.batch, owner=owner, breakers=breakers, client_factory=lambda _n: client
                )
            else:
                records = store.claim_batch(args.batch, pipeline="API", owner=owner)
            process_claimed(
                store,
                [{"network": r.network_name, "account": r.stellar_account} for r in records],
                settings=settings,
                source="API",
                owner=owner,
                client_factory=lambda _n: client,
                **extra,
            )
            clock[0] += 120

        store.enqueue("public", leaves)
        stack.horizon.faults.fail_5xx = 10**9
        started = time.monotonic()
        per_run = []
        for n in range(args.outage_runs):
            before = stack.horizon.count()
            run(n)
            per_run.append(stack.horizon.count() - before)
        wasted = stack.horizon.count()
        during = store.get_many("public", leaves).values()
        failed = sum(r.status == "FAILED" for r in during)
        charged = sum(r.retry_count for r in during)
        stack.horizon.faults.fail_5xx = 0
        after_runs = 0
        while (
            after_runs < 10 and store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]["PENDING"]
        ):
            run(args.outage_runs + after_runs)
            after_runs += 1
        final = store.get_many("public", leaves).values()
        print(
            json.dumps(
                {
                    "code": "circuit breaker" if breakers else "no breaker",
                    "outage_runs": args.outage_runs,
                    "queued": len(leaves),
                    "horizon_requests_during_outage": wasted,
                    "horizon_requests_per_outage_run": per_run,
                    "failed_after_outage": failed,
                    "retry_charges_during_outage": charged,
                    "runs_to_drain_after_recovery": after_runs,
                    "complete_at_end": sum(r.status == "COMPLETE" for r in final),
                    "failed_at_end": sum(r.status == "FAILED" for r in final),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
