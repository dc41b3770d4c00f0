"""Export routes of the stats plugin: records as NDJSON / CSV and a lineage subgraph as GraphML /
DOT, streamed (``include.stellar_lineage.export`` generators over paged store reads), so a 100,000
record export never holds the table in memory. Behind the app's Airflow authentication like every
other route."""

# No ``from __future__ import annotations``: FastAPI evaluates the route annotations.
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import StreamingResponse

from include.stellar_lineage import export
from include.stellar_lineage.records import NETWORKS, PipelineSource, Status
from include.stellar_lineage.validation import InvalidAddress, redact, validate_account


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value in (None, "", "all"):
        return None
    if value not in allowed:
        raise HTTPException(400, f"unknown {name} {value[:30]!r}: expected one of {', '.join(allowed)}")
    return value


def add_export_routes(app: FastAPI, store_dep: Callable[..., Any]) -> None:
    StoreDep = Annotated[Any, Depends(store_dep)]

    @app.get("/api/export/records.{fmt}")
    def export_records(
        fmt: str,
        store: StoreDep,
        network: str | None = None,
        status: str | None = None,
        source: str | None = None,
        updated_since: Annotated[dt.datetime | None, Query(description="ISO 8601; naive = UTC")] = None,
    ) -> StreamingResponse:
        if fmt not in export.FORMATS:
            raise HTTPException(404, f"unknown export format {fmt[:10]!r}: ndjson or csv")
        if updated_since is not None and updated_since.tzinfo is None:
            updated_since = updated_since.replace(tzinfo=dt.timezone.utc)
        body = export.export_records(
            store,
            fmt,
            network=_choice(network, NETWORKS, "network"),
            status=_choice(status, tuple(s.value for s in Status), "status"),
            source=_choice(source, tuple(s.value for s in PipelineSource), "source"),
            updated_since=updated_since,
        )
        name = f"stellar-lineage-{network or 'all'}.{fmt}"
        return StreamingResponse(
            body, media_type=export.FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    @app.get("/api/export/graph/{account}.{fmt}")
    def export_graph(
        account: str,
        fmt: str,
        store: StoreDep,
        network: str = "public",
        depth: Annotated[int, Query(ge=0, le=10)] = 1,
    ) -> StreamingResponse:
        if fmt not in export.GRAPH_FORMATS:
            raise HTTPException(404, f"unknown graph format {fmt[:10]!r}: graphml or dot")
        network = _choice(network, NETWORKS, "network") or "public"
        try:
            address = validate_account(account)
        except InvalidAddress as exc:
            raise HTTPException(400, f"invalid Stellar account address {redact(account)!r}: {exc.reason}") from None
        if store.get(network, address) is None:
            raise HTTPException(404, f"account {address} is not in the {network} lineage store")
        body = export.export_graph(store, fmt, network, address, depth=depth)
        return StreamingResponse(
            body,
            media_type=export.GRAPH_FORMATS[fmt],
            headers={"Content-Disposition": f'attachment; filename="lineage-{address[:8]}.{fmt}"'},
        )
