"""HubbleCostGuardOperator: dry-run the batch query, then follow the query task or the fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.standard.operators.branch import BaseBranchOperator
from airflow.sdk import Context

from include.stellar_lineage.payloads import Claim
from include.stellar_lineage.runtime import task_store

DECISION_KEY = "decision"


class HubbleCostGuardOperator(BaseBranchOperator):
    """Estimate the claimed batch with free dry runs, one per query of ``bigquery_batch_size``
    accounts, and decide per query (logic: ``hubble.pipeline.estimate_run``, ``hubble.cost``).

    Pushes the decision (estimate bytes/USD, cap, reason) to XCom key ``decision`` and follows
    ``query_task_id`` when approved, else ``fallback_task_id``. With ``dry_run_only`` it estimates the
    next PENDING accounts without claiming anything and follows no branch. Nothing claimed: no branch.

    :param claim: the claim task's result as ``claim_task.output`` (None when it was skipped: dry-run-only runs).
    :param network: network of the batch (templated).
    :param limit: accounts previewed in dry-run-only mode (templated).
    :param dry_run_only: estimate and report only (templated; "true"/"false" or bool).
    :param gcp_conn_id: Google Cloud Connection used by ``BigQueryHook``.
    """

    template_fields: Sequence[str] = ("claim", "network", "limit", "dry_run_only")
    ui_color = "#fff1d6"

    def __init__(
        self,
        *,
        claim: Any,
        query_task_id: str,
        fallback_task_id: str,
        network: str = "public",
        limit: Any = 100,
        dry_run_only: Any = False,
        gcp_conn_id: str = "google_cloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.claim, self.query_task_id, self.fallback_task_id = claim, query_task_id, fallback_task_id
        self.network, self.limit, self.dry_run_only, self.gcp_conn_id = network, limit, dry_run_only, gcp_conn_id

    def choose_branch(self, context: Context) -> str | None:
        from include.stellar_lineage.hubble.pipeline import estimate_run
        from include.stellar_lineage.hubble.query import HubbleClient, job_labels

        dry_only = str(self.dry_run_only).strip().lower() in ("true", "1", "yes")
        with task_store() as (settings, store):
            if dry_only:
                accounts = [
                    r.stellar_account
                    for r in store.pending_accounts(self.network, limit=int(self.limit))
                    if r.status == "PENDING"
                ]
            else:
                claim: Claim | None = self.claim
                accounts = [r["account"] for r in claim["records"]] if claim else []
            if not accounts:
                self.log.info(
                    "No accounts to estimate (nothing %s); following no branch", "PENDING" if dry_only else "claimed"
                )
                return None
            labels = job_labels(settings, dag_id=self.dag_id, task_id=self.task_id)
            decision = estimate_run(
                store,
                settings,
                accounts,
                self.network,
                hubble=HubbleClient(settings, gcp_conn_id=self.gcp_conn_id, labels=labels),
                run_id=context["run_id"],
                dry_run_only=dry_only,
            )
        context["ti"].xcom_push(key=DECISION_KEY, value=decision)
        if dry_only:
            self.log.info(
                "dry_run_only: would be %s (%s); nothing claimed or run", decision["decision"], decision["reason"]
            )
            return None
        return self.query_task_id if decision["approved"] else self.fallback_task_id
