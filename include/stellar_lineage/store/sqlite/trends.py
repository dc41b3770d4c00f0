"""SQLite store: dashboard trends, latency and the recent-accounts list (migration 007, trends.py).

The counters are written by the ``lineage_outcome`` trigger in the transaction of each terminal
transition; these reads are index ranges: ``outcomes_by_hour`` / ``latency_by_hour`` by
``(network, hour)`` (at most 30 x 24 hours x a few pipelines), the recent list by the partial index
``lineage_recent`` walked backwards from the cursor, ``limit`` rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.stellar_lineage.records import utcnow
from include.stellar_lineage.store.sqlite.reads import _row_to_record, _parse_ts, ts
from include.stellar_lineage.trends import RECENT_DAYS, LatencyStats, OutcomeDay, RecentEntry, hour_floor

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _epoch_hour(value: dt.datetime) -> int:
    return int((hour_floor(value) - _EPOCH).total_seconds()) // 3600


class SqliteTrends:
    """Mixin: needs ``self._conn()``."""

    _conn: Any

    def outcome_days(self, network: str, *, days: int, now: dt.datetime | None = None) -> list[OutcomeDay]:
        now = now or utcnow()
        first_day = now.astimezone(dt.timezone.utc).date() - dt.timedelta(days=days - 1)
        start = _epoch_hour(dt.datetime.combine(first_day, dt.time(), dt.timezone.utc))
        rows = self._conn().execute(
            "SELECT hour / 24 AS day, pipeline, outcome, sum(n), sum(latency_ms) FROM outcomes_by_hour"
            " WHERE network_name = ? AND hour >= ? AND hour <= ? GROUP BY day, pipeline, outcome",
            (network, start, _epoch_hour(now)),
        )
        return [
            OutcomeDay((_EPOCH + dt.timedelta(days=day)).date(), pipeline, outcome, int(n), int(ms))
            for day, pipeline, outcome, n, ms in rows
        ]

    def latency_stats(
        self, network: str, *, since: dt.datetime, now: dt.datetime | None = None
    ) -> dict[str, LatencyStats]:
        now = now or utcnow()
        bounds = (network, _epoch_hour(since), _epoch_hour(now))
        conn = self._conn()
        out: dict[str, LatencyStats] = {}
        for pipeline, n, ms in conn.execute(
            "SELECT pipeline, sum(n), sum(latency_ms) FROM outcomes_by_hour WHERE network_name = ?"
            " AND hour >= ? AND hour <= ? AND outcome = 'COMPLETE' GROUP BY pipeline",
            bounds,
        ):
            out[pipeline] = LatencyStats(n=int(n), total_ms=int(ms))
        for pipeline, bucket, n in conn.execute(
            "SELECT pipeline, bucket, sum(n) FROM latency_by_hour WHERE network_name = ?"
            " AND hour >= ? AND hour <= ? GROUP BY pipeline, bucket",
            bounds,
        ):
            out.setdefault(pipeline, LatencyStats()).add(int(bucket), int(n))
        return out

    def recent_accounts(
        self,
        network: str,
        *,
        limit: int,
        before: tuple[dt.datetime, str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[RecentEntry]:
        if limit <= 0:
            return []
        oldest = ts((now or utcnow()) - dt.timedelta(days=RECENT_DAYS))
        where, params = ["network_name = ?", "finished_at IS NOT NULL", "finished_at >= ?"], [network, oldest]
        if before is not None:
            where.append("(finished_at, stellar_account) < (?, ?)")
            params += [ts(before[0]), before[1]]
        rows = self._conn().execute(
            "SELECT * FROM lineage INDEXED BY lineage_recent WHERE "
            + " AND ".join(where)
            + " ORDER BY finished_at DESC, stellar_account DESC LIMIT ?",
            (*params, limit),
        )
        return [RecentEntry(_parse_ts(row["finished_at"]), _row_to_record(row)) for row in rows]
