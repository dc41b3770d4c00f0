"""Cost of one grant from the host-wide SQLite rate limiter as its window fills, at a high budget.

Every API request asks the limiter first, so a grant must stay cheap when the window holds many
grants (a 1,000/s budget keeps up to 60,000 in its 60 s window). The script takes ``--grants`` grants
back to back from one process at ``--rpm`` and prints the mean cost per grant for each slice of
``--slice`` grants: flat means the cost does not grow with the window's fill.

    .venv/bin/python benchmarks/bench_limiter_grants.py [--rpm 600000] [--grants 20000] [--slice 5000]

The default budget (10,000/s) is high enough that no grant waits: the numbers are pure limiter cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.ratelimit import HostRateLimiter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rpm", type=float, default=600_000)
    parser.add_argument("--grants", type=int, default=20_000)
    parser.add_argument("--slice", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        limiter = HostRateLimiter({"horizon": args.rpm}, Path(tmp))
        try:
            t_all = time.perf_counter()
            for start in range(0, args.grants, args.slice):
                t0 = time.perf_counter()
                for _ in range(args.slice):
                    limiter.acquire("horizon")
                per_grant_us = (time.perf_counter() - t0) / args.slice * 1e6
                print(f"grants {start:>7,}-{start + args.slice - 1:>7,}: {per_grant_us:8.1f} µs/grant")
            total = time.perf_counter() - t_all
            print(f"{args.grants:,} grants at {args.rpm:,.0f}/min in {total:.2f} s ({args.grants / total:,.0f}/s)")
        finally:
            limiter.close()


if __name__ == "__main__":
    main()
