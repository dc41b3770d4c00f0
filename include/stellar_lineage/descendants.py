"""An account's descendants to depth N from the creator graph's edge table, paged, without Horizon.

The walk is depth-first in creation order (``children_edges`` pages by op id), so a page is a
contiguous slice of one deterministic listing. The cursor is the path from the account to the last
node returned (``[[account, op_id], ...]``, at most ``depth`` entries, base64url JSON): the next page
resumes with that node's children, or, at the depth limit, with its later siblings, then its parent's
later siblings, and so on. Nothing is kept server-side between pages.

Each account has one edge (its latest creation), so every descendant appears once; a creation cycle
(A created B, A merged, B re-created A) is cut where the walk would re-enter its own path.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from include.stellar_lineage.graph_resolve import iso_z

MAX_DEPTH = 32
MAX_PAGE = 1000


class BadCursor(ValueError):
    """The cursor is not one this function produced."""


def encode_cursor(path: list[tuple[str, int]]) -> str:
    raw = json.dumps([[a, op] for a, op in path], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[tuple[str, int]]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        path = json.loads(raw)
        if not isinstance(path, list) or not path:
            raise ValueError("empty")
        return [(str(a), int(op)) for a, op in path]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadCursor("invalid descendants cursor") from None


def descendants(
    store: Any, network: str, account: str, *, depth: int = 2, limit: int = 100, cursor: str | None = None
) -> dict[str, Any]:
    """``{"account", "depth", "as_of_ledger", "items": [{account, creator, depth, ledger, created_at,
    op_id}], "next_cursor"}``. ``next_cursor`` is None once the listing is exhausted (a cursor can
    lead to an empty last page). ``as_of_ledger`` is None when no graph is loaded (no items)."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be within 1..{MAX_DEPTH}")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be within 1..{MAX_PAGE}")
    state = store.graph_state(network)
    out: dict[str, Any] = {
        "account": account,
        "depth": depth,
        "as_of_ledger": None if state is None else state.as_of_ledger,
        "items": [],
        "next_cursor": None,
    }
    if state is None:
        return out
    path = decode_cursor(cursor) if cursor else []
    if len(path) > depth:
        raise BadCursor("cursor deeper than the requested depth")
    # One frame per level being listed: [parent, op id of the last child taken, that child, buffer].
    frames: list[_Frame] = []
    parent = account
    for child, op_id in path:
        frames.append(_Frame(parent, op_id, child))
        parent = child
    if len(frames) < depth:
        frames.append(_Frame(parent, None, None))  # start, or go below the last node returned
    items: list[dict[str, Any]] = out["items"]
    while frames and len(items) < limit:
        frame = frames[-1]
        if not frame.buffer:
            frame.buffer = store.children_edges(
                network, frame.parent, limit=min(MAX_PAGE, limit - len(items) + 1), after_op_id=frame.after
            )
            frame.buffer.reverse()  # pop() from the end = creation order
            if not frame.buffer:
                frames.pop()
                continue
        edge = frame.buffer.pop()
        frame.after, frame.child = edge.op_id, edge.account
        if edge.account == account or any(f.parent == edge.account for f in frames):
            continue  # a creation cycle: never re-enter the path
        items.append(
            {
                "account": edge.account,
                "creator": edge.creator,
                "depth": len(frames),
                "ledger": edge.ledger,
                "created_at": iso_z(edge.created_at),
                "op_id": edge.op_id,
            }
        )
        if len(frames) < depth:
            frames.append(_Frame(edge.account, None, None))
    taken = [(f.child, f.after) for f in frames if f.child is not None and f.after is not None]
    if frames and taken:
        out["next_cursor"] = encode_cursor(taken)
    return out


class _Frame:
    __slots__ = ("parent", "after", "child", "buffer")

    def __init__(self, parent: str, after: int | None, child: str | None) -> None:
        self.parent, self.after, self.child = parent, after, child
        self.buffer: list[Any] = []
