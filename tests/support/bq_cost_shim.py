"""Test-only HTTP shim in front of a local BigQuery emulator: dry-run byte estimates + byte caps.

No emulator models cost (bqemulator, local-bigquery and crucible all answer dry runs with
``totalBytesProcessed = 0`` and ignore ``maximumBytesBilled``), so the cost guard could not be
tested against them. This shim sits between the real ``google-cloud-bigquery`` client and the
emulator and does two things; everything else is proxied unchanged:

* **Dry runs** (``configuration.dryRun`` on ``POST .../jobs``, ``dryRun`` on ``POST .../queries``):
  the emulator's answer gets ``statistics.totalBytesProcessed`` (and ``statistics.query...``)
  replaced by a deterministic BigQuery-style estimate.
* **Real jobs with ``maximumBytesBilled``**: billed = max(estimate × inflate, 10 MiB × referenced
  tables); over the cap the shim answers itself with BigQuery's HTTP 400 body, reason
  ``bytesBilledLimitExceeded`` and message ``Query exceeded limit for bytes billed: CAP. N or higher
  required.`` — the real client raises ``google.api_core.exceptions.BadRequest``.

How the estimate is computed (after reference/hubble_bigquery.md Appendix A):

1. sqlglot (``read="bigquery"``) splits the SQL into SELECT scopes; each scope's base tables are
   tables with at least ``dataset.table`` (CTE names are skipped, two-part names get the request's
   project).
2. The scope's referenced columns are mapped to a table by qualifier (alias), or, unqualified, to
   the scope's base table that has such a top-level column. ``*`` means every column. Dotted paths
   into STRUCTs count the whole top-level column (a simplification: Hubble's enriched table, which
   this project queries, is flat).
3. WHERE conjuncts that reference only the table's time-partitioning column are kept as a
   partition filter: whole partitions (TIMESTAMP/DATETIME/DATE_TRUNC at the table's granularity)
   touched by them are counted. Other filters never reduce bytes (columnar billing).
4. One SUM query per (scope, table) runs on the emulator with the original query parameters,
   using BigQuery logical sizes: NULL 0; INT64/FLOAT64/TIMESTAMP/DATETIME/DATE/TIME 8; NUMERIC 16;
   BIGNUMERIC 32; BOOL 1; STRING/BYTES 2 + UTF-8 bytes; JSON serialized length. Clustering is
   ignored, as in a real dry run. The estimate is the sum over scopes and tables.

Every dry run and capped job is also recorded (``requests`` in the stats: kind, the job's labels, the
size of the ``@accounts`` array parameter), so tests can see what reached BigQuery per job.

Control endpoints (tests only): ``GET /_shim/stats`` → request counters; ``POST /_shim/reset``
→ zero the counters and the inflate factor; ``POST /_shim/config`` ``{"inflate": F}`` → multiply
the bytes a *real* job would bill by F, which simulates the table growing (or the estimate being
wrong) between the dry run and the job, so the ``bytesBilledLimitExceeded`` path can be driven
end to end. ``GET /_shim/healthz`` → 200 once the upstream answers.

Run: ``python bq_cost_shim.py LISTEN_PORT UPSTREAM_URL`` (needs ``sqlglot``; stdlib otherwise).
"""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

MIN_BILLED_PER_TABLE = 10 * 1024 * 1024  # BigQuery bills at least 10 MB per referenced table
MAX_RECORDED = 1000
_JOB_PATH = re.compile(r"^/bigquery/v2/projects/([^/]+)/(jobs|queries)/?$")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}

_SIZE_BY_TYPE = {
    "INTEGER": 8,
    "INT64": 8,
    "FLOAT": 8,
    "FLOAT64": 8,
    "TIMESTAMP": 8,
    "DATETIME": 8,
    "DATE": 8,
    "TIME": 8,
    "NUMERIC": 16,
    "BIGNUMERIC": 32,
    "BOOLEAN": 1,
    "BOOL": 1,
}


class Upstream:
    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, _, data = self.request(method, path, body, {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"upstream {method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data)


class Estimator:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._schemas: dict[str, dict[str, Any]] = {}

    def table(self, full: str) -> dict[str, Any]:
        # Schemas are fetched per estimate (tests create and drop tables between runs).
        project, dataset, table = full.split(".")
        return self.upstream.json("GET", f"/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}")

    def estimate(self, sql: str, project: str, params: list[dict[str, Any]] | None) -> tuple[int, int]:
        """Return (estimated bytes, number of distinct base tables)."""
        tree = sqlglot.parse_one(sql, read="bigquery")
        total, tables_seen = 0, set()
        for scope in traverse_scope(tree):
            bases: dict[str, tuple[str, dict[str, Any]]] = {}
            for alias, source in scope.sources.items():
                if isinstance(source, exp.Table) and source.args.get("db"):
                    catalog = source.catalog or project
                    full = f"{catalog}.{source.db}.{source.name}"
                    bases[alias] = (full, self.table(full))
            if not bases:
                continue
            used: dict[str, set[str]] = {alias: set() for alias in bases}
            star = (
                any(isinstance(s, exp.Star) for s in scope.expression.expressions)
                if isinstance(scope.expression, exp.Select)
                else False
            )
            for alias, (_, meta) in bases.items():
                cols = {f["name"].lower() for f in meta["schema"]["fields"]}
                if star:
                    used[alias] |= cols
            for column in scope.columns:
                name, qualifier = column.name.lower(), column.table
                # A dotted STRUCT path parses as table-qualified; resolve it by column names.
                for alias, (_, meta) in bases.items():
                    cols = {f["name"].lower() for f in meta["schema"]["fields"]}
                    if qualifier and qualifier == alias and name in cols:
                        used[alias].add(name)
                    elif qualifier and qualifier.lower() in cols and qualifier not in scope.sources:
                        used[alias].add(qualifier.lower())
                    elif not qualifier and name in cols:
                        used[alias].add(name)
            where = scope.expression.args.get("where") if isinstance(scope.expression, exp.Select) else None
            for alias, (full, meta) in bases.items():
                tables_seen.add(full)
                if used[alias]:
                    total += self._sum_bytes(full, meta, alias, used[alias], where, params)
        return total, len(tables_seen)

    def _sum_bytes(self, full, meta, alias, columns, where, params) -> int:
        fields = {f["name"].lower(): f for f in meta["schema"]["fields"]}
        parts = []
        for name in sorted(columns):
            field = fields[name]
            col = f"`{field['name']}`"
            ftype, mode = field["type"].upper(), field.get("mode", "NULLABLE").upper()
            if ftype in ("RECORD", "STRUCT") or mode == "REPEATED":
                size = f"LENGTH(TO_JSON_STRING({col}))"  # approximation for nested/repeated leaves
            elif ftype in ("STRING", "BYTES"):
                size = f"2 + BYTE_LENGTH({col})"
            elif ftype == "JSON":
                size = f"LENGTH(TO_JSON_STRING({col}))"
            else:
                size = str(_SIZE_BY_TYPE.get(ftype, 0))
            parts.append(f"COALESCE(SUM(IF({col} IS NULL, 0, {size})), 0)")
        sql = f"SELECT {' + '.join(parts)} AS b FROM `{full}` AS t"
        prune = self._partition_filter(full, meta, alias, where)
        if prune:
            sql += f" WHERE {prune}"
        payload: dict[str, Any] = {"query": sql, "useLegacySql": False, "timeoutMs": 60000}
        if params and prune:
            payload["queryParameters"] = params
            payload["parameterMode"] = "NAMED"
        project = full.split(".")[0]
        answer = self.upstream.json("POST", f"/bigquery/v2/projects/{project}/queries", payload)
        rows = answer.get("rows") or [{"f": [{"v": "0"}]}]
        return int(float(rows[0]["f"][0]["v"] or 0))

    @staticmethod
    def _partition_filter(full, meta, alias, where) -> str | None:
        tp = meta.get("timePartitioning")
        if not tp or not tp.get("field") or where is None:
            return None
        pcol, unit = tp["field"].lower(), tp.get("type", "DAY").upper()
        kept = []
        for conj in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            cols = list(conj.find_all(exp.Column))
            if cols and all(c.name.lower() == pcol and c.table in ("", alias) for c in cols):
                conj = conj.copy()
                for c in conj.find_all(exp.Column):
                    c.set("table", None)
                kept.append(conj.sql(dialect="bigquery"))
        if not kept:
            return None
        ptype = next(f["type"].upper() for f in meta["schema"]["fields"] if f["name"].lower() == pcol)
        trunc = {"TIMESTAMP": "TIMESTAMP_TRUNC", "DATETIME": "DATETIME_TRUNC"}.get(ptype, "DATE_TRUNC")
        bucket = f"{trunc}({pcol}, {unit})"
        return (
            f"{bucket} IN (SELECT DISTINCT {bucket} FROM `{full}` WHERE " + " AND ".join(f"({k})" for k in kept) + ")"
        )


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.counts = {"dry_runs": 0, "jobs": 0, "refused_by_cap": 0, "estimate_errors": 0}
        self.requests: list[dict[str, Any]] = []  # newest last, at most MAX_RECORDED
        self.last_estimate = None
        self.inflate = 1.0


def _array_size(query: dict[str, Any], name: str) -> int | None:
    """Length of the named ARRAY query parameter (None when absent)."""
    for param in query.get("queryParameters") or []:
        if param.get("name") == name:
            return len((param.get("parameterValue") or {}).get("arrayValues") or [])
    return None


def make_handler(upstream: Upstream, estimator: Estimator, state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Two writes (headers, body) per reply on a kept-alive connection: without TCP_NODELAY the body
        # waits for the client's delayed ACK (~40 ms a request).
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def _send(self, status: int, body: bytes, headers=()) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), [("Content-Type", "application/json")])

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _forward(self, body: bytes | None) -> tuple[int, list, bytes]:
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "accept-encoding")
            }
            status, resp_headers, data = upstream.request(self.command, self.path, body, headers)
            return status, data, resp_headers

        def do_GET(self):
            if self.path.startswith("/_shim/"):
                return self._control()
            self._send(*self._forward(None))

        def do_DELETE(self):
            self._send(*self._forward(None))

        def do_PATCH(self):
            self._send(*self._forward(self._body()))

        def do_PUT(self):
            self._send(*self._forward(self._body()))

        def do_POST(self):
            if self.path.startswith("/_shim/"):
                return self._control()
            body = self._body()
            match = _JOB_PATH.match(urllib.parse.urlsplit(self.path).path)
            if not match:
                return self._send(*self._forward(body))
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return self._send(*self._forward(body))
            project, kind = match.groups()
            if kind == "jobs":
                config = request.get("configuration") or {}
                query, dry = config.get("query") or {}, bool(config.get("dryRun"))
                labels = config.get("labels") or {}
            else:
                query, dry = request, bool(request.get("dryRun"))
                labels = request.get("labels") or {}
            sql = query.get("query")
            cap = query.get("maximumBytesBilled")
            if not sql or not (dry or cap):
                return self._send(*self._forward(body))
            try:
                estimate, n_tables = estimator.estimate(sql, project, query.get("queryParameters"))
            except Exception:  # best effort: an estimate bug must not hide the emulator's answer
                traceback.print_exc(file=sys.stderr)
                with state.lock:
                    state.counts["estimate_errors"] += 1
                return self._send(*self._forward(body))
            with state.lock:
                state.counts["dry_runs" if dry else "jobs"] += 1
                state.last_estimate = estimate
                state.requests.append(
                    {"kind": "dry_run" if dry else "job", "labels": labels, "accounts": _array_size(query, "accounts")}
                )
                del state.requests[:-MAX_RECORDED]
                inflate = state.inflate
            if not dry and cap:
                billed = max(int(estimate * inflate), MIN_BILLED_PER_TABLE * max(n_tables, 1))
                if billed > int(cap):
                    with state.lock:
                        state.counts["refused_by_cap"] += 1
                    message = f"Query exceeded limit for bytes billed: {int(cap)}. {billed} or higher required."
                    return self._json(
                        400,
                        {
                            "error": {
                                "code": 400,
                                "message": message,
                                "status": "INVALID_ARGUMENT",
                                "errors": [
                                    {"message": message, "domain": "global", "reason": "bytesBilledLimitExceeded"}
                                ],
                            }
                        },
                    )
            status, data, headers = self._forward(body)
            if dry and status == 200:
                answer = json.loads(data)
                if kind == "jobs":
                    stats = answer.setdefault("statistics", {})
                    stats["totalBytesProcessed"] = str(estimate)
                    stats.setdefault("query", {})["totalBytesProcessed"] = str(estimate)
                else:
                    answer["totalBytesProcessed"] = str(estimate)
                data = json.dumps(answer).encode()
            self._send(status, data, headers)

        def _control(self):
            path = urllib.parse.urlsplit(self.path).path
            if path == "/_shim/healthz":
                status, _, _ = upstream.request("GET", "/healthz", None, {})
                return self._json(200 if status == 200 else 503, {"upstream": status})
            if path == "/_shim/stats":
                with state.lock:
                    return self._json(
                        200,
                        {
                            **state.counts,
                            "last_estimate": state.last_estimate,
                            "inflate": state.inflate,
                            "requests": state.requests,
                        },
                    )
            if path == "/_shim/reset" and self.command == "POST":
                self._body()
                with state.lock:
                    state.reset()
                return self._json(200, {"ok": True})
            if path == "/_shim/config" and self.command == "POST":
                config = json.loads(self._body() or b"{}")
                with state.lock:
                    state.inflate = float(config.get("inflate", state.inflate))
                return self._json(200, {"inflate": state.inflate})
            return self._json(404, {"error": "unknown shim endpoint"})

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: bq_cost_shim.py LISTEN_PORT UPSTREAM_URL", file=sys.stderr)
        return 2
    upstream = Upstream(argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", int(argv[1])), make_handler(upstream, Estimator(upstream), State()))
    server.daemon_threads = True
    print(f"bq_cost_shim listening on 127.0.0.1:{argv[1]} -> {argv[2]}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
