"""A testnet lineage for the explorer: root → L1 → … → L6 (depth 6), L3 created ``fanout`` accounts
(10 of them collected, with tags), written through the store's own claim/complete path."""

from __future__ import annotations

import datetime as dt
from typing import Any

from include.stellar_lineage.records import NETWORK_ROOTS, LineageResult
from include.stellar_lineage.store.base import LineageStore
from tests.support.stellar_dataset import address

NETWORK = "testnet"


def _complete(store: LineageStore, account: str, creator: str | None, created: dt.datetime, kids: list[str], **kw: Any):
    owner = f"explorer-{account[:8]}"
    got = store.claim_batch(1, pipeline="API", owner=owner, network=NETWORK, accounts=[account], now=created)
    assert [r.stellar_account for r in got] == [account], account
    result = LineageResult(
        creator=creator,
        created_at=created,
        xlm_balance="100.0000000",
        children={
            "count": len(kids),
            "complete": True,
            "source": "horizon",
            "children": [
                {
                    "account": c,
                    "created_at": (created + dt.timedelta(minutes=i + 1)).isoformat(),
                    "starting_balance": "2.0000000",
                }
                for i, c in enumerate(kids)
            ],
        },
        creator_source="genesis" if creator is None else "horizon",
        **kw,
    )
    assert store.complete(NETWORK, account, owner=owner, result=result, source="API", now=created)


def seed_testnet_chain(store: LineageStore, now: dt.datetime, *, depth: int = 6, fanout: int = 1000) -> dict[str, Any]:
    root = NETWORK_ROOTS[NETWORK]
    chain = [root] + [address(f"explorer-level-{i}") for i in range(1, depth + 1)]
    hub_index = 3
    fan = [address(f"explorer-fan-{i:04d}") for i in range(fanout)]
    store.enqueue(NETWORK, chain + fan[:10])
    start = now - dt.timedelta(days=400)
    for i, account in enumerate(chain):
        kids = ([chain[i + 1]] if i + 1 < len(chain) else []) + (fan if i == hub_index else [])
        _complete(
            store,
            account,
            chain[i - 1] if i else None,
            start + dt.timedelta(days=i),
            kids,
            home_domain="hub.testnet.example" if i == hub_index else None,
            tags=["exchange"] if i == hub_index else [],
        )
    for j, account in enumerate(fan[:10]):
        _complete(
            store, account, chain[hub_index], start + dt.timedelta(days=hub_index, minutes=j), [], tags=["wallet"]
        )
    return {"chain": chain, "leaf": chain[-1], "hub": chain[hub_index], "fan": fan}
