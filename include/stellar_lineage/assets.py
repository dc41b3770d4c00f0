"""Airflow Assets of the project (no I/O: imported at parse time).

``LINEAGE_QUEUE`` stands for "the PENDING queue has new work". The enqueue DAGs list it as an outlet,
so every successful enqueue emits an asset event, and the API DAG is scheduled on it *or* its
2-minute cron (``AssetOrTimeSchedule``): a requested account starts within seconds instead of
waiting for the next slot (reference/airflow3_notes.md, Assets).
"""

from __future__ import annotations

from airflow.sdk import Asset

LINEAGE_QUEUE = Asset(name="stellar_lineage_queue", uri="stellar-lineage://queue/pending", group="stellar-lineage")
