"""Settings parsing: defaults, typed values and errors that name the Variable."""

from __future__ import annotations

import pytest

from include.stellar_lineage.config import FIELDS, ConfigError, defaults, load_settings, parse_settings


def test_defaults_match_design():
    s = defaults()
    assert s.api_pipeline_enabled is True
    assert s.api_pipeline_batch_size is None  # auto
    assert s.api_pipeline_interval_seconds == 120
    assert s.bigquery_cost_limit_usd == 0.71
    assert s.bigquery_size_limit_gb == 145
    assert s.bigquery_price_per_tib_usd == 6.25
    assert s.bigquery_batch_size == 100
    assert s.bigquery_max_children == 100000
    assert s.horizon_requests_per_minute == 60
    assert s.stellar_expert_requests_per_minute == 60
    assert s.stuck_threshold_minutes == 15
    assert s.max_retry_attempts == 3
    assert s.store_backend == "sqlite"


def test_values_are_parsed():
    s = parse_settings(
        {
            "api_pipeline_enabled": "False",
            "api_pipeline_batch_size": "7",
            "store_backend": "Cassandra",
            "bigquery_job_labels": '{"team": "data"}',
        }
    )
    assert s.api_pipeline_enabled is False and s.api_pipeline_batch_size == 7
    assert s.store_backend == "cassandra" and s.bigquery_job_labels == {"team": "data"}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("api_pipeline_batch_size", "-3", "'auto' or a whole number >= 1"),
        ("api_pipeline_batch_size", "lots", "'auto' or a whole number >= 1"),
        ("api_pipeline_enabled", "maybe", "true or false"),
        ("bigquery_cost_limit_usd", "cheap", "a number >= 0"),
        ("bigquery_cost_limit_usd", "nan", "a number >= 0"),
        ("horizon_requests_per_minute", "0", "a number > 0"),
        ("store_backend", "postgres", "one of sqlite, cassandra"),
        ("bigquery_job_labels", "{not json", "a JSON object"),
        ("bigquery_job_labels", "[1, 2]", "a JSON object"),
        ("bigquery_job_labels", '{"Team": "data"}', "label key 'Team'"),
        ("bigquery_job_labels", '{"team": "Data Eng"}', "label 'team': the value must be"),
        ("bigquery_job_labels", '{"team": 3}', "label 'team': the value must be"),
        ("bigquery_job_labels", '{"airflow-dag": "x"}', "set per job from the DAG and task ids"),
        # the API DAG runs every 2 minutes: a shorter interval could not be honoured, so it is refused
        ("api_pipeline_interval_seconds", "60", "whole number >= 120"),
        ("api_pipeline_interval_seconds", "119", "whole number >= 120"),
    ],
)
def test_bad_values_name_the_variable(name, value, expected):
    with pytest.raises(ConfigError) as err:
        parse_settings({name: value})
    message = str(err.value)
    assert f"stellar_lineage_{name}" in message and expected in message


def test_load_settings_reads_airflow_variables(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_API_PIPELINE_BATCH_SIZE", "12")
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_BIGQUERY_ENABLED", "false")
    s = load_settings()
    assert s.api_pipeline_batch_size == 12 and s.bigquery_enabled is False


def test_load_settings_rejects_bad_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_STELLAR_LINEAGE_MAX_RETRY_ATTEMPTS", "-1")
    with pytest.raises(ConfigError, match="stellar_lineage_max_retry_attempts"):
        load_settings()


def test_every_field_has_docs_and_a_default_that_parses():
    parsed = defaults()
    for field in FIELDS:
        assert field.meaning and field.kind, field.name
        assert getattr(parsed, field.name) == field.parse(field.default), field.name
