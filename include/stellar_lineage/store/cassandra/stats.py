"""Reads that must stay flat in table size, stuck recovery and the BigQuery spend ledger for the
Cassandra store. Mixed into ``CassandraLineageStore``; see ``store/cassandra.py`` for the data model.

Cost of each call, independent of the number of lineage rows:

* ``stats``: 1 counter partition + 25 hourly completion partitions (<= 60 minutes x 3 sources each)
  + the PROCESSING index (bounded by what workers hold, not by the table);
* ``queue_depth``: 1 counter partition per network;
* ``pending_accounts``/``recover_stuck``: PROCESSING index + the head of the PENDING index, one row
  read per returned/recovered record;
* ``spend_summary``: 2 counter rows (overall and today).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import uuid
from typing import Any

from include.stellar_lineage.records import (
    LineageRecord,
    RecoveryResult,
    SpendEntry,
    Status,
    utcnow,
)
from include.stellar_lineage.store.cassandra import queue as q
from include.stellar_lineage.store.base import STATS_SOURCES

P, PR = Status.PENDING.value, Status.PROCESSING.value
_FAR_FUTURE = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


class StatsMixin:
    # provided by CassandraLineageStore
    session: Any
    execute: Any
    _rows: Any
    _count: Any
    _record_outcome: Any  # trends.py
    networks: Any

    @property
    def stmts(self) -> dict[str, Any]:
        raise NotImplementedError  # the store prepares them

    def _processing(self, networks: list[str], before: dt.datetime) -> list[tuple[Any, Any]]:
        """(index entry, row) for every live claim started before ``before``. Entries whose row moved
        on are deleted once they are older than the grace period (a claim may still be in flight)."""
        live = []
        for network in networks:
            # all bucket reads in flight at once, then one concurrent row read per entry
            futures = [
                (b, self.session.execute_async(self.stmts["processing_before"], (network, b, before)))
                for b in range(q.BUCKETS)
            ]
            entries = [(b, e) for b, f in futures for e in f.result()]
            rows = self._rows(network, [e.stellar_account for _b, e in entries]) if entries else {}
            for b, e in entries:
                row = rows.get(e.stellar_account)
                if row is not None and row.status == PR and row.claim_token == e.claim_token:
                    live.append((e, row))
                elif q.is_old(e.claim_token):
                    self.execute(
                        "processing_del", (network, b, e.processing_started_at, e.stellar_account, e.claim_token)
                    )
        return live

    def recover_stuck(
        self, *, threshold: dt.timedelta, max_retries: int, now: dt.datetime | None = None
    ) -> RecoveryResult:
        now = q.ms(now or utcnow())
        requeued: list[tuple[str, str]] = []
        failed: list[tuple[str, str]] = []
        for entry, row in self._processing(self.networks(), now - threshold):
            network, account = row.network_name, row.stellar_account
            retries = (row.retry_count or 0) + 1
            status = Status.FAILED.value if retries >= max_retries else P
            token = q.new_token() if status == P else None
            hint = None
            if token is not None:  # hint first, as for every transition into PENDING
                hint = q.hint_for_row(row, network, token)
                self.execute("pending_put", hint.key())
            failed_key = q.failed_entry(network, account, now) if status != P else None
            if failed_key is not None:  # hint first, as for PENDING
                self.execute("failed_put", failed_key)
            started = q.aware(row.processing_started_at)
            error = (
                f"stuck in PROCESSING since {started.isoformat() if started else '?'}"
                f" (claimed by {row.claim_pipeline or '?'})"
            )
            rs = self.execute("recover", (status, retries, error, token, now, network, account, entry.claim_token))
            if not rs.one()[0]:  # finished or re-claimed meanwhile: not stuck after all
                if hint is not None:
                    self.execute("pending_del", hint.key())
                if failed_key is not None:
                    self.execute("failed_del", failed_key)
                continue
            if failed_key is not None:
                self.execute("failure_add", (network, now.replace(minute=0, second=0, microsecond=0)))
            self.execute(
                "processing_del", (network, q.bucket(account), entry.processing_started_at, account, entry.claim_token)
            )
            self._count(network, PR, -1)
            self._count(network, status, 1)
            if status != P:
                self._record_outcome(network, row, status, None, now)
            (requeued if status == P else failed).append((network, account))
        return RecoveryResult(requeued, failed)

    def queue_depth(self, network: str | None = None) -> int:
        total = 0
        for n in [network] if network else self.networks():
            total += sum(r.n for r in self.execute("counts", (n,)) if r.status == P)
        return total

    def stats(self, network: str, *, stuck_threshold: dt.timedelta, now: dt.datetime | None = None) -> dict[str, Any]:
        now = q.ms(now or utcnow())
        by_status = {s.value: 0 for s in Status}
        complete_by_source = dict.fromkeys(STATS_SOURCES, 0)
        for r in self.execute("counts", (network,)):
            by_status[r.status] = by_status.get(r.status, 0) + r.n
            if r.status == Status.COMPLETE.value and r.pipeline_source in complete_by_source:
                complete_by_source[r.pipeline_source] += r.n
        this_minute = now.replace(second=0, microsecond=0)
        this_hour = this_minute.replace(minute=0)
        window_start = this_minute - dt.timedelta(hours=24)  # exclusive, as in the SQLite store
        hours = [this_hour - dt.timedelta(hours=h) for h in range(24, -1, -1)]
        futures = [self.session.execute_async(self.stmts["completions"], (network, h)) for h in hours]
        hourly = {h: dict.fromkeys(STATS_SOURCES, 0) for h in hours[1:]}  # 24 hours, oldest first
        last_24h = dict.fromkeys(STATS_SOURCES, 0)
        for future in futures:
            for r in future.result():
                minute = q.aware(r.minute)
                if window_start < minute <= this_minute and r.pipeline_source in last_24h:
                    last_24h[r.pipeline_source] += r.n
                    bucket = minute.replace(minute=0)
                    if bucket in hourly:
                        hourly[bucket][r.pipeline_source] += r.n
        stuck = len(self._processing([network], now - stuck_threshold))
        return {
            "network": network,
            "by_status": by_status,
            "complete_by_source": complete_by_source,
            "last_24h_by_source": last_24h,
            "hourly_completions": [{"hour": h.isoformat(), **c} for h, c in sorted(hourly.items())],
            "stuck": stuck,
        }

    def pending_accounts(
        self,
        network: str | None = None,
        *,
        limit: int = 100,
    ) -> list[LineageRecord]:
        networks = [network] if network else self.networks()
        live = sorted(
            self._processing(networks, _FAR_FUTURE),
            key=lambda pair: (pair[0].processing_started_at, pair[0].stellar_account),
        )
        records = [q.row_to_record(row) for _e, row in live[:limit]]
        if len(records) >= limit:
            return records
        stream = q.pending_in_order(self.session, self.stmts, networks, min(limit, 500))
        while len(records) < limit:
            hints = list(itertools.islice(stream, limit - len(records)))  # read rows a chunk at a time
            if not hints:
                break
            rows = {}
            for net in {h.network for h in hints}:
                rows.update(
                    {(net, a): r for a, r in self._rows(net, [h.account for h in hints if h.network == net]).items()}
                )
            for hint in hints:  # a hint counts only if it is the row's current PENDING episode
                row = rows.get((hint.network, hint.account))
                if row is not None and row.status == P and row.queue_token == hint.queue_token:
                    records.append(q.row_to_record(row))
        return records

    # --- spend ledger -------------------------------------------------------------------------
    def record_spend(self, entry: SpendEntry) -> None:
        at = q.ms(entry.at)
        usd_micros = round(float(entry.usd) * 1_000_000)
        refused = entry.decision.startswith("refused")
        self.execute(
            "spend_put",
            (
                at.date(),
                at,
                uuid.uuid1(),
                entry.kind,
                entry.network,
                int(entry.bytes),
                decimal.Decimal(str(entry.usd)),
                int(entry.accounts),
                entry.decision,
                entry.run_id,
                entry.detail[:2000],
            ),
        )
        if entry.kind == "dry_run":
            deltas = (0, 0, 0, 1, int(refused), usd_micros if refused else 0, 0)
        else:
            deltas = (usd_micros, int(entry.bytes), 1, 0, 0, 0, int(entry.accounts))
        for scope in ("all", f"day:{at.date().isoformat()}"):
            self.execute("spend_add", (*deltas, scope))

    def spend_summary(self, *, now: dt.datetime | None = None) -> dict[str, Any]:
        today = f"day:{(now or utcnow()).astimezone(dt.UTC).date().isoformat()}"
        rows = {r.scope: r for r in self.execute("spend_totals", (["all", today],))}
        total, day = rows.get("all"), rows.get(today)

        def v(row: Any, name: str) -> int:
            return int(getattr(row, name) or 0) if row is not None else 0

        return {
            "today_usd": v(day, "usd_micros") / 1_000_000,
            "total_usd": v(total, "usd_micros") / 1_000_000,
            "today_bytes": v(day, "bytes"),
            "total_bytes": v(total, "bytes"),
            "jobs": v(total, "jobs"),
            "dry_runs": v(total, "dry_runs"),
            "refused": v(total, "refused"),
            "saved_usd": v(total, "saved_usd_micros") / 1_000_000,
            "accounts_billed": v(total, "accounts_billed"),
        }
