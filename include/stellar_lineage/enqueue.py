"""Turn a user's list of addresses into PENDING records (enqueue DAG, UI)."""

from __future__ import annotations

import logging
from typing import Any

from include.stellar_lineage.records import NETWORKS, Priority
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.validation import split_valid

log = logging.getLogger(__name__)


class NothingValid(ValueError):
    """Every address given was invalid; nothing was stored."""


def enqueue_requested(store: LineageStore, accounts: list[Any], network: str) -> dict[str, Any]:
    """Validate, enqueue the valid addresses as user requests, report the invalid ones.

    Invalid addresses are logged with their reasons (seeds redacted) and stored nowhere. Raises
    ``NothingValid`` only when every address is invalid.
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {network!r}")
    valid, invalid = split_valid(list(accounts))
    for shown, reason in invalid:
        log.warning("Rejected %r: %s", shown, reason)
    if not valid:
        raise NothingValid(f"All {len(invalid)} addresses were invalid; nothing was enqueued")
    result = store.enqueue(network, valid, priority=Priority.REQUESTED)
    log.info(
        "Enqueued on %s: %d new, %d reset from FAILED/INVALID, %d already known; %d rejected",
        network,
        len(result.added),
        len(result.reset),
        len(result.unchanged),
        len(invalid),
    )
    return {
        "network": network,
        "added": result.added,
        "reset": result.reset,
        "unchanged": result.unchanged,
        "invalid": [{"input": s, "reason": r} for s, r in invalid],
    }
