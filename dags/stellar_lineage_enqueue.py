"""
### Enqueue Stellar accounts for lineage collection

Trigger with a list of G… addresses and a network. Valid addresses become PENDING records that the
API pipeline (every 2 minutes) or the on-demand BigQuery pipeline picks up; each account's chain of
creators is then collected up to the network root. Invalid addresses are listed in the task log
with the reason and stored nowhere; the run fails only when *every* address is invalid.
Re-requesting a FAILED or INVALID account resets it to PENDING; a COMPLETE account is left as is.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from include.stellar_lineage.dag_defaults import DEFAULT_ARGS


@dag(
    dag_id="stellar_lineage_enqueue",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["stellar-lineage", "ops"],
    params={
        "accounts": Param(
            ["GALPCCZN4YXA3YMJHKL6CVIECKPLJJCTVMSNYWBTKJW4K5HQLYLDMZTB"],
            type="array",
            minItems=1,
            maxItems=1000,
            # A pasted secret seed is refused at trigger time, so it never reaches the stored run
            # conf; every other invalid address is reported by the task with its reason.
            items={"type": "string", "maxLength": 128, "not": {"pattern": "^\\s*S[A-Z2-7]{55}\\s*$"}},
            title="Accounts",
            description="Stellar G… account addresses, one per line. Never paste a secret seed (S…).",
        ),
        "network": Param("public", type="string", enum=["public", "testnet"], title="Network"),
    },
    dagrun_timeout=dt.timedelta(minutes=10),
)
def stellar_lineage_enqueue():
    @task(task_id="enqueue_accounts")
    def enqueue_accounts(params: dict | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from include.stellar_lineage.enqueue import NothingValid, enqueue_requested
        from include.stellar_lineage.runtime import task_store

        with task_store() as (_settings, store):
            try:
                return enqueue_requested(store, params["accounts"], params["network"])
            except NothingValid as exc:
                raise AirflowFailException(str(exc)) from None

    enqueue_accounts()


stellar_lineage_enqueue()
