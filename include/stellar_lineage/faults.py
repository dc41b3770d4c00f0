"""Whose fault is it? The one mapping from an error of the API path to what happens to the record.

* ``INVALID`` — ``GET /accounts/{id}`` = 404: the account does not exist (final).
* ``PROVIDER`` — the provider is down or overloaded (5xx, timeouts, connection errors, 429 beyond
  Retry-After, or its circuit breaker is open): the record is released **without** a retry charge.
* ``CONFIG`` — 401/403, a rate limiter / breaker state / store that cannot be opened or written, a bad
  Connection: the run fails with the cause and the fix; held records go back to PENDING untouched.
* ``DEADLINE`` — the rate budget does not fit in the run's deadline: released, nothing charged.
* ``RECORD`` — anything about this account's data (malformed body, Stellar Expert has no creator, an
  unexpected error): retried later with per-record backoff, FAILED at the cap.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import sqlite3
from collections.abc import Callable
from typing import Any

from include.stellar_lineage.breaker import BreakerUnavailable
from include.stellar_lineage.clients.factory import EXPERT_CONN_ID, HORIZON_CONN_IDS
from include.stellar_lineage.clients.http import AccountNotFound, ProviderAuthError, ProviderUnavailable
from include.stellar_lineage.ratelimit import BudgetExhausted, LimiterUnavailable


class Fault(str, enum.Enum):
    INVALID = "invalid"
    PROVIDER = "provider"
    CONFIG = "config"
    DEADLINE = "deadline"
    RECORD = "record"


class RunConfigurationError(RuntimeError):
    """The run cannot work until an operator fixes something; the message names the cause and the fix.

    Raised after every record the run held went back to PENDING without a retry charge."""


class ClientSetupError(RuntimeError):
    """Building the API client failed (bad Connection: no host, unknown network ...)."""


def classify(exc: BaseException) -> Fault:
    if isinstance(exc, AccountNotFound):
        return Fault.INVALID
    if isinstance(exc, ProviderUnavailable):
        return Fault.PROVIDER
    if isinstance(exc, BudgetExhausted):
        return Fault.DEADLINE
    if isinstance(exc, (ProviderAuthError, LimiterUnavailable, BreakerUnavailable, ClientSetupError, sqlite3.Error)):
        return Fault.CONFIG
    return Fault.RECORD


def explain(exc: BaseException, network: str) -> str:
    """The run-failure message for a CONFIG fault: what is wrong and how to fix it."""
    if isinstance(exc, ProviderAuthError):
        conn_id = EXPERT_CONN_ID if exc.api == "stellar_expert" else HORIZON_CONN_IDS.get(network, "horizon_<network>")
        return (
            f"{exc} - the provider refused this deployment's credentials. Fix: put a valid API key in the "
            f"password of Airflow Connection {conn_id!r} (or the header named by its extra 'api_key_header'), "
            "or delete the Connection to use the public endpoint."
        )
    if isinstance(exc, ClientSetupError):
        return f"{exc}. Fix the Airflow Connections horizon_public / horizon_testnet / stellar_expert."
    if isinstance(exc, (LimiterUnavailable, BreakerUnavailable)):
        return str(exc)
    return (
        f"the lineage store failed ({type(exc).__name__}: {exc}). Fix: check the store - for SQLite the file "
        "named by stellar_lineage_sqlite_path (disk space, permissions, corruption), for Cassandra the "
        "connection named by stellar_lineage_cassandra_conn_id."
    )


def retry_backoff(settings: Any) -> Callable[[int], dt.timedelta]:
    """Delay before a record-level retry number ``n`` (1-based): ``retry_backoff_base_seconds`` doubling
    per retry up to ``retry_backoff_max_seconds``, with jitter in the upper half (2 min, 4, 8 ... 6 h by
    default) so records that failed together do not come back together."""

    def delay(n: int) -> dt.timedelta:
        ceiling = min(settings.retry_backoff_max_seconds, settings.retry_backoff_base_seconds * 2 ** (n - 1))
        return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling))

    return delay
