"""Send a signed-out browser to Airflow's login page instead of ``{"detail": "Not authenticated"}``.

Only page requests are redirected: a GET whose ``Accept`` asks for HTML, outside ``/api/`` and
``/static/``. Scripts and API clients (``Accept: application/json`` or ``*/*``) keep the 401/403 JSON
they can act on. The login URL comes from the configured auth manager (``get_url_login``, with
``next`` = the page asked for) and is prefixed with the path Airflow is served under, taken from the
mount's ``root_path`` (``[api] base_url`` may put the UI below ``/``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse


def wants_page(request: Request) -> bool:
    path = request.url.path[len(request.scope.get("root_path", "")) :]
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(("/api/", "/static/"))
    )


def login_url(request: Request, mount_path: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    root = request.scope.get("root_path", "")
    base = root[: -len(mount_path)] if mount_path and root.endswith(mount_path) else ""
    return base + get_auth_manager().get_url_login(next_url=str(request.url))


def add_login_redirect(app: FastAPI, mount_path: str) -> None:
    @app.exception_handler(HTTPException)
    async def to_login(request: Request, exc: HTTPException) -> Any:
        if exc.status_code in (401, 403) and wants_page(request):
            try:
                return RedirectResponse(login_url(request, mount_path), status_code=303)
            except Exception:  # noqa: BLE001 - no auth manager (unusual): answer the plain 401
                pass
        return await http_exception_handler(request, exc)
