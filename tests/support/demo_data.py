"""A small, realistic public-network data set for the offline demo (and smoke tests).

Chains to the real pubnet root: root → SDF distribution → anchor → wallet users, plus an exchange with
more than one page of children, a merged and re-created account, and early accounts older than the
fake Horizon's retention window (their creator only comes from Stellar Expert), as on horizon.stellar.org.
"""

from __future__ import annotations

from tests.support.stellar_dataset import ROOTS, Dataset, address

SDF_DISTRIBUTION = "GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"


def demo_dataset(exchange_children: int = 230) -> Dataset:
    ds = Dataset("public")
    labels: dict[str, str] = {"root": ROOTS["public"], "sdf_distribution": SDF_DISTRIBUTION}
    ds.create_account(ROOTS["public"], SDF_DISTRIBUTION, "20", ledger=3)
    ds.payment(ROOTS["public"], SDF_DISTRIBUTION, "99999999000", ledger=4)
    ds.state(ROOTS["public"]).master_weight = 0  # the root locked itself (StackExchange q/1122)

    anchor = labels["anchor"] = address("demo-anchor")
    ds.create_account(SDF_DISTRIBUTION, anchor, "1000000", ledger=100)
    st = ds.state(anchor)
    st.home_domain = "anchor.example"
    st.flags["auth_required"] = True
    st.flags["auth_revocable"] = True
    st.thresholds.update(low_threshold=1, med_threshold=2, high_threshold=2)
    ds.list_in_directory(anchor, "Demo Anchor", ["anchor", "issuer"], "anchor.example")

    exchange = labels["exchange"] = address("demo-exchange")
    ds.create_account(SDF_DISTRIBUTION, exchange, "5000000", ledger=200)
    ds.list_in_directory(exchange, "Demo Exchange", ["exchange"], "exchange.example")

    # Everything below ledger 10_000 is outside the fake Horizon's retention window.
    ds.elder_ledger = 10_000
    for i in range(3):
        user = labels[f"wallet_user_{i}"] = address(f"demo-user-{i}")
        ds.create_account(anchor, user, "25", ledger=10_100 + 10 * i)
        ds.add_trustline(user, "USD", anchor, balance=str(100 * (i + 1)))
        ds.payment(anchor, user, "5", ledger=10_105 + 10 * i)
    ds.add_pool_share(labels["wallet_user_0"], "ab" * 32, "12.5")

    for i in range(exchange_children):
        ds.create_account(exchange, address(f"demo-exchange-client-{i}"), "2", ledger=11_000 + i)
    labels["exchange_client_0"] = address("demo-exchange-client-0")

    recreated = labels["recreated"] = address("demo-recreated")
    ds.create_account(anchor, recreated, "10", ledger=12_000)
    ds.merge(recreated, anchor, ledger=12_010)
    ds.create_account(exchange, recreated, "3", ledger=12_020)

    merged = labels["merged"] = address("demo-merged")
    ds.create_account(exchange, merged, "4", ledger=12_100)
    ds.merge(merged, exchange, ledger=12_110)
    labels["unknown"] = address("demo-never-created")
    ds.labels = labels  # type: ignore[attr-defined]
    return ds


def demo_testnet_dataset() -> Dataset:
    """The testnet part of the demo: root → friendbot → a faucet → two users (depth 4)."""
    ds = Dataset("testnet")
    labels: dict[str, str] = {"testnet_root": ROOTS["testnet"]}
    friendbot = labels["testnet_friendbot"] = address("demo-testnet-friendbot")
    ds.create_account(ROOTS["testnet"], friendbot, "100000000", ledger=5)
    faucet = labels["testnet_faucet"] = address("demo-testnet-faucet")
    ds.create_account(friendbot, faucet, "10000", ledger=50)
    ds.state(faucet).home_domain = "faucet.testnet.example"
    for i in range(2):
        labels[f"testnet_user_{i}"] = address(f"demo-testnet-user-{i}")
        ds.create_account(faucet, labels[f"testnet_user_{i}"], "100", ledger=60 + i)
    ds.labels = labels  # type: ignore[attr-defined]
    return ds
