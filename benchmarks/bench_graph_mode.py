"""Graph mode at scale: N requested accounts → COMPLETE from the creator graph, on SQLite or Cassandra.

Builds a synthetic creator graph of N accounts under the network root (funders drawn from earlier
accounts, so chains are deep and some accounts have many children), loads it through the store's
``load_edges``, enqueues all N as user requests through ``enqueue``, then times
``graph_mode.complete_from_graph`` (edge reads, ``complete_pending_many``: PENDING → COMPLETE without
a claim, with attribute follow-ups) until every record is COMPLETE. Also measures the leaf→root chain walk
(``creator_chain``) over random accounts.

    python -m benchmarks.bench_graph_mode --accounts 1000000 --backend sqlite
    python -m benchmarks.bench_graph_mode --accounts 20000 --backend cassandra
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from stellar_sdk import StrKey

from include.stellar_lineage.config import defaults
from include.stellar_lineage.graph_mode import complete_from_graph
from include.stellar_lineage.records import NETWORK_ROOTS, CreationEdge, GraphState, utcnow


def cpu_seconds() -> float:
    """User + system CPU of this process (SQLite works in-process); wall time on a shared machine
    also counts the time other processes held the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


GENESIS = dt.datetime(2015, 9, 30, 16, 46, 54, tzinfo=dt.timezone.utc)


def synthetic_edges(n: int, seed: int) -> list[CreationEdge]:
    rng = random.Random(seed)
    root = NETWORK_ROOTS["public"]
    accounts = [StrKey.encode_ed25519_public_key(rng.randbytes(32)) for _ in range(n)]
    edges, existing = [], [root]
    for i, account in enumerate(accounts):
        r = rng.random()
        funder = existing[-1 - int(r**3 * len(existing))] if r < 0.9 else existing[rng.randrange(len(existing))]
        ledger = 3 + i // 3
        edges.append(
            CreationEdge(
                account,
                funder,
                ledger,
                GENESIS + dt.timedelta(seconds=5 * ledger),
                ledger << 32 | (i % 3 + 1) << 12 | 1,
            )
        )
        existing.append(account)
    return edges


def open_store(backend: str, path: Path | None):
    if backend == "sqlite":
        from include.stellar_lineage.store.sqlite import SqliteLineageStore

        return SqliteLineageStore(path), lambda: None
    from cassandra.cluster import Cluster

    from include.stellar_lineage.store.cassandra import CassandraLineageStore

    host, _, port = os.environ.get("CASSANDRA_HOSTS", "127.0.0.1:9042").partition(":")
    cluster = Cluster([host], port=int(port or 9042))
    session = cluster.connect()
    session.default_timeout = 120  # a shared, loaded node: slow answers are not failures here
    keyspace = f"bench_graph_{uuid.uuid4().hex[:8]}"
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
    store = CassandraLineageStore(session, keyspace, check=False)
    store.migrate()

    def drop() -> None:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        cluster.shutdown()

    return store, drop


def report_progress(store, every: int) -> None:
    """Print a line every ``every`` records completed (a run stopped early still tells how far it got)."""
    complete_pending_many, state = store.complete_pending_many, {"done": 0, "next": every, "t0": time.monotonic()}

    def counted(*args, **kwargs):
        done = complete_pending_many(*args, **kwargs)
        state["done"] += len(done)
        if state["done"] >= state["next"]:
            state["next"] += every
            seconds = time.monotonic() - state["t0"]
            print(
                f"  {state['done']:,} COMPLETE after {seconds:.1f} s of graph completion "
                f"({state['done'] / seconds:,.0f}/s; {utcnow():%H:%M:%S} UTC, load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        return done

    store.complete_pending_many = counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "cassandra"), default="sqlite")
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--walks", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--progress", type=int, default=50_000, help="print a progress line every N records")
    args = parser.parse_args()
    print(f"started {utcnow():%Y-%m-%d %H:%M:%S} UTC, load average {os.getloadavg()[0]:.1f}", flush=True)

    t = time.monotonic()
    edges = synthetic_edges(args.accounts, args.seed)
    print(f"generated {len(edges):,} edges in {time.monotonic() - t:.1f} s", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    store, cleanup = open_store(args.backend, workdir / "lineage.db")
    try:
        t = time.monotonic()
        store.load_edges("public", edges, fresh=True)  # an empty keyspace / file: a first snapshot's load
        store.set_graph_state(GraphState("public", edges[-1].ledger, None, len(edges), utcnow(), "bench", None))
        print(f"loaded edges in {time.monotonic() - t:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)

        requested = [e.account for e in edges]
        random.Random(args.seed).shuffle(requested)
        started, cpu0 = time.monotonic(), cpu_seconds()
        for i in range(0, len(requested), 50_000):
            store.enqueue("public", requested[i : i + 50_000])
            if (i + 50_000) % args.progress < 50_000:
                print(
                    f"  enqueued {min(i + 50_000, len(requested)):,} after {time.monotonic() - started:.1f} s",
                    flush=True,
                )
        enqueued = time.monotonic() - started
        print(f"enqueued {len(requested):,} in {enqueued:.1f} s (load average {os.getloadavg()[0]:.1f})", flush=True)
        settings = defaults()
        report_progress(store, args.progress)
        out = complete_from_graph(store, settings, "public", requested, owner="bench", chunk=args.chunk)
        wall, cpu = time.monotonic() - started, cpu_seconds() - cpu0
        stats = store.stats("public", stuck_threshold=dt.timedelta(minutes=15))
        complete = stats["by_status"]["COMPLETE"]
        print(
            f"{args.backend}: {complete:,} COMPLETE (+ root pending: {stats['by_status']['PENDING']}) "
            f"enqueue {enqueued:.1f} s + graph completion {out['seconds']:.1f} s = wall {wall:.1f} s "
            f"-> {complete / wall:,.0f} records/s; this process's CPU {cpu:.1f} s "
            f"({complete / cpu:,.0f} records per CPU-second); load average {os.getloadavg()[0]:.1f}; "
            f"follow-ups queued {store.followup_depth('public'):,}; finished {utcnow():%H:%M:%S} UTC",
            flush=True,
        )

        sample = random.Random(args.seed + 1).sample(requested, min(args.walks, len(requested)))
        times, depths = [], []
        for account in sample:
            t0 = time.perf_counter()
            chain = store.creator_chain("public", account)
            times.append((time.perf_counter() - t0) * 1000)
            depths.append(len(chain))
        q = statistics.quantiles(times, n=100)
        print(
            f"chain walk over {len(sample):,} accounts: depth median {statistics.median(depths):.0f} "
            f"max {max(depths)}; p50 {q[49]:.3f} ms, p95 {q[94]:.3f} ms, p99 {q[98]:.3f} ms",
            flush=True,
        )
    finally:
        store.close()
        cleanup()


if __name__ == "__main__":
    main()
