"""API-path throughput: accounts/hour at a Horizon budget, against the fake Horizon + Stellar Expert.

The bound is ``horizon_requests_per_minute × 60 ÷ Horizon requests per account``. With the client's
2 requests per account (account + one payments page, for accounts with < 200 payments) and 60 req/min,
the bound is 1,800 accounts/hour. The run drives the lead's ``api_pipeline.process_claimed`` (SQLite
store, real claims, climbing on) when it is importable, else a thread pool calling ``fetch_lineage``.

    .venv/bin/python -m benchmarks.bench_api_throughput --seconds 180 --latency-ms 50 --rpm 60
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.clients import build_api_client  # noqa: E402
from include.stellar_lineage.config import defaults  # noqa: E402
from include.stellar_lineage.ratelimit import HostRateLimiter  # noqa: E402
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert  # noqa: E402
from tests.support.stellar_dataset import ROOTS, Dataset, address  # noqa: E402


def bench_dataset(n_accounts: int, payments_each: int) -> tuple[Dataset, list[str]]:
    """``n_accounts`` leaves under 10 funders (all within full history), each with ``payments_each``
    incoming payments, so every account has ``payments_each + 1`` payment records (≤ 200)."""
    ds = Dataset("public")
    funders = [address(f"bench-funder-{i}") for i in range(10)]
    for f in funders:
        ds.create_account(ROOTS["public"], f, "1000000")
    leaves = []
    for i in range(n_accounts):
        leaf = address(f"bench-leaf-{i}")
        ds.create_account(funders[i % 10], leaf, "10")
        for _ in range(payments_each):
            ds.payment(funders[i % 10], leaf, "1")
        leaves.append(leaf)
    return ds, leaves


def run_pipeline(client, accounts: list[str], settings, seconds: float, workdir: Path, climb: bool) -> dict:
    from include.stellar_lineage.api_pipeline import process_claimed
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    store = SqliteLineageStore(workdir / "bench-lineage.db")
    store.enqueue("public", accounts)
    claimed = store.claim_batch(len(accounts), pipeline="API", owner="bench")
    summary = process_claimed(
        store,
        [{"network": r.network_name, "account": r.stellar_account} for r in claimed],
        settings=settings,
        source="API",
        owner="bench",
        deadline=time.monotonic() + seconds,
        client_factory=lambda network: client,
        climb=climb,
    )
    store.close()
    return {
        "driver": "api_pipeline.process_claimed",
        "completed": summary["complete"],
        "summary": summary,
    }


def run_pool(client, accounts: list[str], seconds: float, workers: int = 4) -> dict:
    deadline = time.monotonic() + seconds
    done, it = [], iter(accounts)

    def worker() -> None:
        for account in it:
            if time.monotonic() >= deadline:
                return
            client.fetch_lineage(account)
            done.append(account)

    with ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(worker) for _ in range(workers)]:
            f.result()
    return {"driver": f"thread pool ({workers}) calling fetch_lineage", "completed": len(done)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--rpm", type=float, default=60, help="Horizon (and Stellar Expert) requests/minute")
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--payments-each", type=int, default=20)
    p.add_argument(
        "--climb",
        action="store_true",
        help="also climb to creators (the bench funders have > 200 payments, so off by default)",
    )
    p.add_argument("--driver", choices=("auto", "pipeline", "pool"), default="auto")
    args = p.parse_args(argv)

    n_accounts = int(args.rpm * args.seconds / 60) + 50  # more than the budget can finish
    ds, accounts = bench_dataset(n_accounts, args.payments_each)
    settings = dataclasses.replace(
        defaults(), horizon_requests_per_minute=args.rpm, stellar_expert_requests_per_minute=args.rpm
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    limiter = HostRateLimiter({"horizon": args.rpm, "stellar_expert": args.rpm}, workdir / "ratelimit")
    with FakeHorizon(ds) as horizon, FakeStellarExpert({"public": ds}) as expert:
        horizon.faults.latency_s = expert.faults.latency_s = args.latency_ms / 1000
        client = build_api_client("public", settings, limiter=limiter, horizon=horizon.url, expert=expert.url)
        started = time.monotonic()
        use_pipeline = args.driver == "pipeline"
        if args.driver == "auto":
            try:
                import include.stellar_lineage.api_pipeline  # noqa: F401

                use_pipeline = True
            except ImportError:
                use_pipeline = False
        out = (
            run_pipeline(client, accounts, settings, args.seconds, workdir, args.climb)
            if use_pipeline
            else run_pool(client, accounts, args.seconds)
        )
        elapsed = time.monotonic() - started
        horizon_requests = horizon.count()
        account_log = horizon.request_log(r"^/accounts/G[A-Z0-9]{55}$")
        account_calls = len(account_log)
        # Steady state: leave out the first minute, where an empty limiter window allows one burst.
        t0 = min(r.t_mono for r in horizon.request_log())
        late = [r for r in account_log if r.t_mono >= t0 + 60]
        steady = len(late) / (elapsed - 60) * 3600 if elapsed > 120 else None
        arrivals = sorted(r.t_mono for r in horizon.request_log())
        lo, busiest = 0, 0
        for hi, t in enumerate(arrivals):  # the limiter's promise, checked on the server side
            while t - arrivals[lo] >= 60:
                lo += 1
            busiest = max(busiest, hi - lo + 1)
    per_account = horizon_requests / max(account_calls, 1)
    rate = out["completed"] / elapsed * 3600
    bound = args.rpm * 60 / per_account
    result = {
        **out,
        "seconds": round(elapsed, 1),
        "horizon_rpm": args.rpm,
        "latency_ms": args.latency_ms,
        "horizon_requests": horizon_requests,
        "max_horizon_requests_in_any_60s": busiest,
        "expert_requests": expert.count(),
        "horizon_requests_per_account": round(per_account, 3),
        "accounts_per_hour": round(rate),
        "bound_accounts_per_hour": round(bound),
        "fraction_of_bound": round(rate / bound, 3),
        "steady_state_accounts_per_hour_after_60s": round(steady) if steady else None,
        "steady_state_fraction_of_bound": round(steady / bound, 3) if steady else None,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
