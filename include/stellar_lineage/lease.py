"""Claim leases: a task that holds claims longer than the stuck threshold keeps them.

Stuck recovery takes back PROCESSING records whose ``processing_started_at`` is older than
``stuck_threshold_minutes``. A long holder - a large BigQuery batch waiting for its job, or the API
fallback finishing hundreds of records - renews its claims (``LineageStore.renew_claims``) from a
background thread every third of the threshold, so recovery never steals work that is still being done,
while a holder that died stops renewing and is recovered as before.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)


@contextlib.contextmanager
def claim_lease(store: LineageStore, claimed: Sequence[Any], owner: str, *, stuck_threshold_s: float) -> Iterator[None]:
    """Renew ``owner``'s claims on ``claimed`` (``[{"network", "account"}]``) while the block runs."""
    by_network: dict[str, list[str]] = {}
    for item in claimed:
        by_network.setdefault(item["network"], []).append(item["account"])
    stop = threading.Event()
    interval = max(1.0, stuck_threshold_s / 3)

    def renew() -> None:
        while not stop.wait(interval):
            try:
                n = sum(store.renew_claims(net, accounts, owner=owner) for net, accounts in by_network.items())
            except Exception:  # noqa: BLE001 - a failed heartbeat is retried at the next interval
                log.warning("claim lease renewal failed; retrying in %.0f s", interval, exc_info=True)
                continue
            log.info("claim lease: renewed %d claims of %s", n, owner)

    thread = threading.Thread(target=renew, name="claim-lease", daemon=True)
    if by_network:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=30)
