"""Defaults shared by the project's DAGs (no I/O: imported at parse time)."""

from __future__ import annotations

import datetime as dt

DEFAULT_ARGS = {
    "owner": "stellar-lineage",
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=15),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=2),
}

# Airflow pauses the API DAG after this many failed runs in a row (max_consecutive_failed_dag_runs);
# the health check says so, with the cause of the last failure.
API_MAX_CONSECUTIVE_FAILED_RUNS = 15

ALLOWED_TAGS = frozenset(
    {
        "stellar-lineage",
        "pipeline/api",
        "pipeline/bigquery",
        "source/horizon",
        "source/hubble",
        "ops",
    }
)
