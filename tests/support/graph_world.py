"""A synthetic Stellar world for the graph-use tests and benchmarks: the fake Horizon's data set plus
the creator-graph edges a snapshot at ``as_of_ledger`` would load, derived from the same operations.

Shape: a random creation tree under the network root (funders drawn from earlier accounts, so chains
are several levels deep and some accounts have many children), then after the snapshot ledger: new
accounts (some funded by covered accounts, whose entries therefore change), one covered account
merged and re-created by another funder, one covered account merged for good. Edges come from the
operations with the documented rule (latest successful creation per account by op id, up to as_of),
never from the expected answers.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from tests.support.stellar_dataset import ROOTS, Dataset, address


@dataclasses.dataclass
class World:
    ds: Dataset
    as_of_ledger: int
    covered: list[str]  # accounts created at or before as_of (excluding the root)
    later: list[str]  # accounts first created after as_of
    recreated: str  # covered, merged and re-created by another funder after as_of
    vanished: str  # covered, merged for good after as_of (Horizon 404)
    changed_funders: set[str]  # covered accounts that funded a child after as_of

    def edges(self) -> list[Any]:
        """What a snapshot at ``as_of_ledger`` loads (records.CreationEdge)."""
        from include.stellar_lineage.records import CreationEdge

        latest: dict[str, Any] = {}
        for op in self.ds.ops:
            if op.type == "create_account" and op.ledger <= self.as_of_ledger:
                latest[op.fields["account"]] = op  # ops are in id order: the last one wins
        return [
            CreationEdge(
                account=a, creator=op.fields["funder"], ledger=op.ledger, created_at=op.created_at, op_id=op.id
            )
            for a, op in latest.items()
        ]

    def graph_state(self, edges: int) -> Any:
        from include.stellar_lineage.records import GraphState, utcnow

        return GraphState(
            network="public",
            as_of_ledger=self.as_of_ledger,
            as_of_time=self.ds.close_time(self.as_of_ledger),
            edges=edges,
            loaded_at=utcnow(),
            snapshot_id="test-snapshot",
            resume_cursor=None,
        )

    def load_into(self, store: Any) -> None:
        edges = self.edges()
        store.load_edges("public", edges)
        store.set_graph_state(self.graph_state(len(edges)))


def build_world(n_covered: int, *, n_later: int = 5, seed: int = 7, tag: str = "w") -> World:
    rng = random.Random(seed)
    ds = Dataset("public")
    root = ROOTS["public"]
    existing = [root]
    covered: list[str] = []
    for i in range(n_covered):
        # favour recent accounts a little, so chains get deep and a few hubs get wide
        funder = existing[-1 - int(rng.random() ** 2 * len(existing))] if rng.random() < 0.8 else rng.choice(existing)
        account = address(f"{tag}-{seed}-{i}")
        ds.create_account(funder, account, "5")
        existing.append(account)
        covered.append(account)
    as_of = ds.latest_ledger
    funders = {op.fields["funder"] for op in ds.ops if op.type == "create_account"}
    childless = [a for a in covered if a not in funders]  # merging them orphans nobody's lineage
    recreated, vanished = childless[len(childless) // 3], childless[len(childless) // 2]
    later: list[str] = []
    changed: set[str] = set()
    for i in range(n_later):
        funder = rng.choice(covered)
        if funder in (recreated, vanished):
            funder = root
        account = address(f"{tag}-{seed}-later-{i}")
        ds.create_account(funder, account, "3")
        later.append(account)
        if funder != root:
            changed.add(funder)
    ds.merge(recreated, root)
    new_funder = covered[0] if covered[0] != recreated else covered[1]
    ds.create_account(new_funder, recreated, "7")
    changed.add(new_funder)
    ds.merge(vanished, root)
    return World(ds, as_of, covered, later, recreated, vanished, changed)


def leaves(world: World) -> list[str]:
    funders = {op.fields["funder"] for op in world.ds.ops if op.type == "create_account"}
    return [a for a in world.covered if a not in funders]
