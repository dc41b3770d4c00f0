"""Contract tests for the dashboard's trends, latency and recent list (trends.py), run by every backend
(SQLite in tests/include, Cassandra on the real node in tests/integration).

Latencies are exact: each record's enqueue time is read back from the store and the transition is
stamped ``now = enqueued + N seconds``; the store must bucket and sum exactly that.
"""

from __future__ import annotations

import datetime as dt

from include.stellar_lineage.records import LineageResult, Status
from include.stellar_lineage.trends import latency_bucket, percentile_s
from tests.support.stellar_dataset import address

S = dt.timedelta(seconds=1)


def _result(creator: str | None = None) -> LineageResult:
    return LineageResult(creator=creator, created_at=dt.datetime(2019, 5, 1, tzinfo=dt.timezone.utc))


def _enqueued(store, network: str, account: str) -> dt.datetime:
    record = store.get(network, account)
    return record.created_at


class TrendsContract:
    def _finish(self, store, account, *, pipeline, outcome, after, source=None, network="public"):
        """Claim ``account`` (PENDING) for ``pipeline`` and take it to ``outcome`` ``after`` its enqueue."""
        base = _enqueued(store, network, account)
        owner = f"t-{account[:8]}"
        [claimed] = store.claim_batch(1, pipeline=pipeline, owner=owner, network=network, accounts=[account])
        assert claimed.stellar_account == account
        when = base + after
        if outcome == "COMPLETE":
            assert store.complete(network, account, owner=owner, result=_result(), source=source or pipeline, now=when)
        elif outcome == "FAILED":
            got = store.retry_later(network, account, owner=owner, error="boom", max_retries=1, now=when, source=source)
            assert got == "FAILED"
        else:
            assert store.mark_invalid(network, account, owner=owner, reason="404", now=when, source=source)
        return when

    def test_outcomes_per_day_and_pipeline(self, store):
        accounts = [address(f"trend-{i}") for i in range(7)]
        store.enqueue("public", accounts)
        store.enqueue("testnet", [accounts[0]])
        self._finish(store, accounts[0], pipeline="API", outcome="COMPLETE", after=30 * S)
        self._finish(store, accounts[1], pipeline="API", outcome="COMPLETE", after=90 * S)
        self._finish(store, accounts[2], pipeline="BIGQUERY", outcome="COMPLETE", after=5 * S)
        # graph mode inside an API run: API claim completed with graph lineage (pipeline_source BIGQUERY)
        self._finish(store, accounts[3], pipeline="API", outcome="COMPLETE", after=2 * S, source="BIGQUERY")
        self._finish(store, accounts[4], pipeline="API", outcome="FAILED", after=60 * S, source="API")
        self._finish(store, accounts[5], pipeline="BIGQUERY", outcome="INVALID", after=60 * S, source="BIGQUERY")
        when = self._finish(store, accounts[6], pipeline="GRAPH", outcome="COMPLETE", after=1 * S, source="BIGQUERY")
        self._finish(store, accounts[0], pipeline="API", outcome="INVALID", after=1 * S, network="testnet")
        now = when + dt.timedelta(minutes=5)
        rows = store.outcome_days("public", days=7, now=now)
        got = {(r.pipeline, r.outcome): (r.n, r.latency_ms) for r in rows}
        assert {r.day for r in rows} == {now.date()} or all(r.day <= now.date() for r in rows)
        summed: dict = {}
        for r in rows:
            n, ms = summed.get((r.pipeline, r.outcome), (0, 0))
            summed[(r.pipeline, r.outcome)] = (n + r.n, ms + r.latency_ms)
        assert summed == {
            ("API", "COMPLETE"): (2, 120_000),
            ("BIGQUERY", "COMPLETE"): (1, 5_000),
            ("GRAPH", "COMPLETE"): (2, 3_000),
            ("API", "FAILED"): (1, 0),
            ("BIGQUERY", "INVALID"): (1, 0),
        }, got
        testnet = store.outcome_days("testnet", days=7, now=now)
        assert [(r.pipeline, r.outcome, r.n) for r in testnet] == [("API", "INVALID", 1)]

    def test_days_outside_the_window_are_left_out(self, store):
        a, b = address("trend-old"), address("trend-new")
        store.enqueue("public", [a, b])
        old = self._finish(store, a, pipeline="API", outcome="COMPLETE", after=dt.timedelta(days=-10))
        new = self._finish(store, b, pipeline="API", outcome="COMPLETE", after=S)
        week = store.outcome_days("public", days=7, now=new)
        month = store.outcome_days("public", days=30, now=new)
        assert sum(r.n for r in week) == 1 and {r.day for r in week} == {new.date()}
        assert sum(r.n for r in month) == 2 and old.date() in {r.day for r in month}

    def test_latency_histogram_and_windows(self, store):
        accounts = [address(f"lat-{i}") for i in range(5)]
        store.enqueue("public", accounts)
        waits = [1, 2, 5, 61, 7201]  # seconds: bucket edges and just above
        last = None
        for account, wait in zip(accounts, waits, strict=True):
            last = self._finish(store, account, pipeline="API", outcome="COMPLETE", after=wait * S)
        now = last + dt.timedelta(minutes=1)
        day = store.latency_stats("public", since=now - dt.timedelta(hours=24), now=now)
        api = day["API"]
        assert api.n == 5 and api.total_ms == sum(waits) * 1000
        expected = [0] * len(api.buckets)
        for wait in waits:
            expected[latency_bucket(wait * 1000)] += 1
        assert api.buckets == expected
        assert expected[0] == 1 and expected[1] == 1 and expected[2] == 1  # inclusive upper bounds
        assert percentile_s(api, 0.5) is not None and 2 <= percentile_s(api, 0.5) <= 5
        assert "BIGQUERY" not in day
        # a window that starts after these completions sees none of them
        later = store.latency_stats("public", since=now + dt.timedelta(hours=2), now=now + dt.timedelta(hours=3))
        assert later.get("API") is None or later["API"].n == 0

    def test_latency_counts_from_the_rerequest_not_the_first_enqueue(self, store):
        a = address("lat-rerequest")
        store.enqueue("public", [a])
        first = self._finish(store, a, pipeline="API", outcome="INVALID", after=S)
        assert store.enqueue("public", [a]).reset == [a]
        record = store.get("public", a)
        rerequested = record.updated_at  # the reset wrote this as the new enqueue time
        [claimed] = store.claim_batch(1, pipeline="API", owner="o2", network="public", accounts=[a])
        when = rerequested + 42 * S
        assert store.complete("public", a, owner="o2", result=_result(), source="API", now=when)
        stats = store.latency_stats("public", since=first - dt.timedelta(hours=1), now=when)
        assert stats["API"].n == 1 and stats["API"].total_ms == 42_000
        assert claimed.stellar_account == a

    def test_recent_accounts_newest_first_paged_one_entry_per_record(self, store):
        accounts = [address(f"recent-{i}") for i in range(6)]
        store.enqueue("public", accounts)
        store.enqueue("testnet", [accounts[0]])
        base = max(_enqueued(store, "public", a) for a in accounts)
        for i, account in enumerate(accounts):  # finished one minute apart, the last one newest
            outcome = ["COMPLETE", "FAILED", "INVALID"][i % 3]
            owner = f"r{i}"
            store.claim_batch(1, pipeline="API", owner=owner, network="public", accounts=[account])
            when = base + dt.timedelta(minutes=i + 1)
            if outcome == "COMPLETE":
                store.complete("public", account, owner=owner, result=_result(), source="API", now=when)
            elif outcome == "FAILED":
                store.retry_later("public", account, owner=owner, error="x", max_retries=1, now=when)
            else:
                store.mark_invalid("public", account, owner=owner, reason="404", now=when)
        now = base + dt.timedelta(minutes=10)
        page1 = store.recent_accounts("public", limit=4, now=now)
        assert [e.record.stellar_account for e in page1] == accounts[::-1][:4]
        assert [e.record.status for e in page1] == ["INVALID", "FAILED", "COMPLETE", "INVALID"]
        assert page1[0].finished_at == base + dt.timedelta(minutes=6)
        last = page1[-1]
        page2 = store.recent_accounts(
            "public", limit=4, before=(last.finished_at, last.record.stellar_account), now=now
        )
        assert [e.record.stellar_account for e in page2] == accounts[::-1][4:]
        assert store.recent_accounts("testnet", limit=4, now=now) == []  # PENDING there: not finished
        # re-requested: leaves the list (queued again); finished again: back once, at the top
        requeued = accounts[2]  # INVALID
        assert store.enqueue("public", [requeued]).reset == [requeued]
        assert requeued not in [e.record.stellar_account for e in store.recent_accounts("public", limit=10, now=now)]
        store.claim_batch(1, pipeline="BIGQUERY", owner="again", network="public", accounts=[requeued])
        later = now + dt.timedelta(minutes=1)
        store.complete("public", requeued, owner="again", result=_result(), source="BIGQUERY", now=later)
        again = store.recent_accounts("public", limit=10, now=later)
        names = [e.record.stellar_account for e in again]
        assert names[0] == requeued and names.count(requeued) == 1 and len(names) == 6
        assert again[0].record.status == Status.COMPLETE.value and again[0].record.claim_pipeline == "BIGQUERY"
        # older than the window: gone
        assert store.recent_accounts("public", limit=10, now=later + dt.timedelta(days=31)) == []

    def test_stuck_recovery_to_failed_is_an_outcome(self, store):
        a = address("trend-stuck")
        store.enqueue("public", [a])
        start = _enqueued(store, "public", a)
        store.claim_batch(1, pipeline="BIGQUERY", owner="gone", network="public", accounts=[a], now=start + S)
        got = store.recover_stuck(threshold=dt.timedelta(minutes=15), max_retries=1, now=start + 20 * 60 * S)
        assert got.failed == [("public", a)]
        rows = store.outcome_days("public", days=7, now=start + 21 * 60 * S)
        assert [(r.pipeline, r.outcome, r.n) for r in rows] == [("BIGQUERY", "FAILED", 1)]
        [entry] = store.recent_accounts("public", limit=5, now=start + 21 * 60 * S)
        assert entry.record.stellar_account == a and entry.record.status == "FAILED"

    def test_pending_completed_in_bulk_is_an_outcome(self, store):
        """Graph mode's PENDING -> COMPLETE path (complete_pending_many) counts like a claimed completion."""
        a = address("trend-bulk")
        store.enqueue("public", [a])
        start = _enqueued(store, "public", a)
        done = store.complete_pending_many(
            "public", {a: _result()}, pipeline="GRAPH", owner="g", source="BIGQUERY", now=start + 7 * S
        )
        assert done == [a]
        now = start + 60 * S
        rows = store.outcome_days("public", days=7, now=now)
        assert [(r.pipeline, r.outcome, r.n, r.latency_ms) for r in rows] == [("GRAPH", "COMPLETE", 1, 7000)]
        [entry] = store.recent_accounts("public", limit=5, now=now)
        assert entry.record.stellar_account == a and entry.finished_at == start + 7 * S
