"""Hubble through the Google provider: one dry run and one job per batch (never per account).

The client comes from ``BigQueryHook(...).get_client(project_id=hook.project_id)``, so credentials
are whatever the ``google_cloud_default`` Connection says (key file, ADC, impersonation...). Nothing
here logs a credential: only the project id, job id, bytes and error reasons are logged.
For a local emulator set ``BIGQUERY_EMULATOR_HOST=http://127.0.0.1:PORT`` (google-cloud-bigquery reads
it when no api_endpoint is given; the provider never passes one) and give the Connection the extras
``{"is_anonymous": true, "project": "<id>"}``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from include.stellar_lineage.config import Settings

log = logging.getLogger(__name__)

SQL_PATH = Path(__file__).with_name("sql") / "hubble_lineage.sql"
REFERENCED_TABLES = 2  # enriched_history_operations + history_ledgers (minimum billing per table)
# Creator levels the batch query walks above each account: real chains are far shorter; the bound stops
# a creation cycle (reference/hubble_graph.md) and stays below BigQuery's 500 recursion iterations.
MAX_CHAIN_DEPTH = 256
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]{1,1024}$")
_LABEL = re.compile(r"^[\w-]{0,63}$")  # the Google provider's LABEL_REGEX


class HubbleUnavailable(RuntimeError):
    """The batch job could not run or finish; ``reason`` is BigQuery's reason (or ours)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@functools.lru_cache(maxsize=8)
def _sql_template(path: Path = SQL_PATH) -> str:
    # Full-line comments are stripped: bqemulator counts @names inside comments as parameters
    # (and the request gets smaller). Inline SQL stays byte-for-byte as written in the .sql file.
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("--")).strip() + "\n"


def lineage_sql(settings: Settings, path: Path = SQL_PATH) -> str:
    """A query of ``hubble/sql/`` (default: the batch query) with table identifiers from validated
    settings (values stay parameters)."""
    project, dataset = settings.bigquery_project, settings.bigquery_dataset
    for name, value in (("bigquery_project", project), ("bigquery_dataset", dataset)):
        check_identifier(name, value)
    return (
        _sql_template(path)
        .replace("{project}", project)
        .replace("{dbt_dataset}", f"{dataset}_dbt")
        .replace("{dataset}", dataset)
    )


def check_identifier(name: str, value: str) -> str:
    """BigQuery cannot take table names as parameters: identifiers are checked, then formatted in."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"stellar_lineage_{name} = {value!r} is not a BigQuery identifier")
    return value


def query_parameters(accounts: Sequence[str], *, max_children: int) -> list[Any]:
    from google.cloud.bigquery import ArrayQueryParameter, ScalarQueryParameter

    return [
        ArrayQueryParameter("accounts", "STRING", list(accounts)),
        ScalarQueryParameter("max_children", "INT64", int(max_children)),
        ScalarQueryParameter("max_depth", "INT64", MAX_CHAIN_DEPTH),
    ]


@dataclasses.dataclass(frozen=True)
class JobOutcome:
    rows: list[dict[str, Any]]
    job_id: str
    bytes_billed: int | None  # None when the server does not report it (emulators)
    bytes_processed: int | None
    cache_hit: bool


def job_labels(settings: Settings, *, dag_id: str | None = None, task_id: str | None = None) -> dict[str, str]:
    """``bigquery_job_labels`` plus ``airflow-dag``/``airflow-task`` as the Google provider's
    BigQueryInsertJobOperator adds them (lowercased, "." -> "-", only when they are valid labels)."""
    labels = dict(settings.bigquery_job_labels)
    dag_label = (dag_id or "").lower()
    task_label = (task_id or "").lower().replace(".", "-")
    if dag_label and task_label and _LABEL.match(dag_label) and _LABEL.match(task_label):
        labels.update({"airflow-dag": dag_label, "airflow-task": task_label})
    return labels


class HubbleClient:
    """Dry run + job for one batch. ``client`` may be injected (tests); else built from the hook.
    ``labels`` go on every job, dry runs included (see ``job_labels``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        gcp_conn_id: str = "google_cloud_default",
        client: Any = None,
        labels: dict[str, str] | None = None,
        on_job: Callable[[Any], None] | None = None,
    ) -> None:
        self.settings = settings
        self.gcp_conn_id = gcp_conn_id
        self._client = client
        self.labels = job_labels(settings) if labels is None else labels
        self.on_job = on_job  # called with each job once BigQuery accepted it (job id, console link)
        self.running: Any = None  # the job in flight, for cancel_running()

    @property
    def client(self) -> Any:
        if self._client is None:
            from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

            hook = BigQueryHook(
                gcp_conn_id=self.gcp_conn_id, use_legacy_sql=False, location=self.settings.bigquery_location
            )
            # project_id must be explicit: get_client() without it falls back to ADC even when the
            # Connection is anonymous. It is the billing project, not Hubble's.
            self._client = hook.get_client(project_id=hook.project_id, location=self.settings.bigquery_location)
            log.info("BigQuery client for project %s (connection %s)", hook.project_id, self.gcp_conn_id)
        return self._client

    def dry_run(self, accounts: Sequence[str]) -> int:
        """Bytes the batch query would scan. The dry run is free and never calls result()."""
        from google.cloud.bigquery import QueryJobConfig

        config = QueryJobConfig(
            dry_run=True,
            use_query_cache=False,
            labels=self.labels,
            query_parameters=query_parameters(accounts, max_children=self.settings.bigquery_max_children),
        )
        from google.api_core.retry import Retry

        # Bounded (60 s) retries: an unreachable API fails the guard task quickly, and the fallback
        # task (trigger rule all_done) still finishes the claimed batch through the API path.
        job = self.client.query(
            lineage_sql(self.settings),
            job_config=config,
            location=self.settings.bigquery_location,
            retry=Retry(predicate=_retryable, timeout=60.0),
            job_retry=None,
        )
        return int(job.total_bytes_processed or 0)

    def run(self, accounts: Sequence[str], *, max_bytes_billed: int, timeout_s: float) -> JobOutcome:
        """Run the batch job with BigQuery enforcing ``max_bytes_billed``; classify failures."""
        from google.api_core import exceptions as gexc
        from google.api_core.retry import Retry
        from google.cloud.bigquery import QueryJobConfig

        config = QueryJobConfig(
            query_parameters=query_parameters(accounts, max_children=self.settings.bigquery_max_children),
            labels=self.labels,
            maximum_bytes_billed=int(max_bytes_billed),
            job_timeout_ms=int(timeout_s * 1000),  # BigQuery cancels the job server-side too
        )
        # Bounded retries of transient errors only. BigQuery reports bytesBilledLimitExceeded
        # sometimes as a 5xx, which the client would otherwise retry until its default deadline.
        retry = Retry(predicate=_retryable, timeout=min(60.0, timeout_s))
        job = None
        try:
            job = self.client.query(
                lineage_sql(self.settings),
                job_config=config,
                location=self.settings.bigquery_location,
                retry=retry,
                job_retry=None,
            )
            self.running = job
            if self.on_job is not None:
                self.on_job(job)
            rows = [dict(row.items()) for row in job.result(timeout=timeout_s, retry=retry)]
        except gexc.GoogleAPICallError as exc:
            raise HubbleUnavailable(_reason(exc), _message(exc)) from exc
        except (TimeoutError, gexc.RetryError) as exc:  # concurrent.futures.TimeoutError is TimeoutError
            if job is not None:
                _cancel_quietly(job)
            raise HubbleUnavailable("timeout", f"no result within {timeout_s:.0f}s ({type(exc).__name__})") from exc
        finally:
            self.running = None
        return JobOutcome(rows, job.job_id, job.total_bytes_billed, job.total_bytes_processed, bool(job.cache_hit))

    def cancel_running(self) -> bool:
        """Cancel the job in flight (the task is being killed); True when there was one."""
        job = self.running
        if job is None:
            return False
        log.warning("Cancelling BigQuery job %s", getattr(job, "job_id", "?"))
        _cancel_quietly(job)
        return True


def _retryable(exc: BaseException) -> bool:
    from google.api_core.retry import if_transient_error

    return isinstance(exc, Exception) and if_transient_error(exc) and "bytes billed" not in str(exc).lower()


def _reason(exc: Any) -> str:
    for err in getattr(exc, "errors", None) or []:
        if isinstance(err, dict) and err.get("reason"):
            return str(err["reason"])
    text = str(exc)
    if "exceeded limit for bytes billed" in text.lower():
        return "bytesBilledLimitExceeded"  # matched on the text too: the status code varies (400/500)
    return {403: "accessDenied", 404: "notFound", 429: "rateLimitExceeded"}.get(
        getattr(exc, "code", 0) or 0, type(exc).__name__
    )


def _message(exc: Any) -> str:
    # The API's own message only: no request headers or credentials are ever part of it.
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:500]


def _cancel_quietly(job: Any) -> None:
    try:
        job.cancel()
    except Exception:  # noqa: BLE001 - best effort; the job also has job_timeout_ms
        log.warning("Could not cancel BigQuery job %s", getattr(job, "job_id", "?"))
