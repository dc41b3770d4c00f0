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

A claim whose LWT times out (``WriteTimeout``, write_type CAS) or whose connection drops has an
unknown outcome: the row is read back at SERIAL consistency, which finishes any in-flight Paxos round,
and the claim is ours exactly when the row carries our fresh ``claim_token``. If even that read fails
the batch stops; a claim we could not confirm stays PROCESSING and ``recover_stuck`` requeues it, so
it is neither lost nor handed out twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cassandra import InvalidRequest, Unavailable
from cassandra.query import BoundStatement

from include.stellar_lineage.records import (
    EnqueueResult,
    LineageRecord,
    Priority,
    Status,
    utcnow,
)
from include.stellar_lineage.store.cassandra import schema as cassandra_schema
from include.stellar_lineage.store.cassandra.admin import backfill as cassandra_backfill
from include.stellar_lineage.store.cassandra import queue as q
from include.stellar_lineage.store.base import LineageStore, wants_claim
from include.stellar_lineage.store.cassandra.connect import (
    DEFAULT_CONN_ID,
    Consistency,
    build_cluster,
    valid_keyspace,
)
from include.stellar_lineage.store.cassandra.bulk import BulkMixin
from include.stellar_lineage.store.cassandra.graph import CassandraGraph
from include.stellar_lineage.store.cassandra.scan import ScanMixin
from include.stellar_lineage.store.cassandra.recovery import RecoveryMixin
from include.stellar_lineage.store.cassandra.refresh import RefreshMixin
from include.stellar_lineage.store.cassandra.stats import StatsMixin
from include.stellar_lineage.store.cassandra.transitions import TransitionsMixin
from include.stellar_lineage.store.cassandra.trends import TrendsMixin

log = logging.getLogger(__name__)
P, PR = Status.PENDING.value, Status.PROCESSING.value


class ClaimUnknown(RuntimeError):
    """A claim's outcome could not be learned (node unreachable); recover_stuck will settle it."""


class CassandraLineageStore(
    RefreshMixin,
    RecoveryMixin,
    CassandraGraph,
    BulkMixin,
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

    # --- queue --------------------------------------------------------------------------------
    def enqueue(
        self,
        network: str,
        accounts: Iterable[str],
        *,
        priority: Priority = Priority.REQUESTED,
    ) -> EnqueueResult:
        unique = list(dict.fromkeys(accounts))
        self.execute("network_put", (network,))
        now = q.ms(utcnow())
        if len(unique) > 1:  # each account is a few dependent round trips: overlap them
            with ThreadPoolExecutor(max_workers=16) as pool:
                outcomes = list(
                    pool.map(lambda ia: self._enqueue_one(network, ia[1], priority, now, seq=ia[0]), enumerate(unique))
                )
        else:
            outcomes = [self._enqueue_one(network, a, priority, now) for a in unique]
        added = [a for a, (o, _s) in zip(unique, outcomes, strict=True) if o == "added"]
        reset = [a for a, (o, _s) in zip(unique, outcomes, strict=True) if o == "reset"]
        deltas = Counter(s for o, s in outcomes if o == "reset" and s)  # previous status of reset rows
        deltas[P] -= len(added) + len(reset)
        self._apply_counts(network, {k: -v for k, v in deltas.items()})
        return EnqueueResult(added, reset, [a for a, (o, _s) in zip(unique, outcomes, strict=True) if o == "unchanged"])

    def _apply_counts(self, network: str, deltas: dict[str, int]) -> None:
        for status, delta in deltas.items():
            if delta:
                self._count(network, status, delta)

    def _enqueue_one(
        self, network: str, account: str, priority: int, now: dt.datetime, *, allow_reset: bool = True, seq: int = 0
    ) -> tuple[str, str | None]:
        """("added"|"reset"|"unchanged", status before a reset); the caller updates the counters."""
        # seq: position in the enqueue call, so accounts enqueued in one millisecond keep their order
        hint = q.PendingHint(int(priority), now, seq, account, q.new_token(), network)
        self.execute("pending_put", hint.key())  # hint first, see queue.py
        rs = self.execute("insert_new", (network, account, int(priority), now, now, hint.queue_token, seq))
        if rs.was_applied:
            return "added", None
        self.execute("pending_del", hint.key())  # our own fresh key: nothing else can be using it
        existing = rs.one()
        if not (
            allow_reset
            and priority <= Priority.REQUESTED
            and existing.status in (Status.FAILED.value, Status.INVALID.value)
        ):
            return "unchanged", None
        new_priority = min(int(priority), existing.priority if existing.priority is not None else 99)
        hint = q.PendingHint(new_priority, q.aware(existing.created_at) or now, 0, account, q.new_token(), network)
        self.execute("pending_put", hint.key())
        rs = self.execute("reset", (new_priority, hint.queue_token, now, now, network, account, existing.status))
        if not rs.was_applied:
            self.execute("pending_del", hint.key())
            return "unchanged", None
        return "reset", existing.status

    def claim_batch(
        self,
        limit: int,
        *,
        pipeline: str,
        owner: str,
        network: str | None = None,
        accounts: Sequence[str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[LineageRecord]:
        if not wants_claim(limit, network, accounts):
            return []
        now = q.ms(now or utcnow())
        if accounts is not None:
            assert network is not None  # wants_claim refuses named accounts without their network
            rows = [r for r in self._rows(network, accounts).values() if r.status == P and q.is_due(r, now)]
            candidates: Iterable[q.PendingHint] = sorted(q.hint_for_row(r, network) for r in rows)
            if len(rows) > 1:  # named rows are distinct partitions: claim them concurrently (graph mode bulk)
                return self._claim_named(list(candidates)[:limit], owner, pipeline, now)
        else:
            networks = [network] if network else self.networks()
            q.promote_due(self.session, self.stmts, networks, now)  # not-yet-due rows stay out of the way
            candidates = q.pending_in_order(self.session, self.stmts, networks, max(limit, 16))
        claimed: list[tuple[str, str]] = []
        cleanup: list[Any] = []  # index deletes after a won claim: overlapped, awaited at the end
        stream = iter(candidates)
        lost = 0
        try:
            while len(claimed) < limit:
                # Try the next `need` candidates in random order: uncontended this claims exactly the
                # first `need` in claim order. Each lost race widens the next window, so concurrent
                # claimers spread out instead of all fighting for the head of the queue (in strict
                # order they lose almost every LWT); order is then best-effort, as in any queue.
                need = limit - len(claimed)
                window = list(itertools.islice(stream, need * min(8, 1 + self._spread + lost)))
                if not window:
                    break
                random.shuffle(window)
                for hint in window:
                    if len(claimed) >= limit:
                        break
                    if self._claim_one(hint, owner, pipeline, now, cleanup):
                        claimed.append((hint.network, hint.account))
                    else:
                        lost += 1
        except Exception:  # ClaimUnknown, node gone mid-batch, ...
            if not claimed:
                raise
            # what we hold is valid: hand it out; an unsettled claim is left to recover_stuck
            log.exception("claim batch interrupted; returning the %d records already claimed", len(claimed))
        finally:
            # remember contention for the next batch (a claimer in a busy pool stays spread out)
            self._spread = min(8, lost) if lost else self._spread // 2
            self._settle(cleanup, claimed)
        records: list[LineageRecord] = []
        for net in dict.fromkeys(n for n, _a in claimed):
            records += self.get_many(net, [a for n, a in claimed if n == net]).values()
        records.sort(key=lambda r: (r.priority, r.created_at))
        return records

    def _settle(self, cleanup: list[Any], claimed: list[tuple[str, str]]) -> None:
        # A failed cleanup write loses nothing: a leftover hint is dropped by the next claimer that
        # trips over it; a missed counter update leaves the counter off (see module docstring).
        for future in cleanup:
            try:
                future.result()
            except Exception:
                log.warning("index cleanup after claim failed", exc_info=True)
        for net, n in Counter(n for n, _a in claimed).items():
            try:
                self._apply_counts(net, {P: -n, PR: n})
            except Exception:
                log.warning("counter update after claim failed", exc_info=True)

    def _claim_one(self, hint: q.PendingHint, owner: str, pipeline: str, now: dt.datetime, cleanup: list[Any]) -> bool:
        network, account = hint.network, hint.account
        token = q.new_token()
        entry = (network, q.bucket(account), now, account, token)
        self.execute("processing_put", entry)  # hint first: a claimed row is always findable by recovery
        try:
            rs = self.execute("claim", (owner, pipeline, token, now, now, now, network, account, hint.queue_token))
            applied, current = rs.was_applied, rs.one()
        except Unavailable:
            # refused by the coordinator before any Paxos round started: definitely not applied
            with contextlib.suppress(Exception):  # a leftover entry is dropped by recovery later
                self.execute("processing_del", entry)
            raise ClaimUnknown(f"cluster unavailable while claiming {network}/{account}") from None
        except Exception as exc:  # noqa: BLE001 - WriteTimeout(CAS), OperationTimedOut, connection lost: unknown
            log.warning(
                "claim of %s/%s: outcome unknown (%s); reading back at SERIAL", network, account, type(exc).__name__
            )
            try:
                current = self._serial_read(network, account)
            except Exception as read_exc:  # noqa: BLE001 - re-raised as ClaimUnknown
                raise ClaimUnknown(f"claim of {network}/{account} unresolved: {read_exc}") from exc
            applied = current is not None and current.claim_token == token
        if applied:
            cleanup.append(self.session.execute_async(self.stmts["pending_del"], hint.key()))
            return True
        self.lost_claims += 1
        self.execute("processing_del", entry)
        self._drop_stale_hint(hint, current)
        return False

    def _drop_stale_hint(self, hint: q.PendingHint, row: Any) -> None:
        if row is None or getattr(row, "status", None) is None:
            stale = row is None or q.is_old(hint.queue_token)  # no row (yet?) behind this hint
        elif row.queue_token == hint.queue_token:
            stale = row.status != P  # this episode already ended
        else:
            stale = q.is_old(hint.queue_token)  # maybe a transition still in flight: wait
        if stale:
            self.execute("pending_del", hint.key())

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
