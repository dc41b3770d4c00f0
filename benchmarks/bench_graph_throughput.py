"""Accounts/hour with the creator graph vs without, Horizon-bound, against the fake Horizon + Stellar Expert.

One synthetic world (tests/support/graph_world.py: a random creation tree, so requested accounts have
real chains to climb), the same requested accounts, the same host-wide rate limiter at ``--rpm``, three
runs of ``--seconds`` each through ``api_pipeline.process_claimed`` (SQLite store, 4 workers, climbing):

* ``without``: no graph loaded, the plain API path (account + payments page per account, chains
  climbed through Horizon);
* ``graph``: the graph loaded, resolution from the edge table (one ``GET /accounts/{id}`` per account;
  a payments page only for accounts changed after the snapshot);
* ``graph_mode``: graph mode, records complete from the graph with no request; the attribute
  follow-ups (one request each) then run for the rest of the window.

Requests are counted on the fake Horizon's side.

    python -m benchmarks.bench_graph_throughput --rpm 300 --seconds 90
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from include.stellar_lineage.api_pipeline import process_claimed
from include.stellar_lineage.clients import build_api_client
from include.stellar_lineage.config import defaults
from include.stellar_lineage.graph_mode import run_followups
from include.stellar_lineage.ratelimit import HostRateLimiter
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.graph_world import build_world, leaves


def run(mode: str, world, requested: list[str], rpm: float, seconds: float, latency_ms: float) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-graph-{mode}-"))
    settings = dataclasses.replace(
        defaults(),
        horizon_requests_per_minute=rpm,
        stellar_expert_requests_per_minute=rpm,
        graph_mode=mode == "graph_mode",
    )
    store = SqliteLineageStore(workdir / "lineage.db")
    if mode != "without":
        world.load_into(store)
    limiter = HostRateLimiter({"horizon": rpm, "stellar_expert": rpm}, workdir / "ratelimit")
    with FakeHorizon(world.ds) as horizon, FakeStellarExpert({"public": world.ds}) as expert:
        horizon.faults.latency_s = expert.faults.latency_s = latency_ms / 1000
        client = build_api_client("public", settings, limiter=limiter, horizon=horizon.url, expert=expert.url)
        store.enqueue("public", requested)
        started = time.monotonic()
        deadline = started + seconds
        claimed = store.claim_batch(len(requested), pipeline="API", owner="bench")
        summary = process_claimed(
            store,
            [{"network": r.network_name, "account": r.stellar_account} for r in claimed],
            settings=settings,
            source="API",
            owner="bench",
            deadline=deadline,
            client_factory=lambda network: client,
        )
        complete_at = time.monotonic() - started
        attributes = 0
        if mode == "graph_mode":
            fu = run_followups(store, settings, lambda n: client, owner="fu", limit=10**6, deadline=deadline)
            attributes = fu.get("attributes", 0) + fu.get("vanished", 0)
        elapsed = time.monotonic() - started
        horizon_requests = horizon.count()
    completed = summary["complete"] + summary.get("graph_complete", 0)
    with_attributes = completed if mode != "graph_mode" else attributes
    store.close()
    limiter.close()
    return {
        "mode": mode,
        "seconds": round(elapsed, 1),
        "complete": completed,
        "complete_within_s": round(complete_at, 1),
        "with_current_attributes": with_attributes,
        "horizon_requests": horizon_requests,
        "horizon_requests_per_complete_record": round(horizon_requests / max(with_attributes, 1), 3),
        "records_per_hour": round(completed / max(complete_at if mode == "graph_mode" else elapsed, 1e-9) * 3600),
        "records_with_attributes_per_hour": round(with_attributes / elapsed * 3600),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--accounts", type=int, default=3000, help="size of the synthetic world")
    args = parser.parse_args()
    world = build_world(args.accounts, n_later=20, seed=3)
    requested = leaves(world)[: int(args.rpm * args.seconds / 60) + 200]  # more than one window can finish
    out = [
        run(mode, world, requested, args.rpm, args.seconds, args.latency_ms)
        for mode in ("without", "graph", "graph_mode")
    ]
    print(json.dumps({"rpm": args.rpm, "requested": len(requested), "runs": out}, indent=2))


if __name__ == "__main__":
    main()
