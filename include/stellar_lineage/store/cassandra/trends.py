"""Cassandra store: dashboard trends, latency and the recent-accounts list (migration 009, trends.py).

Writes (``_record_outcome``, called after the LWT of every terminal transition, like the status
counters): one counter row in ``lineage_outcomes`` (and for COMPLETE one in ``lineage_latency_buckets``)
in the ``(network, UTC day)`` partition, plus one ``lineage_recent`` entry. A process killed between
the LWT and these writes leaves a count short by one, as for the other counters; no record is lost.

Reads, flat in table size: ``outcome_days`` reads one partition per day; ``latency_stats`` one per day
the window touches; ``recent_accounts`` lists the hours that have entries (``lineage_recent_hours``, one
partition per day), walks those hourly partitions newest first (4 shards each, fetched concurrently,
``PREFETCH_HOURS`` hours at a time) and merges them, then reads the row of each candidate to drop
entries that are no longer the row's current state.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

from include.stellar_lineage.records import Status, utcnow
from include.stellar_lineage.store.cassandra import queue as q
from include.stellar_lineage.store.cassandra.enqueue import concurrently, raise_failures
from include.stellar_lineage.trends import (
    RECENT_DAYS,
    LatencyStats,
    OutcomeDay,
    RecentEntry,
    hour_floor,
    latency_bucket,
    latency_ms,
    trend_pipeline,
)

RECENT_SHARDS = 4
PREFETCH_HOURS = 24
_TOP = (dt.datetime(2200, 1, 1, tzinfo=dt.UTC), "")  # above every entry: the bound of a first page


class TrendsMixin:
    # provided by CassandraLineageStore
    session: Any
    stmts: Any
    execute: Any
    _rows: Any

    def _record_outcome(self, network: str, row: Any, outcome: str, source: str | None, when: dt.datetime) -> None:
        """Count one terminal transition of ``row`` (the row as it was while PROCESSING)."""
        enqueued = None
        if outcome == Status.COMPLETE.value:
            times = self.execute("enqueued_get", (network, row.stellar_account)).one()
            enqueued = None if times is None else q.aware(times.enqueued_at or times.created_at)
        self._record_outcomes(
            network,
            [(row.stellar_account, row.claim_pipeline, row.last_pipeline_attempt, enqueued)],
            outcome,
            source if source is not None else row.pipeline_source,
            when,
        )

    def _record_outcomes(
        self,
        network: str,
        items: list[tuple[str, str | None, dt.datetime, dt.datetime | None]],
        outcome: str,
        source: str | None,
        when: dt.datetime,
    ) -> None:
        """Count terminal transitions at ``when`` (one from ``_record_outcome``, many from graph mode's bulk
        completion): one recent-list entry each, the counters added up per pipeline / latency bucket.
        ``items``: (account, claim pipeline, claimed at, enqueued at) as the transition left each row."""
        hour = hour_floor(when)
        day = hour.date()
        totals: dict[str, list[int]] = {}
        buckets: Counter[tuple[str, int]] = Counter()
        writes: list[tuple[Any, tuple[Any, ...]]] = [(self.stmts["recent_hour_put"], (network, day, hour))]
        for account, claim_pipeline, claimed_at, enqueued in items:
            pipeline = trend_pipeline(claim_pipeline, outcome, source)
            waited = latency_ms(when, enqueued) if outcome == Status.COMPLETE.value else 0
            total = totals.setdefault(pipeline, [0, 0])
            total[0] += 1
            total[1] += waited
            if outcome == Status.COMPLETE.value:
                buckets[(pipeline, latency_bucket(waited))] += 1
            shard = q.bucket(account, RECENT_SHARDS)
            writes.append((self.stmts["recent_put"], (network, hour, shard, when, account, outcome, claimed_at)))
        for (pipeline, b), n in buckets.items():
            writes.append((self.stmts["latency_add_n"], (n, network, day, hour, pipeline, b)))
        for pipeline, (n, waited_ms) in totals.items():
            writes.append((self.stmts["outcome_add_n"], (n, waited_ms, network, day, hour, pipeline, outcome)))
        raise_failures(concurrently(self.session, writes))

    def _days(self, name: str, network: str, days: list[dt.date]) -> list[Any]:
        futures = [self.session.execute_async(self.stmts[name], (network, d)) for d in days]
        return [r for f in futures for r in f.result()]

    def outcome_days(self, network: str, *, days: int, now: dt.datetime | None = None) -> list[OutcomeDay]:
        now = q.ms(now or utcnow())
        today = now.date()
        totals: dict[tuple[dt.date, str, str], list[int]] = {}
        for r in self._days("outcomes_of_day", network, [today - dt.timedelta(days=i) for i in range(days)]):
            if q.aware(r.hour) > now:
                continue
            key = (q.aware(r.hour).date(), r.pipeline, r.outcome)
            acc = totals.setdefault(key, [0, 0])
            acc[0] += int(r.n or 0)
            acc[1] += int(r.latency_ms or 0)
        return [OutcomeDay(d, p, o, n, ms) for (d, p, o), (n, ms) in totals.items()]

    def latency_stats(
        self, network: str, *, since: dt.datetime, now: dt.datetime | None = None
    ) -> dict[str, LatencyStats]:
        now = q.ms(now or utcnow())
        start = hour_floor(since)
        days = [start.date() + dt.timedelta(days=i) for i in range((now.date() - start.date()).days + 1)]
        out: dict[str, LatencyStats] = {}
        for r in self._days("outcomes_of_day", network, days):
            if r.outcome == Status.COMPLETE.value and start <= q.aware(r.hour) <= now:
                stats = out.setdefault(r.pipeline, LatencyStats())
                stats.n += int(r.n or 0)
                stats.total_ms += int(r.latency_ms or 0)
        for r in self._days("latency_of_day", network, days):
            if start <= q.aware(r.hour) <= now:
                out.setdefault(r.pipeline, LatencyStats()).add(int(r.bucket), int(r.n or 0))
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
        now = q.ms(now or utcnow())
        oldest = now - dt.timedelta(days=RECENT_DAYS)
        bound = (q.ms(before[0]), before[1]) if before else _TOP
        first_hour = hour_floor(min(bound[0], now))
        out: list[RecentEntry] = []
        candidates = self._recent_entries(network, first_hour, hour_floor(oldest), bound, limit)
        while len(out) < limit:
            chunk = [e for _i, e in zip(range(limit - len(out)), candidates, strict=False)]
            if not chunk:
                break
            rows = self._rows(network, [e.stellar_account for e in chunk])
            for e in chunk:
                row = rows.get(e.stellar_account)
                if q.aware(e.finished_at) < oldest:
                    return out
                if (
                    row is not None
                    and row.status == e.outcome
                    and q.aware(row.last_pipeline_attempt) == q.aware(e.claimed_at)
                ):
                    out.append(RecentEntry(q.aware(e.finished_at), q.row_to_record(row)))
        return out

    def _recent_entries(
        self, network: str, first_hour: dt.datetime, last_hour: dt.datetime, bound: tuple[dt.datetime, str], page: int
    ) -> Iterator[Any]:
        """Entries below ``bound``, newest first, over the hours with entries from ``first_hour`` down
        to ``last_hour``; ``PREFETCH_HOURS`` hours' shards are read concurrently."""
        hours = self._recent_hours(network, first_hour, last_hour)
        while batch := list(itertools.islice(hours, PREFETCH_HOURS)):
            fetched = {h: self._fetch_hour(network, h, bound, page) for h in batch}
            for h in batch:
                yield from self._merge_hour(network, h, fetched[h], page)

    def _recent_hours(self, network: str, first_hour: dt.datetime, last_hour: dt.datetime) -> Iterator[dt.datetime]:
        day, last_day = first_hour.date(), last_hour.date()
        while day >= last_day:
            days = [day - dt.timedelta(days=i) for i in range(8) if day - dt.timedelta(days=i) >= last_day]
            futures = [self.session.execute_async(self.stmts["recent_hours_of_day"], (network, d)) for d in days]
            for future in futures:
                hours = sorted((q.aware(r.hour) for r in future.result()), reverse=True)
                yield from (h for h in hours if last_hour <= h <= first_hour)
            day = days[-1] - dt.timedelta(days=1)

    def _fetch_hour(self, network: str, hour: dt.datetime, bound: tuple[dt.datetime, str], page: int) -> list[Any]:
        return [
            self.session.execute_async(self.stmts["recent_page"], (network, hour, s, bound[0], bound[1], page))
            for s in range(RECENT_SHARDS)
        ]

    def _merge_hour(self, network: str, hour: dt.datetime, futures: list[Any], page: int) -> Iterator[Any]:
        """K-way merge of the hour's shards: a shard that filled its page may hold older entries than
        the others, so only entries down to the newest of those shards' last entries are final; the
        rest is fetched again below that point."""
        while True:
            results = [list(f.result()) for f in futures]
            merged = sorted((e for r in results for e in r), key=_key, reverse=True)
            cut = max((_key(r[-1]) for r in results if len(r) >= page), default=None)
            yield from (e for e in merged if cut is None or _key(e) >= cut)
            if cut is None:
                return
            futures = self._fetch_hour(network, hour, cut, page)


def _key(entry: Any) -> tuple[dt.datetime, str]:
    return (q.aware(entry.finished_at), entry.stellar_account)
