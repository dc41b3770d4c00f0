"""Slot arithmetic for api_pipeline_interval_seconds > 120 and the claim owner token."""

from __future__ import annotations

import pytest

from include.stellar_lineage.runtime import claim_owner, on_demand, run_is_due

SLOT = 120


@pytest.mark.parametrize(("interval", "due_slots"), [(120, 6), (240, 3), (360, 2), (300, 2)])
def test_interval_runs_every_kth_slot(interval, due_slots):
    due = [run_is_due(slot * SLOT + 1, interval, manual=False) for slot in range(6)]
    assert sum(due) == due_slots
    assert due[0] is True  # slot 0 is always a multiple


@pytest.mark.parametrize(("variable", "due_slots"), [("120", 12), ("360", 4), ("1200", 2)])
def test_the_interval_variable_decides_which_slots_run(monkeypatch, variable, due_slots):
    """Through the one config loader, as check_schedule reads it: 24 minutes of 2-minute slots."""
    from include.stellar_lineage.config import load_settings

    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_API_PIPELINE_INTERVAL_SECONDS", variable)
    interval = load_settings().api_pipeline_interval_seconds
    assert sum(run_is_due(slot * SLOT + 1, interval, manual=False) for slot in range(12)) == due_slots


def test_manual_runs_are_always_due():
    assert run_is_due(SLOT + 1, 3600, manual=True)
    assert not run_is_due(SLOT + 1, 3600, manual=False)


@pytest.mark.parametrize(
    ("run_type", "runs_off_slot"), [("scheduled", False), ("manual", True), ("asset_triggered", True)]
)
def test_asset_triggered_runs_answer_a_request_and_skip_no_slot(run_type, runs_off_slot):
    # An enqueue's asset event starts a run between cron slots; with a 1-hour interval a scheduled
    # slot off the hour still skips, while the asset-triggered run must not wait for the hour.
    assert run_is_due(SLOT + 1, 3600, manual=on_demand(run_type)) is runs_off_slot
    assert run_is_due(0, 3600, manual=on_demand(run_type)) is True


class _TI:
    dag_id = "stellar_lineage_api_pipeline"


def test_claim_owner_is_per_run_and_pipeline():
    a = claim_owner({"ti": _TI(), "run_id": "scheduled__1"}, "API")
    assert a == "API:stellar_lineage_api_pipeline:scheduled__1"
    assert a != claim_owner({"ti": _TI(), "run_id": "scheduled__2"}, "API")


def test_seconds_left_in_run_counts_from_the_slot():
    from include.stellar_lineage.runtime import RUN_SPAN_SECONDS, seconds_left_in_run

    assert RUN_SPAN_SECONDS == 225  # into the next 2-minute slot, never into the one after
    assert seconds_left_in_run(1000.0, 225, now_epoch=1000.0) == 225
    assert seconds_left_in_run(1000.0, 225, now_epoch=1145.0) == 80  # a task that started late
    assert seconds_left_in_run(1000.0, 225, now_epoch=1300.0) == 0
