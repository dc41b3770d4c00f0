"""Enqueue → API run latency on a real ``airflow standalone`` (shared by the e2e module, which runs
it on its Airflow, and ``benchmarks/bench_enqueue_latency.py``, which starts one of its own).

Both DAGs are unpaused; fake Horizon / Stellar Expert serve one public and one testnet data set
(each a depth-3 chain per trial). Each trial enqueues one fresh leaf through the REST API
(``logical_date: null``) and measures, on this machine's clock:

* enqueue → first API task: the POST of the enqueue run until ``start_date`` of ``check_schedule``
  in the API run that claimed the leaf (normally the run the enqueue's asset event created; a cron
  slot can win the race now and then: ``run_type`` says which);
* enqueue → COMPLETE: until the leaf's record is COMPLETE in the lineage store (and its whole chain
  of 3 creators up to the network root).

Trials are sequential (the previous leaf COMPLETE and no API run active) so runs never coalesce.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from pathlib import Path
from typing import Any

from include.stellar_lineage.store.sqlite import SqliteLineageStore
from tests.e2e.airflow_harness import AirflowStandalone, wait_for
from tests.support.chains import chain_dataset
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.stellar_dataset import Dataset

ENQUEUE, API = "stellar_lineage_enqueue", "stellar_lineage_api_pipeline"
Leaf = tuple[str, str, list[str]]  # network, leaf, its chain leaf-first


def _parse(ts: str | None) -> float | None:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() if ts else None


def latency_chains(trials: int, public: Dataset | None = None) -> tuple[dict[str, Dataset], list[Leaf]]:
    """One depth-3 chain per trial, alternating public / testnet; the public ones are added to ``public``
    when given (the e2e module's data set). Returns the data set per network and the trials' leaves."""
    datasets: dict[str, Dataset | None] = {"public": public, "testnet": None}
    leaves: list[Leaf] = []
    for i in range(trials):
        network = "testnet" if i % 2 else "public"
        ds, chain = chain_dataset(
            3, name=f"latency-{i}", network=network, ds=datasets[network], first_ledger=100 + 10 * i
        )
        datasets[network] = ds
        leaves.append((network, chain[0], chain))
    return {network: ds or Dataset(network) for network, ds in datasets.items()}, leaves


def api_path_env(
    base: Path, store_path: Path, horizon_public: str, horizon_testnet: str, expert: str
) -> dict[str, str]:
    """Airflow environment of the API path on the fakes: SQLite store, both Horizons, Stellar Expert,
    budgets no test waits on, host-wide limiter state under ``base``."""
    return {
        "AIRFLOW_VAR_STELLAR_LINEAGE_SQLITE_PATH": str(store_path),
        "AIRFLOW_VAR_STELLAR_LINEAGE_HORIZON_REQUESTS_PER_MINUTE": "6000",
        "AIRFLOW_VAR_STELLAR_LINEAGE_STELLAR_EXPERT_REQUESTS_PER_MINUTE": "6000",
        "AIRFLOW_CONN_HORIZON_PUBLIC": json.dumps({"conn_type": "http", "host": horizon_public}),
        "AIRFLOW_CONN_HORIZON_TESTNET": json.dumps({"conn_type": "http", "host": horizon_testnet}),
        "AIRFLOW_CONN_STELLAR_EXPERT": json.dumps({"conn_type": "http", "host": expert}),
        "STELLAR_LINEAGE_RATELIMIT_DIR": str(base / "ratelimit"),
    }


def measure(base: Path, trials: int, report=print) -> dict[str, Any]:
    """Start an Airflow of its own, run ``trials`` enqueues (alternating public / testnet) and return
    the measurements (``startup_s`` and the orphan check ``stop`` included)."""
    datasets, leaves = latency_chains(trials)
    store_path = base / "lineage.db"
    SqliteLineageStore(store_path, migrate=True).close()
    with (
        FakeHorizon(datasets["public"]) as h_public,
        FakeHorizon(datasets["testnet"]) as h_testnet,
        FakeStellarExpert(datasets) as expert,
    ):
        airflow = AirflowStandalone(
            base / "airflow-home",
            paused_at_creation=True,
            extra_env=api_path_env(base, store_path, h_public.url, h_testnet.url, expert.url),
        )
        try:
            t0 = time.monotonic()
            airflow.start(timeout=900)
            airflow.wait_dags([ENQUEUE, API], timeout=600)
            startup_s = round(time.monotonic() - t0, 1)
            out = run_trials(airflow, store_path, leaves, report)
            out["startup_s"] = startup_s
        except BaseException:
            report(airflow.diagnostics())
            raise
        finally:
            stop = airflow.stop(grace=60)
    out["stop"] = stop
    return out


def run_trials(airflow: AirflowStandalone, store_path: Path, leaves: list[Leaf], report=print) -> dict[str, Any]:
    """Unpause both DAGs and run one trial per leaf on a started Airflow whose fake Horizons serve the
    leaves' chains; ``runs`` lists only the API runs created from the first trial on."""
    airflow.set_paused(ENQUEUE, False)
    airflow.set_paused(API, False)
    settle(airflow)
    earlier = {r["dag_run_id"] for r in airflow.runs(API)}
    out: dict[str, Any] = {"trials": []}
    with SqliteLineageStore(store_path, migrate=False) as store:
        for i, (network, leaf, chain) in enumerate(leaves):
            out["trials"].append(_trial(airflow, store, i, network, leaf, chain))
            report(f"[latency] trial {i} {out['trials'][-1]}")
    out["runs"] = [(r["run_type"], r["state"]) for r in airflow.runs(API) if r["dag_run_id"] not in earlier]
    first = [t["to_first_task_s"] for t in out["trials"]]
    done = [t["to_complete_s"] for t in out["trials"]]
    out["median_to_first_task_s"] = round(statistics.median(first), 1)
    out["median_to_complete_s"] = round(statistics.median(done), 1)
    out["max_to_first_task_s"] = max(first)
    return out


def settle(airflow: AirflowStandalone) -> None:
    """No API run active (unpausing may start the latest cron slot at once)."""

    def idle() -> bool:
        return all(r["state"] not in ("running", "queued") for r in airflow.runs(API))

    wait_for("no active API DAG run", idle, timeout=900, interval=1)


def _trial(
    airflow: AirflowStandalone, store: SqliteLineageStore, i: int, network: str, leaf: str, chain: list[str]
) -> dict[str, Any]:
    settle(airflow)
    before = {r["dag_run_id"] for r in airflow.runs(API)}
    t_enqueue = time.time()
    airflow.trigger(ENQUEUE, f"latency-{i}", {"accounts": [leaf], "network": network})

    def serving_run() -> tuple[dict[str, Any], float] | None:
        # The run whose claim_batch took the leaf (a cron slot that started before the enqueue task
        # finished finds an empty queue and does not count).
        for run in airflow.runs(API):
            if (
                run["dag_run_id"] in before
                or airflow.task_states(API, run["dag_run_id"]).get("claim_batch") != "success"
            ):
                continue
            claim = airflow.xcom(API, run["dag_run_id"], "claim_batch") or {}
            if leaf not in {r["account"] for r in claim.get("records", [])}:
                continue
            ti = airflow.request("GET", f"/api/v2/dags/{API}/dagRuns/{run['dag_run_id']}/taskInstances/check_schedule")
            return run, _parse(ti["start_date"])
        return None

    # Generous bounds: they only catch a hang (on an overloaded machine a task can spend 30 s parsing
    # its DAG file); the latency itself is measured, not asserted.
    run, started = wait_for(f"the API run that claimed {leaf}", serving_run, timeout=900, interval=1)

    def complete(accounts: list[str]) -> float | None:
        records = store.get_many(network, accounts)
        return time.time() if all(a in records and records[a].status == "COMPLETE" for a in accounts) else None

    t_leaf = wait_for(f"{leaf} COMPLETE", lambda: complete([leaf]), timeout=900, interval=0.25)
    t_chain = wait_for(f"{leaf}'s chain COMPLETE", lambda: complete(chain), timeout=900, interval=0.25)
    return {
        "network": network,
        "run_type": run["run_type"],
        "to_first_task_s": round(started - t_enqueue, 2),
        "to_complete_s": round(t_leaf - t_enqueue, 2),
        "to_chain_complete_s": round(t_chain - t_enqueue, 2),
    }
