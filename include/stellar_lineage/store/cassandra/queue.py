"""Low-level pieces of the Cassandra store: statements, row conversion and the queue-index helpers.

The index tables (``lineage_pending_index``, ``lineage_processing_index``) are *hints*: the lineage
row, changed only through lightweight transactions, is the authority. The rules that keep hints from
losing a record (see ``store/cassandra.py`` for the full picture):

* hint first: an index entry is written **before** the LWT that makes the row PENDING/PROCESSING, so
  a crash between the two leaves a stale hint, never an un-indexed row;
* every PENDING episode / every claim gets a fresh timeuuid (``queue_token`` / ``claim_token``) that
  is part of the index key, so deleting an old entry can never delete a newer one;
* an entry that does not match the row's current token is deleted only once it is older than
  ``STALE_GRACE``: before that it may belong to a transition whose LWT is still in flight.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import heapq
import re
import uuid
import zlib
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path
from typing import Any, overload

from cassandra.query import _clean_column_name

from include.stellar_lineage.records import LineageRecord

STATEMENTS_FILE = Path(__file__).with_name("cql") / "statements.cql"
BUCKETS = 8  # index partitions per network: bounds partition size at ~N/8 entries
STALE_GRACE = dt.timedelta(minutes=10)
UTC = dt.UTC
_RECORD_FIELDS = [f.name for f in dataclasses.fields(LineageRecord)]
_TIME_FIELDS = {f.name for f in dataclasses.fields(LineageRecord) if "datetime" in str(f.type)}
ROW_COLUMNS = [*_RECORD_FIELDS, "claim_token", "queue_token", "queue_seq"]
LWT = {
    "insert_new",
    "reset",
    "claim",
    "complete",
    "complete_pending",
    "retry",
    "invalid",
    "release",
    "recover",
    "adopt_pending",
    "adopt_processing",
    "followup_add",
    "followup_claim",
    "followup_release",
    "followup_delete",
    "record_data",
    "record_note",
    "requeue",
    "renew",
    "refresh_requeue",
    "adopt_complete",
}


_ROW_TYPES: dict[tuple[str, ...], Any] = {}


def row_factory(colnames: list[str], rows: list[Any]) -> list[Any]:
    """The driver's ``named_tuple_factory`` with each row type built once per column list: the driver
    builds a new namedtuple class (compiling code) for every result, ≈ 0.3 ms of client CPU per read
    or LWT, more than the rest of the request (benchmarks/RESULTS.md, graph mode on Cassandra). With
    it ``ResultSet.was_applied`` refuses to answer, so an LWT's outcome is read as ``rs.one()[0]``:
    ``[applied]`` is always the first column of an LWT result."""
    key = tuple(colnames)
    row_type = _ROW_TYPES.get(key)
    if row_type is None:
        row_type = _ROW_TYPES[key] = namedtuple("Row", [_clean_column_name(c) for c in colnames])
    return [row_type(*r) for r in rows]


def use_row_factory(session: Any) -> None:
    """Make ``session`` return rows through ``row_factory`` (legacy or execution-profile clusters)."""
    try:
        session.row_factory = row_factory
    except ValueError:  # the cluster is configured with execution profiles
        session.cluster.profile_manager.default.row_factory = row_factory


def load_statements(keyspace: str) -> dict[str, str]:
    """``-- name: key`` blocks of statements.cql with ``{ks}``/``{cols}`` filled in."""
    blocks: dict[str, str] = {}
    name = None
    for line in STATEMENTS_FILE.read_text().splitlines():
        if m := re.match(r"^--\s*name:\s*(\w+)", line):
            name = m.group(1)
            blocks[name] = ""
        elif name and not line.lstrip().startswith("--"):
            blocks[name] += line + "\n"
    cols = ", ".join(ROW_COLUMNS)
    return {k: v.strip().replace("{ks}", keyspace).replace("{cols}", cols) for k, v in blocks.items()}


def bucket(account: str, buckets: int = BUCKETS) -> int:
    """The shard of ``account`` among ``buckets`` partitions (queue indexes; follow-ups and the recent
    list pass their own count). crc32, not hash(): must be identical in every process and Python version."""
    return zlib.crc32(account.encode()) % buckets


def new_token() -> uuid.UUID:
    return uuid.uuid1()


def token_time(token: uuid.UUID) -> dt.datetime:
    # uuid1 timestamps count 100 ns intervals since 1582-10-15.
    return dt.datetime(1582, 10, 15, tzinfo=UTC) + dt.timedelta(microseconds=token.time // 10)


def is_old(token: uuid.UUID) -> bool:
    return dt.datetime.now(UTC) - token_time(token) > STALE_GRACE


def ms(value: dt.datetime) -> dt.datetime:
    """Cassandra timestamps have millisecond precision; truncate once so keys compare equal."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the store keeps timezone-aware UTC times only")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@overload
def aware(value: dt.datetime) -> dt.datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: dt.datetime | None) -> dt.datetime | None:
    # the driver returns naive datetimes that are UTC
    return None if value is None else value.replace(tzinfo=UTC)


def to_decimal(value: str | None) -> decimal.Decimal | None:
    return None if value is None else decimal.Decimal(value)


def row_to_record(row: Any) -> LineageRecord:
    data = row._asdict()
    values = {name: data.get(name) for name in _RECORD_FIELDS}
    for name in _TIME_FIELDS:
        values[name] = aware(values[name])
    if values["xlm_balance"] is not None:
        values["xlm_balance"] = format(values["xlm_balance"], "f")
    values["retry_count"] = values["retry_count"] or 0
    values["failed_rounds"] = values["failed_rounds"] or 0
    if values["priority"] is None:  # rows written by the seed, before priorities existed
        values["priority"] = 1
    return LineageRecord(**values)


@dataclasses.dataclass(frozen=True, order=True)
class PendingHint:
    priority: int
    created_at: dt.datetime
    seq: int
    account: str
    queue_token: uuid.UUID
    network: str = dataclasses.field(compare=False)

    def key(self) -> tuple[Any, ...]:
        return (
            self.network,
            bucket(self.account),
            self.priority,
            ms(self.created_at),
            self.seq,
            self.account,
            self.queue_token,
        )


@dataclasses.dataclass(frozen=True)
class DelayedHint:
    """A PENDING episode that is not due before ``due``: kept in ``lineage_delayed_index`` until then."""

    due: dt.datetime
    pending: PendingHint

    def key(self) -> tuple[Any, ...]:
        p = self.pending
        return (p.network, bucket(p.account), ms(self.due), p.account, p.queue_token)

    def put_params(self) -> tuple[Any, ...]:
        return (*self.key(), self.pending.priority, ms(self.pending.created_at))


def hint_for_row(
    row: Any, network: str, token: uuid.UUID | None = None, created_at: dt.datetime | None = None
) -> PendingHint:
    """The index entry of ``row``'s PENDING episode: its current one, or a new one for ``token``."""
    return PendingHint(
        row.priority if row.priority is not None else 1,
        created_at or aware(row.created_at),
        0 if token else (row.queue_seq or 0),
        row.stellar_account,
        token or row.queue_token,
        network,
    )


def _bucket_stream(session: Any, stmts: dict[str, Any], network: str, b: int, page: int) -> Iterator[PendingHint]:
    # Pages through one index partition in clustering order, resuming after the last key seen,
    # so a batch never reads more of the queue than it consumes (plus one page).
    rows = list(session.execute(stmts["pending_head"], (network, b, page)))
    while rows:
        for r in rows:
            yield PendingHint(r.priority, aware(r.created_at), r.seq, r.stellar_account, r.queue_token, network)
        if len(rows) < page:
            return
        last = rows[-1]
        rows = list(
            session.execute(
                stmts["pending_after"],
                (network, b, last.priority, last.created_at, last.seq, last.stellar_account, last.queue_token, page),
            )
        )


def pending_in_order(session: Any, stmts: dict[str, Any], networks: list[str], page: int) -> Iterator[PendingHint]:
    """Every pending hint of ``networks`` in claim order (priority, age), merged across buckets."""
    streams = [_bucket_stream(session, stmts, n, b, page) for n in networks for b in range(BUCKETS)]
    return heapq.merge(*streams)


def promote_due(session: Any, stmts: dict[str, Any], networks: list[str], now: dt.datetime) -> int:
    """Move every delayed hint due by ``now`` into the pending index (pending entry first, then the
    delayed one is deleted: a crash in between leaves a duplicate hint, never a lost row). One range
    read per bucket; entries not yet due are never read."""
    moved = 0
    for network in networks:
        reads = [(b, session.execute_async(stmts["delayed_due"], (network, b, now))) for b in range(BUCKETS)]
        for b, future in reads:
            for e in future.result():
                created = aware(e.created_at) or now
                hint = PendingHint(
                    e.priority if e.priority is not None else 1, created, 0, e.stellar_account, e.queue_token, network
                )
                session.execute(stmts["pending_put"], hint.key())
                session.execute(stmts["delayed_del"], (network, b, e.next_attempt_at, e.stellar_account, e.queue_token))
                moved += 1
    return moved


def is_due(row: Any, now: dt.datetime) -> bool:
    due = aware(getattr(row, "next_attempt_at", None))
    return due is None or due <= now


def failed_entry(network: str, account: str, when: dt.datetime) -> tuple[Any, ...]:
    """The ``lineage_failed_index`` key of a FAILED episode that began at ``when``."""
    return (network, bucket(account), ms(when), account)


def complete_entry(network: str, account: str, when: dt.datetime) -> tuple[Any, ...]:
    """The ``lineage_complete_index`` key of a COMPLETE episode that began at ``when`` (migration 008)."""
    return (network, bucket(account), ms(when), account)
