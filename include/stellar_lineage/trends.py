"""Dashboard trends, per-pipeline latency and the recent-accounts list (issue 16, item 8).

Both stores keep, on every *terminal transition* (PROCESSING → COMPLETE / FAILED / INVALID, and graph
mode's PENDING → COMPLETE of ``complete_pending_many``), a counter
per ``(network, UTC hour, pipeline, outcome)`` with the summed enqueue → COMPLETE latency, and a latency
histogram per ``(network, UTC hour, pipeline, bucket)`` for COMPLETE; both are bumped in the same step
as the row change (SQLite trigger, Cassandra after the LWT). Reads are a range of those small rows, never
the lineage table. Rows that reached a terminal state before the store migration (SQLite 007, Cassandra
009) are not in the counters: the trend starts at the migration.

* **Pipeline** of an outcome is who did the work (the claim's pipeline), with graph mode told apart:
  ``GRAPH`` when the claim was a graph claim, or an API-run claim completed with lineage from the
  creator graph (``pipeline_source = BIGQUERY`` under an ``API`` claim: graph_resolve.py writes graph
  lineage as BIGQUERY); otherwise ``API`` / ``BIGQUERY`` (its API fallback included).
* **Latency** is COMPLETE time minus the time the record last entered the queue from outside it
  (``enqueued_at``: first enqueue, a re-request of FAILED/INVALID, a FAILED re-queue, a refresh of a
  COMPLETE record), so retries, backoff and releases inside one request all count, as the user waits
  through them. Percentiles come from the histogram (``LATENCY_BOUNDS_S``), interpolated inside a
  bucket: an estimate within one bucket's width; the mean is exact.
* **Recent** accounts are the records now in a terminal state, newest terminal transition first, one
  entry per record, for the last ``RECENT_DAYS`` days.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from include.stellar_lineage.records import LineageRecord, Status

if TYPE_CHECKING:
    from include.stellar_lineage.store.base import LineageStore

PIPELINES = ("API", "BIGQUERY", "GRAPH")
OUTCOMES = (Status.COMPLETE.value, Status.FAILED.value, Status.INVALID.value)
TREND_DAYS = (7, 30)
LATENCY_WINDOWS = {"24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7)}
RECENT_DAYS = 30
RECENT_MAX_PAGE = 100
# Upper bounds (seconds, inclusive) of the latency histogram buckets; one more bucket holds the rest.
# The SQLite trigger (migrations/007) spells the same bounds out: tests check they agree.
LATENCY_BOUNDS_S = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400, 259200, 604800)
BUCKETS = len(LATENCY_BOUNDS_S) + 1


def trend_pipeline(claim_pipeline: str | None, status: str, pipeline_source: str | None) -> str:
    """The pipeline an outcome is counted under (module doc); the SQLite trigger does the same in SQL."""
    if claim_pipeline == "GRAPH" or (
        status == Status.COMPLETE.value and claim_pipeline == "API" and pipeline_source == "BIGQUERY"
    ):
        return "GRAPH"
    return claim_pipeline or "UNKNOWN"


def latency_bucket(latency_ms: int) -> int:
    for i, bound in enumerate(LATENCY_BOUNDS_S):
        if latency_ms <= bound * 1000:
            return i
    return len(LATENCY_BOUNDS_S)


def latency_ms(finished: dt.datetime, enqueued: dt.datetime | None) -> int:
    """Milliseconds from enqueue to finish, never negative (clock skew between workers)."""
    if enqueued is None:
        return 0
    return max(0, round((finished - enqueued).total_seconds() * 1000))


@dataclasses.dataclass(frozen=True)
class OutcomeDay:
    """Terminal transitions of one UTC day, pipeline and outcome; ``latency_ms`` sums COMPLETE latencies."""

    day: dt.date
    pipeline: str
    outcome: str
    n: int
    latency_ms: int = 0


@dataclasses.dataclass
class LatencyStats:
    """COMPLETE latencies of one pipeline over a window: count, exact sum, histogram counts."""

    n: int = 0
    total_ms: int = 0
    buckets: list[int] = dataclasses.field(default_factory=lambda: [0] * BUCKETS)

    def add(self, bucket: int, n: int) -> None:
        self.buckets[min(max(bucket, 0), BUCKETS - 1)] += n


@dataclasses.dataclass(frozen=True)
class RecentEntry:
    finished_at: dt.datetime
    record: LineageRecord


def hour_floor(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


def percentile_s(stats: LatencyStats, q: float) -> float | None:
    """The ``q`` quantile (0..1) in seconds, linear inside its histogram bucket; None without data.
    The open last bucket (over a week) reports its lower bound."""
    total = sum(stats.buckets)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(stats.buckets):
        if n and seen + n >= rank:
            lower = 0.0 if i == 0 else float(LATENCY_BOUNDS_S[i - 1])
            if i >= len(LATENCY_BOUNDS_S):
                return lower
            upper = float(LATENCY_BOUNDS_S[i])
            return round(lower + (upper - lower) * max(0.0, rank - seen) / n, 1)
        seen += n
    return float(LATENCY_BOUNDS_S[-1])


# --- cursors of the recent list ----------------------------------------------------------------------
def encode_cursor(entry: RecentEntry) -> str:
    raw = f"{entry.finished_at.astimezone(dt.timezone.utc).isoformat()}|{entry.record.stellar_account}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """``(finished_at, account)`` of the last entry of the previous page; ValueError if not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, account = raw.split("|")
        at = dt.datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("invalid cursor: pass the next_cursor of a previous page") from None
    if at.tzinfo is None or not account.isalnum() or len(account) > 56:
        raise ValueError("invalid cursor: pass the next_cursor of a previous page")
    return at, account


# --- payloads --------------------------------------------------------------------------------------
def _empty_day() -> dict[str, dict[str, int]]:
    return {p: {o.lower(): 0 for o in OUTCOMES} for p in PIPELINES}


def trend_payload(rows: Iterable[OutcomeDay], *, network: str, days: int, now: dt.datetime) -> dict[str, Any]:
    """Per UTC day (oldest first, today last) and pipeline: completed / failed / invalid."""
    today = now.astimezone(dt.timezone.utc).date()
    order = [today - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]
    by_day = {d: _empty_day() for d in order}
    other = dict.fromkeys(o.lower() for o in OUTCOMES)
    other_counts = {k: 0 for k in other}
    for row in rows:
        if row.day not in by_day:
            continue
        if row.pipeline in PIPELINES:
            by_day[row.day][row.pipeline][row.outcome.lower()] += row.n
        else:  # claims by a pipeline name this build does not know
            other_counts[row.outcome.lower()] += row.n
    totals = {p: {o.lower(): sum(by_day[d][p][o.lower()] for d in order) for o in OUTCOMES} for p in PIPELINES}
    return {
        "network": network,
        "days": days,
        "pipelines": list(PIPELINES),
        "outcomes": [o.lower() for o in OUTCOMES],
        "series": [{"day": d.isoformat(), **by_day[d]} for d in order],
        "totals": totals,
        "other_pipelines": other_counts,
        "timestamp": now.isoformat(),
    }


def latency_entry(stats: LatencyStats) -> dict[str, Any]:
    return {
        "count": stats.n,
        "mean_seconds": round(stats.total_ms / stats.n / 1000, 1) if stats.n else None,
        "p50_seconds": percentile_s(stats, 0.50),
        "p95_seconds": percentile_s(stats, 0.95),
    }


def latency_payload(windows: Mapping[str, Mapping[str, LatencyStats]], *, network: str, now: dt.datetime) -> dict:
    return {
        "network": network,
        "pipelines": list(PIPELINES),
        "windows": {
            name: {p: latency_entry(per.get(p, LatencyStats())) for p in PIPELINES} for name, per in windows.items()
        },
        "bucket_bounds_seconds": list(LATENCY_BOUNDS_S),
        "timestamp": now.isoformat(),
    }


def trends(store: LineageStore, network: str, *, days: int, now: dt.datetime) -> dict[str, Any]:
    return trend_payload(store.outcome_days(network, days=days, now=now), network=network, days=days, now=now)


def latency(store: LineageStore, network: str, *, now: dt.datetime) -> dict[str, Any]:
    windows = {name: store.latency_stats(network, since=now - span, now=now) for name, span in LATENCY_WINDOWS.items()}
    return latency_payload(windows, network=network, now=now)


def recent(store: LineageStore, network: str, *, limit: int, cursor: str | None, now: dt.datetime) -> dict[str, Any]:
    """One page of recently finished accounts; ``next_cursor`` is None on the last page."""
    before = decode_cursor(cursor) if cursor else None
    entries = store.recent_accounts(network, limit=limit + 1, before=before, now=now)
    page = entries[:limit]
    return {
        "network": network,
        "accounts": [
            {
                "stellar_account": e.record.stellar_account,
                "network_name": e.record.network_name,
                "status": e.record.status,
                "pipeline": trend_pipeline(e.record.claim_pipeline, e.record.status, e.record.pipeline_source),
                "pipeline_source": e.record.pipeline_source,
                "finished_at": e.finished_at.astimezone(dt.timezone.utc).isoformat(),
                "last_error": e.record.last_error if e.record.status != Status.COMPLETE.value else None,
            }
            for e in page
        ],
        "count": len(page),
        "next_cursor": encode_cursor(page[-1]) if len(entries) > limit and page else None,
        "window_days": RECENT_DAYS,
        "timestamp": now.isoformat(),
    }
