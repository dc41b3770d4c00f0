"""A synthetic Stellar network at scale for the creator-graph tests and benchmarks (issue 15), with its
ground truth, and an emulator loader that uses NDJSON load jobs (``insert_rows_json`` copies the
whole table per call and does not scale: reference/hubble_graph.md).

What the world contains (rows shaped like Hubble's ``enriched_history_operations`` and
``history_ledgers``, MONTH partitions on ``closed_at``):

* ``n_creates`` successful create_account operations in strictly increasing ledgers (TOID op ids),
  spread over ``months`` months, plus payment rows as dense-column noise;
* failed transactions: create_account rows with ``successful = false`` - attempts on accounts that
  never exist, a different funder's failed attempt AFTER an account's real creation (must not win),
  and failed creates of existing accounts;
* merged + re-created accounts (account_merge rows carry ``account`` too, but no funder), including a
  creation cycle: A creates B, A merges into B, B re-creates A;
* muxed funders: ``funder`` is the G account and ``funder_muxed`` the M form, as stellar-etl writes;
* ``later``: operations in ledgers after a cut, for "accounts created after the last load".

The truth is kept by the simulation itself (who created each account's current incarnation, in
which ledger, at what time), not derived from the rows with the query's own rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import random
import time
from typing import Any

from stellar_sdk import MuxedAccount, StrKey

ROOT = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
START = dt.datetime(2016, 1, 1, tzinfo=dt.timezone.utc)


def address(seed: int, i: int) -> str:
    return StrKey.encode_ed25519_public_key(hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=32).digest())


@dataclasses.dataclass(frozen=True)
class Truth:
    creator: str
    ledger: int
    created_at: dt.datetime


@dataclasses.dataclass
class World:
    ops: list[dict[str, Any]]  # enriched_history_operations rows, ledgers <= cut
    ledgers: list[dict[str, Any]]  # history_ledgers rows, <= cut
    later_ops: list[dict[str, Any]]  # rows after the cut
    later_ledgers: list[dict[str, Any]]
    truth: dict[str, Truth]  # account -> its current creation, up to the cut
    truth_later: dict[str, Truth]  # the same including the later ledgers
    cut_ledger: int
    cycle: tuple[str, str]  # (A, B): A created B, then B re-created A
    recreated: list[str]
    muxed_children: list[str]
    failed_only: list[str]  # accounts with failed creates only: no edge
    failed_after: list[str]  # accounts whose failed create came after their real one


def generate(
    n_creates: int, *, seed: int = 7, months: int = 24, later_creates: int = 0, later_months: int = 2
) -> World:
    rng = random.Random(seed)
    total = n_creates + later_creates
    per_ledger = 3
    span = dt.timedelta(days=30.4 * months)
    step = span / max(1, n_creates // per_ledger)
    later_step = dt.timedelta(days=30.4 * later_months) / max(1, later_creates // per_ledger)
    live: list[str] = [ROOT]
    state: dict[str, Truth] = {}
    ops: list[dict[str, Any]] = []
    ledgers: list[dict[str, Any]] = []
    w = World([], [], [], [], {}, {}, 0, ("", ""), [], [], [], [])
    counter = iter(range(10**9))
    ledger, when = 1000, START
    cut_at: int | None = None
    creates = 0

    def op_row(ledger: int, tx: int, idx: int, closed: dt.datetime, **cols: Any) -> dict[str, Any]:
        text = closed.strftime("%Y-%m-%dT%H:%M:%S")
        op_id = ledger << 32 | tx << 12 | idx
        row = {
            "op_id": op_id,
            "type": 1,
            "account": None,
            "funder": None,
            "funder_muxed": None,
            "starting_balance": None,
            "op_source_account": None,
            "transaction_id": op_id & ~0xFFF,
            "ledger_sequence": ledger,
            "successful": True,
            "closed_at": text + "Z",
            "batch_run_date": text,
        }
        row.update(cols)
        return row

    def create(
        ledger: int, tx: int, idx: int, closed: dt.datetime, funder: str, account: str, ok: bool = True, muxed=False
    ):
        cols = {"type": 0, "account": account, "funder": funder, "starting_balance": 1.5, "successful": ok}
        cols["op_source_account"] = funder
        if muxed:
            m = MuxedAccount(funder, rng.randrange(1, 2**63)).account_muxed
            cols["funder_muxed"] = m
            cols["op_source_account"] = m
        ops.append(op_row(ledger, tx, idx, closed, **cols))
        if ok:
            state[account] = Truth(funder, ledger, closed)

    def merge(ledger: int, tx: int, idx: int, closed: dt.datetime, account: str, into: str):
        ops.append(op_row(ledger, tx, idx, closed, type=8, account=account, op_source_account=account))
        state.pop(account, None)

    pending_cycle = None
    while creates < total:
        if cut_at is None and creates >= n_creates:
            cut_at = ledger - 1
            w.truth = dict(state)
            w.ops, w.ledgers = ops, ledgers
            ops, ledgers = [], []
            when = when + dt.timedelta(days=1)
        ledger += 1
        when = (when + (step if cut_at is None else later_step)).replace(
            microsecond=0
        )  # ledgers close on whole seconds
        ledgers.append(
            {
                "sequence": ledger,
                "closed_at": when.strftime("%Y-%m-%dT%H:%M:%S") + "Z",
                "batch_run_date": when.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
        for tx in range(1, per_ledger + 1):
            if creates >= total:
                break
            funder = live[-1 - int(rng.paretovariate(1.2)) % len(live)] if rng.random() < 0.5 else rng.choice(live)
            roll = rng.random()
            if roll < 0.01 and len(live) > 10 and pending_cycle is None and not w.cycle[0]:
                # cycle: A creates B now; later A merges into B and B re-creates A
                a = rng.choice([x for x in live[-50:] if x != ROOT and x in state])
                b = address(seed, next(counter))
                create(ledger, tx, 1, when, a, b)
                live.append(b)
                pending_cycle = (a, b, ledger + 20)
                creates += 1
                continue
            if pending_cycle is not None and ledger >= pending_cycle[2]:
                a, b, _ = pending_cycle
                merge(ledger, tx, 1, when, a, b)
                create(ledger, tx, 2, when, b, a)  # B re-creates A in the same transaction
                w.cycle, pending_cycle = (a, b), None
                w.recreated.append(a)
                creates += 1
                continue
            if roll < 0.02 and len(state) > 100:
                # merge an account and re-create it in a later transaction of this ledger, by another funder
                victim = live[-1 - rng.randrange(min(5000, len(live)))]
                if victim != ROOT and victim in state and victim not in w.cycle:
                    merge(ledger, tx, 1, when, victim, funder)
                    other = rng.choice(live)
                    if other != victim:
                        create(ledger, tx, 2, when, other, victim, muxed=rng.random() < 0.2)
                        w.recreated.append(victim)
                        creates += 1
                        continue
            account = address(seed, next(counter))
            if roll < 0.04:
                # a failed create of an account that never gets created
                create(ledger, tx, 1, when, funder, account, ok=False)
                w.failed_only.append(account)
                continue
            muxed = 0.04 <= roll < 0.07
            create(ledger, tx, 1, when, funder, account, muxed=muxed)
            if muxed:
                w.muxed_children.append(account)
            live.append(account)
            creates += 1
            if 0.07 <= roll < 0.10:
                # another funder's FAILED attempt after the real creation (higher op id): must not win
                create(ledger, tx, 2, when, rng.choice(live), account, ok=False)
                w.failed_after.append(account)
            if roll > 0.6:
                ops.append(op_row(ledger, tx, 3, when, type=1, op_source_account=funder))
    if cut_at is None:
        cut_at = ledger
        w.truth = dict(state)
        w.ops, w.ledgers = ops, ledgers
        ops, ledgers = [], []
    w.later_ops, w.later_ledgers = ops, ledgers
    w.truth_later = dict(state)
    w.cut_ledger = cut_at
    return w


def _schemas():
    from google.cloud.bigquery import SchemaField as F

    enriched = [
        F("op_id", "INT64"),
        F("type", "INT64"),
        F("account", "STRING"),
        F("funder", "STRING"),
        F("funder_muxed", "STRING"),
        F("starting_balance", "FLOAT64"),
        F("op_source_account", "STRING"),
        F("transaction_id", "INT64"),
        F("ledger_sequence", "INT64"),
        F("successful", "BOOL"),
        F("closed_at", "TIMESTAMP"),
        F("batch_run_date", "DATETIME"),
    ]
    ledgers = [F("sequence", "INT64"), F("closed_at", "TIMESTAMP"), F("batch_run_date", "DATETIME")]
    return enriched, ledgers


def create_tables(client: Any, project: str, dataset: str) -> tuple[str, str]:
    """Empty Hubble-shaped tables in ``project.dataset`` (+ ``_dbt``), partitioned like Hubble's."""
    from google.cloud import bigquery

    for name in (dataset, f"{dataset}_dbt"):
        client.create_dataset(bigquery.Dataset(f"{project}.{name}"), exists_ok=True)
    enriched_schema, ledger_schema = _schemas()
    enriched = bigquery.Table(f"{project}.{dataset}_dbt.enriched_history_operations", schema=enriched_schema)
    enriched.time_partitioning = bigquery.TimePartitioning(type_="MONTH", field="closed_at")
    enriched.clustering_fields = ["ledger_sequence", "transaction_id", "type"]
    ledgers = bigquery.Table(f"{project}.{dataset}.history_ledgers", schema=ledger_schema)
    ledgers.time_partitioning = bigquery.TimePartitioning(type_="MONTH", field="closed_at")
    ledgers.clustering_fields = ["sequence", "closed_at"]
    for table in (enriched, ledgers):
        client.delete_table(table, not_found_ok=True)
        client.create_table(table)
    return str(enriched.reference), str(ledgers.reference)


def load_ndjson(client: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Append rows with ONE load job (newline-delimited JSON, resumable upload: no size given, which
    also avoids bqemulator's failing multipart upload)."""
    from google.cloud import bigquery

    if not rows:
        return
    payload = io.BytesIO("\n".join(json.dumps(r, separators=(",", ":")) for r in rows).encode())
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
    )
    before = _count(client, table)
    client.load_table_from_file(payload, table, job_config=config).result(timeout=900)
    # the load job reports DONE before every reader sees the rows under load: wait until they do
    deadline = time.monotonic() + 120
    while (seen := _count(client, table)) < before + len(rows):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{table}: {seen} rows visible, expected {before + len(rows)}")
        time.sleep(0.5)


def _count(client: Any, table: str) -> int:
    return int(next(iter(client.query(f"SELECT COUNT(*) FROM `{table}`").result()))[0])


def load_world(client: Any, project: str, dataset: str, world: World) -> None:
    enriched, ledgers = create_tables(client, project, dataset)
    load_ndjson(client, enriched, world.ops)
    load_ndjson(client, ledgers, world.ledgers)


def append_later(client: Any, project: str, dataset: str, world: World) -> None:
    load_ndjson(client, f"{project}.{dataset}_dbt.enriched_history_operations", world.later_ops)
    load_ndjson(client, f"{project}.{dataset}.history_ledgers", world.later_ledgers)
