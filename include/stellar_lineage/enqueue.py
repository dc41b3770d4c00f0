"""Turn a user's list of addresses into PENDING records (enqueue DAG, UI)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from include.stellar_lineage.records import NETWORKS, Priority
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.validation import parse_account_list

log = logging.getLogger(__name__)


class NothingValid(ValueError):
    """Every address given was invalid; nothing was stored."""


def enqueue_requested(
    store: LineageStore,
    accounts: list[Any],
    network: str,
    *,
    mask_secret: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Normalise and validate, enqueue the valid addresses as user requests, report the rest.

    Rejected entries are logged and returned by index and reason only (never the input), and stored
    nowhere. Any secret seed found is first handed to ``mask_secret`` (Airflow's masker, so the
    supervisor hides it in the task log even if something else prints it). Raises ``NothingValid``
    only when no entry holds a valid address.
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {network[:20]!r}")
    parsed = parse_account_list(list(accounts))
    if mask_secret is not None:
        for secret in parsed.secrets:
            mask_secret(secret)
    for rejected in parsed.rejected:
        log.warning("Rejected entry %d part %d: %s", rejected["index"], rejected["part"], rejected["reason"])
    for fixed in parsed.normalised:
        log.info("Entry %d part %d normalised (%s)", fixed["index"], fixed["part"], "; ".join(fixed["changes"]))
    if not parsed.valid:
        raise NothingValid(
            f"No valid address in {len(accounts)} entries ({len(parsed.rejected)} rejected, reasons in the log "
            "by entry index); nothing was enqueued"
        )
    result = store.enqueue(network, parsed.valid, priority=Priority.REQUESTED)
    log.info(
        "Enqueued on %s: %d new, %d reset from FAILED/INVALID, %d already known; %d rejected, %d normalised",
        network,
        len(result.added),
        len(result.reset),
        len(result.unchanged),
        len(parsed.rejected),
        len(parsed.normalised),
    )
    return {
        "network": network,
        "added": result.added,
        "reset": result.reset,
        "unchanged": result.unchanged,
        "invalid": parsed.rejected,
        "normalised": parsed.normalised,
        "duplicates": parsed.duplicates,
    }
