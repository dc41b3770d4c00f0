"""The scenario data set and client wiring shared by the client tests and the benchmark.

Every account the tests ask about is created here with known ledgers, so expected results can be
computed from the data set (close times, balances) rather than copied from a response.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from include.stellar_lineage.config import Settings, defaults
from include.stellar_lineage.ratelimit import HostRateLimiter
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.stellar_dataset import ROOTS, Dataset, address

NAMES = ("funder", "issuer", "alice", "bob", "carol", "phoenix", "ghost", "old", "hub", "quiet")
A = {name: address(f"scenario-{name}") for name in NAMES}
A["root"] = ROOTS["public"]
HUB_CHILDREN = 450
LP_ID = "cd" * 32


def scenario_dataset() -> Dataset:
    ds = Dataset("public")
    ds.create_account(A["root"], A["funder"], "1000000", ledger=3)
    ds.create_account(A["root"], A["issuer"], "1000", ledger=4)
    ds.create_account(A["funder"], A["old"], "500", ledger=50)  # later outside retention (tests move elder)

    # alice: the normal account, with every attribute kind set.
    ds.create_account(A["funder"], A["alice"], "50", ledger=100)
    ds.payment(A["funder"], A["alice"], "12.3456789", ledger=101)
    ds.create_account(A["alice"], A["bob"], "5", ledger=102)
    ds.create_account(A["alice"], A["carol"], "2.5", ledger=103)
    ds.set_options(A["alice"], ledger=104)  # a non-payment op: invisible in /payments
    st = ds.state(A["alice"])
    st.home_domain = "alice.example"
    st.flags["auth_revocable"] = True
    st.thresholds.update(low_threshold=1, med_threshold=2, high_threshold=3)
    st.extra_signers.append({"weight": 1, "key": A["bob"], "type": "ed25519_public_key"})
    st.data["config"] = "dGVzdA=="
    st.sponsor = A["funder"]
    st.num_sponsored = 1
    ds.add_trustline(A["alice"], "USDC", A["issuer"], balance="99.5")
    ds.add_pool_share(A["alice"], LP_ID, "3.25")
    ds.list_in_directory(A["alice"], "Alice Anchor", ["anchor", "issuer"], "alice.example")

    # phoenix: created by funder, merged, re-created by alice (the latest creator wins).
    ds.create_account(A["funder"], A["phoenix"], "20", ledger=200)
    ds.merge(A["phoenix"], A["funder"], ledger=210)
    ds.create_account(A["alice"], A["phoenix"], "7", ledger=220)

    # ghost: merged for good -> 404 on /accounts, history still listed.
    ds.create_account(A["funder"], A["ghost"], "3", ledger=300)
    ds.merge(A["ghost"], A["funder"], ledger=310)

    # hub: more than two pages (limit 200) of children.
    ds.create_account(A["funder"], A["hub"], "100000", ledger=400)
    for i in range(HUB_CHILDREN):
        ds.create_account(A["hub"], address(f"scenario-hub-child-{i}"), "1", ledger=401 + i)

    ds.payment(A["funder"], A["old"], "1", ledger=2000)  # old's only in-window record (if elder=1000)
    ds.create_account(A["funder"], A["quiet"], "9", ledger=2001)
    return ds


def scenario_settings(**overrides: Any) -> Settings:
    base = dict(
        # generous: on a saturated machine a 200-record page can take over 2 s to serve, and a client
        # retry would add a request to tests that assert the exact requests; timeout tests set their own
        http_timeout_seconds=10.0,
        http_max_attempts=3,
        horizon_max_pages=5,
        horizon_requests_per_minute=60_000,
        stellar_expert_requests_per_minute=60_000,
    )
    base.update(overrides)
    return dataclasses.replace(defaults(), **base)


@dataclasses.dataclass
class Stack:
    ds: Dataset
    horizon: FakeHorizon
    expert: FakeStellarExpert
    limiter: HostRateLimiter

    def breakers(self, settings: Settings | None = None, clock: Any = None):
        """Host-wide breakers in this stack's limiter directory (thresholds from ``settings``)."""
        from include.stellar_lineage.breaker import ProviderBreakers, SqliteBreakerStorage

        settings = settings or scenario_settings()
        return ProviderBreakers(
            SqliteBreakerStorage(self.limiter.directory),
            failure_threshold=settings.breaker_failure_threshold,
            probe_interval_s=settings.breaker_probe_interval_seconds,
            **({"clock": clock} if clock else {}),
        )

    def client(self, settings: Settings | None = None, **kw: Any):
        from include.stellar_lineage.clients import build_api_client

        kw.setdefault("backoff_base", 0.05)  # keep retry tests fast; Retry-After still floors the waits
        return build_api_client(
            "public",
            settings or scenario_settings(),
            limiter=self.limiter,
            horizon=kw.pop("horizon", self.horizon.url),
            expert=self.expert.url,
            **kw,
        )


@contextlib.contextmanager
def running_stack(
    ratelimit_dir: Path, ds: Dataset | None = None, rates: dict[str, float] | None = None
) -> Iterator[Stack]:
    ds = ds or scenario_dataset()
    limiter = HostRateLimiter(rates or {"horizon": 60_000, "stellar_expert": 60_000}, ratelimit_dir)
    with FakeHorizon(ds) as horizon, FakeStellarExpert({"public": ds}) as expert:
        try:
            yield Stack(ds, horizon, expert, limiter)  # type: ignore[arg-type]
        finally:
            limiter.close()
