"""ClaimLineageBatchOperator: the one claim path of both DAGs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.api_pipeline import auto_batch_size
from include.stellar_lineage.payloads import Claim
from include.stellar_lineage.runtime import SCHEDULE_SECONDS, claim_owner, task_store


class ClaimLineageBatchOperator(BaseOperator):
    """Atomically claim up to ``batch_size`` PENDING records for ``pipeline``.

    :param pipeline: ``API`` or ``BIGQUERY``; recorded as the claim's pipeline.
    :param batch_size: a number (the BigQuery DAG's ``limit``), or ``"auto"``/None for the API
        pipeline's setting (``auto`` derives it from the Horizon budget of one slot and the queue depth).
    :param network: claim only this network's records (None: any network).
    :return: the ``Claim`` (``{"owner", "pipeline", "records": [{"network", "account"}]}``) via XCom.
    """

    template_fields: Sequence[str] = ("batch_size", "network")
    ui_color = "#e0ecff"

    def __init__(self, *, pipeline: str, batch_size: Any = None, network: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.batch_size = batch_size
        self.network = network

    def execute(self, context: Context) -> Claim:
        from airflow.sdk.exceptions import AirflowFailException

        from include.stellar_lineage.api_claim import claim_for_api, recover
        from include.stellar_lineage.faults import RunConfigurationError

        with task_store() as (settings, store):
            recover(store, settings)  # wherever claims are made, so no paused DAG stops recovery
            limit = self._limit(settings, store)
            owner = claim_owner(context, self.pipeline)
            if self.pipeline == "API":  # gated by the providers' circuit breakers
                try:
                    records, breakers = claim_for_api(
                        store,
                        settings,
                        limit,
                        owner=owner,
                        network=self.network or None,
                        capacity=self._capacity(settings, limit),
                    )
                except RunConfigurationError as exc:
                    raise AirflowFailException(str(exc)) from exc
                self.log.info("Provider breakers: %s", breakers)
            else:
                records = store.claim_batch(limit, pipeline=self.pipeline, owner=owner, network=self.network or None)
            depth = store.queue_depth(self.network or None)
        self.log.info(
            "Claimed %d of limit %d for %s (owner %s); %d still PENDING",
            len(records),
            limit,
            self.pipeline,
            owner,
            depth,
        )
        return {
            "owner": owner,
            "pipeline": self.pipeline,
            "records": [{"network": r.network_name, "account": r.stellar_account} for r in records],
        }

    def _capacity(self, settings: Any, limit: int) -> int:
        """What this run can do whatever the queue holds (the refresh policy fills what the claim left)."""
        if self.batch_size not in (None, "", "auto") or settings.api_pipeline_batch_size is not None:
            return limit
        return auto_batch_size(settings, sys.maxsize, SCHEDULE_SECONDS)

    def _limit(self, settings: Any, store: Any) -> int:
        if self.batch_size not in (None, "", "auto"):
            return int(self.batch_size)
        if self.pipeline != "API":  # bigquery_batch_size is the per-query chunk, not the run's size
            raise ValueError(f"a {self.pipeline} claim needs an explicit batch_size (the run's limit)")
        if settings.api_pipeline_batch_size is not None:
            return settings.api_pipeline_batch_size
        # One slot's Horizon budget: overlapping runs share the limiter, so each finishes about that
        # (api_pipeline_interval_seconds is never below the 2-minute slot).
        return auto_batch_size(settings, store.queue_depth(self.network or None), SCHEDULE_SECONDS)
