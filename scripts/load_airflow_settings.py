"""Load airflow_settings.yaml (Astro CLI format) into a plain Airflow, without the astro CLI.

Converts the YAML into the JSON files the Airflow CLI imports (variables, pools, connections) and
runs ``airflow variables|pools|connections import``. Safe to re-run: Variables already set are left
alone unless --overwrite-variables is given, so a local change survives a restart.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import yaml

CONN_FIELDS = {
    "conn_host": "host",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
    "conn_port": "port",
    "conn_description": "description",
}


def convert(settings: dict) -> tuple[dict, dict, dict]:
    af = (settings or {}).get("airflow") or {}
    variables = {
        v["variable_name"]: "" if v.get("variable_value") is None else str(v["variable_value"])
        for v in af.get("variables") or []
        if v.get("variable_name")
    }
    pools = {
        p["pool_name"]: {"slots": int(p.get("pool_slot") or 1), "description": p.get("pool_description") or ""}
        for p in af.get("pools") or []
        if p.get("pool_name")
    }
    connections = {}
    for c in (c for c in af.get("connections") or [] if c.get("conn_id")):
        conn = {"conn_type": c.get("conn_type")}
        conn.update({dst: c[src] for src, dst in CONN_FIELDS.items() if c.get(src) not in (None, "")})
        if extra := c.get("conn_extra"):
            conn["extra"] = extra if isinstance(extra, str) else json.dumps(extra)
        connections[c["conn_id"]] = conn
    return variables, pools, connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default="airflow_settings.yaml")
    parser.add_argument("--overwrite-variables", action="store_true")
    args = parser.parse_args()
    variables, pools, connections = convert(yaml.safe_load(Path(args.path).read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        steps = [
            (
                "variables.json",
                variables,
                ["airflow", "variables", "import", "-a", "overwrite" if args.overwrite_variables else "skip"],
            ),
            ("pools.json", pools, ["airflow", "pools", "import"]),
            ("connections.json", connections, ["airflow", "connections", "import", "--overwrite"]),
        ]
        for name, data, cmd in steps:
            if data:
                path = Path(tmp) / name
                path.write_text(json.dumps(data, indent=2))
                subprocess.run([*cmd, str(path)], check=True)
    print(f"Loaded {len(variables)} variables, {len(pools)} pools, {len(connections)} connections")


if __name__ == "__main__":
    main()
