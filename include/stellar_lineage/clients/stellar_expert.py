"""Stellar Expert explorer API: account stats (creator/created, full history) and directory tags.

Shapes follow reference/stellar_apis.md §3: errors are ``{"error", "status"}``; an unlisted directory
address is HTTP 200 with ``{}`` (not 404).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from include.stellar_lineage.clients.http import (
    ApiRequestError,
    HttpClient,
    MalformedResponse,
    ProviderAuthError,
    StellarApiError,
)

log = logging.getLogger(__name__)


class StellarExpertClient:
    def __init__(self, http: HttpClient, network: str) -> None:
        self.http = http
        self.network = network  # "public" | "testnet", as in /explorer/{network}/...

    def account(self, account_id: str) -> dict[str, Any] | None:
        """``/explorer/{network}/account/{id}``; None when Stellar Expert does not know the account."""
        try:
            body = self.http.get_json(f"/explorer/{self.network}/account/{account_id}")
        except ApiRequestError as exc:
            if exc.status == 404:
                return None
            raise
        if body.get("account") not in (None, account_id):
            raise MalformedResponse(f"stellar_expert account {account_id}: document is for {body.get('account')}")
        return body

    def creator(self, account_id: str) -> tuple[str | None, dt.datetime | None] | None:
        """(creator, created) from the account stats; None if unknown. ``creator`` is None for genesis."""
        body = self.account(account_id)
        if body is None:
            return None
        creator, created = body.get("creator"), body.get("created")
        if creator is not None and not isinstance(creator, str):
            raise MalformedResponse(f"stellar_expert account {account_id}: creator is not a string")
        if created is None:
            return creator, None
        if not isinstance(created, (int, float)) or isinstance(created, bool):
            raise MalformedResponse(f"stellar_expert account {account_id}: created is not unix seconds")
        return creator, dt.datetime.fromtimestamp(created, tz=dt.timezone.utc)

    def directory(self, account_id: str) -> dict[str, Any] | None:
        """``/explorer/directory/{id}`` (network-independent); None when unlisted (``{}``)."""
        try:
            body = self.http.get_json(f"/explorer/directory/{account_id}")
        except ApiRequestError as exc:
            if exc.status != 404:
                raise
            # Unknown route on an older deployment: the legacy network-scoped path serves the same entry.
            body = self.http.get_json(f"/explorer/{self.network}/directory/{account_id}")
        return body or None

    def tags(self, account_id: str) -> list[str] | None:
        """Directory tags; None = unknown. Tags are optional enrichment: a directory outage, an open
        breaker or a malformed entry leaves them unknown (written as NULL, refreshed on a later visit)
        instead of failing the record. A refused key (401/403) is a configuration fault and propagates."""
        try:
            entry = self.directory(account_id)
        except ProviderAuthError:
            raise
        except StellarApiError as exc:
            log.warning("stellar_expert directory %s unavailable, tags left unknown: %s", account_id, exc)
            return None
        tags = (entry or {}).get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            log.warning("stellar_expert directory %s: tags is not a list of strings; left unknown", account_id)
            return None
        return list(tags)
