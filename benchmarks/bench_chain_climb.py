"""Wall time from enqueueing one leaf to its whole depth-6 chain COMPLETE, at 60 Horizon req/min.

Compares the shipped design (climb the chain within one API run) with the one-level-per-run design
(enqueue the creator, pick it up in the next 2-minute run), both against the fake Horizon / Stellar
Expert over real HTTP with 50 ms latency and the real host-wide rate limiter.

    .venv/bin/python benchmarks/bench_chain_climb.py [--depth 6] [--rpm 60] [--latency-ms 50]

The one-level-per-run design is measured for its processing time per level and the run spacing is
added as the scheduler would (one run every 120 s): level k starts at k × 120 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.api_pipeline import process_claimed  # noqa: E402
from include.stellar_lineage.config import defaults  # noqa: E402
from include.stellar_lineage.ratelimit import HostRateLimiter  # noqa: E402
from include.stellar_lineage.store.sqlite import SqliteLineageStore  # noqa: E402
from tests.support.chains import chain_dataset  # noqa: E402
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert  # noqa: E402

INTERVAL_S = 120


def run(depth: int, rpm: float, latency_ms: float, climb: bool) -> tuple[float, int]:
    from include.stellar_lineage.clients import build_api_client

    ds, chain = chain_dataset(depth, name=f"bench-{climb}")
    settings = dataclasses.replace(defaults(), horizon_requests_per_minute=rpm)
    with tempfile.TemporaryDirectory() as tmp, FakeHorizon(ds) as horizon, FakeStellarExpert({"public": ds}) as se:
        horizon.faults.latency_s = se.faults.latency_s = latency_ms / 1000
        limiter = HostRateLimiter({"horizon": rpm, "stellar_expert": 60}, Path(tmp) / "rl")
        client = build_api_client("public", settings, limiter=limiter, horizon=horizon.url, expert=se.url)
        store = SqliteLineageStore(Path(tmp) / "lineage.db")
        store.enqueue("public", [chain[0]])
        wall, runs, start = 0.0, 0, time.monotonic()
        while store.queue_depth("public"):
            claimed = [
                {"network": r.network_name, "account": r.stellar_account}
                for r in store.claim_batch(50, pipeline="API", owner=f"run-{runs}")
            ]
            t0 = time.monotonic()
            process_claimed(
                store,
                claimed,
                settings=settings,
                source="API",
                owner=f"run-{runs}",
                client_factory=lambda n: client,
                climb=climb,
            )
            wall = (time.monotonic() - start) if climb else runs * INTERVAL_S + (time.monotonic() - t0)
            runs += 1
        assert all(r.status == "COMPLETE" for r in store.get_many("public", chain).values())
        store.close()
        limiter.close()
        return wall, runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--rpm", type=float, default=60)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    climbed, runs_c = run(args.depth, args.rpm, args.latency_ms, climb=True)
    level, runs_l = run(args.depth, args.rpm, args.latency_ms, climb=False)
    print(
        f"depth {args.depth} chain ({args.depth + 1} records), {args.rpm:g} Horizon req/min, "
        f"{args.latency_ms:g} ms latency"
    )
    print(f"  climb within one run : {climbed:7.1f} s wall, {runs_c} run(s)")
    print(f"  one level per run    : {level:7.1f} s wall, {runs_l} runs (120 s apart)")
    print(f"  speed-up             : {level / climbed:7.1f}x")


if __name__ == "__main__":
    main()
