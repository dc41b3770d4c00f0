"""Cassandra under concurrency on the real node: four claimer processes racing their LWTs, and the
same race across a node restart (on a private node: restarting the shared one would break every other
test using it). A module of its own so pytest-xdist runs it beside the contract suite.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
import uuid

import pytest

from include.stellar_lineage.records import LineageResult, utcnow
from include.stellar_lineage.store.cassandra import CassandraLineageStore
from include.stellar_lineage.store.cassandra import schema as cassandra_schema
from tests.support.cassandra_node import (  # noqa: F401 - node: fixture
    HOSTS_ENV,
    PRIVATE_MARKER,
    SCRIPT,
    PrivateCassandraNode,
    connect,
    create_keyspace,
    node,
)

pytestmark = pytest.mark.slow_module(115)  # rough wall time (s): started first under pytest-xdist


def result(creator=None) -> LineageResult:
    return LineageResult(creator=creator, created_at=dt.datetime(2019, 5, 1, tzinfo=dt.UTC))


def _claimer(keyspace: str, owner: str, out, started, claimed_count) -> None:
    cluster, session = connect()
    store = CassandraLineageStore(session, keyspace)
    started.wait(timeout=120)  # all four start together so the LWTs really race
    claimed, errors, idle_since = [], 0, None
    while True:
        try:
            batch = store.claim_batch(5, pipeline="API", owner=owner)
        except Exception:  # noqa: BLE001 - node down / restarting: wait and retry, as a worker would
            errors += 1
            time.sleep(0.5)
            continue
        if not batch:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 3:  # empty for a while: done
                break
            time.sleep(0.3)
            continue
        idle_since = None
        for rec in batch:
            claimed.append(rec.stellar_account)
            with claimed_count.get_lock():
                claimed_count.value += 1
            errors += _complete_until_settled(store, rec.stellar_account, owner)
    out.put((owner, claimed, errors))
    cluster.shutdown()


def _complete_until_settled(store, account: str, owner: str) -> int:
    """Complete ``account``, retrying while the node is away; returns how many tries failed (a restart
    that falls while every claimer is completing interrupts them here, not in ``claim_batch``)."""
    for failed in range(600):
        try:
            store.complete("public", account, owner=owner, result=result(), source="API")
            return failed  # True, or False because an earlier try applied: either way not PROCESSING by us
        except Exception:  # noqa: BLE001 - node restarting: retry
            time.sleep(0.5)
    raise RuntimeError(f"could not complete {account}")


def _wait_until_reconnected(session, timeout_s: float = 180) -> None:
    """After the restart the driver reconnects in the background (its control connection may still
    be the closed one for a while): retry until a query and the schema-agreement check succeed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            session.execute("SELECT release_version FROM system.local", timeout=10)
            if session.cluster.control_connection.wait_for_schema_agreement():
                return
        except Exception:  # noqa: BLE001 - ConnectionShutdown / NoHostAvailable while reconnecting
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"no schema agreement {timeout_s:.0f} s after the restart")
        time.sleep(1)


def _run_claimers(node, n_records: int, restart: PrivateCassandraNode | None = None) -> None:
    session, keyspace = node
    for table in cassandra_schema.expected_schema():
        session.execute(f"TRUNCATE {keyspace}.{table}", timeout=60)
    store = CassandraLineageStore(session, keyspace)
    accounts = [f"G{i:055d}" for i in range(n_records)]
    store.enqueue("public", accounts)
    assert store.queue_depth("public") == n_records
    ctx = multiprocessing.get_context("spawn")
    out, started, claimed_count = ctx.Queue(), ctx.Event(), ctx.Value("i", 0)
    procs = [ctx.Process(target=_claimer, args=(keyspace, f"w{i}", out, started, claimed_count)) for i in range(4)]
    for p in procs:
        p.start()
    time.sleep(3)  # let the children connect and prepare before the race starts
    started.set()
    if restart:
        deadline = time.monotonic() + 300
        while claimed_count.value < n_records // 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert claimed_count.value < n_records, "claims finished before the restart: no restart tested"
        restart.stop()
        restart.start()
    results = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    claimed = [a for _o, accts, _e in results for a in accts]
    if restart:
        assert sum(e for _o, _a, e in results) > 0, "the restart did not interrupt any claimer"
        _wait_until_reconnected(session)
        # claims whose outcome stayed unknown are still PROCESSING, held by nobody: recover them
        recovered = store.recover_stuck(
            threshold=dt.timedelta(0), max_retries=100, now=utcnow() + dt.timedelta(seconds=1)
        )
        for _ in range(len(recovered.requeued)):
            batch = store.claim_batch(100, pipeline="API", owner="sweeper")
            claimed += [r.stellar_account for r in batch]
            for rec in batch:
                assert store.complete("public", rec.stellar_account, owner="sweeper", result=result(), source="API")
            if not batch:
                break
    assert len(claimed) == len(set(claimed)), "a record was claimed twice"
    assert sorted(claimed) == accounts, "a record was never claimed"
    rows = store.get_many("public", accounts)
    assert len(rows) == n_records and {r.status for r in rows.values()} == {"COMPLETE"}


# The four claimers read the same head of the queue and race their LWTs for it (a lost race widens the
# loser's next window): 1,000 records are ~200 rounds of that race. 2,000 (until session 7) doubled the
# node's CPU in this CPU-bound suite for more rounds of the same race.
RECORDS = 1000


def test_four_processes_claim_each_record_exactly_once(node):
    _run_claimers(node, RECORDS)


@pytest.fixture
def private_node(tmp_path, monkeypatch):
    """A node of its own (the restart would break every other test using the shared node); the
    claimer processes find it through the hosts variable they inherit."""
    if not SCRIPT.exists():
        pytest.fail("scripts/cassandra-local is missing")
    private = PrivateCassandraNode(tmp_path / "cassandra").start()
    cluster = None
    try:
        jvm_args = private.jvm_args()  # CASSANDRA_JVM_EXTRA_OPTS reached the JVM: scripts/test's and the marker
        assert all(opt in jvm_args for opt in private.env["CASSANDRA_JVM_EXTRA_OPTS"].split()), [
            a for a in jvm_args if a.startswith(("-XX", "-D"))
        ]
        assert PRIVATE_MARKER in jvm_args
        monkeypatch.setenv(HOSTS_ENV, private.hosts)
        cluster, session = connect()
        keyspace = f"lineage_restart_{uuid.uuid4().hex[:8]}"
        create_keyspace(session, keyspace)
        CassandraLineageStore(session, keyspace, check=False).migrate()
        yield private, (session, keyspace)
    finally:
        if cluster is not None:
            cluster.shutdown()
        private.wipe()


def test_claims_survive_a_node_restart(private_node):
    private, node = private_node
    _run_claimers(node, RECORDS, restart=private)
