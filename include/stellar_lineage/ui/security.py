"""Security headers and seed redaction for every response of the plugin app (one ASGI middleware).

The policy (``CSP``), for anyone adding pages, routes or scripts:

* Every script is a file under ``static/`` loaded with ``<script src>``: no inline ``<script>``, no
  ``on…=`` attributes, no ``eval``/``new Function``, no ``javascript:`` URLs (``script-src 'self'``).
  A vendored library goes under ``static/`` too; one that needs ``eval`` or inline styles cannot be used
  as is.
* Styles come from files (``style-src 'self'``): no ``style="…"`` attributes in templates and no
  ``setAttribute("style", …)`` in scripts; set ``element.style.prop = …`` (CSSOM, allowed) or a class.
* ``fetch`` only to this app (``connect-src 'self'``); images from this app or ``data:`` URLs.
* ``frame-ancestors 'self'``: Airflow 3's UI shows an ``external_views`` entry with ``url_route`` in an
  iframe whose ``src`` is this app on the API server's own origin (the UI and the API server are one
  origin), so only same-origin pages may frame it; anything else is refused.
* ``form-action 'self'`` and ``base-uri 'none'``; ``Referrer-Policy: no-referrer`` keeps URLs out of
  Referer headers; ``X-Content-Type-Options: nosniff``.

Seeds: JSON and HTML bodies of this app are redacted before they leave. ``AccessLogRedaction`` is a
*root* middleware of Airflow's API server (the plugin's ``fastapi_root_middlewares``): Airflow adds it
inside its access-log middleware (``http.access``), which reads ``path`` and ``query_string`` from the
shared ASGI scope only when the response is finished, so after the request it redacts any seed in
them: a hand-made URL holding a seed, for any route of the server, is logged redacted.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from starlette.datastructures import MutableHeaders

from include.stellar_lineage.seeds import REDACTED, contains_seed, find_seeds, redact_seeds

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",  # browsers without CSP level 2
}
_TEXT_TYPES = ("application/json", "text/html", "text/plain")
# Airflow's audit log stores every trigger body before the Param schema refuses it, masking only values
# under sensitive key names; the enqueue DAG's conf key must be one (README "Secrets and hostile input").
AUDIT_SENSITIVE_NAME = "accounts"

log = logging.getLogger(__name__)


def audit_log_masking_configured() -> bool:
    """True if Airflow's masker treats the enqueue DAG's ``accounts`` conf key as sensitive."""
    from airflow._shared.secrets_masker import should_hide_value_for_key

    return bool(should_hide_value_for_key(AUDIT_SENSITIVE_NAME))


def warn_unless_audit_log_masking() -> None:
    try:
        configured = audit_log_masking_configured()
    except ImportError:  # not inside an Airflow API server
        return
    if not configured:
        log.warning(
            "Airflow's audit log will store enqueue form bodies unmasked (a pasted secret seed too): add "
            "%r to [core] sensitive_var_conn_names (AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES)",
            AUDIT_SENSITIVE_NAME,
        )


class SecurityMiddleware:
    """Adds ``SECURITY_HEADERS`` to every response and redacts seeds (see module doc)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def guarded_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message.setdefault("headers", []))
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if headers.get("content-type", "").startswith(_TEXT_TYPES):
                    held["start"] = message  # sent with the (redacted) body
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                text = body.decode("utf-8", errors="replace")
                if contains_seed(text):
                    body = redact_seeds(text).encode()
                    MutableHeaders(raw=held["start"]["headers"])["content-length"] = str(len(body))
                await send(held.pop("start"))
                message = {"type": "http.response.body", "body": body, "more_body": False}
            await send(message)

        await self.app(scope, receive, guarded_send)


class AccessLogRedaction:
    """Root middleware: redact seeds in the request's path and query once it is answered (module doc)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                _redact_scope(scope)


def _redact_scope(scope: dict[str, Any]) -> None:
    path = scope.get("path", "")
    if isinstance(path, str) and contains_seed(path):
        scope["path"] = redact_seeds(path)
    for key in ("raw_path", "query_string"):
        raw = scope.get(key)
        if isinstance(raw, bytes) and raw:
            text = raw.decode("latin-1")
            spans = find_seeds(text)
            if spans:  # URL-encoded marker: these stay valid URL parts
                parts, last = [], 0
                for start, end in spans:
                    parts += [text[last:start], quote(REDACTED)]
                    last = end
                scope[key] = "".join([*parts, text[last:]]).encode("latin-1")
