"""Rate limiting of every HTTP request to Horizon and Stellar Expert (one mechanism, two backends).

* ``host`` (default): a SQLite file shared by every task process on one machine.
* ``redis``: the same algorithm in Redis, shared by every worker host of a cluster (Celery, Kubernetes).

``stellar_lineage_rate_limiter_backend`` selects the backend; the Redis server is the Airflow Connection
named by ``stellar_lineage_rate_limiter_redis_conn_id``. See ``base`` for the algorithm.
"""

from __future__ import annotations

import os
from typing import Any

from include.stellar_lineage.ratelimit.base import (
    MAX_HEADER_PAUSE_S,
    Budget,
    BudgetExhausted,
    LimiterBusy,
    LimiterUnavailable,
    RateLimiter,
    deadline,
)
from include.stellar_lineage.ratelimit.host import DB_NAME, ENV_DIR, HostRateLimiter, default_directory
from include.stellar_lineage.ratelimit.redis_backend import DEFAULT_PREFIX, RedisRateLimiter

__all__ = [
    "DB_NAME",
    "ENV_DIR",
    "MAX_HEADER_PAUSE_S",
    "Budget",
    "BudgetExhausted",
    "HostRateLimiter",
    "LimiterBusy",
    "LimiterUnavailable",
    "RateLimiter",
    "RedisRateLimiter",
    "deadline",
    "default_directory",
    "limiter_from_settings",
    "redis_url_from_connection",
    "redis_url_from_settings",
]


def redis_url_from_connection(conn: Any) -> tuple[str, str]:
    """(redis:// URL, key prefix) from an Airflow Connection: host, port (6379), password, extra
    ``{"db": 0, "ssl": false, "key_prefix": "..."}``. The URL may hold the password: never log it."""
    from urllib.parse import quote

    if not conn.host:
        raise ValueError(f"Airflow Connection {conn.conn_id!r} has no host (expected the Redis server)")
    extra = conn.extra_dejson or {}
    scheme = "rediss" if str(extra.get("ssl", "")).lower() in ("true", "1") else "redis"
    auth = ""
    if conn.password:
        auth = f"{quote(conn.login or '', safe='')}:{quote(conn.password, safe='')}@"
    db = int(extra.get("db", conn.schema or 0) or 0)
    url = f"{scheme}://{auth}{conn.host}:{conn.port or 6379}/{db}"
    return url, str(extra.get("key_prefix") or DEFAULT_PREFIX)


def limiter_from_settings(settings: Any, directory: str | os.PathLike[str] | None = None) -> RateLimiter:
    """The configured limiter for Settings (per-minute budgets of ``horizon`` and ``stellar_expert``)."""
    rates = {
        "horizon": settings.horizon_requests_per_minute,
        "stellar_expert": settings.stellar_expert_requests_per_minute,
    }
    if getattr(settings, "rate_limiter_backend", "host") != "redis":
        return HostRateLimiter(rates, directory)
    url, prefix = redis_url_from_settings(settings)
    return RedisRateLimiter.from_url(rates, url, prefix=prefix)


def redis_url_from_settings(settings: Any) -> tuple[str, str]:
    """(URL, key prefix) of the cluster's Redis from the Connection the Variables name (inside a task)."""
    from airflow.sdk import BaseHook  # task-time only

    conn = BaseHook.get_connection(settings.rate_limiter_redis_conn_id)
    if conn.password:
        from airflow.sdk.log import mask_secret

        mask_secret(conn.password)
    return redis_url_from_connection(conn)
