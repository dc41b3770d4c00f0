"""pytest fixtures for the local BigQuery (bqemulator + cost shim) and Hubble-shaped test tables.

Import the fixtures into a conftest (or a test module) with::

    from tests.support.bigquery_fixtures import bigquery_emulator, hubble_tables  # noqa: F401

``bigquery_emulator`` (session) starts ``scripts/bigquery-emulator`` when it is not running and points
google-cloud-bigquery and the Airflow Google provider at the shim: ``BIGQUERY_EMULATOR_HOST`` plus an
anonymous ``google_cloud_default`` Connection (``AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT``). When the emulator
cannot start the tests skip locally, but FAIL under CI (env ``CI`` set): a missing emulator must not
turn into a green run that tested nothing.

``load_hubble(emu, dataset, extra_ops)`` builds ``crypto-stellar.crypto_stellar_dbt.enriched_history_operations``
and ``crypto-stellar.crypto_stellar.history_ledgers`` (real column names, MONTH partitioning on
``closed_at``, Hubble's clustering) from the same ``stellar_dataset.Dataset`` the fake Horizon serves, so
the two paths can be compared account by account.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.support.private_bigquery import PrivateBigQueryEmulator
from tests.support.stellar_dataset import TYPE_I, Dataset

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "bigquery-emulator"
BILLING_PROJECT = "test-project"
HUBBLE_PROJECT = "crypto-stellar"
ENRICHED = f"{HUBBLE_PROJECT}.crypto_stellar_dbt.enriched_history_operations"
LEDGERS = f"{HUBBLE_PROJECT}.crypto_stellar.history_ledgers"


@dataclasses.dataclass
class Emulator:
    shim_url: str
    grpc_host: str = "127.0.0.1:19060"  # the Storage Read API (BIGQUERY_STORAGE_EMULATOR_HOST)

    def _call(self, path: str, payload: dict | None = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            self.shim_url + path,
            data=data,
            method="POST" if data is not None else "GET",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict:
        return self._call("/_shim/stats")

    def requests(self) -> list[dict]:
        """Dry runs and capped jobs the shim saw, oldest first: ``{"kind", "labels", "accounts"}``."""
        stats = self.stats()
        assert "requests" in stats, "the running cost shim predates request recording: restart it"
        return stats["requests"]

    def reset(self) -> None:
        self._call("/_shim/reset", {})

    def inflate_jobs(self, factor: float) -> None:
        """Make real jobs bill ``factor`` x the estimate (the table 'grew' after the dry run)."""
        self._call("/_shim/config", {"inflate": factor})

    def client(self):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=BILLING_PROJECT,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.shim_url),
        )


def _script(cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), cmd], capture_output=True, text=True, timeout=900)


def _unavailable(message: str):
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory):
    """The shared emulator (``scripts/bigquery-emulator``), or under pytest-xdist on any worker but gw0
    an emulator of the worker's own: the Hubble table names and the shim's counters are global."""
    private = None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker != "gw0":
        private = PrivateBigQueryEmulator(tmp_path_factory.mktemp(f"bq-{worker}"))
        try:
            private.start()
        except RuntimeError as exc:
            _unavailable(f"BigQuery emulator of worker {worker} could not start: {exc}")
        url, grpc_port = private.url, private.env["BQ_EMULATOR_GRPC_PORT"]
    else:
        if _script("status").returncode != 0:
            started = _script("start")
            if started.returncode != 0:
                _unavailable(f"BigQuery emulator could not start:\n{started.stderr[-3000:]}")
        url = f"http://127.0.0.1:{os.environ.get('BQ_SHIM_PORT', '19051')}"
        grpc_port = os.environ.get("BQ_EMULATOR_GRPC_PORT", "19060")
    saved = {k: os.environ.get(k) for k in ("BIGQUERY_EMULATOR_HOST", "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT")}
    os.environ["BIGQUERY_EMULATOR_HOST"] = url  # the scheme is required; the client uses it verbatim
    os.environ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = json.dumps(
        {
            "conn_type": "google_cloud_platform",
            "extra": {"is_anonymous": True, "project": BILLING_PROJECT, "use_legacy_sql": False, "location": "US"},
        }
    )
    try:
        yield Emulator(url, f"127.0.0.1:{grpc_port}")
    finally:
        if private is not None:
            private.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _schema():
    from google.cloud.bigquery import SchemaField as F

    enriched = [
        F("op_id", "INT64"),
        F("type", "INT64"),
        F("type_string", "STRING"),
        F("op_source_account", "STRING"),
        F("account", "STRING"),
        F("funder", "STRING"),
        F("starting_balance", "FLOAT64"),
        F("op_account_id", "STRING"),
        F("transaction_id", "INT64"),
        F("transaction_hash", "STRING"),
        F("ledger_sequence", "INT64"),
        F("successful", "BOOL"),
        F("closed_at", "TIMESTAMP"),
        F("batch_run_date", "DATETIME"),
    ]
    ledgers = [
        F("sequence", "INT64"),
        F("ledger_hash", "STRING"),
        F("closed_at", "TIMESTAMP"),
        F("batch_run_date", "DATETIME"),
    ]
    return enriched, ledgers


def _op_row(op, *, successful: bool = True) -> dict[str, Any]:
    f = op.fields
    ts = op.created_at.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "op_id": op.id,
        "type": TYPE_I.get(op.type, 5),
        "type_string": op.type,
        "op_source_account": op.source,
        "account": f.get("account"),
        "funder": f.get("funder"),
        "starting_balance": float(f["starting_balance"]) if "starting_balance" in f else None,
        "op_account_id": None,
        "transaction_id": op.id & ~0xFFF,
        "transaction_hash": op.tx_hash,
        "ledger_sequence": op.ledger,
        "successful": successful,
        "closed_at": ts + "Z",
        "batch_run_date": ts,
    }


def load_hubble(emu: Emulator, ds: Dataset, *, failed_ops: Iterable[Any] = ()) -> dict[str, int]:
    """(Re)create the Hubble-shaped tables from ``ds`` (+ operations of failed transactions)."""
    from google.cloud import bigquery

    client = emu.client()
    for dataset in ("crypto_stellar", "crypto_stellar_dbt"):
        client.create_dataset(bigquery.Dataset(f"{HUBBLE_PROJECT}.{dataset}"), exists_ok=True)
    enriched_schema, ledger_schema = _schema()
    enriched = bigquery.Table(ENRICHED, schema=enriched_schema)
    enriched.time_partitioning = bigquery.TimePartitioning(type_="MONTH", field="closed_at")
    enriched.clustering_fields = ["ledger_sequence", "transaction_id", "op_account_id", "type"]
    ledgers = bigquery.Table(LEDGERS, schema=ledger_schema)
    ledgers.time_partitioning = bigquery.TimePartitioning(type_="MONTH", field="closed_at")
    ledgers.clustering_fields = ["sequence", "closed_at"]
    rows = [_op_row(op) for op in ds.ops] + [_op_row(op, successful=False) for op in failed_ops]
    seen: dict[int, str] = {}
    for row in rows:
        seen.setdefault(row["ledger_sequence"], row["closed_at"])
    ledger_rows = [
        {"sequence": seq, "ledger_hash": f"{seq:064x}", "closed_at": closed, "batch_run_date": closed[:-1]}
        for seq, closed in sorted(seen.items())
    ]
    for table, data in ((enriched, rows), (ledgers, ledger_rows)):
        client.delete_table(table, not_found_ok=True)
        client.create_table(table)
        for start in range(0, len(data), 500):
            errors = client.insert_rows_json(table, data[start : start + 500])
            assert not errors, errors[:3]
    return {"operations": len(rows), "ledgers": len(ledger_rows)}


@pytest.fixture
def hubble_tables(bigquery_emulator):
    """A loader bound to the running emulator; the shim's counters start at zero."""
    bigquery_emulator.reset()

    def load(ds: Dataset, **kw: Any) -> dict[str, int]:
        out = load_hubble(bigquery_emulator, ds, **kw)
        bigquery_emulator.reset()  # loading is not part of what a test counts
        return out

    yield load
    bigquery_emulator.reset()
