"""Descendants crawl: children from collected records or from the creator graph, bounded depth and
size, lowest priority, each account once."""

from __future__ import annotations

import datetime as dt

import pytest

from include.stellar_lineage.crawl import crawl_descendants
from include.stellar_lineage.records import CreationEdge, GraphState, LineageResult, Priority
from tests.support.stellar_dataset import address

HUB = address("crawl-hub")
KIDS = [address(f"crawl-kid-{i}") for i in range(4)]
GRAND = [address(f"crawl-grand-{i}") for i in range(3)]
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def _complete(store, account, kids):
    store.claim_batch(1, pipeline="API", owner="t", network="public", accounts=[account])
    result = LineageResult(
        creator=None,
        created_at=T0,
        children={
            "count": len(kids),
            "complete": True,
            "source": "horizon",
            "children": [{"account": k} for k in kids],
        },
    )
    assert store.complete("public", account, owner="t", result=result, source="API")


def test_records_crawl_to_depth_at_the_lowest_priority(sqlite_store):
    store = sqlite_store
    store.enqueue("public", [HUB, KIDS[0]])
    _complete(store, HUB, KIDS)
    _complete(store, KIDS[0], GRAND + [HUB])  # a cycle back to the hub is ignored
    one = crawl_descendants(store, "public", [HUB], 1)
    assert one["source"] == "records" and one["found"] == 4 and one["added"] == 3  # KIDS[0] already known
    assert store.get("public", KIDS[1]).priority == Priority.DESCENDANT
    two = crawl_descendants(store, "public", [HUB], 2)
    assert two["found"] == 4 + 3 and two["added"] == 3 and two["not_collected"] == 3  # KIDS[1..3] not collected
    assert all(store.get("public", g).priority == Priority.DESCENDANT for g in GRAND)
    # a requested account outranks every crawled one
    store.enqueue("public", [address("crawl-requested")])
    claimed = store.claim_batch(1, pipeline="API", owner="w", network="public")
    assert claimed[0].stellar_account == address("crawl-requested")


def test_graph_crawl_bounded(sqlite_store):
    store = sqlite_store
    store.enqueue("public", [HUB])
    edges = [CreationEdge(k, HUB, 10 + i, T0, (10 + i) << 32) for i, k in enumerate(KIDS)]
    edges += [CreationEdge(g, KIDS[1], 20 + i, T0, (20 + i) << 32) for i, g in enumerate(GRAND)]
    store.load_edges("public", edges)
    store.set_graph_state(GraphState("public", 100, T0, len(edges), T0, "s", None))
    out = crawl_descendants(store, "public", [HUB], 2)
    assert out["source"] == "graph" and out["found"] == 7 and out["added"] == 7 and out["not_collected"] == 0
    capped = crawl_descendants(store, "public", [HUB], 3, max_accounts=2)
    assert capped["truncated"] is True and capped["found"] == 2
    assert crawl_descendants(store, "public", [HUB], 0)["found"] == 0
    with pytest.raises(ValueError):
        crawl_descendants(store, "public", [HUB], 4)
