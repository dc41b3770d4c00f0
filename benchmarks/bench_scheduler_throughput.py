"""Accounts/hour through the *real scheduler*: one host (``airflow standalone``, LocalExecutor, SQLite
store, host-file limiter) vs the cluster (``scripts/run-cluster``: CeleryExecutor, two worker hosts,
Cassandra store, Redis limiter), the same Horizon budget, only scheduled 2-minute runs of the API DAG
(nothing triggered by hand), against the fake Horizon + Stellar Expert in this process.

A queue far larger than the run can finish is enqueued before the API DAG is unpaused; after a
warm-up of ``--warmup`` seconds, COMPLETE records and Horizon requests are counted over ``--minutes``.
The rate bound is ``rpm × 60 ÷ 2`` accounts/hour (2 Horizon requests per account); the fraction of the
request budget is the fake Horizon's own count of requests ÷ (rpm × minutes). For the cluster, the PSS
of every process of it (PostgreSQL, Redis, Airflow, workers; Cassandra listed apart) is sampled at the end.

    .venv/bin/python -m benchmarks.bench_scheduler_throughput --mode standalone --rpm 120 --minutes 8
    .venv/bin/python -m benchmarks.bench_scheduler_throughput --mode cluster --rpm 120 --minutes 8
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_api_throughput import bench_dataset  # noqa: E402
from tests.e2e.airflow_harness import AirflowStandalone  # noqa: E402
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert  # noqa: E402

API = "stellar_lineage_api_pipeline"


def pss_mib(pids: list[int]) -> float:
    total = 0
    for pid in set(pids):
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_full_info().pss
    return total / 2**20


def tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [pid] + [c.pid for c in root.children(recursive=True)]
    except psutil.Error:
        return []


def measure(count_complete, horizon: FakeHorizon, rpm: float, warmup: float, minutes: float) -> dict:
    print(f"warm-up {warmup:.0f} s ...", flush=True)
    time.sleep(warmup)
    c0, r0, t0 = count_complete(), len(horizon.request_log()), time.monotonic()
    time.sleep(minutes * 60)
    c1, r1, t1 = count_complete(), len(horizon.request_log()), time.monotonic()
    hours = (t1 - t0) / 3600
    per_hour = (c1 - c0) / hours
    bound = rpm * 60 / 2
    return {
        "seconds": round(t1 - t0),
        "completed": c1 - c0,
        "accounts_per_hour": round(per_hour),
        "bound_per_hour": round(bound),
        "fraction_of_bound": round(per_hour / bound, 3),
        "horizon_requests": r1 - r0,
        "fraction_of_request_budget": round((r1 - r0) / (rpm * (t1 - t0) / 60), 3),
    }


def run_standalone(args, horizon, expert, accounts, workdir: Path) -> dict:
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    store_path = workdir / "lineage.db"
    store = SqliteLineageStore(store_path, migrate=True)
    store.enqueue("public", accounts)
    af = AirflowStandalone(
        workdir / "airflow-home",
        paused_at_creation=True,
        extra_env={
            "AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH": str(store_path),
            "AIRFLOW_VAR_STELLAR_LINEAGE_HORIZON_REQUESTS_PER_MINUTE": str(args.rpm),
            "AIRFLOW_VAR_STELLAR_LINEAGE_STELLAR_EXPERT_REQUESTS_PER_MINUTE": str(args.rpm * 4),
            "AIRFLOW_CONN_HORIZON_PUBLIC": json.dumps({"conn_type": "http", "host": horizon.url}),
            "AIRFLOW_CONN_STELLAR_EXPERT": json.dumps({"conn_type": "http", "host": expert.url}),
            "STELLAR_LINEAGE_RATELIMIT_DIR": str(workdir / "ratelimit"),
        },
    )
    try:
        af.start(timeout=900)  # a loaded 2-core machine: minutes, not seconds
        af.wait_dags([API], timeout=600)
        af.set_paused(API, False)
        result = measure(
            lambda: sum(r.status == "COMPLETE" for r in store.get_many("public", accounts).values()),
            horizon,
            args.rpm,
            args.warmup,
            args.minutes,
        )
        result["memory_pss_mib"] = round(pss_mib([p.pid for p in af.alive()]))
        return result
    finally:
        af.stop()
        store.close()


def run_cluster(args, horizon, expert, accounts, workdir: Path) -> dict:
    from tests.e2e.test_cluster import ADMIN_PASSWORD, Cluster, _cluster_env, _drop_keyspace, _store

    env = _cluster_env(workdir / "cluster", horizon.url, expert.url, "http://127.0.0.1:1")
    overrides = json.loads(Path(env["CLUSTER_VARIABLES"]).read_text())
    overrides.update(
        {
            "stellar_lineage_horizon_requests_per_minute": str(args.rpm),
            "stellar_lineage_stellar_expert_requests_per_minute": str(args.rpm * 4),
            "stellar_lineage_api_pipeline_batch_size": "auto",
            "stellar_lineage_stuck_threshold_minutes": "15",
        }
    )
    Path(env["CLUSTER_VARIABLES"]).write_text(json.dumps(overrides))
    env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "True"
    assert ADMIN_PASSWORD == env["CLUSTER_ADMIN_PASSWORD"]
    c = Cluster(workdir / "cluster", env)
    node = None
    try:
        out = c.run_script("start", timeout=1200)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        node, store = _store(env["CLUSTER_KEYSPACE"])
        store.enqueue("public", accounts)
        c.wait_dags([API], timeout=600)
        c.set_paused(API, False)
        result = measure(
            lambda: sum(r.status == "COMPLETE" for r in store.get_many("public", accounts).values()),
            horizon,
            args.rpm,
            args.warmup,
            args.minutes,
        )
        pids: dict[str, list[int]] = {}
        for pidfile in (c.home / "pids").glob("*.pid"):
            pids[pidfile.stem] = tree(int(pidfile.read_text()))
        result["memory_pss_mib"] = {name: round(pss_mib(p)) for name, p in sorted(pids.items())}
        result["memory_pss_mib"]["total"] = round(pss_mib([p for ps in pids.values() for p in ps]))
        cassandra = [
            p.pid for p in psutil.process_iter(["cmdline"]) if "CassandraDaemon" in " ".join(p.info["cmdline"] or [])
        ]
        result["memory_pss_mib"]["cassandra_node_apart"] = round(pss_mib(cassandra))
        return result
    finally:
        if node is not None:
            node.shutdown()
        c.run_script("stop", timeout=300)
        _drop_keyspace(env["CLUSTER_KEYSPACE"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["standalone", "cluster"], required=True)
    parser.add_argument("--rpm", type=float, default=120)
    parser.add_argument("--minutes", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=150)
    parser.add_argument("--accounts", type=int, default=1500)
    args = parser.parse_args()
    ds, leaves = bench_dataset(args.accounts, payments_each=0)
    with FakeHorizon(ds) as horizon, FakeStellarExpert({"public": ds}) as expert:
        with tempfile.TemporaryDirectory(prefix="bench-sched-") as tmp:
            run = run_standalone if args.mode == "standalone" else run_cluster
            result = run(args, horizon, expert, leaves, Path(tmp))
    result.update(mode=args.mode, rpm=args.rpm, cpus=os.cpu_count(), load_avg_1m=round(os.getloadavg()[0], 1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
