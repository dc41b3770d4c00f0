"""RecoverStuckRecordsOperator: PROCESSING records whose worker died go back to the queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.runtime import task_store


class RecoverStuckRecordsOperator(BaseOperator):
    """PROCESSING longer than ``stuck_threshold_minutes`` → PENDING with retry+1, FAILED at
    ``max_retry_attempts``. PENDING records are never considered stuck.

    :return: ``{"requeued": n, "failed": n}`` via XCom.
    """

    ui_color = "#fff3d6"

    def execute(self, context: Context) -> dict[str, Any]:
        with task_store() as (settings, store):
            out = store.recover_stuck(
                threshold=dt.timedelta(minutes=settings.stuck_threshold_minutes),
                max_retries=settings.max_retry_attempts,
            )
        for network, account in out.requeued:
            self.log.warning("Stuck record %s/%s re-queued (retry + 1)", network, account)
        for network, account in out.failed:
            self.log.error("Stuck record %s/%s FAILED: retry cap reached", network, account)
        return {"requeued": len(out.requeued), "failed": len(out.failed)}
