"""Build a ``StellarApiClient`` from Settings and Airflow Connections (inside a task only).

Connections (endpoints and keys never live in Variables or code):

* ``horizon_public`` / ``horizon_testnet``: host = Horizon base URL (``https://horizon.stellar.org`` or
  host ``horizon.stellar.org`` + schema ``https``); optional API key in *password*, sent as
  ``Authorization: Bearer <key>`` or under the header named by extra ``api_key_header`` (raw value);
  optional extra ``headers`` (object of non-secret headers).
* ``stellar_expert``: host = ``https://api.stellar.expert``; optional Bearer key in password (billed routes).

A missing Connection falls back to the public SDF / Stellar Expert URL (logged), so a fresh install works.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from include.stellar_lineage.breaker import EXPERT_KEY, horizon_key
from include.stellar_lineage.clients.horizon import HorizonClient
from include.stellar_lineage.clients.http import HttpClient, redact_url
from include.stellar_lineage.clients.lineage_fetch import StellarApiClient
from include.stellar_lineage.clients.stellar_expert import StellarExpertClient
from include.stellar_lineage.records import NETWORKS

log = logging.getLogger(__name__)

HORIZON_CONN_IDS = {"public": "horizon_public", "testnet": "horizon_testnet"}
EXPERT_CONN_ID = "stellar_expert"
DEFAULT_URLS = {
    "horizon_public": "https://horizon.stellar.org",
    "horizon_testnet": "https://horizon-testnet.stellar.org",
    "stellar_expert": "https://api.stellar.expert",
}


@dataclasses.dataclass(frozen=True)
class Endpoint:
    base_url: str
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)  # may hold a key

    def __repr__(self) -> str:
        # names only, never values; the URL without user:password@
        return f"Endpoint({redact_url(self.base_url)!r}, headers={sorted(self.headers)})"


def endpoint_from_connection(conn: Any) -> Endpoint:
    """Turn an Airflow Connection into a base URL + request headers (key included, masked in logs)."""
    host = (conn.host or "").strip().rstrip("/")
    if not host:
        raise ValueError(f"Airflow Connection {conn.conn_id!r} has no host (expected the API base URL)")
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"
    if password := urlsplit(host).password:  # https://user:key@host: requests sends it as Basic auth
        _mask(password)
    extra = conn.extra_dejson or {}
    headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
    if conn.password:
        _mask(conn.password)
        header = extra.get("api_key_header") or "Authorization"
        headers[header] = f"Bearer {conn.password}" if header.lower() == "authorization" else conn.password
    return Endpoint(host, headers)


def resolve_endpoint(conn_id: str) -> Endpoint:
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook  # task-time only: never at DAG parse time

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.info("Airflow Connection %r not defined; using %s", conn_id, DEFAULT_URLS[conn_id])
        return Endpoint(DEFAULT_URLS[conn_id])
    return endpoint_from_connection(conn)


def _mask(secret: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # outside an Airflow runtime: nothing to register with
        return
    mask_secret(secret)


def build_api_client(
    network: str,
    settings: Any,
    *,
    limiter: Any = None,
    horizon: Endpoint | str | None = None,
    expert: Endpoint | str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff_base: float = 0.5,
    breakers: Any = None,
) -> StellarApiClient:
    """The API client for ``network`` ("public"|"testnet").

    Endpoints default to the Airflow Connections; tests pass explicit URLs (or ``Endpoint``s). The limiter
    defaults to the host-wide one for ``settings``. ``breakers`` (``breaker.ProviderBreakers``) receives
    every provider-level outcome; None = no breaker (the API path always passes the host-wide one).
    """
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; expected one of {NETWORKS}")
    if limiter is None:
        from include.stellar_lineage.ratelimit import limiter_from_settings

        limiter = limiter_from_settings(settings)
    h = _endpoint(horizon, HORIZON_CONN_IDS[network])
    e = _endpoint(expert, EXPERT_CONN_ID)
    common = {
        "timeout": settings.http_timeout_seconds,
        "max_attempts": settings.http_max_attempts,
        "sleep": sleep,
        "backoff_base": backoff_base,
    }
    return StellarApiClient(
        network,
        HorizonClient(
            HttpClient(
                "horizon",
                h.base_url,
                limiter,
                headers=h.headers,
                breakers=breakers,
                breaker_key=horizon_key(network),
                **common,
            ),
            network,
        ),
        StellarExpertClient(
            HttpClient(
                "stellar_expert",
                e.base_url,
                limiter,
                headers=e.headers,
                breakers=breakers,
                breaker_key=EXPERT_KEY,
                **common,
            ),
            network,
        ),
        max_pages=settings.horizon_max_pages,
    )


def _endpoint(value: Endpoint | str | None, conn_id: str) -> Endpoint:
    if value is None:
        return resolve_endpoint(conn_id)
    return value if isinstance(value, Endpoint) else Endpoint(value)
