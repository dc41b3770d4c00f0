"""The refresh policy (issue 16): re-collect COMPLETE records older than ``refresh_after_days``.

Where it runs, and why there: in the API DAG's claim step (``api_claim.claim_for_api``), right after
the run's normal claim, with the capacity that claim left unused. The claim step is the one place that
knows how much this run can still do (the Horizon budget of one slot, or ``api_pipeline_batch_size``)
and which networks' Horizon answers (circuit breakers), so a refresh

* only uses capacity nothing else wants: the normal claim has already taken every due record (it
  claims in priority order), a refresh waits while attribute follow-ups wait (they are the API
  DAG's next-lowest work), and the re-queued rows get ``Priority.REFRESH``, below a descendants crawl,
  so anything enqueued meanwhile is claimed first;
* is bounded per run by that spare capacity (and ``MAX_PER_RUN``), so it never builds a backlog that
  delays later requests, nor inflates the health check's "PENDING without progress";
* is claimed by the same run at once, through the same atomic claim path (one claim path), so the
  records are PENDING only for an instant; a health/maintenance DAG could re-queue but not process.

The re-queue keeps every data field (``LineageStore.requeue_stale``): the dashboard and the lineage
page show the old creator, attributes and children (status PENDING/PROCESSING, "being refreshed")
until the new collection overwrites them. If the re-collection fails, the record follows the normal
state machine (retry with backoff, FAILED at the cap, INVALID when Horizon now answers 404 because the
account was merged) and still keeps the lineage it had: nothing is cleared on any of those paths.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from include.stellar_lineage.config import Settings
from include.stellar_lineage.records import LineageRecord, utcnow
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)
MAX_PER_RUN = 1000  # hard bound on re-queues per run, whatever the batch size says


def refresh_cutoff(settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """Records completed before this are stale; None when the policy is off (0 days)."""
    if settings.refresh_after_days <= 0:
        return None
    return now - dt.timedelta(days=settings.refresh_after_days)


def requeue_stale(
    store: LineageStore,
    settings: Settings,
    room: int,
    networks: Sequence[str],
    *,
    now: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """Move up to ``room`` (at most ``MAX_PER_RUN``) stale COMPLETE records of ``networks`` back to
    PENDING at the lowest priority, oldest collection first. Nothing while the policy is off or
    attribute follow-ups wait."""
    now = now or utcnow()
    cutoff = refresh_cutoff(settings, now)
    room = min(room, MAX_PER_RUN)
    if cutoff is None or room <= 0:
        return []
    if store.followup_depth() > 0:
        log.info("Refresh: attribute follow-ups wait, so no refresh this run (they rank above it)")
        return []
    out: list[tuple[str, str]] = []
    for network in networks:
        out += store.requeue_stale(network, completed_before=cutoff, limit=room - len(out), now=now)
        if len(out) >= room:
            break
    log.info(
        "Refresh: re-queued %d COMPLETE records collected before %s (refresh_after_days=%d, room %d)",
        len(out),
        cutoff.isoformat(),
        settings.refresh_after_days,
        room,
    )
    return out


def claim_refresh(
    store: LineageStore,
    settings: Settings,
    room: int,
    *,
    owner: str,
    networks: Sequence[str],
    now: dt.datetime | None = None,
) -> list[LineageRecord]:
    """The claim step's last part: re-queue up to ``room`` stale records and claim ``room`` more in
    priority order (so anything enqueued meanwhile still comes first)."""
    if not requeue_stale(store, settings, room, networks, now=now):
        return []
    claimed: list[LineageRecord] = []
    for network in networks:
        if len(claimed) >= room:
            break
        claimed += store.claim_batch(room - len(claimed), pipeline="API", owner=owner, network=network, now=now)
    return claimed
