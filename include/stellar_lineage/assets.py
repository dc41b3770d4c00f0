"""Airflow Assets of the project (no I/O: imported at parse time).

``LINEAGE_QUEUE`` stands for "the PENDING queue has new work". The enqueue DAGs list it as an outlet,
so every successful enqueue emits an asset event, and the API DAG is scheduled on it *or* its
2-minute cron (``AssetOrTimeSchedule``): a requested account starts within seconds instead of
waiting for the next slot (reference/airflow3_notes.md, Assets).

The URI has no scheme on purpose: a ``scheme://`` URI makes the SDK load every provider's URI
normaliser, which imports the Google provider's GCS hook (≈ 0.5 s of CPU) into each parse of the
three DAG files that use this asset; without a scheme a parse costs ≈ 0.05 s.
"""

from __future__ import annotations

from airflow.sdk import Asset

LINEAGE_QUEUE = Asset(name="stellar_lineage_queue", uri="stellar_lineage_queue", group="stellar-lineage")
