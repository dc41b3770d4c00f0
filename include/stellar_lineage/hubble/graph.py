"""The creator graph from Hubble (issue 15; reference/hubble_graph.md): the query side.

* ``plan`` — what a run does: a full ``snapshot`` (one ~96 GB scan) or a ``refresh`` of the partitions
  since the loaded graph's ``as_of_time``; or it resumes an interrupted load (no query at all).
* ``GraphHubble.dry_run`` — the free estimate the cost guard (``pipeline.estimate_batch``) decides on.
* ``GraphHubble.create_result_table`` — the approved job: ``CREATE TABLE … AS`` into a short-lived
  table of the billing project (``bigquery_scratch_dataset``, 24 h expiry), with
  ``maximum_bytes_billed`` from the guard. The emulator does not write ``QueryJobConfig.destination``
  and Storage Read needs a real table, so the table is made by DDL (reference/hubble_graph.md).
The rows are then read with the Storage Read API and loaded by ``graph_load``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

from include.stellar_lineage.config import Settings
from include.stellar_lineage.hubble.query import (
    HubbleClient,
    HubbleUnavailable,
    _message,
    _reason,
    _retryable,
    check_identifier,
    lineage_sql,
)
from include.stellar_lineage.store.base import LineageStore

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).with_name("sql")
SQL_FILES = {"snapshot": SQL_DIR / "graph_snapshot.sql", "refresh": SQL_DIR / "graph_refresh.sql"}
MODES = tuple(SQL_FILES)
REFERENCED_TABLES = 2  # enriched_history_operations + history_ledgers (minimum billing per table)
RESULT_TABLE_HOURS = 24  # the result table is read within the run; it expires by itself after this


class GraphNotLoaded(RuntimeError):
    """A refresh was asked for a network whose graph has never been loaded."""


@dataclasses.dataclass(frozen=True)
class GraphPlan:
    mode: str  # "snapshot" | "refresh"
    network: str
    since: dt.datetime | None  # refresh: the loaded graph's as_of_time
    resume: dict[str, Any] | None  # the cursor of an interrupted load of the same mode, else None

    def sql(self, settings: Settings) -> str:
        return lineage_sql(settings, SQL_FILES[self.mode])

    def parameters(self) -> list[Any]:
        from google.cloud.bigquery import ScalarQueryParameter

        return [] if self.since is None else [ScalarQueryParameter("since", "TIMESTAMP", self.since)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "network": self.network,
            "since": None if self.since is None else self.since.isoformat(),
            "resume": self.resume,
        }


def plan(store: LineageStore, network: str, mode: str) -> GraphPlan:
    if mode not in MODES:
        raise ValueError(f"graph mode must be one of {', '.join(MODES)}, got {mode!r}")
    state = store.graph_state(network)
    cursor = json.loads(state.resume_cursor) if state is not None and state.resume_cursor else None
    if cursor is not None and cursor.get("mode") == mode:
        return GraphPlan(mode, network, None, cursor)
    if mode == "snapshot":
        return GraphPlan(mode, network, None, None)
    if state is None or state.as_of_time is None or state.as_of_ledger <= 0:
        raise GraphNotLoaded(
            f"no creator graph loaded for {network}: run the graph snapshot DAG with mode=snapshot first"
        )
    return GraphPlan(mode, network, state.as_of_time, None)


def new_snapshot_id(mode: str, network: str, now: dt.datetime) -> str:
    return f"{mode}_{network}_{now:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


class GraphHubble:
    """BigQuery calls of a graph run, on the client of ``HubbleClient`` (Connection credentials)."""

    def __init__(self, settings: Settings, hubble: HubbleClient) -> None:
        self.settings, self.hubble = settings, hubble

    @property
    def client(self) -> Any:
        return self.hubble.client

    def _labels(self) -> dict[str, str]:
        return dict(self.hubble.labels)  # bigquery_job_labels (+ airflow-dag/task), as on every job

    def dry_run(self, graph: GraphPlan) -> int:
        from google.api_core.retry import Retry
        from google.cloud.bigquery import QueryJobConfig

        config = QueryJobConfig(
            dry_run=True, use_query_cache=False, query_parameters=graph.parameters(), labels=self._labels()
        )
        job = self.client.query(
            graph.sql(self.settings),
            job_config=config,
            location=self.settings.bigquery_location,
            retry=Retry(predicate=_retryable, timeout=60.0),
            job_retry=None,
        )
        return int(job.total_bytes_processed or 0)

    def result_table(self, snapshot_id: str) -> str:
        dataset = check_identifier("bigquery_scratch_dataset", self.settings.bigquery_scratch_dataset)
        return f"{self.client.project}.{dataset}.{re.sub(r'[^A-Za-z0-9_]', '_', snapshot_id)}"

    def create_result_table(
        self, graph: GraphPlan, table: str, *, max_bytes_billed: int, timeout_s: float
    ) -> tuple[str, int | None]:
        """Run the graph query into ``table``; returns (job id, bytes billed or None if not reported)."""
        from google.api_core import exceptions as gexc
        from google.api_core.retry import Retry
        from google.cloud.bigquery import Dataset, QueryJobConfig

        project, dataset, _name = table.split(".")
        scratch = Dataset(f"{project}.{dataset}")
        scratch.location = self.settings.bigquery_location
        scratch.default_table_expiration_ms = RESULT_TABLE_HOURS * 3600 * 1000
        retry = Retry(predicate=_retryable, timeout=min(60.0, timeout_s))
        ddl = (
            f"CREATE OR REPLACE TABLE `{table}`\n"
            f"OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL {RESULT_TABLE_HOURS} HOUR))"
            f"\nAS\n{graph.sql(self.settings)}"
        )
        config = QueryJobConfig(
            query_parameters=graph.parameters(),
            maximum_bytes_billed=int(max_bytes_billed),
            job_timeout_ms=int(timeout_s * 1000),
            labels=self._labels(),
        )
        job = None
        try:
            self.client.create_dataset(scratch, exists_ok=True, retry=retry)
            job = self.client.query(
                ddl, job_config=config, location=self.settings.bigquery_location, retry=retry, job_retry=None
            )
            job.result(timeout=timeout_s, retry=retry)
        except gexc.GoogleAPICallError as exc:
            raise HubbleUnavailable(_reason(exc), _message(exc)) from exc
        except (TimeoutError, gexc.RetryError) as exc:
            if job is not None:
                try:
                    job.cancel()
                except Exception:  # noqa: BLE001 - best effort; job_timeout_ms cancels it server-side too
                    log.warning("could not cancel graph job %s", job.job_id)
            raise HubbleUnavailable("timeout", f"no result within {timeout_s:.0f}s ({type(exc).__name__})") from exc
        return job.job_id, job.total_bytes_billed

    def table_rows(self, table: str) -> int:
        return int(self.client.get_table(table).num_rows or 0)

    def drop_table(self, table: str) -> None:
        try:
            self.client.delete_table(table, not_found_ok=True)
        except Exception:  # noqa: BLE001 - it expires by itself
            log.warning("could not delete result table %s (it expires within %d h)", table, RESULT_TABLE_HOURS)
