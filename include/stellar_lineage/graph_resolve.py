"""Creator, creation time, chain and children from the creator graph instead of history requests.

The snapshot DAG loads every successful create_account up to ``GraphState.as_of_ledger`` into the
store's edge table (reference/hubble_graph.md). For an account the graph *covers* (it has an edge, so
it was created at or before as_of; or it is the network root) nothing about its creation needs
Hubble or Horizon history:

* creator, creation time, ledger and op id: its edge (the latest successful creation by op id);
* the chain: each ancestor has its own edge; the climb completes them the same way;
* children up to as_of: ``children_edges`` (creation order) and ``children_count``.

Horizon is asked only for what the graph cannot know (``GraphAwareFetcher``):

* current attributes: one ``GET /accounts/{id}`` (404 → INVALID, as everywhere);
* the delta after as_of, and only when that document's ``last_modified_ledger`` is after as_of: a
  create_account debits the funder's balance and a re-creation writes a new entry, so an account whose
  entry is unchanged since as_of has no later child and no later creator. Otherwise one ascending
  payments scan from the as_of cursor (``graph_delta``). Known gap: a sponsored create_account with
  starting balance 0 whose funder is neither the transaction source nor the sponsor (CAP-33) leaves
  the funder's entry untouched; such a child appears with the next graph refresh.

Accounts without an edge were created after as_of (or never existed): they take the normal API path.
Records resolved here carry ``creator_source="graph"`` and are written as ``pipeline_source=BIGQUERY``:
their lineage is Hubble's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Sequence
from typing import Any

from include.stellar_lineage.records import (
    NETWORK_ROOTS,
    LineageResult,
    PipelineSource,
    account_attributes,
    native_balance,
)

log = logging.getLogger(__name__)

GRAPH = "graph"
CHILD_PAGE = 1000  # children_edges page size while filling a record's list


def iso_z(value: dt.datetime | None) -> str | None:
    """Horizon's timestamp format, so graph children compare equal with Horizon/Hubble children."""
    return None if value is None else value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class GraphFacts:
    """What the graph knows about one covered account, as of ``as_of_ledger``."""

    account: str
    creator: str | None  # None: the network root (genesis)
    created_at: dt.datetime | None
    ledger: int | None
    op_id: int | None
    children: list[dict[str, Any]]  # first ``max_children`` in creation order
    child_count: int
    as_of_ledger: int
    max_children: int = 100_000  # the record's list is capped at this (the count is exact)


def pipeline_source(result: LineageResult, default: str) -> str:
    """BIGQUERY for lineage taken from the graph (Hubble data), else the caller's source."""
    return PipelineSource.BIGQUERY.value if result.creator_source == GRAPH else default


class GraphResolver:
    """Reads the edge table for one pipeline run. The graph state is read once per network and run
    (a refresh landing mid-run is picked up by the next run)."""

    def __init__(self, store: Any, *, max_children: int) -> None:
        self.store, self.max_children = store, max_children
        self._states: dict[str, Any] = {}
        self._lock = threading.Lock()

    def state(self, network: str) -> Any:
        with self._lock:
            if network not in self._states:
                self._states[network] = self.store.graph_state(network)
            return self._states[network]

    def facts(self, network: str, account: str) -> GraphFacts | None:
        return self.facts_many(network, [account]).get(account)

    def facts_many(self, network: str, accounts: Sequence[str]) -> dict[str, GraphFacts]:
        """Facts for the covered accounts among ``accounts``; uncovered ones are absent."""
        state = self.state(network)
        if state is None or not accounts:
            return {}
        edges = self.store.edges_of(network, list(dict.fromkeys(accounts)))
        root = NETWORK_ROOTS.get(network)
        covered = [a for a in dict.fromkeys(accounts) if a in edges or a == root]
        # first pages of all covered accounts read together; only a full page is continued alone
        first = self.store.children_edges_many(network, covered, limit=min(CHILD_PAGE, self.max_children))
        out: dict[str, GraphFacts] = {}
        for account in covered:
            edge = edges.get(account)
            children, count = self.children_of(network, account, first_page=first.get(account, []))
            out[account] = GraphFacts(
                account=account,
                creator=None if edge is None else edge.creator,
                created_at=None if edge is None else edge.created_at,
                ledger=None if edge is None else edge.ledger,
                op_id=None if edge is None else edge.op_id,
                children=children,
                child_count=count,
                as_of_ledger=state.as_of_ledger,
                max_children=self.max_children,
            )
        return out

    def children_of(
        self, network: str, account: str, *, first_page: list[Any] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """The first ``max_children`` children in creation order, and the exact count (``first_page``:
        the first ``min(CHILD_PAGE, max_children)`` already read)."""
        listed: list[Any] = []
        after: int | None = None
        while len(listed) < self.max_children:
            want = min(CHILD_PAGE, self.max_children - len(listed))
            if first_page is not None and not listed:
                page, first_page = first_page, None
            else:
                page = self.store.children_edges(network, account, limit=want, after_op_id=after)
            listed += page
            if len(page) < want:
                break
            after = page[-1].op_id
        if len(listed) < self.max_children:
            count = len(listed)
        else:
            count = self.store.children_count(network, account)
        return [child_entry(e) for e in listed], count


def child_entry(edge: Any) -> dict[str, Any]:
    return {"account": edge.account, "created_at": iso_z(edge.created_at), "ledger": edge.ledger}


def result_from_graph(
    facts: GraphFacts,
    *,
    state: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
    delta: Any = None,
    unchanged_since_as_of: bool = False,
) -> LineageResult:
    """A record from the graph, plus Horizon's current ``state`` and the ``delta`` scan when given.

    Without ``state`` (graph mode) the attributes are pending: a follow-up fills them. Children are
    complete only when the graph and the delta cover the account's whole life: the account is
    unchanged since as_of, or the delta scan read everything after as_of without a retention gap.
    """
    creator, created_at, ledger, op_id = facts.creator, facts.created_at, facts.ledger, facts.op_id
    children = list(facts.children)
    count = facts.child_count
    covered_after = unchanged_since_as_of
    if delta is not None:
        if delta.creation is not None:  # merged and re-created after as_of: the later creation wins
            creator = delta.creation.get("funder") or delta.creation.get("source_account")
            created_at = delta.created_at
            ledger = int(delta.creation["paging_token"]) >> 32
            op_id = int(delta.creation["paging_token"])
        known = {c["account"] for c in children}
        new = [c for c in delta.children if c["account"] not in known]
        count += len(new)
        children += new[: max(0, facts.max_children - len(children))]
        covered_after = delta.exhausted and not delta.gap
    creation = {"ledger": ledger, "op_id": op_id, "source": GRAPH, "graph_as_of_ledger": facts.as_of_ledger}
    if state is None:
        attributes: dict[str, Any] = {"creation": creation, "attributes_pending": True}
        home_domain = balance = None
        assets: list[dict[str, Any]] = []
    else:
        attributes = account_attributes(state)
        attributes["creation"] = creation
        home_domain = state.get("home_domain") or None
        balance = native_balance(state)
        assets = [dict(b) for b in state["balances"] if b.get("asset_type") != "native"]
    return LineageResult(
        creator=creator,
        created_at=created_at,
        home_domain=home_domain,
        xlm_balance=balance,
        attributes=attributes,
        assets=assets,
        children={
            "count": count,
            "children": children,
            "complete": covered_after and len(children) >= count,
            "source": GRAPH if delta is None else "graph+horizon",
            "as_of_ledger": facts.as_of_ledger,
        },
        tags=list(tags),
        creator_source=GRAPH,
    )


class GraphAwareFetcher:
    """Wraps an API client: accounts the graph covers are resolved from it (see module doc), the
    rest go to the wrapped client's ``fetch_lineage`` unchanged."""

    def __init__(self, api: Any, resolver: GraphResolver, network: str, *, max_pages: int) -> None:
        self.api, self.resolver, self.network, self.max_pages = api, resolver, network, max_pages

    def __getattr__(self, name: str) -> Any:  # request_counts, horizon, expert … of the wrapped client
        return getattr(self.api, name)

    def fetch_lineage(self, account: str) -> LineageResult:
        horizon = getattr(self.api, "horizon", None)
        facts = self.resolver.facts(self.network, account) if horizon is not None else None
        if facts is None:
            return self.api.fetch_lineage(account)
        from include.stellar_lineage.graph_delta import scan_after, unchanged_since

        assert horizon is not None  # facts are looked up only when the client has a Horizon
        state = horizon.account(account)  # AccountNotFound propagates: merged since → INVALID
        unchanged = unchanged_since(state, facts.as_of_ledger)
        delta = None if unchanged else scan_after(horizon, account, facts.as_of_ledger, max_pages=self.max_pages)
        return result_from_graph(
            facts, state=state, tags=self.api.expert.tags(account), delta=delta, unchanged_since_as_of=unchanged
        )


def graph_aware_factory(client_factory: Any, store: Any, settings: Any) -> Any:
    """A client factory whose clients resolve covered accounts from ``store``'s graph. Without a
    graph (no snapshot loaded, or a store without edge tables) the clients behave as before."""
    if not hasattr(store, "graph_state"):
        return client_factory
    resolver = GraphResolver(store, max_children=settings.bigquery_max_children)
    wrapped: dict[str, GraphAwareFetcher] = {}
    lock = threading.Lock()

    def factory(network: str) -> Any:
        inner = client_factory(network)
        if resolver.state(network) is None:
            return inner
        with lock:
            if network not in wrapped or wrapped[network].api is not inner:
                wrapped[network] = GraphAwareFetcher(inner, resolver, network, max_pages=settings.horizon_max_pages)
            return wrapped[network]

    return factory
