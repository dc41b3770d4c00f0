"""FinishClaimedOperator: finish what this run holds through the API path (Horizon + Stellar Expert)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.payloads import ApiRunSummary, Claim
from include.stellar_lineage.records import PipelineSource
from include.stellar_lineage.runtime import seconds_left_in_run, task_store


class FinishClaimedOperator(BaseOperator):
    """Every record this run's claim still holds goes through ``api_pipeline.process_claimed``, which
    owns the mapping of errors to record outcomes (``faults.py``) and climbs each chain through the claim path.
    Unfinished work at the deadline is released to PENDING, so nothing is left PROCESSING.

    The API DAG's ``process_batch`` (source ``API``) and the BigQuery DAG's ``api_fallback`` (source
    ``BIGQUERY_WITH_API_FALLBACK``, trigger rule ``all_done``, so a crashed query task still hands its
    batch over) are both this operator. Records another task of the run already finished are not
    held any more and are not touched. Skips when nothing is held.

    :param claim: the claim task's result, passed as ``claim_task.output`` (an XComArg; None when the
        claim task was skipped or failed).
    :param source: ``pipeline_source`` written on completed records.
    :param deadline_seconds: stop starting new accounts after this many seconds (templated).
    :param run_span_seconds: also stop this many seconds after the run's ``run_after`` (its slot), so
        overlapping scheduled runs hand over the rate budget without a gap (see ``RUN_SPAN_SECONDS``).
    """

    template_fields: Sequence[str] = ("claim", "deadline_seconds")
    ui_color = "#d9f2e6"

    def __init__(
        self, *, claim: Any, source: str, deadline_seconds: Any, run_span_seconds: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.run_span_seconds = run_span_seconds
        self.claim = claim
        self.source = PipelineSource(source).value  # a typo fails at parse time, not in a run
        self.deadline_seconds = deadline_seconds

    def execute(self, context: Context) -> ApiRunSummary:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from include.stellar_lineage.api_pipeline import process_claimed
        from include.stellar_lineage.faults import RunConfigurationError

        claim: Claim | None = self.claim
        if not claim or not claim.get("records"):
            raise AirflowSkipException("Nothing was claimed in this run")
        seconds = float(self.deadline_seconds)
        if self.run_span_seconds is not None:
            run_after = context["dag_run"].run_after.timestamp()
            seconds = min(seconds, seconds_left_in_run(run_after, float(self.run_span_seconds)))
        deadline = time.monotonic() + seconds
        with task_store() as (settings, store):
            held = store.held_by(claim["records"], claim["owner"])
            if not held:
                raise AirflowSkipException("Every claimed record is already finished")
            self.log.info("%s: finishing %d held records", self.source, sum(len(v) for v in held.values()))
            try:
                return process_claimed(
                    store,
                    claim["records"],
                    settings=settings,
                    source=self.source,
                    owner=claim["owner"],
                    pipeline=claim["pipeline"],
                    deadline=deadline,
                )
            except RunConfigurationError as exc:  # records already released; a task retry cannot fix it
                raise AirflowFailException(str(exc)) from exc
