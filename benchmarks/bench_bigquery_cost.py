"""BigQuery cost per account: one batched Hubble query (ours) vs the seed's one query per account.

Model (documented in include/stellar_lineage/hubble/sql/hubble_lineage.sql and
reference/hubble_bigquery.md B.2/B.3): BigQuery bills the referenced columns in full
(after partition pruning), NULL = 0 bytes, INT64/TIMESTAMP 8 B, BOOL 1 B, a G-address 58 B; at least
10 MiB per referenced table; $6.25 per TiB. Row counts are the reference's planning assumptions
(order of magnitude; replace them with free ``tables.get`` numbers when credentials exist):
N = 1e10 operations, C = 4e7 create_account rows, M = 5e6 account_merge rows, L = 6.1e7 ledgers.

The seed ran one full-history query per account, guarded at 145 GB / $0.71: each account could cost
up to $0.71. Our query costs the same for 1 or 10,000 accounts, so per account it divides by the batch.

With ``--emulator`` the script also dry-runs the real SQL through the local emulator + cost shim for
batches of 1, 10 and 100 accounts (scenario data) to show the bytes do not depend on the batch size.

    .venv/bin/python -m benchmarks.bench_bigquery_cost            # model only
    .venv/bin/python -m benchmarks.bench_bigquery_cost --emulator # + measured dry runs (starts it)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.config import defaults  # noqa: E402
from include.stellar_lineage.hubble import cost  # noqa: E402

N_OPS, N_CREATE, N_MERGE, N_LEDGERS = 10**10, 4 * 10**7, 5 * 10**6, 61 * 10**6
ADDRESS, INT, BOOL = 58, 8, 1
SEED_BYTES, SEED_USD = 145 * 10**9, 0.71
BATCHES = (1, 10, 100)


def model_columns() -> dict[str, int]:
    """Bytes per referenced column of hubble_lineage.sql under the model."""
    return {
        "enriched.account (creates + merges)": ADDRESS * (N_CREATE + N_MERGE),
        "enriched.funder (creates only)": ADDRESS * N_CREATE,
        "enriched.starting_balance (creates only)": INT * N_CREATE,
        "enriched.op_id (every op; orders creations, carries the ledger)": INT * N_OPS,
        "enriched.successful (every op)": BOOL * N_OPS,
        "history_ledgers.sequence": INT * N_LEDGERS,
        "history_ledgers.closed_at": INT * N_LEDGERS,
    }


def model(price: float) -> dict:
    columns = model_columns()
    per_query = cost.billable_bytes(sum(columns.values()), 2)
    usd_query = cost.usd_for_bytes(per_query, price)
    rows = []
    for batch in BATCHES:
        rows.append(
            {
                "batch": batch,
                "bytes_per_account": per_query // batch,
                "usd_per_account": usd_query / batch,
                "seed_usd_per_account": SEED_USD,
                "seed_bytes_per_account": SEED_BYTES,
                "usd_ratio_vs_seed": SEED_USD / (usd_query / batch),
                "bytes_ratio_vs_seed": SEED_BYTES / (per_query / batch),
            }
        )
    return {
        "columns": columns,
        "bytes_per_query": per_query,
        "usd_per_query": usd_query,
        "rows": rows,
        "within_seed_limits": cost.decide(
            sum(columns.values()), defaults(), spent_today_usd=0.0, referenced_tables=2
        ).decision,
    }


def measured() -> list[dict]:
    """Dry runs of the real SQL through the emulator + shim (scenario data), per batch size."""
    import json as _json
    import os
    import subprocess

    from tests.support.bigquery_fixtures import BILLING_PROJECT, SCRIPT, Emulator, load_hubble
    from tests.support.lineage_scenarios import scenario_dataset
    from tests.support.stellar_dataset import address

    if subprocess.run([str(SCRIPT), "status"], capture_output=True).returncode != 0:
        subprocess.run([str(SCRIPT), "start"], check=True)
    url = f"http://127.0.0.1:{os.environ.get('BQ_SHIM_PORT', '19051')}"
    os.environ["BIGQUERY_EMULATOR_HOST"] = url
    os.environ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = _json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": BILLING_PROJECT}}
    )
    emu = Emulator(url)
    ds = scenario_dataset()
    load_hubble(emu, ds)
    from include.stellar_lineage.hubble.query import HubbleClient

    hubble = HubbleClient(defaults())
    kids = [address(f"scenario-hub-child-{i}") for i in range(100)]
    out = []
    for batch in BATCHES:
        emu.reset()
        nbytes = hubble.dry_run(kids[:batch])
        out.append(
            {
                "batch": batch,
                "dry_run_bytes": nbytes,
                "bytes_per_account": nbytes / batch,
                "shim_requests": emu.stats()["dry_runs"],
                "operations_in_table": len(ds.ops),
            }
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", action="store_true", help="also dry-run through the local emulator")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    price = defaults().bigquery_price_per_tib_usd
    report = {"price_per_tib_usd": price, "model": model(price)}
    if args.emulator:
        report["measured"] = measured()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    m = report["model"]
    print(
        f"Model: one batched query = {m['bytes_per_query'] / 1e9:.1f} GB = ${m['usd_per_query']:.4f} "
        f"(guard at seed limits: {m['within_seed_limits']})"
    )
    for name, nbytes in m["columns"].items():
        print(f"  {name:45s} {nbytes / 1e9:8.2f} GB")
    print(f"{'batch':>6} {'GB/account':>11} {'USD/account':>12} {'seed USD/acct':>14} {'x cheaper':>10}")
    for r in m["rows"]:
        print(
            f"{r['batch']:>6} {r['bytes_per_account'] / 1e9:>11.3f} {r['usd_per_account']:>12.5f} "
            f"{r['seed_usd_per_account']:>14.2f} {r['usd_ratio_vs_seed']:>10.1f}"
        )
    for r in report.get("measured", []):
        print(
            f"measured dry run, batch {r['batch']:>3}: {r['dry_run_bytes']} bytes "
            f"({r['bytes_per_account']:.1f}/account, {r['shim_requests']} request, "
            f"{r['operations_in_table']} ops in the test table)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
