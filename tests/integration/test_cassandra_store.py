"""The store contract and Cassandra-only guarantees, on a real Cassandra node.

Start one with ``scripts/cassandra-local start``; the node is found through
``STELLAR_LINEAGE_CASSANDRA_HOSTS`` (default ``127.0.0.1:9042``). Each test module works in its own
fresh keyspace; tables are truncated between tests. With ``CI`` set an unreachable node fails the
tests (never a silent skip); locally they skip with a message saying how to start the node.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cassandra import WriteTimeout, WriteType

from include.stellar_lineage.records import LineageResult, utcnow
from include.stellar_lineage.store.cassandra import schema as cassandra_schema
from include.stellar_lineage.store.base import SchemaError
from include.stellar_lineage.store.cassandra import CassandraLineageStore
from tests.include.store_contract import StoreContract
from tests.include.store_contract_bulk import BulkContract
from tests.include.store_contract_refresh import RefreshContract
from tests.include.store_contract_trends import TrendsContract
from tests.support.cassandra_counting import CountingSession
from tests.support.cassandra_node import HOSTS_ENV, connect, create_keyspace, hosts, node  # noqa: F401 - node: fixture

# Ordered after the 10,000-account graph (same 90 s): at the start the concurrency and cluster modules
# already load the shared node, and beside them this module took 380 s instead of 110 (migrate CLI 190 s).
pytestmark = pytest.mark.slow_module(70)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(node):
    session, keyspace = node
    for table in cassandra_schema.expected_schema():
        session.execute(f"TRUNCATE {keyspace}.{table}", timeout=60)
    return CassandraLineageStore(session, keyspace)


class TestCassandraContract(StoreContract, BulkContract, RefreshContract, TrendsContract):
    pass  # every contract test, against the real node through the ``store`` fixture above


def result(creator=None) -> LineageResult:
    return LineageResult(creator=creator, created_at=dt.datetime(2019, 5, 1, tzinfo=dt.UTC))


# --- schema and migration from the seed ---------------------------------------------------------
def test_seed_table_migrates_and_schema_check_names_what_is_missing(node):
    session, _ = node
    keyspace = f"lineage_seed_{uuid.uuid4().hex[:8]}"
    create_keyspace(session, keyspace)
    try:
        # the seed's table before its dual-pipeline ALTER (migration 001 is exactly that shape)
        for stmt in cassandra_schema.statements(cassandra_schema.migration_files()[0], keyspace):
            session.execute(stmt)
        table = f"{keyspace}.stellar_creator_account_lineage"
        session.execute(
            f"INSERT INTO {table} (network_name, stellar_account, status, created_at) "
            "VALUES ('public', 'GSEEDPENDING', 'PENDING', '2024-01-01T00:00:00Z')"
        )
        session.execute(
            f"INSERT INTO {table} (network_name, stellar_account, status, created_at) "
            "VALUES ('public', 'GSEEDSTUCK', 'PROCESSING', '2024-01-01T00:00:00Z')"
        )
        with pytest.raises(SchemaError) as err:
            CassandraLineageStore(session, keyspace)
        message = str(err.value)
        for column in ("pipeline_source", "last_pipeline_attempt", "processing_started_at", "claim_owner"):
            assert f"column stellar_creator_account_lineage.{column}" in message
        assert f"table {keyspace}.lineage_pending_index" in message
        assert "column stellar_creator_account_lineage.status" not in message
        # a seed that already ran its hand-written ALTER for one column
        session.execute(f"ALTER TABLE {table} ADD pipeline_source text")
        store = CassandraLineageStore(session, keyspace, check=False)
        applied = store.migrate()
        assert applied[:3] == ["001_lineage_table", "002_dual_pipeline_columns", "003_claims_and_indexes"]
        assert applied == [p.stem for p in cassandra_schema.migration_files()]
        store.check_schema()
        assert store.migrate() == []
        # the backfill made the seed rows visible to claims, counts and recovery
        assert store.queue_depth("public") == 1
        [rec] = store.claim_batch(5, pipeline="API", owner="w")
        assert rec.stellar_account == "GSEEDPENDING"
        out = store.recover_stuck(threshold=dt.timedelta(minutes=15), max_retries=3)
        assert ("public", "GSEEDSTUCK") in out.requeued
        assert store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]["PENDING"] == 1
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)


def test_copy_from_the_seeds_uuid_keyed_table(store, node):
    from include.stellar_lineage.store.cassandra.admin.seed_copy import copy_seed_table

    session, keyspace = node
    seed = f"lineage_seedsrc_{uuid.uuid4().hex[:8]}"
    create_keyspace(session, seed)
    try:
        # the seed's real table: random uuid partition key, float balance, duplicates possible
        session.execute(f"""CREATE TABLE {seed}.stellar_creator_account_lineage (
            id uuid, stellar_account text, network_name text, stellar_creator_account text,
            stellar_account_created_at timestamp, home_domain text, xlm_balance float,
            horizon_accounts_json text, tags text, is_hva boolean, pipeline_source text,
            last_pipeline_attempt timestamp, processing_started_at timestamp, status text,
            retry_count int, last_error text, created_at timestamp, updated_at timestamp,
            PRIMARY KEY ((id), stellar_account, network_name))""")
        ins = session.prepare(
            f"INSERT INTO {seed}.stellar_creator_account_lineage (id, stellar_account, network_name, status,"
            " pipeline_source, xlm_balance, stellar_creator_account, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        t = [dt.datetime(2025, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3)]
        for account, network, status, source, balance, creator, updated in [
            ("GDUP", "public", "PENDING", "", None, None, t[2]),  # duplicate: newer but PENDING
            ("GDUP", "public", "COMPLETE", "API", 72.85, "GROOT", t[0]),  # ... the finished one wins
            ("GDUP", "testnet", "PENDING", "", None, None, t[0]),  # other network: separate
            ("GBQ", "public", "BIGQUERY_COMPLETE", "", 1.5, "GROOT", t[1]),
            ("GERR", "public", "ERROR", "", None, None, t[1]),
            ("GSTUCK", "public", "PROCESSING", "API", None, None, t[1]),
        ]:
            session.execute(ins, (uuid.uuid4(), account, network, status, source, balance, creator, t[0], updated))
        with pytest.raises(SchemaError, match=r"partitioned by \(id\).*--copy-seed-table"):
            CassandraLineageStore(session, seed, check=False).migrate()  # must not ALTER the seed's table
        out = copy_seed_table(store, f"{seed}.stellar_creator_account_lineage")
        assert out == {"scanned": 6, "accounts": 5, "inserted": 5, "indexed": 2}
        got = store.get_many("public", ["GDUP", "GBQ", "GERR", "GSTUCK"])
        assert {a: r.status for a, r in got.items()} == {
            "GDUP": "COMPLETE",
            "GBQ": "COMPLETE",
            "GERR": "FAILED",
            "GSTUCK": "PENDING",
        }
        assert got["GDUP"].stellar_creator_account == "GROOT" and got["GDUP"].xlm_balance == "72.85"
        assert got["GBQ"].pipeline_source == "BIGQUERY"
        stats = store.stats("public", stuck_threshold=dt.timedelta(minutes=15))
        assert stats["by_status"] == {"PENDING": 1, "PROCESSING": 0, "COMPLETE": 2, "FAILED": 1, "INVALID": 0}
        assert stats["complete_by_source"] == {"API": 1, "BIGQUERY": 1, "BIGQUERY_WITH_API_FALLBACK": 0}
        claimed = store.claim_batch(10, pipeline="API", owner="w")
        assert sorted((r.network_name, r.stellar_account) for r in claimed) == [
            ("public", "GSTUCK"),
            ("testnet", "GDUP"),
        ]
        again = copy_seed_table(store, f"{seed}.stellar_creator_account_lineage")
        assert again["inserted"] == 0 and store.get("public", "GSTUCK").status == "PROCESSING"
        # the copied FAILED row is in the failed index, so "retry all FAILED" finds it
        assert store.requeue_failed(failed_before=None) == [("public", "GERR")]
        assert store.get("public", "GERR").status == "PENDING"
        with pytest.raises(ValueError, match="different keyspace"):
            copy_seed_table(store, f"{keyspace}.stellar_creator_account_lineage")
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {seed}", timeout=60)


def test_schema_check_on_missing_keyspace(node):
    session, _ = node
    with pytest.raises(SchemaError, match="keyspace 'lineage_absent_ks' does not exist"):
        CassandraLineageStore(session, "lineage_absent_ks")


def test_no_statement_filters_or_scans():
    from include.stellar_lineage.store.cassandra.queue import load_statements

    for name, text in load_statements("ks").items():
        assert "ALLOW FILTERING" not in text.upper(), name
        # The only whole-table reads: the one-off admin backfill, the export's paged scan (export
        # streams every record by design) and the edge table's LIMIT 1 emptiness probe; nothing on the
        # claim, stats or lookup paths may scan.
        if text.upper().startswith("SELECT") and name not in WHOLE_TABLE_READS:
            assert "WHERE" in text.upper(), f"{name} reads without a partition restriction"


WHOLE_TABLE_READS = {
    "scan_all": "admin/backfill.py",
    "scan_complete": "admin/backfill.py (migration 008)",
    "scan_records": "scan.py (export)",
    # LIMIT 1: stops at the first row; asked once per snapshot load (is this a first, fresh load?)
    "edge_any": "graph.py (edge_table_empty)",
}


def test_whole_table_reads_are_used_only_by_export_and_admin():
    root = Path(__file__).resolve().parents[2] / "include" / "stellar_lineage"
    for name, allowed in WHOLE_TABLE_READS.items():
        users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if f'"{name}"' in p.read_text())
        assert users and all(u.endswith(allowed.split(" ")[0]) for u in users), (name, users)


def test_stats_cost_does_not_grow_with_the_table(store, node):
    session, keyspace = node
    counting = CountingSession(session)
    reader = CassandraLineageStore(counting, keyspace)
    _ = reader.stmts  # prepare outside the count

    def cost() -> int:
        counting.requests = 0
        reader.stats("public", stuck_threshold=dt.timedelta(minutes=15))
        reader.queue_depth("public")
        reader.spend_summary()
        return counting.requests

    store.enqueue("public", [f"GSMALL{i}" for i in range(10)])
    small = cost()
    store.enqueue("public", [f"GBIG{i}" for i in range(1000)])
    assert cost() == small
    assert reader.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]["PENDING"] == 1010


def test_recount_repairs_counter_drift(store):
    from include.stellar_lineage.store.cassandra.admin.backfill import backfill

    store.enqueue("public", ["GA1", "GA2", "GA3"])
    store.claim_batch(1, pipeline="API", owner="w")
    store._count("public", "PENDING", 7)  # what a worker killed between LWT and counter leaves
    store._count("public", "COMPLETE", 1, "API")
    assert store.queue_depth("public") == 9
    assert backfill(store) == {"rows": 3, "adopted": 0}
    by_status = store.stats("public", stuck_threshold=dt.timedelta(minutes=15))["by_status"]
    assert (by_status["PENDING"], by_status["PROCESSING"], by_status["COMPLETE"]) == (2, 1, 0)
    assert backfill(store) == {"rows": 3, "adopted": 0}  # idempotent
    assert store.queue_depth("public") == 2


# --- unknown LWT outcomes ---------------------------------------------------------------------
class FlakySession:
    """Wraps the real session; makes the named prepared statement time out like a CAS write
    timeout, either before it reaches the node or after it was applied."""

    def __init__(self, session, statement_name: str, mode: str) -> None:
        self._session, self._name, self.mode, self.fired = session, statement_name, mode, 0

    def __getattr__(self, attr):
        return getattr(self._session, attr)

    def execute(self, stmt, params=None, **kw):
        target = getattr(self, "target", None)
        hit = target is not None and getattr(stmt, "prepared_statement", stmt) is target
        if hit and self.mode == "after":
            self._session.execute(stmt, params, **kw)
        if hit and self.mode in ("before", "after"):
            self.fired += 1
            raise WriteTimeout("simulated CAS timeout", write_type=WriteType.CAS)
        return self._session.execute(stmt, params, **kw)


def flaky_store(node, statement: str, mode: str) -> tuple[CassandraLineageStore, FlakySession]:
    session, keyspace = node
    flaky = FlakySession(session, statement, mode)
    store = CassandraLineageStore(flaky, keyspace)
    flaky.target = store.stmts[statement]
    return store, flaky


@pytest.mark.parametrize("mode", ["before", "after"])
def test_claim_with_unknown_outcome_is_settled_by_serial_read(store, node, mode):
    store.enqueue("public", ["GA1"])
    flaky_st, flaky = flaky_store(node, "claim", mode)
    got = flaky_st.claim_batch(1, pipeline="API", owner="w1")
    assert flaky.fired == 1
    if mode == "after":  # applied despite the timeout: ours, returned exactly once
        assert [r.stellar_account for r in got] == ["GA1"]
        assert store.claim_batch(1, pipeline="API", owner="w2") == []
    else:  # never applied: not returned, still claimable by anyone
        assert got == [] and store.get("public", "GA1").status == "PENDING"
        assert [r.claim_owner for r in store.claim_batch(1, pipeline="API", owner="w2")] == ["w2"]
    assert store.stats("public", stuck_threshold=dt.timedelta(minutes=1))["by_status"]["PROCESSING"] == 1


def test_complete_with_unknown_outcome_reports_what_happened(store, node):
    store.enqueue("public", ["GA1"])
    store.claim_batch(1, pipeline="API", owner="w1")
    flaky_st, _ = flaky_store(node, "complete", "after")
    assert flaky_st.complete("public", "GA1", owner="w1", result=result(), source="API")
    stats = store.stats("public", stuck_threshold=dt.timedelta(minutes=1))
    assert stats["by_status"]["COMPLETE"] == 1 and stats["by_status"]["PROCESSING"] == 0


def test_recovered_then_late_worker_with_same_owner_name_cannot_touch_new_claim(store):
    store.enqueue("public", ["GA1"])
    store.claim_batch(1, pipeline="API", owner="w", now=utcnow() - dt.timedelta(hours=1))
    store.recover_stuck(threshold=dt.timedelta(minutes=15), max_retries=5)
    [rec] = store.claim_batch(1, pipeline="BIGQUERY", owner="w2")
    assert not store.retry_later("public", "GA1", owner="w", error="late", max_retries=5)
    assert not store.release("public", "GA1", owner="w")
    assert store.get("public", "GA1").claim_owner == "w2" and rec.claim_pipeline == "BIGQUERY"


# --- the migration command ----------------------------------------------------------------------
def test_migrate_cli_creates_migrates_and_checks(node):
    session, _ = node
    keyspace = f"lineage_cli_{uuid.uuid4().hex[:8]}"
    contact, port = hosts()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW_CONN_LINEAGE_CLI": json.dumps(
            {"conn_type": "cassandra", "host": ",".join(contact), "port": port, "schema": keyspace}
        ),
    }
    cmd = [sys.executable, "-m", "include.stellar_lineage.store.cassandra.admin", "--conn-id", "lineage_cli"]
    try:
        check = subprocess.run([*cmd, "--check"], check=False, env=env, capture_output=True, text=True, timeout=300)
        assert check.returncode == 1 and f"keyspace '{keyspace}' does not exist" in check.stderr
        first = subprocess.run(
            [*cmd, "--create-keyspace"], check=False, env=env, capture_output=True, text=True, timeout=300
        )
        assert first.returncode == 0, first.stderr
        assert "applied 001_lineage_table, 002_dual_pipeline_columns, 003_claims_and_indexes" in first.stdout
        again = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0 and "nothing (up to date)" in again.stdout
        session.execute(f"ALTER TABLE {keyspace}.stellar_creator_account_lineage DROP pipeline_source")
        broken = subprocess.run([*cmd, "--check"], check=False, env=env, capture_output=True, text=True, timeout=300)
        assert broken.returncode == 1
        assert "column stellar_creator_account_lineage.pipeline_source" in broken.stderr
        session.execute(f"ALTER TABLE {keyspace}.stellar_creator_account_lineage ADD pipeline_source text")
        recount = subprocess.run([*cmd, "--recount"], check=False, env=env, capture_output=True, text=True, timeout=300)
        assert recount.returncode == 0 and "recounted 0 rows" in recount.stdout, recount.stderr
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)


def test_from_connection_fails_fast_then_migrates_when_asked(node, monkeypatch):
    session, _ = node
    keyspace = f"lineage_conn_{uuid.uuid4().hex[:8]}"
    contact, port = hosts()
    monkeypatch.setenv(
        "AIRFLOW_CONN_LINEAGE_IT",
        json.dumps({"conn_type": "cassandra", "host": ",".join(contact), "port": port, "schema": keyspace}),
    )
    create_keyspace(session, keyspace)
    try:
        with pytest.raises(SchemaError, match="stellar_creator_account_lineage"):
            CassandraLineageStore.from_connection("lineage_it")
        store = CassandraLineageStore.from_connection("lineage_it", migrate=True)
        try:
            assert store.enqueue("public", ["GCONN"]).added == ["GCONN"]
        finally:
            store.close()
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)


def test_failed_rows_written_before_migration_004_are_indexed_and_requeued(store, node):
    """A deployment upgraded to 004 already holds FAILED rows with no failed-index entry: the 004 post
    step (and --recount) indexes them so the FAILED timer and the retry-all DAG see them."""
    from include.stellar_lineage.store.cassandra.admin.backfill import index_failed

    session, keyspace = node
    account = "GOLDFAILEDACCOUNT"
    failed_at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    session.execute(
        f"INSERT INTO {keyspace}.stellar_creator_account_lineage "
        "(network_name, stellar_account, status, retry_count, updated_at, created_at) VALUES (%s, %s, %s, %s, %s, %s)",
        ("public", account, "FAILED", 3, failed_at, failed_at),
    )
    store.execute("network_put", ("public",))
    assert store.requeue_failed(failed_before=None) == []  # not indexed: invisible to the timer
    assert index_failed(store) == 1
    assert index_failed(store) == 1  # re-runnable: the same entry again, not a second one
    assert store.requeue_failed(failed_before=failed_at + dt.timedelta(seconds=1)) == [("public", account)]
    assert store.get("public", account).status == "PENDING"


def test_complete_rows_written_before_migration_008_are_indexed_and_refreshed(store, node):
    """A deployment upgraded to 008 already holds COMPLETE rows without ``completed_at`` or an index
    entry: the 008 post step (and --recount, and the seed copy) gives them both, so the refresh policy
    re-queues them; a re-run adds nothing twice."""
    from include.stellar_lineage.store.cassandra.admin.backfill import index_complete

    session, keyspace = node
    old, recent = "GOLDCOMPLETEACCOUNT", "GRECENTCOMPLETEACCOUNT"
    now = dt.datetime.now(dt.UTC)
    for account, at in ((old, now - dt.timedelta(days=30)), (recent, now - dt.timedelta(days=1))):
        session.execute(
            f"INSERT INTO {keyspace}.stellar_creator_account_lineage (network_name, stellar_account, status,"
            " stellar_creator_account, retry_count, updated_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            ("public", account, "COMPLETE", "GCREATOR", 0, at, at),
        )
    cutoff = now - dt.timedelta(days=7)
    assert store.requeue_stale("public", completed_before=cutoff, limit=10) == []  # not indexed yet
    assert index_complete(store) == 2
    assert index_complete(store) == 2  # re-runnable: the same entries again
    entries = list(session.execute(f"SELECT stellar_account FROM {keyspace}.lineage_complete_index"))
    assert sorted(e.stellar_account for e in entries) == sorted([old, recent])
    assert store.requeue_stale("public", completed_before=cutoff, limit=10) == [("public", old)]
    rec = store.get("public", old)
    assert rec.status == "PENDING" and rec.stellar_creator_account == "GCREATOR"  # data kept
    assert store.get("public", recent).status == "COMPLETE"
