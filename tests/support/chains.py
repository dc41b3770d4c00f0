"""Chain data sets: a leaf whose creators climb ``depth`` levels to the network root."""

from __future__ import annotations

from tests.support.stellar_dataset import ROOTS, Dataset, address


def chain_dataset(
    depth: int = 6, *, name: str = "chain", network: str = "public", ds: Dataset | None = None, first_ledger: int = 100
) -> tuple[Dataset, list[str]]:
    """Root → level1 → … → level{depth}. Returns the data set and the chain leaf-first, root last."""
    ds = ds or Dataset(network)
    chain = [ROOTS[network]]
    for level in range(1, depth + 1):
        account = address(f"{name}-{level}")
        ds.create_account(chain[-1], account, str(10_000 // level), ledger=first_ledger + level)
        chain.append(account)
    return ds, list(reversed(chain))
