"""Contract tests for the refresh policy's re-queue (issue 16: ``LineageStore.requeue_stale``).

Mixed into each backend's contract class next to ``StoreContract``; every backend runs them unchanged
(SQLite in tests/include, the real Cassandra node in tests/integration). Times are injected through
the ``now`` arguments, so "completed 8 days ago" needs no clock.
"""

from __future__ import annotations

import datetime as dt

from include.stellar_lineage.records import Priority, Status, utcnow
from tests.include.store_contract import ROOT, A, B, C, result

STUCK = dt.timedelta(minutes=15)
DAY = dt.timedelta(days=1)
D = "GREFRESHCONTRACTREQUESTEDACCOUNT"
E = "GREFRESHCONTRACTDESCENDANTACCOUNT"


def completed(store, account: str, at: dt.datetime, **kw) -> None:
    """``account`` collected (COMPLETE) at ``at``."""
    store.enqueue("public", [account])
    assert store.claim_batch(1, pipeline="API", owner="w0", network="public", accounts=[account], now=at)
    assert store.complete("public", account, owner="w0", result=result(**kw), source="API", now=at)


class RefreshContract:
    def test_only_records_completed_before_the_cutoff_are_requeued(self, store):
        now = utcnow()
        completed(store, B, now - 8 * DAY, creator=A)
        completed(store, C, now - 6 * DAY, creator=A)
        assert store.get("public", B).completed_at is not None
        assert store.requeue_stale("public", completed_before=now - 7 * DAY, limit=100, now=now) == [("public", B)]
        b, c = store.get("public", B), store.get("public", C)
        assert b.status == Status.PENDING.value and b.priority == Priority.REFRESH
        assert c.status == Status.COMPLETE.value
        # nothing is lost while it waits: the data and its source stay as collected
        assert b.stellar_creator_account == A and b.xlm_balance == "2483571.7231785"
        assert b.home_domain == "example.com" and b.tags == "exchange" and b.pipeline_source == "API"
        # re-queued rows are no longer COMPLETE: a second pass finds nothing new
        assert store.requeue_stale("public", completed_before=now - 7 * DAY, limit=100, now=now) == []
        assert store.requeue_stale("testnet", completed_before=now, limit=100, now=now) == []
        by_status = store.stats("public", stuck_threshold=STUCK, now=now)["by_status"]
        assert (
            by_status[Status.COMPLETE.value] == 1 and by_status[Status.PENDING.value] == 2
        )  # B, and A (their creator)
        assert store.queue_depth("public") == 2

    def test_the_limit_takes_the_oldest_first(self, store):
        now = utcnow()
        completed(store, B, now - 9 * DAY, creator=ROOT)
        completed(store, C, now - 20 * DAY, creator=ROOT)
        completed(store, A, now - 8 * DAY, creator=ROOT)
        assert store.requeue_stale("public", completed_before=now - 7 * DAY, limit=2, now=now) == [
            ("public", C),
            ("public", B),
        ]
        assert store.get("public", A).status == Status.COMPLETE.value
        assert store.requeue_stale("public", completed_before=now - 7 * DAY, limit=0, now=now) == []

    def test_a_refresh_is_claimed_after_every_other_kind_of_work(self, store):
        now = utcnow()
        completed(store, B, now - 8 * DAY, creator=ROOT)
        store.requeue_stale("public", completed_before=now - 7 * DAY, limit=10, now=now)
        store.enqueue("public", [E], priority=Priority.DESCENDANT)
        store.enqueue("public", [D], priority=Priority.REQUESTED)
        claimed = [
            r.stellar_account for _ in range(4) for r in store.claim_batch(1, pipeline="API", owner="w1", now=now)
        ]
        # ROOT (enqueued as B's creator when B completed: CHAIN), the request, the crawl, then the refresh
        assert claimed == [ROOT, D, E, B]

    def test_the_new_collection_overwrites_and_restarts_the_clock(self, store):
        now = utcnow()
        completed(store, B, now - 8 * DAY, creator=A, xlm_balance="1.0000000")
        store.requeue_stale("public", completed_before=now - 7 * DAY, limit=10, now=now)
        [rec] = store.claim_batch(1, pipeline="API", owner="w1", network="public", accounts=[B], now=now)
        assert rec.xlm_balance == "1.0000000"  # still the old data while it is being re-collected
        fresh = result(creator=A, xlm_balance="42.5000000", home_domain="fresh.example")
        assert store.complete("public", B, owner="w1", result=fresh, source="API", now=now)
        b = store.get("public", B)
        assert b.status == Status.COMPLETE.value and b.xlm_balance == "42.5000000"
        assert b.home_domain == "fresh.example" and b.completed_at is not None
        assert abs(b.completed_at - now) < dt.timedelta(seconds=1)
        assert store.requeue_stale("public", completed_before=now - 7 * DAY, limit=10, now=now) == []
        by_status = store.stats("public", stuck_threshold=STUCK, now=now)["by_status"]
        assert by_status[Status.COMPLETE.value] == 1

    def test_a_failed_re_collection_keeps_the_old_lineage(self, store):
        now = utcnow()
        completed(store, ROOT, now - 9 * DAY, creator=None)
        completed(store, A, now - 8 * DAY, creator=ROOT)
        store.requeue_stale("public", completed_before=now - 7 * DAY, limit=10, now=now)
        store.claim_batch(1, pipeline="API", owner="w1", network="public", accounts=[A], now=now)
        status = store.retry_later("public", A, owner="w1", error="boom", max_retries=1, now=now, source="API")
        assert status == Status.FAILED.value
        a = store.get("public", A)
        assert a.stellar_creator_account == ROOT and a.xlm_balance == "2483571.7231785" and a.last_error == "boom"
        lineage = store.lineage("public", A)
        assert lineage["reaches_root"] and [r.stellar_account for r in lineage["chain"]] == [ROOT]
