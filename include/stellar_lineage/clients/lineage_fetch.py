"""``StellarApiClient.fetch_lineage(account) -> LineageResult`` from Horizon (+ Stellar Expert).

Request plan per account (why it is cheap):

1. ``GET /accounts/{id}``: current state; 404 → ``AccountNotFound`` (merged accounts too).
2. ``GET /accounts/{id}/payments?order=desc&limit=200`` (+ next pages up to ``max_pages``): payments is a
   smaller stream than operations and still holds every ``create_account``. Scanning newest-first, the
   first ``create_account`` with ``account == id`` is the *current* incarnation's creation (merged and
   re-created accounts have several); records with ``funder == id`` are children. For an account with
   fewer than 200 payments one page gives both, so 2 Horizon requests (3 at exactly 200).
   A 404 on the history lists (``/payments`` and then ``/operations``) after a 200 on the account means
   no retained history (dormant account, reference/stellar_apis.md): only ``/accounts/{id}`` = 404 means
   "does not exist".
3. Only if no creation op was seen: ``GET /`` (cached) → ``history_elder_ledger``. The network root has
   no creation op (genesis); anything else was created before Horizon's retained history, so
   ``creator``/``created`` come from Stellar Expert (full history).
4. Stellar Expert directory → tags (unknown = None when the directory is unavailable; never fails).

``created_at`` is always the creation time (op ``created_at`` or SE ``created``), never
``last_modified_time``.

Account ids in responses are untrusted: each creator and child passes ``validation.account_or_none``
before it is stored, queued or linked. An invalid child is dropped (counted in the children's
``invalid_dropped``, list marked incomplete); an invalid Horizon funder is dropped and Stellar Expert
asked instead; an invalid creator from both is a ``MalformedResponse`` (the record's ``last_error``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from include.stellar_lineage.clients.horizon import MAX_PAGE, HorizonClient
from include.stellar_lineage.clients.http import ApiRequestError, MalformedResponse, TransientApiError
from include.stellar_lineage.clients.stellar_expert import StellarExpertClient
from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult, account_attributes, native_balance
from include.stellar_lineage.validation import account_or_none

log = logging.getLogger(__name__)

# A Horizon whose elder ledger is at or below this has full history (pubnet's first tx is in ledger 3).
FULL_HISTORY_ELDER = 2


def parse_time(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, str):
        raise MalformedResponse(f"{what}: timestamp is not a string ({value!r})")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedResponse(f"{what}: unparseable timestamp {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class _Scan:
    """What the newest-first payments scan found."""

    def __init__(self) -> None:
        self.invalid_children = 0  # child ids that are not valid G… accounts (dropped)
        self.creation: dict[str, Any] | None = None
        self.children: dict[str, dict[str, Any]] = {}  # child account -> its earliest creation by us
        self.oldest: dict[str, Any] | None = None
        self.exhausted = False  # reached the oldest retained record (a 410 mid-scan leaves it False)
        self.no_history = False  # 404 on the history lists of an existing account (dormant)


class StellarApiClient:
    def __init__(
        self,
        network: str,
        horizon: HorizonClient,
        expert: StellarExpertClient,
        *,
        max_pages: int = 5,
        page_limit: int = MAX_PAGE,
    ) -> None:
        if max_pages < 1 or not 1 <= page_limit <= MAX_PAGE:
            raise ValueError("max_pages must be >= 1 and page_limit within 1..200")
        self.network, self.horizon, self.expert = network, horizon, expert
        self.max_pages, self.page_limit = max_pages, page_limit

    def request_counts(self) -> dict[str, int]:
        """HTTP attempts sent so far by this client (every retry and page counts)."""
        return {"horizon": self.horizon.http.attempts_sent, "stellar_expert": self.expert.http.attempts_sent}

    def probe(self, provider: str) -> None:
        """One request, no retry, to see whether ``provider`` answers again (the breaker's half-open
        probe): Horizon's root document, or Stellar Expert's directory entry of the network root."""
        if provider.startswith("horizon"):
            self.horizon.http.probe("/")
        else:
            self.expert.http.probe(f"/explorer/directory/{NETWORK_ROOTS[self.network]}")

    def fetch_lineage(self, account: str) -> LineageResult:
        state = self.horizon.account(account)  # AccountNotFound propagates: the record becomes INVALID
        scan = self._scan_payments(account)
        creator, created_at, source = self._creator(account, scan)
        return LineageResult(
            creator=creator,
            created_at=created_at,
            home_domain=state.get("home_domain") or None,
            xlm_balance=_native_balance(account, state),
            attributes=account_attributes(state),
            assets=[dict(b) for b in state["balances"] if b.get("asset_type") != "native"],
            children=self._children(account, scan),
            tags=self.expert.tags(account),
            creator_source=source,
        )

    # ------------------------------------------------------------------ scan
    def _scan_payments(self, account: str) -> _Scan:
        scan, cursor, stream = _Scan(), None, "payments"
        for _ in range(self.max_pages):
            try:
                records = self.horizon.page(account, stream, order="desc", limit=self.page_limit, cursor=cursor)
            except ApiRequestError as exc:
                if exc.status == 410:  # the rolling retention floor passed our cursor: nothing older is served
                    return scan
                if exc.status == 404 and cursor is not None:
                    return scan  # the floor moved mid-scan (as 410): what is older is not served
                if exc.status != 404:
                    raise
                if stream == "operations":
                    return self._no_history(account, scan)
                # Either /payments is missing on a Horizon-compatible provider (/operations holds the same
                # records) or this account has no retained history; /operations tells which.
                stream = "operations"
                try:
                    records = self.horizon.page(account, stream, order="desc", limit=self.page_limit)
                except ApiRequestError as again:
                    if again.status != 404:
                        raise
                    return self._no_history(account, scan)
            for rec in records:
                if rec.get("type") != "create_account":
                    continue
                target, funder = rec.get("account"), rec.get("funder")
                if target == account and scan.creation is None:
                    scan.creation = rec  # newest-first: the latest incarnation's creation
                elif funder == account and target and target != account:
                    if account_or_none(target, f"horizon create_account {rec.get('id')} (child)") is None:
                        scan.invalid_children += 1
                        continue
                    scan.children[target] = rec  # overwritten by older records: keeps the earliest
            if records:
                scan.oldest = records[-1]
                cursor = records[-1]["paging_token"]
            if len(records) < self.page_limit:
                scan.exhausted = True
                return scan
        return scan

    def _no_history(self, account: str, scan: _Scan) -> _Scan:
        # /accounts/{id} answered 200, so the account exists: Horizon looks the address up in its history
        # tables first and answers 404 when it has none retained (a dormant account older than the
        # retention window). Creator and creation time then come from Stellar Expert; children stay
        # unknown (empty, complete=false).
        log.info(
            "%s exists but %s retains no history for it (404); asking Stellar Expert",
            account,
            self.horizon.http.display_url,
        )
        scan.no_history = True
        return scan

    # ------------------------------------------------------------------ creator
    def _creator(self, account: str, scan: _Scan) -> tuple[str | None, dt.datetime | None, str]:
        if scan.creation is not None:
            op = scan.creation.get("id")
            funder = scan.creation.get("funder") or scan.creation.get("source_account")
            if funder is None:
                raise MalformedResponse(f"horizon create_account {op}: no funder")
            if account_or_none(funder, f"horizon create_account {op} (funder)") is not None:
                return funder, parse_time(scan.creation.get("created_at"), "horizon create_account"), "horizon"
            # dropped (logged by account_or_none): Stellar Expert below has the creator too
        if account == NETWORK_ROOTS.get(self.network):
            return None, None, "genesis"  # created at genesis: no create_account exists anywhere
        if scan.exhausted and self.horizon.history_elder_ledger() <= FULL_HISTORY_ELDER:
            # Full history and still no creation op: not the root, so this Horizon's data is inconsistent.
            log.warning("No create_account for %s in full Horizon history; asking Stellar Expert", account)
        # Created before Horizon's retained history (or beyond the page cap): Stellar Expert has it all.
        found = self.expert.creator(account)
        if found is None or found[0] is None:
            raise TransientApiError(
                f"creator of {account} unknown: no create_account within Horizon's "
                f"history and Stellar Expert has no creator"
            )
        if account_or_none(found[0], "stellar_expert creator") is None:
            raise MalformedResponse(f"creator of {account}: Stellar Expert's creator is not a valid G… account id")
        return found[0], found[1], "stellar_expert"

    # ------------------------------------------------------------------ children
    def _children(self, account: str, scan: _Scan) -> dict[str, Any]:
        ordered = sorted(scan.children.values(), key=lambda r: int(r["paging_token"]))
        return {
            "count": len(ordered),
            "children": [
                {
                    "account": r["account"],
                    "created_at": r.get("created_at"),
                    "starting_balance": r.get("starting_balance"),
                }
                for r in ordered
            ],
            "complete": self._complete(account, scan) and not scan.invalid_children,
            "source": "horizon",
            **({"invalid_dropped": scan.invalid_children} if scan.invalid_children else {}),
        }

    def _complete(self, account: str, scan: _Scan) -> bool:
        """True only if every create_account this address ever funded was seen."""
        if not scan.exhausted:
            return False  # page cap or 410: older records exist that were not read
        oldest = scan.oldest
        if oldest is not None and oldest.get("type") == "create_account" and oldest.get("account") == account:
            # The address's very first record is its own creation: nothing older can exist. (An older,
            # merged incarnation cut off by retention would be missed; see known gaps in the notes.)
            return True
        # Otherwise the history we read only starts at the retention floor, unless Horizon keeps it all.
        return self.horizon.history_elder_ledger() <= FULL_HISTORY_ELDER


def _native_balance(account: str, state: dict[str, Any]) -> str:
    try:
        return native_balance(state)
    except ValueError as exc:
        raise MalformedResponse(f"horizon GET /accounts/{account}: {exc}") from None
