"""Dashboard routes of the stats plugin for trends, latency and the recent-accounts list (trends.py).
Behind the app's Airflow authentication like every other route; each answers from the store's
maintained counters or an index range (no table scan), so a poll costs the same whatever the size."""

# No ``from __future__ import annotations``: FastAPI evaluates the route annotations.
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query

from include.stellar_lineage import trends


def add_dashboard_routes(
    app: FastAPI, store_dep: Callable[..., Any], network_dep: Callable[..., str], now: Callable[[], dt.datetime]
) -> None:
    StoreDep = Annotated[Any, Depends(store_dep)]
    NetworkDep = Annotated[str, Depends(network_dep)]

    @app.get("/api/trends")
    def trends_json(
        store: StoreDep, network: NetworkDep, days: Annotated[int, Query(description="7 or 30")] = 7
    ) -> dict[str, Any]:
        """Per UTC day and pipeline (API, BIGQUERY, GRAPH): records completed / failed / invalid."""
        if days not in trends.TREND_DAYS:
            raise HTTPException(400, f"days must be one of {', '.join(map(str, trends.TREND_DAYS))}, not {days}")
        return trends.trends(store, network, days=days, now=now())

    @app.get("/api/latency")
    def latency_json(store: StoreDep, network: NetworkDep) -> dict[str, Any]:
        """Enqueue → COMPLETE time per pipeline over the last 24 h and 7 days: count, mean, p50, p95."""
        return trends.latency(store, network, now=now())

    @app.get("/api/recent-accounts")
    def recent_json(
        store: StoreDep,
        network: NetworkDep,
        limit: Annotated[int, Query(ge=1, le=trends.RECENT_MAX_PAGE)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        """Records that finished (COMPLETE / FAILED / INVALID) in the last 30 days, newest first; pass
        ``next_cursor`` back as ``cursor`` for the next page."""
        try:
            return trends.recent(store, network, limit=limit, cursor=cursor, now=now())
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
