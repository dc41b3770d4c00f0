"""RecoverStuckRecordsOperator: PROCESSING records whose worker died go back to the queue."""

from __future__ import annotations

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.payloads import RecoverySummary
from include.stellar_lineage.runtime import task_store


class RecoverStuckRecordsOperator(BaseOperator):
    """PROCESSING longer than ``stuck_threshold_minutes`` → PENDING with retry+1, FAILED at
    ``max_retry_attempts``. PENDING records are never considered stuck.

    :return: ``{"requeued": n, "failed": n}`` via XCom.
    """

    ui_color = "#fff3d6"

    def execute(self, context: Context) -> RecoverySummary:
        from include.stellar_lineage.api_claim import recover

        with task_store() as (settings, store):
            out = recover(store, settings)
        return RecoverySummary(requeued=len(out.requeued), failed=len(out.failed))
