"""Descendants to depth N from the edge table (descendants.py), paged by a path cursor, on SQLite."""

from __future__ import annotations

import datetime as dt

import pytest

from include.stellar_lineage.descendants import BadCursor, decode_cursor, descendants, encode_cursor
from include.stellar_lineage.records import CreationEdge, GraphState, utcnow
from tests.support.stellar_dataset import address

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
N = {name: address(f"desc-{name}") for name in "R a1 a2 a3 a4 a5 b1 b2 b3 c1 X Y".split()}
# creator -> children in creation order; X and Y form a creation cycle (each one's latest creator is
# the other: X created Y, X merged, Y re-created X)
TREE = {"R": ["a1", "a2", "a3", "a4", "a5"], "a1": ["b1", "b2"], "b1": ["c1"], "a3": ["b3"]}
FULL = [("a1", 1), ("b1", 2), ("c1", 3), ("b2", 2), ("a2", 1), ("a3", 1), ("b3", 2), ("a4", 1), ("a5", 1)]


@pytest.fixture
def store(sqlite_store):
    edges, op = [], 0
    for creator, kids in TREE.items():
        for kid in kids:
            op += 1
            edges.append(CreationEdge(N[kid], N[creator], 100 + op, T0 + dt.timedelta(seconds=op), (100 + op) << 32))
    edges.append(CreationEdge(N["Y"], N["X"], 500, T0, 500 << 32))
    edges.append(CreationEdge(N["X"], N["Y"], 600, T0, 600 << 32))
    sqlite_store.load_edges("public", edges)
    sqlite_store.set_graph_state(GraphState("public", 1000, T0, len(edges), utcnow(), "s", None))
    return sqlite_store


def names(items):
    inverse = {v: k for k, v in N.items()}
    return [(inverse[i["account"]], i["depth"]) for i in items]


def test_full_listing_is_depth_first_in_creation_order(store):
    out = descendants(store, "public", N["R"], depth=3, limit=1000)
    assert names(out["items"]) == FULL and out["next_cursor"] is None and out["as_of_ledger"] == 1000
    first = out["items"][0]
    assert first["creator"] == N["R"] and first["created_at"] == "2020-01-01T00:00:01Z" and first["ledger"] == 101


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 8])
def test_pages_concatenate_to_the_full_listing(store, limit):
    got, cursor, pages = [], None, 0
    while True:
        out = descendants(store, "public", N["R"], depth=3, limit=limit, cursor=cursor)
        got += out["items"]
        pages += 1
        assert len(out["items"]) <= limit and pages < 20
        cursor = out["next_cursor"]
        if cursor is None:
            break
    assert names(got) == FULL


def test_depth_limits_the_walk(store):
    assert names(descendants(store, "public", N["R"], depth=1)["items"]) == [
        (a, 1) for a in ("a1", "a2", "a3", "a4", "a5")
    ]
    assert [n for n, d in names(descendants(store, "public", N["R"], depth=2)["items"])] == [
        "a1",
        "b1",
        "b2",
        "a2",
        "a3",
        "b3",
        "a4",
        "a5",
    ]


def test_creation_cycle_is_cut(store):
    assert names(descendants(store, "public", N["X"], depth=10)["items"]) == [("Y", 1)]
    assert names(descendants(store, "public", N["Y"], depth=10)["items"]) == [("X", 1)]


def test_bad_input(store, sqlite_store):
    with pytest.raises(BadCursor):
        descendants(store, "public", N["R"], cursor="not-base64!!")
    with pytest.raises(BadCursor):
        descendants(store, "public", N["R"], depth=1, cursor=encode_cursor([(N["a1"], 1), (N["b1"], 2)]))
    with pytest.raises(ValueError):
        descendants(store, "public", N["R"], depth=0)
    assert decode_cursor(encode_cursor([(N["a1"], 7)])) == [(N["a1"], 7)]


def test_no_graph_loaded_means_no_items(sqlite_store):
    out = descendants(sqlite_store, "testnet", N["R"], depth=2)
    assert out["items"] == [] and out["as_of_ledger"] is None and out["next_cursor"] is None
