"""Cassandra lineage store (self-hosted Cassandra 4/5 or DataStax Astra DB).

Data model (keyspace = the Airflow connection's ``schema``; migrations in ``store/cassandra/cql/``):

* ``stellar_creator_account_lineage`` - the record, ``PRIMARY KEY ((network_name, stellar_account))``,
  so duplicates are impossible. Every status change is a lightweight transaction (LWT) on this row:
  enqueue ``IF NOT EXISTS``; claim ``IF status = 'PENDING' AND queue_token = ?`` (SERIAL); every
  transition after a claim ``IF status = 'PROCESSING' AND claim_owner = ? AND claim_token = ?``, so a
  worker whose claim was recovered and handed to someone else cannot overwrite the newer claim. Plain
  writes never touch these cells (mixing LWT and plain writes on a cell can reorder them).
* ``lineage_pending_index`` ``((network, bucket), priority, created_at, account, queue_token)`` and
  ``lineage_processing_index`` ``((network, bucket), processing_started_at, account, claim_token)`` -
  hints that make "next PENDING in priority/age order" and "PROCESSING since before X" reads of a few
  small partitions (8 buckets per network) instead of ``ALLOW FILTERING`` over the table. Rules that
  keep them safe are in ``queue.py``; entries of a finished episode are deleted by key.
* ``lineage_status_counts`` (counters per network/status/source), ``lineage_completions`` (counter per
  network, UTC hour partition, minute, source) and ``bigquery_spend_totals`` make ``stats`` and
  ``spend_summary`` a handful of single-partition reads, flat in table size. Counters are updated
  after the LWT that changed the row; a process killed in between leaves a counter off by one (no
  record is lost). ``bigquery_spend`` keeps every ledger entry, partitioned by UTC day.
* ``lineage_outcomes`` / ``lineage_latency_buckets`` / ``lineage_recent`` (migration 009): the dashboard's
  trends, latency and recent list, written after each terminal transition (``trends.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cassandra import InvalidRequest
from cassandra.query import BoundStatement

from include.stellar_lineage.records import (
    LineageRecord,
    Status,
)
from include.stellar_lineage.store.cassandra import schema as cassandra_schema
from include.stellar_lineage.store.cassandra.admin import backfill as cassandra_backfill
from include.stellar_lineage.store.cassandra import queue as q
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.store.cassandra.connect import (
    DEFAULT_CONN_ID,
    Consistency,
    build_cluster,
    valid_keyspace,
)
from include.stellar_lineage.store.cassandra.bulk import BulkMixin
from include.stellar_lineage.store.cassandra.claims import ClaimsMixin, ClaimUnknown
from include.stellar_lineage.store.cassandra.enqueue import EnqueueMixin
from include.stellar_lineage.store.cassandra.followups import FollowupsMixin
from include.stellar_lineage.store.cassandra.graph import CassandraGraph
from include.stellar_lineage.store.cassandra.scan import ScanMixin
from include.stellar_lineage.store.cassandra.recovery import RecoveryMixin
from include.stellar_lineage.store.cassandra.refresh import RefreshMixin
from include.stellar_lineage.store.cassandra.stats import StatsMixin
from include.stellar_lineage.store.cassandra.transitions import TransitionsMixin
from include.stellar_lineage.store.cassandra.trends import TrendsMixin

log = logging.getLogger(__name__)
P, PR = Status.PENDING.value, Status.PROCESSING.value


class CassandraLineageStore(
    ClaimsMixin,
    EnqueueMixin,
    RefreshMixin,
    RecoveryMixin,
    CassandraGraph,
    BulkMixin,
    FollowupsMixin,
    TransitionsMixin,
    StatsMixin,
    TrendsMixin,
    ScanMixin,
    LineageStore,
):
    def __init__(
        self,
        session: Any,
        keyspace: str,
        *,
        consistency: Consistency | None = None,
        cluster: Any = None,
        check: bool = True,
    ) -> None:
        """Use an existing driver ``Session`` (tests); production code uses ``from_connection``."""
        self.session, self.keyspace = session, valid_keyspace(keyspace)
        q.use_row_factory(session)
        self.consistency = consistency or Consistency()
        self._cluster = cluster
        self._stmts: dict[str, Any] | None = None
        self.lost_claims = 0  # claim LWTs that found the row taken: a contention gauge for benchmarks
        self._spread = 0  # recent contention, widens the claim window (see claim_batch)
        if check:
            self.check_schema()

    @classmethod
    def from_connection(cls, conn_id: str = DEFAULT_CONN_ID, *, migrate: bool = False) -> CassandraLineageStore:
        """The store of Airflow connection ``conn_id``; migrates if asked, then checks the schema."""
        cluster, keyspace, consistency = build_cluster(conn_id)
        try:
            store = cls(cluster.connect(), keyspace, consistency=consistency, cluster=cluster, check=False)
            if migrate:
                store.migrate()
            store.check_schema()
        except BaseException:
            cluster.shutdown()  # don't leak driver threads/connections when failing fast
            raise
        return store

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()

    # --- statements ---------------------------------------------------------------------------
    @property
    def stmts(self) -> dict[str, Any]:
        if self._stmts is None:
            self._stmts = _Prepared(self)
        return self._stmts

    def execute(self, name: str, params: Sequence[Any]) -> Any:
        """Run one named prepared statement of ``cql/statements.cql`` (also used by the admin tools)."""
        return self.session.execute(self.stmts[name], params)

    def _count(self, network: str, status: str, delta: int, source: str = "") -> None:
        self.execute("count_add", (delta, network, status, source))

    def _serial_read(self, network: str, account: str) -> Any:
        bound = BoundStatement(self.stmts["get"], consistency_level=self.consistency.serial)
        return self.session.execute(bound.bind((network, account))).one()

    # --- schema -------------------------------------------------------------------------------
    def check_schema(self) -> None:
        cassandra_schema.check_schema(self.session, self.keyspace)

    def migrate(self) -> list[str]:
        def backfill() -> None:
            self._stmts = None  # the tables/columns of 003 exist only now
            cassandra_backfill.backfill(self, log=log)

        def index_failed() -> None:
            self._stmts = None  # lineage_failed_index exists only now
            cassandra_backfill.index_failed(self, log=log)

        def index_complete() -> None:
            self._stmts = None  # lineage_complete_index exists only now
            cassandra_backfill.index_complete(self, log=log)

        applied = cassandra_schema.migrate(
            self.session,
            self.keyspace,
            log=log,
            post_steps={
                "003_claims_and_indexes": backfill,
                "004_next_attempt": index_failed,
                "008_refresh_index": index_complete,
            },
        )
        self._stmts = None
        return applied

    # --- queue (enqueue: enqueue.py) --------------------------------------------------------
    def _apply_counts(self, network: str, deltas: dict[str, int]) -> None:
        for status, delta in deltas.items():
            if delta:
                self._count(network, status, delta)

    # --- reads --------------------------------------------------------------------------------
    def _rows(self, network: str, accounts: Sequence[str]) -> dict[str, Any]:
        unique = list(dict.fromkeys(accounts))
        if len(unique) <= 1:
            rows = [self.execute("get", (network, a)).one() for a in unique]
        else:
            futures = [self.session.execute_async(self.stmts["get"], (network, a)) for a in unique]
            rows = [f.result().one() for f in futures]
        return {r.stellar_account: r for r in rows if r is not None}

    def get_many(self, network: str, accounts: Sequence[str]) -> dict[str, LineageRecord]:
        out: dict[str, LineageRecord] = {}
        accounts = list(accounts)
        for i in range(0, len(accounts), 256):  # bounded number of requests in flight
            out.update({a: q.row_to_record(r) for a, r in self._rows(network, accounts[i : i + 256]).items()})
        return out

    def networks(self) -> list[str]:
        return sorted(r.network_name for r in self.execute("networks", ()))


class _Prepared(dict):
    """Statements of ``cql/statements.cql``, all prepared up front (so hot paths and request counts
    never include a prepare), except those whose table does not exist yet: a migration's post step
    (e.g. the 003 backfill) runs before later migrations' tables exist. Those are prepared on first
    use, which fails with the server's message if the table is still missing."""

    def __init__(self, store: CassandraLineageStore) -> None:
        super().__init__()
        self._store = store
        self._texts = q.load_statements(store.keyspace)
        for name in self._texts:
            try:
                self[name]
            except InvalidRequest:
                log.debug("statement %s not prepared yet (its table does not exist)", name)

    def __missing__(self, name: str) -> Any:
        store = self._store
        stmt = store.session.prepare(self._texts[name])
        stmt.consistency_level = store.consistency.normal
        if name in q.LWT:
            stmt.serial_consistency_level = store.consistency.serial
        self[name] = stmt
        return stmt


__all__ = ["CassandraLineageStore", "ClaimUnknown"]
