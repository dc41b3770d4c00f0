"""End to end on a real Airflow 3: ``airflow standalone`` (scheduler, dag-processor, api-server,
triggerer) in a temp AIRFLOW_HOME, the SQLite lineage store, fake Horizon / Stellar Expert servers
(in this process) and a private BigQuery emulator + cost shim. Everything goes through the REST API
with a token from ``POST /auth/token``, as a user or an operator script would:

1. ``stellar_lineage_enqueue``: six valid accounts of a data set whose chains climb to the network
   root, plus one address with a broken checksum → the run succeeds, the bad one is reported.
2. ``stellar_lineage_bigquery_pipeline`` with the default cost limit → the batch is approved, one
   Hubble job, records ``BIGQUERY``.
3. ``stellar_lineage_bigquery_cost_limit_usd`` = 0 through ``POST /api/v2/variables``, a second
   trigger → refused by the dry-run guard, the API fallback finishes the batch
   (``BIGQUERY_WITH_API_FALLBACK``).
4. ``stellar_lineage_api_pipeline`` is unpaused (never triggered by hand): the run the enqueue's
   asset event queued and the scheduler's 2-minute slots climb the remaining chains to the root (``API``) until the queue is empty.
5. Every requested account and its chain are COMPLETE with the expected source, creator and creation
   time; the invalid address is stored nowhere; the plugin's ``pipeline-stats`` (same token) answers
   the same counts.

Shutdown (also on failure): SIGINT to standalone, SIGKILL of its session only as a last resort, and
no process of it may survive. On failure the tails of the standalone and task logs are printed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from include.stellar_lineage.store.sqlite import SqliteLineageStore
from include.stellar_lineage.validation import InvalidAddress, validate_account
from tests.e2e.airflow_harness import (
    AirflowStandalone,
    PrivateBigQueryEmulator,
    wait_for,
)
from tests.support.bigquery_fixtures import Emulator, load_hubble
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.stellar_dataset import ROOTS, Dataset, address

pytestmark = [pytest.mark.e2e, pytest.mark.slow_module(90)]

ENQUEUE, BIGQUERY, API = "stellar_lineage_enqueue", "stellar_lineage_bigquery_pipeline", "stellar_lineage_api_pipeline"
ROOT = ROOTS["public"]
BQ_BATCH = 3
BUDGET_SECONDS = 600
COST_LIMIT_VAR = "stellar_lineage_bigquery_cost_limit_usd"


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


def _report(request, line: str) -> None:
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
    store_path = base / "lineage.db"
    SqliteLineageStore(store_path, migrate=True).close()
    emulator = PrivateBigQueryEmulator(base / "bq")
    horizon = FakeHorizon(chains.ds).start()
    expert = FakeStellarExpert({"public": chains.ds}).start()
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
                "AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH": str(store_path),
                "AIRFLOW_VAR_STELLAR_LINEAGE_HORIZON_REQUESTS_PER_MINUTE": "6000",
                "AIRFLOW_VAR_STELLAR_LINEAGE_STELLAR_EXPERT_REQUESTS_PER_MINUTE": "6000",
                "AIRFLOW_CONN_HORIZON_PUBLIC": json.dumps({"conn_type": "http", "host": horizon.url}),
                "AIRFLOW_CONN_STELLAR_EXPERT": json.dumps({"conn_type": "http", "host": expert.url}),
                "STELLAR_LINEAGE_RATELIMIT_DIR": str(base / "ratelimit"),
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
            _report(request, airflow.diagnostics())
            raise
        _report(
            request,
            f"\n[e2e] Airflow up at {airflow.url} after {time.monotonic() - t0:.0f} s "
            f"(BigQuery emulator + Hubble tables {t_emulator:.0f} s; home {airflow.home})",
        )
        yield {
            "airflow": airflow,
            "chains": chains,
            "store_path": store_path,
            "horizon": horizon,
            "emulator": Emulator(emulator.url),
            "t0": t0,
        }
    finally:
        if airflow is not None:
            stop = airflow.stop(grace=60)
            _report(
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
        expert.stop()
        _report(request, f"[e2e] total duration (start to clean shutdown): {time.monotonic() - t0:.0f} s")
    if problems:
        pytest.fail("; ".join(problems))


def _bq_run(airflow: AirflowStandalone, run_id: str) -> dict[str, Any]:
    airflow.trigger(BIGQUERY, run_id, {"limit": BQ_BATCH, "network": "public", "dry_run_only": False})
    run = airflow.wait_run(BIGQUERY, run_id, timeout=240)
    states = airflow.task_states(BIGQUERY, run_id)
    assert run["state"] == "success", f"{run_id}: {states}"
    claim = airflow.xcom(BIGQUERY, run_id, "claim_batch")
    decision = airflow.xcom(BIGQUERY, run_id, "cost_guard", key="decision")
    return {"states": states, "claimed": {r["account"] for r in claim["records"]}, "decision": decision}


def test_end_to_end(stack, request):
    airflow: AirflowStandalone = stack["airflow"]
    chains: Chains = stack["chains"]
    phases: dict[str, float] = {}
    t = time.monotonic()
    try:
        # -- 1. enqueue: valid + one invalid -------------------------------------------------------
        for dag_id in (ENQUEUE, BIGQUERY):
            airflow.set_paused(dag_id, False)
        assert airflow.request("GET", f"/api/v2/dags/{API}")["is_paused"] is True
        airflow.trigger(ENQUEUE, "e2e_enqueue", {"accounts": [*chains.leaves, chains.invalid], "network": "public"})
        run = airflow.wait_run(ENQUEUE, "e2e_enqueue", timeout=180)
        assert run["state"] == "success", airflow.task_states(ENQUEUE, "e2e_enqueue")
        enq = airflow.xcom(ENQUEUE, "e2e_enqueue", "enqueue_accounts")
        assert sorted(enq["added"]) == sorted(chains.leaves), enq
        assert [(i["index"], i["part"]) for i in enq["invalid"]] == [(len(chains.leaves), 0)], enq
        assert "checksum" in enq["invalid"][0]["reason"] and chains.invalid not in json.dumps(enq)  # never echoed
        phases["enqueue"] = time.monotonic() - t

        # -- 2. BigQuery within budget: one Hubble job, BIGQUERY ----------------------------------
        t = time.monotonic()
        first = _bq_run(airflow, "e2e_bigquery_approved")
        assert first["states"] == {
            "check_settings": "success",
            "claim_batch": "success",
            "cost_guard": "success",
            "hubble_query": "success",
            "api_fallback": "skipped",
        }, first["states"]
        assert first["decision"]["decision"] == "approved" and first["decision"]["estimate_usd"] > 0
        assert len(first["claimed"]) == BQ_BATCH and first["claimed"] <= set(chains.leaves)
        shim = stack["emulator"].stats()
        assert shim["dry_runs"] == 1 and shim["jobs"] == 1, shim
        # the same Hubble job answered the batch's creator chains: every ancestor up to the network root
        # (created at genesis, known without a creation row) is COMPLETE from BIGQUERY, no history crawl
        bq = first["claimed"] | chains.ancestors(first["claimed"], stop=set())
        assert ROOT in bq
        with SqliteLineageStore(stack["store_path"], migrate=False) as store:
            after_first = store.get_many("public", sorted(bq))
        assert {a: (r.status, r.pipeline_source) for a, r in after_first.items()} == {
            a: ("COMPLETE", "BIGQUERY") for a in bq
        }
        phases["bigquery_approved"] = time.monotonic() - t

        # -- 3. cost limit 0 through the REST Variables API: refused, API fallback --------------------
        t = time.monotonic()
        airflow.set_variable(COST_LIMIT_VAR, "0")
        second = _bq_run(airflow, "e2e_bigquery_fallback")
        assert second["states"] == {
            "check_settings": "success",
            "claim_batch": "success",
            "cost_guard": "success",
            "hubble_query": "skipped",
            "api_fallback": "success",
        }, second["states"]
        assert second["decision"]["decision"] == "refused_cost" and not second["decision"]["approved"]
        assert len(second["claimed"]) == BQ_BATCH and not second["claimed"] & bq, (bq, second)
        shim = stack["emulator"].stats()
        assert shim["dry_runs"] == 2 and shim["jobs"] == 1, shim
        airflow.request("DELETE", f"/api/v2/variables/{COST_LIMIT_VAR}", expect=(204,))
        phases["bigquery_fallback"] = time.monotonic() - t

        # -- 4. the scheduler runs the 2-minute API DAG until the queue is empty --------------------
        t = time.monotonic()
        airflow.set_paused(API, False)
        with SqliteLineageStore(stack["store_path"], migrate=False) as store:

            def drained() -> bool:
                airflow.snapshot()
                records = store.get_many("public", sorted(chains.accounts))
                runs = airflow.runs(API)
                return (
                    len(records) == len(chains.accounts)
                    and all(r.status == "COMPLETE" for r in records.values())
                    and store.queue_depth("public") == 0
                    and runs
                    and all(r["state"] in ("success", "failed") for r in runs)
                )

            def progress() -> str:
                records = store.get_many("public", sorted(chains.accounts))
                by_status: dict[str, int] = {}
                for r in records.values():
                    by_status[r.status] = by_status.get(r.status, 0) + 1
                runs = [(r["dag_run_id"], r["run_type"], r["state"]) for r in airflow.runs(API)]
                return f"records by status: {by_status} of {len(chains.accounts)}; API DAG runs: {runs}"

            wait_for(
                "the scheduled API DAG to complete every chain and empty the queue",
                drained,
                timeout=330,
                interval=5,
                on_timeout=progress,
            )
        airflow.set_paused(API, True)

        # A slot may have started between the last check and the pause: let it finish (it finds an
        # empty queue). A run created but still queued never starts on a paused DAG.
        def settled() -> list[dict[str, Any]] | None:
            runs = airflow.runs(API)
            return runs if all(r["state"] != "running" for r in runs) else None

        api_runs = wait_for("the API DAG's last run to finish after pausing it", settled, timeout=150, interval=3)
        # Never triggered by hand: cron slots, plus the run the enqueue's queue-asset event created
        # once the DAG was unpaused.
        assert {r["run_type"] for r in api_runs} <= {"scheduled", "asset_triggered"}, api_runs
        api_runs = [r for r in api_runs if r["state"] != "queued"]
        assert api_runs and all(r["state"] == "success" for r in api_runs), api_runs
        api_completed = 0
        for r in api_runs:
            if airflow.task_states(API, r["dag_run_id"]).get("process_batch") == "success":
                api_completed += airflow.xcom(API, r["dag_run_id"], "process_batch").get("complete", 0)
        phases["api_scheduled"] = time.monotonic() - t

        # -- 5. what is stored -----------------------------------------------------------------------
        # The BigQuery batch completed its chains from the same job (BIGQUERY); the fallback climbs the
        # chains of its batch until it meets those (BIGQUERY_WITH_API_FALLBACK); the scheduled API DAG
        # does the rest.
        fallback = second["claimed"] | chains.ancestors(second["claimed"], stop=bq)
        expected_source = {a: "API" for a in chains.accounts}
        expected_source.update({a: "BIGQUERY" for a in bq})
        expected_source.update({a: "BIGQUERY_WITH_API_FALLBACK" for a in fallback})
        with SqliteLineageStore(stack["store_path"], migrate=False) as store:
            records = store.get_many("public", sorted(chains.accounts))
            for leaf in chains.leaves:
                lineage = store.lineage("public", leaf)
                assert lineage and lineage["reaches_root"], (leaf, lineage)
                for account in chains.chain(leaf):
                    rec = records[account]
                    assert rec.status == "COMPLETE", (account, rec.status, rec.last_error)
                    assert rec.pipeline_source == expected_source[account], (account, rec.pipeline_source)
                    assert rec.stellar_creator_account == chains.creator[account], account
                    if account != ROOT:
                        assert rec.stellar_account_created_at == chains.created_at[account], account
            for network in ("public", "testnet"):
                assert store.get(network, chains.invalid) is None, f"invalid address stored on {network}"
            assert store.pending_accounts(None, limit=1000) == []
            stats_now = store.stats("public", stuck_threshold=dt.timedelta(minutes=15))
        counts = {
            s: sum(1 for v in expected_source.values() if v == s)
            for s in ("API", "BIGQUERY", "BIGQUERY_WITH_API_FALLBACK")
        }
        assert counts == {
            "API": len(chains.accounts) - len(bq) - len(fallback),
            "BIGQUERY": len(bq),
            "BIGQUERY_WITH_API_FALLBACK": len(fallback),
        }
        # the fallback climbed exactly the ancestors no batch had completed (how many depends on which
        # leaves the first batch took)
        climb = airflow.xcom(BIGQUERY, "e2e_bigquery_fallback", "api_fallback")
        assert (climb["climbed"], climb["complete"]) == (len(fallback) - BQ_BATCH, len(fallback)), climb
        assert api_completed == counts["API"], f"API DAG runs completed {api_completed}, store says {counts}"

        # -- 6. the plugin's pipeline-stats, same token ---------------------------------------------------
        path = "/stellar-lineage/api/pipeline-stats?network=public"
        assert airflow.raw("GET", path, auth=False)[0] == 401
        ps = airflow.request("GET", path)
        total = len(chains.accounts)
        assert {
            k: ps[k]
            for k in (
                "api_total",
                "bigquery_total",
                "bigquery_with_fallback_total",
                "complete_total",
                "pending_total",
                "processing_total",
                "failed_total",
                "invalid_total",
                "total_accounts",
            )
        } == {
            "api_total": counts["API"],
            "bigquery_total": counts["BIGQUERY"],
            "bigquery_with_fallback_total": counts["BIGQUERY_WITH_API_FALLBACK"],
            "complete_total": total,
            "pending_total": 0,
            "processing_total": 0,
            "failed_total": 0,
            "invalid_total": 0,
            "total_accounts": total,
        }, (ps, stats_now)
        assert ps["last_24h"] == {
            "api": counts["API"],
            "bigquery": counts["BIGQUERY"],
            "bigquery_with_fallback": counts["BIGQUERY_WITH_API_FALLBACK"],
        }, ps
        spend = ps["bigquery_spend"]
        assert spend["total_usd"] > 0 and spend["saved_usd"] > 0 and spend["cost_per_account_usd"] > 0, spend
    except BaseException:
        _report(request, "\n[e2e] FAILED - diagnostics follow\n" + airflow.diagnostics())
        raise
    finally:
        elapsed = time.monotonic() - stack["t0"]
        _report(
            request,
            "[e2e] phases: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items())
            + f"; {elapsed:.0f} s since start-up began",
        )
    assert elapsed < BUDGET_SECONDS, f"e2e took {elapsed:.0f} s, budget {BUDGET_SECONDS} s"
