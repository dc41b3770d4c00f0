"""Enqueue a 100,000-line file (``stellar_lineage_enqueue_file``'s logic) into a fresh SQLite store:
wall time, peak RSS, and the bad-line report.

    .venv/bin/python benchmarks/bench_bulk_enqueue.py [--lines 100000] [--bad-every 1000]

The file is read through ``ObjectStoragePath`` (local path) exactly as the DAG does; every
``--bad-every``-th line is a broken checksum. The DAG run itself is covered by
tests/integration/test_enqueue_file_dag.py (dag.test(), same 100,000 lines).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow.sdk import ObjectStoragePath  # noqa: E402, F401 - imported before the clock starts
from stellar_sdk import StrKey  # noqa: E402

from include.stellar_lineage.bulk_enqueue import enqueue_lines, open_lines  # noqa: E402
from include.stellar_lineage.store.sqlite import SqliteLineageStore  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--lines", type=int, default=100_000)
    p.add_argument("--bad-every", type=int, default=1000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        path = Path(tmp) / "accounts.txt"
        with path.open("w") as fh:
            for i in range(1, args.lines + 1):
                a = StrKey.encode_ed25519_public_key(i.to_bytes(32, "big"))
                fh.write((a[:-1] + ("A" if a[-1] != "A" else "B") if i % args.bad_every == 0 else a) + "\n")
        with SqliteLineageStore(Path(tmp) / "lineage.db") as store:
            t = time.monotonic()
            report = enqueue_lines(store, open_lines(str(path)), "public")
            seconds = time.monotonic() - t
            depth = store.queue_depth("public")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"| {report['lines']:,} | {seconds:.1f} s | {report['lines'] / seconds:,.0f} lines/s | {report['added']:,} "
        f"| {report['invalid_total']:,} (first: line {report['invalid'][0]['line']}) | {depth:,} | {rss:.0f} MB |"
    )


if __name__ == "__main__":
    main()
