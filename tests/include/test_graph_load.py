"""Pure parts of the creator-graph load: muxed funders, rows without a ledger time, coverage and the
resume cursor (the emulator test in tests/integration/test_graph_snapshot.py runs the whole path)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from include.stellar_lineage.hubble.graph import GraphNotLoaded, plan
from include.stellar_lineage.hubble.graph_load import _state, creator_address, edges_from_batch
from include.stellar_lineage.records import GraphState

G = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
T0 = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)


def test_muxed_funder_resolves_to_its_g_account():
    from stellar_sdk import MuxedAccount

    muxed = MuxedAccount(G, 1234).account_muxed
    assert muxed.startswith("M") and creator_address(muxed) == G
    assert creator_address(G) == G


def batch(rows):
    names = ("account", "creator", "ledger", "created_at", "op_id")
    return pa.RecordBatch.from_pydict({n: [r[i] for r in rows] for i, n in enumerate(names)})


def test_rows_without_ledger_time_are_held_back_and_noted():
    from stellar_sdk import MuxedAccount

    unresolved: list[int] = []
    edges = edges_from_batch(
        batch(
            [
                ("GA1", MuxedAccount(G, 7).account_muxed, 10, T0, 10 << 32 | 4097),
                ("GA2", G, 12, None, 12 << 32 | 4097),
            ]
        ),
        unresolved,
    )
    assert [(e.account, e.creator, e.ledger) for e in edges] == [("GA1", G, 10)]
    assert edges[0].created_at == T0 and unresolved == [12]


def test_row_without_creator_is_a_clear_error():
    with pytest.raises(ValueError, match="without account/creator"):
        edges_from_batch(batch([("GA1", None, 10, T0, 1)]), [])


def cursor(**kw):
    base = {
        "snapshot_id": "refresh_x",
        "added": 5,
        "base": {"edges": 100, "as_of_ledger": 50, "as_of_time": T0.isoformat()},
        "max_ledger": 80,
        "max_time": (T0 + dt.timedelta(hours=1)).isoformat(),
        "unresolved_ledger": None,
    }
    base.update(kw)
    return base


def test_coverage_advances_only_when_complete_and_stops_below_an_unresolved_ledger():
    loading = _state("public", cursor(), done=False)
    assert (loading.as_of_ledger, loading.as_of_time, loading.edges) == (50, T0, 105)
    assert json.loads(loading.resume_cursor)["snapshot_id"] == "refresh_x"
    done = _state("public", cursor(), done=True)
    assert (done.as_of_ledger, done.as_of_time, done.resume_cursor) == (80, T0 + dt.timedelta(hours=1), None)
    held = _state("public", cursor(unresolved_ledger=70), done=True)
    assert (held.as_of_ledger, held.as_of_time) == (69, T0)  # the next refresh starts before ledger 70


def test_plan_needs_a_snapshot_before_a_refresh_and_resumes_its_own_mode(sqlite_store):
    with pytest.raises(GraphNotLoaded, match="mode=snapshot first"):
        plan(sqlite_store, "public", "refresh")
    with pytest.raises(ValueError, match="graph mode"):
        plan(sqlite_store, "public", "everything")
    assert plan(sqlite_store, "public", "snapshot").resume is None
    sqlite_store.set_graph_state(GraphState("public", 50, T0, 100, T0, "snap", json.dumps({"mode": "snapshot"})))
    assert plan(sqlite_store, "public", "snapshot").resume == {"mode": "snapshot"}
    refresh = plan(sqlite_store, "public", "refresh")  # another mode's cursor: a fresh refresh from as_of
    assert refresh.resume is None and refresh.since == T0
