"""Operators of the creator-graph DAG: the cost guard (the batch guard's branch, on the graph query)
and the load (query → short-lived table → Storage Read → edge table). Logic: ``hubble.graph`` and
``hubble.graph_load``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from include.stellar_lineage.operators.hubble_cost_guard import DECISION_KEY, HubbleCostGuardOperator
from include.stellar_lineage.payloads import QueryDecision
from include.stellar_lineage.runtime import task_store


class GraphCostGuardOperator(HubbleCostGuardOperator):
    """Dry-run the graph query (snapshot or refresh) through the same guard as a batch: limits, daily
    budget, spend ledger (``hubble.pipeline.estimate_batch``). Pushes the decision (with the plan) to
    XCom key ``decision`` and follows ``load_task_id`` when approved, or when an interrupted load of
    the same mode can resume (no new query, nothing to estimate); otherwise no branch.

    :param mode: "snapshot" or "refresh" (templated).
    :param network: the graph's network (templated; Hubble has pubnet only).
    :param dry_run_only: estimate and report only (templated).
    """

    template_fields: Sequence[str] = ("network", "mode", "dry_run_only")

    def __init__(self, *, load_task_id: str, mode: Any = "snapshot", **kwargs: Any) -> None:
        super().__init__(claim=None, query_task_id=load_task_id, fallback_task_id="", **kwargs)
        self.mode = mode

    def choose_branch(self, context: Context) -> str | None:
        from include.stellar_lineage.hubble.graph import REFERENCED_TABLES, GraphHubble, plan
        from include.stellar_lineage.hubble.pipeline import estimate_batch
        from include.stellar_lineage.hubble.query import HubbleClient, job_labels

        dry_only = str(self.dry_run_only).strip().lower() in ("true", "1", "yes")
        with task_store() as (settings, store):
            graph = plan(store, self.network, str(self.mode))
            decision: QueryDecision
            if graph.resume is not None:
                decision = {
                    "decision": "resume",
                    "approved": not dry_only,
                    "estimate_bytes": 0,
                    "estimate_usd": 0.0,
                    "max_bytes_billed": None,
                    "accounts": 0,
                    "network": self.network,
                    "reason": f"resuming {graph.resume['snapshot_id']} from {graph.resume['table']}: no new query",
                }
            else:
                hubble = GraphHubble(
                    settings,
                    HubbleClient(
                        settings,
                        gcp_conn_id=self.gcp_conn_id,
                        labels=job_labels(settings, dag_id=self.dag_id, task_id=self.task_id),
                    ),
                )
                decision = estimate_batch(
                    store,
                    settings,
                    [],
                    self.network,
                    hubble=hubble.hubble,
                    run_id=context["run_id"],
                    dry_run_only=dry_only,
                    estimate=lambda: hubble.dry_run(graph),
                    referenced_tables=REFERENCED_TABLES,
                )
        decision["plan"] = graph.as_dict()
        self.log.info(
            "Graph %s for %s: %s, estimate %.3f GB = $%.4f (%s)",
            graph.mode,
            self.network,
            decision["decision"],
            int(decision.get("estimate_bytes") or 0) / 1e9,
            float(decision.get("estimate_usd") or 0.0),
            decision.get("reason"),
        )
        context["ti"].xcom_push(key=DECISION_KEY, value=decision)
        return self.query_task_id if decision["approved"] and not dry_only else None


class GraphLoadOperator(BaseOperator):
    """Run the approved graph query into a short-lived table, read it with the Storage Read API and
    load it into the store's edge table in chunks (progress in the log); a retry resumes.

    :param decision: the guard's decision, ``guard.output["decision"]``.
    :param job_timeout_seconds: the query job's limit; past it the job is cancelled.
    """

    template_fields: Sequence[str] = ("decision", "mode", "network")
    ui_color = "#dbe9ff"

    def __init__(
        self,
        *,
        decision: Any,
        mode: Any = "snapshot",
        network: Any = "public",
        job_timeout_seconds: float = 3600,
        gcp_conn_id: str = "google_cloud_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.decision, self.mode, self.network = decision, mode, network
        self.job_timeout_seconds, self.gcp_conn_id = job_timeout_seconds, gcp_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from include.stellar_lineage.hubble.graph import GraphHubble, plan
        from include.stellar_lineage.hubble.graph_load import run_graph_load
        from include.stellar_lineage.hubble.query import HubbleClient, job_labels
        from include.stellar_lineage.hubble.storage_read import read_client

        guard: dict[str, Any] = self.decision or {}
        with task_store() as (settings, store):
            graph = plan(store, str(self.network), str(self.mode))  # a retry finds its own cursor here
            hubble = GraphHubble(
                settings,
                HubbleClient(
                    settings,
                    gcp_conn_id=self.gcp_conn_id,
                    labels=job_labels(settings, dag_id=self.dag_id, task_id=self.task_id),
                ),
            )
            return run_graph_load(
                store,
                settings,
                graph,
                guard,
                hubble=hubble,
                read_client=lambda: read_client(getattr(hubble.client, "_credentials", None)),
                run_id=context["run_id"],
                timeout_s=float(self.job_timeout_seconds),
            )
