"""The creator-graph part of the ``LineageStore`` interface: the edge table (account -> creator,
ledger, created_at, op id) and its children index, loaded by the graph snapshot DAG and read by
``graph_resolve`` / ``descendants`` (reference/hubble_graph.md). ``LineageStore`` inherits it; the
backends implement it in ``store/sqlite/graph.py`` and ``store/cassandra/graph.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence

from include.stellar_lineage.records import CreationEdge, GraphState

# Edges per write transaction / concurrent round of a graph load: small enough that no load holds the
# store for more than a fraction of a second at a time (reference/hubble_graph.md, "Store side").
EDGE_CHUNK = 5000


class CreatorGraphStore(abc.ABC):
    @abc.abstractmethod
    def load_edges(
        self, network: str, edges: Iterable[CreationEdge], *, chunk_size: int = EDGE_CHUNK, fresh: bool = False
    ) -> int:
        """Upsert edges in chunks of ``chunk_size`` (one short write transaction / concurrent round
        each): per account the edge with the highest ``op_id`` wins, whatever the load order, and the
        children index follows (a re-created account leaves its old creator's children). Returns the
        number of accounts that had no edge before, so ``GraphState.edges`` can be kept without a
        count over the table.

        ``fresh=True`` is the caller's promise that the edge table held no edge of ``network`` when
        this load began and that the load carries each account at most once (a first snapshot): a
        backend may then skip reading the current edges (nothing to move out of an old creator's
        children) and count every distinct account of a chunk as new."""

    @abc.abstractmethod
    def edge_table_empty(self) -> bool:
        """True when the edge table holds no edge of any network (a cheap probe, not a count)."""

    @abc.abstractmethod
    def edges_of(self, network: str, accounts: Sequence[str]) -> dict[str, CreationEdge]:
        """Edges by account; accounts without an edge are absent."""

    @abc.abstractmethod
    def children_edges(
        self, network: str, creator: str, *, limit: int = 100, after_op_id: int | None = None
    ) -> list[CreationEdge]:
        """The accounts ``creator`` created (their latest creation is by ``creator``), ordered by
        ``op_id``; the next page starts after the last page's ``op_id``."""

    def children_edges_many(
        self, network: str, creators: Sequence[str], *, limit: int = 100
    ) -> dict[str, list[CreationEdge]]:
        """The first page (``limit``) of ``children_edges`` for each of ``creators``; a backend may
        read them together (Cassandra: all in flight at once instead of one round trip each)."""
        return {c: self.children_edges(network, c, limit=limit) for c in dict.fromkeys(creators)}

    @abc.abstractmethod
    def children_count(self, network: str, creator: str) -> int:
        """Number of accounts whose latest creation is by ``creator``."""

    def creator_chain(self, network: str, account: str, *, max_depth: int = 256) -> list[CreationEdge]:
        """``account``'s edge, its creator's edge, ... up to the root or the first account without an
        edge. Latest-creation edges can form cycles (A creates B, A merges into B, B re-creates A), so
        the walk stops at the first account it has already visited."""
        chain: list[CreationEdge] = []
        seen = {account}
        current = account
        while len(chain) < max_depth:
            edge = self.edges_of(network, [current]).get(current)
            if edge is None:
                break
            chain.append(edge)
            if edge.creator in seen:
                break
            seen.add(edge.creator)
            current = edge.creator
        return chain

    @abc.abstractmethod
    def graph_state(self, network: str) -> GraphState | None:
        """How far the network's edge table is loaded; None before the first load."""

    @abc.abstractmethod
    def set_graph_state(self, state: GraphState) -> None:
        """Replace the network's graph state (written after each loaded chunk and at the end)."""
