"""Cassandra store: the creator-graph edge tables (migration 005; reference/hubble_graph.md).

* ``creation_edges`` ``((network_name, account))``: one edge per account;
* ``creation_children`` ``((network_name, creator), op_id, account)``: children in creation order, so
  paging is a slice of one partition and nothing needs ``ALLOW FILTERING``.

Every write carries ``USING TIMESTAMP op_id``: Cassandra keeps the cell with the highest timestamp,
so the latest creation wins whatever the load order and concurrent or repeated loads converge. A
load reads each account's current edge first (to move a re-created account out of its old creator's
children, and to count new accounts); the reads and then the writes of one chunk run concurrently
(``execute_concurrent``), so a chunk is a few round-trip times, never a long hold on anything.
A ``fresh`` load (a first snapshot into an empty edge table: one edge per account, nothing to move)
skips the read: the op_id timestamps alone keep the latest creation, and every edge is new.
Consequence of the op_id timestamps: deleting graph rows needs ``USING TIMESTAMP`` above the op_id.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args

from include.stellar_lineage.records import CreationEdge, GraphState
from include.stellar_lineage.store.base import EDGE_CHUNK
from include.stellar_lineage.store.cassandra.queue import aware

CONCURRENCY = 96  # requests in flight per load; beyond this a single node only queues them


def _edge(row: Any, creator: str | None = None) -> CreationEdge:
    return CreationEdge(row.account, creator or row.creator, row.ledger, aware(row.created_at), row.op_id)


class CassandraGraph:
    """Mixin: needs ``self.session``, ``self.stmts`` and ``self.execute``."""

    session: Any
    execute: Any

    @property
    def stmts(self) -> dict[str, Any]:
        raise NotImplementedError  # the store prepares them

    def load_edges(
        self, network: str, edges: Iterable[CreationEdge], *, chunk_size: int = EDGE_CHUNK, fresh: bool = False
    ) -> int:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        added = 0
        stream = iter(edges)
        while chunk := list(itertools.islice(stream, chunk_size)):
            latest: dict[str, CreationEdge] = {}
            for e in chunk:
                if e.account not in latest or e.op_id > latest[e.account].op_id:
                    latest[e.account] = e
            wanted = list(latest.values())
            if fresh:
                added += len(wanted)
                self._put_edges(network, wanted)
                continue
            current = execute_concurrent_with_args(
                self.session,
                self.stmts["edge_get"],
                [(network, e.account) for e in wanted],
                concurrency=CONCURRENCY,
                raise_on_first_error=True,
            )
            changed: list[CreationEdge] = []
            moved: list[tuple[Any, tuple]] = []
            for e, (_ok, rows) in zip(wanted, current, strict=True):
                old = rows.one()
                if old is None:
                    added += 1
                elif old.op_id > e.op_id or (old.op_id == e.op_id and old.creator == e.creator):
                    continue  # an older creation, or this very edge already loaded (a resumed load)
                elif old.creator != e.creator or old.op_id != e.op_id:
                    moved.append((self.stmts["child_del"], (e.op_id, network, old.creator, old.op_id, old.account)))
                changed.append(e)
            self._put_edges(network, changed, moved)
        return added

    def _put_edges(self, network: str, edges: list[CreationEdge], extra: Sequence[tuple[Any, tuple]] = ()) -> None:
        writes = list(extra)
        for e in edges:
            writes.append(
                (self.stmts["edge_put"], (network, e.account, e.creator, e.ledger, e.created_at, e.op_id, e.op_id))
            )
            writes.append(
                (self.stmts["child_put"], (network, e.creator, e.op_id, e.account, e.ledger, e.created_at, e.op_id))
            )
        if writes:
            execute_concurrent(self.session, writes, concurrency=CONCURRENCY, raise_on_first_error=True)

    def edge_table_empty(self) -> bool:
        # any network: a per-network probe would have to filter over the whole table
        return self.execute("edge_any", ()).one() is None

    def edges_of(self, network: str, accounts: Sequence[str]) -> dict[str, CreationEdge]:
        unique = list(dict.fromkeys(accounts))
        if len(unique) == 1:
            row = self.execute("edge_get", (network, unique[0])).one()
            return {} if row is None else {row.account: _edge(row)}
        results = execute_concurrent_with_args(
            self.session,
            self.stmts["edge_get"],
            [(network, a) for a in unique],
            concurrency=CONCURRENCY,
            raise_on_first_error=True,
        )
        out: dict[str, CreationEdge] = {}
        for _ok, rows in results:
            row = rows.one()
            if row is not None:
                out[row.account] = _edge(row)
        return out

    def children_edges(
        self, network: str, creator: str, *, limit: int = 100, after_op_id: int | None = None
    ) -> list[CreationEdge]:
        if limit <= 0:
            return []
        rows = self.execute("children_page", (network, creator, -1 if after_op_id is None else after_op_id, limit))
        return [_edge(r, creator) for r in rows]

    def children_edges_many(
        self, network: str, creators: Sequence[str], *, limit: int = 100
    ) -> dict[str, list[CreationEdge]]:
        unique = list(dict.fromkeys(creators))
        if limit <= 0:
            return {c: [] for c in unique}
        results = execute_concurrent_with_args(
            self.session,
            self.stmts["children_page"],
            [(network, c, -1, limit) for c in unique],
            concurrency=CONCURRENCY,
            raise_on_first_error=True,
        )
        return {c: [_edge(r, c) for r in rows] for c, (_ok, rows) in zip(unique, results, strict=True)}

    def children_count(self, network: str, creator: str) -> int:
        # one partition (the creator's children), counted server-side
        return int(self.execute("children_count", (network, creator)).one()[0])

    def graph_state(self, network: str) -> GraphState | None:
        row = self.execute("graph_state_get", (network,)).one()
        if row is None:
            return None
        return GraphState(
            network=row.network_name,
            as_of_ledger=row.as_of_ledger,
            as_of_time=aware(row.as_of_time),
            edges=row.edges,
            loaded_at=aware(row.loaded_at),
            snapshot_id=row.snapshot_id,
            resume_cursor=row.resume_cursor,
        )

    def set_graph_state(self, state: GraphState) -> None:
        self.execute(
            "graph_state_put",
            (
                state.network,
                state.as_of_ledger,
                state.as_of_time,
                state.edges,
                state.loaded_at,
                state.snapshot_id,
                state.resume_cursor,
            ),
        )
