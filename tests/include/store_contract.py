"""Backend-independent contract tests for ``LineageStore``.

A backend's test module subclasses ``StoreContract`` and provides a ``store`` fixture yielding an
empty, migrated store. Every backend must pass every test here unchanged.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from include.stellar_lineage.records import (
    CreationEdge,
    GraphState,
    LineageResult,
    Priority,
    SpendEntry,
    Status,
    utcnow,
)
from include.stellar_lineage.store.base import STATS_SOURCES

ROOT = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
A = "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"
B = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
C = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"
STUCK = dt.timedelta(minutes=15)


def result(creator: str | None = A, **kw) -> LineageResult:
    base = dict(
        creator=creator,
        created_at=dt.datetime(2019, 5, 1, 12, 0, tzinfo=dt.timezone.utc),
        home_domain="example.com",
        xlm_balance="2483571.7231785",
        attributes={"flags": {"auth_required": False}, "thresholds": {"low_threshold": 0}},
        assets=[{"asset_code": "USDC", "balance": "1.0000000"}],
        children={"count": 1, "children": [{"account": C}], "complete": True, "source": "horizon"},
        tags=["exchange"],
        creator_source="horizon",
    )
    base.update(kw)
    return LineageResult(**base)


def edge(account: str, creator: str, ledger: int, op: int) -> CreationEdge:
    """An edge whose op_id is the TOID of operation ``op`` of the first transaction of ``ledger``."""
    closed = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=5 * ledger)
    return CreationEdge(account, creator, ledger, closed, ledger << 32 | 1 << 12 | op)


class StoreContract:
    # --- enqueue --------------------------------------------------------------------------------
    def test_enqueue_is_idempotent(self, store):
        first = store.enqueue("public", [B, C, B])
        assert sorted(first.added) == sorted([B, C])
        second = store.enqueue("public", [B])
        assert second.added == [] and second.unchanged == [B]
        assert store.queue_depth("public") == 2
        assert store.queue_depth() == 2

    def test_same_account_on_two_networks_is_two_records(self, store):
        store.enqueue("public", [B])
        store.enqueue("testnet", [B])
        assert store.queue_depth("public") == 1 and store.queue_depth("testnet") == 1
        assert store.get("testnet", B).network_name == "testnet"

    def test_complete_account_is_not_requeued(self, store):
        store.enqueue("public", [B])
        [rec] = store.claim_batch(1, pipeline="API", owner="w1")
        assert store.complete("public", B, owner="w1", result=result(), source="API")
        again = store.enqueue("public", [B])
        assert again.unchanged == [B]
        assert store.get("public", B).status == Status.COMPLETE.value

    def test_rerequest_resets_failed_and_invalid(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(2, pipeline="API", owner="w1")
        assert store.retry_later("public", B, owner="w1", error="HTTP 503", max_retries=1) == "FAILED"
        assert store.mark_invalid("public", C, owner="w1", reason="Horizon 404")
        out = store.enqueue("public", [B, C])
        assert sorted(out.reset) == sorted([B, C])
        rec = store.get("public", B)
        assert rec.status == "PENDING" and rec.retry_count == 0 and rec.last_error is None

    def test_discovered_enqueue_does_not_reset_failed(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w1")
        store.retry_later("public", B, owner="w1", error="boom", max_retries=1)
        out = store.enqueue("public", [B], priority=Priority.CLIMBED)
        assert out.unchanged == [B] and store.get("public", B).status == "FAILED"

    # --- claim ----------------------------------------------------------------------------------
    def test_claim_sets_processing_fields_and_never_twice(self, store):
        store.enqueue("public", [B, C])
        now = utcnow()
        got = store.claim_batch(5, pipeline="API", owner="w1", now=now)
        assert sorted(r.stellar_account for r in got) == sorted([B, C])
        for rec in got:
            assert rec.status == "PROCESSING" and rec.claim_owner == "w1" and rec.claim_pipeline == "API"
            assert abs((rec.processing_started_at - now).total_seconds()) < 1
            assert abs((rec.last_pipeline_attempt - now).total_seconds()) < 1
        assert store.claim_batch(5, pipeline="API", owner="w2") == []

    def test_claim_order_priority_then_age(self, store):
        store.enqueue("public", [B], priority=Priority.CLIMBED)
        store.enqueue("public", [C], priority=Priority.REQUESTED)
        store.enqueue("public", [A], priority=Priority.CHAIN)
        got = store.claim_batch(3, pipeline="API", owner="w1")
        assert [r.stellar_account for r in got] == [A, C, B]

    def test_claim_named_accounts_only(self, store):
        store.enqueue("public", [B, C])
        got = store.claim_batch(5, pipeline="API", owner="w1", network="public", accounts=[C, A])
        assert [r.stellar_account for r in got] == [C]
        assert store.get("public", B).status == "PENDING"

    def test_claim_filters_network(self, store):
        store.enqueue("public", [B])
        store.enqueue("testnet", [C])
        got = store.claim_batch(5, pipeline="API", owner="w1", network="testnet")
        assert [(r.network_name, r.stellar_account) for r in got] == [("testnet", C)]

    # --- transitions ----------------------------------------------------------------------------
    def test_complete_writes_result_and_enqueues_creator(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="BIGQUERY", owner="w1")
        assert store.complete("public", B, owner="w1", result=result(), source="BIGQUERY")
        rec = store.get("public", B)
        assert rec.status == "COMPLETE" and rec.pipeline_source == "BIGQUERY"
        assert rec.stellar_creator_account == A
        assert rec.stellar_account_created_at == dt.datetime(2019, 5, 1, 12, tzinfo=dt.timezone.utc)
        assert rec.xlm_balance == "2483571.7231785"
        assert rec.home_domain == "example.com"
        assert json.loads(rec.stellar_account_attributes_json)["thresholds"] == {"low_threshold": 0}
        assert json.loads(rec.stellar_account_assets_json)[0]["asset_code"] == "USDC"
        assert json.loads(rec.child_accounts_json)["children"] == [{"account": C}]
        assert rec.tags == "exchange"
        assert rec.processing_started_at is None and rec.claim_owner is None
        creator = store.get("public", A)
        assert creator.status == "PENDING" and creator.priority == Priority.CHAIN

    def test_creator_of_climbed_record_stays_climbed(self, store):
        store.enqueue("public", [B], priority=Priority.CLIMBED)
        store.claim_batch(1, pipeline="API", owner="w1")
        store.complete("public", B, owner="w1", result=result(), source="API")
        assert store.get("public", A).priority == Priority.CLIMBED

    def test_root_completes_without_creator(self, store):
        store.enqueue("public", [ROOT])
        store.claim_batch(1, pipeline="API", owner="w1")
        assert store.complete("public", ROOT, owner="w1", result=result(creator=None), source="API")
        assert store.queue_depth("public") == 0

    def test_existing_creator_is_not_touched(self, store):
        store.enqueue("public", [A, B])
        store.claim_batch(1, pipeline="API", owner="w1", network="public", accounts=[A])
        store.complete("public", A, owner="w1", result=result(creator=ROOT), source="API")
        store.claim_batch(1, pipeline="API", owner="w1", network="public", accounts=[B])
        store.complete("public", B, owner="w1", result=result(creator=A), source="API")
        assert store.get("public", A).status == "COMPLETE"

    def test_transitions_require_the_claim_owner(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w1")
        assert not store.complete("public", B, owner="intruder", result=result(), source="API")
        assert store.retry_later("public", B, owner="intruder", error="x", max_retries=3) is None
        assert not store.mark_invalid("public", B, owner="intruder", reason="x")
        assert not store.release("public", B, owner="intruder")
        assert store.get("public", B).status == "PROCESSING"

    def test_late_worker_cannot_overwrite_newer_claim(self, store):
        store.enqueue("public", [B])
        t0 = utcnow() - dt.timedelta(hours=1)
        store.claim_batch(1, pipeline="API", owner="old", now=t0)
        store.recover_stuck(threshold=STUCK, max_retries=3)
        store.claim_batch(1, pipeline="API", owner="new")
        assert not store.complete("public", B, owner="old", result=result(), source="API")
        assert store.complete("public", B, owner="new", result=result(), source="API")

    def test_retry_later_counts_and_fails_at_cap(self, store):
        store.enqueue("public", [B])
        for attempt in (1, 2):
            store.claim_batch(1, pipeline="API", owner="w")
            assert store.retry_later("public", B, owner="w", error=f"HTTP 429 #{attempt}", max_retries=3) == "PENDING"
            rec = store.get("public", B)
            assert rec.retry_count == attempt and rec.last_error == f"HTTP 429 #{attempt}"
        store.claim_batch(1, pipeline="API", owner="w")
        assert store.retry_later("public", B, owner="w", error="HTTP 429 #3", max_retries=3) == "FAILED"
        rec = store.get("public", B)
        assert rec.status == "FAILED" and rec.retry_count == 3 and rec.last_error == "HTTP 429 #3"

    def test_release_returns_to_pending_without_retry(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w")
        assert store.release("public", B, owner="w")
        rec = store.get("public", B)
        assert rec.status == "PENDING" and rec.retry_count == 0 and rec.claim_owner is None

    def test_retry_backoff_sets_next_attempt_and_claims_skip_rows_not_due(self, store):
        store.enqueue("public", [B, C])
        now = utcnow().replace(microsecond=0)
        assert len(store.claim_batch(10, pipeline="API", owner="w1", now=now)) == 2
        backoff = lambda n: dt.timedelta(minutes=2 * 2 ** (n - 1))  # noqa: E731
        assert store.retry_later("public", B, owner="w1", error="bad body", max_retries=3, now=now, backoff=backoff)
        assert store.release("public", C, owner="w1", now=now)
        rec = store.get("public", B)
        assert rec.status == "PENDING" and rec.retry_count == 1 and rec.next_attempt_at == now + dt.timedelta(minutes=2)
        soon = now + dt.timedelta(minutes=1)
        assert [r.stellar_account for r in store.claim_batch(10, pipeline="API", owner="w2", now=soon)] == [C]
        assert store.claim_batch(1, pipeline="API", owner="w2", network="public", accounts=[B], now=soon) == []
        assert store.get("public", B).status == "PENDING"
        due = now + dt.timedelta(minutes=2)
        assert [r.stellar_account for r in store.claim_batch(10, pipeline="API", owner="w3", now=due)] == [B]
        # the second failure doubles the delay; the cap makes it FAILED without a delay
        assert store.retry_later("public", B, owner="w3", error="bad", max_retries=3, now=due, backoff=backoff)
        assert store.get("public", B).next_attempt_at == due + dt.timedelta(minutes=4)
        later = due + dt.timedelta(minutes=4)
        assert store.claim_batch(1, pipeline="API", owner="w4", network="public", accounts=[B], now=later)
        assert store.retry_later("public", B, owner="w4", error="bad", max_retries=3, now=later, backoff=backoff) == (
            "FAILED"
        )

    def test_breaker_released_claims_charge_nothing_and_are_claimable_at_once(self, store):
        store.enqueue("public", [B])
        now = utcnow()
        store.claim_batch(1, pipeline="API", owner="w1", now=now)
        assert store.release("public", B, owner="w1", now=now)
        rec = store.get("public", B)
        assert rec.retry_count == 0 and rec.last_error is None and rec.next_attempt_at is None
        assert [r.stellar_account for r in store.claim_batch(1, pipeline="API", owner="w2", now=now)] == [B]

    def test_rerequest_clears_backoff(self, store):
        store.enqueue("public", [B])
        now = utcnow()
        store.claim_batch(1, pipeline="API", owner="w", now=now)
        store.retry_later("public", B, owner="w", error="x", max_retries=1)
        store.enqueue("public", [B])  # FAILED, re-requested
        rec = store.get("public", B)
        assert rec.status == "PENDING" and rec.next_attempt_at is None and rec.retry_count == 0

    def _fail(self, store, account, now):
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[account], now=now)
        assert store.retry_later("public", account, owner="w", error="bad body", max_retries=1, now=now) == "FAILED"

    def test_failed_requeue_on_a_timer_is_bounded_and_retry_all_is_not(self, store):
        store.enqueue("public", [B, C, A])
        t0 = utcnow().replace(microsecond=0)
        self._fail(store, B, t0)
        self._fail(store, C, t0 + dt.timedelta(hours=2))
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[A], now=t0)
        store.mark_invalid("public", A, owner="w", reason="404", now=t0)
        day = dt.timedelta(hours=24)
        # the timer: only records FAILED for longer than the interval, INVALID never
        now = t0 + day + dt.timedelta(hours=1)
        assert store.requeue_failed(failed_before=now - day, max_rounds=1, now=now) == [("public", B)]
        rec = store.get("public", B)
        assert (rec.status, rec.retry_count, rec.failed_rounds, rec.next_attempt_at) == ("PENDING", 0, 1, None)
        assert rec.last_error == "bad body"  # kept: why it failed before
        assert store.get("public", A).status == "INVALID"
        assert store.stats("public", stuck_threshold=STUCK)["by_status"]["FAILED"] == 1
        # it fails again: the bound (1 automatic round) keeps it FAILED
        self._fail(store, B, now)
        later = now + 2 * day
        assert store.requeue_failed(failed_before=later - day, max_rounds=1, now=later) == [("public", C)]
        assert store.get("public", B).status == "FAILED"
        # "retry all FAILED": every FAILED record, whatever its rounds, not counted
        assert store.requeue_failed(failed_before=None, now=later) == [("public", B)]
        assert store.get("public", B).failed_rounds == 1 and store.get("public", B).status == "PENDING"
        assert store.requeue_failed(failed_before=None, now=later) == []
        assert store.get("public", A).status == "INVALID"

    def test_renewed_claims_are_not_recovered_as_stuck(self, store):
        store.enqueue("public", [B, C])
        t0 = utcnow()
        store.claim_batch(2, pipeline="BIGQUERY", owner="big", now=t0)
        renewed_at = t0 + dt.timedelta(minutes=10)
        assert store.renew_claims("public", [B], owner="big", now=renewed_at) == 1
        assert store.renew_claims("public", [C], owner="someone-else", now=renewed_at) == 0
        out = store.recover_stuck(threshold=STUCK, max_retries=3, now=t0 + dt.timedelta(minutes=16))
        assert out.requeued == [("public", C)]
        rec = store.get("public", B)
        assert rec.status == "PROCESSING" and rec.claim_owner == "big" and rec.retry_count == 0
        assert store.complete("public", B, owner="big", result=result(), source="BIGQUERY")
        assert store.stats("public", stuck_threshold=STUCK)["by_status"]["PROCESSING"] == 0

    def test_failures_since_counts_records_that_became_failed(self, store):
        store.enqueue("public", [B, C])
        now = utcnow()
        assert store.failures_since("public", now - dt.timedelta(hours=1)) == 0
        self._fail(store, B, now)
        self._fail(store, C, now)
        assert store.failures_since("public", now - dt.timedelta(hours=1)) == 2
        assert store.failures_since("testnet", now - dt.timedelta(hours=1)) == 0

    def test_mark_invalid_keeps_reason(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w")
        assert store.mark_invalid("public", B, owner="w", reason="Horizon 404 not_found")
        rec = store.get("public", B)
        assert rec.status == "INVALID" and rec.last_error == "Horizon 404 not_found"

    # --- stuck recovery -------------------------------------------------------------------------
    def test_recover_stuck_requeues_then_fails_and_ignores_pending(self, store):
        store.enqueue("public", [B, C, A])
        old = utcnow() - dt.timedelta(minutes=30)
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[B], now=old)
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[C])  # fresh
        out = store.recover_stuck(threshold=STUCK, max_retries=3)
        assert out.requeued == [("public", B)] and out.failed == []
        rec = store.get("public", B)
        assert rec.status == "PENDING" and rec.retry_count == 1 and "stuck" in rec.last_error
        assert store.get("public", C).status == "PROCESSING"
        assert store.get("public", A).status == "PENDING" and store.get("public", A).retry_count == 0
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[B], now=old)
        out = store.recover_stuck(threshold=STUCK, max_retries=2)
        assert out.failed == [("public", B)] and store.get("public", B).status == "FAILED"

    # --- reads ----------------------------------------------------------------------------------
    def test_stats_counts(self, store):
        store.enqueue("public", [ROOT, A, B, C])
        store.enqueue("testnet", [B])
        old = utcnow() - dt.timedelta(minutes=30)
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[ROOT])
        store.complete("public", ROOT, owner="w", result=result(creator=None), source="API")
        store.claim_batch(1, pipeline="BIGQUERY", owner="w", network="public", accounts=[A])
        store.complete("public", A, owner="w", result=result(creator=ROOT), source="BIGQUERY_WITH_API_FALLBACK")
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[B], now=old)
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[C])
        store.mark_invalid("public", C, owner="w", reason="404")
        stats = store.stats("public", stuck_threshold=STUCK)
        assert stats["network"] == "public"
        assert stats["by_status"] == {"PENDING": 0, "PROCESSING": 1, "COMPLETE": 2, "FAILED": 0, "INVALID": 1}
        assert stats["complete_by_source"] == {"API": 1, "BIGQUERY": 0, "BIGQUERY_WITH_API_FALLBACK": 1}
        assert stats["last_24h_by_source"] == {"API": 1, "BIGQUERY": 0, "BIGQUERY_WITH_API_FALLBACK": 1}
        assert stats["stuck"] == 1
        hourly = stats["hourly_completions"]
        assert len(hourly) == 24 and set(hourly[-1]) == {"hour", *STATS_SOURCES}
        assert sum(h["API"] for h in hourly) == 1
        assert store.stats("testnet", stuck_threshold=STUCK)["by_status"]["PENDING"] == 1

    def test_completions_older_than_24h_leave_last_24h(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w")
        store.complete("public", B, owner="w", result=result(), source="API", now=utcnow() - dt.timedelta(hours=25))
        stats = store.stats("public", stuck_threshold=STUCK)
        assert stats["complete_by_source"]["API"] == 1
        assert stats["last_24h_by_source"]["API"] == 0

    def test_completions_since(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(2, pipeline="API", owner="w")
        now = utcnow()
        store.complete("public", B, owner="w", result=result(), source="API", now=now - dt.timedelta(hours=3))
        store.complete("public", C, owner="w", result=result(), source="API", now=now)
        assert store.completions_since("public", now - dt.timedelta(minutes=5), now=now) == 1
        assert store.completions_since("public", now - dt.timedelta(hours=5), now=now) == 2
        assert store.completions_since("testnet", now - dt.timedelta(hours=5), now=now) == 0

    def test_pending_accounts_processing_first(self, store):
        store.enqueue("public", [A, B, C])
        store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[C])
        got = store.pending_accounts("public", limit=2)
        assert [r.stellar_account for r in got] == [C, A]
        assert len(store.pending_accounts(None, limit=100)) == 3

    def test_get_many_and_unknown(self, store):
        store.enqueue("public", [A, B])
        got = store.get_many("public", [A, B, C])
        assert set(got) == {A, B}
        assert store.get("public", C) is None

    def test_lineage_chain_to_root_and_cycle_safe(self, store):
        store.enqueue("public", [C, B, A, ROOT])
        for account, creator in ((C, B), (B, A), (A, ROOT), (ROOT, None)):
            store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[account])
            store.complete("public", account, owner="w", result=result(creator=creator), source="API")
        out = store.lineage("public", C)
        assert [r.stellar_account for r in out["chain"]] == [B, A, ROOT] and out["reaches_root"]
        assert store.lineage("public", "GUNKNOWN") is None

    def test_iter_records_pages_every_record_once_with_filters(self, store):
        from tests.support.stellar_dataset import address

        public = [address(f"iter-{i}") for i in range(23)]
        store.enqueue("public", public)
        store.enqueue("testnet", [A, B])
        before = utcnow() - dt.timedelta(seconds=1)
        for account in public[:5]:
            store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[account])
            store.complete("public", account, owner="w", result=result(creator=A), source="BIGQUERY")
        everything = list(store.iter_records(page_size=4))
        assert sorted((r.network_name, r.stellar_account) for r in everything) == sorted(
            [("public", a) for a in public + [A]] + [("testnet", A), ("testnet", B)]
        )  # A: the completed records' creator, enqueued by complete
        assert {r.stellar_account for r in store.iter_records(network="testnet", page_size=1)} == {A, B}
        done = list(store.iter_records(status="COMPLETE", source="BIGQUERY", page_size=2))
        assert sorted(r.stellar_account for r in done) == sorted(public[:5])
        assert done[0] == store.get("public", done[0].stellar_account)  # full records, every field
        assert list(store.iter_records(source="API")) == []
        recent = {r.stellar_account for r in store.iter_records(updated_since=before, network="public")}
        assert set(public[:5]) <= recent
        assert list(store.iter_records(updated_since=utcnow() + dt.timedelta(hours=1))) == []

    # --- spend ledger ---------------------------------------------------------------------------
    def test_spend_summary(self, store):
        now = utcnow()
        yesterday = now - dt.timedelta(days=1)
        store.record_spend(SpendEntry("dry_run", "public", 10**9, 0.5, 100, "refused_cost", at=now))
        store.record_spend(SpendEntry("dry_run", "public", 10**8, 0.05, 100, "approved", at=now))
        store.record_spend(SpendEntry("job", "public", 10**8, 0.05, 100, "ran", at=now))
        store.record_spend(SpendEntry("job", "public", 2 * 10**8, 0.1, 50, "ran", at=yesterday))
        out = store.spend_summary(now=now)
        assert out["today_usd"] == pytest.approx(0.05)
        assert out["total_usd"] == pytest.approx(0.15)
        assert out["today_bytes"] == 10**8 and out["total_bytes"] == 3 * 10**8
        assert out["jobs"] == 2 and out["dry_runs"] == 2 and out["refused"] == 1
        assert out["saved_usd"] == pytest.approx(0.5)
        assert out["accounts_billed"] == 150

    # --- creator graph (edge table) ------------------------------------------------------------
    def test_edges_round_trip_and_count_new_accounts(self, store):
        edges = [edge(A, ROOT, 10, 1), edge(B, A, 20, 1), edge(C, A, 20, 2)]
        assert store.load_edges("public", edges) == 3
        got = store.edges_of("public", [A, B, C, "GUNKNOWN"])
        assert got == {e.account: e for e in edges}
        assert got[B].created_at.tzinfo is not None
        assert store.edges_of("testnet", [A]) == {}
        assert store.load_edges("public", edges) == 0  # a re-load adds no account

    def test_latest_creation_wins_in_any_order_and_moves_children(self, store):
        first, recreated = edge(C, A, 20, 1), edge(C, B, 30, 5)
        assert store.load_edges("public", [recreated, first], chunk_size=1) == 1
        assert store.edges_of("public", [C])[C] == recreated
        store.load_edges("public", [first])  # replaying the older creation changes nothing
        assert store.edges_of("public", [C])[C] == recreated
        assert store.children_edges("public", A) == [] and store.children_count("public", A) == 0
        assert store.children_edges("public", B) == [recreated] and store.children_count("public", B) == 1
        newest = edge(C, A, 40, 3)  # re-created again, by the first creator
        assert store.load_edges("public", [newest]) == 0
        assert store.children_edges("public", A) == [newest] and store.children_count("public", B) == 0

    def test_fresh_first_load_equals_a_normal_load(self, store):
        assert store.edge_table_empty()
        # one edge per account across chunks (a snapshot's shape); a duplicate inside one chunk is allowed
        loads = [edge(A, ROOT, 10, 1), edge(B, A, 20, 1), edge(C, ROOT, 22, 1), edge(C, B, 25, 1)]
        assert store.load_edges("public", loads, chunk_size=2, fresh=True) == 3
        assert not store.edge_table_empty()
        assert store.edges_of("public", [C])[C].creator == B
        assert store.children_edges("public", B) == [loads[3]] and store.children_count("public", ROOT) == 1
        assert store.load_edges("public", loads) == 0  # an ordinary load after it sees every edge
        assert store.load_edges("public", [edge(C, A, 30, 1)]) == 0  # and still moves a re-created child
        assert store.children_count("public", B) == 0 and store.children_count("public", A) == 2

    def test_latest_wins_inside_one_chunk_and_across_chunks(self, store):
        loads = [edge(C, A, 20, 1), edge(C, B, 25, 1), edge(B, A, 21, 1), edge(C, ROOT, 22, 1)]
        assert store.load_edges("public", loads, chunk_size=3) == 2
        assert store.edges_of("public", [C])[C].creator == B

    def test_children_paged_by_operation_order(self, store):
        kids = [edge(f"GKID{i:02d}", A, 100 + i // 3, i % 3 + 1) for i in range(7)]
        store.load_edges("public", list(reversed(kids)), chunk_size=2)
        store.load_edges("testnet", [edge("GOTHER", A, 5, 1)])
        assert store.children_count("public", A) == 7
        page = store.children_edges("public", A, limit=3)
        assert page == kids[:3]
        rest = store.children_edges("public", A, limit=10, after_op_id=page[-1].op_id)
        assert rest == kids[3:]
        assert store.children_edges("public", A, limit=0) == []
        assert store.children_edges("public", B) == [] and store.children_count("public", B) == 0

    def test_creator_chain_to_root_missing_link_and_cycle(self, store):
        store.load_edges("public", [edge(C, B, 30, 1), edge(B, A, 20, 1), edge(A, ROOT, 10, 1)])
        assert [e.account for e in store.creator_chain("public", C)] == [C, B, A]
        assert store.creator_chain("public", ROOT) == []
        assert [e.creator for e in store.creator_chain("public", C, max_depth=2)] == [B, A]
        # A creates B, A merges into B, B re-creates A: latest-creation edges form a cycle
        store.load_edges("public", [edge(A, B, 40, 1)])
        assert [e.account for e in store.creator_chain("public", C)] == [C, B, A]
        assert [e.account for e in store.creator_chain("public", A)] == [A, B]

    def test_graph_state_round_trip(self, store):
        assert store.graph_state("public") is None
        when = dt.datetime(2026, 11, 30, 10, 0, 1, tzinfo=dt.timezone.utc)
        state = GraphState("public", 60_000_000, when, 3, when, "snap-1", "cursor-7")
        store.set_graph_state(state)
        assert store.graph_state("public") == state
        done = GraphState("public", 60_000_100, None, 5, when, "refresh-2", None)
        store.set_graph_state(done)
        assert store.graph_state("public") == done and store.graph_state("testnet") is None

    # --- schema ---------------------------------------------------------------------------------
    def test_schema_check_passes_and_migrate_is_idempotent(self, store):
        store.check_schema()
        assert store.migrate() == []
