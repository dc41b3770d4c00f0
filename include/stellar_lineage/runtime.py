"""Helpers every task uses: settings + store for this task, claim owner tokens, run slots."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from include.stellar_lineage.config import ConfigError, Settings, load_settings
from include.stellar_lineage.store import LineageStore, open_store

SCHEDULE_SECONDS = 120  # the API DAG's cron slot


def task_settings() -> Settings:
    """Settings for a task; a bad Variable fails the task at once (retrying cannot fix it)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return load_settings()
    except ConfigError as exc:
        raise AirflowFailException(str(exc)) from None


@contextlib.contextmanager
def task_store(settings: Settings | None = None) -> Iterator[tuple[Settings, LineageStore]]:
    """Load (and validate) the settings, then open the configured store; close it afterwards.

    Settings are validated first, so a bad Variable fails the task before any record is touched.
    """
    settings = settings or task_settings()
    store = open_store(settings)
    try:
        yield settings, store
    finally:
        store.close()


def claim_owner(context: Any, pipeline: str) -> str:
    """One owner token per DAG run and pipeline: the claim task and the tasks that finish the claimed
    records (including their retries) act as the same owner; another run never does."""
    ti = context["ti"]
    return f"{pipeline}:{ti.dag_id}:{context['run_id']}"


def run_is_due(run_after_epoch: float, interval_seconds: int, *, manual: bool) -> bool:
    """Whether a 2-minute slot should run when the configured interval is longer than 2 minutes.

    Stateless: with an interval of k slots, slots whose number is a multiple of k run, the others
    skip. Manual triggers always run.
    """
    if manual or interval_seconds <= SCHEDULE_SECONDS:
        return True
    every = math.ceil(interval_seconds / SCHEDULE_SECONDS)
    return int(run_after_epoch // SCHEDULE_SECONDS) % every == 0
