"""FastAPI app of the stats plugin, mounted by ``plugins/lineage_stats/plugin.py``.

Why each choice:

* Airflow mounts plugin apps with ``app.mount()``, so the core API's authentication does not reach
  them: every route here depends on ``requires_authenticated()`` from
  ``airflow.api_fastapi.core_api.security``. It resolves ``Authorization: Bearer <jwt>`` first and
  then the UI session cookie ``_token`` (what the browser sends from the UI's iframe): no token
  → 401, an invalid one → 403, an expired one → 401. FastAPI's own /docs and /openapi.json are
  disabled because app-level dependencies do not cover them; static files go through an
  authenticated route for the same reason (a ``StaticFiles`` mount would be public).
* Handlers are plain ``def``: store calls block, so FastAPI runs them in its threadpool instead of
  stalling the API server's event loop.
* Every link and fetch is relative (``static/…``, ``api/…``, ``../dags/…``) so the pages work under
  any ``[api] base_url`` path and inside the UI iframe.
* ``SecurityMiddleware`` (ui/security.py) covers every route: CSP (no inline script or style: read its
  docstring before adding pages or scripts), nosniff, no-referrer, frame-ancestors, seed redaction.
* The account search never submits the field natively (the input has no ``name``): static/search.js
  validates it as a G… address in the browser, refuses seeds with the server's own message, and only
  then navigates to ``lineage/<address>``.
"""

# No ``from __future__ import annotations``: FastAPI must evaluate the route annotations, and the
# dependency aliases below are local to ``create_app``.
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from include.stellar_lineage import explorer, stats
from include.stellar_lineage.config import ConfigError, Settings
from include.stellar_lineage.descendants import MAX_DEPTH, MAX_PAGE, BadCursor, descendants
from include.stellar_lineage.records import NETWORKS
from include.stellar_lineage.store.base import LineageStore
from include.stellar_lineage.seeds import INVISIBLE, SEED_SHAPE
from include.stellar_lineage.ui.dashboard_routes import add_dashboard_routes
from include.stellar_lineage.ui.export_routes import add_export_routes
from include.stellar_lineage.ui.login import add_login_redirect
from include.stellar_lineage.ui.providers import CachedSettings, StoreProvider, StoreUnavailable
from include.stellar_lineage.ui.security import SecurityMiddleware
from include.stellar_lineage.validation import SEED_MESSAGE, InvalidAddress, redact, validate_account

DAG_IDS = ("stellar_lineage_api_pipeline", "stellar_lineage_bigquery_pipeline", "stellar_lineage_enqueue")
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
REFRESH_SECONDS = 30
# One path segment of a static asset: no NUL, no dot-files, no "..", no backslashes.
_STATIC_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SEARCH_CONTEXT = {"seed_shape": SEED_SHAPE, "seed_message": SEED_MESSAGE, "invisible": INVISIBLE}


def _network(network: str = Query("public", description="public or testnet")) -> str:
    if network not in NETWORKS:
        raise HTTPException(400, f"unknown network {network[:20]!r}: expected one of {', '.join(NETWORKS)}")
    return network


def _optional_network(network: str | None = Query(None, description="public, testnet, or all")) -> str | None:
    return None if network in (None, "", "all") else _network(network)


def create_app(
    *,
    assets_dir: Path,
    settings_loader: Callable[[], Settings] | None = None,
    store_provider: StoreProvider | None = None,
    clock: Callable[[], dt.datetime] | None = None,
    mount_path: str = "/stellar-lineage",
) -> FastAPI:
    """Build the app. ``assets_dir`` holds ``templates/`` and ``static/`` (the plugin folder);
    tests inject a settings loader, a store provider and a clock."""
    from airflow.api_fastapi.core_api.security import requires_authenticated

    load_settings = settings_loader or CachedSettings()
    provider = store_provider or StoreProvider()
    now = clock or (lambda: dt.datetime.now(dt.timezone.utc))
    templates = Jinja2Templates(directory=str(assets_dir / "templates"))
    static_dir = (assets_dir / "static").resolve()

    app = FastAPI(
        title="Stellar lineage stats",
        dependencies=[Depends(requires_authenticated())],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store_provider = provider
    app.add_middleware(SecurityMiddleware)
    add_login_redirect(app, mount_path)  # a signed-out browser gets the login page, scripts the 401

    def settings_dep() -> Settings:
        try:
            return load_settings()
        except ConfigError as exc:
            raise HTTPException(503, str(exc)) from None

    def store_dep(settings: Annotated[Settings, Depends(settings_dep)]) -> LineageStore:
        try:
            return provider.get(settings)
        except StoreUnavailable as exc:
            raise HTTPException(503, str(exc)) from None

    SettingsDep = Annotated[Settings, Depends(settings_dep)]
    StoreDep = Annotated[LineageStore, Depends(store_dep)]

    def threshold(settings: Settings) -> dt.timedelta:
        return dt.timedelta(minutes=settings.stuck_threshold_minutes)

    # --- JSON ---------------------------------------------------------------------------------
    @app.get("/api/pipeline-stats")
    def pipeline_stats(
        store: StoreDep, settings: SettingsDep, network: Annotated[str, Depends(_network)]
    ) -> dict[str, Any]:
        return stats.pipeline_stats(store, network, stuck_threshold=threshold(settings), now=now())

    @app.get("/api/dashboard")
    def dashboard_data(
        store: StoreDep, settings: SettingsDep, network: Annotated[str, Depends(_network)]
    ) -> dict[str, Any]:
        return stats.dashboard(store, network, stuck_threshold=threshold(settings), now=now())

    @app.get("/api/pending-accounts")
    def pending_accounts(
        store: StoreDep, settings: SettingsDep, network: Annotated[str | None, Depends(_optional_network)]
    ) -> dict[str, Any]:
        networks = (network,) if network else NETWORKS
        return stats.pending_accounts(store, networks, stuck_threshold=threshold(settings), now=now())

    def lookup(store: LineageStore, network: str, account: str, children_limit: int) -> dict[str, Any]:
        try:
            address = validate_account(account)
        except InvalidAddress as exc:
            raise HTTPException(400, f"invalid Stellar account address {redact(account)!r}: {exc.reason}") from None
        found = stats.lineage(store, network, address, children_limit=children_limit)
        if found is None:
            raise HTTPException(
                404,
                f"account {address} is not in the {network} lineage store "
                "(enqueue it with the stellar_lineage_enqueue DAG)",
            )
        return found

    @app.get("/api/lineage/{account}")
    def lineage_json(
        account: str,
        store: StoreDep,
        network: Annotated[str, Depends(_network)],
        children_limit: Annotated[int, Query(ge=0, le=10000)] = 200,
        descendants_depth: Annotated[int, Query(ge=0, le=MAX_DEPTH, description="0: none")] = 0,
        descendants_limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        descendants_cursor: Annotated[str | None, Query(max_length=4096)] = None,
    ) -> dict[str, Any]:
        found = lookup(store, network, account, children_limit)
        if descendants_depth:
            # from the creator graph's edge table, paged: no Horizon request (descendants.py)
            try:
                found["descendants"] = descendants(
                    store,
                    network,
                    found["record"]["stellar_account"],
                    depth=descendants_depth,
                    limit=descendants_limit,
                    cursor=descendants_cursor,
                )
            except BadCursor as exc:
                raise HTTPException(400, str(exc)) from None
        return found

    @app.get("/api/children/{account}")
    def children_json(
        account: str,
        store: StoreDep,
        network: Annotated[str, Depends(_network)],
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=explorer.MAX_PAGE)] = 100,
        q: Annotated[str, Query(max_length=56, description="part of a child's address")] = "",
        cursor: Annotated[str | None, Query(max_length=4096)] = None,
    ) -> dict[str, Any]:
        """One page of an account's children with their badges (explorer.children_page)."""
        try:
            address = validate_account(account)
        except InvalidAddress as exc:
            raise HTTPException(400, f"invalid Stellar account address {redact(account)!r}: {exc.reason}") from None
        try:
            found = explorer.children_page(store, network, address, offset=offset, limit=limit, q=q, cursor=cursor)
        except ValueError as exc:  # a cursor this server did not produce
            raise HTTPException(400, str(exc)) from None
        if found is None:
            raise HTTPException(404, f"account {address} is not in the {network} lineage store")
        return found

    add_export_routes(app, store_dep)
    add_dashboard_routes(app, store_dep, _network, now)  # trends, latency, recent accounts

    # --- HTML ---------------------------------------------------------------------------------
    def page(request: Request, name: str, root: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            name,
            {"root": root, "networks": NETWORKS, "dag_ids": DAG_IDS, **SEARCH_CONTEXT, **context},
            status_code=status_code,
        )

    @app.get("/", response_class=HTMLResponse)
    def dashboard_page(request: Request, network: Annotated[str, Depends(_network)]) -> HTMLResponse:
        # The page loads its numbers with fetch("api/dashboard"), so a store outage shows as a
        # banner on a page that keeps retrying instead of an error page that never recovers.
        return page(request, "dashboard.html", "", network=network, refresh_seconds=REFRESH_SECONDS)

    def lineage_page(request: Request, account: str, network: str, root: str, settings: Settings) -> HTMLResponse:
        # Error pages show the input redacted: a pasted secret seed must not be echoed into the page.
        try:
            data = lookup(provider.get(settings), network, account.strip(), 0)
        except StoreUnavailable as exc:
            return page(request, "lineage.html", root, 503, network=network, account=redact(account), error=str(exc))
        except HTTPException as exc:
            return page(
                request,
                "lineage.html",
                root,
                exc.status_code,
                network=network,
                account=redact(account),
                error=exc.detail,
            )
        return page(request, "lineage.html", root, network=network, account=account, data=data)

    @app.get("/lineage", response_class=HTMLResponse)
    def lineage_search(
        request: Request, settings: SettingsDep, network: Annotated[str, Depends(_network)], account: str = ""
    ) -> HTMLResponse:
        return lineage_page(request, account, network, "", settings)

    @app.get("/lineage/{account}", response_class=HTMLResponse)
    def lineage_account(
        request: Request, account: str, settings: SettingsDep, network: Annotated[str, Depends(_network)]
    ) -> HTMLResponse:
        return lineage_page(request, account, network, "../", settings)

    @app.get("/static/{name:path}")
    def static(name: str) -> FileResponse:
        # Checked before any file-system call: a NUL byte or a malformed path is a 404, never a 500.
        segments = name.split("/")
        if not all(_STATIC_SEGMENT.fullmatch(seg) for seg in segments):
            raise HTTPException(404, "not found")
        path = (static_dir / name).resolve()
        if not path.is_relative_to(static_dir) or path.suffix not in STATIC_TYPES or not path.is_file():
            raise HTTPException(404, "not found")
        # Short cache: the assets ship with the plugin and change only on deploy.
        return FileResponse(
            path, media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "private, max-age=300"}
        )

    return app
