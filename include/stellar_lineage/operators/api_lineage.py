"""ApiLineageOperator: finish a claimed batch through Horizon + Stellar Expert."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.api_pipeline import process_claimed
from include.stellar_lineage.runtime import SCHEDULE_SECONDS, task_store


class ApiLineageOperator(BaseOperator):
    """Process the records a ``ClaimLineageBatchOperator`` claimed, climbing each chain to the root
    within a deadline safely inside the DAG's 2-minute interval.

    :param claim: the claim task's XCom (``{"owner", "pipeline", "records"}``), templated.
    :param source: ``pipeline_source`` written on completed records.
    :param deadline_seconds: stop starting new accounts after this many seconds; the rest is
        released back to PENDING for the next run.
    """

    template_fields: Sequence[str] = ("claim",)
    ui_color = "#d9f2e6"

    def __init__(
        self, *, claim: Any, source: str = "API", deadline_seconds: float = SCHEDULE_SECONDS * 0.75, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.source = source
        self.deadline_seconds = deadline_seconds

    def execute(self, context: Context) -> dict[str, Any]:
        claim = self.claim or {}
        records = claim.get("records") or []
        if not records:
            self.log.info("Nothing claimed; nothing to do")
            return {"claimed": 0}
        deadline = time.monotonic() + float(self.deadline_seconds)
        with task_store() as (settings, store):
            summary = process_claimed(
                store,
                records,
                settings=settings,
                source=self.source,
                owner=claim["owner"],
                pipeline=claim.get("pipeline"),
                deadline=deadline,
            )
        summary.pop("completed", None)
        return summary
