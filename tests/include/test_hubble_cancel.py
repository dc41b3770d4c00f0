"""A killed BigQuery task cancels the job in flight (``on_kill`` -> ``HubbleClient.cancel_running``).

The BigQuery client is replaced by a stand-in whose job blocks in ``result()`` until cancelled, like
a long job: the emulator finishes every job at once, so a running job cannot be caught there.
"""

from __future__ import annotations

import threading

from include.stellar_lineage.config import defaults
from include.stellar_lineage.hubble.query import HubbleClient, HubbleUnavailable


class _LongJob:
    job_id, project, location = "job-1", "billing", "US"

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def result(self, timeout=None, retry=None):
        from google.api_core.exceptions import BadRequest

        if not self.cancelled.wait(timeout):
            raise TimeoutError
        raise BadRequest("Job execution was cancelled: User requested cancellation", errors=[{"reason": "stopped"}])

    def cancel(self):
        self.cancelled.set()
        return True


class _Client:
    def __init__(self) -> None:
        self.job = _LongJob()
        self.started = threading.Event()

    def query(self, sql, job_config=None, location=None, retry=None, job_retry=None):
        self.started.set()
        return self.job


def test_cancel_running_cancels_the_job_in_flight():
    import google.cloud.bigquery  # noqa: F401 - imported here, not in the worker thread (slow first import)

    client = _Client()
    seen = []
    hubble = HubbleClient(defaults(), client=client, on_job=seen.append)
    outcome: list[BaseException] = []

    def run():
        try:
            hubble.run(["G" + "A" * 55], max_bytes_billed=10**9, timeout_s=30)
        except HubbleUnavailable as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert client.started.wait(60)
    while not seen:  # on_job runs right after the job was accepted
        threading.Event().wait(0.01)
    assert hubble.cancel_running() is True
    worker.join(60)
    assert not worker.is_alive() and client.job.cancelled.is_set()
    assert outcome and outcome[0].reason == "stopped"
    assert seen == [client.job] and hubble.running is None
    assert hubble.cancel_running() is False  # nothing in flight any more


def test_on_kill_of_the_query_task_cancels_through_its_client():
    from include.stellar_lineage.operators.hubble_query import HubbleLineageQueryOperator

    op = HubbleLineageQueryOperator(task_id="hubble_query", claim=None, decision=None)
    op.on_kill()  # before execute: nothing to cancel, no error
    client = _Client()
    op._hubble = HubbleClient(defaults(), client=client)
    op._hubble.running = client.job
    op.on_kill()
    assert client.job.cancelled.is_set()


def test_airflow_labels_follow_the_google_provider():
    from include.stellar_lineage.hubble.query import job_labels

    settings = defaults()
    assert job_labels(settings, dag_id="My_Dag", task_id="group.task") == {
        "app": "stellar-lineage",
        "airflow-dag": "my_dag",
        "airflow-task": "group-task",  # "." -> "-" as in BigQueryInsertJobOperator
    }
    assert "airflow-dag" not in job_labels(settings, dag_id="x" * 64, task_id="t")  # too long for a label
