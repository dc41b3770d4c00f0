"""Claiming for the API path, gated by the providers' circuit breakers, plus stuck recovery.

``claim_for_api`` is what the API DAG's claim step does each run:

1. the host-wide state must be usable: the rate limiter and the breaker state open (a corrupt or
   unwritable file fails the run here, before anything is claimed);
2. every open breaker whose probe is due gets its **one** probe request (host-wide: whichever process
   asks first); an answer closes it;
3. records are claimed only for networks whose Horizon breaker is closed - while it is open the run
   claims nothing for that network and sends nothing but the probe;
4. capacity the claim left unused goes to the refresh policy (``refresh.py``): stale COMPLETE records
   re-queued at the lowest priority and claimed in the same step.

``recover`` (stuck PROCESSING → PENDING) runs wherever claims are made: both DAGs' claim step and the
health DAG, so pausing one DAG does not stop recovery.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from include.stellar_lineage.breaker import EXPERT_KEY, ProviderBreakers, breakers_from_settings, horizon_key
from include.stellar_lineage.config import Settings
from include.stellar_lineage.faults import Fault, RunConfigurationError, classify, explain
from include.stellar_lineage.records import NETWORKS, LineageRecord, RecoveryResult, utcnow
from include.stellar_lineage.refresh import claim_refresh
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)


def recover(store: LineageStore, settings: Settings, *, now: dt.datetime | None = None) -> RecoveryResult:
    """PROCESSING older than ``stuck_threshold_minutes`` → PENDING (retry+1) or FAILED at the cap; then
    FAILED records older than ``failed_retry_interval_hours`` go back to PENDING (at most
    ``failed_retry_max_rounds`` times each), so a chain blocked by a FAILED ancestor resumes."""
    now = now or utcnow()
    out = store.recover_stuck(
        threshold=dt.timedelta(minutes=settings.stuck_threshold_minutes),
        max_retries=settings.max_retry_attempts,
        now=now,
    )
    for network, account in out.requeued:
        log.warning("Stuck record %s/%s re-queued (retry + 1)", network, account)
    for network, account in out.failed:
        log.error("Stuck record %s/%s FAILED: retry cap reached", network, account)
    if settings.failed_retry_max_rounds > 0:
        again = store.requeue_failed(
            failed_before=now - dt.timedelta(hours=settings.failed_retry_interval_hours),
            max_rounds=settings.failed_retry_max_rounds,
            now=now,
        )
        for network, account in again:
            log.warning("FAILED record %s/%s re-queued by the FAILED retry timer", network, account)
    return out


def record_run(settings: Settings, error: BaseException | None, breakers: ProviderBreakers | None = None) -> None:
    """Remember in host-wide state whether this API run failed on a configuration fault (for health:
    Airflow pauses the API DAG after ``API_MAX_CONSECUTIVE_FAILED_RUNS`` failed runs in a row)."""
    try:
        (breakers or breakers_from_settings(settings)).record_run("api", None if error is None else str(error))
    except Exception:  # noqa: BLE001 - the state itself may be what is broken; the run's error says so
        log.warning("could not record the run outcome in host-wide state", exc_info=True)


def host_state(settings: Settings) -> ProviderBreakers:
    """Open the host-wide limiter and breaker state, or fail the run naming the cause and the fix."""
    from include.stellar_lineage.ratelimit import limiter_from_settings

    try:
        limiter_from_settings(settings).close()
        return breakers_from_settings(settings)
    except Exception as exc:  # noqa: BLE001 - classified below
        if classify(exc) is Fault.CONFIG:
            raise RunConfigurationError(f"{explain(exc, '')} Nothing was claimed.") from exc
        raise


def probe_open_providers(breakers: ProviderBreakers, client_for: Any, networks: list[str]) -> dict[str, str]:
    """Send the due probes; returns ``{provider: "closed"|"open"|"probe ok"|"probe failed: ..."}``."""
    report: dict[str, str] = {}
    for provider, network in [*((horizon_key(n), n) for n in networks), (EXPERT_KEY, networks[0])]:
        if not breakers.is_open(provider):
            report[provider] = "closed"
            continue
        if not breakers.try_probe(provider):
            report[provider] = "open"
            continue
        try:
            client_for(network).probe(provider)
        except Exception as exc:  # noqa: BLE001 - classified below
            if classify(exc) is Fault.CONFIG:
                raise RunConfigurationError(f"{explain(exc, network)} Nothing was claimed.") from exc
            breakers.probe_failed(provider, f"{type(exc).__name__}: {exc}")
            report[provider] = f"probe failed: {exc}"
            log.warning("Circuit breaker %s stays open: probe failed (%s)", provider, exc)
            continue
        breakers.record_success(provider)
        report[provider] = "probe ok"
        log.warning("Circuit breaker %s closed: the probe was answered", provider)
    return report


def claim_for_api(
    store: LineageStore,
    settings: Settings,
    limit: int,
    *,
    owner: str,
    network: str | None = None,
    breakers: ProviderBreakers | None = None,
    client_factory: Any = None,
    capacity: int | None = None,
) -> tuple[list[LineageRecord], dict[str, str]]:
    """Claim up to ``limit`` records for networks whose Horizon answers; returns (records, breaker report).
    With ``capacity`` (what the run can do), room the claim left is offered to the refresh policy
    (``refresh.claim_refresh``: stale COMPLETE records, lowest priority)."""
    from include.stellar_lineage.api_pipeline import default_client_factory

    try:
        breakers = breakers or host_state(settings)
    except RunConfigurationError as exc:
        record_run(settings, exc)
        raise
    networks = [network] if network else list(NETWORKS)
    try:
        report = probe_open_providers(breakers, client_factory or default_client_factory(settings, breakers), networks)
    except RunConfigurationError as exc:
        record_run(settings, exc, breakers)
        raise
    allowed = [n for n in networks if not breakers.is_open(horizon_key(n))]
    if not allowed:
        log.warning("Every Horizon breaker is open (%s): claiming nothing this run", report)
        return [], report
    records: list[LineageRecord] = []
    if len(allowed) == len(networks):
        records = store.claim_batch(limit, pipeline="API", owner=owner, network=network)
    else:
        for n in allowed:
            records += store.claim_batch(limit - len(records), pipeline="API", owner=owner, network=n)
    if capacity is not None and capacity > len(records):  # the refresh policy: lowest, spare capacity only
        records += claim_refresh(store, settings, capacity - len(records), owner=owner, networks=allowed)
    return records, report
