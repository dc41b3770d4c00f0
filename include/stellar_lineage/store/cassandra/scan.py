"""Whole-table reads of the Cassandra store (export, admin tools), mixed into
``CassandraLineageStore``. Never used by stats or per-request pages: those read aggregates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from include.stellar_lineage.records import LineageRecord
from include.stellar_lineage.store.base import record_matches
from include.stellar_lineage.store.cassandra import queue as q


class ScanMixin:
    # provided by CassandraLineageStore
    session: Any

    @property
    def stmts(self) -> dict[str, Any]:
        raise NotImplementedError  # the store prepares them

    def iter_records(
        self,
        *,
        network: str | None = None,
        status: str | None = None,
        source: str | None = None,
        updated_since: dt.datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[LineageRecord]:
        # The key is ((network, account)): a network's rows are spread over the ring, so an export
        # reads the whole table in token order through the driver's paging (fetch_size rows per
        # request, the next page fetched on demand) and filters here; no ALLOW FILTERING, flat memory.
        bound = self.stmts["scan_records"].bind(())
        bound.fetch_size = page_size
        for row in self.session.execute(bound):
            record = q.row_to_record(row)
            if record_matches(record, network=network, status=status, source=source, since=updated_since):
                yield record
