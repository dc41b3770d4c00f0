"""Contract tests for the bulk completion and attribute follow-ups of graph mode (issue 15).

Mixed into each backend's contract class next to ``StoreContract``; every backend runs them unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from include.stellar_lineage.records import Status, utcnow
from tests.include.store_contract import ROOT, A, B, C, result

STALE = dt.timedelta(minutes=15)


class BulkContract:
    def test_complete_many_completes_held_records_and_enqueues_creators(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(10, pipeline="API", owner="w1")
        done = store.complete_many(
            "public",
            {B: result(creator=A), C: result(creator=ROOT)},
            owner="w1",
            source="BIGQUERY",
            followup=True,
        )
        assert sorted(done) == sorted([B, C])
        rec = store.get("public", B)
        assert rec.status == Status.COMPLETE.value and rec.pipeline_source == "BIGQUERY"
        assert rec.stellar_creator_account == A and json.loads(rec.child_accounts_json)["count"] == 1
        assert store.get("public", A).status == Status.PENDING.value  # creators climb as with complete()
        assert store.get("public", ROOT).status == Status.PENDING.value
        assert store.followup_depth("public") == 2 and store.followup_depth() == 2
        assert store.stats("public", stuck_threshold=STALE)["complete_by_source"]["BIGQUERY"] == 2

    def test_bulk_enqueue_adds_new_resets_failed_and_leaves_the_rest(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(2, pipeline="API", owner="w1")
        assert store.retry_later("public", B, owner="w1", error="HTTP 503", max_retries=1) == "FAILED"
        assert store.release("public", C, owner="w1")  # PENDING again: a re-request leaves it as it is
        out = store.enqueue("public", [B, C, "GNEW1", "GNEW2", "GNEW1"])
        assert out.reset == [B] and out.unchanged == [C] and sorted(out.added) == ["GNEW1", "GNEW2"]
        assert store.queue_depth("public") == 4
        claimed = store.claim_batch(10, pipeline="API", owner="w2")  # each exactly once, no stray hint
        assert sorted(r.stellar_account for r in claimed) == sorted([B, C, "GNEW1", "GNEW2"])
        assert store.claim_batch(10, pipeline="API", owner="w3") == []

    def test_complete_many_skips_records_not_held(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(1, pipeline="API", owner="w1", network="public", accounts=[B])
        done = store.complete_many("public", {B: result(), C: result()}, owner="w1", source="BIGQUERY", followup=True)
        assert done == [B]
        assert store.get("public", C).status == Status.PENDING.value
        assert store.followup_depth("public") == 1

    def test_complete_pending_many_completes_pending_records_without_a_claim(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(1, pipeline="API", owner="w1", network="public", accounts=[C])  # C is held
        results = {B: result(creator=A), C: result(creator=A), "GNOROW": result(creator=A)}
        done = store.complete_pending_many(
            "public", results, pipeline="GRAPH", owner="g", source="BIGQUERY", followup=True
        )
        assert done == [B]  # the held one and the unknown one are skipped
        rec = store.get("public", B)
        assert rec.status == Status.COMPLETE.value and rec.pipeline_source == "BIGQUERY"
        assert rec.stellar_creator_account == A and rec.claim_pipeline == "GRAPH" and rec.claim_owner is None
        assert store.get("public", C).status == Status.PROCESSING.value and store.get("public", "GNOROW") is None
        assert store.get("public", A).status == Status.PENDING.value  # the creator is enqueued
        assert store.followup_depth("public") == 1
        stats = store.stats("public", stuck_threshold=STALE)
        assert stats["complete_by_source"]["BIGQUERY"] == 1 and stats["by_status"]["PENDING"] == 1
        assert stats["by_status"]["PROCESSING"] == 1
        # a second call finds nothing PENDING: nothing is completed twice
        assert store.complete_pending_many("public", {B: result()}, pipeline="GRAPH", owner="g", source="API") == []
        assert [r.stellar_account for r in store.claim_batch(10, pipeline="API", owner="w2")] == [A]

    def test_complete_pending_many_skips_records_not_yet_due(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w1")
        store.retry_later("public", B, owner="w1", error="x", max_retries=5, backoff=lambda n: dt.timedelta(hours=1))
        assert store.complete_pending_many("public", {B: result()}, pipeline="GRAPH", owner="g", source="API") == []
        assert store.get("public", B).status == Status.PENDING.value

    def test_followups_are_claimed_once_and_finished_with_attributes(self, store):
        store.enqueue("public", [B, C])
        store.claim_batch(10, pipeline="API", owner="w1")
        pending = dataclasses.replace(result(), home_domain=None, xlm_balance=None, attributes={"pending": True})
        store.complete_many("public", {B: pending, C: pending}, owner="w1", source="BIGQUERY", followup=True)
        store.add_followups("public", [B])  # idempotent
        assert store.followup_depth() == 2
        first = store.claim_followups(1, owner="f1", stale_after=STALE)
        second = store.claim_followups(10, owner="f2", stale_after=STALE)
        assert len(first) == 1 and len(second) == 1 and set(first + second) == {("public", B), ("public", C)}
        assert store.claim_followups(10, owner="f3", stale_after=STALE) == []
        net, acct = first[0]
        assert not store.finish_followup(net, acct, owner="f2", result=result())  # not f2's
        assert store.finish_followup(net, acct, owner="f1", result=result(home_domain="fresh.example"))
        rec = store.get(net, acct)
        assert rec.status == Status.COMPLETE.value and rec.pipeline_source == "BIGQUERY"
        assert rec.home_domain == "fresh.example" and rec.xlm_balance == "2483571.7231785"
        assert store.followup_depth() == 1

    def test_stale_followup_claim_is_taken_again_and_released_ones_return(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w1")
        store.complete_many("public", {B: result()}, owner="w1", source="BIGQUERY", followup=True)
        old = utcnow() - dt.timedelta(hours=1)
        assert store.claim_followups(5, owner="dead", stale_after=STALE, now=old) == [("public", B)]
        assert store.claim_followups(5, owner="live", stale_after=STALE) == [("public", B)]
        assert not store.release_followup("public", B, owner="dead", max_attempts=3)
        assert store.release_followup("public", B, owner="live", max_attempts=3)
        assert store.claim_followups(5, owner="again", stale_after=STALE) == [("public", B)]
        assert store.release_followup("public", B, owner="again", max_attempts=2)  # 2nd failure: dropped
        assert store.followup_depth() == 0

    def test_finish_followup_for_a_vanished_account_keeps_the_lineage(self, store):
        store.enqueue("public", [B])
        store.claim_batch(1, pipeline="API", owner="w1")
        store.complete_many("public", {B: result(creator=A)}, owner="w1", source="BIGQUERY", followup=True)
        [(net, acct)] = store.claim_followups(5, owner="f", stale_after=STALE)
        assert store.finish_followup(net, acct, owner="f", result=None)
        rec = store.get("public", B)
        assert rec.status == Status.COMPLETE.value and rec.stellar_creator_account == A
        assert "no longer exists" in rec.last_error
        assert store.followup_depth() == 0

    def test_invalid_and_failed_carry_the_pipeline_that_decided(self, store):
        store.enqueue("public", [A, B, C])
        store.claim_batch(10, pipeline="BIGQUERY", owner="w")
        assert store.mark_invalid("public", B, owner="w", reason="404", source="BIGQUERY")
        failed = store.retry_later(
            "public", C, owner="w", error="x", max_retries=1, source="BIGQUERY_WITH_API_FALLBACK"
        )
        again = store.retry_later("public", A, owner="w", error="x", max_retries=3, source="API")
        assert (failed, again) == (Status.FAILED.value, Status.PENDING.value)
        assert store.get("public", B).pipeline_source == "BIGQUERY"
        assert store.get("public", C).pipeline_source == "BIGQUERY_WITH_API_FALLBACK"
        assert store.get("public", A).pipeline_source is None  # still to be decided
        stats = store.stats("public", stuck_threshold=STALE)
        assert stats["by_status"]["INVALID"] == 1 and stats["by_status"]["FAILED"] == 1
        assert sum(stats["complete_by_source"].values()) == 0
