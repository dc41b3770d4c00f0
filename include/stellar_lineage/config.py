"""One typed settings object built from Airflow Variables, inside tasks only.

Every Variable is named ``stellar_lineage_<field>``. ``load_settings()`` reads them through
``airflow.sdk.Variable`` (so ``AIRFLOW_VAR_*`` environment variables and secrets backends work), parses
and validates every value, and raises ``ConfigError`` naming the Variable and the accepted values before
any record is touched. Never call it at DAG parse time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

PREFIX = "stellar_lineage_"
_MISSING = object()


class ConfigError(ValueError):
    """A Variable holds a value this package cannot use."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number >= {minimum}") from None
        if value < minimum:
            raise ValueError(f"expected a whole number >= {minimum}")
        return value

    return parse


def _float_at_least(minimum: float, *, exclusive: bool = False) -> Callable[[str], float]:
    bound = f"> {minimum}" if exclusive else f">= {minimum}"

    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number {bound}") from None
        if not math.isfinite(value) or value < minimum or (exclusive and value == minimum):
            raise ValueError(f"expected a number {bound}")
        return value

    return parse


def _batch_size(raw: str) -> int | None:
    if raw.strip().lower() == "auto":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("expected 'auto' or a whole number >= 1") from None
    if value < 1:
        raise ValueError("expected 'auto' or a whole number >= 1")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return value

    return parse


def _json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"expected a JSON object ({exc.msg})") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


# BigQuery label rules: keys start with a lowercase letter; keys and values hold lowercase letters,
# digits, "_" and "-", at most 63 characters (values may be empty); at most 64 labels per job.
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
AIRFLOW_LABELS = ("airflow-dag", "airflow-task")  # added per job, as the Google provider does


def _job_labels(raw: str) -> dict[str, str]:
    value = _json_object(raw)
    if len(value) > 64 - len(AIRFLOW_LABELS):
        raise ValueError(f"expected at most {64 - len(AIRFLOW_LABELS)} labels (BigQuery allows 64 per job)")
    for key, item in value.items():
        if key in AIRFLOW_LABELS:
            raise ValueError(f"label {key!r} is set per job from the DAG and task ids")
        if not _LABEL_KEY.match(key):
            raise ValueError(f"label key {key!r}: lowercase letters, digits, '_' or '-', starting with a letter")
        if not isinstance(item, str) or not _LABEL_VALUE.match(item):
            raise ValueError(f"label {key!r}: the value must be a string of lowercase letters, digits, '_' or '-'")
    return value


def _text(raw: str) -> str:
    return raw.strip()


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    default: str
    kind: str
    meaning: str


FIELDS: tuple[Field, ...] = (
    Field("api_pipeline_enabled", _bool, "true", "bool", "Run the 2-minute API DAG; false skips its runs."),
    Field(
        "api_pipeline_batch_size",
        _batch_size,
        "auto",
        "'auto' or int >= 1",
        "Accounts claimed per API run; auto derives it from the rate budget and the queue depth.",
    ),
    Field(
        "api_pipeline_interval_seconds",
        _int_at_least(120),
        "120",
        "int >= 120",
        "Seconds between API runs: the DAG's 2-minute schedule is the floor; above 120, early runs skip.",
    ),
    Field("bigquery_enabled", _bool, "true", "bool", "Allow the BigQuery DAG; false skips its runs."),
    Field(
        "bigquery_cost_limit_usd",
        _float_at_least(0),
        "0.71",
        "float >= 0",
        "Refuse a BigQuery batch whose dry-run estimate costs more (USD).",
    ),
    Field(
        "bigquery_size_limit_gb",
        _float_at_least(0),
        "145",
        "float >= 0",
        "Refuse a BigQuery batch whose dry run scans more (GB, 10^9 bytes).",
    ),
    Field(
        "bigquery_price_per_tib_usd",
        _float_at_least(0),
        "6.25",
        "float >= 0",
        "On-demand price per TiB scanned, for the estimate.",
    ),
    Field(
        "bigquery_daily_budget_usd",
        _float_at_least(0),
        "5",
        "float >= 0",
        "Refuse a batch when today's (UTC) spend plus its estimate would pass this.",
    ),
    Field(
        "bigquery_batch_size",
        _int_at_least(1),
        "100",
        "int >= 1",
        "Accounts per BigQuery query: a run's limit is split into chunks of this size, each dry-run and guarded.",
    ),
    Field(
        "bigquery_max_children",
        _int_at_least(0),
        "100000",
        "int >= 0",
        "Children kept per account from Hubble (the total count is always kept).",
    ),
    Field("bigquery_project", _text, "crypto-stellar", "text", "Project holding the Hubble dataset."),
    Field("bigquery_dataset", _text, "crypto_stellar", "text", "Hubble dataset name."),
    Field("bigquery_location", _text, "US", "text", "BigQuery job location (must match the dataset)."),
    Field(
        "bigquery_scratch_dataset",
        _text,
        "stellar_lineage_scratch",
        "text",
        "Dataset in the billing project for the graph snapshot's short-lived result tables (created if missing).",
    ),
    Field(
        "graph_refresh_daily",
        _bool,
        "false",
        "bool",
        "Daily scheduled runs of the graph snapshot DAG refresh the creator graph; false skips them.",
    ),
    Field(
        "horizon_requests_per_minute",
        _float_at_least(0, exclusive=True),
        "60",
        "float > 0",
        "Horizon request budget shared by every task process (of the host, or the cluster with redis).",
    ),
    Field(
        "stellar_expert_requests_per_minute",
        _float_at_least(0, exclusive=True),
        "60",
        "float > 0",
        "Stellar Expert request budget (shared like the Horizon one).",
    ),
    Field(
        "rate_limiter_backend",
        _choice("host", "redis"),
        "host",
        "host | redis",
        "Who shares the request budgets: host = a file per machine; redis = every worker host of a cluster.",
    ),
    Field(
        "rate_limiter_redis_conn_id",
        _text,
        "stellar_lineage_redis",
        "connection id",
        "Airflow Connection of the Redis server of the cluster-wide rate limiter (backend redis).",
    ),
    Field(
        "horizon_max_pages",
        _int_at_least(1),
        "5",
        "int >= 1",
        "Pages of 200 payments read per account for children; beyond it children are incomplete.",
    ),
    Field(
        "http_timeout_seconds",
        _float_at_least(0, exclusive=True),
        "20",
        "float > 0",
        "Timeout of one HTTP request to Horizon or Stellar Expert.",
    ),
    Field(
        "http_max_attempts",
        _int_at_least(1),
        "4",
        "int >= 1",
        "Attempts per HTTP request for 429/5xx/timeouts (honouring Retry-After).",
    ),
    Field(
        "stuck_threshold_minutes",
        _int_at_least(1),
        "15",
        "int >= 1",
        "PROCESSING longer than this goes back to PENDING (retry + 1).",
    ),
    Field(
        "max_retry_attempts", _int_at_least(0), "3", "int >= 0", "Transient failures before a record becomes FAILED."
    ),
    Field(
        "breaker_failure_threshold",
        _int_at_least(1),
        "5",
        "int >= 1",
        "Consecutive provider faults (5xx, timeouts, connection errors, 429 beyond Retry-After) across records "
        "that open a provider's circuit breaker: runs then claim nothing for it and charge no retries.",
    ),
    Field(
        "breaker_probe_interval_seconds",
        _int_at_least(1),
        "120",
        "int >= 1",
        "While a breaker is open, at most one probe request per this many seconds (host-wide).",
    ),
    Field(
        "retry_backoff_base_seconds",
        _int_at_least(0),
        "120",
        "int >= 0",
        "Delay before a record-level transient failure is retried; doubles per retry (with jitter).",
    ),
    Field(
        "retry_backoff_max_seconds",
        _int_at_least(0),
        "21600",
        "int >= 0",
        "Upper bound of the per-record retry delay.",
    ),
    Field(
        "failed_retry_interval_hours",
        _float_at_least(0, exclusive=True),
        "24",
        "float > 0",
        "FAILED records are re-queued automatically this long after they failed.",
    ),
    Field(
        "failed_retry_max_rounds",
        _int_at_least(0),
        "3",
        "int >= 0",
        "Automatic re-queues per FAILED record (0 = never; the retry-all-FAILED action has no limit).",
    ),
    Field(
        "health_max_failed_per_hour",
        _int_at_least(0),
        "20",
        "int >= 0",
        "Health check fails when more records than this became FAILED in the last hour.",
    ),
    Field(
        "store_backend", _choice("sqlite", "cassandra"), "sqlite", "sqlite | cassandra", "Where lineage records live."
    ),
    Field("sqlite_path", _text, "", "path", "SQLite store file; empty = $AIRFLOW_HOME/stellar_lineage.db."),
    Field(
        "cassandra_conn_id",
        _text,
        "cassandra_lineage",
        "connection id",
        "Airflow Connection of the Cassandra / Astra DB store.",
    ),
    Field(
        "health_max_minutes_without_progress",
        _int_at_least(1),
        "30",
        "int >= 1",
        "Health check fails when PENDING work exists but nothing completed for this long.",
    ),
    Field(
        "health_max_stuck",
        _int_at_least(0),
        "10",
        "int >= 0",
        "Health check fails when more PROCESSING records than this are stuck.",
    ),
    Field(
        "bigquery_job_labels",
        _job_labels,
        '{"app": "stellar-lineage"}',
        "JSON object of BigQuery labels",
        "Labels on every BigQuery job, dry runs included, plus airflow-dag/airflow-task (billing exports).",
    ),
    Field(
        "graph_mode",
        _bool,
        "false",
        "bool",
        "Complete accounts the creator graph covers from the graph alone; the Horizon attribute fetch "
        "becomes a lowest-priority follow-up.",
    ),
)
_BY_NAME = {f.name: f for f in FIELDS}


@dataclasses.dataclass(frozen=True)
class Settings:
    api_pipeline_enabled: bool
    api_pipeline_batch_size: int | None
    api_pipeline_interval_seconds: int
    bigquery_enabled: bool
    bigquery_cost_limit_usd: float
    bigquery_size_limit_gb: float
    bigquery_price_per_tib_usd: float
    bigquery_daily_budget_usd: float
    bigquery_batch_size: int
    bigquery_max_children: int
    bigquery_project: str
    bigquery_dataset: str
    bigquery_location: str
    bigquery_scratch_dataset: str
    graph_refresh_daily: bool
    horizon_requests_per_minute: float
    stellar_expert_requests_per_minute: float
    rate_limiter_backend: str
    rate_limiter_redis_conn_id: str
    horizon_max_pages: int
    http_timeout_seconds: float
    http_max_attempts: int
    stuck_threshold_minutes: int
    max_retry_attempts: int
    breaker_failure_threshold: int
    breaker_probe_interval_seconds: int
    retry_backoff_base_seconds: int
    retry_backoff_max_seconds: int
    failed_retry_interval_hours: float
    failed_retry_max_rounds: int
    health_max_failed_per_hour: int
    store_backend: str
    sqlite_path: str
    cassandra_conn_id: str
    health_max_minutes_without_progress: int
    health_max_stuck: int
    bigquery_job_labels: dict[str, str]
    graph_mode: bool


def parse_settings(raw: Mapping[str, str | None]) -> Settings:
    """Build Settings from ``{field name: raw string or None}``; None means the default."""
    values: dict[str, Any] = {}
    for field in FIELDS:
        text = raw.get(field.name)
        text = field.default if text is None else str(text)
        try:
            values[field.name] = field.parse(text)
        except ValueError as exc:
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise ConfigError(
                f"Airflow Variable {PREFIX}{field.name} = {shown!r} is invalid: {exc} "
                f"(type {field.kind}, default {field.default!r})."
            ) from None
    return Settings(**values)


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read every ``stellar_lineage_*`` Variable (inside a task) and validate it."""
    from airflow.sdk import Variable  # imported here: never at parse time

    raw: dict[str, str | None] = {}
    for field in FIELDS:
        value = Variable.get(PREFIX + field.name, default=None)
        raw[field.name] = None if value is None else str(value)
    for key, value in (overrides or {}).items():
        if key not in _BY_NAME:
            raise ConfigError(f"Unknown setting override {key!r}")
        raw[key] = None if value is None else str(value)
    return parse_settings(raw)


def defaults() -> Settings:
    return parse_settings({})
