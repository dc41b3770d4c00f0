"""Export memory stays flat: peak RSS of ``python -m include.stellar_lineage.export records`` for
1,000 / 10,000 / 100,000 records (SQLite store), and the 100,000-record export re-imports equal.

    .venv/bin/python benchmarks/bench_export_memory.py [--sizes 1000 10000 100000] [--format ndjson csv]

Records are COMPLETE-shaped (attributes, assets, a 20-child list, tags: ~1.6 kB each), written by
enqueue + one UPDATE per size (a fixture, not what is measured). Each export runs in its own process,
which reports its own peak RSS (``ru_maxrss``); the round trip parses the export file back and compares
it record by record with ``iter_records`` (both streamed: the check holds no table either).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from include.stellar_lineage import export  # noqa: E402
from include.stellar_lineage.store.sqlite import SqliteLineageStore  # noqa: E402

CHILD = (
    "import resource, sys; from include.stellar_lineage.export_cli import main; rc = main(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(rc)"
)


def fill(path: Path, n: int) -> None:
    from stellar_sdk import Keypair

    with SqliteLineageStore(path) as store:
        accounts = [Keypair.from_raw_ed25519_seed(i.to_bytes(32, "big")).public_key for i in range(1, n + 1)]
        for i in range(0, n, 5000):
            store.enqueue("public", accounts[i : i + 5000])
        attrs = json.dumps({"flags": {"auth_required": False}, "thresholds": {"low_threshold": 0}, "signers": []})
        kids = json.dumps(
            {"count": 20, "complete": True, "source": "horizon", "children": [{"account": a} for a in accounts[:20]]}
        )
        with store._write() as conn:  # fixture only: COMPLETE-shaped rows without 100k claim/complete calls
            conn.execute(
                "UPDATE lineage SET status = 'COMPLETE', pipeline_source = 'API', xlm_balance = '12.3456789', "
                "stellar_account_attributes_json = ?, stellar_account_assets_json = '[]', child_accounts_json = ?, "
                "tags = 'exchange', home_domain = 'example.com'",
                (attrs, kids),
            )


def run_export(db: Path, out: Path, fmt: str) -> tuple[float, int]:
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "--sqlite", str(db), "--out", str(out), "records", "--format", fmt],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.monotonic() - t, int(proc.stderr.strip().splitlines()[-1])


def round_trip(db: Path, out: Path, fmt: str) -> int:
    parse = export.parse_ndjson if fmt == "ndjson" else export.parse_csv
    n = 0
    with SqliteLineageStore(db) as store, out.open(newline="") as fh:
        for original, back in zip(store.iter_records(), parse(fh), strict=True):
            assert original == back, (original, back)
            n += 1
    return n


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--format", nargs="+", default=["ndjson", "csv"])
    args = p.parse_args()
    print("| records | format | file MB | seconds | peak RSS MB | round trip |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for n in args.sizes:
            db = Path(tmp) / f"{n}.db"
            fill(db, n)
            for fmt in args.format:
                out = Path(tmp) / f"{n}.{fmt}"
                seconds, rss_kb = run_export(db, out, fmt)
                equal = round_trip(db, out, fmt) if n == max(args.sizes) else None
                print(
                    f"| {n:,} | {fmt} | {out.stat().st_size / 1e6:.1f} | {seconds:.1f} | {rss_kb / 1024:.0f} | "
                    + (f"{equal:,} equal" if equal is not None else "–")
                    + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
