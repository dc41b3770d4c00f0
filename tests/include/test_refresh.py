"""The refresh policy (``refresh.py``): which COMPLETE records the API claim step re-collects, when,
and how the Variable is validated. Store-level behaviour on both backends is in the contract suite
(``store_contract_refresh.py``); the whole DAG in tests/integration/test_refresh_dag.py."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from include.stellar_lineage.config import ConfigError, defaults, parse_settings
from include.stellar_lineage.records import Priority, Status, utcnow
from include.stellar_lineage.refresh import MAX_PER_RUN, claim_refresh, requeue_stale
from tests.include.store_contract import ROOT, A, B, C, result

DAY = dt.timedelta(days=1)


def settings(days: int):
    return dataclasses.replace(defaults(), refresh_after_days=days)


def completed(store, account: str, at: dt.datetime, creator: str | None = ROOT) -> None:
    store.enqueue("public", [account])
    store.claim_batch(1, pipeline="API", owner="w0", network="public", accounts=[account], now=at)
    assert store.complete("public", account, owner="w0", result=result(creator=creator), source="API", now=at)


@pytest.fixture
def aged(sqlite_store):
    """ROOT collected 30 days ago, B 8 days ago, C 6 days ago."""
    now = utcnow()
    completed(sqlite_store, ROOT, now - 30 * DAY, creator=None)
    completed(sqlite_store, B, now - 8 * DAY)
    completed(sqlite_store, C, now - 6 * DAY)
    return sqlite_store, now


def test_seven_days_requeues_what_is_older_and_claims_it_in_the_same_step(aged):
    store, now = aged
    claimed = claim_refresh(store, settings(7), 10, owner="run-1", networks=["public"], now=now)
    assert sorted(r.stellar_account for r in claimed) == sorted([B, ROOT])  # both stale: 30 and 8 days
    assert all(r.status == Status.PROCESSING.value and r.priority == Priority.REFRESH for r in claimed)
    assert store.get("public", C).status == Status.COMPLETE.value  # 6 days: not stale
    assert store.get("public", B).xlm_balance == "2483571.7231785"  # old data kept while re-collected


def test_zero_days_is_off(aged):
    store, now = aged
    assert requeue_stale(store, settings(0), 10, ["public"], now=now) == []
    assert claim_refresh(store, settings(0), 10, owner="run-1", networks=["public"], now=now) == []
    assert store.queue_depth() == 0


def test_bounded_by_the_room_the_run_has_left(aged):
    store, now = aged
    assert requeue_stale(store, settings(7), 1, ["public"], now=now) == [("public", ROOT)]  # oldest first
    assert requeue_stale(store, settings(7), 0, ["public"], now=now) == []
    assert MAX_PER_RUN >= 1


def test_waiting_attribute_followups_go_first(aged):
    store, now = aged
    store.add_followups("public", [C], now=now)
    assert requeue_stale(store, settings(7), 10, ["public"], now=now) == []
    assert store.get("public", B).status == Status.COMPLETE.value


def test_only_the_given_networks(aged):
    store, now = aged
    assert requeue_stale(store, settings(7), 10, ["testnet"], now=now) == []


def test_work_enqueued_meanwhile_is_claimed_before_the_refresh(aged):
    store, now = aged
    store.enqueue("public", [A], priority=Priority.DESCENDANT)  # even the lowest other kind of work
    claimed = claim_refresh(store, settings(7), 1, owner="run-1", networks=["public"], now=now)
    assert [r.stellar_account for r in claimed] == [A]
    assert store.get("public", ROOT).status == Status.PENDING.value  # re-queued (oldest), claimed later


@pytest.mark.parametrize("raw", ["-1", "seven", "1.5", ""])
def test_a_bad_value_is_refused_naming_the_variable(raw):
    with pytest.raises(ConfigError) as err:
        parse_settings({"refresh_after_days": raw})
    message = str(err.value)
    assert "stellar_lineage_refresh_after_days" in message
    assert "whole number of days >= 0 (0 turns the refresh off)" in message


def test_absent_means_off_and_a_number_is_days():
    assert defaults().refresh_after_days == 0
    assert parse_settings({"refresh_after_days": " 30 "}).refresh_after_days == 30


def test_the_lineage_page_says_the_data_shown_is_being_refreshed(aged):
    from include.stellar_lineage.explorer import account_details

    store, now = aged
    requeue_stale(store, settings(7), 10, ["public"], now=now)
    details = account_details(store.get("public", B))
    assert (
        "Being refreshed" in details["status_meaning"] and "stays until the new collection" in details["status_meaning"]
    )
    assert details["attributes"] and details["tags"] == ["exchange"]  # the old data is still what is shown
    assert "Being refreshed" not in account_details(store.get("public", C))["status_meaning"]
