"""Cassandra store benchmark on a real node: claim throughput and stats latency vs table size.

    scripts/cassandra-local start
    .venv/bin/python benchmarks/bench_cassandra_store.py [--claims 4000] [--sizes 10000,200000]

Uses a throw-away keyspace (dropped at the end). Node: STELLAR_LINEAGE_CASSANDRA_HOSTS
(default 127.0.0.1:9042). Prints one JSON document with every number and the environment.

* claims/s: records enqueued PENDING, then 1 or 4 OS processes call ``claim_batch(50)`` until the
  queue is empty (claim only; each claim = 1 LWT + index/counter writes + 1 read).
* stats latency: 100 PROCESSING (50 stuck) and 100 COMPLETE rows, then the table is grown to each
  size with real ``enqueue`` calls (PENDING rows); at each size ``stats()``, ``queue_depth()`` and
  ``pending_accounts(limit=200)`` are timed (median / p95 of 30 calls). Flat = no growth with size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cassandra.cluster import Cluster

from include.stellar_lineage.records import LineageResult, utcnow
from include.stellar_lineage.store.cassandra import schema as cassandra_schema
from include.stellar_lineage.store.cassandra import CassandraLineageStore
from tests.support.cassandra_counting import CountingSession

STUCK = dt.timedelta(minutes=15)


def connect():
    raw = os.environ.get("STELLAR_LINEAGE_CASSANDRA_HOSTS", "127.0.0.1:9042")
    pairs = [h.rsplit(":", 1) for h in raw.split(",")]
    cluster = Cluster([p[0] for p in pairs], port=int(pairs[0][1]))
    return cluster, cluster.connect()


def truncate(session, keyspace: str) -> None:
    for table in cassandra_schema.expected_schema():
        session.execute(f"TRUNCATE {keyspace}.{table}", timeout=120)


def _claimer(keyspace: str, owner: str, start, out) -> None:
    cluster, session = connect()
    store = CassandraLineageStore(session, keyspace)
    _ = store.stmts  # prepare before the clock starts
    start.wait()
    n = 0
    while batch := store.claim_batch(50, pipeline="API", owner=owner):
        n += len(batch)
    out.put((n, store.lost_claims))
    cluster.shutdown()


def claims_per_second(session, keyspace: str, n: int, workers: int) -> dict:
    truncate(session, keyspace)
    store = CassandraLineageStore(session, keyspace)
    t0 = time.perf_counter()
    store.enqueue("public", [f"G{uuid.uuid4().hex.upper():0>55}"[:56] for _ in range(n)])
    enqueue_s = time.perf_counter() - t0
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(keyspace, f"w{i}", start, out)) for i in range(workers)]
    for p in procs:
        p.start()
    time.sleep(4)  # connect + prepare outside the measurement
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=1800) for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    claimed = sum(r[0] for r in results)
    assert claimed == n, f"claimed {claimed} of {n}"
    return {
        "workers": workers,
        "records": n,
        "seconds": round(elapsed, 2),
        "claims_per_s": round(n / elapsed, 1),
        "lost_lwt_races": sum(r[1] for r in results),
        "enqueue_per_s": round(n / enqueue_s, 1),
    }


def timed(fn, repeat: int = 30, counter: CountingSession | None = None) -> dict:
    if counter is not None:
        counter.requests = 0
    fn()  # warm-up (and the request count: the same for every call)
    requests = counter.requests if counter is not None else None
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "requests_per_call": requests,
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def read_latency(session, keyspace: str, sizes: list[int]) -> list[dict]:
    truncate(session, keyspace)
    store = CassandraLineageStore(session, keyspace)
    out = []
    # the same mix at every size, created first: 100 in flight (50 of them stuck), 100 done, so the
    # only thing that changes between sizes is the number of PENDING rows behind them
    mix = [f"GMIX{i:052d}" for i in range(200)]
    store.enqueue("public", mix)
    old = utcnow() - dt.timedelta(hours=1)
    store.claim_batch(50, pipeline="API", owner="bench", now=old)
    store.claim_batch(50, pipeline="API", owner="bench")
    for rec in store.claim_batch(100, pipeline="API", owner="done"):
        store.complete(
            "public",
            rec.stellar_account,
            owner="done",
            source="API",
            result=LineageResult(creator=None, created_at=None),
        )
    have = len(mix)
    for size in sizes:
        t0 = time.perf_counter()
        while have < size:
            chunk = min(5000, size - have)
            store.enqueue("public", [f"G{have + i:055d}" for i in range(chunk)])
            have += chunk
        fill_s = time.perf_counter() - t0
        stats = store.stats("public", stuck_threshold=STUCK)
        counting = CountingSession(session)
        reader = CassandraLineageStore(counting, keyspace)
        out.append(
            {
                "rows": size,
                "fill_s": round(fill_s, 1),
                "stats": timed(lambda r=reader: r.stats("public", stuck_threshold=STUCK), counter=counting),
                "queue_depth": timed(lambda r=reader: r.queue_depth("public"), counter=counting),
                # 100 PROCESSING + the first 100 PENDING in claim order
                "pending_accounts_200": timed(
                    lambda r=reader: r.pending_accounts("public", limit=200), counter=counting
                ),
                "by_status": stats["by_status"],
                "stuck": stats["stuck"],
            }
        )
        print(json.dumps(out[-1]), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=4000)
    parser.add_argument("--sizes", default="10000,200000")
    parser.add_argument("--skip-claims", action="store_true")
    parser.add_argument("--skip-stats", action="store_true")
    args = parser.parse_args()
    cluster, session = connect()
    keyspace = f"lineage_bench_{uuid.uuid4().hex[:8]}"
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
    try:
        CassandraLineageStore(session, keyspace, check=False).migrate()
        report: dict = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "cassandra": session.execute("SELECT release_version FROM system.local").one().release_version,
                "heap": os.environ.get("CASSANDRA_HEAP", "768M"),
            },
        }
        if not args.skip_claims:
            report["claims"] = [claims_per_second(session, keyspace, args.claims, w) for w in (1, 4)]
            print(json.dumps(report["claims"]), file=sys.stderr)
        if not args.skip_stats:
            report["reads"] = read_latency(session, keyspace, [int(s) for s in args.sizes.split(",")])
        print(json.dumps(report, indent=2))
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        cluster.shutdown()


if __name__ == "__main__":
    main()
