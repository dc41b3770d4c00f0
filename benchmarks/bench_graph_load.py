"""Creator-graph load rate: 1 M edges into the SQLite and the Cassandra edge table (issue 15).

    .venv/bin/python benchmarks/bench_graph_load.py [--edges 1000000] [--stores sqlite,cassandra]

Edges are synthetic (a random creation tree: each account's creator drawn from earlier accounts, op ids
increasing like TOIDs, 56-character addresses; checksums are irrelevant to the store), fed to
``load_edges`` in its default chunks (5,000) exactly as the snapshot load does. Measured per store:
edges/s for the first load into an empty table (``fresh=True``, as the snapshot load does when the
edge table was empty: Cassandra then skips its per-edge read), the longest single chunk (how long one
load step holds the store), and edges/s for loading the same edges again through the ordinary path
(what a refresh or a non-fresh load does: read each current edge, write only what changed;
``--reload-edges`` limits it to the first N edges).
SQLite: a file in a temp dir; Cassandra: a throw-away keyspace on STELLAR_LINEAGE_CASSANDRA_HOSTS
(default 127.0.0.1:9042), dropped at the end. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.stellar_lineage.records import CreationEdge  # noqa: E402
from include.stellar_lineage.store.base import EDGE_CHUNK  # noqa: E402


def fake_address(i: int) -> str:
    digest = hashlib.blake2b(i.to_bytes(8, "big"), digest_size=35).digest()
    return "G" + base64.b32encode(digest).decode()[:55]


def edges(n: int, seed: int = 1) -> list[CreationEdge]:
    rng = random.Random(seed)
    accounts = [fake_address(i) for i in range(n + 1)]
    t0 = dt.datetime(2016, 1, 1, tzinfo=dt.timezone.utc)
    out = []
    for i in range(1, n + 1):
        ledger = 1_000_000 + i // 3
        creator = accounts[rng.randrange(max(0, i - 1000), i)]
        out.append(
            CreationEdge(
                accounts[i],
                creator,
                ledger,
                t0 + dt.timedelta(seconds=5 * (i // 3)),
                ledger << 32 | (i % 3 + 1) << 12 | 1,
            )
        )
    return out


class ChunkTimer:
    """Times every load_edges chunk by feeding the store one chunk per call."""

    def __init__(self, store, network: str) -> None:
        self.store, self.network, self.longest = store, network, 0.0

    def load(self, data: list[CreationEdge], *, fresh: bool = False) -> tuple[float, int]:
        added, started = 0, time.perf_counter()
        for i in range(0, len(data), EDGE_CHUNK):
            t = time.perf_counter()
            added += self.store.load_edges(self.network, data[i : i + EDGE_CHUNK], fresh=fresh)
            self.longest = max(self.longest, time.perf_counter() - t)
            if (i + EDGE_CHUNK) % 100_000 < EDGE_CHUNK:  # a run stopped early still tells how far it got
                done, seconds = min(i + EDGE_CHUNK, len(data)), time.perf_counter() - started
                print(
                    f"  {done:,} edges in {seconds:.1f} s ({done / seconds:,.0f}/s, load average "
                    f"{os.getloadavg()[0]:.1f}, {dt.datetime.now(dt.timezone.utc):%H:%M:%S} UTC)",
                    file=sys.stderr,
                    flush=True,
                )
        return time.perf_counter() - started, added


def bench(store, data: list[CreationEdge], reload_edges: int | None = None, walks: int = 2000) -> dict:
    timer = ChunkTimer(store, "public")
    assert store.edge_table_empty()
    first_s, added = timer.load(data, fresh=True)
    longest_first = timer.longest
    timer.longest = 0.0
    again = data[:reload_edges] if reload_edges else data
    again_s, added_again = timer.load(again)
    sample = random.Random(2).sample(data, walks)
    walk = []
    for e in sample:
        t = time.perf_counter()
        store.creator_chain("public", e.account)
        walk.append(time.perf_counter() - t)
    walk.sort()
    assert added == len(data) and added_again == 0
    return {
        "edges": len(data),
        "first_load_s": round(first_s, 1),
        "first_load_edges_per_s": round(len(data) / first_s),
        "longest_chunk_s": round(longest_first, 3),
        "reload_edges": len(again),
        "reload_s": round(again_s, 1),
        "reload_edges_per_s": round(len(again) / again_s),
        "longest_reload_chunk_s": round(timer.longest, 3),
        "chain_walk_ms_p50": round(walk[len(walk) // 2] * 1000, 2),
        "chain_walk_ms_p95": round(walk[int(len(walk) * 0.95)] * 1000, 2),
        "mean_chain_length": round(
            sum(len(store.creator_chain("public", e.account)) for e in sample[:200]) / max(1, len(sample[:200])), 1
        ),
        "walks": walks,
    }


def run_sqlite(data: list[CreationEdge], reload_edges: int | None = None, walks: int = 2000) -> dict:
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteLineageStore(Path(tmp) / "graph.db")
        out = bench(store, data, reload_edges, walks)
        store.close()
        out["file_mb"] = round((Path(tmp) / "graph.db").stat().st_size / 2**20)
    return out


def run_cassandra(data: list[CreationEdge], reload_edges: int | None = None, walks: int = 2000) -> dict:
    from cassandra.cluster import Cluster

    from include.stellar_lineage.store.cassandra import CassandraLineageStore

    raw = os.environ.get("STELLAR_LINEAGE_CASSANDRA_HOSTS", "127.0.0.1:9042")
    pairs = [h.rsplit(":", 1) for h in raw.split(",")]
    cluster = Cluster([p[0] for p in pairs], port=int(pairs[0][1]))
    session = cluster.connect()
    keyspace = f"bench_graph_{uuid.uuid4().hex[:8]}"
    session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    )
    try:
        store = CassandraLineageStore(session, keyspace, check=False)
        store.migrate()
        return bench(store, data, reload_edges, walks)
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,cassandra")
    parser.add_argument("--reload-edges", type=int, default=None, help="reload only the first N edges")
    parser.add_argument("--walks", type=int, default=2000, help="chain walks timed after the loads")
    args = parser.parse_args()
    data = edges(args.edges)
    out: dict = {
        "env": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "chunk": EDGE_CHUNK,
            "loadavg_start": os.getloadavg(),
        },
        "command": " ".join(sys.argv),
    }
    for name in args.stores.split(","):
        out[name] = {"sqlite": run_sqlite, "cassandra": run_cassandra}[name](data, args.reload_edges, args.walks)
        out[name]["loadavg_end"] = os.getloadavg()
        print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
