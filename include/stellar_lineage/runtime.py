"""Helpers every task uses: settings + store for this task, claim owner tokens, run slots."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

from include.stellar_lineage.config import ConfigError, Settings, load_settings
from include.stellar_lineage.store import LineageStore, open_store

SCHEDULE_SECONDS = 120  # the API DAG's cron slot
# An API run works until this many seconds after its slot began, i.e. into the next slot: with two
# active runs the next run's claim overlaps this run's last accounts and the shared rate limiter paces
# both, so the budget is used without the gap between one run's end and the next run's first request.
RUN_SPAN_SECONDS = 2 * SCHEDULE_SECONDS - 15


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


def on_demand(run_type: str) -> bool:
    """Manual and asset-triggered runs answer a request that is waiting now (a trigger, an enqueue's
    asset event): they always run. Only scheduled cron slots follow the interval arithmetic."""
    return run_type != "scheduled"


def run_is_due(run_after_epoch: float, interval_seconds: int, *, manual: bool) -> bool:
    """Whether a 2-minute slot should run when the configured interval is longer than 2 minutes.

    Stateless: with an interval of k slots, slots whose number is a multiple of k run, the others
    skip. Manual triggers always run.
    """
    if manual or interval_seconds <= SCHEDULE_SECONDS:
        return True
    every = math.ceil(interval_seconds / SCHEDULE_SECONDS)
    return int(run_after_epoch // SCHEDULE_SECONDS) % every == 0


def seconds_left_in_run(run_after_epoch: float, span_seconds: float, now_epoch: float | None = None) -> float:
    """Seconds until ``run_after + span_seconds`` (>= 0): a deadline measured from the run's slot rather
    than from when a (possibly late) task started, so a late task cannot push a run into the one after next."""
    now = time.time() if now_epoch is None else now_epoch
    return max(0.0, run_after_epoch + span_seconds - now)
