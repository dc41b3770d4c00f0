"""Descendants crawl: enqueue the accounts an account created, down to a chosen depth, at the lowest
priority (``Priority.DESCENDANT``), so a user can map everything an exchange created without
delaying anybody's requested chain.

Where the children come from: the creator graph's children index when one is loaded for the network
(every creation is there, collected or not), else the ``child_accounts_json`` lists of records that
are already COMPLETE (a descendant not collected yet has no known children: ``not_collected`` counts
them, and a later crawl goes deeper). The crawl is breadth first, each account once, bounded by
``MAX_DEPTH`` levels and ``MAX_ACCOUNTS`` accounts per run; enqueueing is idempotent (known accounts
are left as they are).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from include.stellar_lineage.records import Priority, Status
from include.stellar_lineage.store.base import LineageStore

MAX_DEPTH = 3
MAX_ACCOUNTS = 100_000
BATCH = 5000


def _graph_children(store: LineageStore, network: str, parent: str) -> Iterator[str]:
    after = None
    while True:
        page = store.children_edges(network, parent, limit=1000, after_op_id=after)
        yield from (e.account for e in page)
        if len(page) < 1000:
            return
        after = page[-1].op_id


def _record_children(raw: str | None) -> list[str]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return []
    kids = data.get("children") if isinstance(data, dict) else None
    return [c["account"] for c in kids or [] if isinstance(c, dict) and isinstance(c.get("account"), str)]


def crawl_descendants(
    store: LineageStore, network: str, roots: list[str], depth: int, *, max_accounts: int = MAX_ACCOUNTS
) -> dict[str, Any]:
    """Enqueue the descendants of ``roots`` to ``depth`` levels; returns what was found and added."""
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(f"descendants_depth must be within 0..{MAX_DEPTH}")
    graph = store.graph_state(network) is not None
    out: dict[str, Any] = {
        "depth": depth,
        "source": "graph" if graph else "records",
        "found": 0,
        "added": 0,
        "not_collected": 0,
        "truncated": False,
    }
    seen, frontier = set(roots), list(roots)
    batch: list[str] = []

    def flush() -> None:
        if batch:
            out["added"] += len(store.enqueue(network, batch, priority=Priority.DESCENDANT).added)
            batch.clear()

    for _level in range(depth):
        children: list[str] = []
        if graph:
            for parent in frontier:
                children.extend(_graph_children(store, network, parent))
        else:
            for i in range(0, len(frontier), 500):
                records = store.get_many(network, frontier[i : i + 500])
                for parent in frontier[i : i + 500]:
                    record = records.get(parent)
                    if record is None or record.status != Status.COMPLETE.value:
                        out["not_collected"] += 1
                        continue
                    children.extend(_record_children(record.child_accounts_json))
        frontier = []
        for child in children:
            if child in seen:
                continue
            if out["found"] >= max_accounts:
                out["truncated"] = True
                break
            seen.add(child)
            out["found"] += 1
            frontier.append(child)
            batch.append(child)
            if len(batch) >= BATCH:
                flush()
        if out["truncated"] or not frontier:
            break
    flush()
    return out
