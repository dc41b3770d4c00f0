"""HubbleLineageQueryOperator: run the approved batch job and write what Hubble answered."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink, Context

from include.stellar_lineage.payloads import Claim, HubbleBatchSummary, RunDecision
from include.stellar_lineage.runtime import task_store

JOB_XCOM_KEY = "bigquery_job"  # {"project_id", "location", "job_id"} of the latest job
# The Google provider's BigQueryJobDetailLink format (importing the provider's link class would load
# its whole hook stack when the DAG file is parsed).
CONSOLE_JOB_URL = "https://console.cloud.google.com/bigquery?project={project_id}&ws=!1m5!1m4!1m3!1s{project_id}!2s{job_id}!3s{location}"


class BigQueryJobConsoleLink(BaseOperatorLink):
    """ "BigQuery job" button of the task: the console page of the task's latest job."""

    name = "BigQuery job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        job = XCom.get_value(ti_key=ti_key, key=JOB_XCOM_KEY)
        return CONSOLE_JOB_URL.format(**job) if job else ""


class HubbleLineageQueryOperator(BaseOperator):
    """One BigQuery job per approved query of the claimed batch, each capped by
    ``maximum_bytes_billed`` from its own estimate (logic: ``hubble.pipeline.run_batch``). Results are
    written with source ``BIGQUERY``; accounts Hubble has no creation for, refused queries, and a
    query's accounts when its job fails (quota, 403, ``bytesBilledLimitExceeded``, timeout), are left
    claimed for the fallback task.

    :param claim: the claim task's result, ``claim_task.output``.
    :param decision: the guard's decision, ``guard_task.output["decision"]``.
    Pushes every job id (XCom ``bigquery_job_ids``) and the latest job (``bigquery_job``, the
    "BigQuery job" console link) as soon as BigQuery accepts it; ``on_kill`` cancels the job in flight.
    Not deferrable: a job here takes seconds to minutes and the same task then writes its results
    (with Horizon attributes) while holding the claim, so a trigger would only add a triggerer and a
    resume per query without freeing much worker time.

    :param job_timeout_seconds: job + result wait; past it the job is cancelled and handed over.
    :param deadline_seconds: stop writing results (Horizon attributes) after this; the rest is released.
    """

    template_fields: Sequence[str] = ("claim", "decision", "job_timeout_seconds")
    ui_color = "#dbe9ff"
    operator_extra_links = (BigQueryJobConsoleLink(),)

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
        self._hubble: Any = None

    def execute(self, context: Context) -> HubbleBatchSummary:
        from include.stellar_lineage.api_pipeline import default_client_factory
        from include.stellar_lineage.hubble.pipeline import run_batch
        from include.stellar_lineage.hubble.query import HubbleClient, job_labels

        ti = context["ti"]
        claim: Claim | None = self.claim
        guard: RunDecision | None = self.decision
        if not claim or not claim.get("records") or not guard or not guard["approved"]:
            self.log.info("Nothing approved to run")
            return HubbleBatchSummary(
                complete=0, ancestors=0, invalid=0, retry_later=0, released=0, handed=[], reason=None
            )
        from include.stellar_lineage.lease import claim_lease

        deadline = time.monotonic() + float(self.deadline_seconds)
        job_ids: list[str] = []

        def started(job: Any) -> None:  # pushed as soon as BigQuery accepted the job, not at the end
            job_ids.append(job.job_id)
            ref = {"project_id": job.project, "location": job.location, "job_id": job.job_id}
            ti.xcom_push(key="bigquery_job_ids", value=job_ids)
            ti.xcom_push(key=JOB_XCOM_KEY, value=ref)
            self.log.info("BigQuery job %s started: %s", job.job_id, CONSOLE_JOB_URL.format(**ref))

        with (
            task_store() as (settings, store),
            claim_lease(
                store, claim["records"], claim["owner"], stuck_threshold_s=settings.stuck_threshold_minutes * 60
            ),
        ):  # the job and the write-back may outlast the stuck threshold: keep the claims
            self._hubble = HubbleClient(
                settings,
                gcp_conn_id=self.gcp_conn_id,
                labels=job_labels(settings, dag_id=self.dag_id, task_id=self.task_id),
                on_job=started,
            )
            summary = run_batch(
                store,
                settings,
                claim,
                guard,
                hubble=self._hubble,
                client_for=default_client_factory(settings),
                run_id=context["run_id"],
                timeout_s=float(self.job_timeout_seconds),
                deadline=deadline,
                recheck_budget=ti.try_number > 1,
            )
        return summary

    def on_kill(self) -> None:
        """The task is being stopped (marked failed/cleared, timeout): cancel the job in flight so it
        stops scanning. The claimed records stay PROCESSING until stuck recovery re-queues them."""
        if self._hubble is not None and self._hubble.cancel_running():
            self.log.warning("Cancelled the running BigQuery job on kill")
