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


def test_readme_layout_names_every_part_of_the_tree():
    """Every top-level entry and every module/package of include/stellar_lineage is in the layout."""
    import subprocess

    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Project layout (Astro CLI)", 1)[1].split("\n## ", 1)[0]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    top = {p.split("/")[0] for p in tracked.split() if not p.startswith(".")}
    top -= {"README.md", "include"}  # the layout is README's; include/ is listed by its package
    missing = sorted(t for t in top if t.rstrip("/") not in layout)
    package = ROOT / "include" / "stellar_lineage"
    parts = {p.name for p in package.iterdir() if p.name != "__init__.py" and not p.name.startswith(("_", "."))}
    missing += sorted(f"include/stellar_lineage/{p}" for p in parts if p.removesuffix(".py") not in layout)
    assert not missing, f"README 'Project layout' does not mention: {missing}"
