"""Finished records with known pipelines, outcomes and enqueue → finish times, for the dashboard's
trends, latency and recent list (API tests and the browser test).

Built through the store API (enqueue → claim → complete / retry_later / mark_invalid) so the SQLite
triggers that keep the counters run as in production. Only the enqueue time is set back with one
UPDATE, because ``enqueue`` always stamps the current time and a latency needs an earlier one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.stellar_lineage.records import LineageResult
from include.stellar_lineage.store.sqlite import SqliteLineageStore, ts
from tests.support.stellar_dataset import address

# name, claim pipeline, pipeline_source written, outcome, days before now, enqueue → finish seconds
PLAN = [
    ("api-1", "API", "API", "COMPLETE", 0, 45),
    ("api-2", "API", "API", "COMPLETE", 0, 180),
    ("api-3", "API", "API", "COMPLETE", 2, 600),
    ("bq-1", "BIGQUERY", "BIGQUERY", "COMPLETE", 0, 1500),
    ("bq-2", "BIGQUERY", "BIGQUERY_WITH_API_FALLBACK", "COMPLETE", 5, 2400),
    ("graph-1", "API", "BIGQUERY", "COMPLETE", 0, 2),  # graph mode inside an API run
    ("graph-2", "GRAPH", "BIGQUERY", "COMPLETE", 12, 1),
    ("api-f", "API", "API", "FAILED", 1, 300),
    ("bq-i", "BIGQUERY", "BIGQUERY", "INVALID", 20, 30),
]


def trend_account(name: str, network: str) -> str:
    return address(f"trend-{network}-{name}")


def finish_time(now: dt.datetime, index: int) -> dt.datetime:
    days = PLAN[index][4]
    return now - dt.timedelta(days=days, minutes=10 + index)  # distinct times: a fixed recent order


def seed_trends(store: SqliteLineageStore, network: str, now: dt.datetime) -> list[dict[str, Any]]:
    """Add ``PLAN``'s records to ``network``; returns them newest first (the recent list's order)."""
    done = []
    for i, (name, pipeline, source, outcome, _days, wait) in enumerate(PLAN):
        account = trend_account(name, network)
        finished = finish_time(now, i)
        enqueued = finished - dt.timedelta(seconds=wait)
        store.enqueue(network, [account])
        with store._write() as conn:  # the one thing the store API cannot do: an earlier enqueue time
            conn.execute(
                "UPDATE lineage SET created_at = ? WHERE network_name = ? AND stellar_account = ?",
                (ts(enqueued), network, account),
            )
        owner = f"trend-{name}"
        half = enqueued + dt.timedelta(seconds=wait / 2)
        [claimed] = store.claim_batch(1, pipeline=pipeline, owner=owner, network=network, accounts=[account], now=half)
        assert claimed.stellar_account == account
        if outcome == "COMPLETE":
            result = LineageResult(creator=None, created_at=dt.datetime(2019, 5, 1, tzinfo=dt.timezone.utc))
            assert store.complete(network, account, owner=owner, result=result, source=source, now=finished)
        elif outcome == "FAILED":
            got = store.retry_later(
                network, account, owner=owner, error="Horizon 503", max_retries=1, now=finished, source=source
            )
            assert got == "FAILED"
        else:
            assert store.mark_invalid(network, account, owner=owner, reason="Horizon 404", now=finished, source=source)
        done.append({"name": name, "account": account, "status": outcome, "finished_at": finished})
    return sorted(done, key=lambda d: d["finished_at"], reverse=True)
