"""SQLite store: row/time conversion and the read side (stats, pending, spend), kept apart from the
write path in ``store.py``. Every read here uses an index or a trigger-maintained aggregate table;
none iterates the lineage table."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from include.stellar_lineage.records import LineageRecord, SpendEntry, Status, utcnow
from include.stellar_lineage.store.base import STATS_SOURCES

_FIELDS = [f.name for f in dataclasses.fields(LineageRecord)]
_TIME_FIELDS = {f.name for f in dataclasses.fields(LineageRecord) if "datetime" in str(f.type)}


@overload
def ts(value: dt.datetime) -> str: ...
@overload
def ts(value: None) -> None: ...
def ts(value: dt.datetime | None) -> str | None:
    """Fixed-format UTC text, so that text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: the store keeps timezone-aware UTC times only")
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


@overload
def _parse_ts(value: str) -> dt.datetime: ...
@overload
def _parse_ts(value: None) -> None: ...
def _parse_ts(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _row_to_record(row: sqlite3.Row) -> LineageRecord:
    values = {name: row[name] for name in _FIELDS}
    for name in _TIME_FIELDS:
        values[name] = _parse_ts(values[name])
    return LineageRecord(**values)


class SqliteReads:
    """Mixin: needs ``self._conn()`` (and ``self._write()`` for the ledger)."""

    _conn: Callable[[], sqlite3.Connection]
    _write: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    # --- reads --------------------------------------------------------------------------------
    def iter_records(
        self,
        *,
        network: str | None = None,
        status: str | None = None,
        source: str | None = None,
        updated_since: dt.datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[LineageRecord]:
        # Keyset pages on the primary key: each page is one short read, nothing held between pages.
        filters, params = [], []
        for column, value in (("network_name", network), ("status", status), ("pipeline_source", source)):
            if value is not None:
                filters.append(f"{column} = ?")
                params.append(value)
        if updated_since is not None:
            filters.append("updated_at >= ?")
            params.append(ts(updated_since))
        where = "".join(f" AND {f}" for f in filters)
        sql = (
            f"SELECT * FROM lineage WHERE (network_name, stellar_account) > (?, ?){where} "
            "ORDER BY network_name, stellar_account LIMIT ?"
        )
        after = ("", "")
        while True:
            rows = self._conn().execute(sql, (*after, *params, page_size)).fetchall()
            for row in rows:
                yield _row_to_record(row)
            if len(rows) < page_size:
                return
            after = (rows[-1]["network_name"], rows[-1]["stellar_account"])

    def get_many(self, network: str, accounts: Sequence[str]) -> dict[str, LineageRecord]:
        out: dict[str, LineageRecord] = {}
        accounts = list(dict.fromkeys(accounts))
        for i in range(0, len(accounts), 500):
            chunk = accounts[i : i + 500]
            rows = (
                self._conn()
                .execute(
                    f"SELECT * FROM lineage WHERE network_name = ? AND stellar_account IN "
                    f"({','.join('?' * len(chunk))})",
                    (network, *chunk),
                )
                .fetchall()
            )
            out.update({r["stellar_account"]: _row_to_record(r) for r in rows})
        return out

    def queue_depth(self, network: str | None = None) -> int:
        sql = "SELECT coalesce(sum(n), 0) FROM status_counts WHERE status = 'PENDING'"
        params: tuple[str, ...] = ()
        if network is not None:
            sql, params = sql + " AND network_name = ?", (network,)
        return int(self._conn().execute(sql, params).fetchone()[0])

    def stats(self, network: str, *, stuck_threshold: dt.timedelta, now: dt.datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        conn = self._conn()
        by_status = {s.value: 0 for s in Status}
        complete_by_source = dict.fromkeys(STATS_SOURCES, 0)
        for status, source, n in conn.execute(
            "SELECT status, pipeline_source, n FROM status_counts WHERE network_name = ?", (network,)
        ):
            by_status[status] = by_status.get(status, 0) + n
            if status == Status.COMPLETE.value and source in complete_by_source:
                complete_by_source[source] += n
        this_minute = int(now.timestamp()) // 60
        first_hour = this_minute // 60 - 23
        hourly = {first_hour + i: dict.fromkeys(STATS_SOURCES, 0) for i in range(24)}
        last_24h = dict.fromkeys(STATS_SOURCES, 0)
        # Summed per hour in SQL: at most 25 × 3 rows reach Python whatever the traffic.
        for hour, source, n in conn.execute(
            "SELECT minute / 60, pipeline_source, sum(n) FROM completions_by_minute"
            " WHERE network_name = ? AND minute > ? AND minute <= ? GROUP BY minute / 60, pipeline_source",
            (network, this_minute - 24 * 60, this_minute),
        ):
            if source in last_24h:
                last_24h[source] += n
                if hour in hourly:
                    hourly[hour][source] += n
        stuck = conn.execute(
            "SELECT count(*) FROM lineage WHERE status = 'PROCESSING' AND processing_started_at < ?"
            " AND network_name = ?",
            (ts(now - stuck_threshold), network),
        ).fetchone()[0]
        return {
            "network": network,
            "by_status": by_status,
            "complete_by_source": complete_by_source,
            "last_24h_by_source": last_24h,
            "hourly_completions": [
                {"hour": dt.datetime.fromtimestamp(h * 3600, dt.timezone.utc).isoformat(), **counts}
                for h, counts in sorted(hourly.items())
            ],
            "stuck": int(stuck),
        }

    def completions_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        row = (
            self._conn()
            .execute(
                "SELECT coalesce(sum(n), 0) FROM completions_by_minute WHERE network_name = ? AND minute >= ?",
                (network, int(since.timestamp()) // 60),
            )
            .fetchone()
        )
        return int(row[0])

    def pending_accounts(
        self,
        network: str | None = None,
        *,
        limit: int = 100,
    ) -> list[LineageRecord]:
        records: list[LineageRecord] = []
        for status, order in (("PROCESSING", "processing_started_at"), ("PENDING", "priority, created_at")):
            if len(records) >= limit:
                break
            sql = f"SELECT * FROM lineage WHERE status = ?{' AND network_name = ?' if network else ''}"
            params = (status, network) if network else (status,)
            rows = self._conn().execute(f"{sql} ORDER BY {order} LIMIT ?", (*params, limit - len(records))).fetchall()
            records.extend(_row_to_record(r) for r in rows)
        return records

    # --- spend ledger -------------------------------------------------------------------------
    def record_spend(self, entry: SpendEntry) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO spend_ledger (at, kind, network_name, bytes, usd, accounts, decision, run_id,"
                " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts(entry.at),
                    entry.kind,
                    entry.network,
                    int(entry.bytes),
                    float(entry.usd),
                    int(entry.accounts),
                    entry.decision,
                    entry.run_id,
                    entry.detail[:2000],
                ),
            )

    def spend_summary(self, *, now: dt.datetime | None = None) -> dict[str, Any]:
        today = (now or utcnow()).astimezone(dt.timezone.utc).date().isoformat()
        out = dict.fromkeys(("today_usd", "total_usd", "saved_usd"), 0.0)
        out.update(dict.fromkeys(("today_bytes", "total_bytes", "jobs", "dry_runs", "refused", "accounts_billed"), 0))
        for day, kind, refused, entries, nbytes, usd, accounts in self._conn().execute(
            "SELECT day, kind, refused, entries, bytes, usd, accounts FROM spend_totals"
        ):
            if kind == "dry_run":
                out["dry_runs"] += entries
                if refused:
                    out["refused"] += entries
                    out["saved_usd"] += usd
                continue
            out["jobs"] += entries
            out["total_usd"] += usd
            out["total_bytes"] += nbytes
            out["accounts_billed"] += accounts
            if day == today:
                out["today_usd"] += usd
                out["today_bytes"] += nbytes
        return out
