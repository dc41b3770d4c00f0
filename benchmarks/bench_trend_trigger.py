"""CPU cost of the dashboard-trend counters (SQLite migration 007's ``lineage_outcome`` trigger) on a bulk
completion: ``complete_many`` of N claimed records in chunks of 5,000 (graph mode's path), with the
trigger as shipped and with it dropped, alternating, in fresh stores. Process CPU time, so other jobs on
a shared machine do not count.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_trend_trigger.py --records 20000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from include.stellar_lineage.records import LineageResult
from include.stellar_lineage.store.sqlite import SqliteLineageStore


def complete_cpu_seconds(path: Path, records: int, *, trigger: bool) -> float:
    store = SqliteLineageStore(path)
    if not trigger:
        store._conn().execute("DROP TRIGGER lineage_outcome")
    accounts = [f"G{i:055d}" for i in range(records)]
    store.enqueue("public", accounts)
    store.claim_batch(records, pipeline="API", owner="bench", network="public")
    result = LineageResult(creator=None, created_at=None)
    started = time.process_time()
    for i in range(0, records, 5000):
        store.complete_many("public", dict.fromkeys(accounts[i : i + 5000], result), owner="bench", source="BIGQUERY")
    spent = time.process_time() - started
    store.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seconds: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="bench-trend-") as tmp:
        for r in range(args.rounds):
            for trigger in (False, True):
                seconds[trigger].append(
                    complete_cpu_seconds(Path(tmp) / f"{r}-{trigger}.db", args.records, trigger=trigger)
                )
    without, with_ = statistics.median(seconds[False]), statistics.median(seconds[True])
    print(f"complete_many of {args.records:,} records, median CPU of {args.rounds} rounds:")
    print(f"  without the trend trigger: {without:.2f} s ({without / args.records * 1e6:.0f} us/record)")
    print(f"  with the trend trigger:    {with_:.2f} s ({with_ / args.records * 1e6:.0f} us/record)")
    print(f"  trigger cost: {(with_ - without) / args.records * 1e6:.0f} us CPU per completion")


if __name__ == "__main__":
    main()
