"""AttributeFollowupsOperator: the API DAG's lowest-priority work, Horizon attributes of records that
graph mode completed from the creator graph alone (``graph_mode.run_followups``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.runtime import claim_owner, task_store


class AttributeFollowupsOperator(BaseOperator):
    """Fetch attributes (one Horizon request each, host-wide rate limit) for graph-completed records,
    only while no record is PENDING, so follow-ups never delay lineage work. Skips when the queue is
    not empty or no follow-up waits.

    :param deadline_seconds: stop starting follow-ups after this many seconds (templated).
    """

    template_fields: Sequence[str] = ("deadline_seconds",)
    ui_color = "#eef2f7"

    def __init__(self, *, deadline_seconds: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline_seconds = deadline_seconds

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.stellar_lineage.graph_mode import followups_with_time_left

        deadline = time.monotonic() + float(self.deadline_seconds)
        with task_store() as (settings, store):
            if store.queue_depth() > 0:
                raise AirflowSkipException("PENDING records first: attribute follow-ups wait for an empty queue")
            summary = followups_with_time_left(store, settings, claim_owner(context, "API"), deadline)
        if not summary.get("claimed"):
            raise AirflowSkipException("No attribute follow-up waiting")
        return summary
