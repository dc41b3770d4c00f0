"""The README's Variables table and airflow_settings.yaml stay in step with config.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from include.stellar_lineage.config import FIELDS, PREFIX
from scripts.variables_table import table

ROOT = Path(__file__).resolve().parents[2]


def test_readme_variables_table_is_current():
    assert table() in (ROOT / "README.md").read_text(), "regenerate with: python scripts/variables_table.py"


def test_airflow_settings_seed_every_variable_without_secrets():
    settings = yaml.safe_load((ROOT / "airflow_settings.yaml").read_text())["airflow"]
    seeded = {v["variable_name"]: v["variable_value"] for v in settings["variables"]}
    assert seeded == {PREFIX + f.name: f.default for f in FIELDS}
    for conn in settings["connections"]:
        assert not conn.get("conn_password"), conn["conn_id"]
