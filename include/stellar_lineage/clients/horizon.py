"""Horizon REST endpoints the lineage needs: ``GET /``, ``/accounts/{id}``, account payment/operation pages.

Shapes follow the Horizon docs (reference/stellar_apis.md §1): HAL pages whose ``_links.next`` is always
present, so paging stops on a short page, never on a missing link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from include.stellar_lineage.clients.http import AccountNotFound, ApiRequestError, HttpClient, MalformedResponse

MAX_PAGE = 200
ROOT_TTL_S = 300.0  # history_elder_ledger moves ~1 ledger / 5 s; a few minutes stale is harmless


class HorizonClient:
    def __init__(
        self,
        http: HttpClient,
        network: str,
        *,
        root_ttl_s: float = ROOT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http, self.network = http, network
        self._root_ttl_s, self._clock = root_ttl_s, clock
        self._root: dict[str, Any] | None = None
        self._root_at = 0.0

    def root(self) -> dict[str, Any]:
        """``GET /``, cached for ``root_ttl_s`` per client."""
        now = self._clock()
        if self._root is None or now - self._root_at > self._root_ttl_s:
            self._root, self._root_at = self.http.get_json("/"), now
        return self._root

    def history_elder_ledger(self) -> int:
        value = self.root().get("history_elder_ledger")
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedResponse(f"horizon GET /: history_elder_ledger missing or not a number ({value!r})")
        return value

    def account(self, account_id: str) -> dict[str, Any]:
        """Current account state; ``AccountNotFound`` on 404 (never existed, or merged)."""
        try:
            body = self.http.get_json(f"/accounts/{account_id}")
        except ApiRequestError as exc:
            if exc.status == 404:
                raise AccountNotFound(account_id, self.network) from None
            raise
        if body.get("id") != account_id or not isinstance(body.get("balances"), list):
            raise MalformedResponse(f"horizon GET /accounts/{account_id}: not an account document")
        return body

    def page(
        self,
        account_id: str,
        stream: str = "payments",
        *,
        order: str = "desc",
        limit: int = MAX_PAGE,
        cursor: str | None = None,
    ) -> list[dict[str, Any]]:
        """One page of ``/accounts/{id}/{stream}`` records. A 410 (desc cursor before history) propagates
        as ``ApiRequestError(status=410)``."""
        if stream not in ("payments", "operations"):
            raise ValueError(f"unknown stream {stream!r}")
        params: dict[str, Any] = {"order": order, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = self.http.get_json(f"/accounts/{account_id}/{stream}", params)
        records = (body.get("_embedded") or {}).get("records") if isinstance(body.get("_embedded"), dict) else None
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and str(r.get("paging_token", "")).isdigit() for r in records
        ):
            raise MalformedResponse(f"horizon GET /accounts/{account_id}/{stream}: no _embedded.records list")
        return records
