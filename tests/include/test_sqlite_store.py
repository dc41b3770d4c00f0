"""The store contract on SQLite, plus SQLite-only schema and concurrency checks."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pytest

from include.stellar_lineage.store.base import SchemaError
from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.include.store_contract import StoreContract
from tests.include.store_contract_bulk import BulkContract
from tests.include.store_contract_refresh import RefreshContract
from tests.include.store_contract_trends import TrendsContract


class TestSqliteContract(StoreContract, BulkContract, RefreshContract, TrendsContract):
    @pytest.fixture
    def store(self, sqlite_store):
        return sqlite_store


def test_schema_check_names_missing_columns(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE lineage (network_name TEXT, stellar_account TEXT, status TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError) as err:
        SqliteLineageStore(path, migrate=False)
    message = str(err.value)
    assert "column lineage.pipeline_source" in message
    assert "column lineage.processing_started_at" in message
    assert "table status_counts" in message


def _claimer(path: str, owner: str, out, barrier) -> None:
    store = SqliteLineageStore(path, migrate=False)
    barrier.wait(timeout=60)  # start together, so the claims really race
    claimed = []
    while True:
        batch = store.claim_batch(3, pipeline="API", owner=owner)
        if not batch:
            break
        claimed.extend(r.stellar_account for r in batch)
        # A worker processes its batch before it claims again. Without this pause, one process on a
        # loaded 2-core CI machine drained all 2,000 records before the others were scheduled
        # (fresh-clone CI, session 6).
        time.sleep(0.005)
    out.put(claimed)


def test_four_processes_claim_each_record_exactly_once(tmp_path):
    path = str(tmp_path / "race.db")
    store = SqliteLineageStore(path)
    accounts = [f"G{i:055d}" for i in range(2000)]
    store.enqueue("public", accounts)
    ctx = multiprocessing.get_context("spawn")
    out, barrier = ctx.Queue(), ctx.Barrier(4)
    procs = [ctx.Process(target=_claimer, args=(path, f"worker-{i}", out, barrier)) for i in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    claimed = [a for r in results for a in r]
    assert len(claimed) == 2000 and set(claimed) == set(accounts)
    # The claims really raced (a heavily loaded machine may starve one process, never all but one).
    assert sum(1 for r in results if r) >= 2
    stats = store.stats("public", stuck_threshold=__import__("datetime").timedelta(minutes=15))
    assert stats["by_status"]["PROCESSING"] == 2000 and stats["by_status"]["PENDING"] == 0
