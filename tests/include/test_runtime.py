"""Slot arithmetic for api_pipeline_interval_seconds > 120 and the claim owner token."""

from __future__ import annotations

import pytest

from include.stellar_lineage.runtime import claim_owner, run_is_due

SLOT = 120


@pytest.mark.parametrize(("interval", "due_slots"), [(120, 6), (60, 6), (240, 3), (360, 2), (300, 2)])
def test_interval_runs_every_kth_slot(interval, due_slots):
    due = [run_is_due(slot * SLOT + 1, interval, manual=False) for slot in range(6)]
    assert sum(due) == due_slots
    assert due[0] is True  # slot 0 is always a multiple


def test_manual_runs_are_always_due():
    assert run_is_due(SLOT + 1, 3600, manual=True)
    assert not run_is_due(SLOT + 1, 3600, manual=False)


class _TI:
    dag_id = "stellar_lineage_api_pipeline"


def test_claim_owner_is_per_run_and_pipeline():
    a = claim_owner({"ti": _TI(), "run_id": "scheduled__1"}, "API")
    assert a == "API:stellar_lineage_api_pipeline:scheduled__1"
    assert a != claim_owner({"ti": _TI(), "run_id": "scheduled__2"}, "API")
