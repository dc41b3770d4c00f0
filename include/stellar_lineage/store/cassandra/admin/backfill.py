"""One-off backfill run by migration 003 on a table that already holds rows (a seed deployment).

Rows written before 003 have no queue/claim tokens, no index entries and are not in the counters, so
without this step they would never be claimed nor counted. This is the only full-table read in the
Cassandra store and it runs once, inside ``migrate()``, before 003 is recorded as applied; stop the
workers while migrating. It is safe to re-run after a crash:

* rows that already carry a token are skipped (the token is set with an LWT after the hint is written);
* counters are set to the scanned totals by adding the difference to their current value, not by
  blindly adding, so a second run does not double them.

Seed rows stuck in PROCESSING with no ``processing_started_at`` (the seed never recovered those) get
the epoch as claim time, so the next ``recover_stuck`` requeues them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from include.stellar_lineage.records import Status
from include.stellar_lineage.store.cassandra import queue as q

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def backfill(store: Any, *, log: Any = None) -> dict[str, int]:
    now = q.ms(dt.datetime.now(dt.UTC))
    counts: Counter[tuple[str, str, str]] = Counter()
    networks: set[str] = set()
    adopted = 0
    stmt = store.stmts["scan_all"]
    stmt.fetch_size = 1000  # paged: memory stays flat however big the table is
    for row in store.session.execute(stmt):
        network, account, status = row.network_name, row.stellar_account, row.status
        networks.add(network)
        source = (row.pipeline_source or "") if status == Status.COMPLETE.value else ""
        counts[(network, status or "", source)] += 1
        if status == Status.PENDING.value and row.queue_token is None:
            created = q.aware(row.created_at) or now
            hint = q.hint_for_row(row, network, q.new_token(), created)
            store.execute("pending_put", hint.key())
            if store.execute("adopt_pending", (hint.queue_token, hint.priority, created, network, account)).one()[0]:
                adopted += 1
            else:
                store.execute("pending_del", hint.key())
        elif status == Status.PROCESSING.value and row.claim_token is None:
            started = q.aware(row.processing_started_at) or EPOCH
            token = q.new_token()
            entry = (network, q.bucket(account), started, account, token)
            store.execute("processing_put", entry)
            if store.execute("adopt_processing", (token, started, network, account)).one()[0]:
                adopted += 1
            else:
                store.execute("processing_del", entry)
    for network in networks:
        store.execute("network_put", (network,))
        current = {(r.status, r.pipeline_source): r.n for r in store.execute("counts", (network,))}
        keys = {k[1:] for k in counts if k[0] == network} | set(current)
        for status, source in keys:
            delta = counts.get((network, status, source), 0) - current.get((status, source), 0)
            if delta:
                store.execute("count_add", (delta, network, status, source))
    if log:
        log.info("backfill: %d rows scanned, %d adopted into the queue indexes", sum(counts.values()), adopted)
    return {"rows": sum(counts.values()), "adopted": adopted}


def index_failed(store: Any, *, log: Any = None) -> int:
    """Migration 004's post step (and part of ``--recount``): FAILED rows written before 004 get their
    ``lineage_failed_index`` entry, so the FAILED timer and the retry-all DAG find them too. The entry
    keys on the row's ``updated_at`` (when it failed), so a re-run writes the same entries again."""
    indexed = 0
    stmt = store.stmts["scan_all"]
    stmt.fetch_size = 1000
    for row in store.session.execute(stmt):
        if row.status == Status.FAILED.value:
            when = q.aware(row.updated_at) or EPOCH
            store.execute("failed_put", q.failed_entry(row.network_name, row.stellar_account, when))
            indexed += 1
    if log:
        log.info("failed index: %d FAILED rows indexed", indexed)
    return indexed


def index_complete(store: Any, *, log: Any = None) -> int:
    """Migration 008's post step (and part of ``--recount`` and the seed copy): COMPLETE rows written
    before 008 get ``completed_at`` (their ``updated_at``, the best known collection time; an LWT
    ``IF completed_at = null``, so a newer completion is never overwritten) and their
    ``lineage_complete_index`` entry, so the refresh policy finds them. Re-runnable: a row that already
    has ``completed_at`` gets the same entry again."""
    indexed = 0
    stmt = store.stmts["scan_complete"]
    stmt.fetch_size = 1000  # paged: memory stays flat however big the table is
    for row in store.session.execute(stmt):
        if row.status != Status.COMPLETE.value:
            continue
        when = q.aware(row.completed_at or row.updated_at) or EPOCH
        entry = q.complete_entry(row.network_name, row.stellar_account, when)
        store.execute("complete_put", entry)  # entry first, as on every COMPLETE transition
        if row.completed_at is None:
            rs = store.execute("adopt_complete", (q.ms(when), row.network_name, row.stellar_account))
            if not rs.one()[0]:
                store.execute("complete_del", entry)  # completed again (or left COMPLETE) meanwhile
                continue
        indexed += 1
    if log:
        log.info("complete index: %d COMPLETE rows indexed", indexed)
    return indexed
