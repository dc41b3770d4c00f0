"""The e2e module's world (tests/e2e/test_end_to_end.py): its data set, its ``stack`` fixture (fakes,
BigQuery emulator, store, one started Airflow) and reporting straight to the terminal."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.validation import InvalidAddress, validate_account
from tests.e2e.airflow_harness import AirflowStandalone, PrivateBigQueryEmulator
from tests.e2e.immediate_runs import api_path_env, latency_chains
from tests.support.bigquery_fixtures import Emulator, load_hubble
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.stellar_dataset import ROOTS, Dataset, address

ROOT = ROOTS["public"]
ENQUEUE, BIGQUERY, API = "stellar_lineage_enqueue", "stellar_lineage_bigquery_pipeline", "stellar_lineage_api_pipeline"


class Chains:
    """root → hub-a → leaf-1, leaf-2;  root → hub-b → hub-b2 → leaf-3, leaf-4;
    root → c1 → c2 → c3 → leaf-5, leaf-6  (13 accounts, chains of depth 2 to 4)."""

    def __init__(self) -> None:
        self.ds = Dataset("public")
        self.creator: dict[str, str | None] = {ROOT: None}
        self.created_at: dict[str, dt.datetime] = {}
        hub_a = self._create(ROOT, "hub-a", 10)
        hub_b = self._create(ROOT, "hub-b", 11)
        hub_b2 = self._create(hub_b, "hub-b2", 12)
        c1 = self._create(ROOT, "c1", 13)
        c2 = self._create(c1, "c2", 14)
        c3 = self._create(c2, "c3", 15)
        self.leaves = [
            self._create(hub_a, "leaf-1", 20),
            self._create(hub_a, "leaf-2", 21),
            self._create(hub_b2, "leaf-3", 22),
            self._create(hub_b2, "leaf-4", 23),
            self._create(c3, "leaf-5", 24),
            self._create(c3, "leaf-6", 25),
        ]
        bad = self.leaves[0]
        self.invalid = bad[:-1] + ("A" if bad[-1] != "A" else "B")  # checksum no longer matches
        with pytest.raises(InvalidAddress):
            validate_account(self.invalid)

    def ancestors(self, accounts: set[str], *, stop: set[str]) -> set[str]:
        """Every creator above ``accounts`` up to the root, not climbing past ``stop``."""
        out: set[str] = set()
        for account in accounts:
            creator = self.creator[account]
            while creator is not None and creator not in stop and creator not in out:
                out.add(creator)
                creator = self.creator[creator]
        return out

    def _create(self, funder: str, name: str, ledger: int) -> str:
        account = address(f"e2e-{name}")
        op = self.ds.create_account(funder, account, "100", ledger=ledger)
        self.creator[account], self.created_at[account] = funder, op.created_at
        return account

    @property
    def accounts(self) -> set[str]:
        return set(self.creator)

    def chain(self, account: str) -> list[str]:
        out = [account]
        while self.creator[out[-1]] is not None:
            out.append(self.creator[out[-1]])
        return out


def report(request, line: str) -> None:
    """Straight to the terminal, also without ``-s`` (durations and diagnostics must be seen)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """Fakes, emulator, store and a started Airflow; stopped (and checked for orphans) afterwards."""
    t0 = time.monotonic()
    base = tmp_path_factory.mktemp("e2e")
    chains = Chains()
    # the latency test's chains: its public ones in the same data set (never enqueued before that test)
    datasets, latency_leaves = latency_chains(2, public=chains.ds)
    store_path = base / "lineage.db"
    SqliteLineageStore(store_path, migrate=True).close()
    emulator = PrivateBigQueryEmulator(base / "bq")
    horizon = FakeHorizon(chains.ds).start()
    horizon_testnet = FakeHorizon(datasets["testnet"]).start()
    expert = FakeStellarExpert(datasets).start()
    airflow: AirflowStandalone | None = None
    problems: list[str] = []
    try:
        emulator.start()
        load_hubble(Emulator(emulator.url), chains.ds)
        t_emulator = time.monotonic() - t0
        airflow = AirflowStandalone(
            base / "airflow-home",
            paused_at_creation=True,
            extra_env={
                **api_path_env(base, store_path, horizon.url, horizon_testnet.url, expert.url),
                "BIGQUERY_EMULATOR_HOST": emulator.url,
                "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps(
                    {
                        "conn_type": "google_cloud_platform",
                        "extra": {
                            "is_anonymous": True,
                            "project": "test-project",
                            "use_legacy_sql": False,
                            "location": "US",
                        },
                    }
                ),
            },
        )
        try:
            airflow.start()  # the default bound: four pytest-xdist workers may be starting Airflows at once
            airflow.wait_dags([ENQUEUE, BIGQUERY, API], timeout=420)
        except BaseException:
            report(request, airflow.diagnostics())
            raise
        report(
            request,
            f"\n[e2e] Airflow up at {airflow.url} after {time.monotonic() - t0:.0f} s "
            f"(BigQuery emulator + Hubble tables {t_emulator:.0f} s; home {airflow.home})",
        )
        yield {
            "airflow": airflow,
            "chains": chains,
            "store_path": store_path,
            "horizon": horizon,
            "latency_leaves": latency_leaves,
            "emulator": Emulator(emulator.url),
            "t0": t0,
        }
    finally:
        if airflow is not None:
            stop = airflow.stop(grace=60)
            report(
                request,
                f"[e2e] Airflow stopped in {stop['seconds']} s"
                + (f"; SIGKILL was needed for {stop['sigkilled']}" if stop["sigkilled"] else " by SIGINT alone"),
            )
            if stop["survivors"]:
                problems.append(f"Airflow processes survived shutdown: {stop['survivors']}")
        survivors = emulator.stop()
        if survivors:
            problems.append(f"BigQuery emulator processes survived its stop: {survivors}")
        horizon.stop()
        horizon_testnet.stop()
        expert.stop()
        report(request, f"[e2e] total duration (start to clean shutdown): {time.monotonic() - t0:.0f} s")
    if problems:
        pytest.fail("; ".join(problems))
