"""Enqueue → first API task and enqueue → COMPLETE on a real ``airflow standalone`` (SQLite store,
fake Horizon / Stellar Expert, public and testnet chains of depth 3).

    .venv/bin/python benchmarks/bench_enqueue_latency.py [--trials 7]

The scenario is ``tests/e2e/immediate_runs.py``, on an Airflow of its own (the e2e module runs the same
trials, two of them, on its shared Airflow).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.immediate_runs import measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-enqueue-") as tmp:
        out = measure(Path(tmp), args.trials)
    print(json.dumps(out, indent=2, default=str))
    print("| trial | network | run type | enqueue → first API task | enqueue → COMPLETE | → chain COMPLETE |")
    for i, t in enumerate(out["trials"]):
        print(
            f"| {i} | {t['network']} | {t['run_type']} | {t['to_first_task_s']} s | {t['to_complete_s']} s "
            f"| {t['to_chain_complete_s']} s |"
        )
    print(f"median first task {out['median_to_first_task_s']} s, median COMPLETE {out['median_to_complete_s']} s")


if __name__ == "__main__":
    main()
