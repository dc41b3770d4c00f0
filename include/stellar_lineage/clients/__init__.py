"""Horizon + Stellar Expert clients: one retry policy (http), one host-wide limiter (../ratelimit.py)."""

from include.stellar_lineage.clients.factory import Endpoint, build_api_client, endpoint_from_connection
from include.stellar_lineage.clients.http import (
    AccountNotFound,
    ApiRequestError,
    MalformedResponse,
    ProviderAuthError,
    ProviderUnavailable,
    StellarApiError,
    TransientApiError,
)
from include.stellar_lineage.clients.lineage_fetch import StellarApiClient

__all__ = [
    "AccountNotFound",
    "ApiRequestError",
    "Endpoint",
    "MalformedResponse",
    "ProviderAuthError",
    "ProviderUnavailable",
    "StellarApiClient",
    "StellarApiError",
    "TransientApiError",
    "build_api_client",
    "endpoint_from_connection",
]
