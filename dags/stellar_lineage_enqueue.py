"""
### Enqueue Stellar accounts for lineage collection

Trigger with a list of G… addresses and a network. Valid addresses become PENDING records that the
API pipeline or the on-demand BigQuery pipeline picks up. A successful run emits an event on the
`stellar_lineage_queue` asset, which starts an API pipeline run within seconds (it also runs every
2 minutes); each account's chain of creators is then collected up to the network root. Pasted CSV or
JSON is fine: entries are split on commas, semicolons, spaces and new lines, and quotes, brackets and
invisible characters are removed (the result lists every change). Invalid entries are reported by
index and reason (never echoed) and stored nowhere; the run fails only when *no* entry is valid.
Anything shaped like a secret seed (S…, any case, anywhere in an entry) is refused when the run is
triggered.
Re-requesting a FAILED or INVALID account resets it to PENDING; a COMPLETE account is left as is.
**descendants_depth** (0–3) also enqueues the accounts they created, level by level, at the lowest
priority (from the creator graph when it is loaded, else from the child lists of collected records).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from include.stellar_lineage.assets import LINEAGE_QUEUE
from include.stellar_lineage.dag_defaults import DEFAULT_ARGS
from include.stellar_lineage.seeds import SEED_SHAPE


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
            # A pasted secret seed is refused at trigger time (unanchored, any case), so it never
            # reaches the stored run conf; the task's detector catches the shapes a regex cannot
            # (URL-encoded, spaced out). Every other invalid entry is reported by the task.
            items={"type": "string", "maxLength": 4096, "not": {"pattern": SEED_SHAPE}},
            title="Accounts",
            description=(
                "Stellar G… account addresses: one per line, or several per line separated by commas "
                "(pasted CSV/JSON is cleaned up). Never paste a secret seed (S…)."
            ),
        ),
        "network": Param("public", type="string", enum=["public", "testnet"], title="Network"),
        "descendants_depth": Param(
            0,
            type="integer",
            minimum=0,
            maximum=3,
            title="Descendants depth",
            description=(
                "Also enqueue the accounts these accounts created, down to this many levels (0: none), at "
                "the lowest priority. Children come from the creator graph when loaded, else from collected "
                "records."
            ),
        ),
    },
    dagrun_timeout=dt.timedelta(minutes=10),
)
def stellar_lineage_enqueue():
    @task(task_id="enqueue_accounts", outlets=[LINEAGE_QUEUE])
    def enqueue_accounts(params: dict | None = None) -> dict:
        from airflow.sdk.log import mask_secret  # also tells the supervisor, which writes the task log
        from airflow.sdk.exceptions import AirflowFailException

        from include.stellar_lineage.enqueue import NothingValid, enqueue_requested
        from include.stellar_lineage.runtime import task_store
        from include.stellar_lineage.seeds import install_log_redaction, redact_data

        install_log_redaction()
        with task_store() as (_settings, store):
            try:
                result = enqueue_requested(store, params["accounts"], params["network"], mask_secret=mask_secret)
            except NothingValid as exc:
                raise AirflowFailException(str(exc)) from None
            depth = int(params.get("descendants_depth") or 0)
            if depth:
                from include.stellar_lineage.crawl import crawl_descendants

                roots = result["added"] + result["reset"] + result["unchanged"]
                result["descendants"] = crawl_descendants(store, params["network"], roots, depth)
        return redact_data(result)  # the XCom: built without any input echo; redacted again on principle

    enqueue_accounts()


stellar_lineage_enqueue()
