"""Cost of the secret-seed detector (include/stellar_lineage/seeds.py) where it runs on every item:
log records through the redaction filter, a 1,000-address enqueue list, a lineage JSON body.

Usage: .venv/bin/python -m benchmarks.bench_seed_detector [--repeat 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import time

from include.stellar_lineage.seeds import find_seeds, install_log_redaction
from include.stellar_lineage.validation import parse_account_list
from tests.support.seed_shapes import DERIVED, VALID, VALID2


def per_call(fn, repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    repeat = parser.parse_args().repeat

    line = "Enqueued on public: 3 new, 0 reset from FAILED/INVALID, 1 already known; 2 rejected, 0 normalised"
    addresses = [VALID, VALID2] * 500
    body = json.dumps({"children": [{"account": a, "created_at": "2024-01-01T00:00:00Z"} for a in addresses]})
    rows = [
        ("short log line, no seed", lambda: find_seeds(line)),
        ("short log line with a seed", lambda: find_seeds(line + " " + DERIVED)),
        ("URL-encoded seed in a query", lambda: find_seeds("account=" + "".join(f"%{ord(c):02X}" for c in DERIVED))),
        (f"lineage JSON, 1,000 children ({len(body):,} chars)", lambda: find_seeds(body)),
        ("1,000 addresses, comma-joined", lambda: find_seeds(", ".join(addresses))),
        ("parse_account_list, 1,000 entries", lambda: parse_account_list(addresses)),
    ]
    print(f"| input | time per call (mean of {repeat}) |")
    print("|---|---|")
    for name, fn in rows:
        n = repeat if "1,000" not in name else max(20, repeat // 100)
        print(f"| {name} | {per_call(fn, n) * 1e6:,.1f} µs |")

    stream = io.StringIO()
    logger = logging.getLogger("bench_seed_detector")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    plain = per_call(lambda: logger.info("Enqueued %d of %d on %s", 3, 4, "public"), repeat)
    install_log_redaction(logger)
    filtered = per_call(lambda: logger.info("Enqueued %d of %d on %s", 3, 4, "public"), repeat)
    print(
        f"| log record through a StreamHandler, without / with the filter | {plain * 1e6:.1f} / {filtered * 1e6:.1f} µs |"
    )


if __name__ == "__main__":
    main()
