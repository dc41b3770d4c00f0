"""The dashboard-trend part of the ``LineageStore`` interface (trends.py): outcomes per day and
pipeline, enqueue → COMPLETE latency, the recent-accounts list. ``LineageStore`` inherits it; the
backends implement it in ``store/sqlite/trends.py`` (migration 007) and ``store/cassandra/trends.py``
(migration 009). Every method reads maintained counters or an index range, never the whole table.
"""

from __future__ import annotations

import abc
import datetime as dt

from include.stellar_lineage.trends import LatencyStats, OutcomeDay, RecentEntry


class TrendReads(abc.ABC):
    @abc.abstractmethod
    def outcome_days(self, network: str, *, days: int, now: dt.datetime | None = None) -> list[OutcomeDay]:
        """Terminal transitions per UTC day (the last ``days`` days, today included), pipeline and
        outcome, with summed COMPLETE latency; read from maintained counters, never the table."""

    @abc.abstractmethod
    def latency_stats(
        self, network: str, *, since: dt.datetime, now: dt.datetime | None = None
    ) -> dict[str, LatencyStats]:
        """Enqueue → COMPLETE latency per pipeline for completions from the hour of ``since`` on
        (hour precision): count, exact sum and histogram (``trends.LATENCY_BOUNDS_S``)."""

    @abc.abstractmethod
    def recent_accounts(
        self,
        network: str,
        *,
        limit: int,
        before: tuple[dt.datetime, str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[RecentEntry]:
        """Up to ``limit`` records now COMPLETE/FAILED/INVALID whose terminal transition lies in the last
        ``trends.RECENT_DAYS`` days, newest first (ties by account, descending); ``before`` is the
        ``(finished_at, account)`` of the previous page's last entry. One entry per record."""
