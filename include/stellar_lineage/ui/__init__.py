"""Web UI of the stats plugin: the FastAPI app factory (``app.create_app``) and its runtime
(settings cache, lazily opened store). Registered in Airflow by ``plugins/lineage_stats/plugin.py``."""
