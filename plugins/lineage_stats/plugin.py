"""Registers the Stellar lineage stats page in the Airflow 3 UI (registration only).

* ``fastapi_apps``: the app from ``include.stellar_lineage.ui.app``, mounted at ``/stellar-lineage``
  (under ``[api] base_url``'s path when one is set). Every route requires a logged-in Airflow user.
* ``fastapi_root_middlewares``: ``AccessLogRedaction`` (ui/security.py), so a secret seed typed into
  any URL of the API server is not written to its access log.
* ``external_views``: one entry in the Browse menu. ``url_route`` makes the UI render the page
  inside its own frame at ``/plugin/stellar-lineage``; the relative ``href`` with its trailing slash
  is resolved against the UI's base URL (without the slash Airflow's SPA answers instead).

Needs the project root on ``sys.path`` (``PYTHONPATH``; Astro images have it) for ``include``.
Nothing here touches the store: it is opened on the first request.
"""

from __future__ import annotations

from pathlib import Path

from airflow.plugins_manager import AirflowPlugin

from include.stellar_lineage.ui.app import create_app
from include.stellar_lineage.ui.security import AccessLogRedaction, warn_unless_audit_log_masking

ASSETS_DIR = Path(__file__).resolve().parent
URL_PREFIX = "/stellar-lineage"

lineage_stats_app = create_app(assets_dir=ASSETS_DIR, mount_path=URL_PREFIX)
warn_unless_audit_log_masking()  # a config read, no I/O: says how to keep seeds out of the audit log


class LineageStatsPlugin(AirflowPlugin):
    name = "stellar_lineage_stats"
    fastapi_apps = [{"app": lineage_stats_app, "url_prefix": URL_PREFIX, "name": "Stellar lineage stats"}]
    # Inside Airflow's access-log middleware: seeds in any request's path/query are logged redacted.
    fastapi_root_middlewares = [
        {"middleware": AccessLogRedaction, "args": [], "kwargs": {}, "name": "Stellar seed redaction (access log)"}
    ]
    external_views = [
        {
            "name": "Stellar lineage",
            "href": "stellar-lineage/",
            "destination": "nav",
            "category": "browse",
            "url_route": "stellar-lineage",
            # Icons are fetched by the UI from the authenticated app with the session cookie.
            "icon": "stellar-lineage/static/icon.svg",
            "icon_dark_mode": "stellar-lineage/static/icon-dark.svg",
        }
    ]
