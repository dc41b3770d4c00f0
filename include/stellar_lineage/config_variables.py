"""Every Airflow Variable of the package: name, parser, default, type and meaning, in one table.

``config.py`` loads them (the one loader); ``scripts/variables_table.py`` generates the README table
and ``airflow_settings.yaml`` seeds the defaults from this table (tests keep both in step).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from include.stellar_lineage.config_validation import (
    auto_or_int,
    bigquery_labels,
    boolean,
    days_or_off,
    float_at_least,
    int_at_least,
    one_of,
    text,
)

PREFIX = "stellar_lineage_"


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    default: str
    kind: str
    meaning: str


FIELDS: tuple[Field, ...] = (
    Field("api_pipeline_enabled", boolean, "true", "bool", "Run the 2-minute API DAG; false skips its runs."),
    Field(
        "api_pipeline_batch_size",
        auto_or_int,
        "auto",
        "'auto' or int >= 1",
        "Accounts claimed per API run; auto derives it from the rate budget and the queue depth.",
    ),
    Field(
        "api_pipeline_interval_seconds",
        int_at_least(120),
        "120",
        "int >= 120",
        "Seconds between API runs: the DAG's 2-minute schedule is the floor; above 120, early runs skip.",
    ),
    Field("bigquery_enabled", boolean, "true", "bool", "Allow the BigQuery DAG; false skips its runs."),
    Field(
        "bigquery_cost_limit_usd",
        float_at_least(0),
        "0.71",
        "float >= 0",
        "Refuse a BigQuery batch whose dry-run estimate costs more (USD).",
    ),
    Field(
        "bigquery_size_limit_gb",
        float_at_least(0),
        "145",
        "float >= 0",
        "Refuse a BigQuery batch whose dry run scans more (GB, 10^9 bytes).",
    ),
    Field(
        "bigquery_price_per_tib_usd",
        float_at_least(0),
        "6.25",
        "float >= 0",
        "On-demand price per TiB scanned, for the estimate.",
    ),
    Field(
        "bigquery_daily_budget_usd",
        float_at_least(0),
        "5",
        "float >= 0",
        "Refuse a batch when today's (UTC) spend plus its estimate would pass this.",
    ),
    Field(
        "bigquery_batch_size",
        int_at_least(1),
        "100",
        "int >= 1",
        "Accounts per BigQuery query: a run's limit is split into chunks of this size, each dry-run and guarded.",
    ),
    Field(
        "bigquery_max_children",
        int_at_least(0),
        "100000",
        "int >= 0",
        "Children kept per account from Hubble (the total count is always kept).",
    ),
    Field("bigquery_project", text, "crypto-stellar", "text", "Project holding the Hubble dataset."),
    Field("bigquery_dataset", text, "crypto_stellar", "text", "Hubble dataset name."),
    Field("bigquery_location", text, "US", "text", "BigQuery job location (must match the dataset)."),
    Field(
        "bigquery_scratch_dataset",
        text,
        "stellar_lineage_scratch",
        "text",
        "Dataset in the billing project for the graph snapshot's short-lived result tables (created if missing).",
    ),
    Field(
        "graph_refresh_daily",
        boolean,
        "false",
        "bool",
        "Daily scheduled runs of the graph snapshot DAG refresh the creator graph; false skips them.",
    ),
    Field(
        "horizon_requests_per_minute",
        float_at_least(0, exclusive=True),
        "60",
        "float > 0",
        "Horizon request budget shared by every task process (of the host, or the cluster with redis).",
    ),
    Field(
        "stellar_expert_requests_per_minute",
        float_at_least(0, exclusive=True),
        "60",
        "float > 0",
        "Stellar Expert request budget (shared like the Horizon one).",
    ),
    Field(
        "rate_limiter_backend",
        one_of("host", "redis"),
        "host",
        "host | redis",
        "Who shares the request budgets: host = a file per machine; redis = every worker host of a cluster.",
    ),
    Field(
        "rate_limiter_redis_conn_id",
        text,
        "stellar_lineage_redis",
        "connection id",
        "Airflow Connection of the Redis server of the cluster-wide rate limiter (backend redis).",
    ),
    Field(
        "horizon_max_pages",
        int_at_least(1),
        "5",
        "int >= 1",
        "Pages of 200 payments read per account for children; beyond it children are incomplete.",
    ),
    Field(
        "http_timeout_seconds",
        float_at_least(0, exclusive=True),
        "20",
        "float > 0",
        "Timeout of one HTTP request to Horizon or Stellar Expert.",
    ),
    Field(
        "http_max_attempts",
        int_at_least(1),
        "4",
        "int >= 1",
        "Attempts per HTTP request for 429/5xx/timeouts (honouring Retry-After).",
    ),
    Field(
        "stuck_threshold_minutes",
        int_at_least(1),
        "15",
        "int >= 1",
        "PROCESSING longer than this goes back to PENDING (retry + 1).",
    ),
    Field("max_retry_attempts", int_at_least(0), "3", "int >= 0", "Transient failures before a record becomes FAILED."),
    Field(
        "breaker_failure_threshold",
        int_at_least(1),
        "5",
        "int >= 1",
        "Consecutive provider faults (5xx, timeouts, connection errors, 429 beyond Retry-After) across records "
        "that open a provider's circuit breaker: runs then claim nothing for it and charge no retries.",
    ),
    Field(
        "breaker_probe_interval_seconds",
        int_at_least(1),
        "120",
        "int >= 1",
        "While a breaker is open, at most one probe request per this many seconds (host-wide).",
    ),
    Field(
        "retry_backoff_base_seconds",
        int_at_least(0),
        "120",
        "int >= 0",
        "Delay before a record-level transient failure is retried; doubles per retry (with jitter).",
    ),
    Field(
        "retry_backoff_max_seconds",
        int_at_least(0),
        "21600",
        "int >= 0",
        "Upper bound of the per-record retry delay.",
    ),
    Field(
        "failed_retry_interval_hours",
        float_at_least(0, exclusive=True),
        "24",
        "float > 0",
        "FAILED records are re-queued automatically this long after they failed.",
    ),
    Field(
        "failed_retry_max_rounds",
        int_at_least(0),
        "3",
        "int >= 0",
        "Automatic re-queues per FAILED record (0 = never; the retry-all-FAILED action has no limit).",
    ),
    Field(
        "health_max_failed_per_hour",
        int_at_least(0),
        "20",
        "int >= 0",
        "Health check fails when more records than this became FAILED in the last hour.",
    ),
    Field(
        "store_backend", one_of("sqlite", "cassandra"), "sqlite", "sqlite | cassandra", "Where lineage records live."
    ),
    Field("sqlite_path", text, "", "path", "SQLite store file; empty = $AIRFLOW_HOME/stellar_lineage.db."),
    Field(
        "cassandra_conn_id",
        text,
        "cassandra_lineage",
        "connection id",
        "Airflow Connection of the Cassandra / Astra DB store.",
    ),
    Field(
        "health_max_minutes_without_progress",
        int_at_least(1),
        "30",
        "int >= 1",
        "Health check fails when PENDING work exists but nothing completed for this long.",
    ),
    Field(
        "health_max_stuck",
        int_at_least(0),
        "10",
        "int >= 0",
        "Health check fails when more PROCESSING records than this are stuck.",
    ),
    Field(
        "bigquery_job_labels",
        bigquery_labels,
        '{"app": "stellar-lineage"}',
        "JSON object of BigQuery labels",
        "Labels on every BigQuery job, dry runs included, plus airflow-dag/airflow-task (billing exports).",
    ),
    Field(
        "graph_mode",
        boolean,
        "false",
        "bool",
        "Complete accounts the creator graph covers from the graph alone; the Horizon attribute fetch "
        "becomes a lowest-priority follow-up.",
    ),
    Field(
        "refresh_after_days",
        days_or_off,
        "0",
        "int >= 0",
        "Re-collect COMPLETE records collected more than this many days ago, at the lowest priority (only with "
        "capacity an API run has left, old data kept until overwritten); 0 = never.",
    ),
)
