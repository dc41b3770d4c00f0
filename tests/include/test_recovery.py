"""FAILED is not a dead end (the timer in ``recover`` and its Variables) and claim leases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

from include.stellar_lineage.api_claim import recover
from include.stellar_lineage.config import defaults
from include.stellar_lineage.lease import claim_lease
from include.stellar_lineage.records import utcnow

A = "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"
B = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def _failed(store, account, now):
    store.claim_batch(1, pipeline="API", owner="w", network="public", accounts=[account], now=now)
    assert store.retry_later("public", account, owner="w", error="bad", max_retries=1, now=now) == "FAILED"


def test_failed_retry_timer_follows_its_variables(sqlite_store):
    settings = dataclasses.replace(defaults(), failed_retry_interval_hours=6, failed_retry_max_rounds=2)
    sqlite_store.enqueue("public", [A])
    t = utcnow()
    for round_ in (1, 2):
        _failed(sqlite_store, A, t)
        recover(sqlite_store, settings, now=t + dt.timedelta(hours=5))  # not yet: 6 h interval
        assert sqlite_store.get("public", A).status == "FAILED"
        t += dt.timedelta(hours=7)
        recover(sqlite_store, settings, now=t)
        rec = sqlite_store.get("public", A)
        assert rec.status == "PENDING" and rec.failed_rounds == round_
    _failed(sqlite_store, A, t)
    recover(sqlite_store, settings, now=t + dt.timedelta(days=30))  # bounded: 2 rounds were used
    assert sqlite_store.get("public", A).status == "FAILED"
    off = dataclasses.replace(defaults(), failed_retry_max_rounds=0)
    sqlite_store.enqueue("public", [B])
    _failed(sqlite_store, B, t)
    recover(sqlite_store, off, now=t + dt.timedelta(days=30))
    assert sqlite_store.get("public", B).status == "FAILED"


def test_claim_lease_renews_while_the_block_runs(sqlite_store):
    sqlite_store.enqueue("public", [A, B])
    [a, b] = sqlite_store.claim_batch(2, pipeline="BIGQUERY", owner="big")
    started = a.processing_started_at
    with claim_lease(sqlite_store, [{"network": "public", "account": A}], "big", stuck_threshold_s=3):
        time.sleep(2.5)  # two renewals (every 1 s)
    renewed = sqlite_store.get("public", A).processing_started_at
    assert renewed - started >= dt.timedelta(seconds=1.5)
    assert sqlite_store.get("public", B).processing_started_at == b.processing_started_at  # not in the lease
    out = sqlite_store.recover_stuck(
        threshold=dt.timedelta(seconds=2), max_retries=3, now=started + dt.timedelta(seconds=2.2)
    )
    assert out.requeued == [("public", B)]
    assert sqlite_store.get("public", A).status == "PROCESSING"
