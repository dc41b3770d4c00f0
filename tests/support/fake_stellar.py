"""Fake Horizon and Stellar Expert servers speaking the documented wire format
(reference/stellar_apis.md §1, §3, §6), backed by a ``stellar_dataset.Dataset``.

Use in tests::

    with FakeHorizon(ds) as horizon, FakeStellarExpert({"public": ds}) as expert:
        horizon.faults.fail_429 = 2          # switches are live
        ... horizon.url, horizon.request_log("/payments") ...

Run for the offline demo::

    python -m tests.support.fake_stellar --demo --port-horizon 8000 --port-expert 8001 --port-horizon-testnet 8002
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode

from stellar_sdk import StrKey

from tests.support.fake_http import FakeServer, Reply, run_forever
from tests.support.stellar_dataset import TYPE_I, Dataset, Op, iso, toid

HAL = "application/hal+json; charset=utf-8"
PROBLEM = "application/problem+json; charset=utf-8"
ERR = "https://stellar.org/horizon-errors/"
NOT_FOUND_DETAIL = (
    "The resource at the url requested was not found.  This usually occurs for one of two "
    "reasons:  The url requested is not valid, or no data in our database could be found with "
    "the parameters provided."
)
RATE_DETAIL = (
    "The rate limit for the requesting IP address is over its alloted limit.  The allowed limit and "
    "requests left per time period are communicated to clients via the http response headers "
    "'X-RateLimit-*' headers."
)
BEFORE_HISTORY_DETAIL = (
    "This horizon instance is configured to only track a portion of the stellar network's "
    "latest history. This request is asking for results prior to the recorded history known "
    "to this horizon instance."
)
TITLES = {
    400: ("bad_request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Resource Missing"),
    410: ("before_history", "Data Requested Is Before Recorded History"),
    429: ("rate_limit_exceeded", "Rate Limit Exceeded"),
    500: ("server_error", "Internal Server Error"),
    503: ("server_over_capacity", "Server Over Capacity"),
    504: ("timeout", "Timeout"),
}
DETAILS = {
    400: "The request you sent was invalid in some way.",
    404: NOT_FOUND_DETAIL,
    429: RATE_DETAIL,
    410: BEFORE_HISTORY_DETAIL,
}


def problem(status: int, extras: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Reply:
    type_, title = TITLES[status]
    body: dict[str, Any] = {"type": ERR + type_, "title": title, "status": status}
    if status in DETAILS:
        body["detail"] = DETAILS[status]
    if extras:
        body["extras"] = extras
    return Reply(status, body, PROBLEM, headers)


def bad_field(field: str, reason: str) -> Reply:
    return problem(400, {"invalid_field": field, "reason": reason})


class FakeHorizon(FakeServer):
    """One network's Horizon. ``dataset.elder_ledger`` is the retention floor (settable at runtime)."""

    name = "fake-horizon"

    def __init__(self, dataset: Dataset, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
        super().__init__(host, port)
        self.dataset = dataset
        # A keyed provider (Blockdaemon, Validation Cloud ...): wrong or missing key -> 401/403.
        self.api_key = api_key

    def rate_limited_reply(self, headers: dict[str, str]) -> Reply:
        return problem(429, headers=headers)

    def error_reply(self, status: int) -> Reply:
        return problem(status if status in TITLES else 500)

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        ds = self.dataset
        reply_headers = {"Latest-Ledger": str(ds.latest_ledger)}
        if self.api_key is not None:
            sent = headers.get("authorization")
            if sent is None:
                return problem(401)
            if sent != f"Bearer {self.api_key}":
                return problem(403)
        parts = [p for p in path.split("/") if p]
        if not parts:
            return Reply(200, self._root(), HAL, reply_headers)
        if parts[0] != "accounts" or len(parts) not in (2, 3):
            return problem(404)
        account = parts[1]
        if not StrKey.is_valid_ed25519_public_key(account):
            return bad_field("account_id", "Account ID must start with `G` and contain 56 alphanum characters")
        if len(parts) == 2:
            body = ds.horizon_account(account)
            if body is None:
                return problem(404)
            body["_links"] = self._account_links(account)
            return Reply(200, body, HAL, reply_headers)
        if parts[2] not in ("operations", "payments"):
            return problem(404)
        if not any(op.ledger >= ds.elder_ledger for op in ds.ops_for(account, payments_only=False)):
            # Horizon looks the address up in its history tables first: an account with no retained
            # history (dormant, older than the retention window) gets 404 on its lists although
            # /accounts/{id} answers 200 (reference/stellar_apis.md).
            return problem(404)
        return Reply(200, self._page(path, account, parts[2] == "payments", query), HAL, reply_headers)

    # ------------------------------------------------------------------ documents
    def _root(self) -> dict[str, Any]:
        ds = self.dataset
        return {
            "_links": {"account": {"href": f"{self.url}/accounts/{{account_id}}", "templated": True}},
            "horizon_version": "fake-2.32.0",
            "core_version": "fake-stellar-core",
            "ingest_latest_ledger": ds.latest_ledger,
            "history_latest_ledger": ds.latest_ledger,
            "history_latest_ledger_closed_at": iso(ds.close_time(ds.latest_ledger)),
            "history_elder_ledger": ds.elder_ledger,
            "core_latest_ledger": ds.latest_ledger,
            "network_passphrase": ds.passphrase,
            "current_protocol_version": 23,
            "core_supported_protocol_version": 23,
        }

    def _account_links(self, account: str) -> dict[str, Any]:
        base = f"{self.url}/accounts/{account}"
        links = {"self": {"href": base}, "data": {"href": base + "/data/{key}", "templated": True}}
        for rel in ("transactions", "operations", "payments", "effects", "offers", "trades"):
            links[rel] = {"href": f"{base}/{rel}{{?cursor,limit,order}}", "templated": True}
        return links

    def _page(self, path: str, account: str, payments: bool, query: dict[str, str]) -> dict[str, Any]:
        ds = self.dataset
        raw_limit = query.get("limit", "")
        try:
            limit = int(raw_limit) if raw_limit != "" else 10
        except ValueError:
            raise bad_field("limit", "unparseable value") from None
        if not 1 <= limit <= 200:
            raise bad_field("limit", "limit must be between 1 and 200")
        order = query.get("order", "") or "asc"
        if order not in ("asc", "desc"):
            raise bad_field("order", "order must be asc or desc")
        if query.get("include_failed", "false") not in ("true", "false"):
            raise bad_field("include_failed", "must be true or false")
        cursor_raw = query.get("cursor", "")
        try:
            cursor = None if cursor_raw in ("", "now") else int(cursor_raw)
        except ValueError:
            raise bad_field("cursor", "cursor must be a paging token") from None
        if cursor_raw == "now":
            cursor = toid(ds.latest_ledger + 1, 0, 0) if order == "asc" else None
        # validateCursorWithinHistory: only desc queries with a cursor at/below the elder ledger are "gone".
        if order == "desc" and cursor is not None and cursor <= toid(ds.elder_ledger, 0, 0):
            raise problem(410)
        retained = [op for op in ds.ops_for(account, payments_only=payments) if op.ledger >= ds.elder_ledger]
        if order == "asc":
            records = [op for op in retained if cursor is None or op.id > cursor][:limit]
        else:
            records = [op for op in reversed(retained) if cursor is None or op.id < cursor][:limit]
        base = self.url + path

        def link(o: str, c: str) -> dict[str, str]:
            return {"href": base + "?" + urlencode({"cursor": c, "limit": limit, "order": o})}

        inverse = "desc" if order == "asc" else "asc"
        first = str(records[0].id) if records else cursor_raw
        last = str(records[-1].id) if records else cursor_raw
        return {
            "_links": {"self": link(order, cursor_raw), "next": link(order, last), "prev": link(inverse, first)},
            "_embedded": {"records": [self._op_json(op) for op in records]},
        }

    def _op_json(self, op: Op) -> dict[str, Any]:
        s = str(op.id)
        return {
            "_links": {
                "self": {"href": f"{self.url}/operations/{s}"},
                "transaction": {"href": f"{self.url}/transactions/{op.tx_hash}"},
                "effects": {"href": f"{self.url}/operations/{s}/effects"},
                "succeeds": {"href": f"{self.url}/effects?order=desc&cursor={s}"},
                "precedes": {"href": f"{self.url}/effects?order=asc&cursor={s}"},
            },
            "id": s,
            "paging_token": s,
            "transaction_successful": True,
            "source_account": op.source,
            "type": op.type,
            "type_i": TYPE_I.get(op.type, 5),
            "created_at": iso(op.created_at),
            "transaction_hash": op.tx_hash,
            **op.fields,
        }


class FakeStellarExpert(FakeServer):
    """Stellar Expert explorer API for several networks (``{"public": ds, ...}``)."""

    name = "fake-stellar-expert"

    def __init__(
        self, datasets: dict[str, Dataset], host: str = "127.0.0.1", port: int = 0, api_key: str | None = None
    ) -> None:
        super().__init__(host, port)
        self.datasets = datasets
        self.api_key = api_key

    def rate_limited_reply(self, headers: dict[str, str]) -> Reply:
        return Reply(429, {"error": "Too many requests.", "status": 429}, headers=headers)

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"]:  # old-style /api/explorer/... URLs are rewritten
            parts = parts[1:]
        if len(parts) == 3 and parts[:2] == ["explorer", "directory"]:
            return self._directory(parts[2])
        if len(parts) < 3 or parts[0] != "explorer" or parts[1] not in self.datasets:
            return Reply(404, "API endpoint was not found", "text/plain; charset=utf-8")
        ds, rest = self.datasets[parts[1]], parts[2:]
        if rest == ["tx"]:
            if self.api_key is None or headers.get("authorization") != f"Bearer {self.api_key}":
                return Reply(402, {"error": "Payment Required", "status": 402})
            return Reply(200, {"_links": {}, "_embedded": {"records": []}})
        if len(rest) == 2 and rest[0] == "directory":  # legacy network-scoped path
            return self._directory(rest[1])
        if len(rest) == 2 and rest[0] == "account":
            if not StrKey.is_valid_ed25519_public_key(rest[1]):
                return Reply(
                    400,
                    {"error": 'Bad request. Invalid parameter: "account". Invalid account public key.', "status": 400},
                )
            body = ds.expert_account(rest[1])
            if body is None:
                return Reply(
                    404,
                    {
                        "error": "Not found. Account was not found on the ledger. Check if you "
                        "specified account address correctly.",
                        "status": 404,
                    },
                )
            return Reply(200, body)
        return Reply(404, "API endpoint was not found", "text/plain; charset=utf-8")

    def _directory(self, account: str) -> Reply:
        for ds in self.datasets.values():
            if account in ds.directory:
                return Reply(200, ds.directory[account])
        return Reply(200, {})  # unlisted: 200 with {} (the code, not the OpenAPI spec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Horizon + Stellar Expert for offline runs")
    parser.add_argument("--demo", action="store_true", help="serve the built-in demo data set")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port-horizon", type=int, default=8000)
    parser.add_argument("--port-expert", type=int, default=8001)
    parser.add_argument("--port-horizon-testnet", type=int, default=8002)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    if not args.demo:
        parser.error("only --demo mode is available from the command line")
    from tests.support.demo_data import demo_dataset, demo_testnet_dataset

    ds, tds = demo_dataset(), demo_testnet_dataset()
    horizon = FakeHorizon(ds, args.host, args.port_horizon)
    horizon_testnet = FakeHorizon(tds, args.host, args.port_horizon_testnet)
    expert = FakeStellarExpert({"public": ds, "testnet": tds}, args.host, args.port_expert)
    for server in (horizon, horizon_testnet, expert):
        server.faults.latency_s = args.latency_ms / 1000

    def ready() -> None:
        print(f"fake Horizon (public):  {horizon.url}", flush=True)
        print(f"fake Horizon (testnet): {horizon_testnet.url}", flush=True)
        print(f"fake Stellar Expert:    {expert.url}", flush=True)
        print("accounts:", flush=True)
        for label, acct in {**ds.labels, **tds.labels}.items():  # type: ignore[attr-defined]
            print(f"  {label:<22} {acct}", flush=True)
        print("Ctrl-C to stop.", flush=True)

    run_forever([horizon, horizon_testnet, expert], ready)


if __name__ == "__main__":
    main()
