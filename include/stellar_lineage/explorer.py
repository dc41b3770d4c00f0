"""What the lineage explorer (graph view + account page) shows, as plain data from the store.

* ``children_page``: one page of an account's children, searchable, each child with its own record's
  status / source / tags / child count (for badges and "expand"). Children come from the creator
  graph's children index when one is loaded for the network (``children_edges``, paged by op id:
  every creation is there), else from the record's ``child_accounts_json`` (offset paging).
  A page costs one keyed lookup of at most ``MAX_PAGE`` records, never a scan.
* ``account_details``: every stored attribute of a record, decoded, plus sentences that explain
  what the status and "children incomplete" mean for this record.
"""

from __future__ import annotations

import json
from typing import Any

from include.stellar_lineage.records import LineageRecord, Priority, Status
from include.stellar_lineage.store.base import LineageStore

MAX_PAGE = 500

CHILDREN_INCOMPLETE = (
    "The list of accounts this account created is partial: collection stopped at the configured "
    "maximum (stellar_lineage_bigquery_max_children) or Horizon keeps only about a year of history, "
    "so older creations are missing. The count is what was seen; the account may have created more."
)
STATUS_MEANING = {
    Status.PENDING.value: "Waiting in the queue for the API or BigQuery pipeline.",
    Status.PROCESSING.value: "Claimed by a pipeline run right now.",
    Status.COMPLETE.value: "Collected: creator, creation time, attributes and children are stored.",
    Status.FAILED.value: (
        "Gave up after the retry cap (stellar_lineage_max_retry_attempts); last_error says why. "
        "Enqueue it again to retry."
    ),
    Status.INVALID.value: "Horizon answered 404 for this account: it does not exist on this network.",
}


def _status_meaning(record: LineageRecord) -> str:
    meaning = STATUS_MEANING.get(record.status, "")
    if record.priority == Priority.REFRESH and record.status in (Status.PENDING.value, Status.PROCESSING.value):
        collected = f"at {record.completed_at.isoformat()}" if record.completed_at else "earlier"
        meaning += (
            f" Being refreshed (stellar_lineage_refresh_after_days): the data shown was collected {collected}"
            " and stays until the new collection replaces it."
        )
    return meaning


def _json(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return {"_unreadable": raw[:200]}


def tag_list(raw: str | None) -> list[str]:
    return [t for t in (raw or "").split(",") if t]


def child_count(raw: str | None) -> int:
    data = _json(raw)
    if not isinstance(data, dict):
        return 0
    return int(data.get("count") or len(data.get("children") or []))


def account_details(record: LineageRecord) -> dict[str, Any]:
    """Every stored field of the record, JSON columns decoded, with explanations."""
    children = _json(record.child_accounts_json)
    complete = bool(children.get("complete")) if isinstance(children, dict) else None
    why = None
    if record.status == Status.INVALID.value:
        why = record.last_error or "Horizon answered 404 for GET /accounts/{id}: the account does not exist."
    return {
        "attributes": _json(record.stellar_account_attributes_json) or {},
        "assets": _json(record.stellar_account_assets_json) or [],
        "tags": tag_list(record.tags),
        "children_count": child_count(record.child_accounts_json),
        "children_complete": complete,
        "children_source": children.get("source") if isinstance(children, dict) else None,
        "children_incomplete_meaning": CHILDREN_INCOMPLETE if complete is False else None,
        "status_meaning": _status_meaning(record),
        "invalid_reason": why,
    }


def _graph_available(store: LineageStore, network: str) -> bool:
    state = getattr(store, "graph_state", None)
    if state is None:
        return False
    try:
        return state(network) is not None
    except Exception:  # noqa: BLE001 - a store without the edge table answers from records instead
        return False


def _badges(store: LineageStore, network: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = store.get_many(network, [c["account"] for c in items])
    out = []
    for child in items:
        r = found.get(child["account"])
        out.append(
            {
                "account": child["account"],
                "created_at": child.get("created_at"),
                "starting_balance": child.get("starting_balance"),
                "status": r.status if r else None,
                "pipeline_source": r.pipeline_source if r else None,
                "tags": tag_list(r.tags) if r else [],
                "home_domain": r.home_domain if r else None,
                "children_count": child_count(r.child_accounts_json) if r else None,
            }
        )
    return out


def children_page(
    store: LineageStore,
    network: str,
    account: str,
    *,
    offset: int = 0,
    limit: int = 100,
    q: str = "",
    cursor: str | None = None,
) -> dict[str, Any] | None:
    """``{"account", "mode", "total", "matching", "offset", "limit", "items", "next_cursor",
    "complete", "source"}``; None when the account is unknown. ``q`` keeps children whose address
    (or home domain, when stored) contains it, case-insensitively."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    needle = q.strip().upper()
    record = store.get(network, account)
    if record is None:
        return None
    if _graph_available(store, network):
        # The creator graph's children index, paged by op id (cursor = the last op id returned);
        # a search filters the page (the index is ordered by creation, not by address).
        try:
            after = int(cursor) if cursor else None
        except ValueError:
            raise ValueError("invalid children cursor") from None
        edges = store.children_edges(network, account, limit=limit, after_op_id=after)
        items = [
            {"account": e.account, "created_at": e.created_at.isoformat() if e.created_at else None}
            for e in edges
            if not needle or needle in e.account
        ]
        return {
            "account": account,
            "mode": "graph",
            "total": store.children_count(network, account),
            "matching": None,
            "offset": None,
            "limit": limit,
            "items": _badges(store, network, items),
            "next_cursor": str(edges[-1].op_id) if len(edges) == limit else None,
            "complete": True,
            "source": "graph",
        }
    data = _json(record.child_accounts_json)
    data = data if isinstance(data, dict) else {}
    children = [c for c in data.get("children") or [] if isinstance(c, dict) and c.get("account")]
    if needle:
        children = [c for c in children if needle in str(c["account"]).upper()]
    window = children[offset : offset + limit]
    return {
        "account": account,
        "mode": "record",
        "total": int(data.get("count") or len(data.get("children") or [])),
        "matching": len(children),
        "offset": offset,
        "limit": limit,
        "items": _badges(store, network, window),
        "next_cursor": None,
        "complete": bool(data.get("complete", False)),
        "source": data.get("source"),
    }
