"""The creator graph from Hubble: run the approved query, read its result table in streams and load
it into the store's edge table (issue 15; reference/hubble_graph.md).

Resumable: after every loaded chunk the graph state carries a cursor (result table, read session,
rows consumed per stream, running high-water mark). A retried or re-triggered run of the same mode
resumes from it without a new query (no second charge); if the read session has expired it reads the
table again from the start, which is safe because loads are idempotent upserts. ``as_of_ledger``
advances only when a load is complete, so readers never see a half-loaded range as covered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from include.stellar_lineage.config import Settings
from include.stellar_lineage.hubble import cost
from include.stellar_lineage.hubble.graph import GraphHubble, GraphPlan, new_snapshot_id
from include.stellar_lineage.hubble.query import HubbleUnavailable
from include.stellar_lineage.hubble.storage_read import ReadSessionGone, StreamPosition, open_session, read_batches
from include.stellar_lineage.records import CreationEdge, GraphState, utcnow
from include.stellar_lineage.store.base import EDGE_CHUNK, LineageStore

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 10.0


def creator_address(address: str) -> str:
    """The G account behind a funder address: Hubble's ``funder`` is already the G form when the
    funder was muxed (``funder_muxed`` holds the M form), but an M address is resolved, never stored."""
    if address.startswith("M"):
        from stellar_sdk import MuxedAccount

        return MuxedAccount.from_account(address).account_id
    return address


def edges_from_batch(batch: Any, unresolved: list[int]) -> list[CreationEdge]:
    """Edges of one Arrow record batch (columns account, creator, ledger, created_at, op_id). A row
    whose ledger has no close time (history_ledgers behind the operations) is left out and its ledger
    noted, so ``as_of`` stays below it and the next refresh loads it."""
    columns = {name: batch.column(name).to_pylist() for name in ("account", "creator", "ledger", "created_at", "op_id")}
    out: list[CreationEdge] = []
    for account, creator, ledger, created_at, op_id in zip(*columns.values(), strict=True):
        if not account or not creator or op_id is None:
            raise ValueError(f"graph result row without account/creator/op_id: {account!r} {creator!r} {op_id!r}")
        if created_at is None:
            unresolved.append(int(ledger))
            continue
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.timezone.utc)
        out.append(CreationEdge(account, creator_address(creator), int(ledger), created_at, int(op_id)))
    return out


def run_graph_load(
    store: LineageStore,
    settings: Settings,
    graph: GraphPlan,
    guard: dict[str, Any],
    *,
    hubble: GraphHubble,
    read_client: Callable[[], Any],
    run_id: str = "",
    timeout_s: float = 3600.0,
    chunk_size: int = EDGE_CHUNK,
) -> dict[str, Any]:
    """Query (unless resuming), read and load; returns a summary for XCom and the log."""
    network = graph.network
    previous = store.graph_state(network)
    cursor = graph.resume
    if cursor is None:
        if not guard.get("approved"):
            raise ValueError(f"the cost guard did not approve this graph query: {guard.get('reason')}")
        cursor = _start(store, settings, graph, guard, hubble, previous, run_id, timeout_s)
    else:
        log.info(
            "Resuming %s %s from its cursor: no new query (%s)", graph.mode, cursor["snapshot_id"], cursor["table"]
        )
    client = read_client()
    position = StreamPosition(**cursor["position"]) if cursor.get("position") else None
    for attempt in (1, 2):
        if position is None:
            position = open_session(client, billing_project=hubble.client.project, table=cursor["table"])
            cursor["position"] = position.as_dict()
        try:
            _load_streams(store, network, client, position, cursor, chunk_size)
            break
        except ReadSessionGone:
            if attempt == 2:
                raise
            log.warning("read session expired; reading %s again from the start (loads are idempotent)", cursor["table"])
            position = None
            if cursor.get("fresh"):
                cursor["added"] = 0  # a fresh load counts every row it writes: the re-read counts them again
    return _finish(store, network, cursor, hubble)


def _start(store, settings, graph, guard, hubble, previous, run_id, timeout_s) -> dict[str, Any]:
    now = utcnow()
    snapshot_id = new_snapshot_id(graph.mode, graph.network, now)
    table = hubble.result_table(snapshot_id)
    try:
        job_id, billed = hubble.create_result_table(
            graph, table, max_bytes_billed=int(guard["max_bytes_billed"]), timeout_s=timeout_s
        )
    except HubbleUnavailable as exc:
        spent = int(guard["billable_bytes"]) if exc.reason == "timeout" else 0
        cost.record_job_spend(
            store,
            settings,
            network=graph.network,
            nbytes=spent,
            decision="failed",
            run_id=run_id,
            detail=f"graph {graph.mode}: {exc}"[:500],
        )
        raise
    rows = hubble.table_rows(table)
    billed_bytes = billed if billed is not None else int(guard["billable_bytes"])
    cost.record_job_spend(
        store,
        settings,
        network=graph.network,
        nbytes=billed_bytes,
        decision="ran",
        run_id=run_id,
        detail=f"graph {graph.mode} job {job_id}; {rows} rows into {table}; "
        + ("bytes billed reported" if billed is not None else "bytes billed not reported: estimate recorded"),
        accounts=rows,
    )
    cursor = {
        "mode": graph.mode,
        "snapshot_id": snapshot_id,
        "table": table,
        "rows": rows,
        "loaded": 0,
        "added": 0,
        "base": {
            "edges": previous.edges if previous else 0,
            "as_of_ledger": previous.as_of_ledger if previous else 0,
            "as_of_time": previous.as_of_time.isoformat() if previous and previous.as_of_time else None,
        },
        "max_ledger": previous.as_of_ledger if previous else 0,
        "max_time": previous.as_of_time.isoformat() if previous and previous.as_of_time else None,
        "unresolved_ledger": None,
        "position": None,
        # a first snapshot into an empty edge table: the store may skip its per-edge reads (load_edges)
        "fresh": graph.mode == "snapshot" and previous is None and store.edge_table_empty(),
    }
    store.set_graph_state(_state(graph.network, cursor, done=False))
    log.info("Graph %s: %d rows in %s (job %s); loading", graph.mode, rows, table, job_id)
    return cursor


def _chunks(client: Any, position: StreamPosition, chunk_size: int) -> Iterator[tuple[str, Any]]:
    """Record batches cut to at most ``chunk_size`` rows, so a cursor step is one store chunk."""
    for stream, batch in read_batches(client, position):
        for start in range(0, batch.num_rows, chunk_size):
            yield stream, batch.slice(start, chunk_size)


def _load_streams(store, network, client, position, cursor, chunk_size) -> None:
    started, last_log = time.monotonic(), 0.0
    done_at_start = cursor["loaded"]
    for stream, batch in _chunks(client, position, chunk_size):
        unresolved: list[int] = []
        edges = edges_from_batch(batch, unresolved)
        cursor["added"] += store.load_edges(network, edges, chunk_size=chunk_size, fresh=bool(cursor.get("fresh")))
        if edges:
            top = max(edges, key=lambda e: e.ledger)
            if top.ledger > cursor["max_ledger"]:
                cursor["max_ledger"], cursor["max_time"] = top.ledger, top.created_at.isoformat()
        if unresolved:
            low = min(unresolved)
            cursor["unresolved_ledger"] = min(low, cursor["unresolved_ledger"] or low)
        position.offsets[stream] += batch.num_rows
        cursor["loaded"] += batch.num_rows
        cursor["position"] = position.as_dict()
        store.set_graph_state(_state(network, cursor, done=False))
        now = time.monotonic()
        if now - last_log >= PROGRESS_EVERY_S:
            last_log = now
            _progress(cursor, done_at_start, now - started)
    _progress(cursor, done_at_start, time.monotonic() - started)


def _progress(cursor: dict[str, Any], done_at_start: int, elapsed: float) -> None:
    done, total = cursor["loaded"], max(cursor["rows"], cursor["loaded"])
    rate = (done - done_at_start) / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("nan")
    log.info(
        "graph %s: %d / %d rows loaded (%.1f %%), %d new accounts, %.0f rows/s, ETA %.0f s",
        cursor["snapshot_id"],
        done,
        total,
        100.0 * done / total if total else 100.0,
        cursor["added"],
        rate,
        eta,
    )


def _state(network: str, cursor: dict[str, Any], *, done: bool) -> GraphState:
    base = cursor["base"]  # the graph as it was before this load started
    edges = base["edges"] + cursor["added"]
    if not done:  # coverage advances only with a complete load
        return GraphState(
            network,
            base["as_of_ledger"],
            _time(base["as_of_time"]),
            edges,
            utcnow(),
            cursor["snapshot_id"],
            json.dumps(cursor, sort_keys=True),
        )
    as_of, as_of_time = cursor["max_ledger"], cursor["max_time"]
    if cursor["unresolved_ledger"] is not None and cursor["unresolved_ledger"] <= as_of:
        # a creation without its ledger's close time was not loaded: cover only what precedes it, and
        # let the next refresh start no later than the previous coverage
        as_of, as_of_time = cursor["unresolved_ledger"] - 1, base["as_of_time"]
    return GraphState(network, as_of, _time(as_of_time), edges, utcnow(), cursor["snapshot_id"], None)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _finish(store, network, cursor, hubble) -> dict[str, Any]:
    state = _state(network, cursor, done=True)
    store.set_graph_state(state)
    hubble.drop_table(cursor["table"])
    summary = {
        "snapshot_id": cursor["snapshot_id"],
        "mode": cursor["mode"],
        "rows": cursor["loaded"],
        "new_accounts": cursor["added"],
        "edges": state.edges,
        "as_of_ledger": state.as_of_ledger,
        "as_of_time": state.as_of_time.isoformat() if state.as_of_time else None,
    }
    log.info("Graph %s loaded: %s", cursor["mode"], summary)
    return summary
