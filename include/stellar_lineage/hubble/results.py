"""Turn the batch query's rows into per-account lineage, and add the fresh attributes from Horizon.

Hubble answers creator, creation time/ledger and children with full history. What it does not have
fresh (balance, home domain, flags, signers, trustlines) comes from Horizon ``/accounts/{id}`` and the
Stellar Expert directory (tags), through the API clients and therefore through the host-wide rate
limiter shared with the API DAG. Children use the same shape as the API path
(``{"account", "created_at" ISO-8601 Z, "starting_balance" 7-decimal string}``), so results from the
two paths compare equal. Account ids from Hubble are validated (``validation.account_or_none``) like
the API's: an invalid creator row is dropped (the account is then "not found" here and goes to the API
path), an invalid child is dropped and counted in ``invalid_dropped``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult, account_attributes, native_balance
from include.stellar_lineage.validation import account_or_none


@dataclasses.dataclass
class HubbleLineage:
    account: str
    creator: str | None = None
    created_at: dt.datetime | None = None
    creation_ledger: int | None = None
    starting_balance: str | None = None
    creation_op_id: int | None = None
    children: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    child_total: int = 0
    found: bool = False  # a creation row was returned (or the account is the network root)
    invalid_dropped: int = 0  # child ids that were not valid G… accounts
    as_of_ledger: int | None = None  # Hubble's last loaded ledger: children are complete up to it
    ancestor: bool = False  # not requested: an account up a requested account's creator chain


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def iso_z(value: dt.datetime | None) -> str | None:
    """Horizon's timestamp format, so children compare equal across the two paths."""
    return None if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount(value: Any) -> str | None:
    """Hubble's FLOAT64 starting_balance as Horizon's exact 7-decimal string.

    ``repr`` of a float is the shortest string that round-trips, so amounts with at most 7 decimals
    and up to ~1e8 XLM come back exactly; larger values may differ in the last stroop.
    """
    if value is None:
        return None
    return f"{Decimal(repr(float(value))):.7f}"


def parse_rows(rows: Iterable[dict[str, Any]], accounts: Sequence[str], *, network: str) -> dict[str, HubbleLineage]:
    """Rows of hubble_lineage.sql → one ``HubbleLineage`` per requested account, plus one per ancestor
    the query walked to (``ancestor=True``: a subject that was not requested)."""
    out = {account: HubbleLineage(account) for account in accounts}
    order: dict[tuple[str, str], int] = {}  # (subject, child) -> op_id: children in creation order
    as_of: int | None = None
    for row in rows:
        if row.get("as_of_ledger") is not None:
            as_of = int(row["as_of_ledger"])
        item = out.get(row["subject"])
        if item is None:  # an ancestor: validated like every id from Hubble before it is stored or queued
            subject = account_or_none(row["subject"], "hubble ancestor of a requested account")
            if subject is None:
                continue
            item = out[subject] = HubbleLineage(subject, ancestor=True)
        related = account_or_none(row["related"], f"hubble {row['kind']} of a requested account")
        if related is None:
            item.invalid_dropped += row["kind"] == "child"
            continue
        if row["kind"] == "creator":
            item.creator, item.found = related, True
            item.created_at = _utc(row["created_at"])
            item.creation_ledger = None if row.get("ledger") is None else int(row["ledger"])
            item.creation_op_id = None if row.get("op_id") is None else int(row["op_id"])
            item.starting_balance = amount(row.get("starting_balance"))
        elif row["kind"] == "child":
            item.child_total = int(row.get("child_total") or 0)
            order[(item.account, related)] = int(row.get("op_id") or 0)
            item.children.append(
                {
                    "account": related,
                    "created_at": iso_z(_utc(row["created_at"])),
                    "starting_balance": amount(row.get("starting_balance")),
                }
            )
    root = NETWORK_ROOTS.get(network)
    if root in out:
        out[root].found = True  # created at genesis: no create_account row exists anywhere
    for item in out.values():
        subject = item.account
        item.children.sort(key=lambda c: (order.get((subject, c["account"]), 0), c["account"]))  # noqa: B023
        item.child_total = max(item.child_total, len(item.children))
        item.as_of_ledger = as_of
    return out


def lineage_result(
    item: HubbleLineage, state: dict[str, Any], tags: list[str] | None, *, delta: Any = None, unchanged: bool = False
) -> LineageResult:
    """Combine Hubble's lineage with Horizon's current state (see module doc).

    Hubble's children are complete up to its ``as_of_ledger``; after it, Horizon's ``delta`` scan
    (``graph_delta.scan_after``) adds the later children, or ``unchanged`` says the account's entry
    was not modified since (so it created nobody since). Only then is the list complete."""
    attributes = account_attributes(state)
    attributes["creation"] = {
        "ledger": item.creation_ledger,
        "op_id": item.creation_op_id,
        "starting_balance": item.starting_balance,
        "transaction_hash": None,
    }  # not selected: see hubble_lineage.sql header
    children, total = list(item.children), item.child_total
    creator, created_at = item.creator, item.created_at
    covered_after = unchanged
    if delta is not None:
        if delta.creation is not None:  # merged and re-created after Hubble's last load
            creator = delta.creation.get("funder") or delta.creation.get("source_account")
            created_at = delta.created_at
        known = {c["account"] for c in children}
        new = [c for c in delta.children if c["account"] not in known]
        children += new
        total += len(new)
        covered_after = delta.exhausted and not delta.gap
    return LineageResult(
        creator=creator,
        created_at=created_at,
        home_domain=state.get("home_domain") or None,
        xlm_balance=native_balance(state),
        attributes=attributes,
        assets=[dict(b) for b in state["balances"] if b.get("asset_type") != "native"],
        children={
            "count": total,
            "children": children,
            "complete": covered_after
            and item.as_of_ledger is not None
            and len(children) >= total
            and not item.invalid_dropped,
            "source": "hubble" if delta is None else "hubble+horizon",
            "as_of_ledger": item.as_of_ledger,
            **({"invalid_dropped": item.invalid_dropped} if item.invalid_dropped else {}),
        },
        tags=tags,
        creator_source="hubble" if item.creator else "genesis",
    )
