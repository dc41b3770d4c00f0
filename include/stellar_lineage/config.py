"""One typed settings object built from Airflow Variables, inside tasks only.

Every Variable is named ``stellar_lineage_<field>``. ``load_settings()`` reads them through
``airflow.sdk.Variable`` (so ``AIRFLOW_VAR_*`` environment variables and secrets backends work), parses
and validates every value, and raises ``ConfigError`` naming the Variable and the accepted values before
any record is touched. Never call it at DAG parse time. The Variables themselves (name, parser, default,
meaning) are the table in ``config_variables.py``; their parsers are in ``config_validation.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from include.stellar_lineage.config_validation import AIRFLOW_LABELS
from include.stellar_lineage.config_variables import FIELDS, PREFIX, Field

__all__ = [
    "AIRFLOW_LABELS",
    "FIELDS",
    "PREFIX",
    "ConfigError",
    "Field",
    "Settings",
    "defaults",
    "load_settings",
    "parse_settings",
]


class ConfigError(ValueError):
    """A Variable holds a value this package cannot use."""


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
    refresh_after_days: int


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
