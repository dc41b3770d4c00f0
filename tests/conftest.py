"""pytest bootstrap: isolated AIRFLOW_HOME + SQLite metadata DB, project root on sys.path.

Airflow reads its configuration at import time, so everything here runs before any test module
imports airflow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_home = tempfile.mkdtemp(prefix="stellar-lineage-test-home-")
os.environ["AIRFLOW_HOME"] = _home
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT_ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "x" * 64
os.environ["AIRFLOW__CORE__EXECUTE_TASKS_NEW_PYTHON_INTERPRETER"] = "False"
os.environ.setdefault("STELLAR_LINEAGE_RATELIMIT_DIR", str(Path(_home) / "ratelimit"))
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

_db_ready = False


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB, for tests that run dag.test()."""
    global _db_ready
    if not _db_ready:
        from airflow.utils import db

        db.resetdb()
        _db_ready = True
    return _home


@pytest.fixture(autouse=True)
def host_state_dir(tmp_path, monkeypatch):
    """Host-wide state (rate limiter, circuit breakers) per test: an opened breaker never leaks."""
    path = tmp_path / "host-state"
    monkeypatch.setenv("STELLAR_LINEAGE_RATELIMIT_DIR", str(path))
    return path


@pytest.fixture
def sqlite_store(tmp_path):
    from include.stellar_lineage.store.sqlite import SqliteLineageStore

    store = SqliteLineageStore(tmp_path / "lineage.db")
    yield store
    store.close()


def pytest_collection_modifyitems(config, items):
    """Slowest modules first (``pytestmark = pytest.mark.slow_module(seconds)``), the rest in collection
    order. `scripts/test` runs pytest-xdist with ``--dist loadfile --no-loadscope-reorder``: a worker
    takes the next module from this order, so the long poles (a real Airflow, a Celery cluster, the
    10,000-account graph) start at once instead of queuing behind the short modules at the end."""

    def seconds(item) -> float:
        mark = item.get_closest_marker("slow_module")
        return -float(mark.args[0]) if mark else 0.0

    items.sort(key=seconds)  # stable: a module's tests keep their order
