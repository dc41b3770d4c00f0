"""A small lineage store with known contents, built through the store's own API (enqueue → claim →
complete/fail/invalid), so the triggers that maintain the aggregates run exactly as in production.

Used by the plugin API tests and the browser test; ``EXPECTED_PUBLIC`` is what the stats routes must
answer for it. Times are relative to ``now`` (the caller's clock), so the "last 24 h" and "stuck"
numbers are exact whenever the seed runs.
"""

from __future__ import annotations

import datetime as dt

from stellar_sdk import Keypair

from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult, SpendEntry
from include.stellar_lineage.store.base import LineageStore


def address(n: int) -> str:
    """A deterministic, valid G… address."""
    return Keypair.from_raw_ed25519_seed(bytes([n]) * 32).public_key


ROOT = NETWORK_ROOTS["public"]
K1, K2, K3, K4, K5 = (address(i) for i in range(1, 6))
F1, I1, P1, P2, P3, S1, R1 = (address(i) for i in range(10, 17))
T1, T2 = address(30), address(31)
CHILDREN = [address(40), address(41)]
UNKNOWN = address(99)

EXPECTED_PUBLIC = {
    "bigquery_total": 2,
    "bigquery_with_fallback_total": 1,
    "api_total": 3,
    "pending_total": 3,
    "processing_total": 2,
    "complete_total": 6,
    "failed_total": 1,
    "invalid_total": 1,
    "last_24h": {"bigquery": 1, "bigquery_with_fallback": 1, "api": 1},
    "total_accounts": 13,
    "network": "public",
    "queue_depth": 3,
    "stuck_total": 1,
    "bigquery_spend": {"today_usd": 0.5, "total_usd": 0.75, "cost_per_account_usd": 0.05, "saved_usd": 0.71},
}


def _complete(
    store: LineageStore,
    network: str,
    account: str,
    *,
    creator: str | None,
    source: str,
    at: dt.datetime,
    created: dt.datetime,
    children: list[str] | None = None,
    home_domain: str | None = None,
) -> None:
    owner = f"seed-{account[:6]}"
    claimed = store.claim_batch(
        1, pipeline=source, owner=owner, network=network, accounts=[account], now=at - dt.timedelta(minutes=2)
    )
    assert [r.stellar_account for r in claimed] == [account], f"could not claim {account}"
    kids = children or []
    result = LineageResult(
        creator=creator,
        created_at=created,
        home_domain=home_domain,
        xlm_balance="72.8563792",
        children={
            "count": len(kids),
            "children": [
                {
                    "account": c,
                    "created_at": (created + dt.timedelta(days=i + 1)).isoformat(),
                    "starting_balance": "5.0000000",
                }
                for i, c in enumerate(kids)
            ],
            "complete": True,
            "source": "horizon",
        },
        creator_source="genesis" if creator is None else "horizon",
    )
    assert store.complete(network, account, owner=owner, result=result, source=source, now=at)


def seed(store: LineageStore, now: dt.datetime) -> None:
    """Fill ``store`` (empty) so that the public network matches ``EXPECTED_PUBLIC`` at ``now``."""
    h = dt.timedelta(hours=1)
    store.enqueue("public", [ROOT, K1, K2, K3, K4, K5, F1, I1, P1, P2, P3, S1, R1])
    store.enqueue("testnet", [T1, T2])
    genesis = dt.datetime(2015, 9, 30, 16, 46, 54, tzinfo=dt.timezone.utc)
    _complete(store, "public", ROOT, creator=None, source="API", at=now - 720 * h, created=genesis)
    _complete(
        store,
        "public",
        K1,
        creator=ROOT,
        source="BIGQUERY",
        at=now - 48 * h,
        created=genesis + dt.timedelta(days=400),
        home_domain="stellar.org",
    )
    _complete(
        store, "public", K2, creator=K1, source="BIGQUERY", at=now - 3 * h, created=genesis + dt.timedelta(days=900)
    )
    _complete(
        store,
        "public",
        K3,
        creator=K2,
        source="BIGQUERY_WITH_API_FALLBACK",
        at=now - 1 * h,
        created=genesis + dt.timedelta(days=2000),
        children=CHILDREN,
    )
    _complete(
        store, "public", K4, creator=ROOT, source="API", at=now - 0.5 * h, created=genesis + dt.timedelta(days=10)
    )
    _complete(store, "public", K5, creator=ROOT, source="API", at=now - 26 * h, created=genesis + dt.timedelta(days=11))
    _complete(store, "testnet", T1, creator=None, source="API", at=now - 1 * h, created=genesis)

    store.claim_batch(1, pipeline="API", owner="seed-f", network="public", accounts=[F1], now=now - h)
    assert (
        store.retry_later("public", F1, owner="seed-f", error="Horizon 503 three times", max_retries=1, now=now - h)
        == "FAILED"
    )
    store.claim_batch(1, pipeline="API", owner="seed-i", network="public", accounts=[I1], now=now - h)
    assert store.mark_invalid("public", I1, owner="seed-i", reason="Horizon 404", now=now - h)
    store.claim_batch(
        1, pipeline="API", owner="seed-s", network="public", accounts=[S1], now=now - dt.timedelta(minutes=40)
    )  # older than the 15-minute stuck threshold
    store.claim_batch(
        1, pipeline="BIGQUERY", owner="seed-r", network="public", accounts=[R1], now=now - dt.timedelta(minutes=2)
    )

    today, two_days_ago = now, now - 48 * h
    store.record_spend(
        SpendEntry(kind="job", network="public", bytes=80 * 10**9, usd=0.5, accounts=10, decision="ran", at=today)
    )
    store.record_spend(
        SpendEntry(
            kind="job", network="public", bytes=40 * 10**9, usd=0.25, accounts=5, decision="ran", at=two_days_ago
        )
    )
    store.record_spend(
        SpendEntry(
            kind="dry_run",
            network="public",
            bytes=120 * 10**9,
            usd=0.71,
            accounts=20,
            decision="refused_cost",
            at=today,
        )
    )
    store.record_spend(
        SpendEntry(
            kind="dry_run", network="public", bytes=80 * 10**9, usd=0.5, accounts=10, decision="approved", at=today
        )
    )
