"""Drive a real ``airflow standalone`` from a test: isolated AIRFLOW_HOME, free ports, REST API with a
token, bounded waits with clear messages, clean shutdown with an orphan check, log tails on failure.

Shutdown follows reference/airflow3_notes.md §2: standalone is started in its own session
(``setsid``) with SIGINT reset to the default action (a non-interactive parent may have it ignored,
and standalone only stops its children cleanly on SIGINT); stopping sends SIGINT to the standalone
PID, waits, and SIGKILLs the session only as a last resort. Every process that ever belonged to the
session is tracked (psutil snapshots: a task process that calls setsid itself is still a descendant),
and ``stop()`` reports any survivor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tests.support.private_bigquery import PrivateBigQueryEmulator  # noqa: F401 - re-exported for the e2e tests
from tests.support.processes import describe_process, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
ADMIN_PASSWORD = "e2e-admin-password"
TERMINAL_RUN_STATES = {"success", "failed"}


# DAG parsing of every test Airflow (this harness and the Celery cluster of test_cluster.py):
PARSING_UNDER_LOAD = {
    # Nothing here edits a DAG file after the first parse, and each re-parse of the seven files costs
    # CPU the other test workers need (idle Airflow: 6.6 → 3.4 CPU-s a minute).
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    # Up to four Airflows and a Cassandra node share two cores in CI: a parse that takes 0.05 s of CPU
    # has waited > 30 s (the default bound) for a core there.
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
}


class HarnessError(AssertionError):
    """A bounded wait ran out or Airflow answered something unexpected (message says what)."""


def wait_for(
    what: str,
    check: Callable[[], Any],
    timeout: float,
    interval: float = 1.0,
    on_timeout: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` until it returns a truthy value; raise ``HarnessError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except HarnessError:
            raise
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error at the end
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = on_timeout() if on_timeout else ""
            raise HarnessError(
                f"timed out after {timeout:.0f} s waiting for {what}"
                + (f" (last error: {last_exc!r})" if last_exc else "")
                + (f"\n{detail}" if detail else "")
            )
        time.sleep(interval)


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text[-lines:])


class AirflowStandalone:
    """One ``airflow standalone`` (scheduler, dag-processor, api-server, triggerer) in ``home``."""

    def __init__(self, home: Path, *, extra_env: dict[str, str] | None = None, paused_at_creation: bool = True) -> None:
        self.home = Path(home)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "standalone.log"
        self.proc: subprocess.Popen | None = None
        self._seen: dict[int, psutil.Process] = {}
        self._token: str | None = None
        self.env = self._build_env(extra_env or {}, paused_at_creation)

    # ----------------------------------------------------------------------------- lifecycle
    def _build_env(self, extra: dict[str, str], paused: bool) -> dict[str, str]:
        # Nothing of the caller's Airflow configuration leaks in (pytest's conftest sets some).
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_", "AIRFLOW_HOME"))
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
                "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(paused),
                "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "accounts",  # as deployed: Dockerfile, scripts/env.sh
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-jwt-" + "s" * 56,
                # Other Airflow instances may run on this machine: no default port may be shared.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                **PARSING_UNDER_LOAD,
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            }
        )
        env.update(extra)
        return env

    def start(self, timeout: float = 600) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        # A fixed admin password: SimpleAuthManager reads this file instead of generating one.
        (self.home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps the descriptor
        starter = (
            "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "os.execv(sys.argv[1], [sys.argv[1], 'standalone'])"
        )
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", starter, AIRFLOW],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(self.home),
                start_new_session=True,
            )
        finally:
            log.close()
        self.snapshot()

        def ready() -> bool:
            self.snapshot()
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"airflow standalone exited with {self.proc.returncode} during start-up\n" + tail(self.log_path)
                )
            with urllib.request.urlopen(self.url + "/api/v2/version", timeout=5) as resp:
                return resp.status == 200

        wait_for(f"the api-server at {self.url}", ready, timeout, 1.0, lambda: tail(self.log_path))
        self.token()

    def snapshot(self) -> None:
        """Remember every process of the standalone tree (for the orphan check)."""
        if self.proc is None:
            return
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                self._seen.setdefault(p.pid, p)
        except psutil.Error:
            pass
        for p in psutil.process_iter():
            try:
                if p.pid not in self._seen and os.getsid(p.pid) == self.proc.pid:
                    self._seen[p.pid] = p
            except (psutil.Error, OSError):
                continue

    def alive(self) -> list[psutil.Process]:
        """Tracked processes still running (psutil checks pid + create time, so pid reuse is safe)."""
        out = []
        for p in self._seen.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.Error:
                continue
        if self.proc is not None:  # anything new in the session since the last snapshot
            for p in psutil.process_iter():
                try:
                    if (
                        p.pid not in self._seen
                        and os.getsid(p.pid) == self.proc.pid
                        and p.status() != psutil.STATUS_ZOMBIE
                    ):
                        out.append(p)
                except (psutil.Error, OSError):
                    continue
        return out

    def stop(self, grace: float = 60) -> dict[str, Any]:
        """SIGINT the standalone PID, wait ``grace`` s, SIGKILL whatever is left (last resort).

        Returns ``{"seconds", "sigkilled": [...], "survivors": [...]}``; survivors is empty when
        no process of the tree is left.
        """
        report: dict[str, Any] = {"seconds": 0.0, "sigkilled": [], "survivors": []}
        if self.proc is None:
            return report
        self.snapshot()
        t0 = time.monotonic()
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self.proc.poll() is not None and not self.alive():
                break
            time.sleep(0.5)
        left = self.alive()
        if left:
            report["sigkilled"] = [describe_process(p) for p in left]
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            for p in left:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(left, timeout=15)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        report["survivors"] = [describe_process(p) for p in self.alive()]
        report["seconds"] = round(time.monotonic() - t0, 1)
        return report

    # ----------------------------------------------------------------------------- REST API
    def token(self) -> str:
        if self._token is None:
            body = self.request(
                "POST", "/auth/token", {"username": "admin", "password": ADMIN_PASSWORD}, auth=False, expect=(200, 201)
            )
            self._token = body["access_token"]
        return self._token

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        auth: bool = True,
        expect: tuple[int, ...] = (200,),
        timeout: float = 60,
    ) -> Any:
        status, body = self.raw(method, path, payload, auth=auth, timeout=timeout)
        if status not in expect:
            raise HarnessError(f"{method} {path} -> HTTP {status} (expected {expect}): {body!r:.800}")
        return body

    def raw(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        auth: bool = True,
        token: str | None = None,
        timeout: float = 60,
    ) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {token or self.token()}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def wait_dags(self, dag_ids: list[str], timeout: float = 240) -> None:
        """Until the dag-processor has parsed every DAG (an import error fails at once)."""

        def parsed() -> bool:
            self.snapshot()
            errors = self.request("GET", "/api/v2/importErrors").get("import_errors", [])
            if errors:
                raise HarnessError(
                    "DAG import errors:\n"
                    + "\n".join(f"{e.get('filename')}: {e.get('stack_trace', '')[-1500:]}" for e in errors)
                )
            return all(self.raw("GET", f"/api/v2/dags/{d}")[0] == 200 for d in dag_ids)

        wait_for(f"the dag-processor to parse {dag_ids}", parsed, timeout, 2.0, lambda: tail(self.log_path))

    def set_paused(self, dag_id: str, paused: bool) -> None:
        body = self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})
        assert body["is_paused"] is paused, body

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> str:
        body = self.request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            {"dag_run_id": run_id, "logical_date": None, "conf": conf or {}},
            expect=(200, 201),
        )
        return body["dag_run_id"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        body = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=run_after")["dag_runs"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
        """Until the run is success/failed; returns the run (caller asserts its state)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}"

        def done() -> dict[str, Any] | None:
            self.snapshot()
            run = self.request("GET", path)
            return run if run["state"] in TERMINAL_RUN_STATES else None

        return wait_for(
            f"{dag_id} run {run_id} to finish",
            done,
            timeout,
            2.0,
            lambda: f"task states: {self.task_states(dag_id, run_id)}",
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        body = self.request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/{task_id}/xcomEntries/{key}",
        )
        value = body["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value

    def set_variable(self, key: str, value: str) -> None:
        status, body = self.raw("POST", "/api/v2/variables", {"key": key, "value": value})
        if status == 409:
            self.request("PATCH", f"/api/v2/variables/{key}", {"key": key, "value": value})
        elif status not in (200, 201):
            raise HarnessError(f"POST /api/v2/variables {key} -> HTTP {status}: {body!r:.500}")
        got = self.request("GET", f"/api/v2/variables/{key}")
        assert got["value"] == value, got

    # ----------------------------------------------------------------------------- diagnostics
    def diagnostics(self, lines: int = 60) -> str:
        """Tails of the standalone log (scheduler, dag-processor, api-server) and the newest task logs."""
        parts = [f"===== {self.log_path} (last {lines} lines) =====", tail(self.log_path, lines)]
        task_logs = sorted((self.home / "logs").glob("dag_id=*/**/*.log"), key=lambda p: p.stat().st_mtime)
        for path in task_logs[-6:]:
            parts += [f"===== {path.relative_to(self.home)} (last 40 lines) =====", tail(path, 40)]
        return "\n".join(parts)
