"""The read side of the ``LineageStore`` interface: records by key, paged iteration (export), queue depth,
stats from maintained aggregates, the pending list, and what is derived from them (which claimed
records an owner still holds, an account's lineage). ``LineageStore`` inherits it.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from include.stellar_lineage.payloads import ClaimedRecord
from include.stellar_lineage.records import NETWORK_ROOTS, LineageRecord, Status


class RecordReads(abc.ABC):
    @abc.abstractmethod
    def get_many(self, network: str, accounts: Sequence[str]) -> dict[str, LineageRecord]:
        """Records by account for the given accounts; unknown accounts are absent."""

    def get(self, network: str, account: str) -> LineageRecord | None:
        return self.get_many(network, [account]).get(account)

    @abc.abstractmethod
    def iter_records(
        self,
        *,
        network: str | None = None,
        status: str | None = None,
        source: str | None = None,
        updated_since: dt.datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[LineageRecord]:
        """Every record matching the filters, read ``page_size`` rows at a time (export). Memory stays
        flat whatever the table size; order is the store's key order. A whole-table read by nature:
        for exports and admin tools, never for stats or per-request pages."""

    @abc.abstractmethod
    def queue_depth(self, network: str | None = None) -> int:
        """Number of PENDING records (all networks when ``network`` is None)."""

    @abc.abstractmethod
    def stats(self, network: str, *, stuck_threshold: dt.timedelta, now: dt.datetime | None = None) -> dict[str, Any]:
        """Aggregates maintained by the store (no full scan). Shape::

        {"network": str,
         "by_status": {"PENDING": n, "PROCESSING": n, "COMPLETE": n, "FAILED": n, "INVALID": n},
         "complete_by_source": {"API": n, "BIGQUERY": n, "BIGQUERY_WITH_API_FALLBACK": n},
         "last_24h_by_source": {same keys},          # completions in the last 24 h
         "hourly_completions": [{"hour": iso, "API": n, "BIGQUERY": n,
                                 "BIGQUERY_WITH_API_FALLBACK": n}, ...],  # 24 entries, oldest first
         "stuck": n}                                # PROCESSING older than stuck_threshold
        """

    def completions_since(self, network: str, since: dt.datetime, *, now: dt.datetime | None = None) -> int:
        """Records completed since ``since`` (at most 24 h back). This default reads the hourly
        buckets of ``stats`` (hour precision: a partly covered hour counts whole); backends with finer
        aggregates override it."""
        stats = self.stats(network, stuck_threshold=dt.timedelta(minutes=15), now=now)
        total = 0
        for bucket in stats["hourly_completions"]:
            if dt.datetime.fromisoformat(bucket["hour"]) + dt.timedelta(hours=1) > since:
                total += sum(v for k, v in bucket.items() if k != "hour")
        return total

    @abc.abstractmethod
    def pending_accounts(
        self,
        network: str | None = None,
        *,
        limit: int = 100,
    ) -> list[LineageRecord]:
        """Up to ``limit`` PENDING/PROCESSING records, PROCESSING first, then claim order."""

    def held_by(self, claimed: Sequence[ClaimedRecord], owner: str) -> dict[str, list[str]]:
        """Of the claimed ``[{"network", "account"}]``, those ``owner`` still holds (PROCESSING under
        its claim), by network in input order: a retried task skips what its first try finished."""
        wanted: dict[str, list[str]] = {}
        for item in claimed:
            wanted.setdefault(item["network"], []).append(item["account"])
        held: dict[str, list[str]] = {}
        for network, accounts in wanted.items():
            found = self.get_many(network, accounts)
            mine = [
                a
                for a in accounts
                if (r := found.get(a)) is not None and r.status == Status.PROCESSING.value and r.claim_owner == owner
            ]
            if mine:
                held[network] = mine
        return held

    def lineage(self, network: str, account: str, *, max_depth: int = 256) -> dict[str, Any] | None:
        """The record, its chain of creators up to the root (or the first unknown ancestor) and
        its children. A cycle in bad data ends the walk instead of looping."""
        record = self.get(network, account)
        if record is None:
            return None
        chain: list[LineageRecord] = []
        seen = {account}
        current = record
        while current.stellar_creator_account and len(chain) < max_depth:
            creator = current.stellar_creator_account
            if creator in seen:
                break
            seen.add(creator)
            parent = self.get(network, creator)
            if parent is None:
                chain.append(LineageRecord(stellar_account=creator, network_name=network, status="UNKNOWN"))
                break
            chain.append(parent)
            current = parent
        root = NETWORK_ROOTS.get(network)
        return {
            "record": record,
            "chain": chain,
            "reaches_root": bool(chain and chain[-1].stellar_account == root) or account == root,
        }


def record_matches(
    record: LineageRecord, *, network: str | None, status: str | None, source: str | None, since: dt.datetime | None
) -> bool:
    """The ``iter_records`` filters, for backends that cannot push them into the read."""
    return (
        (network is None or record.network_name == network)
        and (status is None or record.status == status)
        and (source is None or record.pipeline_source == source)
        and (since is None or (record.updated_at is not None and record.updated_at >= since))
    )
