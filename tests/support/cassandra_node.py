"""The Cassandra node of the integration tests: connection helpers, a keyspace per module, and a
private node for the one test that must stop and restart its node.

The shared node is found through ``STELLAR_LINEAGE_CASSANDRA_HOSTS`` (default ``127.0.0.1:9042``). With
``CI`` set an unreachable node fails the tests (never a silent skip); locally they skip with a message
saying how to start the node.

The shared node (``scripts/cassandra-local`` on 9042) serves every other Cassandra test, the cluster
e2e test and benchmarks at the same time (the suite runs on several pytest-xdist workers): restarting it
would break whatever else is using it. This node has its own home, CQL and storage ports, and reuses the
shared node's server jars (``CASSANDRA_LIB_DIR``) instead of fetching them from Maven Central again.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psutil
import pytest
from cassandra.cluster import Cluster
from cassandra.policies import ConstantReconnectionPolicy

from include.stellar_lineage.store.cassandra import CassandraLineageStore
from tests.support.processes import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "cassandra-local"
VERSION = "5.0.8"  # scripts/cassandra-local's default
PRIVATE_MARKER = "-Dstellar_lineage.test_node=private"
HOSTS_ENV = "STELLAR_LINEAGE_CASSANDRA_HOSTS"


def hosts() -> tuple[list[str], int]:
    raw = os.environ.get(HOSTS_ENV, "127.0.0.1:9042")
    pairs = [h.strip().rsplit(":", 1) for h in raw.split(",") if h.strip()]
    return [p[0] for p in pairs], int(pairs[0][1]) if len(pairs[0]) == 2 else 9042


def connect() -> tuple[Cluster, object]:
    contact, port = hosts()
    cluster = Cluster(
        contact,
        port=port,
        connect_timeout=5,
        control_connection_timeout=5,
        reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None),
    )
    return cluster, cluster.connect()


def create_keyspace(session, name: str) -> None:
    session.execute(f"CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")


@pytest.fixture(scope="module")
def node():
    try:
        cluster, session = connect()
    except Exception as exc:  # noqa: BLE001 - NoHostAvailable and friends
        message = (
            f"no Cassandra node at {os.environ.get(HOSTS_ENV, '127.0.0.1:9042')} ({exc}); "
            f"start one with `scripts/cassandra-local start` or set {HOSTS_ENV}"
        )
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run these, never skip them
        pytest.skip(message)
    keyspace = f"lineage_it_{uuid.uuid4().hex[:10]}"
    create_keyspace(session, keyspace)
    CassandraLineageStore(session, keyspace, check=False).migrate()
    yield session, keyspace
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
    cluster.shutdown()


class PrivateCassandraNode:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        shared_home = Path(os.environ.get("CASSANDRA_LOCAL_HOME", PROJECT_ROOT / ".local" / "cassandra"))
        version = os.environ.get("CASSANDRA_VERSION", VERSION)
        self.env = {
            **os.environ,
            "CASSANDRA_LOCAL_HOME": str(home),
            "CASSANDRA_CQL_PORT": str(self.port),
            "CASSANDRA_STORAGE_PORT": str(free_port()),
            "CASSANDRA_LIB_DIR": str(shared_home / f"lib-{version}"),
            # the inherited options (scripts/test: C1-only JIT) plus a marker, so jvm_args() can show
            # that scripts/cassandra-local passes CASSANDRA_JVM_EXTRA_OPTS through to the JVM
            "CASSANDRA_JVM_EXTRA_OPTS": f"{os.environ.get('CASSANDRA_JVM_EXTRA_OPTS', '')} {PRIVATE_MARKER}".strip(),
        }

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, action: str, timeout: float) -> None:
        done = subprocess.run(
            [str(SCRIPT), action], env=self.env, check=False, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"scripts/cassandra-local {action} failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def start(self) -> PrivateCassandraNode:
        self._run("start", 300)
        return self

    def stop(self) -> None:
        self._run("stop", 120)

    def jvm_args(self) -> list[str]:
        """The running node's JVM command line (read from its pid file)."""
        return psutil.Process(int((self.home / "cassandra.pid").read_text())).cmdline()

    def wipe(self) -> None:
        """Stop and delete the node's data (the jars are the shared node's: kept)."""
        self._run("wipe", 120)
