"""A BigQuery emulator + cost shim of one's own: free ports, own pid files, own tables and counters.

Used by the e2e tests (their Airflow must not share tables with concurrently running BigQuery tests) and
by every pytest-xdist worker but the first (``bigquery_fixtures.bigquery_emulator``): the shared emulator's
Hubble table names and the cost shim's request log are global, so two workers on it would see each
other's jobs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil

from tests.support.processes import describe_process, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class PrivateBigQueryEmulator:
    """A BigQuery emulator + cost shim of our own (free ports, own pid files) through
    ``scripts/bigquery-emulator``, so the e2e test neither shares tables with concurrently running
    BigQuery tests nor stops an emulator somebody else started. Reuses the project's emulator venv
    (``.local/bq-emulator``) when it is installed; otherwise the script installs one under ``home``.
    """

    SCRIPT = PROJECT_ROOT / "scripts" / "bigquery-emulator"
    SHARED = Path(os.environ.get("BQ_EMULATOR_HOME", PROJECT_ROOT / ".local" / "bq-emulator"))

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.shim_port = free_port()
        self.env = {
            **os.environ,
            "BQ_EMULATOR_HOME": str(self.home),
            "BQ_EMULATOR_PORT": str(free_port()),
            "BQ_EMULATOR_GRPC_PORT": str(free_port()),
            "BQ_SHIM_PORT": str(self.shim_port),
            "BQ_START_TIMEOUT": "180",
        }
        self.url = f"http://127.0.0.1:{self.shim_port}"
        self.pids: list[int] = []

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if (self.SHARED / "venv" / ".complete").exists():
            for name in ("venv", "home"):
                link = self.home / name
                if (self.SHARED / name).is_dir() and not link.exists():
                    link.symlink_to(self.SHARED / name, target_is_directory=True)
        out = subprocess.run(
            ["bash", str(self.SCRIPT), "start"], check=False, env=self.env, capture_output=True, text=True, timeout=900
        )
        for name in ("emulator", "shim"):
            try:
                self.pids.append(int((self.home / f"{name}.pid").read_text().strip()))
            except (OSError, ValueError):
                pass
        if out.returncode != 0:
            self.stop()
            raise RuntimeError(f"scripts/bigquery-emulator start failed ({out.returncode}):\n{out.stderr[-3000:]}")

    def stop(self) -> list[str]:
        """Stop both servers; returns descriptions of any that survived."""
        subprocess.run(
            ["bash", str(self.SCRIPT), "stop"], check=False, env=self.env, capture_output=True, text=True, timeout=60
        )
        survivors = []
        for pid in self.pids:
            try:
                p = psutil.Process(pid)
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    p.kill()
                    survivors.append(describe_process(p))
            except psutil.Error:
                continue
        return survivors
