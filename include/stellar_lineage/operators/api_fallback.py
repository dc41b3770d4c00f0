"""ApiFallbackOperator: finish what the BigQuery path could not, through the API path."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.runtime import task_store


class ApiFallbackOperator(BaseOperator):
    """Every record this run still holds (the guard refused, the job failed, or Hubble had no
    creation for it) goes through ``api_pipeline.process_claimed`` with source
    ``BIGQUERY_WITH_API_FALLBACK``; records the query task finished are not touched. Unfinished work
    at the deadline is released to PENDING, so nothing is left PROCESSING. Skips when nothing is held.

    Runs with ``trigger_rule="all_done"`` in the DAG so a crashed query task still hands its batch over.
    """

    template_fields: Sequence[str] = ("deadline_seconds",)
    ui_color = "#d9f2e6"

    def __init__(self, *, claim_task_id: str, deadline_seconds: Any = 1800, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim_task_id, self.deadline_seconds = claim_task_id, deadline_seconds

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.stellar_lineage.hubble.pipeline import fallback_batch

        claim = context["ti"].xcom_pull(task_ids=self.claim_task_id) or {}
        if not claim.get("records"):
            raise AirflowSkipException("Nothing was claimed in this run")
        deadline = time.monotonic() + float(self.deadline_seconds)
        with task_store() as (settings, store):
            held = store.held_by(claim["records"], claim["owner"])
            if not held:
                raise AirflowSkipException("The BigQuery path finished every claimed record")
            self.log.info("API fallback for %d records", sum(len(v) for v in held.values()))
            return fallback_batch(store, settings, claim, deadline=deadline)
