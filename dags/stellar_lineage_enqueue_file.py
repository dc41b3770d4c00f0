"""
### Enqueue every Stellar account of a file

For lists too long for the enqueue form (no 1,000 limit): a **path or URL** read through Airflow's
`ObjectStoragePath` — a local file (`/data/accounts.csv`, `file://…`), `s3://bucket/key`,
`gs://bucket/object` (with **conn_id** naming the Airflow Connection holding the credentials; the
provider package of that store must be installed).

* **format** — `auto` (CSV when the first line has a comma, semicolon or tab), `lines` (one
  address per line) or `csv`; **column** — the CSV column (header name or 0-based index; default a
  column named `account` / `stellar_account` / `address` / `account_id`, else the first).
* Streamed: lines are validated and enqueued in batches of 5,000; 100,000 lines go in one run.
* Every bad line is reported by **line number** and reason, never by content (anything shaped like a
  secret seed is refused and masked in the log); the run fails only when no line is valid.
* Like the enqueue DAG, a successful run emits an event on the `stellar_lineage_queue` asset, so the
  API pipeline starts at once.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import Param, dag, task

from include.stellar_lineage.assets import LINEAGE_QUEUE
from include.stellar_lineage.dag_defaults import DEFAULT_ARGS
from include.stellar_lineage.seeds import SEED_SHAPE


@dag(
    dag_id="stellar_lineage_enqueue_file",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    tags=["stellar-lineage", "ops"],
    params={
        "path": Param(
            "/path/to/accounts.csv",
            type="string",
            minLength=1,
            maxLength=2048,
            **{"not": {"pattern": SEED_SHAPE}},  # a pasted seed never reaches the stored run conf
            title="File path or URL",
            description="Local path, file://, s3:// or gs:// (read with ObjectStoragePath).",
        ),
        "network": Param("public", type="string", enum=["public", "testnet"], title="Network"),
        "format": Param("auto", type="string", enum=["auto", "lines", "csv"], title="Format"),
        "column": Param("", type="string", maxLength=128, title="CSV column (name or 0-based index)"),
        "conn_id": Param("", type="string", maxLength=250, title="Object storage Connection (optional)"),
    },
    dagrun_timeout=dt.timedelta(hours=1),
)
def stellar_lineage_enqueue_file():
    @task(task_id="enqueue_file", outlets=[LINEAGE_QUEUE], execution_timeout=dt.timedelta(minutes=50))
    def enqueue_file(params: dict | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException
        from airflow.sdk.log import mask_secret

        from include.stellar_lineage.bulk_enqueue import NothingValid, enqueue_lines, open_lines
        from include.stellar_lineage.runtime import task_store

        with task_store() as (_settings, store):
            try:
                return enqueue_lines(
                    store,
                    open_lines(params["path"], params["conn_id"] or None),
                    params["network"],
                    fmt=params["format"],
                    column=params["column"],
                    mask_secret=mask_secret,
                )
            except (NothingValid, ValueError, FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
                # wrong path, column or encoding: retrying cannot fix it
                raise AirflowFailException(f"{type(exc).__name__}: {exc}") from None

    enqueue_file()


stellar_lineage_enqueue_file()
