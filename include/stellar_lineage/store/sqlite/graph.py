"""SQLite store: the creator-graph edge table (migration 003; reference/hubble_graph.md).

Loads are chunked: each chunk of edges is one short ``BEGIN IMMEDIATE`` transaction (two
``executemany`` passes), so a load of millions of edges never holds the write lock for more than a
fraction of a second and the pipelines' claims interleave with it.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Sequence

from include.stellar_lineage.records import CreationEdge, GraphState
from include.stellar_lineage.store.base import EDGE_CHUNK
from include.stellar_lineage.store.sqlite.reads import _parse_ts, ts

_EDGE_COLUMNS = "account, creator, ledger, created_at, op_id"
# New accounts first (rowcount = accounts that had no edge), then a newer creation replaces an older
# one; an older or equal op_id never overwrites, so load order does not matter.
_INSERT_NEW = (
    "INSERT INTO creation_edges (network_name, account, creator, ledger, created_at, op_id)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_REPLACE_OLDER = (
    "UPDATE creation_edges SET creator = ?, ledger = ?, created_at = ?, op_id = ?"
    " WHERE network_name = ? AND account = ? AND op_id < ?"
)


def _edge(row: sqlite3.Row) -> CreationEdge:
    return CreationEdge(row["account"], row["creator"], row["ledger"], _parse_ts(row["created_at"]), row["op_id"])


class SqliteGraph:
    """Mixin: needs ``self._conn()`` and ``self._write()``."""

    _conn: Callable[[], sqlite3.Connection]
    _write: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    def load_edges(
        self, network: str, edges: Iterable[CreationEdge], *, chunk_size: int = EDGE_CHUNK, fresh: bool = False
    ) -> int:
        # ``fresh`` changes nothing here: the upsert costs no read round trip on SQLite
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        added = 0
        stream = iter(edges)
        while chunk := list(itertools.islice(stream, chunk_size)):
            # latest per account inside the chunk too: executemany applies rows in order
            latest: dict[str, CreationEdge] = {}
            for e in chunk:
                if e.account not in latest or e.op_id > latest[e.account].op_id:
                    latest[e.account] = e
            rows = [(network, e.account, e.creator, e.ledger, ts(e.created_at), e.op_id) for e in latest.values()]
            with self._write() as conn:
                added += conn.executemany(_INSERT_NEW, rows).rowcount
                conn.executemany(_REPLACE_OLDER, [(r[2], r[3], r[4], r[5], r[0], r[1], r[5]) for r in rows])
        return added

    def edge_table_empty(self) -> bool:
        return self._conn().execute("SELECT 1 FROM creation_edges LIMIT 1").fetchone() is None

    def edges_of(self, network: str, accounts: Sequence[str]) -> dict[str, CreationEdge]:
        out: dict[str, CreationEdge] = {}
        unique = list(dict.fromkeys(accounts))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            rows = (
                self._conn()
                .execute(
                    f"SELECT {_EDGE_COLUMNS} FROM creation_edges WHERE network_name = ?"
                    f" AND account IN ({','.join('?' * len(chunk))})",
                    (network, *chunk),
                )
                .fetchall()
            )
            out.update({r["account"]: _edge(r) for r in rows})
        return out

    def children_edges(
        self, network: str, creator: str, *, limit: int = 100, after_op_id: int | None = None
    ) -> list[CreationEdge]:
        rows = (
            self._conn()
            .execute(
                f"SELECT {_EDGE_COLUMNS} FROM creation_edges WHERE network_name = ? AND creator = ?"
                " AND op_id > ? ORDER BY op_id LIMIT ?",
                (network, creator, -1 if after_op_id is None else after_op_id, max(0, limit)),
            )
            .fetchall()
        )
        return [_edge(r) for r in rows]

    def children_count(self, network: str, creator: str) -> int:
        row = (
            self._conn()
            .execute("SELECT count(*) FROM creation_edges WHERE network_name = ? AND creator = ?", (network, creator))
            .fetchone()
        )
        return int(row[0])

    def graph_state(self, network: str) -> GraphState | None:
        row = self._conn().execute("SELECT * FROM graph_state WHERE network_name = ?", (network,)).fetchone()
        if row is None:
            return None
        return GraphState(
            network=row["network_name"],
            as_of_ledger=row["as_of_ledger"],
            as_of_time=_parse_ts(row["as_of_time"]),
            edges=row["edges"],
            loaded_at=_parse_ts(row["loaded_at"]),
            snapshot_id=row["snapshot_id"],
            resume_cursor=row["resume_cursor"],
        )

    def set_graph_state(self, state: GraphState) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO graph_state VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (network_name) DO UPDATE SET"
                " as_of_ledger = excluded.as_of_ledger, as_of_time = excluded.as_of_time, edges = excluded.edges,"
                " loaded_at = excluded.loaded_at, snapshot_id = excluded.snapshot_id,"
                " resume_cursor = excluded.resume_cursor",
                (
                    state.network,
                    state.as_of_ledger,
                    ts(state.as_of_time),
                    state.edges,
                    ts(state.loaded_at),
                    state.snapshot_id,
                    state.resume_cursor,
                ),
            )
