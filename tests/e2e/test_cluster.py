"""The project on a real CeleryExecutor cluster (``scripts/run-cluster``): PostgreSQL metadata DB, Redis
broker, the Cassandra store, api-server, dag-processor, scheduler and two Celery workers that are
distinct hosts (own hostname, own host-level state), the cluster-wide (Redis) rate limiter, fake
Horizon / Stellar Expert servers in this process and a private BigQuery emulator. Time-scaled: small
budgets and thresholds through Variables, so the whole test takes a few minutes.

1. 4 concurrent enqueue runs put 223 accounts in the queue (220 that exist, 3 that do not).
2. Both pipelines at once: a BigQuery run (dry run on the emulator, refused by a 0 USD limit, its API
   fallback finishes the batch) and API runs, two at a time, on both workers.
3. While a ``process_batch`` task runs, its worker host is SIGKILLed (every process of it): the task is
   retried on the other host with the same claim owner, stuck claims are recovered, the other worker
   keeps going.
4. Every record ends COMPLETE (the chains up to the root) or INVALID (the 3 missing accounts); every
   account is completed exactly once (the completion lines of every task log, both hosts, are
   counted per record); task instances ran on both hosts; the fake Horizon's own arrival log shows no
   60-second window above the configured cluster-wide budget although both hosts spend it.
"""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.e2e.airflow_harness import (
    PARSING_UNDER_LOAD,
    PROJECT_ROOT,
    AirflowStandalone,
    PrivateBigQueryEmulator,
    free_port,
    tail,
    wait_for,
)
from tests.include.test_ratelimit import max_in_window
from tests.support.bigquery_fixtures import Emulator, load_hubble
from tests.support.fake_stellar import FakeHorizon, FakeStellarExpert
from tests.support.stellar_dataset import ROOTS, Dataset, address

pytestmark = [pytest.mark.e2e, pytest.mark.slow_module(190)]

ENQUEUE, BIGQUERY, API = "stellar_lineage_enqueue", "stellar_lineage_bigquery_pipeline", "stellar_lineage_api_pipeline"
ROOT = ROOTS["public"]
HUBS, LEAVES_PER_HUB, MISSING = 20, 11, 3
HORIZON_BUDGET = 300  # requests per minute for the whole cluster
ADMIN_PASSWORD = "e2e-admin-password"
COMPLETE_LINE = re.compile(r"(public|testnet)/(G[A-Z2-7]{55}) COMPLETE \(creator")
WORKERS = ("worker-a", "worker-b")


class World:
    """root → 20 hubs → 11 leaves each (220 leaves), plus 3 well-formed accounts that do not exist."""

    def __init__(self) -> None:
        self.ds = Dataset("public")
        self.hubs = [self._create(ROOT, f"cl-hub-{h}", 10 + h) for h in range(HUBS)]
        self.leaves = [
            self._create(hub, f"cl-leaf-{h}-{i}", 100 + h * LEAVES_PER_HUB + i)
            for h, hub in enumerate(self.hubs)
            for i in range(LEAVES_PER_HUB)
        ]
        self.missing = [address(f"cl-missing-{i}") for i in range(MISSING)]

    def _create(self, funder: str, name: str, ledger: int) -> str:
        account = address(name)
        self.ds.create_account(funder, account, "100", ledger=ledger)
        return account

    @property
    def requested(self) -> list[str]:
        return self.leaves + self.missing

    @property
    def everything(self) -> list[str]:
        return [ROOT, *self.hubs, *self.leaves, *self.missing]


class Cluster(AirflowStandalone):
    """REST access to the cluster's api-server (the harness's client, without its process handling)."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:  # noqa: D107 - no super(): nothing to start
        self.home = home
        self.port = int(env["CLUSTER_API_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "logs" / "scheduler.log"
        self.proc = None
        self._seen = {}
        self._token = None
        self.env = env

    def run_script(self, command: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(PROJECT_ROOT / "scripts" / "run-cluster"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def task_instances(self) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.request("GET", f"/api/v2/dags/~/dagRuns/~/taskInstances?limit=100&offset={offset}")
            out += page["task_instances"]
            offset += 100
            if offset >= page["total_entries"]:
                return out

    def diagnostics(self, lines: int = 40) -> str:
        parts = []
        for name in ("scheduler", "dag-processor", "api-server", *WORKERS):
            parts += [f"===== {name}.log =====", tail(self.home / "logs" / f"{name}.log", lines)]
        task_logs = sorted((self.home / "airflow-home" / "logs").glob("dag_id=*/**/*.log"), key=os.path.getmtime)
        for path in task_logs[-4:]:
            parts += [f"===== {path.name} {path.parent.name} =====", tail(path, 30)]
        return "\n".join(parts)


def _report(request, line: str) -> None:
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        print(line)  # a worker's terminal is not shown: captured output reaches the failure report
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def _cluster_env(home: Path, horizon: str, expert: str, emulator: str) -> dict[str, str]:
    keyspace = f"e2e_cluster_{uuid.uuid4().hex[:8]}"
    variables = {
        "stellar_lineage_horizon_requests_per_minute": str(HORIZON_BUDGET),
        "stellar_lineage_stellar_expert_requests_per_minute": "1200",
        "stellar_lineage_api_pipeline_batch_size": "45",
        "stellar_lineage_stuck_threshold_minutes": "1",
        "stellar_lineage_bigquery_cost_limit_usd": "0",  # the dry run is refused: the API fallback runs
    }
    connections = {
        "horizon_public": {"conn_type": "http", "host": horizon},
        "stellar_expert": {"conn_type": "http", "host": expert},
        "google_cloud_default": {
            "conn_type": "google_cloud_platform",
            "extra": json.dumps({"is_anonymous": True, "project": "test-project", "use_legacy_sql": False}),
        },
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "e2e-variables.json").write_text(json.dumps(variables))
    (home / "e2e-connections.json").write_text(json.dumps(connections))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_", "AIRFLOW_HOME", "STELLAR_LINEAGE_RATELIMIT"))
    }
    env.update(
        CLUSTER_HOME=str(home),
        CLUSTER_API_PORT=str(free_port()),
        CLUSTER_PG_PORT=str(free_port()),
        CLUSTER_REDIS_PORT=str(free_port()),
        CLUSTER_KEYSPACE=keyspace,
        CLUSTER_VARIABLES=str(home / "e2e-variables.json"),
        CLUSTER_CONNECTIONS=str(home / "e2e-connections.json"),
        CLUSTER_ADMIN_PASSWORD=ADMIN_PASSWORD,
        BIGQUERY_EMULATOR_HOST=emulator,
        # A lost worker's task is noticed after 20 s instead of 5 minutes (time-scaled).
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
        **PARSING_UNDER_LOAD,
    )
    return env


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    t0 = time.monotonic()
    base = tmp_path_factory.mktemp("cluster")
    world = World()
    horizon = FakeHorizon(world.ds).start()
    expert = FakeStellarExpert({"public": world.ds}).start()
    emulator = PrivateBigQueryEmulator(base / "bq")
    env = _cluster_env(base / "cluster", horizon.url, expert.url, emulator.url)
    c = Cluster(base / "cluster", env)
    problems: list[str] = []
    emulator_error: list[BaseException] = []

    def start_emulator() -> None:  # in parallel with the cluster's start-up
        try:
            emulator.start()
            load_hubble(Emulator(emulator.url), world.ds)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            emulator_error.append(exc)

    bq_thread = threading.Thread(target=start_emulator, daemon=True)
    try:
        bq_thread.start()
        t_start = time.monotonic()
        out = c.run_script("start", timeout=900)
        if out.returncode != 0:
            _report(request, out.stdout[-3000:] + out.stderr[-3000:])
            _report(request, c.diagnostics())
            pytest.fail(f"scripts/run-cluster start failed ({out.returncode})")
        bq_thread.join(timeout=600)
        if emulator_error:
            raise emulator_error[0]
        _report(request, f"\n[cluster] up in {time.monotonic() - t_start:.0f} s ({c.url}, home {c.home})")
        c.wait_dags([ENQUEUE, BIGQUERY, API], timeout=300)
        yield {"cluster": c, "world": world, "horizon": horizon, "keyspace": env["CLUSTER_KEYSPACE"], "t0": t0}
    finally:
        t_stop = time.monotonic()
        out = c.run_script("stop", timeout=300)
        _report(request, f"[cluster] stopped in {time.monotonic() - t_stop:.0f} s (exit {out.returncode})")
        status = c.run_script("status", timeout=120)
        left = [line for line in status.stdout.splitlines() if "running" in line and not line.startswith("cassandra")]
        if left:
            problems.append(f"cluster processes survived stop: {left}")
        _drop_keyspace(env["CLUSTER_KEYSPACE"])
        survivors = emulator.stop()
        if survivors:
            problems.append(f"BigQuery emulator survived its stop: {survivors}")
        horizon.stop()
        expert.stop()
        _report(request, f"[cluster] total duration (start to clean shutdown): {time.monotonic() - t0:.0f} s")
    if problems:
        pytest.fail("; ".join(problems))


def _store(keyspace: str, timeout: float = 120):
    """The cluster's store, opened from the test (retried: the shared node may be restarting)."""
    from cassandra.cluster import Cluster as CassandraCluster
    from cassandra.policies import ConstantReconnectionPolicy, RoundRobinPolicy

    from include.stellar_lineage.store.cassandra import CassandraLineageStore

    port = int(os.environ.get("CASSANDRA_CQL_PORT", "9042"))

    def connect():
        node = CassandraCluster(
            ["127.0.0.1"],
            port=port,
            connect_timeout=10,
            load_balancing_policy=RoundRobinPolicy(),
            reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None),
        )
        try:
            return node, CassandraLineageStore(node.connect(), keyspace, check=False)
        except Exception:
            node.shutdown()
            raise

    return wait_for(f"the Cassandra node on :{port}", connect, timeout, 3.0)


def _read(store, accounts: list[str]) -> dict:
    """Records of ``accounts``, retried while the shared node restarts (the driver reconnects)."""
    found = wait_for("a read from the Cassandra store", lambda: (store.get_many("public", accounts),), 120, 2.0)
    return found[0]


def _drop_keyspace(keyspace: str) -> None:
    try:
        node, store = _store(keyspace)
    except Exception:  # noqa: BLE001 - nothing to clean up when the node is not there
        return
    try:
        store.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        node.shutdown()


def _kill_host(c: Cluster, worker: str) -> list[int]:
    """SIGKILL every process of one worker host (a machine lost without warning)."""
    leader = int((c.home / "pids" / f"{worker}.pid").read_text())
    procs = {leader: psutil.Process(leader)}
    for p in psutil.Process(leader).children(recursive=True):
        procs[p.pid] = p
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == leader:
                procs.setdefault(p.pid, p)
        except (OSError, psutil.Error):
            continue
    for p in procs.values():
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    psutil.wait_procs(list(procs.values()), timeout=15)
    return sorted(procs)


def test_two_worker_hosts_share_one_budget_survive_a_lost_host_and_complete_everything_once(cluster, request):
    c, world, horizon = cluster["cluster"], cluster["world"], cluster["horizon"]
    node, store = _store(cluster["keyspace"])
    t_work = time.monotonic()
    try:
        # 1. Four concurrent enqueue runs.
        chunks = [world.requested[i::4] for i in range(4)]
        runs = [
            c.trigger(ENQUEUE, f"enqueue_{i}", {"accounts": chunk, "network": "public"})
            for i, chunk in enumerate(chunks)
        ]
        for run_id in runs:
            assert c.wait_run(ENQUEUE, run_id, timeout=300)["state"] == "success", c.task_states(ENQUEUE, run_id)

        # 2. Both pipelines at once: one BigQuery run (refused dry run -> API fallback) + API runs.
        c.trigger(BIGQUERY, "bq_fallback", {"limit": 40, "network": "public", "dry_run_only": False})
        killed: dict[str, object] = {}
        api_runs: list[str] = []
        deadline = time.monotonic() + 600
        while True:
            records = _read(store, world.everything)
            open_ = [a for a in world.everything if a not in records or records[a].status in ("PENDING", "PROCESSING")]
            active = [r for r in c.runs(API) if r["state"] in ("queued", "running")]
            bq_state = c.request("GET", f"/api/v2/dags/{BIGQUERY}/dagRuns/bq_fallback")["state"]
            if not open_ and not active and bq_state in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"{len(open_)} records still open: {c.diagnostics()}"
            if open_ and len(active) < 2:
                api_runs.append(c.trigger(API, f"api_{len(api_runs)}"))
            # 3. Lose a worker host while it runs a process_batch (records claimed, requests in flight).
            if not killed:
                running = [
                    ti
                    for ti in c.task_instances()
                    if ti["task_id"] in ("process_batch", "api_fallback")
                    and ti["state"] == "running"
                    and ti["hostname"] in WORKERS
                    and ti.get("start_date")
                ]
                for ti in running:
                    # Mid-task for sure: the run's claim owner still holds several records.
                    pipeline = "API" if ti["dag_id"] == API else "BIGQUERY"
                    owner = f"{pipeline}:{ti['dag_id']}:{ti['dag_run_id']}"
                    held = [r for r in records.values() if r.status == "PROCESSING" and r.claim_owner == owner]
                    if len(held) < 3:
                        continue
                    killed = {"ti": ti, "held": len(held), "pids": _kill_host(c, ti["hostname"])}
                    _report(
                        request,
                        f"[cluster] SIGKILLed host {ti['hostname']} ({len(killed['pids'])} processes) while "
                        f"{ti['dag_id']}/{ti['dag_run_id']}/{ti['task_id']} held {len(held)} claims",
                    )
                    break
            time.sleep(3)
        t_done = time.monotonic() - t_work

        # 4. Outcome.
        bq_run = c.request("GET", f"/api/v2/dags/{BIGQUERY}/dagRuns/bq_fallback")
        assert bq_run["state"] == "success", c.task_states(BIGQUERY, "bq_fallback")
        records = _read(store, world.everything)
        by_status = collections.Counter(r.status for r in records.values())
        assert {a: records[a].status for a in world.missing} == {a: "INVALID" for a in world.missing}
        not_complete = {
            a: records[a].status for a in [ROOT, *world.hubs, *world.leaves] if records[a].status != "COMPLETE"
        }
        assert not not_complete, not_complete
        assert by_status == {"COMPLETE": 1 + HUBS + HUBS * LEAVES_PER_HUB, "INVALID": MISSING}
        assert records[world.leaves[0]].stellar_creator_account == world.hubs[0]

        completions = collections.Counter()
        for path in (c.home / "airflow-home" / "logs").glob("dag_id=*/**/*.log"):
            for m in COMPLETE_LINE.finditer(path.read_text(errors="replace")):
                completions[m.group(2)] += 1
        twice = {a: n for a, n in completions.items() if n > 1}
        assert not twice, f"completed more than once: {twice}"
        sources = collections.Counter(
            records[a].pipeline_source for a in world.everything if records[a].status == "COMPLETE"
        )
        tis = c.task_instances()
        bq_tis = [ti for ti in tis if (ti["dag_id"], ti["dag_run_id"]) == (BIGQUERY, "bq_fallback")]
        if any(ti["try_number"] > 1 for ti in bq_tis):
            # The lost host was running part of the BigQuery run (e.g. its cost guard): by the retry its
            # 40 claims were older than the 1-minute stuck threshold, recovery put them back and the API
            # runs finished them; the fallback then finds nothing of its own left (never a second completion,
            # checked above).
            assert sources["API"] >= 1, sources
        else:
            assert sources["BIGQUERY_WITH_API_FALLBACK"] >= 1 and sources["API"] >= 1, sources
        hosts = collections.Counter(ti["hostname"] for ti in tis if ti["hostname"])
        assert set(WORKERS) <= set(hosts), hosts

        assert killed, "no process_batch was seen running: the worker-loss scenario did not happen"
        victim = killed["ti"]
        survivor = next(w for w in WORKERS if w != victim["hostname"])
        after = next(
            ti
            for ti in tis
            if (ti["dag_id"], ti["dag_run_id"], ti["task_id"])
            == (victim["dag_id"], victim["dag_run_id"], victim["task_id"])
        )
        assert after["try_number"] > victim["try_number"] and after["hostname"] == survivor, (victim, after)
        later = [
            ti for ti in tis if ti["hostname"] == survivor and (ti.get("end_date") or "") > (victim["start_date"] or "")
        ]
        assert later, "the surviving worker ran nothing after the other host was lost"

        arrivals = [r.t_mono for r in horizon.request_log()]
        worst = max_in_window(arrivals, 60.0)
        assert worst <= HORIZON_BUDGET, f"{worst} Horizon requests in one 60 s window (budget {HORIZON_BUDGET})"
        _report(
            request,
            f"[cluster] {len(world.requested)} accounts enqueued, {len(records)} records terminal in {t_done:.0f} s "
            f"({dict(by_status)}; sources {dict(sources)}); task instances per host {dict(hosts)}; "
            f"{len(arrivals)} Horizon requests, busiest 60 s window {worst} (budget {HORIZON_BUDGET}); "
            f"API runs triggered {len(api_runs)}",
        )
    except BaseException:
        _report(request, c.diagnostics())
        raise
    finally:
        node.shutdown()
