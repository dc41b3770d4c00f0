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
