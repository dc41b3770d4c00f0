"""What happened to one account after the creator graph's ``as_of_ledger``, from Horizon.

Horizon's account payments stream holds every ``create_account`` the account took part in, ordered by
operation id (a TOID: ``ledger << 32 | tx << 12 | op``, reference/stellar_apis.md). Ascending from the
cursor ``(as_of + 1) << 32`` (no operation has transaction order 0, so nothing of ledger as_of+1 is
skipped) it returns exactly the records after the graph: children created later and, for an account
merged and re-created later, its new creation. Public Horizon keeps ~1 year: an ascending cursor below
the retention floor silently starts at ``history_elder_ledger``, so a graph older than that leaves a
gap and the children list stays "as of ledger N".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from include.stellar_lineage.clients.horizon import MAX_PAGE
from include.stellar_lineage.clients.lineage_fetch import parse_time


@dataclasses.dataclass
class Delta:
    creation: dict[str, Any] | None = None  # the account's latest create_account after as_of
    children: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # in creation order
    exhausted: bool = False  # read up to Horizon's latest ledger
    gap: bool = False  # Horizon's history starts after as_of + 1: records in between are unknown
    requests: int = 0

    @property
    def created_at(self) -> dt.datetime | None:
        return None if self.creation is None else parse_time(self.creation.get("created_at"), "horizon create_account")


def unchanged_since(state: dict[str, Any], as_of_ledger: int) -> bool:
    """Whether the account entry was last modified at or before ``as_of_ledger`` (see graph_resolve)."""
    value = state.get("last_modified_ledger")
    return isinstance(value, int) and not isinstance(value, bool) and value <= as_of_ledger


def cursor_after(as_of_ledger: int) -> str:
    return str((as_of_ledger + 1) << 32)


def scan_after(horizon: Any, account: str, as_of_ledger: int, *, max_pages: int, page_limit: int = MAX_PAGE) -> Delta:
    """One ascending payments scan of ``account`` from the as_of cursor (up to ``max_pages`` pages)."""
    delta, cursor = Delta(), cursor_after(as_of_ledger)
    seen: set[str] = set()
    for _ in range(max_pages):
        records = horizon.page(account, "payments", order="asc", limit=page_limit, cursor=cursor)
        delta.requests += 1
        for rec in records:
            if rec.get("type") != "create_account":
                continue
            target, funder = rec.get("account"), rec.get("funder") or rec.get("source_account")
            if target == account:
                delta.creation = rec  # ascending: the last one seen is the latest
            elif funder == account and isinstance(target, str) and target not in seen:
                seen.add(target)
                delta.children.append(
                    {"account": target, "created_at": rec.get("created_at"), "ledger": int(rec["paging_token"]) >> 32}
                )
        if len(records) < page_limit:
            delta.exhausted = True
            break
        cursor = records[-1]["paging_token"]
    delta.gap = horizon.history_elder_ledger() > as_of_ledger + 1
    return delta
