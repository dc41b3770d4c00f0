"""Round trip of one request to the tests' fake Horizon (tests/support/fake_http.py) over a kept-alive
connection, with TCP_NODELAY (what the fake servers set) and without it (Nagle on: the reply's body
waits for the client's delayed ACK of its headers). Explains most of the CI time of the tests that
make thousands of fake Horizon requests (benchmarks/RESULTS.md "CI wall time").

Usage: .venv/bin/python -m benchmarks.bench_fake_http [--requests 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from tests.support import fake_http
from tests.support.fake_stellar import FakeHorizon
from tests.support.graph_world import build_world


def per_request_ms(world, nodelay: bool, n: int) -> list[float]:
    original = fake_http.FakeServer._handler_class

    def handler_class(self):
        handler = original(self)
        handler.disable_nagle_algorithm = nodelay
        return handler

    fake_http.FakeServer._handler_class = handler_class  # type: ignore[method-assign]
    try:
        with FakeHorizon(world.ds) as horizon, requests.Session() as session:
            out = []
            for account in [a for a in world.covered if a in world.ds.accounts][:n]:  # not the merged one
                t0 = time.perf_counter()
                session.get(f"{horizon.url}/accounts/{account}", timeout=10).raise_for_status()
                out.append((time.perf_counter() - t0) * 1000)
            return out
    finally:
        fake_http.FakeServer._handler_class = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    n = parser.parse_args().requests
    world = build_world(n + 10, seed=1)
    for label, nodelay in (("TCP_NODELAY (as the fake servers run)", True), ("Nagle on (before)", False)):
        ms = per_request_ms(world, nodelay, n)
        print(
            f"{label}: {n} GET /accounts/{{id}}, median {statistics.median(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms"
        )


if __name__ == "__main__":
    main()
