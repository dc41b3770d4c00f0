"""HubbleLineageQueryOperator: run the approved batch job and write what Hubble answered."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.payloads import Claim
from include.stellar_lineage.runtime import task_store


class HubbleLineageQueryOperator(BaseOperator):
    """One BigQuery job for the claimed batch, capped by ``maximum_bytes_billed`` from the guard's
    estimate (logic: ``hubble.pipeline.run_batch``). Results are written with source ``BIGQUERY``;
    accounts Hubble has no creation for, and the whole batch when the job fails (quota, 403,
    ``bytesBilledLimitExceeded``, timeout), are left claimed for the fallback task.

    :param claim: the claim task's result, ``claim_task.output``.
    :param decision: the guard's decision, ``guard_task.output["decision"]``.
    :param job_timeout_seconds: job + result wait; past it the job is cancelled and handed over.
    :param deadline_seconds: stop writing results (Horizon attributes) after this; the rest is released.
    """

    template_fields: Sequence[str] = ("claim", "decision", "job_timeout_seconds")
    ui_color = "#dbe9ff"

    def __init__(
        self,
        *,
        claim: Any,
        decision: Any,
        job_timeout_seconds: Any = 600,
        deadline_seconds: float = 1800,
        gcp_conn_id: str = "google_cloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.claim, self.decision = claim, decision
        self.job_timeout_seconds, self.deadline_seconds = job_timeout_seconds, deadline_seconds
        self.gcp_conn_id = gcp_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from include.stellar_lineage.api_pipeline import default_client_factory
        from include.stellar_lineage.hubble.pipeline import run_batch
        from include.stellar_lineage.hubble.query import HubbleClient

        ti = context["ti"]
        claim: Claim | None = self.claim
        guard: dict[str, Any] = self.decision or {}
        if not claim or not claim.get("records") or not guard.get("approved"):
            self.log.info("Nothing approved to run")
            return {"handed": [], "complete": 0}
        deadline = time.monotonic() + float(self.deadline_seconds)
        with task_store() as (settings, store):
            summary = run_batch(
                store,
                settings,
                claim,
                guard,
                hubble=HubbleClient(settings, gcp_conn_id=self.gcp_conn_id),
                client_for=default_client_factory(settings),
                run_id=context["run_id"],
                timeout_s=float(self.job_timeout_seconds),
                deadline=deadline,
                recheck_budget=ti.try_number > 1,
            )
        return summary
